package cli

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stowage-cli/stowage/awsclient"
	"github.com/stowage-cli/stowage/internal/config"
	"github.com/stowage-cli/stowage/internal/devstack"
)

const twoEnvs = `default_env: staging
environments:
  staging:
    region: eu-west-1
    storage: {bucket: acme-staging}
    status: {table: acme-staging-status}
  prod:
    production: true
    storage: {bucket: acme-prod}
    status: {table: acme-prod-status}
`

func TestLoadEnvSelectsAndOverrides(t *testing.T) {
	isolateConfigHome(t)
	path := writeConfig(t, twoEnvs, 0o600)
	var stderr bytes.Buffer
	g := &Globals{ConfigPath: path, Env: "prod", Region: "us-east-1", EndpointURL: "http://127.0.0.1:4566", ReadOnly: true, Stderr: &stderr}
	env, f, err := g.LoadEnv()
	if err != nil {
		t.Fatal(err)
	}
	if env.Name != "prod" || env.Region != "us-east-1" || env.Endpoints.S3 != "http://127.0.0.1:4566" || !env.ReadOnly || !env.Production {
		t.Errorf("env = %+v", env)
	}
	if f.Path != path || f.Environments["prod"].ReadOnly {
		t.Errorf("file %q changed by overrides: %+v", f.Path, f.Environments["prod"])
	}
	if stderr.Len() != 0 {
		t.Errorf("stderr: %s", stderr.String())
	}

	g = &Globals{ConfigPath: path}
	if env, _, err := g.LoadEnv(); err != nil || env.Name != "staging" {
		t.Errorf("default_env: %v, %v", env, err)
	}
}

func TestLoadEnvUsesDefaultPath(t *testing.T) {
	def := isolateConfigHome(t)
	g := &Globals{}
	_, _, err := g.LoadEnv()
	var ee *ExitError
	if !errors.As(err, &ee) || ee.Code != ExitUsage || !strings.Contains(err.Error(), "stowage config example > "+def) {
		t.Fatalf("err = %v, want ExitUsage saying how to create %s", err, def)
	}
}

func TestLoadEnvProblems(t *testing.T) {
	cases := []struct {
		name       string
		content    string
		env        string
		wantErr    string // "" = success
		wantStderr string
	}{
		{
			name:    "problem in the chosen environment blocks it",
			content: strings.Replace(twoEnvs, "bucket: acme-prod", "bucket: x", 1), env: "prod",
			wantErr: `environment "prod" cannot be used; fix these and run stowage config validate:` + "\n" + `FILE:9: environments.prod.storage.bucket: "x" is not a valid S3 bucket name`,
		},
		{
			name:    "problem in another environment only warns",
			content: strings.Replace(twoEnvs, "bucket: acme-prod", "bucket: x", 1), env: "staging",
			wantStderr: "stowage: warning: FILE has 1 problem(s) in other environments; run stowage config validate\n",
		},
		{
			name:    "warnings of the chosen environment are printed",
			content: twoEnvs + "    gateway: {auth: iam, api_key_env: KEY}\n", env: "prod",
			wantStderr: "stowage: FILE:11: warning: environments.prod.gateway: api_key_env ignored because auth is \"iam\", not api-key\n",
		},
		{
			name: "bad default_env does not matter with --env", content: strings.Replace(twoEnvs, "default_env: staging", "default_env: stage", 1), env: "prod",
		},
		{
			name: "bad default_env without --env", content: strings.Replace(twoEnvs, "default_env: staging", "default_env: stage", 1),
			wantErr: `default_env "stage" is not an environment in FILE (known: prod, staging); fix default_env or pass --env NAME`,
		},
		{
			name: "unreadable YAML", content: "environments: [", env: "prod",
			wantErr: "FILE:1: not valid YAML",
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			isolateConfigHome(t)
			path := writeConfig(t, c.content, 0o600)
			var stderr bytes.Buffer
			g := &Globals{ConfigPath: path, Env: c.env, Stderr: &stderr}
			env, _, err := g.LoadEnv()
			if got, want := stderr.String(), strings.ReplaceAll(c.wantStderr, "FILE", path); got != want {
				t.Errorf("stderr %q, want %q", got, want)
			}
			if c.wantErr == "" {
				if err != nil || env == nil || env.Name != c.env {
					t.Errorf("LoadEnv = %v, %v", env, err)
				}
				return
			}
			var ee *ExitError
			if !errors.As(err, &ee) || ee.Code != ExitUsage {
				t.Fatalf("err = %#v, want an ExitUsage *ExitError", err)
			}
			if want := strings.ReplaceAll(c.wantErr, "FILE", path); !strings.Contains(err.Error(), want) {
				t.Errorf("err =\n%s\nwant it to contain\n%s", err, want)
			}
			var ce *config.Error
			if strings.Contains(c.name, "chosen") && !errors.As(err, &ce) {
				t.Errorf("a validation failure should wrap *config.Error")
			}
		})
	}
}

const localEnv = `environments:
  demo:
    endpoints: {s3: "http://127.0.0.1:9000", dynamodb: "http://127.0.0.1:8000"}
    storage: {bucket: demo-bucket}
    status: {table: demo-status}
    local_credentials: {access_key_id: AKIDEMO, secret_access_key: do-not-print-me}
`

// The file is valid; the flags would make it send the static keys off the machine, or
// would be ignored. Both are refused with exit 2 before anything is opened.
func TestLoadEnvRefusesFlagsThatBreakLocalCredentials(t *testing.T) {
	isolateConfigHome(t)
	path := writeConfig(t, localEnv, 0o600)
	for _, c := range []struct {
		name string
		g    Globals
		want string
	}{
		{"remote --endpoint-url", Globals{EndpointURL: "https://remote.example.com"},
			`--endpoint-url "https://remote.example.com" is not on this machine, but environment "demo" signs every request with its local_credentials`},
		{"--profile", Globals{Profile: "prod"},
			`--profile "prod" cannot be used with environment "demo": it signs every request with its local_credentials (a stack on this machine), so the profile would be ignored`},
	} {
		t.Run(c.name, func(t *testing.T) {
			g := c.g
			g.ConfigPath, g.Stderr = path, &bytes.Buffer{}
			env, _, err := g.LoadEnv()
			var ee *ExitError
			if !errors.As(err, &ee) || ee.Code != ExitUsage || env != nil {
				t.Fatalf("LoadEnv = %v, %v; want an ExitUsage refusal", env, err)
			}
			if !strings.Contains(err.Error(), c.want) || strings.Contains(err.Error(), "do-not-print-me") {
				t.Errorf("err = %v, want %q", err, c.want)
			}
		})
	}
	g := &Globals{ConfigPath: path, EndpointURL: "http://localhost:4566", Stderr: &bytes.Buffer{}}
	if env, _, err := g.LoadEnv(); err != nil || env.Endpoints.S3 != "http://localhost:4566" {
		t.Errorf("a loopback --endpoint-url: %v, %v", env, err)
	}
}

// An unknown field in one environment is that environment's problem, like any other.
func TestLoadEnvShapeProblemElsewhereOnlyWarns(t *testing.T) {
	isolateConfigHome(t)
	path := writeConfig(t, twoEnvs+"    regoin: eu-west-1\n", 0o600)
	var stderr bytes.Buffer
	g := &Globals{ConfigPath: path, Env: "staging", Stderr: &stderr}
	if env, _, err := g.LoadEnv(); err != nil || env.Name != "staging" {
		t.Fatalf("staging: %v, %v", env, err)
	}
	if want := "stowage: warning: " + path + " has 1 problem(s) in other environments; run stowage config validate\n"; stderr.String() != want {
		t.Errorf("stderr %q, want %q", stderr.String(), want)
	}
	g = &Globals{ConfigPath: path, Env: "prod", Stderr: &bytes.Buffer{}}
	_, _, err := g.LoadEnv()
	var ee *ExitError
	if !errors.As(err, &ee) || ee.Code != ExitUsage || !strings.Contains(err.Error(), "environments.prod.regoin: unknown field") {
		t.Errorf("prod: err = %v, want its unknown field", err)
	}
}

// assertNoDemoSecrets fails when log carries any secret of the demo stack d: the static
// secret key, the gateway's API key, or a SigV4 signature or credential.
func assertNoDemoSecrets(t *testing.T, d *demo, log string) {
	t.Helper()
	for _, secret := range []string{devstack.SecretKey, d.stack.APIKey, "Signature=", "Credential=", "Authorization", "x-api-key"} {
		if strings.Contains(log, secret) {
			t.Errorf("the debug output carries %q:\n%s", secret, log)
		}
	}
}

// --debug logs every AWS request of a command to stderr (method, URL, status, time,
// attempt) and none of the demo's secrets; without it nothing is logged.
func TestDebugLogsAWSRequestsWithoutSecrets(t *testing.T) {
	d := startDemo(t)
	code, out, errOut := execStowage(t, "--config", d.config, "--env", devstack.EnvName, "--debug", "ls", "--limit", "3", "-o", "json")
	if code != ExitOK || out == "" {
		t.Fatalf("exit %d, stdout %q, stderr:\n%s", code, out, errOut)
	}
	for name, line := range map[string]string{
		"S3":       `(?m)^stowage: debug: GET http://127\.0\.0\.1:\d+/\S* 200 \d+(\.\d+)?[µm]?s attempt 1/\d+ request-id \S+$`,
		"DynamoDB": `(?m)^stowage: debug: POST http://127\.0\.0\.1:\d+/ \(DynamoDB_20120810\.\w+\) 200 \d+(\.\d+)?[µm]?s attempt 1/\d+`,
	} {
		if !regexp.MustCompile(line).MatchString(errOut) {
			t.Errorf("no %s request line in:\n%s", name, errOut)
		}
	}
	if strings.Contains(out, "stowage: debug:") {
		t.Errorf("debug lines on stdout:\n%s", out)
	}
	assertNoDemoSecrets(t, d, errOut)

	if _, _, errOut := execStowage(t, "--config", d.config, "--env", devstack.EnvName, "ls", "--limit", "3", "-o", "json"); strings.Contains(errOut, "debug") {
		t.Errorf("without --debug:\n%s", errOut)
	}
}

// The gateway's requests go through the same log: the x-api-key header never shows.
func TestDebugLogsGatewayRequestsWithoutTheAPIKey(t *testing.T) {
	d := startDemo(t)
	var stderr bytes.Buffer
	g := &Globals{ConfigPath: d.config, Env: devstack.EnvName, Debug: true, Stderr: &stderr}
	env, _, err := g.LoadEnv()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := awsclient.Open(ctx, env, g.openOptions()...)
	if err != nil {
		t.Fatal(err)
	}
	if c.Gateway == nil {
		t.Fatal("the demo environment has no gateway")
	}
	body := `{"debug":"test"}`
	_, err = c.Gateway.Send(ctx, awsclient.Route{Method: http.MethodPut, Path: "/product"}, awsclient.RouteVars{},
		awsclient.Payload{Size: int64(len(body)), ContentType: "application/json",
			Open: func() (io.ReadCloser, error) { return io.NopCloser(strings.NewReader(body)), nil }})
	if err != nil {
		t.Fatalf("send: %v\n%s", err, stderr.String())
	}
	if !regexp.MustCompile(`(?m)^stowage: debug: PUT http://127\.0\.0\.1:\d+/\S*product 2\d\d `).MatchString(stderr.String()) {
		t.Errorf("no gateway line in:\n%s", stderr.String())
	}
	if strings.Contains(stderr.String(), body) {
		t.Errorf("the body was logged:\n%s", stderr.String())
	}
	assertNoDemoSecrets(t, d, stderr.String())
}

func TestDebugRefusesToDrawOverTheTerminalUI(t *testing.T) {
	t.Parallel()
	g := &Globals{Debug: true, Stderr: &bytes.Buffer{}, seams: seams{isTerminal: func(any) bool { return true }}}
	err := startTUI(context.Background(), g, &config.Env{Name: "x"}, nil)
	var ee *ExitError
	if !errors.As(err, &ee) || ee.Code != ExitUsage || !strings.Contains(err.Error(), "2>") {
		t.Errorf("startTUI with --debug on a terminal: %v", err)
	}
}

// A real redrive with --debug: each gateway PUT is logged with its status, and the API
// key it carried does not show.
func TestDebugLogsRedriveSendsWithoutTheAPIKey(t *testing.T) {
	d, _ := redriveDemo(t)
	ids := transientFailed(t, d, 2)
	r := d.run(t, "", append([]string{"--debug", "redrive", "--yes", "-o", "json", "--rate", "0"}, ids...)...).must(t, ExitOK)
	sends := regexp.MustCompile(`(?m)^stowage: debug: PUT http://127\.0\.0\.1:\d+/\S*product\S* 2\d\d `).FindAllString(r.stderr, -1)
	if len(sends) < len(ids) {
		t.Errorf("want a PUT line for each of %d requests, found %d:\n%s", len(ids), len(sends), r.stderr)
	}
	assertNoDemoSecrets(t, d, r.stderr)
}
