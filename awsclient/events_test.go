package awsclient

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/stowage-cli/stowage/internal/config"
	"github.com/stowage-cli/stowage/internal/testenv"
)

// fakeTargets answers SQS (JSON 1.0), Lambda Invoke and EventBridge PutEvents (JSON 1.1)
// the way the services document their answers; answer decides per call.
type fakeTargets struct {
	mu    sync.Mutex
	calls []fakeCall
	// answer returns the status and body for a call; nil answers success.
	answer func(c fakeCall) (int, string)
}

type fakeCall struct {
	Target string // X-Amz-Target, or "Invoke"
	Path   string
	Body   map[string]any
	Header http.Header
}

func (f *fakeTargets) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	c := fakeCall{Target: r.Header.Get("X-Amz-Target"), Path: r.URL.Path, Header: r.Header.Clone()}
	if strings.Contains(r.URL.Path, "/invocations") {
		c.Target = "Invoke"
		c.Body = map[string]any{"payload": string(b)}
	} else {
		_ = json.Unmarshal(b, &c.Body)
	}
	f.mu.Lock()
	f.calls = append(f.calls, c)
	answer := f.answer
	f.mu.Unlock()
	if answer != nil {
		if status, body := answer(c); status != 0 {
			w.Header().Set("Content-Type", "application/x-amz-json-1.0")
			if c.Target == "Invoke" {
				w.Header().Set("Content-Type", "application/json")
				var e struct{ Type string }
				_ = json.Unmarshal([]byte(body), &e)
				w.Header().Set("X-Amzn-ErrorType", e.Type)
			}
			w.WriteHeader(status)
			_, _ = io.WriteString(w, body)
			return
		}
	}
	switch {
	case c.Target == "Invoke":
		w.Header().Set("X-Amzn-RequestId", "inv-1")
		w.WriteHeader(202)
	case strings.HasSuffix(c.Target, "SendMessageBatch"):
		var ok []map[string]any
		for _, e := range c.Body["Entries"].([]any) {
			id := e.(map[string]any)["Id"]
			ok = append(ok, map[string]any{"Id": id, "MessageId": "m-" + id.(string)})
		}
		writeJSON(w, map[string]any{"Successful": ok, "Failed": []any{}})
	case strings.HasSuffix(c.Target, "PutEvents"):
		var out []map[string]any
		for i := range c.Body["Entries"].([]any) {
			out = append(out, map[string]any{"EventId": "ev-" + string(rune('a'+i))})
		}
		writeJSON(w, map[string]any{"FailedEntryCount": 0, "Entries": out})
	default:
		w.WriteHeader(400)
	}
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/x-amz-json-1.0")
	_ = json.NewEncoder(w).Encode(v)
}

func (f *fakeTargets) callsOf(target string) []fakeCall {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []fakeCall
	for _, c := range f.calls {
		if strings.HasSuffix(c.Target, target) {
			out = append(out, c)
		}
	}
	return out
}

func newFakeSender(t *testing.T, readOnly bool) (*EventSender, *fakeTargets) {
	t.Helper()
	f := &fakeTargets{}
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	cfg := aws.Config{Region: "eu-west-1", Credentials: credentials.NewStaticCredentialsProvider("AKID", "SECRET", ""),
		HTTPClient: &http.Client{Transport: testenv.LoopbackOnlyTransport(t)}}
	ep := config.Endpoints{SQS: srv.URL, Lambda: srv.URL, EventBridge: srv.URL}
	return NewEventSender(cfg, ep, readOnly, "ops", false), f
}

const testQueue = "https://sqs.eu-west-1.amazonaws.com/111122223333/ingest"

func entries(n int) []EventEntry {
	var out []EventEntry
	for i := range n {
		out = append(out, EventEntry{ID: string(rune('a' + i)), Body: []byte(`{"Records":[]}`),
			Attributes: map[string]string{"X-Stowage-Redrive-Id": "run-1"}, Source: "aws.s3", DetailType: "Object Created"})
	}
	return out
}

func TestSendSQSBatchesOfTenAndPartialFailures(t *testing.T) {
	s, f := newFakeSender(t, false)
	f.answer = func(c fakeCall) (int, string) {
		var ok, failed []map[string]any
		for _, e := range c.Body["Entries"].([]any) {
			id := e.(map[string]any)["Id"].(string)
			switch id {
			case "b":
				failed = append(failed, map[string]any{"Id": id, "Code": "InternalError", "Message": "try again", "SenderFault": false})
			case "c":
				failed = append(failed, map[string]any{"Id": id, "Code": "InvalidParameterValue", "Message": "bad", "SenderFault": true})
			default:
				ok = append(ok, map[string]any{"Id": id, "MessageId": "m-" + id})
			}
		}
		b, _ := json.Marshal(map[string]any{"Successful": ok, "Failed": failed})
		return 200, string(b)
	}
	res, err := s.SendSQS(context.Background(), testQueue, entries(13))
	if err != nil {
		t.Fatal(err)
	}
	if n := len(f.callsOf("SendMessageBatch")); n != 2 {
		t.Fatalf("%d calls for 13 entries, want 2 (10 per call)", n)
	}
	if res[0].MessageID != "m-a" || res[0].Err != nil || res[12].MessageID != "m-m" {
		t.Errorf("results: %+v", res)
	}
	if k := KindOf(res[1].Err); k != KindServer || !k.Retryable() || !errors.Is(res[1].Err, ErrNotSent) {
		t.Errorf("b: %v (kind %v), want a retryable server error, not sent", res[1].Err, k)
	}
	if k := KindOf(res[2].Err); k != KindInvalid || k.Retryable() {
		t.Errorf("c: %v (kind %v), want invalid", res[2].Err, k)
	}
	attrs := f.callsOf("SendMessageBatch")[0].Body["Entries"].([]any)[0].(map[string]any)["MessageAttributes"].(map[string]any)
	if v := attrs["X-Stowage-Redrive-Id"].(map[string]any); v["StringValue"] != "run-1" || v["DataType"] != "String" {
		t.Errorf("message attributes: %v", attrs)
	}
}

func TestSendSQSFIFOIDs(t *testing.T) {
	s, f := newFakeSender(t, false)
	es := entries(2)
	es[0].GroupID, es[0].DedupID = "g", "d0"
	if _, err := s.SendSQS(context.Background(), testQueue+".fifo", es); err != nil {
		t.Fatal(err)
	}
	e := f.callsOf("SendMessageBatch")[0].Body["Entries"].([]any)[0].(map[string]any)
	if e["MessageGroupId"] != "g" || e["MessageDeduplicationId"] != "d0" {
		t.Errorf("entry: %v", e)
	}
}

func TestEventSendErrorsAreClassified(t *testing.T) {
	cases := []struct {
		name    string
		status  int
		body    string
		kind    Kind
		remedy  string
		notSent bool
	}{
		{"queue does not exist", 400, `{"__type":"com.amazonaws.sqs#QueueDoesNotExist","message":"The specified queue does not exist."}`,
			KindNotFound, "check events.sqs_queue_url", true},
		{"access denied", 400, `{"__type":"com.amazon.coral.service#AccessDeniedException","message":"not authorized"}`,
			KindAccessDenied, "the credentials need sqs:SendMessage on " + testQueue, true},
		{"throttled", 400, `{"__type":"com.amazonaws.sqs#RequestThrottled","message":"slow down"}`,
			KindThrottled, "lower the rate", true},
		// An encrypted queue whose key the caller may not use: KMS actions, not sqs:SendMessage.
		{"kms denied", 400, `{"__type":"com.amazonaws.sqs#KmsAccessDenied","message":"User is not authorized to perform kms:GenerateDataKey"}`,
			KindAccessDenied, "kms:GenerateDataKey and kms:Decrypt on the queue's KMS key", true},
		{"kms disabled", 400, `{"__type":"com.amazonaws.sqs#KmsDisabled","message":"The key is disabled."}`,
			KindUnknown, "must exist and be enabled", true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s, f := newFakeSender(t, false)
			f.answer = func(fakeCall) (int, string) { return c.status, c.body }
			res, err := s.SendSQS(context.Background(), testQueue, entries(3))
			var e *Error
			if !errors.As(err, &e) || (c.kind != KindUnknown && e.Kind != c.kind) || !strings.Contains(e.Remedy, c.remedy) {
				t.Fatalf("err = %v, want kind %v with remedy %q", err, c.kind, c.remedy)
			}
			if errors.Is(err, ErrDeliveryUnknown) {
				t.Errorf("an answer from SQS is not an unknown delivery: %v", err)
			}
			for _, r := range res {
				if r.Err == nil {
					t.Errorf("entry %s has no error", r.ID)
				}
			}
		})
	}
}

func TestEventSendTooLargeIsRefusedUnsent(t *testing.T) {
	s, f := newFakeSender(t, false)
	es := entries(2)
	es[1].Body = []byte(strings.Repeat("x", MaxEventMessage+1))
	res, err := s.SendSQS(context.Background(), testQueue, es)
	if err != nil {
		t.Fatal(err)
	}
	if res[0].Err != nil || KindOf(res[1].Err) != KindTooLarge || !errors.Is(res[1].Err, ErrNotSent) {
		t.Fatalf("results: %+v", res)
	}
	// The guard is stowage's own: SQS and Lambda's asynchronous invoke take up to 1 MiB.
	if msg := res[1].Err.Error(); !strings.Contains(msg, "stowage refuses events over 262144 bytes") {
		t.Errorf("too large: %s", msg)
	}
	if got := len(f.callsOf("SendMessageBatch")[0].Body["Entries"].([]any)); got != 1 {
		t.Errorf("%d entries sent, want only the small one", got)
	}
	if _, err := s.Invoke(context.Background(), "p", "", es[1].Body); KindOf(err) != KindTooLarge {
		t.Errorf("Invoke: %v", err)
	}
	if len(f.callsOf("Invoke")) != 0 {
		t.Error("an oversized payload was sent")
	}
}

func TestEventSendReadOnly(t *testing.T) {
	s, f := newFakeSender(t, true)
	ctx := context.Background()
	_, e1 := s.SendSQS(ctx, testQueue, entries(1))
	_, e2 := s.Invoke(ctx, "p", "", []byte("{}"))
	_, e3 := s.PutEvents(ctx, "default", entries(1))
	for _, err := range []error{e1, e2, e3} {
		if !errors.Is(err, ErrReadOnly) {
			t.Errorf("err = %v, want read-only", err)
		}
	}
	if len(f.calls) != 0 {
		t.Errorf("%d calls left a read-only sender", len(f.calls))
	}
}

func TestInvokeAsync(t *testing.T) {
	s, f := newFakeSender(t, false)
	r, err := s.Invoke(context.Background(), "product-ingest", "live", []byte(`{"Records":[]}`))
	if err != nil || r.Status != 202 || r.MessageID != "inv-1" {
		t.Fatalf("Invoke = %+v, %v", r, err)
	}
	c := f.callsOf("Invoke")[0]
	if c.Header.Get("X-Amz-Invocation-Type") != "Event" || !strings.Contains(c.Path, "/functions/product-ingest/invocations") {
		t.Errorf("call: %s %v", c.Path, c.Header)
	}
	// The error type travels in X-Amzn-ErrorType.
	f.answer = func(c fakeCall) (int, string) {
		return 429, `{"Type":"TooManyRequestsException","message":"Rate exceeded"}`
	}
	_, err = s.Invoke(context.Background(), "product-ingest", "", []byte(`{}`))
	if k := KindOf(err); k != KindThrottled || !k.Retryable() {
		t.Errorf("429: %v (kind %v), want throttled", err, k)
	}
	f.answer = func(fakeCall) (int, string) {
		return 404, `{"Type":"ResourceNotFoundException","message":"Function not found"}`
	}
	_, err = s.Invoke(context.Background(), "nope", "", []byte(`{}`))
	var e *Error
	if !errors.As(err, &e) || e.Kind != KindNotFound || !strings.Contains(e.Remedy, "events.lambda_function") {
		t.Errorf("404: %v", err)
	}
	f.answer = func(fakeCall) (int, string) {
		return 403, `{"Type":"AccessDeniedException","message":"no"}`
	}
	_, err = s.Invoke(context.Background(), "p", "", []byte(`{}`))
	if !errors.As(err, &e) || e.Kind != KindAccessDenied || !strings.Contains(e.Remedy, "lambda:InvokeFunction") {
		t.Errorf("403: %v", err)
	}
}

func TestPutEventsFailedEntries(t *testing.T) {
	s, f := newFakeSender(t, false)
	f.answer = func(c fakeCall) (int, string) {
		n := len(c.Body["Entries"].([]any))
		var out []map[string]any
		for i := range n {
			switch i {
			case 1:
				out = append(out, map[string]any{"ErrorCode": "ThrottlingException", "ErrorMessage": "slow"})
			case 2:
				out = append(out, map[string]any{"ErrorCode": "NotAuthorizedForSourceException", "ErrorMessage": "Not authorized for the source."})
			default:
				out = append(out, map[string]any{"EventId": "e" + string(rune('0'+i))})
			}
		}
		b, _ := json.Marshal(map[string]any{"FailedEntryCount": 2, "Entries": out})
		return 200, string(b)
	}
	es := entries(12)
	es[0].Time = time.Date(2026, 12, 7, 0, 0, 0, 0, time.UTC)
	es[0].Resources = []string{"arn:aws:s3:::b"}
	res, err := s.PutEvents(context.Background(), "default", es)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(f.callsOf("PutEvents")); n != 2 {
		t.Fatalf("%d calls, want 2", n)
	}
	// An aws. source is the configuration's fault: not access denied (which would say
	// "fix the credentials").
	if res[0].MessageID != "e0" || !KindOf(res[1].Err).Retryable() || KindOf(res[2].Err) != KindInvalid {
		t.Errorf("results: %+v", res[:3])
	}
	var e *Error
	if !errors.As(res[2].Err, &e) || !strings.Contains(e.Remedy, "events.event_source") {
		t.Errorf("aws. source refusal: %v", res[2].Err)
	}
	first := f.callsOf("PutEvents")[0].Body["Entries"].([]any)[0].(map[string]any)
	if first["Source"] != "aws.s3" || first["DetailType"] != "Object Created" || first["EventBusName"] != "default" {
		t.Errorf("entry: %v", first)
	}
}

func TestEventSendUnknownWithoutAnAnswer(t *testing.T) {
	// A server that takes the request and closes the connection: it may have been taken.
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.ReadAll(r.Body)
		hj, _ := w.(http.Hijacker)
		conn, _, _ := hj.Hijack()
		conn.Close()
	}))
	defer srv.Close()
	cfg := aws.Config{Region: "eu-west-1", Credentials: credentials.NewStaticCredentialsProvider("AKID", "SECRET", ""),
		HTTPClient: &http.Client{Transport: testenv.LoopbackOnlyTransport(t)}}
	s := NewEventSender(cfg, config.Endpoints{SQS: srv.URL}, false, "", false)
	_, err := s.SendSQS(context.Background(), testQueue, entries(1))
	if !errors.Is(err, ErrDeliveryUnknown) {
		t.Fatalf("err = %v, want delivery unknown", err)
	}
	// Nothing listening: certainly not sent.
	srv.Close()
	_, err = s.SendSQS(context.Background(), testQueue, entries(1))
	if !errors.Is(err, ErrNotSent) {
		t.Fatalf("err = %v, want not sent", err)
	}
}

func TestEventSendUnknownWhenTheAnswerIsUnreadable(t *testing.T) {
	// A 200 whose body is not the service's JSON: the call reached a server that answered
	// success, so the messages may have been taken; it is not "refused, nothing taken".
	for _, body := range []string{`{"Successful":[`, `not json`} {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			_, _ = io.ReadAll(r.Body)
			w.Header().Set("Content-Type", "application/x-amz-json-1.0")
			_, _ = io.WriteString(w, body)
		}))
		cfg := aws.Config{Region: "eu-west-1", Credentials: credentials.NewStaticCredentialsProvider("AKID", "SECRET", ""),
			HTTPClient: &http.Client{Transport: testenv.LoopbackOnlyTransport(t)}}
		s := NewEventSender(cfg, config.Endpoints{SQS: srv.URL}, false, "", false)
		_, err := s.SendSQS(context.Background(), testQueue, entries(1))
		srv.Close()
		if !errors.Is(err, ErrDeliveryUnknown) {
			t.Errorf("body %q: err = %v, want delivery unknown", body, err)
		}
	}
}
