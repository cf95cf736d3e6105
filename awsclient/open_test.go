package awsclient_test

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/stowage-cli/stowage/awsclient"
	"github.com/stowage-cli/stowage/internal/config"
	"github.com/stowage-cli/stowage/internal/testenv"
)

// isolateAWS hides the machine's AWS configuration from Open.
func isolateAWS(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(dir, "config"))
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(dir, "credentials"))
	for _, v := range []string{"AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_REGION", "AWS_DEFAULT_REGION",
		"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL",
		"AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL_DYNAMODB", "AWS_ENDPOINT_URL_SSM", "AWS_ENDPOINT_URL_STS"} {
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
	t.Setenv("AWS_ENDPOINT_URL_SSM", ssmFake.URL)
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
		Storage: config.Storage{Bucket: "b"}, Status: config.Status{Table: "t"}}
	env.ApplyDefaults()
	c, err := awsclient.Open(ctxT(t), env, awsclient.WithStaticCredentials("a", "b"))
	if err != nil {
		t.Fatal(err)
	}
	arn, err := c.Identity(ctxT(t))
	if err != nil || arn != "arn:aws:iam::123456789012:user/operator" {
		t.Fatalf("identity = %q, %v", arn, err)
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
