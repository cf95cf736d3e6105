package awsclient

import (
	"context"
	"errors"
	"io"
	"net"
	"strconv"
	"strings"
	"syscall"

	"github.com/aws/aws-sdk-go-v2/credentials/ssocreds"
	ssotypes "github.com/aws/aws-sdk-go-v2/service/sso/types"
	ssooidctypes "github.com/aws/aws-sdk-go-v2/service/ssooidc/types"
	"github.com/aws/smithy-go"
)

// call describes the operation that failed, so the classified error can name it and say
// what to do.
type call struct {
	Op       string // "list", "get-item", ...
	Resource string // "s3://bucket/prefix"
	// Action is the IAM action the call needs, named in AccessDenied remedies.
	Action string
	// NotFound is the remedy when the service says the resource does not exist.
	NotFound string
	// Profile is the AWS profile in use, named in expired-credential remedies.
	Profile string
	// Pinned marks a call that carried an ETag or version pin: a failed precondition
	// or a vanished version then means the object changed.
	Pinned bool
}

// Remedies shared by several calls.
const (
	remedyBucket    = "check storage.bucket in the config and the region"
	remedyTable     = "check status.table in the config and the region"
	remedyIndex     = "check status.index in the config: the table has no such index"
	remedyThrottled = "wait and retry, or lower the rate"
	remedyServer    = "the service failed; retry later"
	remedyTimeout   = "retry; if it persists check the network and the endpoint"
	remedyNetwork   = "check the network and the endpoint URL"
	remedyTooLarge  = "the body exceeds the service limit (API Gateway accepts at most 10 MiB)"
	remedyChanged   = "the object changed since it was listed; refresh and try again"
	remedyReadOnly  = "the environment is read-only (read_only in the config or --read-only)"
	remedyKeys      = "the access key is not recognised or the secret is wrong; check the credentials"
)

// Error codes by the kind they mean. Codes not listed fall back to the HTTP status.
var codeKinds = map[string]Kind{
	"NoSuchKey":                 KindNotFound,
	"NoSuchBucket":              KindNotFound,
	"NotFound":                  KindNotFound,
	"NoSuchVersion":             KindNotFound,
	"ResourceNotFoundException": KindNotFound,
	"ParameterNotFound":         KindNotFound,

	"AccessDenied":                KindAccessDenied,
	"AccessDeniedException":       KindAccessDenied,
	"Forbidden":                   KindAccessDenied,
	"UnrecognizedClientException": KindAccessDenied,
	"InvalidAccessKeyId":          KindAccessDenied,
	"SignatureDoesNotMatch":       KindAccessDenied,
	"InvalidSignatureException":   KindAccessDenied,
	"InvalidClientTokenId":        KindAccessDenied,
	"AllAccessDisabled":           KindAccessDenied,

	"SlowDown":                               KindThrottled,
	"Throttling":                             KindThrottled,
	"ThrottlingException":                    KindThrottled,
	"ThrottledException":                     KindThrottled,
	"TooManyRequestsException":               KindThrottled,
	"ProvisionedThroughputExceededException": KindThrottled,
	"RequestLimitExceeded":                   KindThrottled,
	"RequestThrottled":                       KindThrottled,
	"RequestThrottledException":              KindThrottled,
	"LimitExceededException":                 KindThrottled,

	"ExpiredToken":          KindExpiredCredentials,
	"ExpiredTokenException": KindExpiredCredentials,
	"RequestExpired":        KindExpiredCredentials,
	"TokenRefreshRequired":  KindExpiredCredentials,

	"EntityTooLarge":        KindTooLarge,
	"RequestEntityTooLarge": KindTooLarge,

	"RequestTimeout":          KindTimeout,
	"RequestTimeoutException": KindTimeout,

	"InternalError":                  KindServer,
	"InternalFailure":                KindServer,
	"InternalServerError":            KindServer,
	"InternalServerException":        KindServer,
	"ServiceUnavailable":             KindServer,
	"ServiceUnavailableException":    KindServer,
	"ServiceException":               KindServer,
	"TransactionInProgressException": KindServer,

	"PreconditionFailed": KindChanged,

	"ValidationException":    KindInvalid,
	"InvalidArgument":        KindInvalid,
	"InvalidRange":           KindInvalid,
	"InvalidRequest":         KindInvalid,
	"InvalidBucketName":      KindInvalid,
	"SerializationException": KindInvalid,
}

// statusKind maps a bare HTTP status to a Kind.
func statusKind(status int) Kind {
	switch {
	case status == 404:
		return KindNotFound
	case status == 401 || status == 403:
		return KindAccessDenied
	case status == 429:
		return KindThrottled
	case status == 413:
		return KindTooLarge
	case status == 412:
		return KindChanged
	case status == 504 || status == 408:
		return KindTimeout
	case status >= 500:
		return KindServer
	case status >= 400:
		return KindInvalid
	}
	return KindUnknown
}

// classify turns any error from the SDK, smithy, net/http or the network into an *Error
// naming the call and saying what to do. nil stays nil; an *Error passes through.
func classify(err error, c call) error {
	if err == nil {
		return nil
	}
	var already *Error
	if errors.As(err, &already) {
		return err
	}
	return newError(err, c)
}

// newError classifies err as a failure of c, even when err wraps an *Error of another call
// (a body stream from S3 failing under a gateway send).
func newError(err error, c call) *Error {
	e := &Error{Op: c.Op, Resource: c.Resource, Err: err}
	e.Kind, e.Code, e.Message = kindOf(err)
	if c.Pinned && e.Code == "NoSuchVersion" {
		e.Kind = KindChanged
	}
	e.Remedy = remedy(e, c)
	return e
}

// kindOf finds the kind, the service's code and message of err.
func kindOf(err error) (Kind, string, string) {
	switch {
	case errors.Is(err, ErrReadOnly):
		return KindReadOnly, "", ""
	case errors.Is(err, context.Canceled):
		return KindCanceled, "", "canceled"
	case errors.Is(err, context.DeadlineExceeded):
		return KindTimeout, "", "timed out"
	}
	if isSSOError(err) {
		return KindExpiredCredentials, "", "the SSO session has expired or is invalid"
	}
	var api smithy.APIError
	if errors.As(err, &api) {
		code := api.ErrorCode()
		if k, ok := codeKinds[code]; ok {
			return k, code, api.ErrorMessage()
		}
		if status := httpStatus(err); status != 0 {
			if k := statusKind(status); k != KindUnknown {
				return k, code, api.ErrorMessage()
			}
		}
		if api.ErrorFault() == smithy.FaultServer {
			return KindServer, code, api.ErrorMessage()
		}
		return KindInvalid, code, api.ErrorMessage()
	}
	if status := httpStatus(err); status != 0 {
		if k := statusKind(status); k != KindUnknown {
			return k, strconv.Itoa(status), ""
		}
	}
	msg := err.Error()
	if strings.Contains(msg, "failed to refresh cached credentials") ||
		strings.Contains(msg, "failed to retrieve credentials") {
		return KindExpiredCredentials, "", ""
	}
	if isNetworkError(err) {
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			return KindTimeout, "", ""
		}
		return KindNetwork, "", ""
	}
	var inner *Error
	if errors.As(err, &inner) {
		return inner.Kind, inner.Code, inner.Message
	}
	return KindUnknown, "", ""
}

// httpStatus is the HTTP status of a response error, or 0.
func httpStatus(err error) int {
	var r interface{ HTTPStatusCode() int }
	if errors.As(err, &r) {
		return r.HTTPStatusCode()
	}
	return 0
}

// isSSOError reports an expired or invalid IAM Identity Center session, however deep the
// SDK's sso and ssooidc providers wrapped it.
func isSSOError(err error) bool {
	var (
		tokenErr  *ssocreds.InvalidTokenError
		unauth    *ssotypes.UnauthorizedException
		grant     *ssooidctypes.InvalidGrantException
		oidcExpir *ssooidctypes.ExpiredTokenException
	)
	if errors.As(err, &tokenErr) || errors.As(err, &unauth) || errors.As(err, &grant) || errors.As(err, &oidcExpir) {
		return true
	}
	msg := err.Error()
	return strings.Contains(msg, "SSO token") || strings.Contains(msg, "SSO session")
}

// isNetworkError reports failures to reach or keep talking to the endpoint.
func isNetworkError(err error) bool {
	var (
		opErr  *net.OpError
		dnsErr *net.DNSError
		netErr net.Error
	)
	switch {
	case errors.As(err, &opErr), errors.As(err, &dnsErr):
		return true
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.ECONNREFUSED),
		errors.Is(err, syscall.ECONNABORTED), errors.Is(err, syscall.EPIPE):
		return true
	case errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		return true
	case errors.As(err, &netErr):
		return true
	}
	msg := err.Error()
	return strings.Contains(msg, "connection reset") || strings.Contains(msg, "broken pipe") ||
		strings.Contains(msg, "server closed idle connection")
}

// remedy says what the operator can do about e.
func remedy(e *Error, c call) string {
	switch e.Kind {
	case KindNotFound:
		switch e.Code {
		case "NoSuchBucket":
			return remedyBucket
		case "ResourceNotFoundException":
			if strings.Contains(strings.ToLower(e.Message), "index") {
				return remedyIndex
			}
		}
		return c.NotFound
	case KindAccessDenied:
		switch e.Code {
		case "InvalidAccessKeyId", "SignatureDoesNotMatch", "UnrecognizedClientException",
			"InvalidSignatureException", "InvalidClientTokenId":
			return profileHint(remedyKeys, c.Profile)
		}
		if c.Action != "" {
			return "the credentials need " + c.Action + " on " + c.Resource
		}
		return profileHint("check the credentials' permissions", c.Profile)
	case KindExpiredCredentials:
		if c.Profile != "" {
			return "run aws sso login --profile " + c.Profile
		}
		return "refresh your credentials (for SSO: aws sso login)"
	case KindThrottled:
		return remedyThrottled
	case KindTooLarge:
		return remedyTooLarge
	case KindTimeout:
		return remedyTimeout
	case KindServer:
		return remedyServer
	case KindNetwork:
		return remedyNetwork
	case KindChanged:
		return remedyChanged
	case KindReadOnly:
		return remedyReadOnly
	}
	return ""
}

func profileHint(s, profile string) string {
	if profile == "" {
		return s
	}
	return s + " of profile " + profile
}

// readOnlyError is what every write returns in read-only mode, before sending anything.
func readOnlyError(op, resource string) error {
	return &Error{Kind: KindReadOnly, Op: op, Resource: resource, Err: ErrReadOnly, Remedy: remedyReadOnly}
}

// invalid reports a caller mistake found before any request was sent.
func invalid(op, resource, msg string) error {
	return &Error{Kind: KindInvalid, Op: op, Resource: resource, Message: msg}
}

// codeOf is the service error code of err, or "".
func codeOf(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return ""
}
