package awsclient

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	ebtypes "github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/s3control"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/aws/smithy-go/middleware"

	"github.com/stowage-cli/stowage/internal/config"
	"github.com/stowage-cli/stowage/internal/sanitize"
)

// hostileServer answers every request on 127.0.0.1 with the status and body it was last
// given, whatever the operation asked.
type hostileServer struct {
	*httptest.Server
	mu     sync.Mutex
	status int
	body   []byte
	// errorType, when set, is sent as X-Amzn-ErrorType and X-Amzn-Query-Error.
	errorType string
}

func newHostileServer(t testing.TB) *hostileServer {
	h := &hostileServer{status: 200}
	h.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.mu.Lock()
		status, body, errorType := h.status, h.body, h.errorType
		h.mu.Unlock()
		w.Header().Set("Content-Type", "application/x-amz-json-1.0")
		if errorType != "" {
			w.Header().Set("X-Amzn-ErrorType", errorType)
			w.Header().Set("X-Amzn-Query-Error", errorType)
		}
		w.WriteHeader(status)
		_, _ = w.Write(body)
	}))
	t.Cleanup(h.Close)
	return h
}

func (h *hostileServer) answer(status int, body []byte) {
	h.mu.Lock()
	h.status, h.body = status, body
	h.mu.Unlock()
}

// hostileOps are the SDK calls stowage makes whose answers are JSON (and S3 Control's
// DescribeJob, XML), through the clients exactly as Open builds them.
type hostileOp struct {
	name string
	call func(ctx context.Context) error
}

func openHostile(t testing.TB, url string) (*Clients, []hostileOp) {
	t.Helper()
	for k, v := range map[string]string{"AWS_CONFIG_FILE": os.DevNull, "AWS_SHARED_CREDENTIALS_FILE": os.DevNull,
		"AWS_EC2_METADATA_DISABLED": "true", "AWS_CA_BUNDLE": ""} {
		t.Setenv(k, v)
	}
	env := &config.Env{Name: "hostile", Region: "eu-west-1",
		Endpoints: config.Endpoints{S3: url, DynamoDB: url, STS: url, SQS: url, Lambda: url, EventBridge: url,
			Logs: url, S3Control: url},
		Storage: config.Storage{Bucket: "b"}, Status: config.Status{Table: "t"},
		Redrive: config.Redrive{LeaseTable: "leases"},
		Events:  config.Events{SQSQueueURL: url + "/000000000000/q", LambdaFunction: "f", EventBus: "default"},
		Logs:    config.Logs{ProcessorGroups: []string{"/aws/lambda/f"}},
		BatchOps: config.BatchOps{RoleARN: "arn:aws:iam::000000000000:role/r", ManifestPrefix: "s3://b/m/",
			ReportPrefix: "s3://b/r/"},
	}
	env.ApplyDefaults()
	c, err := Open(context.Background(), env, WithStaticCredentials("a", "b"))
	if err != nil {
		t.Fatal(err)
	}
	if c.Events == nil || c.Logs == nil || c.Leases == nil || c.Jobs == nil {
		t.Fatalf("Open left out a client: events %v, logs %v, leases %v", c.Events != nil, c.Logs != nil, c.Leases != nil)
	}
	ddb := c.Statuses.client
	table := aws.String("t")
	key := map[string]ddbtypes.AttributeValue{"id": &ddbtypes.AttributeValueMemberS{Value: "x"}}
	logsClient := c.Logs.client.(*cloudwatchlogs.Client)
	control := c.Jobs.control
	ops := []hostileOp{
		{"dynamodb Query", func(ctx context.Context) error {
			_, err := ddb.Query(ctx, &dynamodb.QueryInput{TableName: table, KeyConditionExpression: aws.String("id = :v"),
				ExpressionAttributeValues: map[string]ddbtypes.AttributeValue{":v": &ddbtypes.AttributeValueMemberS{Value: "x"}}})
			return err
		}},
		{"dynamodb Scan", func(ctx context.Context) error {
			_, err := ddb.Scan(ctx, &dynamodb.ScanInput{TableName: table})
			return err
		}},
		{"dynamodb GetItem", func(ctx context.Context) error {
			_, err := ddb.GetItem(ctx, &dynamodb.GetItemInput{TableName: table, Key: key})
			return err
		}},
		{"dynamodb BatchGetItem", func(ctx context.Context) error {
			_, err := ddb.BatchGetItem(ctx, &dynamodb.BatchGetItemInput{RequestItems: map[string]ddbtypes.KeysAndAttributes{
				"t": {Keys: []map[string]ddbtypes.AttributeValue{key}}}})
			return err
		}},
		{"dynamodb UpdateItem", func(ctx context.Context) error {
			_, err := c.Leases.client.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: aws.String("leases"), Key: key,
				UpdateExpression: aws.String("SET a = :v"), ReturnValues: ddbtypes.ReturnValueAllNew,
				ExpressionAttributeValues: map[string]ddbtypes.AttributeValue{":v": &ddbtypes.AttributeValueMemberS{Value: "x"}}})
			return err
		}},
		{"dynamodb DescribeTable", func(ctx context.Context) error {
			_, err := ddb.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: table})
			return err
		}},
		{"sqs SendMessageBatch", func(ctx context.Context) error {
			_, err := c.Events.sqs.SendMessageBatch(ctx, &sqs.SendMessageBatchInput{QueueUrl: aws.String(url + "/000000000000/q"),
				Entries: []sqstypes.SendMessageBatchRequestEntry{{Id: aws.String("0"), MessageBody: aws.String("{}")}}})
			return err
		}},
		{"sqs GetQueueAttributes", func(ctx context.Context) error {
			_, err := c.Events.sqs.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: aws.String(url + "/000000000000/q"),
				AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameAll}})
			return err
		}},
		{"lambda Invoke", func(ctx context.Context) error {
			_, err := c.Events.lambda.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String("f"), Payload: []byte("{}")})
			return err
		}},
		{"lambda GetFunction", func(ctx context.Context) error {
			_, err := c.Events.lambda.GetFunction(ctx, &lambda.GetFunctionInput{FunctionName: aws.String("f")})
			return err
		}},
		{"eventbridge PutEvents", func(ctx context.Context) error {
			_, err := c.Events.events.PutEvents(ctx, &eventbridge.PutEventsInput{Entries: []ebtypes.PutEventsRequestEntry{{
				Source: aws.String("aws.s3"), DetailType: aws.String("Object Created"), Detail: aws.String("{}")}}})
			return err
		}},
		{"eventbridge DescribeEventBus", func(ctx context.Context) error {
			_, err := c.Events.events.DescribeEventBus(ctx, &eventbridge.DescribeEventBusInput{Name: aws.String("default")})
			return err
		}},
		{"logs FilterLogEvents", func(ctx context.Context) error {
			_, err := logsClient.FilterLogEvents(ctx, &cloudwatchlogs.FilterLogEventsInput{LogGroupName: aws.String("/aws/lambda/f"),
				FilterPattern: aws.String(`"x"`)})
			return err
		}},
		{"s3control DescribeJob", func(ctx context.Context) error {
			_, err := control.DescribeJob(ctx, &s3control.DescribeJobInput{AccountId: aws.String("000000000000"), JobId: aws.String("j")})
			return err
		}},
	}
	return c, ops
}

// callGuarded runs op and turns a panic into an error naming it: the test fails on it
// rather than the whole binary.
func callGuarded(op hostileOp) (err error, panicked any) {
	defer func() {
		if p := recover(); p != nil {
			panicked = p
		}
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return op.call(ctx), nil
}

// hostileBodies are answers a wrong endpoint, a proxy or a broken server may give.
func hostileBodies() map[string]string {
	deep := strings.Repeat(`{"Items":[`, 2000)
	deepAttr := `{"Item":{"id":` + strings.Repeat(`{"L":[`, 3000) + `{"S":"x"}` + strings.Repeat(`]}`, 3000) + `}}`
	return map[string]string{
		"truncated object":       `{"Items":[{"id":{"S":"x"`,
		"truncated string":       `{"Item":{"id":{"S":"x`,
		"empty":                  ``,
		"not JSON":               `<html><body>502 Bad Gateway</body></html>`,
		"array for object":       `[1,2,3]`,
		"string for list":        `{"Items":"x","Count":"y","LastEvaluatedKey":[]}`,
		"number for map":         `{"Item":7,"Table":7,"Failed":7,"Entries":7,"events":7,"Configuration":7,"Attributes":7}`,
		"object for string":      `{"Item":{"id":{"S":{"a":1}}},"Successful":[{"Id":{}}],"FailedEntryCount":{},"nextToken":{}}`,
		"union of two members":   `{"Item":{"id":{"S":"x","N":"1"}}}`,
		"union with no member":   `{"Item":{"id":{}}}`,
		"union member null":      `{"Item":{"id":{"S":null}},"Items":[null],"Attributes":{"a":null}}`,
		"bad base64":             `{"Item":{"id":{"B":"!!!"}},"Payload":"!!!"}`,
		"huge number":            `{"Count":1e999999,"ScannedCount":99999999999999999999999999999,"FailedEntryCount":-1e400,"StatusCode":1e309}`,
		"huge exponent":          `{"Table":{"ItemCount":1e100000000,"TableSizeBytes":-1e100000000,"CreationDateTime":1e400}}`,
		"timestamp types":        `{"Table":{"CreationDateTime":"yesterday"},"Configuration":{"LastModified":5}}`,
		"deeply nested":          deep,
		"deeply nested attr":     deepAttr,
		"invalid UTF-8":          "{\"Item\":{\"id\":{\"S\":\"\xff\xfe\x1b[31m\"}}}",
		"escape cut":             `{"Item":{"id":{"S":"\u12"}}}`,
		"error type confusion":   `{"__type":{"a":1},"message":[1]}`,
		"error type number":      `{"__type":7,"Message":7,"code":7}`,
		"error truncated":        `{"__type":"com.amazonaws.dynamodb.v20120810#ResourceNotFoundException","message":"x`,
		"trailing garbage":       `{"Count":1}}}}`,
		"duplicate keys":         `{"Items":[],"Items":{},"Count":1,"Count":"x"}`,
		"null everywhere":        `{"Items":null,"Item":null,"Table":null,"Entries":null,"events":null,"Successful":null,"Failed":null,"Attributes":null}`,
		"unknown union variant":  `{"Item":{"id":{"ZZ":"x"}}}`,
		"batch entry without Id": `{"Successful":[{"MessageId":"m","MD5OfMessageBody":"x"}],"Failed":[{"Code":"x"}]}`,
		"list members confused":  `{"Items":[{"id":{"SS":[1,{},null]}},{"id":{"NS":"x"}},{"id":{"L":{}}},{"id":{"M":[]}}]}`,
	}
}

// Every call stowage makes survives every hostile answer with an error (or a result), at
// 200 and at 400: none panics. Failed before the guard (decode_guard.go) on the SDK's own
// decoders.
func TestHostileAnswersDoNotPanic(t *testing.T) {
	srv := newHostileServer(t)
	_, ops := openHostile(t, srv.URL)
	for name, body := range hostileBodies() {
		for _, status := range []int{200, 400} {
			srv.answer(status, []byte(body))
			for _, op := range ops {
				err, p := callGuarded(op)
				if p != nil {
					t.Errorf("%s answered %d %q: panic: %v", op.name, status, name, p)
					continue
				}
				checkHostileError(t, fmt.Sprintf("%s answered %d %q", op.name, status, name), err)
			}
		}
	}
}

// checkHostileError: whatever the SDK said about a hostile answer carries no raw control
// bytes once classified and sanitized, as every error is before a terminal.
func checkHostileError(t testing.TB, what string, err error) {
	t.Helper()
	if err == nil {
		return
	}
	e := classify(err, call{Op: "hostile", Resource: "test"})
	if msg := sanitize.Line(e.Error()); strings.ContainsAny(msg, "\x1b\x00") {
		t.Errorf("%s: the error reaches the terminal raw: %q", what, msg)
	}
	var ae *Error
	if !errors.As(e, &ae) {
		t.Errorf("%s: not classified: %v", what, e)
	}
}

// FuzzHostileAnswers throws bytes at every call through the clients Open builds: none may
// panic.
func FuzzHostileAnswers(f *testing.F) {
	for _, b := range hostileBodies() {
		f.Add(false, "", []byte(b))
	}
	f.Add(true, "AWS.SimpleQueueService.NonExistentQueue;Sender", []byte(`{"__type":"com.amazonaws.sqs#QueueDoesNotExist","message":"x"}`))
	f.Add(true, "ConditionalCheckFailedException:http://x#y", []byte(`{"Item":{"a":{"L":[{"NULL":true}]}},"message":7}`))
	srv := newHostileServer(f)
	_, ops := openHostile(f, srv.URL)
	f.Fuzz(func(t *testing.T, failed bool, errorType string, body []byte) {
		status := 200
		if failed {
			status = 400
		}
		srv.mu.Lock()
		srv.errorType = strings.Map(func(r rune) rune { // a header value has no line breaks
			if r < 0x20 || r == 0x7f {
				return -1
			}
			return r
		}, errorType)
		srv.mu.Unlock()
		srv.answer(status, body)
		for _, op := range ops {
			if _, p := callGuarded(op); p != nil {
				t.Fatalf("%s answered %d %q: panic: %v", op.name, status, body, p)
			}
		}
	})
}

// An SQS answer whose successful entry has no Id panicked in the SDK's MD5 check (a nil
// pointer) and took stowage down mid-redrive. Now the send fails with a classified error:
// the server's fault, a remedy naming the endpoint setting, and delivery unknown (the
// messages were sent; whether SQS took them is not known from that answer).
func TestSQSAnswerWithoutIDIsAnError(t *testing.T) {
	srv := newHostileServer(t)
	c, _ := openHostile(t, srv.URL)
	srv.answer(200, []byte(`{"Successful":[{"MessageId":"m\u001b[31m","MD5OfMessageBody":"x"}]}`))
	res, err := c.Events.SendSQS(context.Background(), srv.URL+"/000000000000/q", []EventEntry{{ID: "0", Body: []byte("{}")}})
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("SendSQS: %v, want an *Error", err)
	}
	if e.Kind != KindServer || !strings.Contains(e.Remedy, "not SQS JSON") || !strings.Contains(e.Remedy, "endpoints.sqs") {
		t.Errorf("kind %v, remedy %q: want server error, a remedy naming endpoints.sqs", e.Kind, e.Remedy)
	}
	if !DeliveryUnknown(err) || len(res) != 1 || !DeliveryUnknown(res[0].Err) {
		t.Errorf("delivery must be unknown: err %v, results %+v", err, res)
	}
	if msg := e.Error(); strings.ContainsAny(msg, "\x1b") || !strings.Contains(msg, "SendMessageBatch") {
		t.Errorf("error %q: want the operation named, no raw bytes", msg)
	}
}

// A panic inside the deserialize step (here an extra middleware standing in for the
// SDK's decoder, panicking with bytes of the answer) is an error with the bytes escaped,
// on every client Open builds: the guard wraps the operation deserializer.
func TestGuardWrapsTheDeserializer(t *testing.T) {
	srv := newHostileServer(t)
	c, _ := openHostile(t, srv.URL)
	srv.answer(200, []byte(`{}`))
	boom := func(s *middleware.Stack) error {
		return s.Deserialize.Insert(middleware.DeserializeMiddlewareFunc("boom", func(ctx context.Context, in middleware.DeserializeInput,
			next middleware.DeserializeHandler) (middleware.DeserializeOutput, middleware.Metadata, error) {
			out, md, err := next.HandleDeserialize(ctx, in)
			if err == nil {
				panic("invalid token \x1b]0;owned\x07 in answer")
			}
			return out, md, err
		}), markAnsweredID, middleware.Before)
	}
	_, err := c.Statuses.client.GetItem(context.Background(), &dynamodb.GetItemInput{TableName: aws.String("t"),
		Key: map[string]ddbtypes.AttributeValue{"id": &ddbtypes.AttributeValueMemberS{Value: "x"}}},
		func(o *dynamodb.Options) { o.APIOptions = append(o.APIOptions, boom) })
	e := classify(err, call{Op: "get-item", Resource: "dynamodb://t"}).(*Error)
	if e.Kind != KindServer || !strings.Contains(e.Remedy, "not DynamoDB JSON") || !strings.Contains(e.Remedy, "endpoints.dynamodb") {
		t.Errorf("kind %v, remedy %q", e.Kind, e.Remedy)
	}
	if msg := e.Error(); strings.ContainsAny(msg, "\x1b\x07") || !strings.Contains(msg, "GetItem") {
		t.Errorf("error %q: want GetItem named and no raw control bytes", msg)
	}
}

// A panic before any answer came (here in the Serialize step) is not the endpoint's doing:
// unknown, with a remedy that says to report it, not one that blames the endpoint.
func TestGuardWithoutAnAnswerIsNotTheEndpoints(t *testing.T) {
	srv := newHostileServer(t)
	c, _ := openHostile(t, srv.URL)
	boom := func(s *middleware.Stack) error {
		return s.Serialize.Add(middleware.SerializeMiddlewareFunc("boom", func(ctx context.Context, in middleware.SerializeInput,
			next middleware.SerializeHandler) (middleware.SerializeOutput, middleware.Metadata, error) {
			panic("nil map")
		}), middleware.After)
	}
	_, err := c.Statuses.client.DescribeTable(context.Background(), &dynamodb.DescribeTableInput{TableName: aws.String("t")},
		func(o *dynamodb.Options) { o.APIOptions = append(o.APIOptions, boom) })
	e := classify(err, call{Op: "describe", Resource: "dynamodb://t"}).(*Error)
	if e.Kind != KindUnknown || !strings.Contains(e.Remedy, "report it") || strings.Contains(e.Remedy, "endpoint") {
		t.Errorf("kind %v, remedy %q: want unknown, a bug to report", e.Kind, e.Remedy)
	}
	if !strings.Contains(e.Error(), "DescribeTable before any answer") {
		t.Errorf("error %q", e.Error())
	}
}

// The remedy names the setting of each client's endpoint.
func TestAnswerErrorRemedyNamesTheSetting(t *testing.T) {
	for service, want := range map[string]string{
		"DynamoDB": "not DynamoDB JSON: check endpoints.dynamodb in the config", "SQS": "endpoints.sqs",
		"CloudWatch Logs": "not CloudWatch Logs JSON: check endpoints.logs", "S3 Control": "not S3 Control XML: check endpoints.s3control",
		"EventBridge": "endpoints.eventbridge", "Lambda": "endpoints.lambda", "IAM": "AWS_ENDPOINT_URL_IAM", "S3": "not S3 XML",
	} {
		if got := (&AnswerError{Service: service, Answered: true}).remedy(); !strings.Contains(got, want) {
			t.Errorf("%s: %q, want %q in it", service, got, want)
		}
	}
}
