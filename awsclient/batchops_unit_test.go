package awsclient

import (
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3control"

	"github.com/stowage-cli/stowage/internal/config"
)

// The endpoint rules put the account before the host; only a loopback endpoint loses it.
func TestJobStoreAccountHostLabelOnlyOffLoopback(t *testing.T) {
	for _, tc := range []struct {
		endpoint, host string
	}{
		{"http://127.0.0.1:4510", "127.0.0.1:4510"},
		{"https://s3-control.vpce.example.com", "123456789012.s3-control.vpce.example.com"},
	} {
		env := &config.Env{Name: "t", Endpoints: config.Endpoints{S3Control: tc.endpoint}, BatchOps: config.BatchOps{
			RoleARN: "arn:aws:iam::123456789012:role/r", ManifestPrefix: "s3://ops-bucket/m/", ReportPrefix: "s3://ops-bucket/r/", AccountID: "123456789012"}}
		j := openJobs(aws.Config{Region: "eu-west-1"}, env, "", false)
		o := j.control.Options()
		e, err := o.EndpointResolverV2.ResolveEndpoint(context.Background(), s3control.EndpointParameters{
			Region: aws.String("eu-west-1"), Endpoint: aws.String(tc.endpoint), AccountId: aws.String("123456789012"), RequiresAccountId: aws.Bool(true),
			UseFIPS: aws.Bool(false), UseDualStack: aws.Bool(false)})
		if err != nil || e.URI.Host != tc.host {
			t.Errorf("%s: host %q (%v), want %q", tc.endpoint, e.URI.Host, err, tc.host)
		}
	}
	if openJobs(aws.Config{}, &config.Env{}, "", false) != nil {
		t.Error("a JobStore without batch_ops")
	}
}
