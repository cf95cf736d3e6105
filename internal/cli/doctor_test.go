package cli

import (
	"bytes"
	"strings"
	"testing"

	"github.com/charmbracelet/x/exp/golden"

	"github.com/stowage-cli/stowage/internal/config"
)

func TestDoctor(t *testing.T) {
	d := startDemo(t)

	t.Run("DemoPassesAsTable", func(t *testing.T) {
		r := d.run(t, "", "doctor", "-o", "table").must(t, ExitOK)
		if strings.Contains(r.stdout, "FAIL") || strings.Contains(r.stdout, d.stack.APIKey) {
			t.Fatalf("doctor on the demo:\n%s", r.stdout)
		}
		golden.RequireEqual(t, normalize(r.stdout))
	})
	t.Run("DemoPassesAsJSON", func(t *testing.T) {
		r := d.run(t, "", "doctor").must(t, ExitOK)
		for _, m := range jsonLines(t, r.stdout) {
			if m["result"] == "fail" || len(m) != 4 {
				t.Fatalf("check %v", m)
			}
		}
		golden.RequireEqual(t, normalize(r.stdout))
	})
	t.Run("ColourOnATerminal", func(t *testing.T) {
		var out, errb bytes.Buffer
		pretendTerminal(t, 100, &out)
		r := d.runTo(t, &out, &errb, "", "doctor").must(t, ExitOK)
		if !strings.Contains(r.stdout, "\x1b[32mPASS\x1b[0m") {
			t.Fatalf("%q", r.stdout)
		}
	})

	t.Setenv("STOWAGE_DOCTOR_TEST_KEY", "")
	for _, c := range []struct {
		name   string
		mutate func(*config.Env)
		code   int
		says   []string
	}{
		{"MissingTable", func(e *config.Env) { e.Status.Table = "no-such-table" }, ExitAWS,
			[]string{"FAIL  table", "to fix: check status.table", "SKIP  status index"}},
		{"WrongKeyAttribute", func(e *config.Env) { e.Status.KeyAttr = "id" }, ExitAWS,
			[]string{"FAIL  table", "is keyed by requestId, not id", "to fix: set status.key_attr to the table's partition key (requestId)"}},
		{"MissingIndex", func(e *config.Env) { e.Status.Index = "no-such-index" }, ExitAWS,
			[]string{"FAIL  status index", "has no index no-such-index"}},
		{"NoIndexIsAWarning", func(e *config.Env) { e.Status.Index = "" }, ExitOK,
			[]string{"WARN  status index", "ls --status scans the whole table"}},
		{"MissingBucket", func(e *config.Env) { e.Storage.Bucket = "no-such-bucket" }, ExitAWS,
			[]string{"FAIL  bucket list", "NoSuchBucket", "to fix: check storage.bucket", "SKIP  bucket get"}},
		{"GatewayUnreachable", func(e *config.Env) { e.Gateway.URL = "http://127.0.0.1:1/demo" }, ExitAWS,
			[]string{"FAIL  gateway", "does not answer", "to fix: check gateway.url"}},
		{"APIKeyVariableUnset", func(e *config.Env) {
			e.Gateway.APIKey, e.Gateway.APIKeyEnv = "", "STOWAGE_DOCTOR_TEST_KEY"
		}, ExitAWS, []string{"FAIL  api key", "export STOWAGE_DOCTOR_TEST_KEY"}},
		{"ReadOnlyProduction", func(e *config.Env) { e.ReadOnly, e.Production = true, true }, ExitOK,
			[]string{"PASS  read-only", "yes: redrive, copy and put are refused"}},
		{"WritableProduction", func(e *config.Env) { e.Production = true }, ExitOK,
			[]string{"WARN  read-only", "to fix: use --read-only while investigating"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := d.variant(t, c.mutate).run(t, "", "doctor", "-o", "table").must(t, c.code)
			for _, s := range c.says {
				if !strings.Contains(r.stdout, s) {
					t.Errorf("doctor does not say %q:\n%s", s, r.stdout)
				}
			}
		})
	}
	t.Run("APIKeyFromTheEnvironmentIsNeverPrinted", func(t *testing.T) {
		t.Setenv("STOWAGE_DOCTOR_TEST_KEY", "sekrit-key-value")
		v := d.variant(t, func(e *config.Env) { e.Gateway.APIKey, e.Gateway.APIKeyEnv = "", "STOWAGE_DOCTOR_TEST_KEY" })
		for _, o := range []string{"table", "json"} {
			r := v.run(t, "", "doctor", "-o", o).must(t, ExitOK)
			if strings.Contains(r.stdout+r.stderr, "sekrit") || !strings.Contains(r.stdout, "readable from environment variable STOWAGE_DOCTOR_TEST_KEY (not shown)") {
				t.Fatalf("-o %s:\n%s\n%s", o, r.stdout, r.stderr)
			}
		}
	})
	t.Run("BrokenConfigExits2", func(t *testing.T) {
		var out, errb bytes.Buffer
		code := Run(t.Context(), []string{"--config", t.TempDir() + "/none.yaml", "doctor", "-o", "table"}, strings.NewReader(""), &out, &errb)
		if code != ExitUsage || !strings.Contains(out.String(), "FAIL  config") {
			t.Fatalf("exit %d\n%s\n%s", code, out.String(), errb.String())
		}
	})
}

// TestDoctorWithoutAConfigSaysHowToCreateOne: a newcomer's first command must not send
// them to config validate, which fails the same way; the remedy is the command that
// creates the file.
func TestDoctorWithoutAConfigSaysHowToCreateOne(t *testing.T) {
	path := isolateConfigHome(t)
	code, stdout, _ := execStowage(t, "doctor", "-o", "table")
	if code != ExitUsage {
		t.Fatalf("exit %d, want %d", code, ExitUsage)
	}
	if !strings.Contains(stdout, "stowage config example > "+path) ||
		strings.Contains(stdout, "run stowage config validate") {
		t.Fatalf("the remedy does not say how to create the file:\n%s", stdout)
	}
}
