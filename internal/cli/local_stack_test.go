package cli

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/stowage-cli/stowage/awsclient"
	"github.com/stowage-cli/stowage/internal/config"
	"github.com/stowage-cli/stowage/internal/testenv"
)

// onlyLoopback returns the demo whose runs fail the test on a dial off loopback from any
// client the commands open.
func (d *demo) onlyLoopback(t *testing.T) *demo {
	lo := testenv.LoopbackOnlyTransport(t)
	c := *d
	c.seams.openClients = func(ctx context.Context, env *config.Env, opts ...awsclient.OpenOption) (*awsclient.Clients, error) {
		opts = append(opts, awsclient.WithHTTPWrap(func(http.RoundTripper) http.RoundTripper { return lo }))
		return awsclient.Open(ctx, env, opts...)
	}
	return &c
}

// A stack reached through AWS_ENDPOINT_URL_S3 and AWS_ENDPOINT_URL_DYNAMODB is local: doctor
// and a redrive plan (whose audit line names the operator) never ask AWS STS.
func TestLocalStackFromEnvironmentVariablesNeverLeavesLoopback(t *testing.T) {
	d := startDemo(t)
	f := d.stack.Config()
	env := f.Environments[f.DefaultEnv]
	t.Setenv("AWS_ENDPOINT_URL_S3", env.Endpoints.S3)
	t.Setenv("AWS_ENDPOINT_URL_DYNAMODB", env.Endpoints.DynamoDB)
	env.Endpoints, env.LocalCredentials = config.Endpoints{}, nil // keys from AWS_ACCESS_KEY_ID
	// Not named demo: the demo's operator is fixed, this one asks who the caller is.
	f = &config.File{DefaultEnv: "local", Environments: map[string]*config.Env{"local": env}}
	data, err := yaml.Marshal(f)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	local := (&demo{stack: d.stack, config: path, seams: d.seams}).onlyLoopback(t)

	r := local.run(t, "", "doctor", "-o", "table")
	if strings.Contains(r.stdout, "FAIL  bucket") || strings.Contains(r.stdout, "FAIL  table") {
		t.Errorf("the local endpoints from the environment were not used:\n%s", r.stdout)
	}
	ids := ids(t, local.run(t, "", "ls", "-o", "json", "--limit", "2").must(t, ExitOK).stdout)
	if len(ids) == 0 {
		t.Fatal("ls found nothing on the local stack")
	}
	local.run(t, "", append([]string{"redrive", "--dry-run", "-o", "json"}, ids...)...).must(t, ExitOK)
}

// When AWS_PROFILE names another profile than the environment's, the environment's wins and
// the command says so once on stderr.
func TestCommandsSayOnceThatAWSProfileIsOverridden(t *testing.T) {
	d := startDemo(t)
	if err := os.WriteFile(os.Getenv("AWS_CONFIG_FILE"), []byte("[profile prod]\nregion = us-east-1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	creds := "[prod]\naws_access_key_id = " + os.Getenv("AWS_ACCESS_KEY_ID") + "\naws_secret_access_key = " + os.Getenv("AWS_SECRET_ACCESS_KEY") + "\n"
	if err := os.WriteFile(os.Getenv("AWS_SHARED_CREDENTIALS_FILE"), []byte(creds), 0o600); err != nil {
		t.Fatal(err)
	}
	v := d.variant(t, func(e *config.Env) { e.LocalCredentials, e.Profile = nil, "prod" })
	t.Setenv("AWS_PROFILE", "staging\x1b[31m")
	r := v.run(t, "", "ls", "-o", "json", "--limit", "1").must(t, ExitOK)
	if n := strings.Count(r.stderr, "is ignored"); n != 1 || !strings.Contains(r.stderr, "profile prod") {
		t.Errorf("stderr says it %d times, want once naming profile prod:\n%s", n, r.stderr)
	}
	if strings.Contains(r.stderr, "\x1b") {
		t.Errorf("the variable reached the terminal unsanitized: %q", r.stderr)
	}
}

// --debug logs the requests of every command that opens through openEnv, without secrets.
func TestDebugLogsTheRequestsOfListingCommands(t *testing.T) {
	d := startDemo(t)
	for _, args := range [][]string{{"ls", "--limit", "1"}, {"lost", "--limit", "1"}} {
		r := d.run(t, "", append([]string{"--debug", "-o", "json"}, args...)...).must(t, ExitOK)
		if !regexp.MustCompile(`(?m)^stowage: debug: GET http://127\.0\.0\.1:\d+/`).MatchString(r.stderr) {
			t.Errorf("%v --debug logged no S3 request:\n%s", args, r.stderr)
		}
		assertNoDemoSecrets(t, d, r.stderr)
	}
}
