package awsclient

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"syscall"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
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
	withSSO := withProfile
	withSSO.SSO = true
	localS3 := list
	localS3.Endpoint = "127.0.0.1:4566"
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
		{"ExpiredToken with SSO profile", apiErr(400, "ExpiredToken", "expired"), withSSO, KindExpiredCredentials, "", "run aws sso login --profile prod", ""},
		{"ExpiredToken with plain profile", apiErr(400, "ExpiredToken", "expired"), withProfile, KindExpiredCredentials, "", "credentials of profile prod have expired", ""},
		{"ExpiredTokenException", apiErr(400, "ExpiredTokenException", ""), table, KindExpiredCredentials, "", "AWS_SESSION_TOKEN", ""},
		{"RequestExpired", apiErr(400, "RequestExpired", ""), table, KindExpiredCredentials, "", "", ""},
		{"SSO invalid token", fmt.Errorf("get identity: %w", &ssocreds.InvalidTokenError{Err: errors.New("x")}), withProfile, KindExpiredCredentials, "", "aws sso login --profile prod", "SSO session"},
		{"SSO unauthorized", fmt.Errorf("retrieve: %w", &ssotypes.UnauthorizedException{}), list, KindExpiredCredentials, "", "aws sso login", ""},
		{"SSO OIDC grant", fmt.Errorf("refresh: %w", &ssooidctypes.InvalidGrantException{}), withProfile, KindExpiredCredentials, "", "--profile prod", ""},
		{"SSO OIDC expired", &ssooidctypes.ExpiredTokenException{}, list, KindExpiredCredentials, "", "", ""},
		{"SSO token text", errors.New("refresh cached SSO token failed, boom"), list, KindExpiredCredentials, "", "", ""},
		{"no credentials, no profile", errors.New("operation error S3: ListObjectsV2, get identity: get credentials: failed to refresh cached credentials, no EC2 IMDS role found, operation error ec2imds: GetMetadata, access disabled"),
			list, KindNoCredentials, "", "set profile: in the config, pass --profile or export AWS_PROFILE (create one with aws configure", "no AWS credentials found"},
		{"no credentials off EC2", fmt.Errorf("operation error S3: ListObjectsV2, get identity: get credentials: failed to refresh cached credentials, no EC2 IMDS role found, operation error ec2imds: GetMetadata, canceled, %w", context.DeadlineExceeded),
			list, KindNoCredentials, "", "AWS_PROFILE", "no AWS credentials found"},
		{"no credentials, plain profile", errors.New("failed to refresh cached credentials, no EC2 IMDS role found"), withProfile, KindNoCredentials, "", "aws configure --profile prod", ""},
		{"no credentials, SSO profile", errors.New("failed to refresh cached credentials, no EC2 IMDS role found"), withSSO, KindNoCredentials, "", "run aws sso login --profile prod", ""},
		{"credential process fails", errors.New("operation error S3: ListObjectsV2, failed to refresh cached credentials, process provider error: exit status 1"), list, KindNoCredentials, "", "AWS_PROFILE", "could not get AWS credentials: process provider error: exit status 1"},
		{"assumed role with expired source keys", fmt.Errorf("failed to refresh cached credentials, %w", apiErr(400, "ExpiredToken", "The security token included in the request is expired")), withProfile, KindExpiredCredentials, "ExpiredToken", "profile prod have expired", "expired"},
		{"EntityTooLarge", apiErr(400, "EntityTooLarge", ""), list, KindTooLarge, "", "10 MiB", ""},
		{"bare 413", statusErr(413), list, KindTooLarge, "413", "", ""},
		{"deadline", fmt.Errorf("op: %w", context.DeadlineExceeded), list, KindTimeout, "", "retry", "timed out"},
		{"deadline at an endpoint", fmt.Errorf("op: %w", context.DeadlineExceeded), localS3, KindTimeout, "", "endpoint URL, region and network", "timed out talking to 127.0.0.1:4566"},
		{"deadline in the SDK", &smithy.OperationError{ServiceID: "S3", OperationName: "ListObjectsV2", Err: &smithy.CanceledError{Err: context.DeadlineExceeded}}, list, KindTimeout, "", "", "timed out talking to S3"},
		{"bare 504", statusErr(504), list, KindTimeout, "504", "", ""},
		{"RequestTimeout", apiErr(400, "RequestTimeout", ""), list, KindTimeout, "", "", ""},
		{"InternalError", apiErr(500, "InternalError", ""), list, KindServer, "", "retry later", ""},
		{"ServiceUnavailable", apiErr(503, "ServiceUnavailable", ""), list, KindServer, "", "", ""},
		{"bare 500", statusErr(500), list, KindServer, "500", "", ""},
		{"unknown 5xx code", apiErr(502, "Weird", ""), list, KindServer, "Weird", "", ""},
		{"dial refused", &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}, list, KindNetwork, "", "check the endpoint URL, region and network", "cannot reach the endpoint: connection refused"},
		{"dial refused in the SDK", sdkSendErr("http://127.0.0.1:1/b?list-type=2", &net.OpError{Op: "dial", Net: "tcp",
			Addr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 1}, Err: &os.SyscallError{Syscall: "connect", Err: syscall.ECONNREFUSED}}),
			list, KindNetwork, "", "", "cannot reach 127.0.0.1:1: connection refused"},
		{"dns", &net.DNSError{Err: "no such host", Name: "s3.example"}, list, KindNetwork, "", "", "DNS lookup of s3.example failed: no such host"},
		{"dns in the SDK", sdkSendErr("https://s3.nowhere.example/b", &net.OpError{Op: "dial", Net: "tcp",
			Err: &net.DNSError{Err: "no such host", Name: "s3.nowhere.example", IsNotFound: true}}), list, KindNetwork, "", "", "DNS lookup of s3.nowhere.example failed: no such host"},
		{"reset", fmt.Errorf("read: %w", syscall.ECONNRESET), localS3, KindNetwork, "", "", "the connection to 127.0.0.1:4566 was reset"},
		{"eof mid-response", fmt.Errorf("deserialize: %w", io.ErrUnexpectedEOF), list, KindNetwork, "", "", "closed before the answer was complete"},
		{"net timeout", &net.OpError{Op: "read", Err: timeoutErr{}}, list, KindTimeout, "", "", "timed out"},
		{"net timeout in the SDK", sdkSendErr("http://10.0.0.1:4566/b", &net.OpError{Op: "read", Err: timeoutErr{}}), list, KindTimeout, "", "", "timed out talking to 10.0.0.1:4566"},
		{"canceled", fmt.Errorf("op: %w", &smithy.CanceledError{Err: context.Canceled}), list, KindCanceled, "", "", ""},
		{"precondition", apiErr(412, "PreconditionFailed", "At least one of the pre-conditions you specified did not hold"), pinned, KindChanged, "", "refresh", ""},
		{"vanished version", apiErr(404, "NoSuchVersion", ""), pinned, KindChanged, "", "", ""},
		{"read-only", fmt.Errorf("put: %w", ErrReadOnly), list, KindReadOnly, "", "read-only", ""},
		{"validation", apiErr(400, "ValidationException", "bad key"), table, KindInvalid, "ValidationException", "", "bad key"},
		{"wrong key_attr", apiErr(400, "ValidationException", "The provided key element does not match the schema"), table, KindInvalid, "ValidationException", "check status.key_attr in the config", ""},
		{"missing index (ValidationException)", apiErr(400, "ValidationException", "The table does not have the specified index: by-status"), table, KindInvalid, "ValidationException", "check status.index in the config (or remove it to use a Scan)", ""},
		{"index keys", apiErr(400, "ValidationException", "Query condition missed key schema element: status"), table, KindInvalid, "ValidationException", "status.status_attr", ""},
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

// sdkSendErr is the SDK's chain for a request that never got an answer.
func sdkSendErr(u string, cause error) error {
	return &smithy.OperationError{ServiceID: "S3", OperationName: "ListObjectsV2",
		Err: &awshttp.ResponseError{ResponseError: &smithyhttp.ResponseError{
			Response: &smithyhttp.Response{Response: &http.Response{}},
			Err:      &smithyhttp.RequestSendError{Err: &url.Error{Op: "Get", URL: u, Err: cause}},
		}}}
}

// The SSO provider's own failures prove an SSO profile, whatever the call was told.
func TestClassifySSOProviderErrorSaysSSOLogin(t *testing.T) {
	err := classify(fmt.Errorf("get credentials: %w", &ssocreds.InvalidTokenError{}), call{Op: "list", Profile: "work"})
	var e *Error
	if !errors.As(err, &e) || e.Kind != KindExpiredCredentials || e.Remedy != "run aws sso login --profile work" {
		t.Fatalf("err = %#v", err)
	}
}

func TestUsesSSO(t *testing.T) {
	for _, tc := range []struct {
		name string
		src  []any
		want bool
	}{
		{"none", nil, false},
		{"keys", []any{awsconfig.SharedConfig{Profile: "plain"}}, false},
		{"sso session", []any{awsconfig.SharedConfig{Profile: "work", SSOSessionName: "corp"}}, true},
		{"legacy sso", []any{awsconfig.SharedConfig{Profile: "old", SSOStartURL: "https://corp.awsapps.com/start"}}, true},
		{"role on an sso profile", []any{awsconfig.SharedConfig{Profile: "admin", RoleARN: "arn:aws:iam::1:role/a",
			Source: &awsconfig.SharedConfig{Profile: "work", SSOSessionName: "corp"}}}, true},
		{"role on keys", []any{awsconfig.SharedConfig{Profile: "admin", RoleARN: "arn:aws:iam::1:role/a",
			Source: &awsconfig.SharedConfig{Profile: "plain"}}}, false},
	} {
		if got := usesSSO(aws.Config{ConfigSources: tc.src}); got != tc.want {
			t.Errorf("%s: usesSSO = %v, want %v", tc.name, got, tc.want)
		}
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
