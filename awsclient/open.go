package awsclient

import (
	"context"
	"errors"
	"github.com/aws/smithy-go/logging"
	"net/http"
	"os"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/stowage-cli/stowage/internal/config"
)

// Clients are the AWS clients of one environment.
type Clients struct {
	Objects  *ObjectStore
	Statuses *StatusStore
	// Gateway is nil when the environment has no gateway URL.
	Gateway *Gateway
	Region  string
	Profile string // "" for the default credential chain
	// Identity returns the caller's ARN (sts:GetCallerIdentity), for the header and doctor.
	Identity func(ctx context.Context) (string, error)
}

// OpenOption adjusts Open.
type OpenOption func(*openOptions)

type openOptions struct {
	credentials aws.CredentialsProvider
	gatewayHTTP *http.Client
}

// WithCredentials signs every request with p instead of the default credential chain.
func WithCredentials(p aws.CredentialsProvider) OpenOption {
	return func(o *openOptions) { o.credentials = p }
}

// WithStaticCredentials signs every request with fixed keys: for local stacks (the demo),
// whose servers accept any key.
func WithStaticCredentials(accessKeyID, secretAccessKey string) OpenOption {
	return WithCredentials(credentials.NewStaticCredentialsProvider(accessKeyID, secretAccessKey, ""))
}

// WithGatewayHTTPClient sends gateway requests with c (timeouts, test transports).
func WithGatewayHTTPClient(c *http.Client) OpenOption {
	return func(o *openOptions) { o.gatewayHTTP = c }
}

// fallbackRegion is used for local endpoints when nothing names a region, since the
// SDK refuses to sign without one.
const fallbackRegion = "us-east-1"

// Open builds the clients of env: shared config and credentials files, SSO profiles,
// AWS_PROFILE, AWS_REGION and AWS_ENDPOINT_URL_* work as in the AWS CLI; the environment's
// profile, region and endpoints win over them. S3 switches to path-style addressing when its
// endpoint is overridden. Nothing is sent: the first call finds out whether credentials
// work, and the API key is resolved on the first gateway Send.
func Open(ctx context.Context, env *config.Env, opts ...OpenOption) (*Clients, error) {
	var o openOptions
	for _, opt := range opts {
		opt(&o)
	}
	var load []func(*awsconfig.LoadOptions) error
	if env.Profile != "" {
		load = append(load, awsconfig.WithSharedConfigProfile(env.Profile))
	}
	if env.Region != "" {
		load = append(load, awsconfig.WithRegion(env.Region))
	}
	if o.credentials == nil && env.LocalCredentials != nil {
		lc := env.LocalCredentials
		o.credentials = credentials.NewStaticCredentialsProvider(lc.AccessKeyID, lc.SecretAccessKey, "")
	}
	if o.credentials != nil {
		load = append(load, awsconfig.WithCredentialsProvider(o.credentials))
	}
	cfg, err := awsconfig.LoadDefaultConfig(ctx, load...)
	if err != nil {
		return nil, openError(env, err)
	}
	// The SDK logs to stderr by default (e.g. "Response has no supported checksum"); in the
	// TUI that would write over the screen, and stowage reports errors itself.
	cfg.Logger = logging.Nop{}
	local := env.Endpoints.S3 != "" || env.Endpoints.DynamoDB != "" || env.Endpoints.STS != ""
	if cfg.Region == "" && local {
		cfg.Region = fallbackRegion
	}
	if cfg.Region == "" {
		return nil, &Error{Kind: KindInvalid, Op: "open", Resource: "environment " + env.Name,
			Message: "no AWS region", Remedy: "set region in the environment, --region or AWS_REGION"}
	}
	profile := env.Profile
	if profile == "" {
		profile = os.Getenv("AWS_PROFILE")
	}

	s3Client := s3.NewFromConfig(cfg, func(so *s3.Options) {
		if env.Endpoints.S3 != "" {
			so.BaseEndpoint = aws.String(env.Endpoints.S3)
		}
		if so.BaseEndpoint != nil {
			// Local and VPC endpoints rarely resolve bucket subdomains.
			so.UsePathStyle = true
		}
	})
	ddbClient := dynamodb.NewFromConfig(cfg, func(do *dynamodb.Options) {
		if env.Endpoints.DynamoDB != "" {
			do.BaseEndpoint = aws.String(env.Endpoints.DynamoDB)
		}
	})
	stsClient := sts.NewFromConfig(cfg, func(so *sts.Options) {
		if env.Endpoints.STS != "" {
			so.BaseEndpoint = aws.String(env.Endpoints.STS)
		}
	})

	c := &Clients{
		Objects: NewObjectStore(s3Client, env.Storage.Bucket, ObjectStoreOptions{
			RequestID: env.RequestID,
			ReadOnly:  env.ReadOnly,
			Profile:   profile,
		}),
		Statuses: NewStatusStore(ddbClient, StatusSchema{
			Table:         env.Status.Table,
			KeyAttr:       env.Status.KeyAttr,
			StatusAttr:    env.Status.StatusAttr,
			ErrorAttr:     env.Status.ErrorAttr,
			AttemptsAttr:  env.Status.AttemptsAttr,
			UpdatedAtAttr: env.Status.UpdatedAtAttr,
			Index:         env.Status.Index,
		}),
		Region:  cfg.Region,
		Profile: profile,
	}
	c.Statuses.profile = profile
	c.Identity = func(ctx context.Context) (string, error) {
		out, err := stsClient.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
		if err != nil {
			return "", classify(err, call{Op: "identity", Resource: "sts", Profile: profile,
				Action: "sts:GetCallerIdentity"})
		}
		return aws.ToString(out.Arn), nil
	}

	if gatewayURL := env.GatewayURL(); gatewayURL != "" {
		httpClient := o.gatewayHTTP
		if bc, ok := cfg.HTTPClient.(*awshttp.BuildableClient); ok && httpClient == nil {
			// The SDK's transport carries AWS_CA_BUNDLE and proxy settings: the gateway
			// sits behind the same corporate proxy as the AWS APIs.
			httpClient = &http.Client{Transport: bc.GetTransport()}
		}
		gopts := GatewayOptions{
			BaseURL:    gatewayURL,
			Auth:       AuthMode(env.Gateway.Auth),
			HTTPClient: httpClient,
			ReadOnly:   env.ReadOnly,
			Profile:    profile,
		}
		switch gopts.Auth {
		case AuthAPIKey:
			src := APIKeySource{Env: env.Gateway.APIKeyEnv, SSM: env.Gateway.APIKeySSM,
				SecretID: env.Gateway.APIKeySecret, Literal: env.Gateway.APIKey}
			gopts.APIKeyFunc = func(ctx context.Context) (string, error) {
				// Built on demand: browsing never touches SSM or Secrets Manager.
				return ResolveAPIKey(ctx, src, ssm.NewFromConfig(cfg), secretsmanager.NewFromConfig(cfg))
			}
		case AuthIAM:
			gopts.Credentials = cfg.Credentials
			gopts.Region = cfg.Region
		}
		g, err := NewGateway(gopts)
		if err != nil {
			return nil, &Error{Kind: KindInvalid, Op: "open", Resource: "environment " + env.Name,
				Message: err.Error(), Err: err, Remedy: "check gateway.url and gateway.auth in the config"}
		}
		c.Gateway = g
	}
	return c, nil
}

// openError explains a shared-config failure.
func openError(env *config.Env, err error) error {
	e := &Error{Kind: KindInvalid, Op: "open", Resource: "environment " + env.Name, Err: err}
	var missing awsconfig.SharedConfigProfileNotExistError
	if errors.As(err, &missing) {
		e.Kind = KindNotFound
		e.Remedy = "the profile " + missing.Profile + " is not in ~/.aws/config: check profile in the config, --profile or AWS_PROFILE"
	}
	return e
}
