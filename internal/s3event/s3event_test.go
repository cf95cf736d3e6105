package s3event

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"
)

// documentedRecord is the shape of AWS's documented version 2.1 example ("Event message
// structure" in the S3 user guide), written here with this test's values: every field
// S3 documents, in its place, and nothing else but the stowage field.
const documentedRecord = `{"Records":[{
  "eventVersion":"2.1","eventSource":"aws:s3","awsRegion":"eu-west-1",
  "eventTime":"2026-12-07T10:11:12.345Z","eventName":"ObjectCreated:Put",
  "userIdentity":{"principalId":"AWS:AROAEXAMPLE:ops"},
  "requestParameters":{"sourceIPAddress":"127.0.0.1"},
  "responseElements":{"x-amz-request-id":"%REQ%","x-amz-id-2":"%HOST%"},
  "s3":{"s3SchemaVersion":"1.0","configurationId":"stowage-redrive",
    "bucket":{"name":"ingest-bucket","ownerIdentity":{"principalId":"111122223333"},"arn":"arn:aws:s3:::ingest-bucket"},
    "object":{"key":"incoming/red+flower%3A1.json","size":1024,"eTag":"0123456789abcdef0123456789abcdef",
      "versionId":"3HL4kqtJlcpXroDTDmJ-rmSpXd3dIbrHY","sequencer":"006B16864014904840"}},
  "stowage":{"originalRequestId":"req-1","redriveId":"run-1"}}]}`

func testInput() (Object, Source, *Marker) {
	at := time.Date(2026, 12, 7, 10, 11, 12, 345000000, time.UTC)
	return Object{Bucket: "ingest-bucket", Key: "incoming/red flower:1.json", Size: 1024,
			ETag: "0123456789abcdef0123456789abcdef", VersionID: "3HL4kqtJlcpXroDTDmJ-rmSpXd3dIbrHY"},
		Source{Region: "eu-west-1", Account: "111122223333", Principal: "AWS:AROAEXAMPLE:ops", ConfigurationID: "stowage-redrive", At: at},
		&Marker{OriginalRequestID: "req-1", RedriveID: "run-1"}
}

func TestNotificationMatchesDocumentedShape(t *testing.T) {
	o, src, m := testInput()
	got, err := NotificationJSON(o, src, m)
	if err != nil {
		t.Fatal(err)
	}
	rec := NewRecord(o, src, m)
	want := documentedRecord
	for k, v := range map[string]string{"%REQ%": rec.ResponseElements["x-amz-request-id"], "%HOST%": rec.ResponseElements["x-amz-id-2"]} {
		want = replace(want, k, v)
	}
	var g, w any
	if err := json.Unmarshal(got, &g); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal([]byte(want), &w); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(g, w) {
		t.Fatalf("record differs from the documented shape:\n got %s\nwant %s", got, want)
	}
	if len(rec.ResponseElements["x-amz-request-id"]) != 16 {
		t.Errorf("x-amz-request-id %q: S3's are 16 characters", rec.ResponseElements["x-amz-request-id"])
	}
}

func TestRecordUnversionedOmitsVersionID(t *testing.T) {
	o, src, _ := testInput()
	o.VersionID = ""
	b, _ := NotificationJSON(o, src, nil)
	var n map[string]any
	_ = json.Unmarshal(b, &n)
	obj := n["Records"].([]any)[0].(map[string]any)["s3"].(map[string]any)["object"].(map[string]any)
	if _, ok := obj["versionId"]; ok {
		t.Errorf("versionId present for an unversioned object: %s", b)
	}
	if _, ok := n["Records"].([]any)[0].(map[string]any)["stowage"]; ok {
		t.Errorf("stowage field without a marker: %s", b)
	}
}

// documentedDetail is the shape of the documented "Object created" EventBridge example's
// detail, with this test's values.
const documentedDetail = `{"version":"0","bucket":{"name":"ingest-bucket"},
  "object":{"key":"incoming/red flower:1.json","size":1024,"etag":"0123456789abcdef0123456789abcdef",
    "version-id":"3HL4kqtJlcpXroDTDmJ-rmSpXd3dIbrHY","sequencer":"006B16864014904840"},
  "request-id":"%REQ%","requester":"111122223333","source-ip-address":"127.0.0.1","reason":"PutObject",
  "stowage":{"originalRequestId":"req-1","redriveId":"run-1"}}`

func TestDetailMatchesDocumentedShape(t *testing.T) {
	o, src, m := testInput()
	got, err := DetailJSON(o, src, m)
	if err != nil {
		t.Fatal(err)
	}
	want := replace(documentedDetail, "%REQ%", NewDetail(o, src, m).RequestID)
	var g, w any
	_ = json.Unmarshal(got, &g)
	if err := json.Unmarshal([]byte(want), &w); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(g, w) {
		t.Fatalf("detail differs:\n got %s\nwant %s", got, want)
	}
}

func TestSequencerGrowsWithTime(t *testing.T) {
	a := time.Date(2023, 8, 9, 13, 9, 50, 0, time.UTC)
	// The documented example's sequencer starts with the event's Unix seconds.
	if s := Sequencer(a); s[:10] != "0064D3901E" || len(s) != 18 {
		t.Errorf("Sequencer = %s", s)
	}
	if !(Sequencer(a) < Sequencer(a.Add(time.Millisecond))) || !(Sequencer(a.Add(time.Second-1)) < Sequencer(a.Add(time.Second))) {
		t.Error("a later event must have a larger sequencer")
	}
}

func TestEncodeKey(t *testing.T) {
	for key, want := range map[string]string{
		"red flower.jpg":       "red+flower.jpg",
		"a/b/c.json":           "a/b/c.json",
		"a+b":                  "a%2Bb",
		"x=1&y=2":              "x%3D1%26y%3D2",
		"caf\u00e9":            "caf%C3%A9",
		"tab\there":            "tab%09here",
		"keep-_.~":             "keep-_.~",
		"2026/12/07/id:1 .bin": "2026/12/07/id%3A1+.bin",
	} {
		if got := EncodeKey(key); got != want {
			t.Errorf("EncodeKey(%q) = %q, want %q", key, got, want)
		}
		if back, err := DecodeKey(EncodeKey(key)); err != nil || back != key {
			t.Errorf("DecodeKey(EncodeKey(%q)) = %q, %v", key, back, err)
		}
	}
}

func TestPartition(t *testing.T) {
	for region, want := range map[string]string{"us-east-1": "arn:aws:s3:::b", "cn-north-1": "arn:aws-cn:s3:::b", "us-gov-west-1": "arn:aws-us-gov:s3:::b"} {
		if got := BucketARN(region, "b"); got != want {
			t.Errorf("BucketARN(%s) = %s", region, got)
		}
	}
}

func replace(s, old, new string) string {
	for {
		i := indexOf(s, old)
		if i < 0 {
			return s
		}
		s = s[:i] + new + s[i+len(old):]
	}
}

func indexOf(s, sub string) int {
	for i := 0; i+len(sub) <= len(s); i++ {
		if s[i:i+len(sub)] == sub {
			return i
		}
	}
	return -1
}
