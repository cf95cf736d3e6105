package awsclient_test

import (
	"context"
	"encoding/pem"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/stowage-cli/stowage/awsclient"
	"github.com/stowage-cli/stowage/internal/config"
	"github.com/stowage-cli/stowage/internal/testenv"
)

// isolateAWS hides the machine's AWS configuration from Open.
func isolateAWS(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(dir, "config"))
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(dir, "credentials"))
	// AWS_CA_BUNDLE too: with it the SDK builds the HTTP client itself, which hid that
	// Open kept only 10 idle connections per endpoint (2 to the gateway) without one.
	for _, v := range []string{"AWS_CA_BUNDLE", "AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_REGION", "AWS_DEFAULT_REGION",
		"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL",
		"AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL_DYNAMODB", "AWS_ENDPOINT_URL_SSM", "AWS_ENDPOINT_URL_STS",
		"AWS_ENDPOINT_URL_SECRETS_MANAGER", "AWS_ENDPOINT_URL_SSO"} {
		t.Setenv(v, "")
		os.Unsetenv(v)
	}
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
}

// localEnv is an environment on the test servers, with a bucket holding one object under
// the prefix and an empty status table.
func localEnv(t *testing.T) (*config.Env, testenv.Endpoint) {
	s3ep, ddbep := testenv.S3(t), testenv.DynamoDB(t)
	s3c := testenv.NewS3Client(t, s3ep)
	bucket := testenv.NewBucket(t, s3c)
	_, table := statusTable(t)
	store := awsclient.NewObjectStore(s3c, bucket, awsclient.ObjectStoreOptions{})
	put(t, store, "in/req-1.json", `{}`)
	env := &config.Env{
		Name:      "local",
		Endpoints: config.Endpoints{S3: s3ep.URL, DynamoDB: ddbep.URL},
		Storage:   config.Storage{Bucket: bucket, Prefix: "in/", StripSuffix: ".json"},
		Status:    config.Status{Table: table, Index: statusIndex},
	}
	env.ApplyDefaults()
	return env, s3ep
}

func TestOpenWithStaticCredentials(t *testing.T) {
	isolateAWS(t)
	env, ep := localEnv(t)
	var ssmCalls atomic.Int32
	ssmFake := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ssmCalls.Add(1)
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		io.WriteString(w, `{"Parameter":{"Name":"/demo/key","Type":"SecureString","Value":"ssm-key"}}`)
	}))
	t.Cleanup(ssmFake.Close)
	env.Endpoints.SSM = ssmFake.URL
	gw, got := recordingServer(t, 200, "")
	env.Gateway.URL = gw.URL
	env.Gateway.Auth = config.AuthAPIKey
	env.Gateway.APIKeySSM = "/demo/key"

	c, err := awsclient.Open(ctxT(t), env, awsclient.WithStaticCredentials(ep.AccessKey, ep.SecretKey))
	if err != nil {
		t.Fatal(err)
	}
	if c.Region != "us-east-1" || c.Objects.Bucket() != env.Storage.Bucket || c.Gateway == nil {
		t.Fatalf("clients = %+v", c)
	}
	page, err := c.Objects.ListPage(ctxT(t), "in/", "", 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Objects) != 1 || page.Objects[0].RequestID != "req-1" {
		t.Fatalf("page = %+v", page)
	}
	if _, found, err := c.Statuses.Get(ctxT(t), "req-1"); err != nil || found {
		t.Fatalf("status: found=%v err=%v", found, err)
	}
	if ssmCalls.Load() != 0 {
		t.Fatal("the API key was resolved before any Send")
	}
	route, _ := awsclient.ParseRoute(env.Gateway.Routes.Inplace)
	if _, err := c.Gateway.Send(ctxT(t), route, awsclient.RouteVars{Bucket: env.Storage.Bucket, Key: "in/req-1.json"},
		bytesPayload([]byte("{}"), nil)); err != nil {
		t.Fatal(err)
	}
	if r := <-got; r.apiKey != "ssm-key" || r.escapedPath != "/product/"+env.Storage.Bucket+"/in%2Freq-1.json" {
		t.Fatalf("gateway saw %+v", r)
	}
	if ssmCalls.Load() != 1 {
		t.Fatalf("%d SSM calls, want 1", ssmCalls.Load())
	}
}

func TestOpenUsesTheEnvironmentsCredentials(t *testing.T) {
	isolateAWS(t)
	env, ep := localEnv(t)
	t.Setenv("AWS_ACCESS_KEY_ID", ep.AccessKey)
	t.Setenv("AWS_SECRET_ACCESS_KEY", ep.SecretKey)
	env.ReadOnly = true
	c, err := awsclient.Open(ctxT(t), env)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Objects.Head(ctxT(t), "in/req-1.json"); err != nil {
		t.Fatal(err)
	}
	if c.Gateway != nil {
		t.Error("a gateway without a URL")
	}
	_, err = c.Objects.CopyInPlace(ctxT(t), "in/req-1.json", awsclient.Pin{})
	if !errors.Is(err, awsclient.ErrReadOnly) {
		t.Fatalf("read-only environment wrote: %v", err)
	}
}

func TestOpenIdentity(t *testing.T) {
	isolateAWS(t)
	sts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if !strings.Contains(string(body), "Action=GetCallerIdentity") {
			w.WriteHeader(400)
			return
		}
		w.Header().Set("Content-Type", "text/xml")
		io.WriteString(w, `<GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
<GetCallerIdentityResult><Arn>arn:aws:iam::123456789012:user/operator</Arn><UserId>AIDA</UserId>
<Account>123456789012</Account></GetCallerIdentityResult><ResponseMetadata><RequestId>1</RequestId>
</ResponseMetadata></GetCallerIdentityResponse>`)
	}))
	t.Cleanup(sts.Close)
	env := &config.Env{Name: "id", Region: "eu-west-1", Endpoints: config.Endpoints{STS: sts.URL},
		Storage: config.Storage{Bucket: "b"}, Status: config.Status{Table: "t"},
		Events: config.Events{SQSQueueURL: "https://sqs.eu-west-1.amazonaws.com/123456789012/processor"}}
	env.ApplyDefaults()
	c, err := awsclient.Open(ctxT(t), env, awsclient.WithStaticCredentials("a", "b"))
	if err != nil {
		t.Fatal(err)
	}
	arn, err := c.Identity(ctxT(t))
	if err != nil || arn != "arn:aws:iam::123456789012:user/operator" {
		t.Fatalf("identity = %q, %v", arn, err)
	}
	// The events name the caller by its unique ID, as S3 does (it was left "stowage":
	// nothing told the sender who calls).
	if c.Events == nil {
		t.Fatal("no event sender for the events section")
	}
	if got := c.Events.PrincipalID(ctxT(t)); got != "AWS:AIDA" {
		t.Errorf("principalId = %q, want AWS:AIDA", got)
	}
	if c.Region != "eu-west-1" {
		t.Errorf("region = %q", c.Region)
	}
}

func TestOpenErrors(t *testing.T) {
	isolateAWS(t)
	env := &config.Env{Name: "prod", Profile: "no-such-profile", Region: "eu-west-1",
		Storage: config.Storage{Bucket: "b"}, Status: config.Status{Table: "t"}}
	env.ApplyDefaults()
	_, err := awsclient.Open(ctxT(t), env)
	var e *awsclient.Error
	if !errors.As(err, &e) || e.Kind != awsclient.KindNotFound || !strings.Contains(e.Remedy, "no-such-profile") {
		t.Fatalf("missing profile: err = %v", err)
	}

	env = &config.Env{Name: "prod", Storage: config.Storage{Bucket: "b"}, Status: config.Status{Table: "t"}}
	env.ApplyDefaults()
	if _, err := awsclient.Open(ctxT(t), env); !strings.Contains(err.Error(), "region") {
		t.Fatalf("no region: err = %v", err)
	}

	env = &config.Env{Name: "prod", Region: "eu-west-1", Storage: config.Storage{Bucket: "b"},
		Status: config.Status{Table: "t"}, Gateway: config.Gateway{URL: "not a url"}}
	env.ApplyDefaults()
	if _, err := awsclient.Open(ctxT(t), env); !strings.Contains(err.Error(), "gateway") {
		t.Fatalf("bad gateway URL: err = %v", err)
	}
}

// awsJSONServer answers every request with body (an AWS JSON 1.1 answer) and counts them.
func awsJSONServer(t *testing.T, body string) (*httptest.Server, *atomic.Int32) {
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		io.WriteString(w, body)
	}))
	t.Cleanup(srv.Close)
	return srv, &calls
}

// The API key of a LocalStack or VPC-endpoint environment is read where endpoints.ssm and
// endpoints.secretsmanager say, not from AWS (here: not from AWS_ENDPOINT_URL, which
// stands for "anywhere else").
func TestOpenReadsTheAPIKeyFromTheEnvironmentsEndpoints(t *testing.T) {
	isolateAWS(t)
	elsewhere, elsewhereCalls := awsJSONServer(t, `{}`)
	t.Setenv("AWS_ENDPOINT_URL", elsewhere.URL)
	ssmFake, ssmCalls := awsJSONServer(t, `{"Parameter":{"Name":"/k","Type":"SecureString","Value":"ssm-key"}}`)
	smFake, smCalls := awsJSONServer(t, `{"Name":"k","SecretString":"{\"apiKey\":\"secret-key\"}"}`)

	for _, tc := range []struct {
		name    string
		set     func(*config.Env)
		calls   *atomic.Int32
		wantKey string
	}{
		{"ssm", func(e *config.Env) { e.Gateway.APIKeySSM = "/k"; e.Endpoints.SSM = ssmFake.URL }, ssmCalls, "ssm-key"},
		{"secretsmanager", func(e *config.Env) { e.Gateway.APIKeySecret = "k"; e.Endpoints.SecretsManager = smFake.URL }, smCalls, "secret-key"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			gw, got := recordingServer(t, 200, "")
			env := &config.Env{Name: "vpc", Region: "eu-west-1", Storage: config.Storage{Bucket: "b"},
				Status: config.Status{Table: "t"}, Gateway: config.Gateway{URL: gw.URL, Auth: config.AuthAPIKey}}
			tc.set(env)
			env.ApplyDefaults()
			c, err := awsclient.Open(ctxT(t), env, awsclient.WithStaticCredentials("a", "b"))
			if err != nil {
				t.Fatal(err)
			}
			route, _ := awsclient.ParseRoute(env.Gateway.Routes.Inplace)
			if _, err := c.Gateway.Send(ctxT(t), route, awsclient.RouteVars{Bucket: "b", Key: "k"}, bytesPayload([]byte("{}"), nil)); err != nil {
				t.Fatal(err)
			}
			if r := <-got; r.apiKey != tc.wantKey {
				t.Errorf("gateway got API key %q, want %q", r.apiKey, tc.wantKey)
			}
			if tc.calls.Load() != 1 || elsewhereCalls.Load() != 0 {
				t.Errorf("%d calls to the configured endpoint (want 1), %d elsewhere (want 0)", tc.calls.Load(), elsewhereCalls.Load())
			}
		})
	}
}

// writeAWSConfig writes an AWS shared config file for isolateAWS's paths and points HOME
// (the SSO token cache) at an empty directory.
func writeAWSConfig(t *testing.T, content string) {
	t.Helper()
	path := os.Getenv("AWS_CONFIG_FILE")
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("HOME", t.TempDir())
}

func TestOpenWithoutCredentialsSaysHowToGetThem(t *testing.T) {
	isolateAWS(t)
	writeAWSConfig(t, `[profile plain]
region = eu-west-1

[profile work]
sso_session = corp
sso_account_id = 123456789012
sso_role_name = Operator
region = eu-west-1

[sso-session corp]
sso_start_url = https://corp.awsapps.com/start
sso_region = eu-west-1
`)
	requests, url := countingServer(t)
	for _, tc := range []struct {
		name, profile string
		kind          awsclient.Kind
		remedyHas     []string
		ssoLogin      bool
	}{
		{"nothing configured", "", awsclient.KindNoCredentials,
			[]string{"profile: in the config", "--profile", "AWS_PROFILE", "aws configure"}, false},
		{"profile without keys", "plain", awsclient.KindNoCredentials,
			[]string{"profile plain has no usable credentials", "aws configure --profile plain", "--profile", "AWS_PROFILE"}, false},
		{"SSO profile never logged in", "work", awsclient.KindExpiredCredentials,
			[]string{"run aws sso login --profile work"}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := &config.Env{Name: "x", Profile: tc.profile, Region: "eu-west-1", Endpoints: config.Endpoints{S3: url},
				Storage: config.Storage{Bucket: "b"}, Status: config.Status{Table: "t"}}
			env.ApplyDefaults()
			c, err := awsclient.Open(ctxT(t), env)
			if err != nil {
				t.Fatal(err)
			}
			_, err = c.Objects.ListPage(ctxT(t), "", "", 10)
			var e *awsclient.Error
			if !errors.As(err, &e) || e.Kind != tc.kind {
				t.Fatalf("err = %v (kind %v), want %v", err, awsclient.KindOf(err), tc.kind)
			}
			for _, want := range tc.remedyHas {
				if !strings.Contains(e.Remedy, want) {
					t.Errorf("remedy %q lacks %q", e.Remedy, want)
				}
			}
			if strings.Contains(e.Remedy, "sso login") != tc.ssoLogin {
				t.Errorf("remedy %q: says aws sso login = %v, want %v", e.Remedy, !tc.ssoLogin, tc.ssoLogin)
			}
			if tc.kind == awsclient.KindNoCredentials && strings.Contains(err.Error(), "operation error") {
				t.Errorf("the SDK's chain is not reduced: %v", err)
			}
		})
	}
	if n := requests.Load(); n != 0 {
		t.Errorf("%d requests sent without credentials", n)
	}
}

// An expired token from a profile with keys is not an SSO matter.
func TestOpenExpiredKeysOfAPlainProfile(t *testing.T) {
	isolateAWS(t)
	writeAWSConfig(t, "[profile plain]\nregion = eu-west-1\n")
	if err := os.WriteFile(os.Getenv("AWS_SHARED_CREDENTIALS_FILE"),
		[]byte("[plain]\naws_access_key_id = AKIDPLAIN\naws_secret_access_key = s\naws_session_token = t\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	s3Fake := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/xml")
		w.WriteHeader(400)
		io.WriteString(w, `<Error><Code>ExpiredToken</Code><Message>The provided token has expired.</Message></Error>`)
	}))
	t.Cleanup(s3Fake.Close)
	env := &config.Env{Name: "x", Profile: "plain", Endpoints: config.Endpoints{S3: s3Fake.URL},
		Storage: config.Storage{Bucket: "b"}, Status: config.Status{Table: "t"}}
	env.ApplyDefaults()
	c, err := awsclient.Open(ctxT(t), env)
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Objects.ListPage(ctxT(t), "", "", 10)
	var e *awsclient.Error
	if !errors.As(err, &e) || e.Kind != awsclient.KindExpiredCredentials {
		t.Fatalf("err = %v, want expired credentials", err)
	}
	if !strings.Contains(e.Remedy, "profile plain") || strings.Contains(e.Remedy, "sso") {
		t.Errorf("remedy %q: want profile plain and no SSO login", e.Remedy)
	}
}

// local_credentials never sign a request to a host off this machine, however env was built.
func TestOpenRefusesLocalCredentialsOffLoopback(t *testing.T) {
	isolateAWS(t)
	requests, url := countingServer(t)
	env := &config.Env{Name: "demo", Region: "us-east-1",
		Endpoints: config.Endpoints{S3: "https://s3.example.com", DynamoDB: url},
		Storage:   config.Storage{Bucket: "b"}, Status: config.Status{Table: "t"},
		LocalCredentials: &config.LocalCredentials{AccessKeyID: "AKIDLOCAL", SecretAccessKey: "local-secret"}}
	env.ApplyDefaults()
	_, err := awsclient.Open(ctxT(t), env)
	if awsclient.KindOf(err) != awsclient.KindInvalid || !strings.Contains(err.Error(), "endpoints.s3") ||
		strings.Contains(err.Error(), "local-secret") {
		t.Fatalf("err = %v, want a refusal naming endpoints.s3 (and no secret)", err)
	}

	// On loopback they work, but STS is not asked without endpoints.sts: real STS would
	// receive the local keys.
	// The keys sign, so a profile beside them is not loaded and not named in remedies.
	env.Endpoints.S3, env.Profile = url, "no-such-profile"
	c, err := awsclient.Open(ctxT(t), env)
	if err != nil {
		t.Fatal(err)
	}
	if c.Profile != "" {
		t.Errorf("Profile = %q, want none", c.Profile)
	}
	if arn, err := c.Identity(ctxT(t)); arn != "" || err != nil {
		t.Fatalf("identity = %q, %v; want none, unasked", arn, err)
	}
	if n := requests.Load(); n != 0 {
		t.Errorf("%d requests sent", n)
	}
}

// Network failures read as one line naming the host, not the SDK's chain, and keep the
// cause for errors.Is.
func TestOpenNetworkErrorsAreShort(t *testing.T) {
	isolateAWS(t)
	t.Setenv("AWS_MAX_ATTEMPTS", "2") // one retry shows the SDK's "exceeded maximum number of attempts" chain, quickly
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := ln.Addr().String()
	ln.Close()
	hang := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() }))
	t.Cleanup(hang.Close)
	hangHost := strings.TrimPrefix(hang.URL, "http://")

	open := func(s3URL string) *awsclient.Clients {
		env := &config.Env{Name: "x", Region: "eu-west-1", Endpoints: config.Endpoints{S3: s3URL},
			Storage: config.Storage{Bucket: "b"}, Status: config.Status{Table: "t"}}
		env.ApplyDefaults()
		c, err := awsclient.Open(ctxT(t), env, awsclient.WithStaticCredentials("a", "b"))
		if err != nil {
			t.Fatal(err)
		}
		return c
	}

	_, err = open("http://"+closed).Objects.ListPage(ctxT(t), "", "", 10)
	var e *awsclient.Error
	if !errors.As(err, &e) || e.Kind != awsclient.KindNetwork {
		t.Fatalf("refused: err = %v, want network", err)
	}
	if want := "cannot reach " + closed + ": connection refused"; e.Message != want {
		t.Errorf("message %q, want %q", e.Message, want)
	}
	if want := "list s3://b/: cannot reach " + closed + ": connection refused (check the endpoint URL, region and network)"; err.Error() != want {
		t.Errorf("error\n %q, want\n %q", err.Error(), want)
	}
	if !errors.Is(err, syscall.ECONNREFUSED) {
		t.Error("the cause is lost for errors.Is")
	}

	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	_, err = open(hang.URL).Objects.ListPage(ctx, "", "", 10)
	if !errors.As(err, &e) || e.Kind != awsclient.KindTimeout || e.Message != "timed out talking to "+hangHost ||
		!strings.Contains(e.Remedy, "endpoint URL") {
		t.Fatalf("timeout: err = %v (message %q), want timed out talking to %s", err, e.Message, hangHost)
	}
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Error("the deadline is lost for errors.Is")
	}
}

// countingWrap is a WithHTTPWrap that records the host of every request it sees.
type countingWrap struct {
	mu    sync.Mutex
	hosts map[string]int
}

func (c *countingWrap) wrap(next http.RoundTripper) http.RoundTripper {
	return roundTripFunc(func(r *http.Request) (*http.Response, error) {
		c.mu.Lock()
		c.hosts[r.URL.Host]++
		c.mu.Unlock()
		return next.RoundTrip(r)
	})
}

func (c *countingWrap) count(rawURL string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.hosts[strings.TrimPrefix(strings.TrimPrefix(rawURL, "http://"), "https://")]
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// Every client Open builds goes through the --debug wrap: S3, DynamoDB, STS, SSM and the
// gateway, whether the SDK built its HTTP client for AWS_CA_BUNDLE or left it to each client.
func TestOpenWithHTTPWrapSeesEveryClient(t *testing.T) {
	tlsSrv := httptest.NewTLSServer(http.NotFoundHandler())
	tlsSrv.Close()
	bundle := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(bundle, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: tlsSrv.Certificate().Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	for name, caBundle := range map[string]string{"NoCABundle": "", "CABundle": bundle} {
		t.Run(name, func(t *testing.T) {
			isolateAWS(t)
			t.Setenv("AWS_CA_BUNDLE", caBundle)
			if caBundle == "" {
				os.Unsetenv("AWS_CA_BUNDLE")
			}
			wrapSeesEveryClient(t)
		})
	}
}

func wrapSeesEveryClient(t *testing.T) {
	env, ep := localEnv(t)
	ssmFake, _ := awsJSONServer(t, `{"Parameter":{"Name":"/k","Type":"SecureString","Value":"ssm-key"}}`)
	sts := stsServer(t, "123456789012")
	gw, got := recordingServer(t, 200, "")
	env.Endpoints.SSM, env.Endpoints.STS = ssmFake.URL, sts.URL
	env.Gateway = config.Gateway{URL: gw.URL, Auth: config.AuthAPIKey, APIKeySSM: "/k"}
	env.ApplyDefaults()
	w := &countingWrap{hosts: map[string]int{}}
	c, err := awsclient.Open(ctxT(t), env, awsclient.WithStaticCredentials(ep.AccessKey, ep.SecretKey),
		awsclient.WithHTTPWrap(w.wrap))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Objects.ListPage(ctxT(t), "in/", "", 10); err != nil {
		t.Fatal(err)
	}
	if _, _, err := c.Statuses.Get(ctxT(t), "req-1"); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Identity(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	route, _ := awsclient.ParseRoute(env.Gateway.Routes.Inplace)
	if _, err := c.Gateway.Send(ctxT(t), route, awsclient.RouteVars{Bucket: env.Storage.Bucket, Key: "in/req-1.json"},
		bytesPayload([]byte("{}"), nil)); err != nil {
		t.Fatal(err)
	}
	<-got
	for name, u := range map[string]string{"s3": env.Endpoints.S3, "dynamodb": env.Endpoints.DynamoDB,
		"sts": sts.URL, "ssm": ssmFake.URL, "gateway": gw.URL} {
		if w.count(u) == 0 {
			t.Errorf("%s (%s) bypassed the wrap; saw %v", name, u, w.hosts)
		}
	}
}

// stsServer answers GetCallerIdentity for account.
func stsServer(t *testing.T, account string) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if !strings.Contains(string(body), "Action=GetCallerIdentity") {
			w.WriteHeader(400)
			return
		}
		w.Header().Set("Content-Type", "text/xml")
		io.WriteString(w, `<GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
<GetCallerIdentityResult><Arn>arn:aws:iam::`+account+`:user/operator</Arn><UserId>AIDA</UserId>
<Account>`+account+`</Account></GetCallerIdentityResult><ResponseMetadata><RequestId>1</RequestId>
</ResponseMetadata></GetCallerIdentityResponse>`)
	}))
	t.Cleanup(srv.Close)
	return srv
}

// loopbackOnly sends every request of Open's clients through testenv.LoopbackOnlyTransport.
func loopbackOnly(t *testing.T) awsclient.OpenOption {
	lo := testenv.LoopbackOnlyTransport(t)
	return awsclient.WithHTTPWrap(func(http.RoundTripper) http.RoundTripper { return lo })
}

// A stack whose S3 and DynamoDB are on this machine never asks AWS STS who the caller is,
// whether its endpoints come from the config or from AWS_ENDPOINT_URL_*.
func TestOpenNeverAsksAWSAboutALocalStack(t *testing.T) {
	for _, tc := range []struct {
		name string
		set  func(t *testing.T, env *config.Env)
	}{
		{"ConfigEndpoints", func(t *testing.T, env *config.Env) {}},
		{"EnvironmentVariables", func(t *testing.T, env *config.Env) {
			t.Setenv("AWS_ENDPOINT_URL_S3", env.Endpoints.S3)
			t.Setenv("AWS_ENDPOINT_URL_DYNAMODB", env.Endpoints.DynamoDB)
			env.Endpoints = config.Endpoints{}
		}},
		{"LocalCredentials", func(t *testing.T, env *config.Env) {
			// AWS_ENDPOINT_URL_STS off loopback must not receive the local keys either.
			t.Setenv("AWS_ENDPOINT_URL_STS", "https://sts.example.com")
			env.LocalCredentials = &config.LocalCredentials{AccessKeyID: os.Getenv("AWS_ACCESS_KEY_ID"),
				SecretAccessKey: os.Getenv("AWS_SECRET_ACCESS_KEY")}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			isolateAWS(t)
			env, ep := localEnv(t)
			t.Setenv("AWS_ACCESS_KEY_ID", ep.AccessKey)
			t.Setenv("AWS_SECRET_ACCESS_KEY", ep.SecretKey)
			env.Region = testenv.Region
			tc.set(t, env)
			c, err := awsclient.Open(ctxT(t), env, loopbackOnly(t))
			if err != nil {
				t.Fatal(err)
			}
			if !c.Local {
				t.Error("Local = false for a stack on loopback")
			}
			if _, err := c.Objects.Head(ctxT(t), "in/req-1.json"); err != nil {
				t.Fatalf("the local S3 is not the one used: %v", err)
			}
			arn, err := c.Identity(ctxT(t))
			if err != nil || arn != "" {
				t.Errorf("identity = %q, %v; want none on a local stack", arn, err)
			}
			if acct, err := c.Account(ctxT(t)); err != nil || acct != "" {
				t.Errorf("account = %q, %v; want none on a local stack", acct, err)
			}
		})
	}
}

// A local S3 beside DynamoDB on AWS is not a local stack: the caller is asked, once.
func TestOpenIdentityIsCachedAndNamesTheAccount(t *testing.T) {
	isolateAWS(t)
	var calls atomic.Int32
	sts := stsServer(t, "210987654321")
	counted := func(next http.RoundTripper) http.RoundTripper {
		return roundTripFunc(func(r *http.Request) (*http.Response, error) {
			if strings.Contains(sts.URL, r.URL.Host) {
				calls.Add(1)
			}
			return next.RoundTrip(r)
		})
	}
	env := &config.Env{Name: "id", Region: "eu-west-1", Endpoints: config.Endpoints{S3: "http://127.0.0.1:1", STS: sts.URL},
		Storage: config.Storage{Bucket: "b"}, Status: config.Status{Table: "t"}}
	env.ApplyDefaults()
	c, err := awsclient.Open(ctxT(t), env, awsclient.WithStaticCredentials("a", "b"), awsclient.WithHTTPWrap(counted))
	if err != nil {
		t.Fatal(err)
	}
	if c.Local {
		t.Error("Local = true with DynamoDB on AWS")
	}
	for range 3 {
		if acct, err := c.Account(ctxT(t)); err != nil || acct != "210987654321" {
			t.Fatalf("account = %q, %v", acct, err)
		}
		if arn, err := c.Identity(ctxT(t)); err != nil || arn != "arn:aws:iam::210987654321:user/operator" {
			t.Fatalf("identity = %q, %v", arn, err)
		}
	}
	if n := calls.Load(); n != 1 {
		t.Errorf("%d GetCallerIdentity calls, want 1 (cached)", n)
	}
}

// AWS_PROFILE naming another profile than the environment's is overridden, and Open says so.
func TestOpenNoticesAnOverriddenAWSProfile(t *testing.T) {
	isolateAWS(t)
	writeAWSConfig(t, "[profile prod]\nregion = eu-west-1\n\n[profile staging]\nregion = eu-west-1\n")
	_, url := countingServer(t)
	open := func(profile string) *awsclient.Clients {
		env := &config.Env{Name: "prod", Profile: profile, Endpoints: config.Endpoints{S3: url},
			Storage: config.Storage{Bucket: "b"}, Status: config.Status{Table: "t"}}
		env.ApplyDefaults()
		c, err := awsclient.Open(ctxT(t), env)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	t.Setenv("AWS_PROFILE", "staging")
	c := open("prod")
	if c.Profile != "prod" || len(c.Notices) != 1 ||
		!strings.Contains(c.Notices[0], "AWS_PROFILE=staging is ignored") || !strings.Contains(c.Notices[0], "profile prod") {
		t.Errorf("profile %q, notices %q", c.Profile, c.Notices)
	}
	if c := open("staging"); len(c.Notices) != 0 {
		t.Errorf("same profile: notices %q", c.Notices)
	}
	if c := open(""); c.Profile != "staging" || len(c.Notices) != 0 {
		t.Errorf("no profile in the environment: profile %q, notices %q", c.Profile, c.Notices)
	}
}

// A failing credential_process is named with its command and exit status, the remedy is
// to run it by hand (not aws configure), and what it printed (maybe keys) is not quoted.
func TestOpenFailingCredentialProcess(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("the test processes are sh scripts")
	}
	isolateAWS(t)
	dir := t.TempDir()
	script := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte("#!/bin/sh\n"+body+"\n"), 0o700); err != nil {
			t.Fatal(err)
		}
		return p
	}
	exits := script("exits.sh", "echo 'token expired' >&2; exit 3")
	garbles := script("garbles.sh", `echo '{"Version": 1, "AccessKeyId": "AKIDLEAK", "SecretAccessKey": "leaked-secret"'`)
	writeAWSConfig(t, "[profile exits]\nregion = eu-west-1\ncredential_process = "+exits+
		"\n\n[profile garbles]\nregion = eu-west-1\ncredential_process = "+garbles+"\n")
	requests, url := countingServer(t)
	for _, tc := range []struct{ profile, command, says string }{
		{"exits", exits, "exit status 3"},
		{"garbles", garbles, "not valid credentials"},
	} {
		t.Run(tc.profile, func(t *testing.T) {
			env := &config.Env{Name: "x", Profile: tc.profile, Endpoints: config.Endpoints{S3: url},
				Storage: config.Storage{Bucket: "b"}, Status: config.Status{Table: "t"}}
			env.ApplyDefaults()
			c, err := awsclient.Open(ctxT(t), env)
			if err != nil {
				t.Fatal(err)
			}
			_, err = c.Objects.ListPage(ctxT(t), "", "", 10)
			var e *awsclient.Error
			if !errors.As(err, &e) || e.Kind != awsclient.KindNoCredentials {
				t.Fatalf("err = %v, want no credentials", err)
			}
			if !strings.Contains(e.Message, tc.command) || !strings.Contains(e.Message, tc.says) {
				t.Errorf("message %q lacks the command or %q", e.Message, tc.says)
			}
			if !strings.Contains(e.Remedy, "by hand") || !strings.Contains(e.Remedy, tc.command) ||
				!strings.Contains(e.Remedy, "profile "+tc.profile) || strings.Contains(e.Remedy, "aws configure") {
				t.Errorf("remedy %q", e.Remedy)
			}
			if strings.Contains(err.Error(), "leaked-secret") || strings.Contains(e.Message, "AKIDLEAK") {
				t.Errorf("the process's output reached the error: %v", err)
			}
		})
	}
	if n := requests.Load(); n != 0 {
		t.Errorf("%d requests sent without credentials", n)
	}
}

// The lease store is opened on the environment's lease table, read-only with it; none without.
func TestOpenLeases(t *testing.T) {
	isolateAWS(t)
	env := &config.Env{Name: "x", Region: "eu-west-1", Storage: config.Storage{Bucket: "b"}, Status: config.Status{Table: "t"}}
	env.ApplyDefaults()
	c, err := awsclient.Open(ctxT(t), env, awsclient.WithStaticCredentials("a", "b"))
	if err != nil || c.Leases != nil {
		t.Fatalf("no lease_table: leases %v, err %v", c.Leases, err)
	}
	env.Redrive.LeaseTable, env.ReadOnly = "stowage-leases", true
	c, err = awsclient.Open(ctxT(t), env, awsclient.WithStaticCredentials("a", "b"))
	if err != nil || c.Leases == nil || c.Leases.Table() != "stowage-leases" || !c.Leases.ReadOnly() {
		t.Fatalf("leases %+v, err %v", c.Leases, err)
	}
}

// A working credential_process signs as before: marking its failures changes nothing else.
func TestOpenWorkingCredentialProcess(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("the test process is an sh script")
	}
	isolateAWS(t)
	env, ep := localEnv(t)
	script := filepath.Join(t.TempDir(), "creds.sh")
	body := "#!/bin/sh\necho '{\"Version\": 1, \"AccessKeyId\": \"" + ep.AccessKey + "\", \"SecretAccessKey\": \"" + ep.SecretKey + "\"}'\n"
	if err := os.WriteFile(script, []byte(body), 0o700); err != nil {
		t.Fatal(err)
	}
	writeAWSConfig(t, "[profile proc]\nregion = "+testenv.Region+"\ncredential_process = "+script+"\n")
	env.Profile = "proc"
	c, err := awsclient.Open(ctxT(t), env)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Objects.Head(ctxT(t), "in/req-1.json"); err != nil {
		t.Fatalf("signed with the process's keys: %v", err)
	}
}
