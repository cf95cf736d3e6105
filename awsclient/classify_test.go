package awsclient

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"syscall"
	"testing"

	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/credentials/ssocreds"
	ssotypes "github.com/aws/aws-sdk-go-v2/service/sso/types"
	ssooidctypes "github.com/aws/aws-sdk-go-v2/service/ssooidc/types"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

// apiErr builds what the SDK returns for a service error: an operation error around an
// HTTP response error around the API error.
func apiErr(status int, code, msg string) error {
	return &smithy.OperationError{
		ServiceID: "S3", OperationName: "Op",
		Err: &awshttp.ResponseError{
			ResponseError: &smithyhttp.ResponseError{
				Response: &smithyhttp.Response{Response: &http.Response{StatusCode: status}},
				Err:      &smithy.GenericAPIError{Code: code, Message: msg},
			},
			RequestID: "req",
		},
	}
}

// statusErr is an HTTP error without a service code, like a HEAD 404.
func statusErr(status int) error {
	return &smithy.OperationError{ServiceID: "S3", OperationName: "HeadObject",
		Err: &smithyhttp.ResponseError{
			Response: &smithyhttp.Response{Response: &http.Response{StatusCode: status}},
			Err:      errors.New("http error"),
		}}
}

func TestClassify(t *testing.T) {
	list := call{Op: "list", Resource: "s3://bucket/in/", Action: "s3:ListBucket", NotFound: remedyBucket}
	table := call{Op: "get-item", Resource: "dynamodb://status", Action: "dynamodb:GetItem", NotFound: remedyTable}
	withProfile := list
	withProfile.Profile = "prod"
	pinned := call{Op: "get", Resource: "s3://b/k", Pinned: true}

	tests := []struct {
		name       string
		err        error
		c          call
		kind       Kind
		code       string
		remedyHas  string
		messageHas string
	}{
		{"NoSuchKey", apiErr(404, "NoSuchKey", "The specified key does not exist."), list, KindNotFound, "NoSuchKey", "storage.bucket", "key does not exist"},
		{"NoSuchBucket", apiErr(404, "NoSuchBucket", "gone"), call{Op: "get"}, KindNotFound, "NoSuchBucket", "storage.bucket", "gone"},
		{"missing table", apiErr(400, "ResourceNotFoundException", "Requested resource not found"), table, KindNotFound, "ResourceNotFoundException", "status.table", ""},
		{"missing index", apiErr(400, "ResourceNotFoundException", "The table does not have the specified index: by-status"), table, KindNotFound, "", "status.index", ""},
		{"bare 404", statusErr(404), list, KindNotFound, "404", "storage.bucket", ""},
		{"AccessDenied", apiErr(403, "AccessDenied", "Access Denied"), list, KindAccessDenied, "AccessDenied", "s3:ListBucket on s3://bucket/in/", ""},
		{"bare 403", statusErr(403), list, KindAccessDenied, "403", "s3:ListBucket", ""},
		{"AccessDeniedException", apiErr(400, "AccessDeniedException", "not authorized"), table, KindAccessDenied, "", "dynamodb:GetItem", ""},
		{"UnrecognizedClient", apiErr(400, "UnrecognizedClientException", "bad token"), table, KindAccessDenied, "", "access key", ""},
		{"InvalidAccessKeyId", apiErr(403, "InvalidAccessKeyId", ""), withProfile, KindAccessDenied, "", "profile prod", ""},
		{"SignatureDoesNotMatch", apiErr(403, "SignatureDoesNotMatch", ""), list, KindAccessDenied, "", "secret", ""},
		{"SlowDown", apiErr(503, "SlowDown", "Please reduce"), list, KindThrottled, "SlowDown", "rate", ""},
		{"ThrottlingException", apiErr(400, "ThrottlingException", ""), table, KindThrottled, "", "", ""},
		{"ProvisionedThroughput", apiErr(400, "ProvisionedThroughputExceededException", ""), table, KindThrottled, "", "", ""},
		{"RequestLimitExceeded", apiErr(400, "RequestLimitExceeded", ""), table, KindThrottled, "", "", ""},
		{"bare 429", statusErr(429), list, KindThrottled, "429", "", ""},
		{"ExpiredToken with profile", apiErr(400, "ExpiredToken", "expired"), withProfile, KindExpiredCredentials, "", "aws sso login --profile prod", ""},
		{"ExpiredTokenException", apiErr(400, "ExpiredTokenException", ""), table, KindExpiredCredentials, "", "refresh your credentials", ""},
		{"RequestExpired", apiErr(400, "RequestExpired", ""), table, KindExpiredCredentials, "", "", ""},
		{"SSO invalid token", fmt.Errorf("get identity: %w", &ssocreds.InvalidTokenError{Err: errors.New("x")}), withProfile, KindExpiredCredentials, "", "aws sso login --profile prod", "SSO session"},
		{"SSO unauthorized", fmt.Errorf("retrieve: %w", &ssotypes.UnauthorizedException{}), list, KindExpiredCredentials, "", "aws sso login", ""},
		{"SSO OIDC grant", fmt.Errorf("refresh: %w", &ssooidctypes.InvalidGrantException{}), withProfile, KindExpiredCredentials, "", "--profile prod", ""},
		{"SSO OIDC expired", &ssooidctypes.ExpiredTokenException{}, list, KindExpiredCredentials, "", "", ""},
		{"SSO token text", errors.New("refresh cached SSO token failed, boom"), list, KindExpiredCredentials, "", "", ""},
		{"credential cache", errors.New("operation error S3: ListObjectsV2, failed to refresh cached credentials, no EC2 IMDS role found"), withProfile, KindExpiredCredentials, "", "--profile prod", ""},
		{"EntityTooLarge", apiErr(400, "EntityTooLarge", ""), list, KindTooLarge, "", "10 MiB", ""},
		{"bare 413", statusErr(413), list, KindTooLarge, "413", "", ""},
		{"deadline", fmt.Errorf("op: %w", context.DeadlineExceeded), list, KindTimeout, "", "retry", ""},
		{"bare 504", statusErr(504), list, KindTimeout, "504", "", ""},
		{"RequestTimeout", apiErr(400, "RequestTimeout", ""), list, KindTimeout, "", "", ""},
		{"InternalError", apiErr(500, "InternalError", ""), list, KindServer, "", "retry later", ""},
		{"ServiceUnavailable", apiErr(503, "ServiceUnavailable", ""), list, KindServer, "", "", ""},
		{"bare 500", statusErr(500), list, KindServer, "500", "", ""},
		{"unknown 5xx code", apiErr(502, "Weird", ""), list, KindServer, "Weird", "", ""},
		{"dial refused", &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}, list, KindNetwork, "", "endpoint", ""},
		{"dns", &net.DNSError{Err: "no such host", Name: "s3.example"}, list, KindNetwork, "", "", ""},
		{"reset", fmt.Errorf("read: %w", syscall.ECONNRESET), list, KindNetwork, "", "", ""},
		{"eof mid-response", fmt.Errorf("deserialize: %w", io.ErrUnexpectedEOF), list, KindNetwork, "", "", ""},
		{"net timeout", &net.OpError{Op: "read", Err: timeoutErr{}}, list, KindTimeout, "", "", ""},
		{"canceled", fmt.Errorf("op: %w", &smithy.CanceledError{Err: context.Canceled}), list, KindCanceled, "", "", ""},
		{"precondition", apiErr(412, "PreconditionFailed", "At least one of the pre-conditions you specified did not hold"), pinned, KindChanged, "", "refresh", ""},
		{"vanished version", apiErr(404, "NoSuchVersion", ""), pinned, KindChanged, "", "", ""},
		{"read-only", fmt.Errorf("put: %w", ErrReadOnly), list, KindReadOnly, "", "read-only", ""},
		{"validation", apiErr(400, "ValidationException", "bad key"), table, KindInvalid, "ValidationException", "", "bad key"},
		{"unknown 4xx code", apiErr(400, "Odd", ""), table, KindInvalid, "", "", ""},
		{"plain error", errors.New("something else"), list, KindUnknown, "", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := classify(tt.err, tt.c)
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("classify returned %T", err)
			}
			if e.Kind != tt.kind {
				t.Fatalf("kind = %v, want %v (%v)", e.Kind, tt.kind, err)
			}
			if tt.code != "" && e.Code != tt.code {
				t.Errorf("code = %q, want %q", e.Code, tt.code)
			}
			if !strings.Contains(e.Remedy, tt.remedyHas) {
				t.Errorf("remedy %q lacks %q", e.Remedy, tt.remedyHas)
			}
			if !strings.Contains(e.Message, tt.messageHas) {
				t.Errorf("message %q lacks %q", e.Message, tt.messageHas)
			}
			if e.Op != tt.c.Op || e.Resource != tt.c.Resource || !errors.Is(err, tt.err) {
				t.Errorf("op/resource/cause lost: %#v", e)
			}
		})
	}
}

type timeoutErr struct{}

func (timeoutErr) Error() string   { return "i/o timeout" }
func (timeoutErr) Timeout() bool   { return true }
func (timeoutErr) Temporary() bool { return true }

func TestClassifyKeepsNilAndClassified(t *testing.T) {
	if classify(nil, call{}) != nil {
		t.Fatal("nil became an error")
	}
	orig := &Error{Kind: KindThrottled, Op: "batch-get"}
	if got := classify(fmt.Errorf("wrapped: %w", orig), call{Op: "other"}); KindOf(got) != KindThrottled {
		t.Fatalf("got %v", got)
	}
}

func TestErrorMessageNamesOpResourceCodeAndRemedy(t *testing.T) {
	err := classify(apiErr(403, "AccessDenied", "Access Denied"),
		call{Op: "list", Resource: "s3://bucket/prefix", Action: "s3:ListBucket"})
	want := "list s3://bucket/prefix: AccessDenied: Access Denied (the credentials need s3:ListBucket on s3://bucket/prefix)"
	if err.Error() != want {
		t.Fatalf("got  %q\nwant %q", err.Error(), want)
	}
}
