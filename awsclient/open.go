package awsclient

import (
	"context"
	"errors"
	"net/http"
	"os"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go/logging"

	"github.com/stowage-cli/stowage/internal/config"
)

// Clients are the AWS clients of one environment.
type Clients struct {
	Objects  *ObjectStore
	Statuses *StatusStore
	// Gateway is nil when the environment has no gateway URL.
	Gateway *Gateway
	// Leases is nil when the environment has no redrive.lease_table.
	Leases *LeaseStore
	// Events sends synthesized S3 events to the processor's queue, function or bus
	// (events.go); nil when the environment names none.
	Events *EventSender
	// Logs reads the processor's and the gateway's CloudWatch Logs (logs.go); nil without
	// a logs section.
	Logs *LogReader
	// Jobs creates and tracks S3 Batch Operations jobs (batchops.go); nil without a
	// batch_ops section.
	Jobs *JobStore
	// OffMachine names the sections (events, logs, batch_ops) left out of a local stack
	// because their services have no endpoint on this machine.
	OffMachine []string
	Region     string
	Profile    string // "" for the default credential chain
	// Local reports a local stack: S3 and DynamoDB, as resolved from the config's endpoints,
	// AWS_ENDPOINT_URL_* and the shared config, are both on this machine. Without an STS
	// endpoint of its own, a local stack never asks AWS STS anything.
	Local bool
	// Identity returns the caller's ARN (sts:GetCallerIdentity), for the header and doctor;
	// "" and no error on a local stack without an STS endpoint. Asked once, then cached.
	Identity func(ctx context.Context) (string, error)
	// Account returns the account ID the credentials resolved to, from the same cached
	// call as Identity, for the header, the redrive plan and the audit; "" on a local stack.
	Account func(ctx context.Context) (string, error)
	// Notices are things the operator must be told once on stderr before anything else
	// (such as AWS_PROFILE being overridden by the environment's profile). They may quote
	// environment variables: sanitize before display.
	Notices []string
}

// OpenOption adjusts Open.
type OpenOption func(*openOptions)

type openOptions struct {
	credentials aws.CredentialsProvider
	gatewayHTTP *http.Client
	httpWrap    func(http.RoundTripper) http.RoundTripper
}

// WithHTTPWrap wraps the transport of every client Open builds (S3, DynamoDB, STS, SSM,
// Secrets Manager and the gateway) with wrap, e.g. to log requests for --debug. The SDK's
// transport settings (AWS_CA_BUNDLE, proxy) are kept underneath.
func WithHTTPWrap(wrap func(http.RoundTripper) http.RoundTripper) OpenOption {
	return func(o *openOptions) { o.httpWrap = wrap }
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
// profile, region and endpoints (S3, DynamoDB, STS, SSM, Secrets Manager) win over them. S3
// switches to path-style addressing when its endpoint is overridden. Nothing is sent: the
// first call finds out whether credentials work, and the API key is resolved on the first
// gateway Send.
//
// The environment's local_credentials sign every request (its profile is then unused), and
// Open refuses them unless every endpoint they would reach is on this machine.
func Open(ctx context.Context, env *config.Env, opts ...OpenOption) (*Clients, error) {
	var o openOptions
	for _, opt := range opts {
		opt(&o)
	}
	localKeys := o.credentials == nil && env.LocalCredentials != nil
	var load []func(*awsconfig.LoadOptions) error
	var notices []string
	if env.Profile != "" && !localKeys {
		load = append(load, awsconfig.WithSharedConfigProfile(env.Profile))
		if ap := os.Getenv("AWS_PROFILE"); ap != "" && ap != env.Profile && o.credentials == nil {
			// env.Profile is the config's profile: or --profile, which Select applied.
			notices = append(notices, "AWS_PROFILE="+ap+" is ignored: environment "+env.Name+" signs with profile "+
				env.Profile+" (profile: in the config, or --profile)")
		}
	}
	if env.Region != "" {
		load = append(load, awsconfig.WithRegion(env.Region))
	}
	if localKeys {
		// Checked here too, not only by config: a caller may have changed env after
		// validation, and these keys must never leave the machine.
		if err := env.LocalCredentialsError(); err != nil {
			return nil, &Error{Kind: KindInvalid, Op: "open", Resource: "environment " + env.Name, Message: err.Error(), Err: err,
				Remedy: "point the environment's endpoints at this machine, or use profile instead of local_credentials"}
		}
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
	// Every client's requests keep their connection when the answer comes before the
	// request's body was written to its end (request_body.go).
	// An answer the SDK cannot handle (it panics on some) is an error, not a crash
	// (decode_guard.go).
	cfg.APIOptions = append(cfg.APIOptions, KeepConnectionsOnEarlyResponse, GuardAnswers)
	// The SDK's transport, captured before any wrap: the gateway reuses it. Without a CA
	// bundle the SDK leaves the client for each service to build, with its own transport's
	// 10 idle connections: built here instead, so that keepConnections applies to every one.
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = awshttp.NewBuildableClient()
	}
	var sdkTransport *http.Transport
	if bc, ok := cfg.HTTPClient.(*awshttp.BuildableClient); ok {
		bc = bc.WithTransportOptions(keepConnections)
		cfg.HTTPClient = bc
		sdkTransport = bc.GetTransport()
	}
	if o.httpWrap != nil {
		cfg.HTTPClient = wrapHTTPClient(cfg.HTTPClient, o.httpWrap)
	}
	ep := env.Endpoints
	local := ep.S3 != "" || ep.DynamoDB != "" || ep.STS != "" || ep.SSM != "" || ep.SecretsManager != ""
	if cfg.Region == "" && local {
		cfg.Region = fallbackRegion
	}
	if cfg.Region == "" {
		return nil, &Error{Kind: KindInvalid, Op: "open", Resource: "environment " + env.Name,
			Message: "no AWS region", Remedy: "set region in the environment, --region or AWS_REGION"}
	}
	// The profile named in remedies is the one whose credentials sign: none when the keys
	// are fixed (local_credentials, WithCredentials).
	profile := env.Profile
	if profile == "" {
		profile = os.Getenv("AWS_PROFILE")
	}
	if o.credentials != nil {
		profile = ""
	}
	sso := o.credentials == nil && usesSSO(cfg)
	if o.credentials == nil {
		if cmd := credentialProcess(cfg); cmd != "" && cfg.Credentials != nil {
			cfg.Credentials = processCredentials{CredentialsProvider: cfg.Credentials, command: cmd}
		}
	}

	s3Client := s3.NewFromConfig(cfg, func(so *s3.Options) {
		if env.Endpoints.S3 != "" {
			so.BaseEndpoint = aws.String(env.Endpoints.S3)
		}
		if so.BaseEndpoint != nil {
			// Local and VPC endpoints rarely resolve bucket subdomains.
			so.UsePathStyle = true
		}
	}, cacheS3Endpoints)
	ddbClient := dynamodb.NewFromConfig(cfg, func(do *dynamodb.Options) {
		if env.Endpoints.DynamoDB != "" {
			do.BaseEndpoint = aws.String(env.Endpoints.DynamoDB)
		}
	}, cacheDynamoDBEndpoints)
	stsClient := sts.NewFromConfig(cfg, func(so *sts.Options) {
		if env.Endpoints.STS != "" {
			so.BaseEndpoint = aws.String(env.Endpoints.STS)
		}
	})

	// Built on demand by the API key resolver: browsing never touches SSM or Secrets Manager.
	ssmClient := func() *ssm.Client {
		return ssm.NewFromConfig(cfg, func(so *ssm.Options) {
			if ep.SSM != "" {
				so.BaseEndpoint = aws.String(ep.SSM)
			}
		})
	}
	secretsClient := func() *secretsmanager.Client {
		return secretsmanager.NewFromConfig(cfg, func(so *secretsmanager.Options) {
			if ep.SecretsManager != "" {
				so.BaseEndpoint = aws.String(ep.SecretsManager)
			}
		})
	}

	c := &Clients{
		Objects: NewObjectStore(s3Client, env.Storage.Bucket, ObjectStoreOptions{
			RequestID:  env.RequestID,
			ReadOnly:   env.ReadOnly,
			Profile:    profile,
			SSOProfile: sso,
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
	c.Statuses.profile, c.Statuses.sso = profile, sso
	if env.Redrive.LeaseTable != "" {
		c.Leases = NewLeaseStore(ddbClient, env.Redrive.LeaseTable, env.ReadOnly)
		c.Leases.profile, c.Leases.sso = profile, sso
	}
	c.Local = isLocal(s3Client.Options().BaseEndpoint) && isLocal(ddbClient.Options().BaseEndpoint)
	c.Events = openEvents(cfg, env, profile, sso)
	c.Logs = openLogs(cfg, env, profile, sso)
	c.Jobs = openJobs(cfg, env, profile, sso)
	if c.Local {
		c.leaveOutOffMachine(env)
	}
	c.Notices = notices
	// A local stack asks only an STS endpoint of its own, and local keys only one on loopback.
	stsBase := stsClient.Options().BaseEndpoint
	askSTS := !c.Local || (stsBase != nil && (!localKeys || isLocal(stsBase)))
	caller := &callerCache{get: func(ctx context.Context) (callerIdentity, error) {
		if !askSTS {
			// A local stack (its keys may be local_credentials, meant for this machine only):
			// real STS would receive a request signed with them, for nothing.
			return callerIdentity{}, nil
		}
		out, err := stsClient.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
		if err != nil {
			return callerIdentity{}, classify(err, call{Op: "identity", Resource: "sts", Profile: profile, SSO: sso,
				Action: "sts:GetCallerIdentity"})
		}
		return callerIdentity{arn: aws.ToString(out.Arn), account: aws.ToString(out.Account), userID: aws.ToString(out.UserId)}, nil
	}}
	c.Identity = func(ctx context.Context) (string, error) {
		id, err := caller.lookup(ctx)
		return id.arn, err
	}
	c.Account = func(ctx context.Context) (string, error) {
		id, err := caller.lookup(ctx)
		return id.account, err
	}
	if c.Events != nil {
		// The events' userIdentity.principalId is the caller's unique ID, as S3 writes it.
		c.Events.SetCaller(func(ctx context.Context) (string, error) {
			id, err := caller.lookup(ctx)
			return id.userID, err
		})
	}

	if gatewayURL := env.GatewayURL(); gatewayURL != "" {
		httpClient := o.gatewayHTTP
		if httpClient == nil && sdkTransport != nil {
			// The SDK's transport carries AWS_CA_BUNDLE and proxy settings: the gateway
			// sits behind the same corporate proxy as the AWS APIs. GetTransport gave
			// this copy to the gateway alone: its requests carry the bodies.
			sdkTransport.WriteBufferSize = gatewayWriteBuffer
			httpClient = &http.Client{Transport: sdkTransport}
		}
		if o.httpWrap != nil {
			if httpClient == nil {
				httpClient = &http.Client{}
			}
			wrapped := *httpClient
			base := wrapped.Transport
			if base == nil {
				base = http.DefaultTransport
			}
			wrapped.Transport = o.httpWrap(base)
			httpClient = &wrapped
		}
		gopts := GatewayOptions{
			BaseURL:    gatewayURL,
			Auth:       AuthMode(env.Gateway.Auth),
			HTTPClient: httpClient,
			ReadOnly:   env.ReadOnly,
			Profile:    profile,
			SSOProfile: sso,
		}
		switch gopts.Auth {
		case AuthAPIKey:
			src := APIKeySource{Env: env.Gateway.APIKeyEnv, SSM: env.Gateway.APIKeySSM,
				SecretID: env.Gateway.APIKeySecret, Literal: env.Gateway.APIKey}
			gopts.APIKeyFunc = func(ctx context.Context) (string, error) {
				return ResolveAPIKey(ctx, src, ssmClient(), secretsClient())
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

// maxIdleConnsPerHost is how many idle connections the transport keeps to each endpoint.
// The SDK keeps 10: a redrive or a sharded listing with more calls in flight than that
// closed a connection after nearly every call and dialled a new one (a redrive at 16 in
// flight spent about a twentieth of its CPU dialling, and each new connection costs a
// round trip more). 128 covers inventory.MaxParallel shards twice over.
const maxIdleConnsPerHost = 128

// gatewayWriteBuffer is the gateway connections' write buffer: a redrive's body streams
// from its GET into the PUT through it, and the transport's 4 KiB default wrote a 10 KB
// body in three or four system calls.
const gatewayWriteBuffer = 64 << 10

func keepConnections(t *http.Transport) {
	t.MaxIdleConnsPerHost = maxIdleConnsPerHost
	t.MaxIdleConns = 4 * maxIdleConnsPerHost
}

// isLocal reports whether a client's resolved base endpoint is on this machine (nil: AWS).
func isLocal(base *string) bool { return base != nil && config.IsLoopbackURL(*base) }

type callerIdentity struct{ arn, account, userID string }

// callerCache asks who the caller is once; a failure is not cached, so a later call
// (after aws sso login) may succeed.
type callerCache struct {
	mu  sync.Mutex
	get func(context.Context) (callerIdentity, error)
	id  *callerIdentity
}

func (c *callerCache) lookup(ctx context.Context) (callerIdentity, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.id != nil {
		return *c.id, nil
	}
	id, err := c.get(ctx)
	if err != nil {
		return callerIdentity{}, err
	}
	c.id = &id
	return id, nil
}

// wrapHTTPClient returns an SDK HTTP client whose transport is wrap(the SDK's transport),
// keeping the SDK client's timeout.
func wrapHTTPClient(c aws.HTTPClient, wrap func(http.RoundTripper) http.RoundTripper) aws.HTTPClient {
	if c == nil {
		// What each SDK client would build for itself.
		c = awshttp.NewBuildableClient()
	}
	if bc, ok := c.(*awshttp.BuildableClient); ok {
		return &http.Client{Transport: wrap(bc.GetTransport()), Timeout: bc.GetTimeout()}
	}
	return &http.Client{Transport: wrap(doerTransport{c})}
}

// doerTransport lets a caller-supplied SDK HTTP client (only Do) sit under a wrap.
type doerTransport struct{ c aws.HTTPClient }

func (d doerTransport) RoundTrip(r *http.Request) (*http.Response, error) { return d.c.Do(r) }

// usesSSO reports whether the profile cfg was loaded with signs in through IAM Identity
// Center, itself or through the source profile of a role it assumes.
func usesSSO(cfg aws.Config) bool {
	for _, src := range cfg.ConfigSources {
		sc, ok := src.(awsconfig.SharedConfig)
		if !ok {
			continue
		}
		for p, depth := &sc, 0; p != nil && depth < 10; p, depth = p.Source, depth+1 {
			if p.SSOSessionName != "" || p.SSOStartURL != "" || p.SSOSession != nil {
				return true
			}
		}
	}
	return false
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

// leaveOutOffMachine keeps a local stack on this machine: a section whose service has no
// endpoint on loopback (events, logs, batch_ops copied from a real environment, say) is
// left out rather than sent to AWS with keys meant for local servers, as STS is above.
func (c *Clients) leaveOutOffMachine(env *config.Env) {
	// The hosts each client resolved (config endpoints, AWS_ENDPOINT_URL_*, shared
	// config); "" is AWS itself.
	off := func(host string) bool { return host == "" || !config.IsLoopbackURL("http://"+host) }
	if e := c.Events; e != nil {
		ev := env.Events
		if (ev.SQSQueueURL != "" && off(e.sqsHost)) || (ev.LambdaFunction != "" && off(e.lambdaHost)) ||
			(ev.EventBus != "" && off(e.eventsHost)) {
			c.Events = nil
			c.OffMachine = append(c.OffMachine, "events")
		}
	}
	if c.Logs != nil && off(c.Logs.host) {
		c.Logs = nil
		c.OffMachine = append(c.OffMachine, "logs")
	}
	if c.Jobs != nil && off(c.Jobs.endpoint) {
		c.Jobs = nil
		c.OffMachine = append(c.OffMachine, "batch_ops")
	}
}
