package reqid

import (
	"errors"
	"net/url"
	"strings"
	"testing"
	"unicode/utf8"
)

const id = "3f1c2a4e-9b7d-4c1e-8a2f-5d6e7f809a1b"

func TestParse(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want Ref
	}{
		{"bare id", id, Ref{Kind: KindID, RequestID: id}},
		{"upper case id", strings.ToUpper(id), Ref{Kind: KindID, RequestID: id}},
		{"braced id", "{" + id + "}", Ref{Kind: KindID, RequestID: id}},
		{"urn", "urn:uuid:" + id, Ref{Kind: KindID, RequestID: id}},
		{"whitespace and quotes", "  \"'" + id + "'\"\n", Ref{Kind: KindID, RequestID: id}},
		{"angle brackets", "<" + id + ">", Ref{Kind: KindID, RequestID: id}},

		{"s3 uri", "s3://orders-prod/" + id, Ref{Kind: KindS3URI, Bucket: "orders-prod", Key: id, RequestID: id}},
		{"s3 uri with prefix", "s3://orders-prod/incoming/" + id, Ref{Kind: KindS3URI, Bucket: "orders-prod", Key: "incoming/" + id, RequestID: id}},
		{"s3 uri key is literal", "s3://b-1/100%off/a b+c", Ref{Kind: KindS3URI, Bucket: "b-1", Key: "100%off/a b+c"}},
		{"s3 uri key with %2F stays literal", "s3://b-1/a%2Fb", Ref{Kind: KindS3URI, Bucket: "b-1", Key: "a%2Fb"}},
		{"s3 uri escaped form", "s3://b-1/a%0Ab%25", Ref{Kind: KindS3URI, Bucket: "b-1", Key: "a\nb%"}},
		{"s3 uri upper scheme", "S3://bkt/k", Ref{Kind: KindS3URI, Bucket: "bkt", Key: "k"}},

		{"console object url", "https://s3.console.aws.amazon.com/s3/object/orders-prod?region=eu-west-1&bucketType=general&prefix=incoming%2F" + id,
			Ref{Kind: KindConsoleURL, Bucket: "orders-prod", Key: "incoming/" + id, Region: "eu-west-1", RequestID: id}},
		{"regional console object url", "https://eu-west-1.console.aws.amazon.com/s3/object/orders-prod?region=eu-west-1&prefix=" + id,
			Ref{Kind: KindConsoleURL, Bucket: "orders-prod", Key: id, Region: "eu-west-1", RequestID: id}},
		{"console buckets url", "https://s3.console.aws.amazon.com/s3/buckets/orders-prod?region=us-east-1&prefix=a%20b%2Bc.json&showversions=false",
			Ref{Kind: KindConsoleURL, Bucket: "orders-prod", Key: "a b+c.json", Region: "us-east-1"}},
		{"old console url with key in path", "https://s3.console.aws.amazon.com/s3/object/orders-prod/in/a%20b.xml?region=us-east-1&tab=overview",
			Ref{Kind: KindConsoleURL, Bucket: "orders-prod", Key: "in/a b.xml", Region: "us-east-1"}},
		{"oldest console url with fragment", "https://console.aws.amazon.com/s3/home?region=us-west-2#&bucket=orders-prod&prefix=k.json",
			Ref{Kind: KindConsoleURL, Bucket: "orders-prod", Key: "k.json", Region: "us-west-2"}},
		{"govcloud console", "https://console.amazonaws-us-gov.com/s3/object/b-gov?region=us-gov-west-1&prefix=k",
			Ref{Kind: KindConsoleURL, Bucket: "b-gov", Key: "k", Region: "us-gov-west-1"}},

		{"virtual hosted object url", "https://orders-prod.s3.eu-west-1.amazonaws.com/incoming/" + id,
			Ref{Kind: KindObjectURL, Bucket: "orders-prod", Key: "incoming/" + id, Region: "eu-west-1", RequestID: id}},
		{"legacy global object url", "https://orders-prod.s3.amazonaws.com/a%20b",
			Ref{Kind: KindObjectURL, Bucket: "orders-prod", Key: "a b"}},
		{"bucket starting with s3", "https://s3-data.s3.amazonaws.com/k",
			Ref{Kind: KindObjectURL, Bucket: "s3-data", Key: "k"}},
		{"dotted bucket", "https://my.orders.s3-us-west-2.amazonaws.com/k",
			Ref{Kind: KindObjectURL, Bucket: "my.orders", Key: "k", Region: "us-west-2"}},
		{"path style presigned", "https://s3.us-east-1.amazonaws.com/orders-prod/" + id + "?X-Amz-Signature=abc",
			Ref{Kind: KindObjectURL, Bucket: "orders-prod", Key: id, Region: "us-east-1", RequestID: id}},
		{"execute-api url falls back to the id in it", "https://abc123.execute-api.eu-west-1.amazonaws.com/prod/product/" + id,
			Ref{Kind: KindLogLine, RequestID: id}},

		{"api gateway execution log", "(" + id + ") Method request body before transformations: <product/>",
			Ref{Kind: KindLogLine, RequestID: id}},
		{"access log json", `{"requestId":"` + id + `","ip":"10.0.0.1","extendedRequestId":"Bv7yXGHoIAMF5-Q="}`,
			Ref{Kind: KindLogLine, RequestID: id}},
		{"labelled beats first", `trace 00000000-0000-4000-8000-000000000000 "requestId" : "` + strings.ToUpper(id) + `"`,
			Ref{Kind: KindLogLine, RequestID: id}},
		{"lambda style label", "START RequestId: " + id + " Version: $LATEST",
			Ref{Kind: KindLogLine, RequestID: id}},
		{"response header", "x-amzn-RequestId: " + id,
			Ref{Kind: KindLogLine, RequestID: id}},
		{"header label beats earlier id", "00000000-0000-4000-8000-000000000000 x-amzn-RequestId: " + id,
			Ref{Kind: KindLogLine, RequestID: id}},
		{"snake label", "request_id=" + id,
			Ref{Kind: KindLogLine, RequestID: id}},
		{"first when unlabelled", "a " + id + " b 00000000-0000-4000-8000-000000000000",
			Ref{Kind: KindLogLine, RequestID: id}},
		{"several log lines", "2024-01-01 boot\n(" + id + ") Method completed with status: 500\n",
			Ref{Kind: KindLogLine, RequestID: id}},
		{"not part of a longer hex run", "x" + id + "0 " + id,
			Ref{Kind: KindLogLine, RequestID: id}},

		{"plain key", "orders/2024/01/product.json", Ref{Kind: KindKey, Key: "orders/2024/01/product.json"}},
		{"plain key with id segment", "incoming/" + id, Ref{Kind: KindKey, Key: "incoming/" + id, RequestID: id}},
		{"plain key without slash", "product-42.xml", Ref{Kind: KindKey, Key: "product-42.xml"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Parse(tt.in)
			if err != nil {
				t.Fatalf("Parse(%q) error: %v", tt.in, err)
			}
			if got != tt.want {
				t.Errorf("Parse(%q)\n got %+v\nwant %+v", tt.in, got, tt.want)
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name, in, wantInMsg string
	}{
		{"empty", "", "empty"},
		{"blank", " \t\n ", "empty"},
		{"empty quotes", `""`, "empty"},
		{"multi-line garbage", "hello\nworld", `no request ID found in what you pasted ("hello␤world")`},
		{"words without an ID are not a key", "garbage text here", `no request ID found in what you pasted ("garbage text here"); paste a request ID, an s3:// URI, a console URL or a log line containing a request ID`},
		{"a tab counts as a space", "a\tb", "no request ID found in what you pasted"},
		{"a log line without an ID", "ERROR processor: parse failed for order 42", "no request ID found"},
		{"hostile garbage is sanitized in the message", "a\x1b[2J\nb", `"a␛[2J␤b"`},
		{"s3 without key", "s3://bucket", "no object key"},
		{"s3 with empty key", "s3://bucket/", "no object key"},
		{"s3 bad bucket", "s3://b/k", "valid bucket"},
		{"console folder", "https://s3.console.aws.amazon.com/s3/buckets/orders?region=us-east-1&prefix=incoming/", "folder"},
		{"console bucket only", "https://s3.console.aws.amazon.com/s3/buckets/orders?region=us-east-1", "no object"},
		{"object url without key", "https://orders.s3.amazonaws.com/", "no object key"},
		{"key too long", strings.Repeat("k", 1025), "longer than any S3 key"},
		{"control character", "key\x07", "found in"},
		{"quoted words", `"two words"`, "no request ID found"},
		{"long input is shortened", strings.Repeat("x", 100) + "\n" + strings.Repeat("y", 100), "…"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ref, err := Parse(tt.in)
			if err == nil {
				t.Fatalf("Parse(%q) = %+v, want an error", tt.in, ref)
			}
			if !errors.Is(err, ErrNoReference) {
				t.Errorf("error %v does not match ErrNoReference", err)
			}
			if !strings.Contains(err.Error(), tt.wantInMsg) {
				t.Errorf("error %q does not mention %q", err, tt.wantInMsg)
			}
			if strings.ContainsAny(err.Error(), "\x1b\n\r") {
				t.Errorf("error %q carries raw control characters", err)
			}
		})
	}
}

func TestParseWordsMayBeAKeyWithSpaces(t *testing.T) {
	for _, in := range []string{"garbage text here", "  partner uploads/acme corp/feed 17.json  "} {
		_, err := Parse(in)
		var words *WordsError
		if !errors.As(err, &words) || !errors.Is(err, ErrNoReference) {
			t.Fatalf("Parse(%q) error = %v, want a *WordsError matching ErrNoReference", in, err)
		}
		if words.Text != strings.TrimSpace(in) {
			t.Errorf("Parse(%q) carries %q, want the trimmed text", in, words.Text)
		}
	}
	// Several lines, or text no key can be, are not offered as a key.
	for _, in := range []string{"two\nlines", strings.Repeat("w ", 600), "bell \x07 here"} {
		var words *WordsError
		if _, err := Parse(in); !errors.Is(err, ErrNoReference) || errors.As(err, &words) {
			t.Errorf("Parse(%q) error = %v, want ErrNoReference without a key to try", in, err)
		}
	}
}

func TestS3URI(t *testing.T) {
	tests := []struct{ bucket, key, want string }{
		{"orders", id, "s3://orders/" + id},
		{"orders", "a b/c+d%e.json", "s3://orders/a b/c+d%e.json"}, // literal, as the AWS CLI wants
		{"orders", "café", "s3://orders/café"},
		{"orders", "trailing ", "s3://orders/trailing%20"},
		{"orders", "line\nbreak", "s3://orders/line%0Abreak"},
		{"orders", "looks%0Aescaped", "s3://orders/looks%250Aescaped"},
		{"orders", "café\t", "s3://orders/caf%C3%A9%09"},
	}
	for _, tt := range tests {
		if got := S3URI(tt.bucket, tt.key); got != tt.want {
			t.Errorf("S3URI(%q, %q) = %q, want %q", tt.bucket, tt.key, got, tt.want)
		}
	}
}

func TestConsoleURL(t *testing.T) {
	got := ConsoleURL("eu-west-1", "orders", "in/a b+c&d.json")
	want := "https://s3.console.aws.amazon.com/s3/object/orders?region=eu-west-1&bucketType=general&prefix=in%2Fa%20b%2Bc%26d.json"
	if got != want {
		t.Errorf("ConsoleURL = %q\nwant %q", got, want)
	}
	if got := ConsoleURL("cn-north-1", "b", "k"); !strings.HasPrefix(got, "https://console.amazonaws.cn/s3/object/b?") {
		t.Errorf("China console URL = %q", got)
	}
	if got := ConsoleURL("us-gov-west-1", "b", "k"); !strings.HasPrefix(got, "https://console.amazonaws-us-gov.com/s3/object/b?") {
		t.Errorf("GovCloud console URL = %q", got)
	}
}

// fuzzBucket maps arbitrary bytes to a valid bucket name.
func fuzzBucket(seed string) string {
	const chars = "abcdefghijklmnopqrstuvwxyz0123456789.-"
	var b strings.Builder
	b.WriteString("b")
	for i := 0; i < len(seed) && i < 40; i++ {
		b.WriteByte(chars[int(seed[i])%len(chars)])
	}
	b.WriteString("0z")
	return b.String()
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{
		id, "{" + id + "}", "s3://b-1/k", "s3://b-1/a%0A", "https://s3.console.aws.amazon.com/s3/object/b?prefix=k",
		"https://b.s3.amazonaws.com/k", `"requestId":"` + id + `"`, "x\ny", "%", "https://console.aws.amazon.com/s3/home#&bucket=",
	} {
		f.Add(s, "bucket", "key")
	}
	f.Fuzz(func(t *testing.T, in, bucketSeed, key string) {
		ref, err := Parse(in)
		if err == nil {
			if ref.Kind < KindID || ref.Kind > KindKey {
				t.Fatalf("Parse(%q) returned kind %d", in, ref.Kind)
			}
			if ref.RequestID != "" && (!isUUID(ref.RequestID) || ref.RequestID != strings.ToLower(ref.RequestID)) {
				t.Fatalf("Parse(%q) returned request ID %q", in, ref.RequestID)
			}
			if ref.RequestID == "" && ref.Key == "" {
				t.Fatalf("Parse(%q) returned neither an ID nor a key: %+v", in, ref)
			}
		} else {
			if !errors.Is(err, ErrNoReference) {
				t.Fatalf("Parse(%q) error %v does not match ErrNoReference", in, err)
			}
			if msg := err.Error(); !utf8.ValidString(msg) || strings.ContainsAny(msg, "\x1b\n\r\x07") {
				t.Fatalf("Parse(%q) error message is not safe: %q", in, msg)
			}
		}

		if key == "" {
			return
		}
		bucket := fuzzBucket(bucketSeed)
		uri := S3URI(bucket, key)
		got, err := Parse(uri)
		if err != nil {
			t.Fatalf("Parse(S3URI(%q, %q) = %q) error: %v", bucket, key, uri, err)
		}
		if got.Kind != KindS3URI || got.Bucket != bucket || got.Key != key {
			t.Fatalf("Parse(S3URI(%q, %q) = %q) = %+v", bucket, key, uri, got)
		}
		console := ConsoleURL("eu-west-1", bucket, key)
		if _, err := url.Parse(console); err != nil {
			t.Fatalf("ConsoleURL(%q, %q) = %q does not parse: %v", bucket, key, console, err)
		}
		got, err = Parse(console)
		if err != nil {
			t.Fatalf("Parse(ConsoleURL(%q, %q) = %q) error: %v", bucket, key, console, err)
		}
		if got.Kind != KindConsoleURL || got.Bucket != bucket || got.Key != key || got.Region != "eu-west-1" {
			t.Fatalf("Parse(ConsoleURL(%q, %q) = %q) = %+v", bucket, key, console, got)
		}
	})
}

func TestParseOtherURL(t *testing.T) {
	_, err := Parse("https://example.com/some/page")
	if err == nil || !strings.Contains(err.Error(), "neither an S3 console URL") {
		t.Errorf("Parse(other URL) error = %v, want it to say the URL is not an S3 one", err)
	}
}
