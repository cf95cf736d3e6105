package awsclient

import (
	"context"
	"fmt"
	"hash/crc32"
	"io"
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"unsafe"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
)

// cannedDynamoDB answers every call with one body, with DynamoDB's CRC32 header when crc.
type cannedDynamoDB struct {
	body string
	crc  bool
}

func (c cannedDynamoDB) Do(r *http.Request) (*http.Response, error) {
	if r.Body != nil {
		io.Copy(io.Discard, r.Body)
		r.Body.Close()
	}
	h := http.Header{"Content-Type": {"application/x-amz-json-1.0"}}
	if c.crc {
		h.Set("X-Amz-Crc32", strconv.FormatUint(uint64(crc32.ChecksumIEEE([]byte(c.body))), 10))
	}
	return &http.Response{StatusCode: 200, Status: "200 OK", Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1, Header: h,
		Body: io.NopCloser(strings.NewReader(c.body)), ContentLength: int64(len(c.body)), Request: r}, nil
}

// batchGetBoth reads ids from body with the fast decoder and with the SDK's alone.
func batchGetBoth(body string, crc bool) (fast, sdk []Status, fastErr, sdkErr error, tookFast, sdkPanicked bool) {
	client := dynamodb.New(dynamodb.Options{Region: "us-east-1", BaseEndpoint: aws.String("http://127.0.0.1:9"),
		Credentials: aws.AnonymousCredentials{}, HTTPClient: cannedDynamoDB{body, crc}, Retryer: aws.NopRetryer{}})
	f := NewStatusStore(client, StatusSchema{Table: "status"})
	s := NewStatusStore(client, StatusSchema{Table: "status"})
	s.sdkDecoders = true
	f.maxRetries, s.maxRetries = 0, 0
	ids := []string{"r1", "r2"}
	fast, fastErr = f.batchGetChunk(context.Background(), ids)
	_, tookFast = parseBatchGet([]byte(body), "status")
	defer func() {
		if r := recover(); r != nil {
			// The SDK's decoder panicked: the fast path must have refused the body.
			sdkPanicked = true
		}
	}()
	sdk, sdkErr = s.batchGetChunk(context.Background(), ids)
	return
}

const batchGetBody = `{"Responses":{"status":[` +
	`{"requestId":{"S":"r1"},"status":{"S":"FAILED"},"attempts":{"N":"3"},"updatedAt":{"S":"2026-12-01T10:11:12Z"},` +
	`"error":{"S":"timeout \"x\" \\ \u00e9 \ud83d\ude00 \/ \n"},"ok":{"BOOL":false},"gone":{"NULL":true},` +
	`"tags":{"SS":["a","b"]},"sizes":{"NS":["1","2.5"]},"history":{"L":[{"M":{"at":{"N":"1733000000"}}},{"S":"x"}]}},` +
	`{"requestId":{"S":"r2"},"status":{"S":"PROCESSED"},"updatedAt":{"N":"1733000000123"}}` +
	`]},"UnprocessedKeys":{}}`

// The fast decoder reads what DynamoDB sends as the SDK does, and leaves what it does not
// know to the SDK.
func TestBatchGetFastDecoderMatchesTheSDK(t *testing.T) {
	cases := []struct {
		name, body string
		crc, fast  bool
	}{
		{"items", batchGetBody, true, true},
		{"items, no checksum header", batchGetBody, false, true},
		{"none found", `{"Responses":{"status":[]},"UnprocessedKeys":{}}`, true, true},
		{"none found, no table", " {\"Responses\":{}}\n", true, true},
		{"binary", `{"Responses":{"status":[{"requestId":{"S":"r1"},"b":{"B":"AAE="}}]}}`, true, false},
		{"unprocessed", `{"Responses":{"status":[]},"UnprocessedKeys":{"status":{"Keys":[{"requestId":{"S":"r2"}}]}}}`, true, false},
		{"capacity", `{"Responses":{"status":[]},"ConsumedCapacity":[{"TableName":"status","CapacityUnits":1}]}`, true, false},
		{"duplicate attribute", `{"Responses":{"status":[{"requestId":{"S":"r1"},"requestId":{"S":"r2"}}]}}`, true, false},
		{"two types", `{"Responses":{"status":[{"requestId":{"S":"r1","N":"1"}}]}}`, true, false},
		{"lone surrogate", `{"Responses":{"status":[{"requestId":{"S":"\ud800"}}]}}`, true, false},
		{"trailing garbage", `{"Responses":{"status":[]}} x`, true, false},
		{"escaped quote in a name seen before", `{"Responses":{"status":[{"a\\":{"S":"x"},"a\":{"S":"y"}}]}}`, true, false},
	}
	// Broken JSON is refused; the SDK's decoder panicked on this one, or read it as empty.
	for _, body := range []string{`{"Responses":{"000000":[,0`, `{"Responses":{"status":[,0`} {
		if _, _, fastErr, _, _, _ := batchGetBoth(body, true); fastErr == nil {
			t.Errorf("%q was accepted", body)
		}
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			fast, sdk, fastErr, sdkErr, tookFast, _ := batchGetBoth(c.body, c.crc)
			if tookFast != c.fast {
				t.Errorf("fast path taken: %v, want %v", tookFast, c.fast)
			}
			if (fastErr == nil) != (sdkErr == nil) {
				t.Fatalf("fast error %v, SDK error %v", fastErr, sdkErr)
			}
			if !reflect.DeepEqual(fast, sdk) {
				t.Fatalf("fast:\n%#v\nSDK:\n%#v", fast, sdk)
			}
		})
	}
	// A body that does not match its checksum is left to the SDK, which reads it as it is.
	client := dynamodb.New(dynamodb.Options{Region: "us-east-1", BaseEndpoint: aws.String("http://127.0.0.1:9"),
		Credentials: aws.AnonymousCredentials{}, HTTPClient: corrupted{cannedDynamoDB{batchGetBody, true}}, Retryer: aws.NopRetryer{}})
	var got [2][]Status
	for i, sdkOnly := range []bool{false, true} {
		s := NewStatusStore(client, StatusSchema{Table: "status"})
		s.sdkDecoders = sdkOnly
		got[i], _ = s.batchGetChunk(context.Background(), []string{"r1"})
	}
	if !reflect.DeepEqual(got[0], got[1]) || len(got[0]) == 0 || got[0][0].State != "FAILEE" {
		t.Fatalf("a body that does not match X-Amz-Crc32:\n%#v\nSDK:\n%#v", got[0], got[1])
	}
}

// corrupted changes the body after its checksum was taken.
type corrupted struct{ cannedDynamoDB }

func (c corrupted) Do(r *http.Request) (*http.Response, error) {
	resp, err := c.cannedDynamoDB.Do(r)
	if err == nil {
		resp.Body = io.NopCloser(strings.NewReader(strings.Replace(c.body, "FAILED", "FAILEE", 1)))
	}
	return resp, err
}

// go test ./awsclient -run '^$' -fuzz FuzzBatchGetJSON
func FuzzBatchGetJSON(f *testing.F) {
	f.Add(batchGetBody)
	f.Add(`{"Responses":{"status":[{"requestId":{"S":"r1"},"m":{"M":{"a":{"L":[{"NULL":true},{"BOOL":true}]}}}}]},"UnprocessedKeys":{}}`)
	f.Fuzz(func(t *testing.T, body string) {
		fast, sdk, fastErr, sdkErr, tookFast, sdkPanicked := batchGetBoth(body, true)
		if !firstValueValid([]byte(body)) {
			// Broken JSON, which the SDK may panic on or read as an empty result, is refused.
			if fastErr == nil {
				t.Fatalf("%q is not JSON and the fast path accepted it", body)
			}
			return
		}
		if sdkPanicked {
			t.Fatalf("the SDK's decoder panicked on %q", body)
		}
		if (fastErr == nil) != (sdkErr == nil) {
			t.Fatalf("fast path %v: fast error %v, SDK error %v", tookFast, fastErr, sdkErr)
		}
		if !reflect.DeepEqual(fast, sdk) {
			t.Fatalf("fast path %v:\n%#v\nSDK:\n%#v", tookFast, fast, sdk)
		}
	})
}

// BenchmarkBatchGetDecode compares the two decoders on a BatchGetItem of 100 status items,
// through the client (signing and middleware included).
func BenchmarkBatchGetDecode(b *testing.B) {
	var sb strings.Builder
	sb.WriteString(`{"Responses":{"status":[`)
	ids := make([]string, 100)
	for i := range ids {
		ids[i] = fmt.Sprintf("%08x-64ed-4c41-acd9-d08b6a619f87", i)
		if i > 0 {
			sb.WriteString(",")
		}
		fmt.Fprintf(&sb, `{"requestId":{"S":%q},"status":{"S":"FAILED"},"attempts":{"N":"1"},"updatedAt":{"S":"2026-12-04T14:%02d:%02dZ"},`+
			`"receivedAt":{"S":"2026-12-04T14:%02d:%02dZ"},"error":{"S":"downstream timeout: inventory-service did not answer within 3000 ms"}}`,
			ids[i], i/60, i%60, i/60, (i+58)%60)
	}
	sb.WriteString(`]},"UnprocessedKeys":{}}`)
	client := dynamodb.New(dynamodb.Options{Region: "us-east-1", BaseEndpoint: aws.String("http://127.0.0.1:9"),
		Credentials: aws.AnonymousCredentials{}, HTTPClient: cannedDynamoDB{sb.String(), true}, Retryer: aws.NopRetryer{}})
	for _, sdkOnly := range []bool{false, true} {
		name := "fast"
		if sdkOnly {
			name = "sdk"
		}
		b.Run(name, func(b *testing.B) {
			s := NewStatusStore(client, StatusSchema{Table: "status"})
			s.sdkDecoders = sdkOnly
			b.ReportAllocs()
			for b.Loop() {
				if got, err := s.batchGetChunk(context.Background(), ids); err != nil || len(got) != 100 {
					b.Fatal(err, len(got))
				}
			}
		})
	}
}

// A joined listing holds a status per row: the names and states the fast decoder reads
// are one string each per response, not a copy per item.
func TestBatchGetSharesShortStrings(t *testing.T) {
	// "processor" and "PROCESSED" have the same hash: both are kept.
	body := `{"Responses":{"status":[` +
		`{"requestId":{"S":"00000000-64ed-4c41-acd9-d08b6a619f87"},"status":{"S":"PROCESSED"},"updatedAt":{"S":"2026-12-04T14:00:01Z"},"processor":{"S":"v1"}},` +
		`{"requestId":{"S":"00000001-64ed-4c41-acd9-d08b6a619f87"},"status":{"S":"PROCESSED"},"updatedAt":{"S":"2026-12-04T14:00:02Z"},"processor":{"S":"v1"}}` +
		`]},"UnprocessedKeys":{}}`
	items, ok := parseBatchGet([]byte(body), "status")
	if !ok || len(items) != 2 {
		t.Fatalf("parsed %v, %v", items, ok)
	}
	data := func(s any) *byte { return unsafe.StringData(s.(string)) }
	if data(items[0]["status"]) != data(items[1]["status"]) {
		t.Error("the state is read into two strings")
	}
	for name := range items[1] {
		for other := range items[0] {
			if name == other && unsafe.StringData(name) != unsafe.StringData(other) {
				t.Errorf("the name %q is read into two strings", name)
			}
		}
	}
	if items[0]["requestId"] == items[1]["requestId"] || items[0]["updatedAt"] == items[1]["updatedAt"] {
		t.Error("distinct values were confused")
	}
}
