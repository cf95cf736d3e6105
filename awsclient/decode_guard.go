package awsclient

import (
	"context"
	"fmt"
	"strings"

	"github.com/aws/smithy-go/middleware"

	"github.com/stowage-cli/stowage/internal/sanitize"
)

// An answer the SDK cannot handle must not take stowage down. The SDK's own code panics on
// some: SQS's SendMessageBatch checks each result's MD5 against the entry of the same Id,
// and dereferences the Id without looking (a result without one, from a wrong endpoint or
// a broken emulator, is a nil pointer; TestHostileAnswersDoNotPanic). That check runs in
// the Initialize step, after the answer was decoded, so the guard wraps the whole
// operation rather than the deserializer alone: it is the first Initialize middleware of
// every operation of every client Open builds (cfg.APIOptions).

// guardAnswersID is the guard's middleware ID.
const guardAnswersID = "StowageGuardAnswers"

// GuardAnswers adds the guard to a client's stack: a panic anywhere in the operation
// becomes an *AnswerError, classified KindServer with a remedy naming the endpoint.
func GuardAnswers(stack *middleware.Stack) error {
	return stack.Initialize.Add(middleware.InitializeMiddlewareFunc(guardAnswersID, guardAnswers), middleware.Before)
}

func guardAnswers(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (
	out middleware.InitializeOutput, md middleware.Metadata, err error,
) {
	defer func() {
		if p := recover(); p != nil {
			out, err = middleware.InitializeOutput{}, &AnswerError{Service: middleware.GetServiceID(ctx),
				Operation: middleware.GetOperationName(ctx), Detail: panicDetail(p)}
		}
	}()
	return next.HandleInitialize(ctx, in)
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
// practice an answer that is not what the service sends. Whether a write was applied is
// unknown: the request was sent.
type AnswerError struct {
	Service   string // the SDK's service ID: DynamoDB, SQS, ...
	Operation string // Query, SendMessageBatch, ...
	Detail    string // the panic, sanitized
}

func (e *AnswerError) Error() string {
	return "the SDK failed on the " + e.Service + " answer to " + e.Operation + " (" + e.Detail + ")"
}

// remedy names the endpoint setting to check.
func (e *AnswerError) remedy() string {
	format, key := "JSON", strings.ToLower(strings.ReplaceAll(e.Service, " ", ""))
	switch e.Service {
	case "S3", "S3 Control", "STS", "IAM":
		format = "XML"
	case "CloudWatch Logs":
		key = "logs"
	}
	return "the endpoint answered something that is not " + e.Service + " " + format +
		": check endpoints." + key + " in the config (and AWS_ENDPOINT_URL_*), or a proxy in between"
}
