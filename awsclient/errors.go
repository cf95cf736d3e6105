package awsclient

import (
	"errors"
	"fmt"
)

// Kind classifies a failure so callers can decide to retry, stop or advise.
type Kind int

const (
	KindUnknown Kind = iota
	KindNotFound
	KindAccessDenied
	KindThrottled
	KindExpiredCredentials // expired keys or SSO session
	KindTooLarge
	KindTimeout
	KindServer
	KindNetwork
	KindReadOnly // a write was refused because the environment is read-only
	KindInvalid  // the request was malformed or rejected as such (4xx other than the above)
	KindChanged  // the object changed since it was planned (ETag/version mismatch)
	KindCanceled // the context was cancelled
	// KindNoCredentials: no usable credentials were found (nothing configured, or the
	// profile has none). Distinct from KindExpiredCredentials, whose remedy is to log in
	// again: here the remedy is to configure or choose a profile. Not retryable: the
	// credential chain is read when the clients are opened.
	KindNoCredentials
)

var kindNames = [...]string{"unknown", "not found", "access denied", "throttled", "expired credentials",
	"too large", "timeout", "server error", "network", "read-only", "invalid", "changed", "canceled",
	"no credentials"}

func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return fmt.Sprintf("kind(%d)", int(k))
}

// Retryable reports whether a failure of this kind may succeed if tried again.
func (k Kind) Retryable() bool {
	switch k {
	case KindThrottled, KindTimeout, KindServer, KindNetwork:
		return true
	}
	return false
}

// Error is every error awsclient returns.
type Error struct {
	Kind     Kind
	Op       string // "list", "head", "get", "copy", "put", "get-item", "batch-get", "query", "scan", "send"
	Resource string // "s3://bucket/key", "dynamodb://table", "PUT https://host/product"
	Code     string // service error code, e.g. NoSuchBucket, ResourceNotFoundException, or HTTP status
	Message  string // the service's message, or a one-line summary of a network or credential failure (may come from outside: sanitize before display)
	Remedy   string // what the operator can do, "" when nothing specific
	Err      error
}

func (e *Error) Error() string {
	s := e.Op + " " + e.Resource + ": "
	if e.Code != "" {
		s += e.Code + ": "
	}
	if e.Message != "" {
		s += e.Message
	} else if e.Err != nil {
		s += e.Err.Error()
	} else {
		s += e.Kind.String()
	}
	if e.Remedy != "" {
		s += " (" + e.Remedy + ")"
	}
	return s
}

func (e *Error) Unwrap() error { return e.Err }

// KindOf returns the Kind of err, or KindUnknown.
func KindOf(err error) Kind {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return KindUnknown
}

// ErrReadOnly is wrapped by every write refused in read-only mode.
var ErrReadOnly = errors.New("environment is read-only")

// ErrNotSent is wrapped by a gateway failure that happened before the request reached the
// server (connection refused, DNS, a refusal before sending): the request was certainly not
// delivered and may be sent again.
var ErrNotSent = errors.New("the request was not sent")

// ErrDeliveryUnknown is wrapped by a gateway failure after the request was (at least
// partly) sent and before an answer came (connection lost, timeout, cancel, or a 504 from
// the gateway): the request may or may not have been stored. Redrive journals it as unknown.
var ErrDeliveryUnknown = errors.New("the request may have been delivered")

// DeliveryUnknown reports whether err leaves it unknown whether the request was delivered.
func DeliveryUnknown(err error) bool { return errors.Is(err, ErrDeliveryUnknown) }
