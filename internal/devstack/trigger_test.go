package devstack

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	ebtypes "github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	lambdatypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/stowage-cli/stowage/internal/config"
)

func lambdaClient(u string) *lambda.Client {
	return lambda.New(lambda.Options{Region: Region, BaseEndpoint: aws.String(u), RetryMaxAttempts: 1,
		Credentials: credentials.NewStaticCredentialsProvider(AccessKey, SecretKey, "")})
}

func busClient(u string) *eventbridge.Client {
	return eventbridge.New(eventbridge.Options{Region: Region, BaseEndpoint: aws.String(u), RetryMaxAttempts: 1,
		Credentials: credentials.NewStaticCredentialsProvider(AccessKey, SecretKey, "")})
}

// putThroughGateway stores body under key with the in-place route, as a caller would.
func putThroughGateway(t *testing.T, st *Stack, key, body string) {
	t.Helper()
	u := st.GatewayURL + "/product/" + st.Bucket + "/" + url.PathEscape(key)
	req, _ := http.NewRequest("PUT", u, strings.NewReader(body))
	req.Header.Set("x-api-key", st.APIKey)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("gateway PUT %s: %d", key, resp.StatusCode)
	}
}

func settleEvents(t *testing.T, st *Stack) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := st.SettleEvents(ctx); err != nil {
		t.Fatalf("settle: %v", err)
	}
}

// A request stored through the gateway reaches the processor through the topology's
// queue, function or bus, once.
func TestTriggerTopologies(t *testing.T) {
	t.Parallel()
	const key = "orders/2025 06/a+b é=1.json"
	for _, trig := range []string{"", TriggerSQS, TriggerLambda, TriggerEventBridge} {
		t.Run("trigger="+trig, func(t *testing.T) {
			t.Parallel()
			st := startStack(t, Options{Requests: -1, Trigger: trig, LostRatio: -1, TransientRatio: -1})
			putThroughGateway(t, st, key, `{"sku":"A-1","qty":2}`)
			settleEvents(t, st)
			if s, ok := st.Status(key); !ok || s.State != StateProcessed || s.Attempts != 1 {
				t.Fatalf("status = %+v, %v; want PROCESSED after one delivery", s, ok)
			}
			ev := st.EventStats()
			q := ev.Queues[DemoQueue].ByKey[key]
			switch trig {
			case TriggerSQS:
				if q != (MessageStats{Sent: 1, Received: 1, Deleted: 1}) {
					t.Errorf("queue counts for the key = %+v; want sent, received and deleted once", q)
				}
			case TriggerLambda:
				if ev.InvokedKeys[key] != 1 || q.Sent != 0 {
					t.Errorf("invocations of the key = %d, queue %+v; want one invocation", ev.InvokedKeys[key], q)
				}
			case TriggerEventBridge:
				if ev.EventKeys[key] != 1 || ev.InvokedKeys[key] != 1 {
					t.Errorf("events %d, invocations %d; want one event delivered once", ev.EventKeys[key], ev.InvokedKeys[key])
				}
			default:
				if ev.InvokedKeys[key] != 0 || ev.EventKeys[key] != 0 || q.Sent != 0 {
					t.Errorf("direct notification went through an event target: %+v", ev)
				}
			}
		})
	}
}

// transientFailure is a seeded request that failed transiently (it succeeds when redriven).
func transientFailure(t *testing.T, st *Stack) string {
	t.Helper()
	for _, r := range st.Seeded() {
		if it, ok := st.table.get(r.Key); ok && it[attrStatus].str == StateFailed && it["errorKind"].str == "transient" {
			return r.Key
		}
	}
	t.Fatal("the seed has no transient failure left")
	return ""
}

// s3RecordJSON is an S3 event notification for key, written out by hand (not with the
// devstack's own builder), marked as stowage marks a redrive.
func s3RecordJSON(bucket, key string) string {
	return fmt.Sprintf(`{"Records":[{"eventVersion":"2.1","eventSource":"aws:s3","awsRegion":"us-east-1",`+
		`"eventTime":"2025-06-17T09:00:00.000Z","eventName":"ObjectCreated:Put","s3":{"s3SchemaVersion":"1.0",`+
		`"configurationId":"stowage-redrive","bucket":{"name":%s,"arn":%s},`+
		`"object":{"key":%s,"size":10,"eTag":"00","sequencer":"0A"}},`+
		`"stowage":{"originalRequestId":%s,"redriveId":"rd-1"}}]}`,
		jsonq(bucket), jsonq("arn:aws:s3:::"+bucket), jsonq(url.QueryEscape(key)), jsonq(key))
}

func jsonq(s string) string { return string(mustJSON(s)) }

// What stowage sends by event reaches the processor as the same object: the transient
// failure is PROCESSED, and nothing was written to the bucket.
func TestRedriveByEventWritesNothing(t *testing.T) {
	t.Parallel()
	for _, trig := range []string{TriggerSQS, TriggerLambda, TriggerEventBridge} {
		t.Run(trig, func(t *testing.T) {
			t.Parallel()
			st := startStack(t, Options{Requests: 200, Seed: 7, Trigger: trig})
			key := transientFailure(t, st)
			before, _ := st.Status(key)
			head, err := st.backend.HeadObject(st.Bucket, key)
			if err != nil {
				t.Fatal(err)
			}
			head.Contents.Close()
			writes := st.Writes()
			ctx := context.Background()
			switch trig {
			case TriggerSQS:
				out, err := sqsClient(st.SQSURL).SendMessageBatch(ctx, &sqs.SendMessageBatchInput{QueueUrl: aws.String(st.QueueURL(DemoQueue)),
					Entries: []sqstypes.SendMessageBatchRequestEntry{{Id: aws.String("0"), MessageBody: aws.String(s3RecordJSON(st.Bucket, key))}}})
				if err != nil || len(out.Failed) > 0 {
					t.Fatalf("send: %v %+v", err, out)
				}
			case TriggerLambda:
				out, err := lambdaClient(st.LambdaURL).Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String(DemoFunction),
					InvocationType: lambdatypes.InvocationTypeEvent, Payload: []byte(s3RecordJSON(st.Bucket, key))})
				if err != nil || out.StatusCode != 202 {
					t.Fatalf("invoke: %v %+v", err, out)
				}
			case TriggerEventBridge:
				detail, _ := json.Marshal(map[string]any{"version": "0", "bucket": map[string]string{"name": st.Bucket},
					"object": map[string]any{"key": key, "size": 10}, "reason": "PutObject"})
				out, err := busClient(st.EventBridgeURL).PutEvents(ctx, &eventbridge.PutEventsInput{Entries: []ebtypes.PutEventsRequestEntry{{
					Source: aws.String(DemoEventSource), DetailType: aws.String("Object Created"), Detail: aws.String(string(detail)),
					EventBusName: aws.String(DemoEventBus), Resources: []string{"arn:aws:s3:::" + st.Bucket}}}})
				if err != nil || out.FailedEntryCount != 0 {
					t.Fatalf("put events: %v %+v", err, out)
				}
			}
			settleEvents(t, st)
			after, _ := st.Status(key)
			if after.State != StateProcessed || after.Attempts != before.Attempts+1 {
				t.Fatalf("after the redrive: %+v (before %+v); want PROCESSED with one more attempt", after, before)
			}
			if w := st.Writes(); w != writes {
				t.Errorf("writes changed: %+v → %+v", writes, w)
			}
			head2, err := st.backend.HeadObject(st.Bucket, key)
			if err != nil {
				t.Fatal(err)
			}
			head2.Contents.Close()
			if head2.Metadata["Last-Modified"] != head.Metadata["Last-Modified"] {
				t.Errorf("LastModified moved: %s → %s", head.Metadata["Last-Modified"], head2.Metadata["Last-Modified"])
			}
		})
	}
}

// A FIFO queue drops a resent batch inside the deduplication window: the processor sees
// the request once.
func TestFIFORedriveIsNotProcessedTwice(t *testing.T) {
	t.Parallel()
	st := startStack(t, Options{Requests: 200, Seed: 7, Trigger: TriggerSQS})
	key := transientFailure(t, st)
	before, _ := st.Status(key)
	c := sqsClient(st.SQSURL)
	entry := sqstypes.SendMessageBatchRequestEntry{Id: aws.String("0"), MessageBody: aws.String(s3RecordJSON(st.Bucket, key)),
		MessageGroupId: aws.String(key), MessageDeduplicationId: aws.String("rd-1-0001")}
	for range 2 { // a retried batch
		out, err := c.SendMessageBatch(context.Background(), &sqs.SendMessageBatchInput{QueueUrl: aws.String(st.QueueURL(DemoFIFOQueue)),
			Entries: []sqstypes.SendMessageBatchRequestEntry{entry}})
		if err != nil || len(out.Successful) != 1 {
			t.Fatalf("send: %v %+v", err, out)
		}
	}
	settleEvents(t, st)
	q := st.EventStats().Queues[DemoFIFOQueue]
	if got := q.ByDedupID["rd-1-0001"]; got != (MessageStats{Sent: 1, Duplicates: 1, Received: 1, Deleted: 1}) {
		t.Errorf("counts of the deduplication ID = %+v", got)
	}
	if after, _ := st.Status(key); after.Attempts != before.Attempts+1 {
		t.Errorf("attempts %d → %d; want one delivery", before.Attempts, after.Attempts)
	}
}

func TestCheckTrigger(t *testing.T) {
	for _, ok := range []string{"", "s3", "sqs", "lambda", "eventbridge"} {
		if err := CheckTrigger(ok); err != nil {
			t.Errorf("%q: %v", ok, err)
		}
	}
	if err := CheckTrigger("kinesis"); err == nil || !strings.Contains(err.Error(), "s3, sqs, lambda or eventbridge") {
		t.Errorf("kinesis: %v", err)
	}
}

// The notification is S3's: event version 2.1, the key form-encoded (a space is +), the
// bucket's ARN, size, ETag and a sequencer; and it parses back to the same object.
func TestNotificationIsS3s(t *testing.T) {
	st := startStack(t, Options{Requests: -1})
	key := "a dir/b+c é.json"
	if err := st.storeRequest(key, []byte(`{"x":1}`), nil); err != nil {
		t.Fatal(err)
	}
	raw := st.notification(objectEvent{Bucket: st.Bucket, Key: key, At: testNow})
	var n map[string]any
	if err := json.Unmarshal(raw, &n); err != nil {
		t.Fatal(err)
	}
	rec := n["Records"].([]any)[0].(map[string]any)
	obj := rec["s3"].(map[string]any)["object"].(map[string]any)
	bucket := rec["s3"].(map[string]any)["bucket"].(map[string]any)
	for k, want := range map[string]any{"eventVersion": "2.1", "eventSource": "aws:s3", "eventName": "ObjectCreated:Put",
		"awsRegion": Region, "eventTime": "2025-06-17T09:30:00.000Z"} {
		if rec[k] != want {
			t.Errorf("%s = %v, want %v", k, rec[k], want)
		}
	}
	if obj["key"] != "a+dir/b%2Bc+%C3%A9.json" || obj["size"] != float64(7) || obj["eTag"] == "" || obj["sequencer"] == "" {
		t.Errorf("object = %v", obj)
	}
	if bucket["arn"] != "arn:aws:s3:::"+st.Bucket {
		t.Errorf("bucket = %v", bucket)
	}
	refs, err := parseObjectEvents(raw)
	if err != nil || len(refs) != 1 || refs[0].Key != key || refs[0].Bucket != st.Bucket || !refs[0].At.Equal(testNow) {
		t.Fatalf("parsed back: %+v, %v", refs, err)
	}
}

func TestParseObjectEvents(t *testing.T) {
	sqsWrapped, _ := json.Marshal(map[string]any{"Records": []any{map[string]any{"eventSource": "aws:sqs",
		"body": s3RecordJSON("b", "k 1")}}})
	for _, c := range []struct {
		name, in string
		keys     []string
		err      bool
	}{
		{"notification", s3RecordJSON("b", "x/y z+1"), []string{"x/y z+1"}, false},
		{"sqs event", string(sqsWrapped), []string{"k 1"}, false},
		{"eventbridge", `{"detail-type":"Object Created","source":"aws.s3","detail":{"bucket":{"name":"b"},"object":{"key":"a b+c"}}}`, []string{"a b+c"}, false},
		{"other bus event", `{"detail-type":"Object Deleted","detail":{}}`, nil, false},
		{"test event", `{"Service":"Amazon S3","Event":"s3:TestEvent"}`, nil, false},
		{"removal", `{"Records":[{"eventSource":"aws:s3","eventName":"ObjectRemoved:Delete","s3":{"bucket":{"name":"b"},"object":{"key":"k"}}}]}`, nil, false},
		{"bad encoding", `{"Records":[{"eventSource":"aws:s3","eventName":"ObjectCreated:Put","s3":{"bucket":{"name":"b"},"object":{"key":"%zz"}}}]}`, nil, true},
		{"not s3", `{"Records":[{"eventSource":"aws:dynamodb"}]}`, nil, true},
		{"no key", `{"Records":[{"eventSource":"aws:s3","eventName":"ObjectCreated:Put","s3":{"bucket":{"name":"b"}}}]}`, nil, true},
		{"garbage", `[1,2]`, nil, true},
		{"neither", `{"hello":"world"}`, nil, true},
	} {
		refs, err := parseObjectEvents([]byte(c.in))
		var keys []string
		for _, r := range refs {
			keys = append(keys, r.Key)
		}
		if (err != nil) != c.err || fmt.Sprint(keys) != fmt.Sprint(c.keys) {
			t.Errorf("%s: keys %q, err %v", c.name, keys, err)
		}
	}
}

// FuzzParseObjectEvents: any payload parses or fails without panicking, and a key
// encoded as S3 encodes it always comes back whole.
func FuzzParseObjectEvents(f *testing.F) {
	f.Add([]byte(s3RecordJSON("b", "a b/c")), "a b/c")
	f.Add([]byte(`{"detail-type":"Object Created","detail":{"bucket":{"name":"b"},"object":{"key":"k"}}}`), "%")
	f.Add([]byte(`{"Records":[{"eventSource":"aws:sqs","body":"{\"Records\":[]}"}]}`), "+")
	f.Fuzz(func(t *testing.T, payload []byte, key string) {
		parseObjectEvents(payload)
		objectKeysOf(payload)
		if key == "" {
			return
		}
		refs, err := parseObjectEvents([]byte(s3RecordJSON("b", key)))
		if err != nil || len(refs) != 1 || refs[0].Key != strings.ToValidUTF8(key, "\uFFFD") && refs[0].Key != key {
			t.Fatalf("key %q: %+v, %v", key, refs, err)
		}
	})
}

// The demo config of each topology validates and names the topology's own target, so a
// demo can redrive by event.
func TestConfigNamesTheTriggerTarget(t *testing.T) {
	t.Parallel()
	for _, trig := range []string{"", TriggerSQS, TriggerLambda, TriggerEventBridge} {
		st := startStack(t, Options{Requests: -1, Trigger: trig})
		path := filepath.Join(t.TempDir(), "demo.yaml")
		if err := st.WriteConfig(path); err != nil {
			t.Fatal(err)
		}
		f, err := config.Load(path)
		if err != nil {
			t.Fatal(err)
		}
		if errs := config.Errors(f.Validate()); len(errs) > 0 {
			t.Fatalf("trigger %q: %v", trig, errs)
		}
		env, err := f.Select("", config.Overrides{})
		if err != nil {
			t.Fatal(err)
		}
		ev, ep := env.Events, env.Endpoints
		if ep.SQS != st.SQSURL || ep.Lambda != st.LambdaURL || ep.EventBridge != st.EventBridgeURL {
			t.Errorf("trigger %q: endpoints %+v", trig, ep)
		}
		want := config.Events{LambdaFunction: DemoFunction}
		switch trig {
		case TriggerSQS:
			want = config.Events{SQSQueueURL: st.QueueURL(DemoQueue)}
		case TriggerEventBridge:
			want = config.Events{EventBus: DemoEventBus, EventSource: DemoEventSource}
		}
		if ev.SQSQueueURL != want.SQSQueueURL || ev.LambdaFunction != want.LambdaFunction || ev.EventBus != want.EventBus ||
			(want.EventSource != "" && ev.EventSource != want.EventSource) {
			t.Errorf("trigger %q: events %+v, want %+v", trig, ev, want)
		}
	}
}

// Close stops the queue's consumer even while it waits on a slow processor, and the
// processor still handles what it accepted.
func TestCloseStopsTheConsumer(t *testing.T) {
	t.Parallel()
	st, err := Start(context.Background(), Options{Requests: -1, Trigger: TriggerSQS, ProcessDelay: 50 * time.Millisecond,
		LostRatio: -1, TransientRatio: -1, Now: func() time.Time { return testNow }})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 5 {
		putThroughGateway(t, st, fmt.Sprint("slow-", i), `{"n":1}`)
	}
	deadline := time.Now().Add(10 * time.Second)
	for st.EventStats().Queues[DemoQueue].Received == 0 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	done := make(chan error, 1)
	go func() { done <- st.Close() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("Close hangs with the consumer running")
	}
	if s, ok := st.Status("slow-0"); !ok || s.State != StateProcessed {
		t.Errorf("an accepted event was dropped: %+v %v", s, ok)
	}
}
