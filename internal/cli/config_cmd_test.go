package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stowage-cli/stowage/internal/config"
)

// writeConfig writes content to a temporary config.yaml with the given mode.
func writeConfig(t *testing.T, content string, perm os.FileMode) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(path, []byte(content), perm); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, perm); err != nil {
		t.Fatal(err)
	}
	return path
}

// isolateConfigHome points the default config path at an empty temporary directory.
func isolateConfigHome(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	t.Setenv("XDG_CONFIG_HOME", dir)
	return filepath.Join(dir, "stowage", "config.yaml")
}

func TestConfigExampleValidates(t *testing.T) {
	t.Parallel()
	code, out, errOut := execStowage(t, "config", "example")
	if code != ExitOK || out != config.Example() || errOut != "" {
		t.Fatalf("config example: exit %d, stderr %q, output equal to Example: %v", code, errOut, out == config.Example())
	}
	path := writeConfig(t, out, 0o600)
	code, out, errOut = execStowage(t, "config", "validate", "--config", path)
	if code != ExitOK || out != "ok: 2 environments (prod, staging)\n" || errOut != "" {
		t.Errorf("validate example: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
}

func TestConfigValidate(t *testing.T) {
	good := "environments:\n  prod:\n    storage: {bucket: acme-requests}\n    status: {table: acme-status}\n"
	cases := []struct {
		name       string
		content    string
		perm       os.FileMode
		args       []string
		wantCode   int
		wantStdout string
		wantStderr []string // each must appear on its own line
	}{
		{
			name: "ok", content: good, perm: 0o644, wantCode: ExitOK,
			wantStdout: "ok: 1 environment (prod)\n",
		},
		{
			name:    "every problem on its own line",
			content: "environments:\n  prod:\n    storage: {bucket: x}\n    status: {table: acme-status}\n    gateway: {auth: apikey}\n    rate: 0\n",
			perm:    0o644, wantCode: ExitUsage,
			wantStderr: []string{
				`FILE:3: environments.prod.storage.bucket: "x" is not a valid S3 bucket name; expected 3-63 lower-case letters, digits, . and -, starting and ending with a letter or digit`,
				`FILE:5: environments.prod.gateway.auth: "apikey" is not one of api-key, iam, none`,
				`FILE:6: environments.prod.rate: "0"; expected a number of requests per second greater than 0, e.g. 10`,
				`stowage: FILE has 3 problem(s); fix them and run stowage config validate again`,
			},
		},
		{
			name:    "unknown field",
			content: good + "    regoin: eu-west-1\n",
			perm:    0o644, wantCode: ExitUsage,
			wantStderr: []string{
				`FILE:5: environments.prod.regoin: unknown field (did you mean region?); expected one of profile, region, endpoints, storage, status, gateway, read_only, production, rate, local_credentials, color, preview_bytes, redrive, refresh, read_budget, events, logs, batch_ops`,
				`stowage: FILE has 1 problem(s); fix them and run stowage config validate again`,
			},
		},
		{
			name: "shape problems do not stop the field checks",
			content: "environments:\n  prod:\n    regoin: eu-west-1\n    rate: fast\n    storage: {bucket: x}\n" +
				"    status: {table: acme-status, lost_after: 1y}\n    gateway: {auth: apikey}\n  dev:\n    storage: [a]\n    status: {table: t}\n",
			perm: 0o644, wantCode: ExitUsage,
			wantStderr: []string{
				`FILE:3: environments.prod.regoin: unknown field (did you mean region?); expected one of profile, region, endpoints, storage, status, gateway, read_only, production, rate, local_credentials, color, preview_bytes, redrive, refresh, read_budget, events, logs, batch_ops`,
				`FILE:4: environments.prod.rate: expected a number, found "fast"`,
				`FILE:5: environments.prod.storage.bucket: "x" is not a valid S3 bucket name; expected 3-63 lower-case letters, digits, . and -, starting and ending with a letter or digit`,
				`FILE:7: environments.prod.gateway.auth: "apikey" is not one of api-key, iam, none`,
				`FILE:10: environments.dev.status.table: "t" is not a DynamoDB table name; expected 3-255 letters, digits, _ - . (or a table ARN)`,
				`stowage: FILE has 7 problem(s); fix them and run stowage config validate again`,
			},
		},
		{
			name: "not YAML at all", content: "environments:\n  prod: {storage: [\n", perm: 0o644, wantCode: ExitUsage,
			wantStderr: []string{`stowage: FILE is not a usable config; fix the problems above`},
		},
		{
			name: "--endpoint-url off the machine with local_credentials", perm: 0o644,
			content:    good + "    endpoints: {s3: \"http://127.0.0.1:9000\", dynamodb: \"http://127.0.0.1:8000\"}\n    local_credentials: {access_key_id: AKIDEMO, secret_access_key: do-not-print-me}\n",
			args:       []string{"--env", "prod", "--endpoint-url", "https://s3.example.com"},
			wantCode:   ExitUsage,
			wantStderr: []string{`stowage: --endpoint-url "https://s3.example.com" is not on this machine, but environment "prod" signs every request with its local_credentials, which may only go to loopback URLs (127.0.0.1, localhost); drop --endpoint-url, or choose an environment that uses profile`},
		},
		{
			name:    "warnings do not fail",
			content: good + "    gateway: {auth: api-key, api_key: do-not-print-me}\n",
			perm:    0o600, wantCode: ExitOK,
			wantStdout: "ok: 1 environment (prod)\n",
			wantStderr: []string{`FILE:5: warning: environments.prod.gateway.api_key: a literal API key ends up in backups and screen shares; prefer api_key_env, api_key_ssm or api_key_secret`},
		},
		{
			name:    "literal key in a readable file fails",
			content: good + "    gateway: {auth: api-key, api_key: do-not-print-me}\n",
			perm:    0o644, wantCode: ExitUsage,
			wantStderr: []string{`FILE:5: environments.prod.gateway.api_key: the file holds a literal API key but its mode is 0644; run chmod 600 FILE`},
		},
		{
			name: "unknown --env", content: good, perm: 0o644, args: []string{"--env", "prd"}, wantCode: ExitUsage,
			wantStderr: []string{`stowage: unknown environment "prd" in FILE; known: prod`},
		},
		{
			name: "bad --region", content: good, perm: 0o644, args: []string{"--env", "prod", "--region", "mars"}, wantCode: ExitUsage,
			wantStderr: []string{`stowage: --region: "mars" is not an AWS region; expected one like eu-west-1`},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			isolateConfigHome(t)
			path := writeConfig(t, c.content, c.perm)
			args := append([]string{"config", "validate", "--config", path}, c.args...)
			code, out, errOut := execStowage(t, args...)
			if code != c.wantCode {
				t.Errorf("exit %d, want %d; stderr:\n%s", code, c.wantCode, errOut)
			}
			if out != c.wantStdout {
				t.Errorf("stdout %q, want %q", out, c.wantStdout)
			}
			lines := strings.Split(errOut, "\n")
			for _, want := range c.wantStderr {
				want = strings.ReplaceAll(want, "FILE", path)
				found := false
				for _, l := range lines {
					found = found || l == want
				}
				if !found {
					t.Errorf("stderr lacks the line\n  %s\ngot:\n%s", want, errOut)
				}
			}
			if strings.Contains(out+errOut, "do-not-print-me") {
				t.Errorf("the API key was printed")
			}
		})
	}
}

func TestConfigValidateFileArgument(t *testing.T) {
	isolateConfigHome(t)
	path := writeConfig(t, config.Example(), 0o600)
	if code, out, _ := execStowage(t, "config", "validate", path); code != ExitOK || !strings.HasPrefix(out, "ok: 2") {
		t.Errorf("validate FILE: exit %d, %q", code, out)
	}
	if code, _, errOut := execStowage(t, "config", "validate", "--config", "/other.yaml", path); code != ExitUsage || !strings.Contains(errOut, "pass one") {
		t.Errorf("--config and FILE: exit %d, %q", code, errOut)
	}
}

func TestConfigValidateMissingDefaultFile(t *testing.T) {
	def := isolateConfigHome(t)
	code, out, errOut := execStowage(t, "config", "validate")
	if code != ExitUsage || out != "" {
		t.Errorf("exit %d, stdout %q", code, out)
	}
	if !strings.Contains(errOut, "stowage config example > "+def) {
		t.Errorf("stderr does not say how to create the file:\n%s", errOut)
	}
}

func TestConfigPath(t *testing.T) {
	def := isolateConfigHome(t)
	code, out, errOut := execStowage(t, "config", "path")
	if code != ExitOK || out != def+"\n" || !strings.Contains(errOut, "does not exist yet") {
		t.Errorf("default: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	path := writeConfig(t, config.Example(), 0o600)
	code, out, errOut = execStowage(t, "config", "path", "--config", path)
	if code != ExitOK || out != path+"\n" || errOut != "" {
		t.Errorf("--config: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
}

func TestConfigWithoutSubcommandShowsHelp(t *testing.T) {
	t.Parallel()
	code, out, _ := execStowage(t, "config")
	if code != ExitOK || !strings.Contains(out, "validate") || !strings.Contains(out, "example") {
		t.Errorf("exit %d, output:\n%s", code, out)
	}
	if code, _, errOut := execStowage(t, "config", "bogus"); code != ExitUsage || !strings.Contains(errOut, `unknown command "bogus"`) {
		t.Errorf("config bogus: exit %d, %q", code, errOut)
	}
}
