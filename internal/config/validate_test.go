package config

import (
	"math"
	"runtime"
	"strings"
	"testing"
	"time"
)

// validFile is a config with a single, valid environment "prod" to be broken one field at a time.
func validFile(t *testing.T) *File {
	t.Helper()
	f := mustParse(t, minimal)
	if ps := f.Validate(); len(ps) != 0 {
		t.Fatalf("base config has problems: %v", ps)
	}
	return f
}

func TestValidate(t *testing.T) {
	cases := []struct {
		name    string
		mutate  func(f *File, e *Env)
		field   string // without the environments.prod. prefix when env is "prod"
		msg     string
		warning bool
	}{
		{"no environments", func(f *File, e *Env) { f.Environments = nil }, "environments", "add at least one", false},
		{"default_env unknown", func(f *File, e *Env) { f.DefaultEnv = "prd" }, "default_env", `"prd" is not an environment in this file; expected one of prod`, false},
		{"bucket required", func(f *File, e *Env) { e.Storage.Bucket = "" }, "storage.bucket", "required", false},
		{"bucket too short", func(f *File, e *Env) { e.Storage.Bucket = "ab" }, "storage.bucket", "not a valid S3 bucket name", false},
		{"bucket upper case (legacy)", func(f *File, e *Env) { e.Storage.Bucket = "Acme_Requests" }, "storage.bucket", "legacy", true},
		{"bucket as URL", func(f *File, e *Env) { e.Storage.Bucket = "s3://acme/in" }, "storage.bucket", "put a key prefix in storage.prefix", false},
		{"bucket IP", func(f *File, e *Env) { e.Storage.Bucket = "192.168.1.1" }, "storage.bucket", "not a valid", false},
		{"bucket double dot", func(f *File, e *Env) { e.Storage.Bucket = "acme..requests" }, "storage.bucket", "not a valid", false},
		{"bucket ends with dash", func(f *File, e *Env) { e.Storage.Bucket = "acme-" }, "storage.bucket", "not a valid", false},
		{"bucket xn--", func(f *File, e *Env) { e.Storage.Bucket = "xn--acme" }, "storage.bucket", "not a valid", false},
		{"table required", func(f *File, e *Env) { e.Status.Table = "" }, "status.table", "required", false},
		{"table bad chars", func(f *File, e *Env) { e.Status.Table = "acme status" }, "status.table", "not a DynamoDB table name", false},
		{"index bad", func(f *File, e *Env) { e.Status.Index = "x" }, "status.index", "not an index name", false},
		{"attribute reused", func(f *File, e *Env) { e.Status.StatusAttr = "requestId" }, "status.status_attr", "also status.key_attr", false},
		{"terminal states empty", func(f *File, e *Env) { e.Status.TerminalStates = nil }, "status.terminal_states", "e.g. [PROCESSED]", false},
		{"terminal state blank", func(f *File, e *Env) { e.Status.TerminalStates = []string{"PROCESSED", " "} }, "status.terminal_states[1]", "empty state", false},
		{"lost_after negative", func(f *File, e *Env) { e.Status.LostAfter.Duration = -time.Minute }, "status.lost_after", "positive duration", false},
		{"lease table bad chars", func(f *File, e *Env) { e.Redrive.LeaseTable = "my leases" }, "redrive.lease_table", "not a DynamoDB table name", false},
		{"lease table is the status table", func(f *File, e *Env) { e.Redrive.LeaseTable = e.Status.Table }, "redrive.lease_table", "same as status.table", false},
		{"lease ttl too short", func(f *File, e *Env) { e.Redrive.LeaseTTL.Duration = 10 * time.Second }, "redrive.lease_ttl", `"10s" is out of range; expected a duration from 1m to 24h`, false},
		{"lease ttl too long", func(f *File, e *Env) { e.Redrive.LeaseTTL.Duration = 48 * time.Hour }, "redrive.lease_ttl", "out of range", false},
		{"auth unknown", func(f *File, e *Env) { e.Gateway.Auth = "apikey" }, "gateway.auth", `"apikey" is not one of api-key, iam, none`, false},
		{"api-key without source", func(f *File, e *Env) { e.Gateway.Auth = AuthAPIKey }, "gateway", "no key source", false},
		{"api-key two sources", func(f *File, e *Env) {
			e.Gateway.Auth, e.Gateway.APIKeyEnv, e.Gateway.APIKeySSM = AuthAPIKey, "KEY", "/acme/key"
		}, "gateway", "api_key_env and api_key_ssm are set; expected exactly one", false},
		{"source ignored", func(f *File, e *Env) { e.Gateway.Auth, e.Gateway.APIKeyEnv = AuthIAM, "KEY" }, "gateway", `api_key_env ignored because auth is "iam"`, true},
		{"api_key_env name", func(f *File, e *Env) { e.Gateway.Auth, e.Gateway.APIKeyEnv = AuthAPIKey, "MY-KEY" }, "gateway.api_key_env", "not an environment variable name", false},
		{"api_key_ssm name", func(f *File, e *Env) { e.Gateway.Auth, e.Gateway.APIKeySSM = AuthAPIKey, "/a b" }, "gateway.api_key_ssm", "not an SSM parameter name", false},
		{"api_key_secret id", func(f *File, e *Env) { e.Gateway.Auth, e.Gateway.APIKeySecret = AuthAPIKey, "a b" }, "gateway.api_key_secret", "not a Secrets Manager secret id", false},
		{"literal api_key warns", func(f *File, e *Env) { e.Gateway.Auth, e.Gateway.APIKey = AuthAPIKey, "s3cr3t-value" }, "gateway.api_key", "prefer api_key_env", true},
		{"route unparsable", func(f *File, e *Env) { e.Gateway.Routes.Reupload = "/product" }, "gateway.routes.reupload", "expected a method and a path", false},
		{"route method", func(f *File, e *Env) { e.Gateway.Routes.Reupload = "GET /product" }, "gateway.routes.reupload", "cannot carry a request body", false},
		{"route placeholder", func(f *File, e *Env) { e.Gateway.Routes.Inplace = "PUT /p/{bucket}/{id}" }, "gateway.routes.inplace", `unknown placeholder "{id}"`, false},
		{"inplace without key", func(f *File, e *Env) { e.Gateway.Routes.Inplace = "PUT /p/{requestId}" }, "gateway.routes.inplace", "has no {key}", false},
		{"local credentials off loopback", func(f *File, e *Env) {
			e.LocalCredentials = &LocalCredentials{AccessKeyID: "a", SecretAccessKey: "b"}
		}, "local_credentials", "only for stacks on this machine", false},
		{"local credentials with a remote sts", func(f *File, e *Env) {
			e.Endpoints.S3, e.Endpoints.DynamoDB, e.Endpoints.STS = "http://127.0.0.1:9000", "http://localhost:8000", "https://sts.amazonaws.com"
			e.LocalCredentials = &LocalCredentials{AccessKeyID: "a", SecretAccessKey: "b"}
		}, "local_credentials", "endpoints.sts must be a loopback URL", false},
		{"local credentials read the API key from AWS", func(f *File, e *Env) {
			e.Endpoints.S3, e.Endpoints.DynamoDB = "http://127.0.0.1:9000", "http://localhost:8000"
			e.Gateway.Auth, e.Gateway.APIKeySSM = AuthAPIKey, "/demo/key"
			e.LocalCredentials = &LocalCredentials{AccessKeyID: "a", SecretAccessKey: "b"}
		}, "local_credentials", "endpoints.ssm must be a loopback URL", false},
		{"local credentials sign for a remote gateway", func(f *File, e *Env) {
			e.Endpoints.S3, e.Endpoints.DynamoDB = "http://127.0.0.1:9000", "http://localhost:8000"
			e.Gateway.Auth, e.Gateway.URL = AuthIAM, "https://abc.execute-api.eu-west-1.amazonaws.com/prod"
			e.LocalCredentials = &LocalCredentials{AccessKeyID: "a", SecretAccessKey: "b"}
		}, "local_credentials", "gateway.url must be a loopback URL", false},
		{"local credentials beside a profile", func(f *File, e *Env) {
			e.Endpoints.S3, e.Endpoints.DynamoDB = "http://127.0.0.1:9000", "http://localhost:8000"
			e.Profile = "prod"
			e.LocalCredentials = &LocalCredentials{AccessKeyID: "a", SecretAccessKey: "b"}
		}, "profile", "ignored: local_credentials sign every request", true},
		{"local credentials half", func(f *File, e *Env) {
			e.Endpoints.S3, e.Endpoints.DynamoDB = "http://127.0.0.1:9000", "http://localhost:8000"
			e.LocalCredentials = &LocalCredentials{AccessKeyID: "a"}
		}, "local_credentials", "needs both", false},
		{"preview_bytes too small", func(f *File, e *Env) { e.PreviewBytes = 100 }, "preview_bytes", "out of range", false},
		{"preview_bytes too large", func(f *File, e *Env) { e.PreviewBytes = 1 << 30 }, "preview_bytes", "out of range", false},
		{"gateway url scheme", func(f *File, e *Env) { e.Gateway.URL = "ftp://x" }, "gateway.url", "not an http(s) URL", false},
		{"gateway url relative", func(f *File, e *Env) { e.Gateway.URL = "abc.execute-api.eu-west-1.amazonaws.com" }, "gateway.url", "not an http(s) URL", false},
		{"gateway url query", func(f *File, e *Env) { e.Gateway.URL = "https://x/prod?a=b" }, "gateway.url", "query", false},
		{"gateway url plain http with key", func(f *File, e *Env) {
			e.Gateway.URL, e.Gateway.Auth, e.Gateway.APIKeyEnv = "http://api.example.com", AuthAPIKey, "KEY"
		}, "gateway.url", "unencrypted", true},
		{"endpoint with path", func(f *File, e *Env) { e.Endpoints.S3 = "http://127.0.0.1:4566/s3" }, "endpoints.s3", "has a path", false},
		{"endpoint bad", func(f *File, e *Env) { e.Endpoints.DynamoDB = "localhost:8000" }, "endpoints.dynamodb", "not an http(s) URL", false},
		{"endpoint gateway ignored", func(f *File, e *Env) { e.Gateway.URL, e.Endpoints.Gateway = "https://a", "https://b" }, "endpoints.gateway", "ignored", true},
		{"header name", func(f *File, e *Env) { e.Gateway.RedriveIDHeader = "X Redrive" }, "gateway.redrive_id_header", "not an HTTP header name", false},
		{"headers equal", func(f *File, e *Env) { e.Gateway.RedriveIDHeader = "x-stowage-original-request-id" }, "gateway.redrive_id_header", "same as original_id_header", false},
		{"rate zero", func(f *File, e *Env) { e.Rate = 0 }, "rate", "greater than 0", false},
		{"rate negative", func(f *File, e *Env) { e.Rate = -1 }, "rate", "greater than 0", false},
		{"rate NaN", func(f *File, e *Env) { e.Rate = math.NaN() }, "rate", "greater than 0", false},
		{"rate infinite", func(f *File, e *Env) { e.Rate = math.Inf(1) }, "rate", "infinite", false},
		{"region", func(f *File, e *Env) { e.Region = "eu-west" }, "region", `"eu-west" is not an AWS region; expected one like eu-west-1`, false},
		{"region upper", func(f *File, e *Env) { e.Region = "EU-WEST-1" }, "region", "not an AWS region", false},
		{"profile", func(f *File, e *Env) { e.Profile = "my profile" }, "profile", "no spaces", false},
		{"color", func(f *File, e *Env) { e.Color = "red" }, "color", "not a colour", false},
		{"strip prefix mismatch", func(f *File, e *Env) { e.Storage.Prefix, e.Storage.StripPrefix = "in/", "out/" }, "storage.strip_prefix", "keep it in their request IDs", true},
		{"prefix slash", func(f *File, e *Env) { e.Storage.Prefix, e.Storage.StripPrefix = "/in/", "/in/" }, "storage.prefix", "starts with /", true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := validFile(t)
			c.mutate(f, f.Environments["prod"])
			ps := f.Validate()
			field := c.field
			env := ""
			if !strings.HasPrefix(field, "environments") && field != "default_env" {
				field, env = "environments.prod."+field, "prod"
			}
			var found *Problem
			for i, p := range ps {
				if p.Field == field && strings.Contains(p.Message, c.msg) {
					found = &ps[i]
				}
			}
			if found == nil {
				t.Fatalf("no problem for %s containing %q; got:\n%s", field, c.msg, (&Error{Problems: ps}).Error())
			}
			if found.Warning != c.warning {
				t.Errorf("Warning = %v, want %v: %s", found.Warning, c.warning, found)
			}
			if found.Env != env {
				t.Errorf("Env = %q, want %q", found.Env, env)
			}
			s := found.String()
			if !strings.HasPrefix(s, "config.yaml:") || !strings.Contains(s, field+": ") {
				t.Errorf("%q does not name the file and the field", s)
			}
			if found.Line == 0 && env != "" { // file-level fields were set in memory here
				t.Errorf("no line number: %s", s)
			}
			if err := Check(ps); c.warning && len(Errors(ps)) == 0 && err != nil {
				t.Errorf("Check fails on warnings only: %v", err)
			} else if !c.warning && err == nil {
				t.Errorf("Check(ps) = nil with an error among the problems")
			}
		})
	}
}

func TestValidateAcceptsReasonableValues(t *testing.T) {
	cases := map[string]func(e *Env){
		"legacy-free bucket with dots": func(e *Env) { e.Storage.Bucket = "acme.requests.eu" },
		"access point ARN":             func(e *Env) { e.Storage.Bucket = "arn:aws:s3:eu-west-1:123456789012:accesspoint/acme" },
		"directory bucket":             func(e *Env) { e.Storage.Bucket = "acme--euw1-az1--x-s3" },
		"table ARN":                    func(e *Env) { e.Status.Table = "arn:aws:dynamodb:eu-west-1:123456789012:table/acme-status" },
		"gov region":                   func(e *Env) { e.Region = "us-gov-west-1" },
		"iso region":                   func(e *Env) { e.Region = "us-isob-east-1" },
		"loopback http with api key": func(e *Env) {
			e.Gateway.URL, e.Gateway.Auth, e.Gateway.APIKeyEnv = "http://127.0.0.1:8080/dev", AuthAPIKey, "K"
		},
		"localhost http with api key": func(e *Env) {
			e.Gateway.URL, e.Gateway.Auth, e.Gateway.APIKeyEnv = "http://localhost:8080", AuthAPIKey, "K"
		},
		"ssm ARN": func(e *Env) {
			e.Gateway.Auth, e.Gateway.APIKeySSM = AuthAPIKey, "arn:aws:ssm:eu-west-1:123456789012:parameter/acme/key"
		},
		"secret ARN": func(e *Env) {
			e.Gateway.Auth, e.Gateway.APIKeySecret = AuthAPIKey, "arn:aws:secretsmanager:eu-west-1:1:secret:acme/key-AbCdEf"
		},
		"endpoint with trailing slash":  func(e *Env) { e.Endpoints.S3 = "http://127.0.0.1:4566/" },
		"gateway endpoint with stage":   func(e *Env) { e.Endpoints.Gateway = "http://127.0.0.1:4566/restapis/abc/dev/_user_request_" },
		"route with every placeholder":  func(e *Env) { e.Gateway.Routes.Inplace = "post /v1/{bucket}/{key}/{requestId}" },
		"ansi colour":                   func(e *Env) { e.Color = "202" },
		"short hex colour":              func(e *Env) { e.Color = "#0a8" },
		"prefix narrower than strip":    func(e *Env) { e.Storage.Prefix, e.Storage.StripPrefix = "in/2024/", "in/" },
		"fractional rate":               func(e *Env) { e.Rate = 0.5 },
		"lower-case terminal states ok": func(e *Env) { e.Status.TerminalStates = []string{"processed"} },
	}
	for name, mutate := range cases {
		t.Run(name, func(t *testing.T) {
			f := validFile(t)
			mutate(f.Environments["prod"])
			if ps := f.Validate(); len(ps) != 0 {
				t.Errorf("unexpected problems:\n%s", (&Error{Problems: ps}).Error())
			}
		})
	}
}

func TestValidateLinesPointAtTheField(t *testing.T) {
	f := mustParse(t, `environments:
  prod:
    storage:
      bucket: Bad_Bucket!
    status:
      table: acme-status
    gateway:
      auth: apikey
  staging:
    storage: {bucket: acme-staging}
    status: {}
`)
	want := []string{
		`config.yaml:4: environments.prod.storage.bucket: "Bad_Bucket!" is not a valid S3 bucket name`,
		`config.yaml:8: environments.prod.gateway.auth: "apikey" is not one of api-key, iam, none`,
		// An absent field points at its nearest parent.
		`config.yaml:11: environments.staging.status.table: required`,
	}
	ps := f.Validate()
	if len(ps) != len(want) {
		t.Fatalf("got %d problems, want %d:\n%s", len(ps), len(want), (&Error{Problems: ps}).Error())
	}
	for i, w := range want {
		if !strings.HasPrefix(ps[i].String(), w) {
			t.Errorf("problem %d = %q, want prefix %q", i, ps[i], w)
		}
	}
}

func TestLiteralAPIKeyNeedsMode0600(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("file modes are not enforced on Windows")
	}
	const secret = "k3y-that-must-never-be-printed"
	yaml := minimal + "    gateway:\n      auth: api-key\n      api_key: " + secret + "\n"
	cases := []struct {
		perm      uint32
		wantError bool
	}{
		{0o600, false},
		{0o400, false},
		{0o640, true},
		{0o644, true},
		{0o604, true},
	}
	for _, c := range cases {
		path := writeFile(t, yaml, fsMode(c.perm))
		f, err := Load(path)
		if err != nil {
			t.Fatal(err)
		}
		ps := f.Validate()
		errs, warns := Errors(ps), Warnings(ps)
		if len(warns) != 1 || warns[0].Field != "environments.prod.gateway.api_key" {
			t.Errorf("%04o: warnings = %v, want one about the literal key", c.perm, warns)
		}
		if got := len(errs) > 0; got != c.wantError {
			t.Errorf("%04o: errors = %v, want error %v", c.perm, errs, c.wantError)
		}
		if c.wantError && !strings.Contains(errs[0].Message, "chmod 600 "+path) {
			t.Errorf("%04o: error %q does not say to chmod 600", c.perm, errs[0])
		}
		if err := Check(ps); err != nil && strings.Contains(err.Error(), secret) {
			t.Errorf("the key leaked into %q", err)
		}
		for _, p := range ps {
			if strings.Contains(p.String(), secret) {
				t.Errorf("the key leaked into %q", p)
			}
		}
	}
}

func TestEnvValidateInMemory(t *testing.T) {
	e := &Env{Name: "demo", Storage: Storage{Bucket: "demo-requests"}, Status: Status{Table: "demo-status"}}
	e.ApplyDefaults()
	if ps := e.Validate(); len(ps) != 0 {
		t.Errorf("problems: %v", ps)
	}
	e.Gateway.Auth = "bogus"
	ps := e.Validate()
	if len(ps) != 1 || ps[0].String() != `config: environments.demo.gateway.auth: "bogus" is not one of api-key, iam, none` {
		t.Errorf("problems = %v", ps)
	}
}

// The redrive section reads strictly like the rest: defaults, an explicit zero kept for
// Validate, a misspelt field named.
func TestRedriveSection(t *testing.T) {
	f := mustParse(t, minimal+"    redrive:\n      lease_table: acme-leases\n")
	e := f.Environments["prod"]
	if e.Redrive.LeaseTable != "acme-leases" || e.Redrive.LeaseTTL.Duration != DefaultLeaseTTL {
		t.Fatalf("redrive = %+v", e.Redrive)
	}
	if ps := f.Validate(); len(ps) != 0 {
		t.Fatalf("problems: %v", ps)
	}

	f = mustParse(t, minimal)
	if e := f.Environments["prod"]; e.Redrive.LeaseTable != "" || e.Redrive.LeaseTTL.Duration != DefaultLeaseTTL {
		t.Fatalf("no redrive section: %+v", e.Redrive)
	}

	f = mustParse(t, minimal+"    redrive: {lease_ttl: 0s}\n")
	if got := f.Environments["prod"].Redrive.LeaseTTL.Duration; got != 0 {
		t.Fatalf("explicit lease_ttl: 0s became %v", got)
	}
	if ps := f.Validate(); len(ps) != 1 || ps[0].Field != "environments.prod.redrive.lease_ttl" {
		t.Fatalf("problems: %v", ps)
	}

	_, err := Parse("config.yaml", []byte(minimal+"    redrive: {lease_tabel: x}\n"))
	if err == nil || !strings.Contains(err.Error(), "lease_table") {
		t.Fatalf("misspelt field: %v", err)
	}
}
