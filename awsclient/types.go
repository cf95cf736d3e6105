// Package awsclient talks to S3, DynamoDB and the API Gateway endpoint of a storage-first
// stack and returns stowage's own types, never SDK types. Every call takes ctx first.
// Every error it returns is an *Error with a Kind and, where one exists, a remedy.
// It must not import tui, redrive or the CLI.
package awsclient

import (
	"io"
	"time"
)

// Object is one stored request as S3 describes it.
type Object struct {
	Key             string
	RequestID       string // derived from Key by the environment's key mapping
	Size            int64
	LastModified    time.Time
	ETag            string // without quotes
	ContentType     string
	ContentEncoding string
	VersionID       string
	StorageClass    string
	Metadata        map[string]string // user metadata (x-amz-meta-*), keys lower-case
}

// Page is one ListObjectsV2 page.
type Page struct {
	Objects   []Object
	NextToken string // "" when the listing is complete
}

// Status is the processing status item for one request.
type Status struct {
	RequestID string
	State     string
	Error     string
	Attempts  int
	UpdatedAt time.Time
	// Item is the whole DynamoDB item as plain JSON values (string, float64/json.Number,
	// bool, nil, []any, map[string]any), for display.
	Item map[string]any
}

// StatusPage is one page of a status query or scan.
type StatusPage struct {
	Items     []Status
	NextToken string // "" when done
}

// Route is a gateway route: a method and a path template with {bucket}, {key} and
// {requestId} placeholders.
type Route struct {
	Method string
	Path   string
}

// RouteVars fill a Route's placeholders.
type RouteVars struct {
	Bucket    string
	Key       string
	RequestID string
}

// Payload is a body to send through the gateway. Open is called once per attempt (and
// once more to hash it for SigV4 when SHA256 is empty), so the body is streamed, never
// buffered whole.
type Payload struct {
	Open            func() (io.ReadCloser, error)
	Size            int64
	ContentType     string
	ContentEncoding string
	SHA256          string            // optional lower-case hex of the body
	Headers         map[string]string // extra headers, e.g. idempotency ids
}

// GatewayResponse is what the gateway answered.
type GatewayResponse struct {
	StatusCode    int
	RequestID     string // x-amzn-RequestId: the new request ID for PUT /product
	Body          []byte // at most MaxGatewayBody bytes
	BodyTruncated bool
	Duration      time.Duration
}

// MaxGatewayBody is how much of a gateway answer is kept.
const MaxGatewayBody = 4 << 10

// MaxGatewayPayload is API Gateway's request size limit.
const MaxGatewayPayload = 10485760
