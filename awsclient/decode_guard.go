package awsclient

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"

	"github.com/aws/smithy-go/middleware"

	"github.com/stowage-cli/stowage/internal/sanitize"
)

// An answer the SDK cannot handle must not take stowage down. The SDK's own code panics on
// some: SQS's SendMessageBatch checks each result's MD5 against the entry of the same Id,
// and dereferences the Id without looking (a result without one, from a wrong endpoint or
// a broken emulator, is a nil pointer; TestHostileAnswersDoNotPanic). That check runs in
// the Initialize step, after the answer was decoded, so the guard wraps the whole
// operation rather than the deserializer alone: it is the first Initialize middleware of
// every operation of every client Open builds (cfg.APIOptions). A mark right around the
// transport tells it whether an answer had come, so that only then is the endpoint blamed.

// Middleware IDs of the guard: the recover, and the mark that an answer came.
const (
	guardAnswersID = "StowageGuardAnswers"
	markAnsweredID = "StowageMarkAnswered"
)

// GuardAnswers adds the guard to a client's stack: a panic anywhere in the operation
// becomes an *AnswerError, classified KindServer with a remedy naming the endpoint when an
// answer had come (KindUnknown, a bug to report, when none had).
func GuardAnswers(stack *middleware.Stack) error {
	if err := stack.Initialize.Add(middleware.InitializeMiddlewareFunc(guardAnswersID, guardAnswers), middleware.Before); err != nil {
		return err
	}
	// Last of the Deserialize step: right around the transport, before any decoding.
	return stack.Deserialize.Add(middleware.DeserializeMiddlewareFunc(markAnsweredID, markAnswered), middleware.After)
}

// answeredKey holds the operation's *atomic.Bool, set once an HTTP answer came.
type answeredKey struct{}

func guardAnswers(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (
	out middleware.InitializeOutput, md middleware.Metadata, err error,
) {
	answered := new(atomic.Bool)
	ctx = middleware.WithStackValue(ctx, answeredKey{}, answered)
	defer func() {
		if p := recover(); p != nil {
			out, err = middleware.InitializeOutput{}, &AnswerError{Service: middleware.GetServiceID(ctx),
				Operation: middleware.GetOperationName(ctx), Detail: panicDetail(p), Answered: answered.Load()}
		}
	}()
	return next.HandleInitialize(ctx, in)
}

func markAnswered(ctx context.Context, in middleware.DeserializeInput, next middleware.DeserializeHandler) (
	middleware.DeserializeOutput, middleware.Metadata, error,
) {
	out, md, err := next.HandleDeserialize(ctx, in)
	if answered, ok := middleware.GetStackValue(ctx, answeredKey{}).(*atomic.Bool); ok && out.RawResponse != nil {
		answered.Store(true)
	}
	return out, md, err
}

// maxPanicDetail caps the panic's text kept in the error: it may quote the answer.
const maxPanicDetail = 200

// panicDetail is the panic's value in a line, sanitized and cut: a panic's message may
// quote bytes of the answer, and the error reaches terminals and journals.
func panicDetail(p any) string {
	s := fmt.Sprint(p)
	if len(s) > maxPanicDetail {
		s = s[:maxPanicDetail] + "..."
	}
	return sanitize.Line(s)
}

// AnswerError is an operation the SDK failed on (a panic in its code, recovered): in
// practice an answer that is not what the service sends. When one came, whether a write
// was applied is unknown: the request was sent.
type AnswerError struct {
	Service   string // the SDK's service ID: DynamoDB, SQS, ...
	Operation string // Query, SendMessageBatch, ...
	Detail    string // the panic, sanitized
	// Answered reports that an HTTP answer had come: without one the panic is not the
	// endpoint's doing.
	Answered bool
}

func (e *AnswerError) Error() string {
	if !e.Answered {
		return "the SDK failed calling " + e.Service + " " + e.Operation + " before any answer (" + e.Detail + ")"
	}
	return "the SDK failed on the " + e.Service + " answer to " + e.Operation + " (" + e.Detail + ")"
}

// kind is the server's fault when an answer came, else unknown.
func (e *AnswerError) kind() Kind {
	if e.Answered {
		return KindServer
	}
	return KindUnknown
}

// remedy names the endpoint setting to check.
func (e *AnswerError) remedy() string {
	if !e.Answered {
		return "this is a bug in stowage or the AWS SDK: report it with the command line and --debug output"
	}
	format, setting := "JSON", "endpoints."+strings.ToLower(strings.ReplaceAll(e.Service, " ", ""))+" in the config"
	switch e.Service {
	case "S3", "S3 Control", "STS":
		format = "XML"
	case "IAM": // no config endpoint
		format, setting = "XML", "AWS_ENDPOINT_URL_IAM"
	case "CloudWatch Logs":
		setting = "endpoints.logs in the config"
	}
	return "the endpoint answered something that is not " + e.Service + " " + format +
		": check " + setting + " (and AWS_ENDPOINT_URL_*), or a proxy in between"
}
