package devstack

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/aws/smithy-go"
)

func eventAPIError(t *testing.T, err error) (code string, status int) {
	t.Helper()
	var ae smithy.APIError
	if !errors.As(err, &ae) {
		t.Fatalf("want an API error, got %v", err)
	}
	var re *awshttp.ResponseError
	if errors.As(err, &re) {
		status = re.HTTPStatusCode()
	}
	return ae.ErrorCode(), status
}

// The demo's queues refuse a message over 256 KiB with SQS's answer, per entry in a batch.
func TestDemoQueueRefusesOver256KiB(t *testing.T) {
	t.Parallel()
	st := startStack(t, Options{Requests: -1})
	c := sqsClient(st.SQSURL)
	big := strings.Repeat("x", 256<<10+1)
	_, err := c.SendMessage(context.Background(), &sqs.SendMessageInput{QueueUrl: aws.String(st.QueueURL(DemoQueue)), MessageBody: aws.String(big)})
	if code, status := eventAPIError(t, err); code != "InvalidParameterValue" || status != 400 ||
		!strings.Contains(err.Error(), "Message must be shorter than 262144 bytes") {
		t.Fatalf("over 256 KiB: %v", err)
	}
	out, err := c.SendMessageBatch(context.Background(), &sqs.SendMessageBatchInput{QueueUrl: aws.String(st.QueueURL(DemoQueue)),
		Entries: []sqstypes.SendMessageBatchRequestEntry{{Id: aws.String("big"), MessageBody: aws.String(big)}, {Id: aws.String("ok"), MessageBody: aws.String("{}")}}})
	if err != nil || len(out.Successful) != 1 || len(out.Failed) != 1 || aws.ToString(out.Failed[0].Code) != "InvalidParameterValue" || !out.Failed[0].SenderFault {
		t.Fatalf("batch: %v %+v", err, out)
	}
}

// The fault knobs: access denied (403, naming the action), throttling (the next N calls),
// per-entry failures (retryable), and a queue that does not exist.
func TestSQSFaults(t *testing.T) {
	t.Parallel()
	st := startStack(t, Options{Requests: -1})
	c := sqsClient(st.SQSURL)
	ctx := context.Background()
	q := aws.String(st.QueueURL(DemoQueue))

	st.SetEventFaults(EventFaults{Deny: []string{"sqs:SendMessage"}})
	_, err := c.SendMessageBatch(ctx, &sqs.SendMessageBatchInput{QueueUrl: q, Entries: []sqstypes.SendMessageBatchRequestEntry{{Id: aws.String("a"), MessageBody: aws.String("x")}}})
	if code, status := eventAPIError(t, err); code != "AccessDenied" || status != 403 || !strings.Contains(err.Error(), "not authorized to perform: sqs:sendmessage on resource: arn:aws:sqs:us-east-1:000000000000:"+DemoQueue) {
		t.Fatalf("denied send: %v", err)
	}
	if _, err := c.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: q, AttributeNames: []sqstypes.QueueAttributeName{"All"}}); err != nil {
		t.Fatalf("GetQueueAttributes is not denied: %v", err)
	}

	st.SetEventFaults(EventFaults{ThrottleSQS: 1})
	_, err = c.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: q, MessageBody: aws.String("x")})
	var throttled *sqstypes.RequestThrottled
	if !errors.As(err, &throttled) {
		t.Fatalf("throttled: %v", err)
	}
	if _, err := c.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: q, MessageBody: aws.String("x")}); err != nil {
		t.Fatalf("the second call is not throttled: %v", err)
	}

	st.SetEventFaults(EventFaults{FailSQSEntries: 3})
	var entries []sqstypes.SendMessageBatchRequestEntry
	for i := range 10 {
		entries = append(entries, sqstypes.SendMessageBatchRequestEntry{Id: aws.String(fmt.Sprint(i)), MessageBody: aws.String(s3RecordJSON(st.Bucket, fmt.Sprint("k", i)))})
	}
	out, err := c.SendMessageBatch(ctx, &sqs.SendMessageBatchInput{QueueUrl: q, Entries: entries})
	if err != nil || len(out.Successful) != 7 || len(out.Failed) != 3 {
		t.Fatalf("batch with 3 failing entries: %v %+v", err, out)
	}
	for _, f := range out.Failed {
		if aws.ToString(f.Code) != "InternalError" || f.SenderFault {
			t.Errorf("failed entry %+v; want a retryable InternalError", f)
		}
	}
	stats := st.EventStats().Queues[DemoQueue]
	if stats.ByKey["k9"].Sent != 0 || stats.ByKey["k0"].Sent != 1 {
		t.Errorf("a failed entry was kept or an accepted one lost: %+v", stats.ByKey)
	}

	st.SetEventFaults(EventFaults{})
	_, err = c.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: aws.String(st.QueueURL("no-such-queue")), MessageBody: aws.String("x")})
	var missing *sqstypes.QueueDoesNotExist
	if !errors.As(err, &missing) || missing.ErrorCode() != "AWS.SimpleQueueService.NonExistentQueue" {
		t.Fatalf("missing queue: %v", err)
	}
}

// Deduplication holds for 5 minutes from the first send, not longer.
func TestSQSDedupWindow(t *testing.T) {
	s := newSQSServer(Region, &eventFaults{})
	now := time.Date(2025, 6, 17, 9, 0, 0, 0, time.UTC)
	s.now = func() time.Time { return now }
	if _, err := s.createQueue("h", "q.fifo", nil); err != nil {
		t.Fatal(err)
	}
	body := "b"
	send := func() string {
		out, err := s.send("q.fifo", []sqsSendEntry{{Id: "0", MessageBody: &body, MessageGroupId: "g", MessageDeduplicationId: "d"}}, true)
		if err != nil || len(out.Successful) != 1 {
			t.Fatalf("send: %v %+v", err, out)
		}
		return out.Successful[0].MessageId
	}
	first := send()
	now = now.Add(sqsDedupWindow - time.Second)
	if send() != first {
		t.Error("a resend inside the window was not deduplicated")
	}
	now = now.Add(2 * time.Second)
	if send() == first {
		t.Error("a resend after the window was deduplicated")
	}
	if st := s.stats("q.fifo"); st.Sent != 2 || st.Duplicates != 1 {
		t.Errorf("stats %+v", st)
	}
}

// A long poll ends when the stack closes, not 20 s later.
func TestSQSLongPollEndsOnClose(t *testing.T) {
	s := newSQSServer(Region, &eventFaults{})
	s.createQueue("h", "q", nil)
	done := make(chan struct{})
	go func() {
		wait := 20
		s.receive(context.Background(), "q", sqsReceiveInput{WaitTimeSeconds: &wait})
		close(done)
	}()
	s.close()
	<-done
}

func TestMD5OfAttributesIsSQSs(t *testing.T) {
	// The digest of the documented algorithm, worked out apart (the SDK checks it on every
	// send and receive, and the contract test compares it with fauxqs's).
	v := "v"
	got := md5OfAttributes(map[string]sqsAttrValue{"k": {DataType: "String", StringValue: &v}})
	if got != "0a77b0642718c3d9dd47090567d11e0d" {
		t.Fatalf("digest %q", got)
	}
	if md5OfAttributes(nil) != "" {
		t.Error("no attributes must have no digest")
	}
}

func TestParseQueueURL(t *testing.T) {
	for in, want := range map[string]string{
		"http://127.0.0.1:4566/000000000000/q":                          "q",
		"https://sqs.us-east-1.amazonaws.com/000000000000/stowage.fifo": "stowage.fifo",
		"http://h/000000000000/q/":                                      "q",
		"http://h/123456789012/q":                                       "",
		"http://h/000000000000/a/b":                                     "",
		"000000000000/q":                                                "",
		"http://h/000000000000/bad name":                                "",
	} {
		if got, ok := parseQueueURL(in); got != want || ok != (want != "") {
			t.Errorf("%q: %q, %v; want %q", in, got, ok, want)
		}
	}
}

func FuzzParseQueueURL(f *testing.F) {
	f.Add("http://127.0.0.1:4566/000000000000/q")
	f.Add("https://sqs.eu-west-1.amazonaws.com/000000000000/x.fifo")
	f.Fuzz(func(t *testing.T, u string) {
		name, ok := parseQueueURL(u)
		if ok && (!queueNameRe().MatchString(name) || !strings.HasSuffix(strings.TrimSuffix(u, "/"), "/"+name)) {
			t.Fatalf("%q gave %q", u, name)
		}
	})
}

// A consumer draining a deep queue: deletes stay cheap (no scan of the whole queue).
func TestSQSDrainDeepQueue(t *testing.T) {
	s := newSQSServer(Region, &eventFaults{})
	s.createQueue("h", "q", nil)
	const n = 20000
	body := "{}"
	for i := 0; i < n; i += 10 {
		var entries []sqsSendEntry
		for j := range 10 {
			entries = append(entries, sqsSendEntry{Id: fmt.Sprint(j), MessageBody: &body})
		}
		if _, err := s.send("q", entries, true); err != nil {
			t.Fatal(err)
		}
	}
	ten, zero := 10, 0
	got := 0
	for got < n {
		msgs, err := s.receive(context.Background(), "q", sqsReceiveInput{MaxNumberOfMessages: &ten, WaitTimeSeconds: &zero})
		if err != nil || len(msgs) == 0 {
			t.Fatalf("after %d: %v, %d messages", got, err, len(msgs))
		}
		for _, m := range msgs {
			s.deleteMessage("q", m.ReceiptHandle)
		}
		got += len(msgs)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if q := s.queues["q"]; q.pending() != 0 || len(q.msgs) > 64 || q.stats.Deleted != n {
		t.Fatalf("pending %d, kept %d, deleted %d", q.pending(), len(q.msgs), q.stats.Deleted)
	}
}
