package awsclient

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

func TestToStatusReadsWhatProcessorsWrite(t *testing.T) {
	store := NewStatusStore(nil, StatusSchema{Table: "t"})
	s := func(v string) ddbtypes.AttributeValue { return &ddbtypes.AttributeValueMemberS{Value: v} }
	n := func(v string) ddbtypes.AttributeValue { return &ddbtypes.AttributeValueMemberN{Value: v} }
	at := time.Date(2026, 3, 1, 12, 30, 0, 0, time.UTC)

	tests := []struct {
		name     string
		attempts ddbtypes.AttributeValue
		updated  ddbtypes.AttributeValue
		wantAtt  int
		wantTime time.Time
	}{
		{"number and RFC 3339", n("3"), s("2026-03-01T12:30:00Z"), 3, at},
		{"string attempts and offset", s("4"), s("2026-03-01T14:30:00+02:00"), 4, at},
		{"fractional seconds", n("1"), s("2026-03-01T12:30:00.250Z"), 1, at.Add(250 * time.Millisecond)},
		{"zone-less ISO is UTC", n("2"), s("2026-03-01T12:30:00"), 2, at},
		{"space separated", n("2"), s("2026-03-01 12:30:00"), 2, at},
		{"epoch seconds", n("2.0"), n(fmt.Sprint(at.Unix())), 2, at},
		{"epoch seconds string", n("0"), s(fmt.Sprint(at.Unix())), 0, at},
		{"epoch millis", n("7"), n(fmt.Sprint(at.UnixMilli())), 7, at},
		{"fractional epoch", n("1"), n(fmt.Sprintf("%d.5", at.Unix())), 1, at.Add(500 * time.Millisecond)},
		{"garbage stays zero", s("many"), s("yesterday"), 0, time.Time{}},
		{"negative attempts stay zero", n("-1"), n("-5"), 0, time.Time{}},
		{"missing", nil, nil, 0, time.Time{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			item := map[string]ddbtypes.AttributeValue{"requestId": s("r1"), "status": s("FAILED"), "error": s("boom")}
			if tt.attempts != nil {
				item["attempts"] = tt.attempts
			}
			if tt.updated != nil {
				item["updatedAt"] = tt.updated
			}
			st := store.toStatus(item)
			if st.RequestID != "r1" || st.State != "FAILED" || st.Error != "boom" {
				t.Fatalf("status = %+v", st)
			}
			if st.Attempts != tt.wantAtt || !st.UpdatedAt.Equal(tt.wantTime) {
				t.Fatalf("attempts %d at %v, want %d at %v", st.Attempts, st.UpdatedAt, tt.wantAtt, tt.wantTime)
			}
		})
	}
}

func TestToStatusCustomSchemaAndPlainItem(t *testing.T) {
	store := NewStatusStore(nil, StatusSchema{Table: "t", KeyAttr: "pk", StatusAttr: "state", ErrorAttr: "reason",
		AttemptsAttr: "tries", UpdatedAtAttr: "ts"})
	item := map[string]ddbtypes.AttributeValue{
		"pk":     &ddbtypes.AttributeValueMemberS{Value: "id-1"},
		"state":  &ddbtypes.AttributeValueMemberS{Value: "PROCESSED"},
		"reason": &ddbtypes.AttributeValueMemberS{Value: ""},
		"tries":  &ddbtypes.AttributeValueMemberN{Value: "12345678901234567890"},
		"ts":     &ddbtypes.AttributeValueMemberN{Value: "1772368200"},
		"flag":   &ddbtypes.AttributeValueMemberBOOL{Value: true},
		"none":   &ddbtypes.AttributeValueMemberNULL{Value: true},
		"blob":   &ddbtypes.AttributeValueMemberB{Value: []byte{0, 1, 2}},
		"tags":   &ddbtypes.AttributeValueMemberSS{Value: []string{"a", "b"}},
		"nums":   &ddbtypes.AttributeValueMemberNS{Value: []string{"1", "2.5"}},
		"list":   &ddbtypes.AttributeValueMemberL{Value: []ddbtypes.AttributeValue{&ddbtypes.AttributeValueMemberS{Value: "x"}}},
		"map": &ddbtypes.AttributeValueMemberM{Value: map[string]ddbtypes.AttributeValue{
			"n": &ddbtypes.AttributeValueMemberN{Value: "0.1"}}},
	}
	st := store.toStatus(item)
	if st.RequestID != "id-1" || st.State != "PROCESSED" || st.Attempts != 0 || st.UpdatedAt.Unix() != 1772368200 {
		t.Fatalf("status = %+v", st)
	}
	got, err := json.Marshal(st.Item)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"blob":"AAEC","flag":true,"list":["x"],"map":{"n":0.1},"none":null,"nums":[1,2.5],"pk":"id-1",` +
		`"reason":"","state":"PROCESSED","tags":["a","b"],"tries":12345678901234567890,"ts":1772368200}`
	if string(got) != want {
		t.Fatalf("item JSON\n got %s\nwant %s", got, want)
	}
}

func TestPageTokenRoundTrip(t *testing.T) {
	key := map[string]ddbtypes.AttributeValue{
		"requestId": &ddbtypes.AttributeValueMemberS{Value: "r/ü+1"},
		"updatedAt": &ddbtypes.AttributeValueMemberN{Value: "17"},
		"bin":       &ddbtypes.AttributeValueMemberB{Value: []byte{0xff}},
	}
	tok := encodePageToken(key)
	back, err := decodePageToken(tok)
	if err != nil {
		t.Fatal(err)
	}
	if back["requestId"].(*ddbtypes.AttributeValueMemberS).Value != "r/ü+1" ||
		back["updatedAt"].(*ddbtypes.AttributeValueMemberN).Value != "17" ||
		back["bin"].(*ddbtypes.AttributeValueMemberB).Value[0] != 0xff {
		t.Fatalf("round trip lost data: %#v", back)
	}
	for _, bad := range []string{"!!!", "bm90IGpzb24", "e30", "eyJhIjp7IlgiOiIxIn19", `eyJhIjp7IlMiOiIxIiwiTiI6IjIifX0`} {
		if _, err := decodePageToken(bad); err == nil {
			t.Errorf("token %q accepted", bad)
		}
	}
}

// The status store waits with the SDK's jittered exponential backoff, bounded by its cap.
func TestBatchGetBacksOffWithTheSDKsJitter(t *testing.T) {
	store := NewStatusStore(nil, StatusSchema{Table: "t"})
	if _, ok := store.backoff.(*retry.ExponentialJitterBackoff); !ok {
		t.Fatalf("backoff is %T, want the SDK's retry.ExponentialJitterBackoff", store.backoff)
	}
	seen := map[time.Duration]bool{}
	for attempt := 0; attempt < 40; attempt++ {
		for range 20 {
			d, err := store.backoff.BackoffDelay(attempt, nil)
			if err != nil || d < 0 || d > unprocessedBackoffMax {
				t.Fatalf("attempt %d: %v, %v", attempt, d, err)
			}
			seen[d] = true
		}
	}
	if len(seen) < 20 {
		t.Fatalf("only %d distinct waits: no jitter", len(seen))
	}
}

// waitFor is a backoff that always waits d.
func waitFor(d time.Duration) Backoff {
	return BackoffFunc(func(int, error) (time.Duration, error) { return d, nil })
}

// fakeBatchGet answers BatchGetItem like DynamoDB under pressure: each call processes at
// most `take` keys and returns the rest as UnprocessedKeys.
type fakeBatchGet struct {
	take                  int
	calls, inFlight, peak atomic.Int32
	mu                    sync.Mutex
	maxKeys               int
	present               func(id string) bool
}

func (f *fakeBatchGet) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.calls.Add(1)
	now := f.inFlight.Add(1)
	defer f.inFlight.Add(-1)
	for {
		p := f.peak.Load()
		if now <= p || f.peak.CompareAndSwap(p, now) {
			break
		}
	}
	time.Sleep(2 * time.Millisecond) // let concurrent chunks overlap
	var in struct {
		RequestItems map[string]struct {
			Keys []map[string]map[string]string
		}
	}
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
		w.WriteHeader(400)
		return
	}
	keys := in.RequestItems["t"].Keys
	f.mu.Lock()
	f.maxKeys = max(f.maxKeys, len(keys))
	f.mu.Unlock()
	n := min(f.take, len(keys))
	var items []map[string]map[string]string
	for _, k := range keys[:n] {
		if id := k["requestId"]["S"]; f.present(id) {
			items = append(items, map[string]map[string]string{"requestId": {"S": id}, "status": {"S": "PROCESSED"}})
		}
	}
	out := map[string]any{"Responses": map[string]any{"t": items}}
	if rest := keys[n:]; len(rest) > 0 {
		out["UnprocessedKeys"] = map[string]any{"t": map[string]any{"Keys": rest}}
	}
	w.Header().Set("Content-Type", "application/x-amz-json-1.0")
	json.NewEncoder(w).Encode(out)
}

func fakeDynamo(t *testing.T, h http.Handler) *dynamodb.Client {
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return dynamodb.New(dynamodb.Options{Region: "us-east-1", BaseEndpoint: aws.String(srv.URL),
		Credentials: credentials.NewStaticCredentialsProvider("a", "b", "")})
}

func TestBatchGetRetriesUnprocessedKeys(t *testing.T) {
	fake := &fakeBatchGet{take: 30, present: func(id string) bool { return id[len(id)-1] != '7' }}
	store := NewStatusStore(fakeDynamo(t, fake), StatusSchema{Table: "t"})
	store.backoff = waitFor(time.Microsecond)

	var ids []string
	for i := 0; i < 450; i++ {
		ids = append(ids, fmt.Sprintf("id-%03d", i%410)) // 410 unique, 40 duplicates
	}
	got, err := store.BatchGet(context.Background(), ids)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 369 { // 410 minus the 41 ending in 7
		t.Fatalf("got %d statuses, want 369", len(got))
	}
	if fake.maxKeys > 100 {
		t.Errorf("a request carried %d keys; the limit is 100", fake.maxKeys)
	}
	// Chunks of 100, 100, 100, 100 and 10 keys; at 30 keys a call that is 4+4+4+4+1 calls.
	if c := fake.calls.Load(); c != 17 {
		t.Errorf("%d calls, want 17", c)
	}
	if p := fake.peak.Load(); p > batchGetParallel || p < 2 {
		t.Errorf("peak concurrency %d, want 2..%d", p, batchGetParallel)
	}
}

func TestBatchGetGivesUpAsThrottled(t *testing.T) {
	fake := &fakeBatchGet{take: 0, present: func(string) bool { return true }}
	store := NewStatusStore(fakeDynamo(t, fake), StatusSchema{Table: "t"})
	store.backoff, store.maxRetries = waitFor(time.Microsecond), 3
	_, err := store.BatchGet(context.Background(), []string{"a", "b"})
	if KindOf(err) != KindThrottled || codeOf(err) != "UnprocessedKeys" {
		t.Fatalf("err = %v, want throttled", err)
	}
	if c := fake.calls.Load(); c != 4 {
		t.Errorf("%d calls, want 1 + 3 retries", c)
	}

	// A cancelled context ends the backoff at once.
	store.backoff, store.maxRetries = waitFor(time.Hour), 10
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		for fake.calls.Load() < 5 {
			time.Sleep(time.Millisecond)
		}
		cancel()
	}()
	_, err = store.BatchGet(ctx, []string{"a"})
	if KindOf(err) != KindCanceled {
		t.Fatalf("err = %v, want canceled", err)
	}
}

// FuzzPageToken checks that any token text is either refused or decodes to a key that
// encodes back to the same key.
func FuzzPageToken(f *testing.F) {
	f.Add(encodePageToken(map[string]ddbtypes.AttributeValue{"requestId": &ddbtypes.AttributeValueMemberS{Value: "r1"}}))
	f.Add(encodePageToken(map[string]ddbtypes.AttributeValue{
		"status": &ddbtypes.AttributeValueMemberS{Value: "FAILED"}, "n": &ddbtypes.AttributeValueMemberN{Value: "1"},
		"b": &ddbtypes.AttributeValueMemberB{Value: []byte("x")}}))
	f.Add("")
	f.Add("e30")
	f.Fuzz(func(t *testing.T, token string) {
		key, err := decodePageToken(token)
		if err != nil || key == nil {
			return
		}
		again, err := decodePageToken(encodePageToken(key))
		if err != nil || len(again) != len(key) {
			t.Fatalf("%q: decoded %v, re-encoded it decodes to %v, %v", token, key, again, err)
		}
		for name, v := range key {
			if fmt.Sprint(plainValue(again[name])) != fmt.Sprint(plainValue(v)) {
				t.Fatalf("%q: attribute %q changed", token, name)
			}
		}
	})
}

func BenchmarkToStatus(b *testing.B) {
	store := NewStatusStore(nil, StatusSchema{Table: "t"})
	item := map[string]ddbtypes.AttributeValue{
		"requestId": &ddbtypes.AttributeValueMemberS{Value: "0f8fad5b-d9cb-469f-a165-70867728950e"},
		"status":    &ddbtypes.AttributeValueMemberS{Value: "FAILED"},
		"error":     &ddbtypes.AttributeValueMemberS{Value: "schema violation at line 3"},
		"attempts":  &ddbtypes.AttributeValueMemberN{Value: "3"},
		"updatedAt": &ddbtypes.AttributeValueMemberS{Value: "2026-03-01T12:30:00.123Z"},
	}
	for b.Loop() {
		store.toStatus(item)
	}
}
