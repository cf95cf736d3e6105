package awsclient

import (
	"context"
	"errors"
	"fmt"
	"net/http/httptrace"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	ebtypes "github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	lambdatypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/stowage-cli/stowage/internal/config"
)

// The IAM actions each event target needs; doctor and the remedies name them.
const (
	ActionSQSSend     = "sqs:SendMessage"
	ActionSQSProbe    = "sqs:GetQueueAttributes"
	ActionLambdaSend  = "lambda:InvokeFunction"
	ActionLambdaProbe = "lambda:GetFunction"
	ActionEventsSend  = "events:PutEvents"
	ActionEventsProbe = "events:DescribeEventBus"
)

// MaxEventMessage is the largest message stowage sends to a queue, a function
// (asynchronously) or a bus: stowage's own guard of 256 KiB, EventBridge's limit. SQS and
// Lambda's asynchronous invoke now take up to 1 MiB, but one guard for every mode keeps a
// redrive's refusals the same whatever the target. A synthesized S3
// record is about 1 KiB, so only a very long key comes near it; the guard refuses before
// sending.
const MaxEventMessage = 256 * 1024

// MaxEventBatch is how many entries SendMessageBatch and PutEvents take in one call.
const MaxEventBatch = 10

// EventEntry is one message: an S3 notification for a queue or a function, or an
// EventBridge event.
type EventEntry struct {
	// ID names the entry in its batch (unique within one call).
	ID string
	// Body is the message body (SQS), the payload (Lambda) or the detail (EventBridge).
	Body []byte
	// Attributes are SQS message attributes (String).
	Attributes map[string]string
	// GroupID and DedupID are a FIFO queue's MessageGroupId and MessageDeduplicationId.
	GroupID, DedupID string
	// Source, DetailType, Resources and Time are the EventBridge event's envelope.
	Source, DetailType string
	Resources          []string
	Time               time.Time
}

// size is what the entry counts against MaxEventMessage: the body and the attributes
// (SQS counts each attribute's name, type and value).
func (e EventEntry) size() int {
	n := len(e.Body)
	for k, v := range e.Attributes {
		n += len(k) + len("String") + len(v)
	}
	if e.Source != "" || e.DetailType != "" {
		n += len(e.Source) + len(e.DetailType)
		for _, r := range e.Resources {
			n += len(r)
		}
	}
	return n
}

// EntryResult is what happened to one entry. Err is nil when the target accepted it; a
// per-entry failure is an *Error (the target answered: nothing of that entry was
// enqueued, so it may be sent again).
type EntryResult struct {
	ID        string
	MessageID string // SQS MessageId, EventBridge EventId, Lambda's request ID
	Status    int    // Lambda's status code (202)
	Err       error
}

// EventSender sends synthesized S3 event notifications to the processor's SQS queue,
// Lambda function or EventBridge bus (#18). Every send is refused in read-only mode
// before anything leaves. The SDK's own retries are off: a redrive retries each entry
// itself, journaling every attempt first.
type EventSender struct {
	sqs      *sqs.Client
	lambda   *lambda.Client
	events   *eventbridge.Client
	readOnly bool
	profile  string
	sso      bool
	region   string
	// endpoint hosts, for network errors that do not say.
	sqsHost, lambdaHost, eventsHost string

	// caller answers the STS caller's UserId (SetCaller); principal caches PrincipalID.
	caller      func(context.Context) (string, error)
	principal   sync.Once
	principalID string
}

// PrincipalTimeout bounds the one identity lookup of PrincipalID.
const PrincipalTimeout = 5 * time.Second

// SetCaller gives the sender the STS caller's UserId (sts:GetCallerIdentity's UserId:
// AIDA… for an IAM user, AROA…:session for an assumed role), for the events'
// userIdentity.principalId. Open sets it from the identity it already asks once.
func (s *EventSender) SetCaller(userID func(context.Context) (string, error)) { s.caller = userID }

// PrincipalID is what S3 puts in an event's userIdentity.principalId for a request this
// caller made: "AWS:" and the caller's unique ID ("AWS:AIDAJDPLRKLG7UEXAMPLE"), never an
// ARN. "" when the ID is not known (no caller set, a local stack without STS, or the
// lookup failed): the event then says "stowage". Asked once per sender, failure included,
// so a run does not ask STS once per event.
func (s *EventSender) PrincipalID(ctx context.Context) string {
	s.principal.Do(func() {
		if s.caller == nil {
			return
		}
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), PrincipalTimeout)
		defer cancel()
		if id, err := s.caller(ctx); err == nil {
			s.principalID = PrincipalIDOf(id)
		}
	})
	return s.principalID
}

// PrincipalIDOf is the principalId S3 writes for the caller whose STS UserId is userID
// ("" for none). UserIds are letters, digits and, for an assumed role, ":" and the session
// name; anything else (a malformed answer) gives "".
func PrincipalIDOf(userID string) string {
	if userID == "" || len(userID) > 256 {
		return ""
	}
	for _, r := range userID {
		if !(r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || strings.ContainsRune(":=,.@_-+", r)) {
			return ""
		}
	}
	return "AWS:" + userID
}

// openEvents builds the EventSender for env, or returns nil when env does not configure it.
func openEvents(cfg aws.Config, env *config.Env, profile string, sso bool) *EventSender {
	if !env.Events.Configured() {
		return nil
	}
	return NewEventSender(cfg, env.Endpoints, env.ReadOnly, profile, sso)
}

// NewEventSender builds the three clients on cfg, with the endpoints' overrides.
func NewEventSender(cfg aws.Config, ep config.Endpoints, readOnly bool, profile string, sso bool) *EventSender {
	cfg = cfg.Copy()
	cfg.Retryer = func() aws.Retryer { return aws.NopRetryer{} }
	s := &EventSender{readOnly: readOnly, profile: profile, sso: sso, region: cfg.Region}
	s.sqs = sqs.NewFromConfig(cfg, func(o *sqs.Options) {
		if ep.SQS != "" {
			o.BaseEndpoint = aws.String(ep.SQS)
		}
	})
	s.lambda = lambda.NewFromConfig(cfg, func(o *lambda.Options) {
		if ep.Lambda != "" {
			o.BaseEndpoint = aws.String(ep.Lambda)
		}
	})
	s.events = eventbridge.NewFromConfig(cfg, func(o *eventbridge.Options) {
		if ep.EventBridge != "" {
			o.BaseEndpoint = aws.String(ep.EventBridge)
		}
	})
	s.sqsHost = endpointHost(s.sqs.Options().BaseEndpoint)
	s.lambdaHost = endpointHost(s.lambda.Options().BaseEndpoint)
	s.eventsHost = endpointHost(s.events.Options().BaseEndpoint)
	return s
}

// Region is the region the clients were built for.
func (s *EventSender) Region() string { return s.region }

// ReadOnly reports whether sends are refused.
func (s *EventSender) ReadOnly() bool { return s.readOnly }

// tooLarge refuses an entry over MaxEventMessage before anything is sent.
func tooLarge(op, resource string, e EventEntry) error {
	return &Error{Kind: KindTooLarge, Op: op, Resource: resource, Err: ErrNotSent,
		Message: fmt.Sprintf("the message is %d bytes; stowage refuses events over %d bytes (256 KiB)", e.size(), MaxEventMessage),
		Remedy:  "nothing was sent; an S3 record this large has a very long key: redrive it with --mode s3-copy"}
}

// sent wraps a failed call: a failure before the request was written wraps ErrNotSent,
// one after it (no answer, or a success answer that could not be read) ErrDeliveryUnknown;
// a refusal from the service is neither.
func sent(err error, wrote bool, c call) error {
	e := newError(err, c)
	eventRemedy(e, c)
	if e.Kind == KindTooLarge {
		e.Remedy = "the target refused the message as too large; nothing was sent"
	}
	if s := httpStatus(err); s != 0 && (s < 200 || s > 299) {
		return e // the service refused the call: nothing of it was taken
	}
	var api interface{ ErrorCode() string }
	if errors.As(err, &api) {
		return e
	}
	refused := errors.Is(err, syscall.ECONNREFUSED) || e.Kind == KindNoCredentials || e.Kind == KindExpiredCredentials
	if wrote && !refused {
		e.Err = fmt.Errorf("%w: %w", ErrDeliveryUnknown, err)
	} else {
		e.Err = fmt.Errorf("%w: %w", ErrNotSent, err)
	}
	return e
}

// traced returns ctx with a trace that records whether the request was written.
func traced(ctx context.Context) (context.Context, *atomic.Bool) {
	var wrote atomic.Bool
	return httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{WroteHeaders: func() { wrote.Store(true) }}), &wrote
}

// queueCall names a call to the queue.
func (s *EventSender) queueCall(op, queueURL, action string) call {
	return call{Op: op, Resource: queueURL, Action: action, Profile: s.profile, SSO: s.sso, Endpoint: s.sqsHost,
		NotFound: "check events.sqs_queue_url (aws sqs get-queue-url --queue-name NAME prints it) and the region"}
}

// SendSQS sends entries to the queue with SendMessageBatch, up to MaxEventBatch a call.
// It returns one result per entry, in order. err is the failure of a whole call: its
// entries' results carry it too, wrapping ErrNotSent or ErrDeliveryUnknown when no
// answer came.
func (s *EventSender) SendSQS(ctx context.Context, queueURL string, entries []EventEntry) ([]EntryResult, error) {
	res := make([]EntryResult, len(entries))
	c := s.queueCall("send-message-batch", queueURL, ActionSQSSend)
	if s.readOnly {
		err := readOnlyError(c.Op, queueURL)
		fill(res, entries, err)
		return res, err
	}
	var firstErr error
	for lo := 0; lo < len(entries); lo += MaxEventBatch {
		hi := min(lo+MaxEventBatch, len(entries))
		if err := s.sqsBatch(ctx, queueURL, entries[lo:hi], res[lo:hi], c); err != nil && firstErr == nil {
			firstErr = err
		}
	}
	return res, firstErr
}

func (s *EventSender) sqsBatch(ctx context.Context, queueURL string, entries []EventEntry, res []EntryResult, c call) error {
	in := &sqs.SendMessageBatchInput{QueueUrl: aws.String(queueURL)}
	index := map[string]int{}
	for i, e := range entries {
		res[i].ID = e.ID
		if e.size() > MaxEventMessage {
			res[i].Err = tooLarge(c.Op, queueURL, e)
			continue
		}
		ent := sqstypes.SendMessageBatchRequestEntry{Id: aws.String(e.ID), MessageBody: aws.String(string(e.Body))}
		if len(e.Attributes) > 0 {
			ent.MessageAttributes = map[string]sqstypes.MessageAttributeValue{}
			for k, v := range e.Attributes {
				ent.MessageAttributes[k] = sqstypes.MessageAttributeValue{DataType: aws.String("String"), StringValue: aws.String(v)}
			}
		}
		if e.GroupID != "" {
			ent.MessageGroupId = aws.String(e.GroupID)
		}
		if e.DedupID != "" {
			ent.MessageDeduplicationId = aws.String(e.DedupID)
		}
		index[e.ID] = i
		in.Entries = append(in.Entries, ent)
	}
	if len(in.Entries) == 0 {
		return nil
	}
	tctx, wrote := traced(ctx)
	out, err := s.sqs.SendMessageBatch(tctx, in)
	if err != nil {
		err = sent(err, wrote.Load(), c)
		for _, i := range index {
			res[i].Err = err
		}
		return err
	}
	for _, ok := range out.Successful {
		if i, found := index[aws.ToString(ok.Id)]; found {
			res[i].MessageID = aws.ToString(ok.MessageId)
			delete(index, aws.ToString(ok.Id))
		}
	}
	for _, f := range out.Failed {
		i, found := index[aws.ToString(f.Id)]
		if !found {
			continue
		}
		delete(index, aws.ToString(f.Id))
		res[i].Err = entryError(c, aws.ToString(f.Code), aws.ToString(f.Message), !f.SenderFault)
	}
	for _, i := range index {
		// Neither successful nor failed: SQS did not say, so it may have been taken.
		res[i].Err = &Error{Kind: KindUnknown, Op: c.Op, Resource: c.Resource, Err: ErrDeliveryUnknown,
			Message: "the answer lists the entry neither as successful nor as failed"}
	}
	return nil
}

// entryError is one entry's failure in a batch answer: the service refused that entry,
// so nothing of it was taken. serverFault marks a failure that is not the sender's.
func entryError(c call, code, msg string, serverFault bool) error {
	e := &Error{Op: c.Op, Resource: c.Resource, Code: code, Message: msg, Err: ErrNotSent}
	k, known := codeKinds[code]
	switch {
	case known:
		e.Kind = k
	case serverFault:
		e.Kind = KindServer
	default:
		e.Kind = KindInvalid
	}
	e.Remedy = remedy(e, c)
	eventRemedy(e, c)
	return e
}

// CodeNotAuthorizedForSource is EventBridge's refusal of an "aws." source from PutEvents.
const CodeNotAuthorizedForSource = "NotAuthorizedForSourceException"

// remedyAWSSource answers EventBridge's refusal of an "aws." source from PutEvents.
const remedyAWSSource = "AWS reserves sources beginning aws. for its services: set events.event_source to your own (e.g. stowage.s3) and add it to the rule's event pattern"

// eventRemedy corrects what the shared classification says of the event targets' own
// refusals: an aws. source is the configuration's fault, not the credentials'; a KMS
// refusal needs KMS actions, not the send's.
func eventRemedy(e *Error, c call) {
	switch {
	case e.Code == CodeNotAuthorizedForSource:
		e.Kind, e.Remedy = KindInvalid, remedyAWSSource
	case isKMSCode(e.Code) && e.Kind != KindThrottled:
		e.Remedy = kmsRemedy(e.Code, c)
	}
}

// isKMSCode reports a refusal by the target's KMS key: SQS's KmsAccessDenied,
// KmsDisabled, KmsNotFound… (KMS.AccessDeniedException in the older protocol), Lambda's
// KMSAccessDeniedException, KMSDisabledException…
func isKMSCode(code string) bool {
	return strings.HasPrefix(code, "Kms") || strings.HasPrefix(code, "KMS")
}

// kmsRemedy says what a KMS refusal needs.
func kmsRemedy(code string, c call) string {
	if c.Op == "invoke" {
		return "Lambda could not use the KMS key of the function's environment variables: the function's execution role needs kms:Decrypt on it, and the key must be enabled"
	}
	need := "the credentials need kms:GenerateDataKey and kms:Decrypt on the queue's KMS key"
	if strings.Contains(code, "AccessDenied") {
		need = "the queue is encrypted: " + need
	} else {
		need = "the queue's KMS key refused (" + code + "): it must exist and be enabled, and " + need
	}
	return need + " (aws sqs get-queue-attributes --queue-url " + c.Resource + " --attribute-names KmsMasterKeyId names it)"
}

// Invoke invokes the function asynchronously (InvocationType Event) with payload, and
// expects 202. A throttled invoke (429, TooManyRequestsException) is KindThrottled.
func (s *EventSender) Invoke(ctx context.Context, function, qualifier string, payload []byte) (EntryResult, error) {
	resource := "lambda://" + function
	if qualifier != "" {
		resource += ":" + qualifier
	}
	c := call{Op: "invoke", Resource: resource, Action: ActionLambdaSend, Profile: s.profile, SSO: s.sso, Endpoint: s.lambdaHost,
		NotFound: "check events.lambda_function, --qualifier and the region (aws lambda get-function --function-name NAME)"}
	if s.readOnly {
		err := readOnlyError(c.Op, resource)
		return EntryResult{Err: err}, err
	}
	if len(payload) > MaxEventMessage {
		err := tooLarge(c.Op, resource, EventEntry{Body: payload})
		return EntryResult{Err: err}, err
	}
	in := &lambda.InvokeInput{FunctionName: aws.String(function), InvocationType: lambdatypes.InvocationTypeEvent, Payload: payload}
	if qualifier != "" {
		in.Qualifier = aws.String(qualifier)
	}
	tctx, wrote := traced(ctx)
	out, err := s.lambda.Invoke(tctx, in)
	if err != nil {
		err = sent(err, wrote.Load(), c)
		return EntryResult{Err: err, Status: httpStatus(err)}, err
	}
	r := EntryResult{Status: int(out.StatusCode)}
	r.MessageID, _ = awsmiddleware.GetRequestIDMetadata(out.ResultMetadata)
	if out.StatusCode != 202 {
		// An asynchronous invoke is queued with 202; anything else is not what was asked.
		r.Err = &Error{Kind: KindUnknown, Op: c.Op, Resource: resource, Code: strconv.Itoa(int(out.StatusCode)), Err: ErrDeliveryUnknown,
			Message: fmt.Sprintf("the function answered %d, not 202 (queued)", out.StatusCode)}
		return r, r.Err
	}
	return r, nil
}

// PutEvents puts entries on the bus, up to MaxEventBatch a call, and returns one result
// per entry (FailedEntryCount's entries carry their error).
func (s *EventSender) PutEvents(ctx context.Context, bus string, entries []EventEntry) ([]EntryResult, error) {
	res := make([]EntryResult, len(entries))
	c := call{Op: "put-events", Resource: "events://" + bus, Action: ActionEventsSend, Profile: s.profile, SSO: s.sso, Endpoint: s.eventsHost,
		NotFound: "check events.event_bus and the region (aws events describe-event-bus --name NAME)"}
	if s.readOnly {
		err := readOnlyError(c.Op, c.Resource)
		fill(res, entries, err)
		return res, err
	}
	var firstErr error
	for lo := 0; lo < len(entries); lo += MaxEventBatch {
		hi := min(lo+MaxEventBatch, len(entries))
		if err := s.putBatch(ctx, bus, entries[lo:hi], res[lo:hi], c); err != nil && firstErr == nil {
			firstErr = err
		}
	}
	return res, firstErr
}

func (s *EventSender) putBatch(ctx context.Context, bus string, entries []EventEntry, res []EntryResult, c call) error {
	in := &eventbridge.PutEventsInput{}
	var pos []int // the entry behind each request entry: the answer is in request order
	for i, e := range entries {
		res[i].ID = e.ID
		if e.size() > MaxEventMessage {
			res[i].Err = tooLarge(c.Op, c.Resource, e)
			continue
		}
		ent := ebtypes.PutEventsRequestEntry{EventBusName: aws.String(bus), Source: aws.String(e.Source),
			DetailType: aws.String(e.DetailType), Detail: aws.String(string(e.Body)), Resources: e.Resources}
		if !e.Time.IsZero() {
			ent.Time = aws.Time(e.Time)
		}
		in.Entries = append(in.Entries, ent)
		pos = append(pos, i)
	}
	if len(in.Entries) == 0 {
		return nil
	}
	tctx, wrote := traced(ctx)
	out, err := s.events.PutEvents(tctx, in)
	if err != nil {
		err = sent(err, wrote.Load(), c)
		for _, i := range pos {
			res[i].Err = err
		}
		return err
	}
	for j, i := range pos {
		if j >= len(out.Entries) {
			res[i].Err = &Error{Kind: KindUnknown, Op: c.Op, Resource: c.Resource, Err: ErrDeliveryUnknown,
				Message: "the answer has fewer entries than the request"}
			continue
		}
		r := out.Entries[j]
		if code := aws.ToString(r.ErrorCode); code != "" {
			res[i].Err = entryError(c, code, aws.ToString(r.ErrorMessage), code == "InternalException" || code == "InternalFailure")
			continue
		}
		res[i].MessageID = aws.ToString(r.EventId)
	}
	return nil
}

func fill(res []EntryResult, entries []EventEntry, err error) {
	for i := range res {
		res[i] = EntryResult{ID: entries[i].ID, Err: err}
	}
}

// QueueInfo is what doctor learns of the queue.
type QueueInfo struct {
	ARN  string
	FIFO bool
	// Messages is ApproximateNumberOfMessages.
	Messages int
}

// ProbeQueue reads the queue's attributes (sqs:GetQueueAttributes): it exists and the
// credentials may see it.
func (s *EventSender) ProbeQueue(ctx context.Context, queueURL string) (QueueInfo, error) {
	out, err := s.sqs.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: aws.String(queueURL),
		AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameQueueArn, sqstypes.QueueAttributeNameFifoQueue,
			sqstypes.QueueAttributeNameApproximateNumberOfMessages}})
	if err != nil {
		return QueueInfo{}, classify(err, s.queueCall("get-queue-attributes", queueURL, ActionSQSProbe))
	}
	a := out.Attributes
	n, _ := strconv.Atoi(a[string(sqstypes.QueueAttributeNameApproximateNumberOfMessages)])
	return QueueInfo{ARN: a[string(sqstypes.QueueAttributeNameQueueArn)], FIFO: a[string(sqstypes.QueueAttributeNameFifoQueue)] == "true", Messages: n}, nil
}

// FunctionInfo is what doctor learns of the function.
type FunctionInfo struct {
	ARN, State, Version string
}

// ProbeFunction reads the function's configuration (lambda:GetFunction).
func (s *EventSender) ProbeFunction(ctx context.Context, function, qualifier string) (FunctionInfo, error) {
	in := &lambda.GetFunctionInput{FunctionName: aws.String(function)}
	resource := "lambda://" + function
	if qualifier != "" {
		in.Qualifier = aws.String(qualifier)
		resource += ":" + qualifier
	}
	out, err := s.lambda.GetFunction(ctx, in)
	if err != nil {
		return FunctionInfo{}, classify(err, call{Op: "get-function", Resource: resource, Action: ActionLambdaProbe, Profile: s.profile, SSO: s.sso,
			Endpoint: s.lambdaHost, NotFound: "check events.lambda_function, the qualifier and the region"})
	}
	var fi FunctionInfo
	if cfg := out.Configuration; cfg != nil {
		fi = FunctionInfo{ARN: aws.ToString(cfg.FunctionArn), State: string(cfg.State), Version: aws.ToString(cfg.Version)}
	}
	return fi, nil
}

// ProbeBus describes the bus (events:DescribeEventBus).
func (s *EventSender) ProbeBus(ctx context.Context, bus string) (string, error) {
	out, err := s.events.DescribeEventBus(ctx, &eventbridge.DescribeEventBusInput{Name: aws.String(bus)})
	if err != nil {
		return "", classify(err, call{Op: "describe-event-bus", Resource: "events://" + bus, Action: ActionEventsProbe, Profile: s.profile,
			SSO: s.sso, Endpoint: s.eventsHost, NotFound: "check events.event_bus and the region"})
	}
	return aws.ToString(out.Arn), nil
}
