package config

import (
	"strings"
	"testing"
)

const threeEnvs = `default_env: staging
environments:
  dev: {storage: {bucket: acme-dev}, status: {table: acme-dev-status}}
  staging: {storage: {bucket: acme-staging}, status: {table: acme-staging-status}, region: eu-west-1}
  prod:
    storage: {bucket: acme-prod}
    status: {table: acme-prod-status}
    read_only: true
    endpoints: {gateway: "https://gw"}
`

func TestSelectPicksEnvironment(t *testing.T) {
	f := mustParse(t, threeEnvs)
	for _, c := range []struct{ flag, want string }{{"", "staging"}, {"prod", "prod"}, {"dev", "dev"}} {
		e, err := f.Select(c.flag, Overrides{})
		if err != nil {
			t.Fatalf("Select(%q): %v", c.flag, err)
		}
		if e.Name != c.want {
			t.Errorf("Select(%q) = %s, want %s", c.flag, e.Name, c.want)
		}
	}

	only := mustParse(t, minimal)
	if e, err := only.Select("", Overrides{}); err != nil || e.Name != "prod" {
		t.Errorf("single environment: %v, %v", e, err)
	}
}

func TestSelectErrorsListKnownEnvironments(t *testing.T) {
	f := mustParse(t, threeEnvs)
	_, err := f.Select("prd", Overrides{})
	if err == nil || !strings.Contains(err.Error(), `unknown environment "prd"`) || !strings.Contains(err.Error(), "known: dev, prod, staging") {
		t.Errorf("err = %v", err)
	}

	f.DefaultEnv = ""
	_, err = f.Select("", Overrides{})
	if err == nil || !strings.Contains(err.Error(), "pass --env NAME (known: dev, prod, staging)") {
		t.Errorf("no default: err = %v", err)
	}

	f.DefaultEnv = "nope"
	_, err = f.Select("", Overrides{})
	if err == nil || !strings.Contains(err.Error(), `default_env "nope"`) {
		t.Errorf("bad default: err = %v", err)
	}

	empty := mustParse(t, "")
	if _, err := empty.Select("", Overrides{}); err == nil || !strings.Contains(err.Error(), "no environments") {
		t.Errorf("empty: err = %v", err)
	}
}

func TestSelectAppliesOverrides(t *testing.T) {
	f := mustParse(t, threeEnvs)
	e, err := f.Select("staging", Overrides{Profile: "ops", Region: "us-east-1", EndpointURL: "http://127.0.0.1:4566", ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	if e.Profile != "ops" || e.Region != "us-east-1" || !e.ReadOnly {
		t.Errorf("profile=%q region=%q read_only=%v", e.Profile, e.Region, e.ReadOnly)
	}
	ep := e.Endpoints
	for name, got := range map[string]string{"s3": ep.S3, "dynamodb": ep.DynamoDB, "sts": ep.STS, "ssm": ep.SSM, "secretsmanager": ep.SecretsManager} {
		if got != "http://127.0.0.1:4566" {
			t.Errorf("endpoint %s = %q, want the --endpoint-url", name, got)
		}
	}

	// --read-only never turns read_only off, and an empty override leaves the file's value.
	p, err := f.Select("prod", Overrides{})
	if err != nil {
		t.Fatal(err)
	}
	if !p.ReadOnly || p.GatewayURL() != "https://gw" || p.Region != "" {
		t.Errorf("prod = read_only %v, gateway %q, region %q", p.ReadOnly, p.GatewayURL(), p.Region)
	}
}

func TestSelectRejectsBadOverrides(t *testing.T) {
	f := mustParse(t, threeEnvs)
	for _, c := range []struct {
		o    Overrides
		want string
	}{
		{Overrides{Region: "europe"}, "--region:"},
		{Overrides{EndpointURL: "127.0.0.1:4566"}, "--endpoint-url:"},
		{Overrides{EndpointURL: "http://user:pw@127.0.0.1:4566"}, "--endpoint-url: the URL holds credentials"},
		{Overrides{Profile: "a b"}, "--profile:"},
	} {
		_, err := f.Select("", c.o)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: err = %v, want %q", c.o, err, c.want)
		}
		if err != nil && strings.Contains(err.Error(), "pw@") {
			t.Errorf("credentials leaked: %v", err)
		}
	}
}

func TestSelectReturnsACopy(t *testing.T) {
	f := mustParse(t, threeEnvs)
	e, err := f.Select("dev", Overrides{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	e.Status.TerminalStates[0] = "CHANGED"
	e.Storage.Bucket = "changed"
	orig := f.Environments["dev"]
	if orig.ReadOnly || orig.Storage.Bucket != "acme-dev" || orig.Status.TerminalStates[0] != "PROCESSED" {
		t.Errorf("Select's result aliases the file: %+v", orig)
	}
}

const localEnvs = `environments:
  demo:
    endpoints: {s3: "http://127.0.0.1:9000", dynamodb: "http://localhost:8000"}
    storage: {bucket: demo-bucket}
    status: {table: demo-status}
    local_credentials: {access_key_id: AKIDEMO, secret_access_key: demo-secret}
`

// Flags are applied after Validate has judged the file, so Select checks the environment
// they produce: local keys must not be sent off the machine, nor a profile silently ignored.
func TestSelectKeepsLocalCredentialsLocal(t *testing.T) {
	f := mustParse(t, localEnvs)
	if ps := Errors(f.Validate()); len(ps) != 0 {
		t.Fatalf("the file itself is fine, got %v", ps)
	}
	for _, c := range []struct {
		name string
		o    Overrides
		want string // "" = allowed
	}{
		{"remote endpoint", Overrides{EndpointURL: "https://remote.example.com"}, `--endpoint-url "https://remote.example.com" is not on this machine, but environment "demo" signs every request with its local_credentials`},
		{"remote by IP", Overrides{EndpointURL: "http://10.0.0.5:4566"}, "is not on this machine"},
		{"profile", Overrides{Profile: "prod"}, `--profile "prod" cannot be used with environment "demo": it signs every request with its local_credentials`},
		{"local endpoint", Overrides{EndpointURL: "http://127.0.0.1:4566"}, ""},
		{"region", Overrides{Region: "eu-west-1", ReadOnly: true}, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			e, err := f.Select("demo", c.o)
			if c.want == "" {
				if err != nil || e.LocalCredentialsError() != nil {
					t.Fatalf("Select = %v, %v", e, err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err = %v, want %q", err, c.want)
			}
			if strings.Contains(err.Error(), "demo-secret") {
				t.Fatalf("the secret leaked: %v", err)
			}
		})
	}
}

func TestLocalCredentialsError(t *testing.T) {
	e := mustParse(t, localEnvs).Environments["demo"]
	if err := e.LocalCredentialsError(); err != nil {
		t.Fatal(err)
	}
	e.Endpoints.DynamoDB = ""
	if err := e.LocalCredentialsError(); err == nil || !strings.Contains(err.Error(), "endpoints.dynamodb must be a loopback URL") {
		t.Fatalf("no dynamodb endpoint: %v", err)
	}
	e.LocalCredentials = nil
	if err := e.LocalCredentialsError(); err != nil {
		t.Fatalf("without local credentials: %v", err)
	}
}
