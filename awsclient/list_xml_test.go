package awsclient

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	smithytime "github.com/aws/smithy-go/time"
)

// cannedS3 answers every request with one ListObjectsV2 body.
type cannedS3 struct{ body string }

func (c cannedS3) Do(r *http.Request) (*http.Response, error) {
	if r.Body != nil {
		io.Copy(io.Discard, r.Body)
		r.Body.Close()
	}
	return &http.Response{StatusCode: 200, Status: "200 OK", Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header:        http.Header{"Content-Type": {"application/xml"}},
		Body:          io.NopCloser(strings.NewReader(c.body)),
		ContentLength: int64(len(c.body)), Request: r}, nil
}

// listBoth lists one page from body with the fast decoder and with the SDK's alone.
func listBoth(t testing.TB, body string) (fast, sdk Page, fastErr, sdkErr error, tookFast bool) {
	client := s3.New(s3.Options{Region: "us-east-1", BaseEndpoint: aws.String("http://127.0.0.1:9"), UsePathStyle: true,
		Credentials: aws.AnonymousCredentials{}, HTTPClient: cannedS3{body}, Retryer: aws.NopRetryer{}})
	idOf := func(k string) string { return "id-" + k }
	f := NewObjectStore(client, "b", ObjectStoreOptions{RequestID: idOf})
	s := NewObjectStore(client, "b", ObjectStoreOptions{RequestID: idOf, sdkListDecoder: true})
	ctx := context.Background()
	fast, fastErr = f.ListPage(ctx, "", "", 1000)
	sdk, sdkErr = s.ListPage(ctx, "", "", 1000)
	_, tookFast = parseListObjectsV2([]byte(body), idOf)
	return
}

func samePage(a, b Page) error {
	if a.NextToken != b.NextToken || len(a.Objects) != len(b.Objects) {
		return fmt.Errorf("token %q/%q, %d/%d objects", a.NextToken, b.NextToken, len(a.Objects), len(b.Objects))
	}
	for i := range a.Objects {
		x, y := a.Objects[i], b.Objects[i]
		if !x.LastModified.Equal(y.LastModified) {
			return fmt.Errorf("object %d: time %v, %v", i, x.LastModified, y.LastModified)
		}
		x.LastModified, y.LastModified = time.Time{}, time.Time{}
		if fmt.Sprintf("%#v", x) != fmt.Sprintf("%#v", y) {
			return fmt.Errorf("object %d:\n%#v\n%#v", i, x, y)
		}
	}
	return nil
}

const s3ListPage = `<?xml version="1.0" encoding="UTF-8"?>
<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Name>stowage-demo-requests</Name><Prefix></Prefix><NextContinuationToken>1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM=</NextContinuationToken><KeyCount>2</KeyCount><MaxKeys>2</MaxKeys><IsTruncated>true</IsTruncated><Contents><Key>00a1b2c3-0000-4000-8000-000000000001</Key><LastModified>2026-12-01T10:11:12.000Z</LastModified><ETag>&quot;9b2cf535f27731c974343645a3985328&quot;</ETag><ChecksumAlgorithm>CRC64NVME</ChecksumAlgorithm><ChecksumType>FULL_OBJECT</ChecksumType><Size>812</Size><StorageClass>STANDARD</StorageClass></Contents><Contents><Key>a&amp;b &lt;c&gt; &#233;&#x1F600;</Key><LastModified>2026-12-01T10:11:13Z</LastModified><ETag>"e"</ETag><Size>0</Size><StorageClass>GLACIER</StorageClass></Contents></ListBucketResult>`

// The fast decoder reads what S3 sends as the SDK does, and leaves what it does not know
// to the SDK.
func TestListObjectsV2FastDecoderMatchesTheSDK(t *testing.T) {
	cases := []struct {
		name, body string
		fast       bool
	}{
		{"s3 page", s3ListPage, true},
		{"pretty printed, self-closing, last page", "<?xml version='1.0'?>\n<ListBucketResult>\n  <Prefix/>\n  <IsTruncated>false</IsTruncated>\n  <NextContinuationToken>x</NextContinuationToken>\n  <Contents>\n    <Key>k1</Key>\n    <Size>3</Size>\n    <Unknown a=\"1\"><Deep>t</Deep></Unknown>\n  </Contents>\n</ListBucketResult>\n", true},
		{"empty", `<ListBucketResult/>`, true},
		{"case-insensitive names", `<listbucketresult><contents><key>k</key><size>1</size></contents><istruncated>TRUE</istruncated><nextcontinuationtoken>t</nextcontinuationtoken></listbucketresult>`, true},
		{"owner", `<ListBucketResult><Contents><Key>k</Key><Owner><ID>x</ID></Owner></Contents></ListBucketResult>`, false},
		{"common prefixes", `<ListBucketResult><CommonPrefixes><Prefix>a/</Prefix></CommonPrefixes></ListBucketResult>`, false},
		{"comment", `<ListBucketResult><!-- hi --><Contents><Key>k</Key></Contents></ListBucketResult>`, false},
		{"cdata", `<ListBucketResult><Contents><Key><![CDATA[k]]></Key></Contents></ListBucketResult>`, false},
		{"carriage return", "<ListBucketResult><Contents><Key>a\r\nb</Key></Contents></ListBucketResult>", false},
		{"bad size", `<ListBucketResult><Contents><Key>k</Key><Size>x</Size></Contents></ListBucketResult>`, false},
		{"bad entity", `<ListBucketResult><Contents><Key>&nbsp;</Key></Contents></ListBucketResult>`, false},
		{"mismatched end", `<ListBucketResult><Contents><Key>k</Kex></Contents></ListBucketResult>`, false},
		{"not a list", `<Error><Code>InternalError</Code></Error>`, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			fast, sdk, fastErr, sdkErr, tookFast := listBoth(t, c.body)
			if tookFast != c.fast {
				t.Errorf("fast path taken: %v, want %v", tookFast, c.fast)
			}
			if (fastErr == nil) != (sdkErr == nil) {
				t.Fatalf("fast error %v, SDK error %v", fastErr, sdkErr)
			}
			if err := samePage(fast, sdk); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// go test ./awsclient -run '^$' -fuzz FuzzListObjectsV2
func FuzzListObjectsV2(f *testing.F) {
	f.Add(s3ListPage)
	f.Add(`<ListBucketResult><Contents><Key>k</Key><Size>1</Size><LastModified>2026-01-02T03:04:05.5Z</LastModified></Contents></ListBucketResult>`)
	f.Add("<?xml version=\"1.0\"?><ListBucketResult a='1' xmlns:s3=\"u\"><Contents/><IsTruncated>1</IsTruncated><X><Y/></X></ListBucketResult>")
	f.Fuzz(func(t *testing.T, body string) {
		fast, sdk, fastErr, sdkErr, tookFast := listBoth(t, body)
		if (fastErr == nil) != (sdkErr == nil) {
			t.Fatalf("fast path %v: fast error %v, SDK error %v", tookFast, fastErr, sdkErr)
		}
		if err := samePage(fast, sdk); err != nil {
			t.Fatalf("fast path %v: %v", tookFast, err)
		}
	})
}

// BenchmarkListObjectsV2Decode compares the two decoders on a page of 1000 objects.
func BenchmarkListObjectsV2Decode(b *testing.B) {
	var sb strings.Builder
	sb.WriteString(`<?xml version="1.0" encoding="UTF-8"?>` + "\n" + `<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Name>b</Name><Prefix></Prefix><NextContinuationToken>tok</NextContinuationToken><KeyCount>1000</KeyCount><MaxKeys>1000</MaxKeys><IsTruncated>true</IsTruncated>`)
	for i := range 1000 {
		fmt.Fprintf(&sb, `<Contents><Key>%08x-1c2d-4e5f-8a9b-0c1d2e3f4a5b</Key><LastModified>2026-12-01T10:11:12.000Z</LastModified><ETag>&quot;9b2cf535f27731c974343645a3985328&quot;</ETag><Size>%d</Size><StorageClass>STANDARD</StorageClass></Contents>`, i, 800+i)
	}
	sb.WriteString(`</ListBucketResult>`)
	body := sb.String()
	for _, sdkOnly := range []bool{false, true} {
		name := "fast"
		if sdkOnly {
			name = "sdk"
		}
		b.Run(name, func(b *testing.B) {
			client := s3.New(s3.Options{Region: "us-east-1", BaseEndpoint: aws.String("http://127.0.0.1:9"), UsePathStyle: true,
				Credentials: aws.AnonymousCredentials{}, HTTPClient: cannedS3{body}, Retryer: aws.NopRetryer{}})
			s := NewObjectStore(client, "b", ObjectStoreOptions{sdkListDecoder: sdkOnly})
			b.ReportAllocs()
			for b.Loop() {
				p, err := s.ListPage(context.Background(), "", "", 1000)
				if err != nil || len(p.Objects) != 1000 {
					b.Fatal(err, len(p.Objects))
				}
			}
		})
	}
}

// parseListTime accepts only what smithy's ParseDateTime reads, and reads it the same.
func FuzzParseListTime(f *testing.F) {
	for _, s := range []string{"2026-12-01T10:11:12.000Z", "2026-12-01T10:11:12Z", "2026-02-29T00:00:00Z", "2024-02-29T23:59:59.123456789Z",
		"0000-01-01T00:00:00Z", "2026-12-01T10:11:12+01:00", "2026-12-01T24:00:00Z", "2026-12-01T10:11:12.Z", "+026-12-01T10:11:12Z"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, ok := parseListTime([]byte(s))
		if !ok {
			return
		}
		want, err := smithytime.ParseDateTime(s)
		if err != nil {
			t.Fatalf("%q: accepted as %v, the SDK rejects it: %v", s, got, err)
		}
		if !got.Equal(want) {
			t.Fatalf("%q: %v, the SDK reads %v", s, got, want)
		}
	})
}

// A page that says more keys follow but gives no continuation token is an error, on both
// decoders: the listing ended there without one, and every key after it was missing.
func TestListTruncatedWithoutToken(t *testing.T) {
	body := `<?xml version="1.0" encoding="UTF-8"?><ListBucketResult><Name>b</Name><IsTruncated>true</IsTruncated><KeyCount>1</KeyCount><Contents><Key>a</Key><Size>1</Size></Contents></ListBucketResult>`
	for _, sdk := range []bool{false, true} {
		client := s3.New(s3.Options{Region: "us-east-1", BaseEndpoint: aws.String("http://127.0.0.1:9"), UsePathStyle: true,
			Credentials: aws.AnonymousCredentials{}, HTTPClient: cannedS3{body}, Retryer: aws.NopRetryer{}})
		s := NewObjectStore(client, "b", ObjectStoreOptions{sdkListDecoder: sdk})
		pages := 0
		err := s.List(context.Background(), "", func(p Page) error { pages++; return nil })
		var e *Error
		if !errors.As(err, &e) || e.Code != "TruncatedWithoutToken" || pages != 0 {
			t.Errorf("sdk decoder %v: %d page(s), err %v", sdk, pages, err)
		}
	}
}
