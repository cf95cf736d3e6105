package devstack

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/aws/smithy-go"

	"github.com/stowage-cli/stowage/internal/testenv"
)

// The SQS contract: the devstack's queue service must answer the current SDK's sqs client
// as fauxqs 1.9.2 (a separately written SQS emulator) does. Each case runs against both and
// records what every call returned; the two records are compared call by call. Where they
// differ, fauxqs is the reference, except where a case says AWS documents otherwise.
//
// Compared: bodies, MD5s checked by the SDK, message and system attributes, per-entry
// batch results, queue attributes, and for errors the SDK's error type, the HTTP status
// and the error code. fauxqs puts "AWS.SimpleQueueService." before every query error
// code, where AWS does so only for some (NonExistentQueue, the batch errors), so codes are
// compared without that prefix. Not compared (fauxqs differs from AWS): several messages of
// one FIFO group in one receive (fauxqs gives one), PurgeQueue's 60-second rule.

type sqsBackend struct {
	name   string
	client *sqs.Client
}

func sqsClient(url string) *sqs.Client {
	return sqs.New(sqs.Options{
		Region:           Region,
		BaseEndpoint:     aws.String(url),
		Credentials:      credentials.NewStaticCredentialsProvider(AccessKey, SecretKey, ""),
		RetryMaxAttempts: 1,
	})
}

func devstackSQS(t *testing.T) sqsBackend {
	st := startStack(t, Options{Requests: -1})
	return sqsBackend{"devstack", sqsClient(st.SQSURL)}
}

func fauxqsSQS(t *testing.T) sqsBackend {
	ep := testenv.SQS(t)
	c := testenv.NewSQSClient(t, ep)
	return sqsBackend{"fauxqs", sqs.New(c.Options(), func(o *sqs.Options) { o.RetryMaxAttempts = 1 })}
}

// sqsRecorder keeps what each call of a case answered.
type sqsRecorder struct {
	t     *testing.T
	b     sqsBackend
	lines []string
}

func (r *sqsRecorder) add(format string, args ...any) {
	r.lines = append(r.lines, fmt.Sprintf(format, args...))
}

// errText is an error as the contract compares it.
func errText(err error) string {
	if err == nil {
		return "ok"
	}
	var ae smithy.APIError
	if !errors.As(err, &ae) {
		return "transport error: " + err.Error()
	}
	status := 0
	var re *awshttp.ResponseError
	if errors.As(err, &re) {
		status = re.HTTPStatusCode()
	}
	typ := fmt.Sprintf("%T", ae)
	if typ == "*smithy.GenericAPIError" {
		return fmt.Sprintf("error %d %s", status, strings.TrimPrefix(ae.ErrorCode(), "AWS.SimpleQueueService."))
	}
	return fmt.Sprintf("error %d %s", status, typ)
}

func (r *sqsRecorder) queue(name string, attrs map[string]string) string {
	r.t.Helper()
	full := testenv.UniqueName(r.t, "contract-"+name)
	if attrs["FifoQueue"] == "true" {
		full += ".fifo"
	}
	out, err := r.b.client.CreateQueue(context.Background(), &sqs.CreateQueueInput{QueueName: aws.String(full), Attributes: attrs})
	if err != nil {
		r.t.Fatalf("%s: create queue %s: %v", r.b.name, full, err)
	}
	return aws.ToString(out.QueueUrl)
}

func (r *sqsRecorder) send(q, body string, in func(*sqs.SendMessageInput)) *sqs.SendMessageOutput {
	req := &sqs.SendMessageInput{QueueUrl: aws.String(q), MessageBody: aws.String(body)}
	if in != nil {
		in(req)
	}
	out, err := r.b.client.SendMessage(context.Background(), req)
	if err != nil {
		r.add("send %.20q: %s", body, errText(err))
		return nil
	}
	r.add("send %.20q: ok md5=%s attrs=%s seq=%v", body, aws.ToString(out.MD5OfMessageBody),
		aws.ToString(out.MD5OfMessageAttributes), out.SequenceNumber != nil)
	return out
}

func (r *sqsRecorder) receive(q string, in func(*sqs.ReceiveMessageInput)) []sqstypes.Message {
	req := &sqs.ReceiveMessageInput{QueueUrl: aws.String(q), MaxNumberOfMessages: 10,
		MessageSystemAttributeNames: []sqstypes.MessageSystemAttributeName{"ApproximateReceiveCount", "MessageGroupId", "MessageDeduplicationId"},
		MessageAttributeNames:       []string{"All"}}
	if in != nil {
		in(req)
	}
	out, err := r.b.client.ReceiveMessage(context.Background(), req)
	if err != nil {
		r.add("receive: %s", errText(err))
		return nil
	}
	var got []string
	for _, m := range out.Messages {
		var attrs []string
		for k, v := range m.Attributes {
			attrs = append(attrs, k+"="+v)
		}
		for k, v := range m.MessageAttributes {
			attrs = append(attrs, fmt.Sprintf("%s:%s=%s%x", k, aws.ToString(v.DataType), aws.ToString(v.StringValue), v.BinaryValue))
		}
		sort.Strings(attrs)
		got = append(got, fmt.Sprintf("%.30q md5=%s attrmd5=%s %v", aws.ToString(m.Body), aws.ToString(m.MD5OfBody),
			aws.ToString(m.MD5OfMessageAttributes), attrs))
	}
	r.add("receive: %d %v", len(out.Messages), got)
	return out.Messages
}

func (r *sqsRecorder) attrs(q string, names ...sqstypes.QueueAttributeName) {
	out, err := r.b.client.GetQueueAttributes(context.Background(), &sqs.GetQueueAttributesInput{QueueUrl: aws.String(q), AttributeNames: names})
	if err != nil {
		r.add("attributes: %s", errText(err))
		return
	}
	var kv []string
	for k, v := range out.Attributes {
		if k == "QueueArn" {
			v = v[strings.LastIndex(v, ":")+1:] // the name differs: unique per backend
			v = strings.TrimSuffix(v[:strings.LastIndex(v, "-")], "-")
		}
		kv = append(kv, k+"="+v)
	}
	sort.Strings(kv)
	r.add("attributes: %v", kv)
}

func (r *sqsRecorder) batch(q string, entries []sqstypes.SendMessageBatchRequestEntry) {
	out, err := r.b.client.SendMessageBatch(context.Background(), &sqs.SendMessageBatchInput{QueueUrl: aws.String(q), Entries: entries})
	if err != nil {
		r.add("batch: %s", errText(err))
		return
	}
	var ok, failed []string
	for _, s := range out.Successful {
		ok = append(ok, aws.ToString(s.Id))
	}
	for _, f := range out.Failed {
		failed = append(failed, fmt.Sprintf("%s:%s:sender=%v", aws.ToString(f.Id), strings.TrimPrefix(aws.ToString(f.Code), "AWS.SimpleQueueService."), f.SenderFault))
	}
	sort.Strings(ok)
	sort.Strings(failed)
	r.add("batch: ok %v failed %v", ok, failed)
}

func strAttr(v string) sqstypes.MessageAttributeValue {
	return sqstypes.MessageAttributeValue{DataType: aws.String("String"), StringValue: aws.String(v)}
}

// sqsContractCases are the cases; each gets fresh queues.
var sqsContractCases = []struct {
	name string
	run  func(r *sqsRecorder)
}{
	{"queues", func(r *sqsRecorder) {
		q := r.queue("plain", map[string]string{"VisibilityTimeout": "45"})
		name := q[strings.LastIndex(q, "/")+1:]
		_, err := r.b.client.CreateQueue(context.Background(), &sqs.CreateQueueInput{QueueName: aws.String(name), Attributes: map[string]string{"VisibilityTimeout": "45"}})
		r.add("create again, same attributes: %s", errText(err))
		_, err = r.b.client.CreateQueue(context.Background(), &sqs.CreateQueueInput{QueueName: aws.String(name), Attributes: map[string]string{"VisibilityTimeout": "46"}})
		r.add("create again, other attributes: %s", errText(err))
		out, err := r.b.client.GetQueueUrl(context.Background(), &sqs.GetQueueUrlInput{QueueName: aws.String(name)})
		r.add("get url: %s %v", errText(err), err == nil && strings.HasSuffix(aws.ToString(out.QueueUrl), "/000000000000/"+name))
		_, err = r.b.client.GetQueueUrl(context.Background(), &sqs.GetQueueUrlInput{QueueName: aws.String("no-such-queue-" + name)})
		r.add("get url of a missing queue: %s", errText(err))
		var ae smithy.APIError
		if errors.As(err, &ae) {
			r.add("missing queue code: %s", ae.ErrorCode())
		}
		r.attrs(q, "QueueArn", "VisibilityTimeout", "DelaySeconds", "MaximumMessageSize", "ReceiveMessageWaitTimeSeconds", "ApproximateNumberOfMessages")
		missing := q[:strings.LastIndex(q, "/")+1] + "no-such-queue-" + name
		r.send(missing, "hello", nil)
		r.receive(missing, nil)
		r.attrs(missing, "All")
	}},
	{"send receive delete", func(r *sqsRecorder) {
		q := r.queue("msgs", nil)
		r.send(q, `{"Records":[{"eventSource":"aws:s3"}]}`, func(in *sqs.SendMessageInput) {
			in.MessageAttributes = map[string]sqstypes.MessageAttributeValue{
				"stowage-redrive-id": strAttr("r-1"),
				"attempt":            {DataType: aws.String("Number"), StringValue: aws.String("2")},
				"blob":               {DataType: aws.String("Binary"), BinaryValue: []byte{0, 1, 2, 250}},
			}
		})
		r.send(q, "café ✓ second", nil)
		msgs := r.receive(q, func(in *sqs.ReceiveMessageInput) { in.VisibilityTimeout = 30 })
		r.receive(q, nil) // both in flight: none
		r.attrs(q, "ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible")
		for _, m := range msgs {
			_, err := r.b.client.DeleteMessage(context.Background(), &sqs.DeleteMessageInput{QueueUrl: aws.String(q), ReceiptHandle: m.ReceiptHandle})
			r.add("delete: %s", errText(err))
		}
		r.attrs(q, "ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible")
		if len(msgs) > 0 {
			_, err := r.b.client.DeleteMessage(context.Background(), &sqs.DeleteMessageInput{QueueUrl: aws.String(q), ReceiptHandle: msgs[0].ReceiptHandle})
			r.add("delete again: %s", errText(err))
			_, err = r.b.client.ChangeMessageVisibility(context.Background(), &sqs.ChangeMessageVisibilityInput{QueueUrl: aws.String(q), ReceiptHandle: msgs[0].ReceiptHandle, VisibilityTimeout: 0})
			r.add("change visibility of a deleted message: %s", errText(err))
		}
		r.receive(q, func(in *sqs.ReceiveMessageInput) { in.MaxNumberOfMessages = 11 })
		r.receive(q, func(in *sqs.ReceiveMessageInput) { in.WaitTimeSeconds = 21 })
	}},
	{"visibility and receive count", func(r *sqsRecorder) {
		q := r.queue("vis", nil)
		r.send(q, "again and again", nil)
		msgs := r.receive(q, nil)
		if len(msgs) == 1 {
			_, err := r.b.client.ChangeMessageVisibility(context.Background(), &sqs.ChangeMessageVisibilityInput{QueueUrl: aws.String(q), ReceiptHandle: msgs[0].ReceiptHandle, VisibilityTimeout: 0})
			r.add("change visibility to 0: %s", errText(err))
		}
		r.receive(q, nil) // ApproximateReceiveCount=2
	}},
	{"long poll", func(r *sqsRecorder) {
		q := r.queue("poll", nil)
		go func() {
			time.Sleep(150 * time.Millisecond)
			r.b.client.SendMessage(context.Background(), &sqs.SendMessageInput{QueueUrl: aws.String(q), MessageBody: aws.String("late")})
		}()
		r.receive(q, func(in *sqs.ReceiveMessageInput) { in.WaitTimeSeconds = 5 })
	}},
	{"batch", func(r *sqsRecorder) {
		q := r.queue("batch", map[string]string{"MaximumMessageSize": "1024"})
		r.batch(q, []sqstypes.SendMessageBatchRequestEntry{
			{Id: aws.String("a"), MessageBody: aws.String("one")},
			{Id: aws.String("b"), MessageBody: aws.String("bad \x00 byte")},
			{Id: aws.String("c"), MessageBody: aws.String(strings.Repeat("x", 1025))},
			{Id: aws.String("d"), MessageBody: aws.String("four"), MessageAttributes: map[string]sqstypes.MessageAttributeValue{"k": strAttr("v")}},
		})
		r.receive(q, nil)
		var eleven []sqstypes.SendMessageBatchRequestEntry
		for i := range 11 {
			eleven = append(eleven, sqstypes.SendMessageBatchRequestEntry{Id: aws.String(fmt.Sprint("e", i)), MessageBody: aws.String("m")})
		}
		r.batch(q, eleven)
		r.batch(q, []sqstypes.SendMessageBatchRequestEntry{{Id: aws.String("x"), MessageBody: aws.String("1")}, {Id: aws.String("x"), MessageBody: aws.String("2")}})
		r.batch(q, []sqstypes.SendMessageBatchRequestEntry{{Id: aws.String("not ok!"), MessageBody: aws.String("1")}})
		r.send(q, strings.Repeat("y", 1025), nil)
	}},
	{"fifo", func(r *sqsRecorder) {
		q := r.queue("fifo", map[string]string{"FifoQueue": "true"})
		r.send(q, "no group", nil)
		r.send(q, "no dedup id", func(in *sqs.SendMessageInput) { in.MessageGroupId = aws.String("g") })
		first := r.send(q, "a1", func(in *sqs.SendMessageInput) {
			in.MessageGroupId, in.MessageDeduplicationId = aws.String("A"), aws.String("redrive-1/req-1")
		})
		again := r.send(q, "a1 resent", func(in *sqs.SendMessageInput) {
			in.MessageGroupId, in.MessageDeduplicationId = aws.String("A"), aws.String("redrive-1/req-1")
		})
		r.add("duplicate keeps the message id: %v", first != nil && again != nil && aws.ToString(first.MessageId) == aws.ToString(again.MessageId))
		r.send(q, "a2", func(in *sqs.SendMessageInput) {
			in.MessageGroupId, in.MessageDeduplicationId = aws.String("A"), aws.String("redrive-1/req-2")
		})
		r.send(q, "delayed", func(in *sqs.SendMessageInput) {
			in.MessageGroupId, in.MessageDeduplicationId, in.DelaySeconds = aws.String("B"), aws.String("d"), 5
		})
		msgs := r.receive(q, func(in *sqs.ReceiveMessageInput) { in.MaxNumberOfMessages = 1 })
		r.receive(q, nil) // group A is held while a1 is in flight
		for _, m := range msgs {
			r.b.client.DeleteMessage(context.Background(), &sqs.DeleteMessageInput{QueueUrl: aws.String(q), ReceiptHandle: m.ReceiptHandle})
		}
		r.receive(q, nil) // a2
		r.attrs(q, "FifoQueue", "ContentBasedDeduplication", "DeduplicationScope", "FifoThroughputLimit")
	}},
	{"content-based deduplication", func(r *sqsRecorder) {
		q := r.queue("cbd", map[string]string{"FifoQueue": "true", "ContentBasedDeduplication": "true"})
		a := r.send(q, "same body", func(in *sqs.SendMessageInput) { in.MessageGroupId = aws.String("g") })
		b := r.send(q, "same body", func(in *sqs.SendMessageInput) { in.MessageGroupId = aws.String("g") })
		r.add("same message id: %v", a != nil && b != nil && aws.ToString(a.MessageId) == aws.ToString(b.MessageId))
		r.receive(q, nil)
	}},
	{"purge", func(r *sqsRecorder) {
		q := r.queue("purge", nil)
		r.send(q, "one", nil)
		r.send(q, "two", nil)
		_, err := r.b.client.PurgeQueue(context.Background(), &sqs.PurgeQueueInput{QueueUrl: aws.String(q)})
		r.add("purge: %s", errText(err))
		r.attrs(q, "ApproximateNumberOfMessages")
		r.receive(q, nil)
	}},
}

func TestSQSContract(t *testing.T) {
	t.Parallel()
	backends := []func(*testing.T) sqsBackend{devstackSQS, fauxqsSQS}
	records := make([][][]string, len(backends))
	for i, mk := range backends {
		b := mk(t)
		for _, c := range sqsContractCases {
			r := &sqsRecorder{t: t, b: b}
			c.run(r)
			records[i] = append(records[i], r.lines)
		}
	}
	for ci, c := range sqsContractCases {
		dev, ref := records[0][ci], records[1][ci]
		if !reflect.DeepEqual(dev, ref) {
			t.Errorf("case %q: the devstack answered differently from fauxqs:\n%s", c.name, diffLines(dev, ref))
		}
		// Both must also say what AWS documents.
		for _, want := range sqsContractTruths[c.name] {
			for bi, rec := range [][]string{dev, ref} {
				if !strings.Contains(strings.Join(rec, "\n"), want) {
					t.Errorf("case %q: %s never answered %q:\n%s", c.name, []string{"devstack", "fauxqs"}[bi], want, strings.Join(rec, "\n"))
				}
			}
		}
	}
}

// sqsContractTruths are lines (or parts) each backend's record must hold.
var sqsContractTruths = map[string][]string{
	"queues": {
		"create again, same attributes: ok",
		"create again, other attributes: error 400 *types.QueueNameExists",
		"get url: ok true",
		"get url of a missing queue: error 400 *types.QueueDoesNotExist",
		"missing queue code: AWS.SimpleQueueService.NonExistentQueue",
		"attributes: [ApproximateNumberOfMessages=0 DelaySeconds=0 MaximumMessageSize=1048576 QueueArn=contract-plain ReceiveMessageWaitTimeSeconds=0 VisibilityTimeout=45]",
		`send "hello": error 400 *types.QueueDoesNotExist`,
	},
	"send receive delete": {
		"receive: 2 [",
		"ApproximateReceiveCount=1 attempt:Number=2 blob:Binary=000102fa stowage-redrive-id:String=r-1]",
		"receive: 0 []",
		"attributes: [ApproximateNumberOfMessages=0 ApproximateNumberOfMessagesNotVisible=2]",
		"delete again: ok",
		"change visibility of a deleted message: error 400 *types.MessageNotInflight",
		"receive: error 400 InvalidParameterValue",
	},
	"visibility and receive count": {"ApproximateReceiveCount=2"},
	"long poll":                    {`receive: 1 ["late"`},
	"batch": {
		"batch: ok [a d] failed [b:InvalidMessageContents:sender=true c:InvalidParameterValue:sender=true]",
		"batch: error 400 *types.TooManyEntriesInBatchRequest",
		"batch: error 400 *types.BatchEntryIdsNotDistinct",
		"batch: error 400 *types.InvalidBatchEntryId",
		`send "yyyyyyyyyyyyyyyyyyyy": error 400 InvalidParameterValue`,
	},
	"fifo": {
		`send "no group": error 400 MissingParameter`,
		`send "no dedup id": error 400 InvalidParameterValue`,
		"duplicate keeps the message id: true",
		`send "delayed": error 400 InvalidParameterValue`,
		`receive: 1 ["a1"`, `receive: 1 ["a2"`,
		"attributes: [ContentBasedDeduplication=false DeduplicationScope=queue FifoQueue=true FifoThroughputLimit=perQueue]",
	},
	"content-based deduplication": {"same message id: true", "receive: 1 ["},
	"purge":                       {"purge: ok", "attributes: [ApproximateNumberOfMessages=0]"},
}

func diffLines(dev, ref []string) string {
	var b strings.Builder
	for i := range max(len(dev), len(ref)) {
		var d, r string
		if i < len(dev) {
			d = dev[i]
		}
		if i < len(ref) {
			r = ref[i]
		}
		mark := "  "
		if d != r {
			mark = "≠ "
		}
		fmt.Fprintf(&b, "%sdevstack: %s\n  fauxqs:   %s\n", mark, d, r)
	}
	return b.String()
}
