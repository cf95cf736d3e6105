package cli

import (
	"bytes"
	"strings"
	"testing"

	"github.com/charmbracelet/x/exp/golden"

	"github.com/stowage-cli/stowage/internal/config"
	"github.com/stowage-cli/stowage/internal/devstack"
)

func TestDoctor(t *testing.T) {
	d := startDemo(t)

	t.Run("DemoPassesAsTable", func(t *testing.T) {
		before := d.stack.Received()
		r := d.run(t, "", "doctor", "-o", "table").must(t, ExitOK)
		if strings.Contains(r.stdout, "FAIL") || strings.Contains(r.stdout, d.stack.APIKey) {
			t.Fatalf("doctor on the demo:\n%s", r.stdout)
		}
		if !strings.Contains(r.stdout, "PASS  auth probe    the API key passed API Gateway's route and auth checks") ||
			!strings.Contains(r.stdout, "PASS  lease table   dynamodb://stowage-demo-leases keyed by requestId, writable") {
			t.Errorf("the key or the lease table is not proved:\n%s", r.stdout)
		}
		// doctor stores nothing: no delivery, no write to any table.
		if after := d.stack.Received(); len(after.Stored) != len(before.Stored) || after.Bytes != before.Bytes {
			t.Errorf("doctor stored %d requests", len(after.Stored)-len(before.Stored))
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
		r := d.onTerminal(100, &out).runTo(t, &out, &errb, "", "doctor").must(t, ExitOK)
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
		{"WrongAPIKey", func(e *config.Env) { e.Gateway.APIKey = "not-the-key" }, ExitAWS,
			[]string{"FAIL  auth probe", "403 Forbidden on PUT /product/{bucket}/{key}, a route that exists: the API key is refused", "to fix: check the key's value"}},
		{"MissingRoute", func(e *config.Env) { e.Gateway.Routes.Inplace = "PUT /upload/{bucket}/{key}" }, ExitAWS,
			[]string{"FAIL  auth probe", "403 Missing Authentication Token: PUT /upload/{bucket}/{key} is not a route", "the key is not proved",
				"to fix: check gateway.url (with its stage) and gateway.routes.inplace"}},
		{"ReadOnlySendsNoProbe", func(e *config.Env) { e.ReadOnly = true }, ExitOK,
			[]string{"SKIP  auth probe", "read-only: no PUT is sent", "PASS  lease table", "(read-only: writes not checked)"}},
		{"NoLeaseTable", func(e *config.Env) { e.Redrive.LeaseTable = "" }, ExitOK,
			[]string{"WARN  lease table", "no lease table: two runs on different machines can send the same request twice",
				"to fix: create one (README", "aws dynamodb create-table --table-name stowage-demo-leases"}},
		{"MissingLeaseTable", func(e *config.Env) { e.Redrive.LeaseTable = "no-such-leases" }, ExitAWS,
			[]string{"FAIL  lease table", "ResourceNotFoundException", "to fix: create it: aws dynamodb create-table --table-name no-such-leases"}},
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
		// The demo's own key, so that the auth probe passes with it.
		t.Setenv("STOWAGE_DOCTOR_TEST_KEY", d.stack.APIKey)
		v := d.variant(t, func(e *config.Env) { e.Gateway.APIKey, e.Gateway.APIKeyEnv = "", "STOWAGE_DOCTOR_TEST_KEY" })
		for _, o := range []string{"table", "json"} {
			r := v.run(t, "", "doctor", "-o", o).must(t, ExitOK)
			if strings.Contains(r.stdout+r.stderr, d.stack.APIKey) || !strings.Contains(r.stdout, "readable from environment variable STOWAGE_DOCTOR_TEST_KEY (not shown)") {
				t.Fatalf("-o %s:\n%s\n%s", o, r.stdout, r.stderr)
			}
		}
	})
	t.Run("GarbageGatewayIsNotUnreachable", func(t *testing.T) {
		// The demo gateway answers like a captive portal: 200, HTML, no x-amzn-RequestId.
		d.stack.SetGatewayFaults(devstack.GatewayFaults{Garbage: true})
		defer d.stack.SetGatewayFaults(devstack.GatewayFaults{})
		r := d.run(t, "", "doctor", "-o", "table").must(t, ExitAWS)
		for _, s := range []string{"FAIL  gateway", "answers, but not as API Gateway does: 200", "Sign in to the hotel", "FAIL  auth probe",
			"to fix: check gateway.url (with its stage): a proxy, a captive portal or another server answered"} {
			if !strings.Contains(r.stdout, s) {
				t.Errorf("doctor does not say %q:\n%s", s, r.stdout)
			}
		}
		if strings.Contains(r.stdout, "does not answer") || strings.Contains(r.stdout, "cannot reach") {
			t.Errorf("garbage reported as unreachable:\n%s", r.stdout)
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
