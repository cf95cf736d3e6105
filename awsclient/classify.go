package awsclient

import (
	"context"
	"errors"
	"io"
	"net"
	"net/url"
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
	// Profile is the AWS profile in use, named in credential remedies.
	Profile string
	// SSO reports that Profile signs in through IAM Identity Center, so that only then
	// does a remedy say aws sso login.
	SSO bool
	// Endpoint is the host[:port] of an overridden endpoint, named in network errors when
	// the error itself does not say (a request cut off by its deadline).
	Endpoint string
	// Pinned marks a call that carried an ETag or version pin: a failed precondition
	// or a vanished version then means the object changed.
	Pinned bool
}

// Remedies shared by several calls.
const (
	remedyBucket    = "check storage.bucket in the config and the region"
	remedyTable     = "check status.table in the config and the region"
	remedyIndex     = "check status.index in the config (or remove it to use a Scan)"
	remedyIndexKeys = "check status.status_attr and status.updated_at_attr in the config: they must be the keys of status.index (or remove status.index to use a Scan)"
	remedyKeyAttr   = "check status.key_attr in the config: it must be the table's partition key"
	remedyThrottled = "wait and retry, or lower the rate"
	remedyServer    = "the service failed; retry later"
	remedyTimeout   = "retry; if it persists check the endpoint URL, region and network"
	remedyNetwork   = "check the endpoint URL, region and network"
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
	// Another writer's transaction holds the item (a single write during it, or a batch
	// that lost to one): it ends within milliseconds, so the write is retried.
	"TransactionConflictException": KindServer,

	"PreconditionFailed": KindChanged,

	"ValidationException":    KindInvalid,
	"InvalidArgument":        KindInvalid,
	"InvalidRange":           KindInvalid,
	"InvalidRequest":         KindInvalid,
	"InvalidBucketName":      KindInvalid,
	"SerializationException": KindInvalid,

	// The event targets (#18): SQS, Lambda and EventBridge.
	"QueueDoesNotExist":                          KindNotFound,
	"AWS.SimpleQueueService.NonExistentQueue":    KindNotFound,
	"KmsAccessDenied":                            KindAccessDenied,
	"NotAuthorizedForSourceException":            KindAccessDenied,
	"KmsThrottled":                               KindThrottled,
	"EC2ThrottledException":                      KindThrottled,
	"BatchRequestTooLong":                        KindTooLarge,
	"AWS.SimpleQueueService.BatchRequestTooLong": KindTooLarge,
	"RequestTooLargeException":                   KindTooLarge,
	"InternalException":                          KindServer,
	"ResourceNotReadyException":                  KindServer,
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
	e.Kind, e.Code, e.Message = kindOf(err, c.Endpoint)
	if c.Pinned && e.Code == "NoSuchVersion" {
		e.Kind = KindChanged
	}
	// An error from the SSO provider proves the profile is an SSO one.
	c.SSO = c.SSO || isSSOError(err)
	e.Remedy = remedy(e, c)
	return e
}

// kindOf finds the kind, the service's code and message of err; endpoint is where the
// request went, when known.
func kindOf(err error, endpoint string) (Kind, string, string) {
	switch {
	case errors.Is(err, ErrReadOnly):
		return KindReadOnly, "", ""
	case errors.Is(err, context.Canceled):
		return KindCanceled, "", "canceled"
	case strings.Contains(err.Error(), noInstanceRole):
		// Before the deadline: off EC2 the instance-role lookup ends in a timeout of its own.
		msg, _ := credentialsFailure(err)
		return KindNoCredentials, "", msg
	case errors.Is(err, context.DeadlineExceeded):
		return KindTimeout, "", networkMessage(err, true, endpoint)
	}
	if isSSOError(err) {
		return KindExpiredCredentials, "", "the SSO session has expired or is invalid"
	}
	var answer *AnswerError
	if errors.As(err, &answer) {
		return answer.kind(), "", answer.Error()
	}
	var process *CredentialProcessError
	if errors.As(err, &process) {
		// Before credentialsFailure, whose message would quote the process's output.
		return KindNoCredentials, "", process.Error()
	}
	var api smithy.APIError
	if msg, ok := credentialsFailure(err); ok {
		// A role assumed with expired source credentials fails here too: that one is expiry.
		if errors.As(err, &api) && codeKinds[api.ErrorCode()] == KindExpiredCredentials {
			return KindExpiredCredentials, api.ErrorCode(), api.ErrorMessage()
		}
		return KindNoCredentials, "", msg
	}
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
	if isNetworkError(err) {
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			return KindTimeout, "", networkMessage(err, true, endpoint)
		}
		return KindNetwork, "", networkMessage(err, false, endpoint)
	}
	var inner *Error
	if errors.As(err, &inner) {
		return inner.Kind, inner.Code, inner.Message
	}
	return KindUnknown, "", ""
}

// noInstanceRole is how the SDK's last credential provider says it found nothing.
const noInstanceRole = "no EC2 IMDS role found"

// credentialsFailure reports that no credentials could be had for a request (the SDK wraps
// every provider's failure in one of two phrases) and says so in a line: the SDK's text is
// a chain of every provider it tried.
func credentialsFailure(err error) (string, bool) {
	msg := err.Error()
	const cached, signer = "failed to refresh cached credentials, ", "failed to retrieve credentials"
	i := strings.Index(msg, cached)
	if i < 0 && !strings.Contains(msg, signer) && !strings.Contains(msg, noInstanceRole) {
		return "", false
	}
	// The default chain ends at the EC2 instance role: reaching it means nothing else
	// (environment, shared files, SSO, web identity) provided credentials.
	if strings.Contains(msg, noInstanceRole) {
		return "no AWS credentials found (looked in the environment, the shared config and credentials files, and the EC2 instance role)", true
	}
	if i >= 0 {
		return "could not get AWS credentials: " + msg[i+len(cached):], true
	}
	return "could not get AWS credentials", true
}

// networkMessage says in a line what went wrong talking to the endpoint, instead of the
// SDK's chain ("operation error S3: ListObjectsV2, exceeded maximum number of attempts, 3,
// https response error StatusCode: 0, RequestID: , ..., request send failed, Get ...").
// endpoint names the host when err does not; failing both, the service does.
func networkMessage(err error, timeout bool, endpoint string) string {
	host := endpointOf(err)
	if host == "" {
		host = endpoint
	}
	var op *smithy.OperationError
	if host == "" && errors.As(err, &op) && op.ServiceID != "" {
		host = op.ServiceID
	}
	var dns *net.DNSError
	switch {
	case errors.As(err, &dns):
		name := dns.Name
		if name == "" {
			name = host
		}
		if dns.Err != "" {
			return "DNS lookup of " + name + " failed: " + dns.Err
		}
		return "DNS lookup of " + name + " failed"
	case timeout:
		if host == "" {
			return "timed out"
		}
		return "timed out talking to " + host
	}
	if host == "" {
		host = "the endpoint"
	}
	switch {
	case errors.Is(err, syscall.ECONNREFUSED):
		return "cannot reach " + host + ": connection refused"
	case errors.Is(err, syscall.ECONNRESET), strings.Contains(err.Error(), "connection reset"):
		return "the connection to " + host + " was reset"
	case errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		return "the connection to " + host + " closed before the answer was complete"
	}
	return "cannot reach " + host + ": " + innermost(err).Error()
}

// endpointOf is the host (and port) a failed request went to, or "".
func endpointOf(err error) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		if u, perr := url.Parse(ue.URL); perr == nil && u.Host != "" {
			return u.Host
		}
	}
	var op *net.OpError
	if errors.As(err, &op) && op.Addr != nil {
		return op.Addr.String()
	}
	return ""
}

// endpointHost is the host[:port] of an endpoint override, or "".
func endpointHost(base *string) string {
	if base == nil {
		return ""
	}
	u, err := url.Parse(*base)
	if err != nil {
		return ""
	}
	return u.Host
}

// innermost follows single-error wrapping to the root cause.
func innermost(err error) error {
	for {
		next := errors.Unwrap(err)
		if next == nil {
			return err
		}
		err = next
	}
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
		switch {
		case c.SSO && c.Profile != "":
			return "run aws sso login --profile " + c.Profile
		case c.SSO:
			return "run aws sso login"
		case c.Profile != "":
			return "the credentials of profile " + c.Profile + " have expired; refresh them (aws configure --profile " +
				c.Profile + ", or the tool that issued them)"
		}
		return "the credentials have expired; refresh them (new AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and AWS_SESSION_TOKEN, or choose a profile)"
	case KindNoCredentials:
		var process *CredentialProcessError
		switch {
		case errors.As(e.Err, &process):
			return process.remedy(c.Profile)
		case c.SSO && c.Profile != "":
			return "run aws sso login --profile " + c.Profile
		case c.Profile != "":
			return "profile " + c.Profile + " has no usable credentials: add them with aws configure --profile " + c.Profile +
				", or choose another profile (profile: in the config, --profile or AWS_PROFILE)"
		}
		return "choose an AWS profile: set profile: in the config, pass --profile or export AWS_PROFILE (create one with aws configure, or aws configure sso)"
	case KindInvalid:
		if e.Code == "ValidationException" {
			return validationRemedy(e.Message)
		}
	case KindThrottled:
		return remedyThrottled
	case KindTooLarge:
		return remedyTooLarge
	case KindTimeout:
		return remedyTimeout
	case KindServer:
		if e.Code == "TransactionConflictException" {
			return "another stowage run is writing this request's claim at the same moment; it is retried, and if it still fails, --resume once that run has ended"
		}
		return answerRemedy(e, remedyServer)
	case KindNetwork:
		return remedyNetwork
	case KindChanged:
		return remedyChanged
	case KindReadOnly:
		return remedyReadOnly
	case KindUnknown:
		return answerRemedy(e, "")
	}
	return ""
}

// answerRemedy is the remedy of an operation the SDK failed on (decode_guard.go), or
// otherwise.
func answerRemedy(e *Error, otherwise string) string {
	var answer *AnswerError
	if errors.As(e.Err, &answer) {
		return answer.remedy()
	}
	return otherwise
}

// validationRemedy recognises DynamoDB's answers to a status section that does not fit the
// table. Neither DynamoDB nor dynalite says ResourceNotFoundException for a missing index.
func validationRemedy(msg string) string {
	switch {
	case strings.Contains(msg, "does not have the specified index"):
		return remedyIndex
	case strings.Contains(msg, "key element does not match the schema"):
		return remedyKeyAttr
	case strings.Contains(msg, "Query condition missed key schema element"):
		return remedyIndexKeys
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
