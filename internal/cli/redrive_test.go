package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/charmbracelet/x/exp/golden"
	"gopkg.in/yaml.v3"

	"github.com/stowage-cli/stowage/awsclient"
	"github.com/stowage-cli/stowage/internal/config"
	"github.com/stowage-cli/stowage/internal/devstack"
	"github.com/stowage-cli/stowage/redrive"
)

// redriveDemo starts the demo stack for a redrive test, with a private state directory
// (journals, reports, the audit log).
func redriveDemo(t *testing.T, opts ...func(*devstack.Options)) (*demo, string) {
	t.Helper()
	d := startDemo(t, opts...)
	state := t.TempDir()
	t.Setenv("XDG_STATE_HOME", state)
	return d, filepath.Join(state, "stowage")
}

// transientFailed lists up to n FAILED requests of the demo whose error is transient.
func transientFailed(t *testing.T, d *demo, n int) []string {
	t.Helper()
	return failedIDs(t, d, n, true)
}

// failedIDs lists up to n FAILED requests of the demo, only transient ones if asked.
func failedIDs(t *testing.T, d *demo, n int, transient bool) []string {
	t.Helper()
	r := d.run(t, "", "ls", "--status", "FAILED", "-o", "json").must(t, ExitOK)
	var out []string
	for _, row := range jsonLines(t, r.stdout) {
		id := row["id"].(string)
		if e, _ := row["error"].(string); !transient || strings.Contains(e, "timeout") || strings.Contains(e, "throttled") {
			out = append(out, id)
			if len(out) == n {
				break
			}
		}
	}
	if len(out) == 0 {
		t.Fatal("the demo has no transient failure")
	}
	return out
}

// answer makes the confirmation prompt read text, and records whether the command said
// that stdin held data.
func answer(t *testing.T, d *demo, text string) (prompts *bytes.Buffer, stdinWasData *bool) {
	t.Helper()
	old := d.seams.promptTerminal
	prompts, stdinWasData = &bytes.Buffer{}, new(bool)
	d.seams.promptTerminal = func(g *Globals, data bool) (io.Reader, io.Writer, func(), error) {
		*stdinWasData = data
		return strings.NewReader(text), prompts, func() {}, nil
	}
	t.Cleanup(func() { d.seams.promptTerminal = old })
	return prompts, stdinWasData
}

func auditEntries(t *testing.T) []redrive.AuditEntry {
	t.Helper()
	path, err := redrive.AuditPath()
	if err != nil {
		t.Fatal(err)
	}
	entries, bad, err := redrive.LoadAudit(path)
	if err != nil || bad != 0 {
		t.Fatalf("audit log: %v (%d bad lines)", err, bad)
	}
	return entries
}

func TestRedriveDryRunPlansPrintsAndAuditsWithoutSending(t *testing.T) {
	d, _ := redriveDemo(t)
	ids := transientFailed(t, d, 3)
	r := d.run(t, "", append([]string{"redrive", "--dry-run", "-o", "table"}, ids...)...).must(t, ExitOK)
	for _, want := range []string{"Redrive plan", "environment  demo", "mode         inplace → PUT http://127.0.0.1:",
		"/demo/product/{bucket}/{key}", "requests     3,", "FAILED 3", "rate         20/s, 4 at a time, ETA under a second", "manifest     sha256 ", ids[0]} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("the plan lacks %q:\n%s", want, r.stdout)
		}
	}
	if !strings.Contains(r.stderr, "Dry run: nothing was sent.") {
		t.Errorf("stderr: %s", r.stderr)
	}
	if n := len(d.stack.Received().Requests); n != 0 {
		t.Errorf("a dry run sent %d requests", n)
	}
	e := auditEntries(t)
	if len(e) != 1 || e[0].Outcome != redrive.OutcomeDryRun || e[0].Who != "demo" || e[0].Count != 3 || len(e[0].ManifestHash) != 64 {
		t.Errorf("audit %+v", e)
	}

	// -o json: the manifest items, which feed back into --from-file.
	r = d.run(t, "", append([]string{"redrive", "--dry-run", "-o", "json"}, ids...)...).must(t, ExitOK)
	back, err := redrive.ParseIDList(strings.NewReader(r.stdout))
	if err != nil || strings.Join(back, ",") != strings.Join(ids, ",") {
		t.Errorf("dry-run JSON reads back as %v (%v), want %v", back, err, ids)
	}
}

func TestRedriveRunsHeadlessReportsAndTurnsTransientFailuresProcessed(t *testing.T) {
	d, state := redriveDemo(t)
	ids := transientFailed(t, d, 4)
	r := d.run(t, "", append([]string{"redrive", "--yes", "-o", "json", "--rate", "0"}, ids...)...).must(t, ExitOK)
	rows := jsonLines(t, r.stdout)
	if len(rows) != len(ids) {
		t.Fatalf("%d report lines for %d requests:\n%s", len(rows), len(ids), r.stdout)
	}
	for _, row := range rows {
		for _, f := range []string{"id", "key", "mode", "state", "attempts", "httpStatus", "gatewayRequestId", "durationMs"} {
			if _, ok := row[f]; !ok {
				t.Errorf("report line lacks %s: %v", f, row)
			}
		}
		if _, ok := row["newRequestId"]; ok {
			t.Errorf("an inplace report line names a new request ID, but the request keeps its own: %v", row)
		}
		if row["state"] != "delivered" || row["mode"] != "inplace" {
			t.Errorf("report line %v", row)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := d.stack.Settle(ctx); err != nil {
		t.Fatal(err)
	}
	for _, id := range ids {
		if s, _ := d.stack.Status(id); s.State != devstack.StateProcessed {
			t.Errorf("%s is %s after the redrive, want PROCESSED", id, s.State)
		}
		if n := d.stack.Received().ByOriginalID[id]; n != 1 {
			t.Errorf("%s reached the gateway %d times", id, n)
		}
	}
	for _, want := range []string{"Journal: " + state + "/redrives/", "Report:  " + state + "/redrives/", " finished: 4 delivered."} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, r.stderr)
		}
	}
	journals, _ := filepath.Glob(filepath.Join(state, "redrives", "*.journal.jsonl"))
	reports, _ := filepath.Glob(filepath.Join(state, "redrives", "*.report.jsonl"))
	if len(journals) != 1 || len(reports) != 1 {
		t.Fatalf("journals %v, reports %v", journals, reports)
	}
	for _, p := range append(journals, reports...) {
		if fi, err := os.Stat(p); err != nil || fi.Mode().Perm() != 0o600 {
			t.Errorf("%s: mode %v %v, want 0600", p, fi.Mode().Perm(), err)
		}
	}
	e := auditEntries(t)
	if len(e) != 2 || e[0].Outcome != redrive.OutcomeStarted || e[0].Journal != journals[0] || e[0].RunID != e[1].RunID {
		t.Errorf("audit %+v: want a started entry naming the journal first", e)
	}
	if len(e) != 2 || e[1].Outcome != redrive.OutcomeDelivered || e[1].Counts.Delivered != 4 || e[1].Journal != journals[0] || e[1].Report != reports[0] {
		t.Errorf("audit %+v", e)
	}

	// No secret anywhere: not in the journal, the report, the audit log or the output.
	key := d.stack.APIKey
	audit, _ := redrive.AuditPath()
	for _, p := range append(append(journals, reports...), audit) {
		b, _ := os.ReadFile(p)
		if bytes.Contains(b, []byte(key)) || bytes.Contains(b, []byte(devstack.SecretKey)) {
			t.Errorf("%s holds a secret", p)
		}
	}
	if strings.Contains(r.stdout+r.stderr, key) {
		t.Error("the output holds the API key")
	}
}

// A script pipes ls into redrive and reads what redrive writes: the dry-run manifest lines,
// the report, the journal and the audit log all name their fields as ls -o json does.
func TestRedriveJSONSpeaksTheLsContract(t *testing.T) {
	d, state := redriveDemo(t)
	lsOut := d.run(t, "", "ls", "--status", "FAILED", "-o", "json").must(t, ExitOK).stdout
	var picked []string
	lsRows := map[string]map[string]any{}
	for _, line := range strings.Split(strings.TrimSpace(lsOut), "\n") {
		row := jsonLines(t, line)[0]
		if e, _ := row["error"].(string); strings.Contains(e, "timeout") || strings.Contains(e, "throttled") {
			picked = append(picked, line)
			lsRows[row["id"].(string)] = row
		}
		if len(picked) == 3 {
			break
		}
	}
	if len(picked) == 0 {
		t.Fatal("the demo has no transient failure")
	}

	// ls -o json lines feed --from-file; the dry-run lines share ls's names and values.
	dry := d.run(t, strings.Join(picked, "\n")+"\n", "redrive", "--from-file", "-", "--dry-run", "-o", "json").must(t, ExitOK).stdout
	dryRows := jsonLines(t, dry)
	if len(dryRows) != len(picked) {
		t.Fatalf("%d dry-run lines for %d ls lines:\n%s", len(dryRows), len(picked), dry)
	}
	for _, row := range dryRows {
		ls := lsRows[row["id"].(string)]
		if ls == nil {
			t.Fatalf("dry-run line %v is not one of the ls lines", row)
		}
		for _, f := range []string{"key", "size", "contentType", "status"} {
			if row[f] != ls[f] {
				t.Errorf("%s: dry run says %s=%v, ls says %v", row["id"], f, row[f], ls[f])
			}
		}
		planned, err1 := time.Parse(time.RFC3339Nano, row["lastModified"].(string))
		listed, err2 := time.Parse(time.RFC3339, ls["lastModified"].(string))
		if err1 != nil || err2 != nil || !planned.Truncate(time.Second).Equal(listed) {
			t.Errorf("%s: dry run says lastModified=%v, ls says %v (%v, %v)", row["id"], row["lastModified"], ls["lastModified"], err1, err2)
		}
	}

	// The dry-run lines feed a real run in turn.
	r := d.run(t, dry, "redrive", "--from-file", "-", "--yes", "-o", "json", "--rate", "0").must(t, ExitOK)
	report := jsonLines(t, r.stdout)
	if len(report) != len(picked) {
		t.Fatalf("%d report lines for %d requests:\n%s", len(report), len(picked), r.stdout)
	}
	for _, row := range report {
		if _, ok := row["runId"]; !ok {
			t.Errorf("report line lacks runId: %v", row)
		}
	}
	assertLowerCamelKeys(t, "dry-run line", dryRows)
	assertLowerCamelKeys(t, "report line", report)
	files, _ := filepath.Glob(filepath.Join(state, "redrives", "*.jsonl"))
	audit, _ := redrive.AuditPath()
	for _, p := range append(files, audit) {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		assertLowerCamelKeys(t, filepath.Base(p), jsonLines(t, string(b)))
	}
	if len(files) != 2 {
		t.Errorf("want a journal and a report, got %v", files)
	}
}

var lowerCamelKey = regexp.MustCompile(`^[a-z][a-zA-Z0-9]*$`)

// assertLowerCamelKeys fails for every object key, at any depth, that is not lowerCamelCase.
func assertLowerCamelKeys(t *testing.T, what string, rows []map[string]any) {
	t.Helper()
	var walk func(path string, v any)
	walk = func(path string, v any) {
		switch v := v.(type) {
		case map[string]any:
			for k, x := range v {
				if !lowerCamelKey.MatchString(k) {
					t.Errorf("%s: field %s%s is not lowerCamelCase", what, path, k)
				}
				walk(path+k+".", x)
			}
		case []any:
			for _, x := range v {
				walk(path, x)
			}
		}
	}
	for _, row := range rows {
		walk("", row)
	}
}

func TestRedriveConfirmation(t *testing.T) {
	d, _ := redriveDemo(t)
	ids := failedIDs(t, d, 12, false)
	if len(ids) < 12 {
		t.Fatalf("the demo has only %d failures", len(ids))
	}
	sent := func() int { return len(d.stack.Received().Requests) }

	t.Run("no terminal and no --yes refuses", func(t *testing.T) {
		r := d.run(t, "", "redrive", ids[0]).must(t, ExitUsage)
		if !strings.Contains(r.stderr, "pass --yes") || sent() != 0 {
			t.Errorf("stderr %q, sent %d", r.stderr, sent())
		}
	})
	t.Run("one request: n declines", func(t *testing.T) {
		prompts, _ := answer(t, d, "n\n")
		d.run(t, "", "redrive", ids[0]).must(t, ExitCancelled)
		if !strings.Contains(prompts.String(), "Redrive 1 request on environment \"demo\"? [y/N]") || sent() != 0 {
			t.Errorf("prompt %q, sent %d", prompts.String(), sent())
		}
	})
	t.Run("one request: y runs", func(t *testing.T) {
		answer(t, d, "y\n")
		d.run(t, "", "redrive", ids[0]).must(t, ExitOK)
		if sent() != 1 {
			t.Errorf("sent %d", sent())
		}
	})
	t.Run("bulk: a wrong name declines", func(t *testing.T) {
		prompts, _ := answer(t, d, "y\n")
		d.run(t, "", append([]string{"redrive"}, ids[1:12]...)...).must(t, ExitCancelled)
		if !strings.Contains(prompts.String(), "Type the environment name (demo) to confirm") || sent() != 1 {
			t.Errorf("prompt %q, sent %d", prompts.String(), sent())
		}
	})
	t.Run("IDs on stdin: the prompt does not read stdin", func(t *testing.T) {
		_, data := answer(t, d, "demo\n")
		d.run(t, strings.Join(ids[1:12], "\n"), "redrive", "--from-file", "-").must(t, ExitOK)
		if !*data || sent() != 12 {
			t.Errorf("stdin held data: %v; sent %d", *data, sent())
		}
	})
	t.Run("Ctrl+C at the prompt declines at once", func(t *testing.T) {
		pr, pw := io.Pipe()
		defer pw.Close()
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		// Ctrl+C once the prompt is up (a timer could fire while still planning, which
		// cancels too, but before anything is declined and audited).
		c := *d
		c.seams.promptTerminal = func(*Globals, bool) (io.Reader, io.Writer, func(), error) {
			cancel()
			return pr, io.Discard, func() {}, nil
		}
		before := sent()
		var out, errb bytes.Buffer
		if code := c.runIn(ctx, strings.NewReader(""), &out, &errb, "redrive", ids[0]); code != ExitCancelled {
			t.Errorf("exit %d, want 130: %s", code, errb.String())
		}
		if sent() != before {
			t.Errorf("sent %d after Ctrl+C at the prompt", sent()-before)
		}
	})
	t.Run("production: two requests need the name", func(t *testing.T) {
		prod := d.withEnv(t, func(e *config.Env) { e.Production = true })
		prompts, _ := answer(t, prod, "y\n")
		prod.run(t, "", "redrive", "--force", ids[0], ids[1]).must(t, ExitCancelled)
		if !strings.Contains(prompts.String(), `PRODUCTION environment "demo"`) || !strings.Contains(prompts.String(), "Type the environment name") {
			t.Errorf("prompt %q", prompts.String())
		}
	})
	declined := 0
	for _, e := range auditEntries(t) {
		if e.Outcome == redrive.OutcomeDeclined {
			declined++
		}
	}
	if declined != 4 {
		t.Errorf("%d declined runs audited, want 4", declined)
	}
}

// withEnv writes a copy of the demo's config with the environment edited.
func (d *demo) withEnv(t *testing.T, edit func(*config.Env)) *demo {
	t.Helper()
	f, err := config.Load(d.config)
	if err != nil {
		t.Fatal(err)
	}
	edit(f.Environments[devstack.EnvName])
	b, err := yaml.Marshal(f)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	v := *d
	v.config = path
	return &v
}

func TestRedriveFailuresExitOneAndFeedBackFromTheReport(t *testing.T) {
	d, _ := redriveDemo(t)
	ids := transientFailed(t, d, 3)
	d.stack.SetGatewayFaults(devstack.GatewayFaults{Error5xxRatio: 1})
	r := d.run(t, "", append([]string{"redrive", "--yes", "--max-attempts", "2", "-o", "json"}, ids...)...).must(t, ExitNotFound)
	if !strings.Contains(r.stderr, "--only failed") {
		t.Errorf("no retry hint:\n%s", r.stderr)
	}
	report := ""
	for _, line := range strings.Split(r.stderr, "\n") {
		if p, ok := strings.CutPrefix(line, "Report:  "); ok {
			report = p
		}
	}
	d.stack.SetGatewayFaults(devstack.GatewayFaults{})
	r = d.run(t, "", "redrive", "--from-report", report, "--only", "failed,unknown", "--yes", "-o", "json").must(t, ExitOK)
	if rows := jsonLines(t, r.stdout); len(rows) != 3 {
		t.Errorf("%d requests fed back from the report, want 3", len(rows))
	}
	e := auditEntries(t)
	if len(e) != 4 || e[3].Selection != "3 IDs ("+strings.Join(ids, ", ")+") from report "+report+" (failed or unknown)" {
		t.Errorf("audit selection %q", e[len(e)-1].Selection)
	}
}

func TestRedriveCancelSaysWhatWasSentAndResumes(t *testing.T) {
	d, _ := redriveDemo(t, func(o *devstack.Options) { o.Gateway.Latency = 30 * time.Millisecond })
	ids := transientFailed(t, d, 12)
	ctx, cancel := context.WithCancel(context.Background())
	var out, errb bytes.Buffer
	go func() {
		for len(d.stack.Received().Requests) < 3 {
			time.Sleep(time.Millisecond)
		}
		cancel()
	}()
	code := d.runIn(ctx, strings.NewReader(""), &out, &errb,
		append([]string{"redrive", "--yes", "--concurrency", "1", "--rate", "0", "-o", "json"}, ids...)...)
	if code != ExitCancelled {
		t.Fatalf("exit %d, want 130\n%s", code, errb.String())
	}
	for _, want := range []string{"cancelling: no new request is sent", "What was sent is not undone", "redrive --resume "} {
		if !strings.Contains(errb.String(), want) {
			t.Errorf("stderr lacks %q:\n%s", want, errb.String())
		}
	}
	journal := ""
	for _, line := range strings.Split(errb.String(), "\n") {
		if _, p, ok := strings.Cut(line, "redrive --resume "); ok {
			journal = p
		}
	}
	sentBefore := len(d.stack.Received().Requests)
	if sentBefore >= len(ids) {
		t.Fatalf("everything was sent before the cancel (%d)", sentBefore)
	}
	r := d.run(t, "", "redrive", "--resume", journal, "--yes", "-o", "json").must(t, ExitOK)
	if rows := jsonLines(t, r.stdout); len(rows) != len(ids) {
		t.Errorf("the resumed report has %d lines, want %d", len(rows), len(ids))
	}
	got := d.stack.Received()
	for _, id := range ids {
		if got.ByOriginalID[id] != 1 {
			t.Errorf("%s stored %d times after cancel and resume", id, got.ByOriginalID[id])
		}
	}
	// The journal belongs to its environment.
	other := d.withEnv(t, func(e *config.Env) {})
	f, _ := config.Load(other.config)
	f.Environments["other"] = f.Environments[devstack.EnvName]
	delete(f.Environments, devstack.EnvName)
	f.DefaultEnv = "other"
	b, _ := yaml.Marshal(f)
	os.WriteFile(other.config, b, 0o600)
	r = other.run(t, "", "redrive", "--resume", journal, "--yes").must(t, ExitUsage)
	if !strings.Contains(r.stderr, `environment "demo", not "other"`) {
		t.Errorf("stderr %s", r.stderr)
	}
}

// writeCounter fronts a gateway and counts the sends (any method but GET and HEAD) as they
// arrive, before any answer: TestRedriveSecondSIGHUPAbortsInFlight must see a send its
// gateway holds for a minute, and devstack's Stack.Writes counts a send once answered.
// Counting writes for read-only is Stack.Writes' job, not this.
type writeCounter struct {
	url    string
	writes atomic.Int64
}

func countWrites(t *testing.T, upstream string) *writeCounter {
	t.Helper()
	u, err := url.Parse(upstream)
	if err != nil {
		t.Fatal(err)
	}
	wc := &writeCounter{}
	proxy := httputil.NewSingleHostReverseProxy(u)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			wc.writes.Add(1)
		}
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	wc.url = srv.URL + u.Path
	return wc
}

func TestRedriveReadOnlyRefusesAndSendsNoWrite(t *testing.T) {
	d, _ := redriveDemo(t)
	before := d.stack.Writes() // the devstack counts client writes per service
	readOnlyFile := d.withEnv(t, func(e *config.Env) { e.ReadOnly = true })
	for _, c := range []struct {
		name string
		d    *demo
		args []string
	}{
		{"--read-only", d, []string{"--read-only", "redrive", "--status", "FAILED", "--yes"}},
		{"read_only: true", readOnlyFile, []string{"redrive", "--status", "FAILED", "--yes"}},
		{"s3-copy", readOnlyFile, []string{"redrive", "--status", "FAILED", "--yes", "--mode", "s3-copy"}},
		{"resume", readOnlyFile, []string{"redrive", "--resume", "/nonexistent", "--yes"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := c.d.run(t, "", c.args...)
			if c.name == "resume" {
				r.must(t, ExitUsage) // a missing journal is a usage error before anything else
				return
			}
			r.must(t, ExitUsage)
			if !strings.Contains(r.stderr, "read-only") || !strings.Contains(r.stderr, "nothing was sent") {
				t.Errorf("stderr %s", r.stderr)
			}
		})
	}
	// A dry run still works read-only: it only reads.
	readOnlyFile.run(t, "", "redrive", "--status", "FAILED", "--dry-run").must(t, ExitOK)
	if w := d.stack.Writes(); w != before {
		t.Errorf("write requests reached the stack in read-only mode: %+v, before %+v", w, before)
	}
	if n := len(d.stack.Received().Requests); n != 0 {
		t.Errorf("the gateway received %d requests", n)
	}
	refused := 0
	for _, e := range auditEntries(t) {
		if e.Outcome == redrive.OutcomeRefused {
			refused++
		}
	}
	if refused != 3 {
		t.Errorf("%d refusals audited, want 3", refused)
	}
}

func TestRedriveRefusesOversizedRequestsThroughTheGateway(t *testing.T) {
	d, _ := redriveDemo(t)
	// The stack's S3 takes what the gateway would refuse.
	big := strings.Repeat("x", redrive.MaxGatewayPayload+1)
	req, _ := http.NewRequest(http.MethodPut, d.stack.S3URL+"/"+d.stack.Bucket+"/big.bin", strings.NewReader(big))
	req.Header.Set("Content-Type", "application/octet-stream")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("put big.bin: %s", resp.Status)
	}
	r := d.run(t, "", "redrive", "big.bin", "--yes").must(t, ExitUsage)
	if !strings.Contains(r.stderr, "--mode s3-copy") || !strings.Contains(r.stderr, "nothing was sent") {
		t.Errorf("stderr %s", r.stderr)
	}
	if n := len(d.stack.Received().Requests); n != 0 {
		t.Errorf("the gateway received %d requests", n)
	}
	d.run(t, "", "redrive", "big.bin", "--yes", "--mode", "s3-copy").must(t, ExitOK)
}

func TestRedriveUsageErrors(t *testing.T) {
	d, _ := redriveDemo(t)
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"redrive"}, "nothing selected"},
		{[]string{"redrive", "x", "--only", "failed"}, "add --from-report"},
		{[]string{"redrive", "x", "--since", "1h"}, "--since narrows --status or --lost"},
		{[]string{"redrive", "--resume", "j", "--mode", "reupload"}, "--mode cannot change it"},
		{[]string{"redrive", "x", "--mode", "copy"}, "unknown mode"},
		{[]string{"redrive", "x", "--max-failure-ratio", "2"}, "--max-failure-ratio 2"},
		{[]string{"redrive", "x", "--concurrency", "0"}, "--concurrency 0"},
		{[]string{"redrive", "--from-file", "/nonexistent"}, "--from-file"},
		{[]string{"redrive", "x", "--unknown-settle=-1s"}, "--unknown-settle -1s: want 0"},
		{[]string{"redrive", "x", "--unknown-settle", "11m"}, "--unknown-settle 11m0s: want 0 (re-check at once) up to 10m0s"},
		{[]string{"redrive", "x", "--unknown-settle", "soon"}, "unknown-settle"},
	} {
		r := d.run(t, "", c.args...).must(t, ExitUsage)
		if !strings.Contains(r.stderr, c.want) {
			t.Errorf("%v: stderr %q lacks %q", c.args, r.stderr, c.want)
		}
	}
	r := d.run(t, "", "redrive", "no-such-request", "--yes").must(t, ExitNotFound)
	if !strings.Contains(r.stderr, "no-such-request") {
		t.Errorf("a missing request: %s", r.stderr)
	}
}

func TestRedriveProgressOnlyOnATerminal(t *testing.T) {
	d, _ := redriveDemo(t)
	ids := transientFailed(t, d, 2)
	var out, errb bytes.Buffer
	d.runTo(t, &out, &errb, "", append([]string{"redrive", "--yes", "-o", "json"}, ids...)...).must(t, ExitOK)
	if strings.Contains(errb.String(), "\r") || strings.Contains(out.String(), "█") {
		t.Errorf("progress drawn without a terminal:\n%q", errb.String())
	}
	out.Reset()
	errb.Reset()
	d.onTerminal(100, &bytes.Buffer{}, &errb).runTo(t, &out, &errb, "", append([]string{"redrive", "--yes", "--force", "-o", "json"}, ids...)...).must(t, ExitOK)
	if !strings.Contains(errb.String(), "\r\x1b[2K[") || !strings.Contains(errb.String(), "2/2  delivered 2") {
		t.Errorf("no progress bar on a terminal stderr:\n%q", errb.String())
	}
	if strings.Contains(out.String(), "█") {
		t.Error("the progress bar reached stdout")
	}
}

// Unknown items (maybe delivered) are not "retrying"; before a whole window has passed
// the rate is "measuring", not the start burst.
func TestProgressLineShowsUnknownApartAndNoBurstRate(t *testing.T) {
	p := redrive.Progress{Total: 10, Counts: redrive.Counts{Delivered: 1, Unknown: 2, Retrying: 1, Pending: 6}, TargetRate: 20, Concurrency: 4}
	line := progressLine(p, 0)
	for _, want := range []string{"retrying 1", "unknown 2", "measuring… (limit 20/s"} {
		if !strings.Contains(line, want) {
			t.Errorf("%q lacks %q", line, want)
		}
	}
}

func TestProgressLineFitsAndSanitizes(t *testing.T) {
	p := redrive.Progress{Total: 10, Counts: redrive.Counts{Delivered: 4, Failed: 1, Pending: 5}, Rate: 12.5, RateMeasured: true, TargetRate: 20,
		Concurrency: 4, InFlight: 2, ETA: 3 * time.Second,
		LastErrors: []redrive.ItemError{{Err: "boom \x1b[2J"}}}
	line := progressLine(p, 0)
	for _, want := range []string{"5/10", "delivered 4", "failed 1", "12.5/s (limit 20/s, 2 in flight of 4)", "ETA 3s", "last error: boom"} {
		if !strings.Contains(line, want) {
			t.Errorf("%q lacks %q", line, want)
		}
	}
	if strings.Contains(line, "\x1b") {
		t.Errorf("an escape reached the progress line: %q", line)
	}
	if w := len([]rune(progressLine(p, 40))); w > 40 {
		t.Errorf("line of %d cells for a 40-cell terminal", w)
	}
}

func TestAuditListsRuns(t *testing.T) {
	d, _ := redriveDemo(t)
	ids := transientFailed(t, d, 1)
	d.run(t, "", "redrive", "--dry-run", ids[0]).must(t, ExitOK)
	d.run(t, "", "redrive", "--yes", ids[0]).must(t, ExitOK)
	r := d.run(t, "", "audit", "-o", "table").must(t, ExitOK)
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	if len(lines) != 3 || !strings.HasPrefix(lines[0], "WHEN") || !strings.Contains(lines[1], "dry-run") || !strings.Contains(lines[2], "delivered") {
		t.Errorf("audit table:\n%s", r.stdout)
	}
	r = d.run(t, "", "audit", "-o", "json", "--limit", "1").must(t, ExitOK)
	rows := jsonLines(t, r.stdout)
	if len(rows) != 1 || rows[0]["outcome"] != "delivered" || rows[0]["who"] != "demo" {
		t.Errorf("audit json %v", rows)
	}
	run := rows[0]["runId"].(string)
	if rows := jsonLines(t, d.run(t, "", "audit", "--run", run, "-o", "json").must(t, ExitOK).stdout); len(rows) != 2 || rows[0]["outcome"] != "started" {
		t.Errorf("--run: %v, want its started and its final entry", rows)
	}
	d.run(t, "", "audit", "--run", "nope").must(t, ExitNotFound)
}

func TestAuditOfAnEmptyLog(t *testing.T) {
	t.Setenv("XDG_STATE_HOME", t.TempDir())
	var out, errb bytes.Buffer
	if code := Run(context.Background(), []string{"audit"}, strings.NewReader(""), &out, &errb); code != ExitOK {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	if !strings.Contains(errb.String(), "no redrive runs recorded") || out.Len() != 0 {
		t.Errorf("stdout %q stderr %q", out.String(), errb.String())
	}
}

func TestShortARN(t *testing.T) {
	if got := shortARN("arn:aws:sts::123456789012:assumed-role/ops/alice"); got != "assumed-role/ops/alice" {
		t.Error(got)
	}
	if got := shortARN("demo"); got != "demo" {
		t.Error(got)
	}
	if !isDemoEnv(&config.Env{Name: "demo", Endpoints: config.Endpoints{S3: "http://127.0.0.1:1", DynamoDB: "http://127.0.0.1:2"},
		Gateway: config.Gateway{URL: "http://localhost:3/demo"}}) {
		t.Error("the demo stack is not recognised")
	}
	if isDemoEnv(&config.Env{Name: "demo", Endpoints: config.Endpoints{S3: "https://s3.amazonaws.com"}}) {
		t.Error("an AWS environment named demo passes for the demo")
	}

}

// A resume sends where the confirmed plan said or not at all: a config whose bucket,
// gateway, route or production flag changed since is refused, listing what differs.
func TestRedriveResumeRefusesAnEnvironmentThatNoLongerMatchesThePlan(t *testing.T) {
	d, _ := redriveDemo(t)
	ids := transientFailed(t, d, 2)
	done := filepath.Join(t.TempDir(), "done.journal.jsonl")
	d.run(t, "", append([]string{"redrive", "--yes", "--journal", done}, ids...)...).must(t, ExitOK)
	st, err := redrive.LoadJournal(done)
	if err != nil {
		t.Fatal(err)
	}
	for name, c := range map[string]struct {
		edit func(*config.Env)
		want string
	}{
		"bucket":     {func(e *config.Env) { e.Storage.Bucket = "another-bucket" }, `bucket "another-bucket"`},
		"gateway":    {func(e *config.Env) { e.Gateway.URL = "http://127.0.0.1:1/prod" }, "inplace target PUT http://127.0.0.1:1/prod"},
		"route":      {func(e *config.Env) { e.Gateway.Routes.Inplace = "PUT /v2/{bucket}/{key}" }, "/v2/{bucket}/{key}"},
		"production": {func(e *config.Env) { e.Production = true }, "production true, planned false"},
	} {
		t.Run(name, func(t *testing.T) {
			// A fresh journal of the same plan under another run ID (the audit log holds the
			// first run's end, which this journal would contradict): every request to send.
			path := filepath.Join(t.TempDir(), "left.journal.jsonl")
			m := *st.Manifest
			m.RunID += "-left-" + name
			j, err := redrive.CreateJournal(path, &m)
			if err != nil {
				t.Fatal(err)
			}
			j.Close()
			before := len(d.stack.Received().Requests)
			r := d.withEnv(t, c.edit).run(t, "", "redrive", "--resume", path, "--yes").must(t, ExitUsage)
			if !strings.Contains(r.stderr, "no longer matches the run's plan") || !strings.Contains(r.stderr, c.want) {
				t.Errorf("stderr lacks %q:\n%s", c.want, r.stderr)
			}
			if n := len(d.stack.Received().Requests) - before; n != 0 {
				t.Errorf("a refused resume sent %d requests", n)
			}
		})
	}
}

// No write happens without an audit record: a started entry is fsynced before the first
// send, and when it cannot be written the run is refused with nothing sent.
func TestRedriveRefusesToSendWhenTheAuditLogCannotBeWritten(t *testing.T) {
	d, state := redriveDemo(t)
	ids := transientFailed(t, d, 2)
	if err := os.MkdirAll(filepath.Join(state, "audit.jsonl"), 0o700); err != nil { // not a file: cannot append
		t.Fatal(err)
	}
	journal := filepath.Join(t.TempDir(), "run.journal.jsonl")
	r := d.run(t, "", append([]string{"redrive", "--yes", "--journal", journal}, ids...)...).must(t, ExitUsage)
	if !strings.Contains(r.stderr, "cannot write the audit log at "+filepath.Join(state, "audit.jsonl")) || !strings.Contains(r.stderr, "XDG_STATE_HOME") {
		t.Errorf("stderr:\n%s", r.stderr)
	}
	if n := len(d.stack.Received().Requests); n != 0 {
		t.Errorf("%d requests sent without an audit record", n)
	}
	if _, err := os.Stat(journal); err == nil {
		t.Error("a journal was started for a refused run")
	}
}

// A run with a started entry and no final one (killed with -9, never resumed) is listed
// as unfinished with its journal; a finished run shows once, with its outcome.
func TestAuditShowsARunWithoutItsEndAsUnfinished(t *testing.T) {
	t.Setenv("XDG_STATE_HOME", t.TempDir())
	path, err := redrive.AuditPath()
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 3, 1, 3, 0, 0, 0, time.UTC)
	for _, e := range []redrive.AuditEntry{
		{RunID: "run-killed", At: at, Env: "prod", Outcome: redrive.OutcomeStarted, Journal: "/state/killed.journal.jsonl"},
		{RunID: "run-done", At: at, Env: "prod", Outcome: redrive.OutcomeStarted, Journal: "/state/done.journal.jsonl"},
		{RunID: "run-done", At: at, Env: "prod", Outcome: redrive.OutcomeDelivered, Journal: "/state/done.journal.jsonl"},
	} {
		if err := redrive.AppendAudit(path, e); err != nil {
			t.Fatal(err)
		}
	}
	var out, errb bytes.Buffer
	if code := Run(context.Background(), []string{"audit", "-o", "table"}, strings.NewReader(""), &out, &errb); code != ExitOK {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 3 {
		t.Fatalf("want a header and two runs:\n%s", out.String())
	}
	if !strings.Contains(lines[1], "unfinished (journal /state/killed.journal.jsonl)") || !strings.Contains(lines[1], "run-killed") {
		t.Errorf("the killed run: %q", lines[1])
	}
	if !strings.Contains(lines[2], "delivered") || !strings.Contains(lines[2], "run-done") || strings.Contains(lines[2], "unfinished") {
		t.Errorf("the finished run: %q", lines[2])
	}
}

// Every hint names the mode and the config, and --from-report retries in the report's
// mode unless told otherwise: an s3-copy or reupload run is not silently retried inplace.
func TestRedriveHintsNameModeAndConfigAndFromReportKeepsTheMode(t *testing.T) {
	d, _ := redriveDemo(t, func(o *devstack.Options) { o.Gateway.ThrottleRPS = 0.5 }) // every request 429
	ids := transientFailed(t, d, 2)
	r := d.run(t, "", append([]string{"redrive", "--yes", "--mode", "reupload", "--max-attempts", "1"}, ids...)...).must(t, ExitNotFound)
	hint := ""
	for _, line := range strings.Split(r.stderr, "\n") {
		if _, h, ok := strings.Cut(line, "Retry the failures with: "); ok {
			hint = h
		}
	}
	if !strings.Contains(hint, "--config "+d.config) || !strings.Contains(hint, "--env demo") || !strings.Contains(hint, "--mode reupload") {
		t.Fatalf("retry hint %q lacks --config, --env or --mode:\n%s", hint, r.stderr)
	}
	report := strings.Fields(hint[strings.Index(hint, "--from-report ")+len("--from-report "):])[0]
	r = d.run(t, "", "redrive", "--from-report", report, "--dry-run", "-o", "table").must(t, ExitOK)
	if !strings.Contains(r.stdout, "mode         reupload → PUT ") {
		t.Errorf("--from-report without --mode did not keep the report's mode:\n%s", r.stdout)
	}
	r = d.run(t, "", "redrive", "--from-report", report, "--mode", "inplace", "--dry-run", "-o", "table").must(t, ExitOK)
	if !strings.Contains(r.stdout, "mode         inplace → PUT ") {
		t.Errorf("--mode did not override the report's mode:\n%s", r.stdout)
	}
}

// --unknown-settle reaches the engine: its default is the engine's, a value is passed as
// given, and 0 means "re-check at once", not the engine's zero-value default. The help
// says what it is for.
func TestRedriveUnknownSettleFlag(t *testing.T) {
	for _, c := range []struct {
		args []string
		want time.Duration
	}{
		{nil, redrive.DefaultUnknownSettle},
		{[]string{"--unknown-settle", "30s"}, 30 * time.Second},
		{[]string{"--unknown-settle", "0"}, redrive.NoUnknownSettle},
	} {
		g := &Globals{}
		cmd := newRedriveCmd(g)
		if err := cmd.ParseFlags(c.args); err != nil {
			t.Fatal(err)
		}
		d, ok := cmd.Flags().Lookup("unknown-settle").Value.(*config.Duration)
		if !ok {
			t.Fatal("--unknown-settle is not a config.Duration flag")
		}
		r := &redriveRun{g: g, f: redriveFlags{unknownSettle: *d, maxAttempts: 1, maxFailureRatio: 1}, env: &config.Env{Name: "x"}}
		if got := r.runOptions("j").UnknownSettle; got != c.want {
			t.Errorf("%v: Options.UnknownSettle %v, want %v", c.args, got, c.want)
		}
	}
	var out, errb bytes.Buffer
	if code := Run(context.Background(), []string{"redrive", "--help"}, strings.NewReader(""), &out, &errb); code != ExitOK {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	help := strings.Join(strings.Fields(out.String()), " ")
	for _, want := range []string{"--unknown-settle duration", "outcome is unknown", "re-checking the status table", "(default 5s)"} {
		if !strings.Contains(help, want) {
			t.Errorf("redrive --help lacks %q:\n%s", want, out.String())
		}
	}
}

// The hints' command names the config file and the overrides in use, quoted for a shell;
// the TUI names the file it read unless it is the default one (the demo's temporary
// config is named).
func TestStowageCommandForHints(t *testing.T) {
	g := &Globals{Profile: "ops admin", Region: "eu-west-1"}
	if got, want := stowageCommand(g, "/home/ops/my configs/c.yaml"),
		"stowage --config '/home/ops/my configs/c.yaml' --profile 'ops admin' --region eu-west-1"; got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	if got := stowageCommand(&Globals{}, ""); got != "stowage" {
		t.Errorf("no config, no overrides: %q", got)
	}
	t.Setenv("XDG_CONFIG_HOME", t.TempDir())
	def := &config.File{Path: config.DefaultPath()}
	demoFile := &config.File{Path: "/tmp/stowage-demo-1.yaml"}
	for _, c := range []struct {
		g    *Globals
		file *config.File
		want string
	}{
		{&Globals{ConfigPath: "c.yaml"}, def, "c.yaml"},
		{&Globals{}, def, ""},
		{&Globals{}, nil, ""},
		{&Globals{}, demoFile, "/tmp/stowage-demo-1.yaml"},
	} {
		if got := tuiConfigPath(c.g, c.file); got != c.want {
			t.Errorf("tuiConfigPath(%+v, %v) = %q, want %q", c.g, c.file, got, c.want)
		}
	}
}

// A new plan is refused (exit 2) before the confirmation when a run of the same
// environment has not finished and holds some of its requests, unless --allow-overlap;
// a dry run warns.
func TestRedriveRefusesAnUnfinishedRunsRequestsUnlessAllowed(t *testing.T) {
	d, state := redriveDemo(t)
	ids := transientFailed(t, d, 3)
	killedAt := time.Date(2026, 3, 1, 3, 15, 0, 0, time.UTC)
	m := &redrive.Manifest{Version: redrive.ManifestVersion, RunID: "run-killed", Env: "demo", Mode: redrive.ModeInplace, PlannedAt: killedAt}
	for _, id := range append(ids[:2:2], "another-request") {
		m.Items = append(m.Items, redrive.Item{RequestID: id, Key: id, Status: "FAILED"})
	}
	journal := filepath.Join(state, "redrives", "killed.journal.jsonl")
	j, err := redrive.CreateJournal(journal, m)
	if err != nil {
		t.Fatal(err)
	}
	j.Close()
	if _, err := redrive.AppendStarted(m, journal, redrive.AuditContext{Who: "demo", At: killedAt}); err != nil {
		t.Fatal(err)
	}
	want := "stowage: warning: another run (journal " + journal + ", started 2026-03-01T03:15:00Z) has not finished and includes 2 of these requests; --resume it or check it before sending them again"

	r := d.run(t, "", append([]string{"redrive", "--dry-run", "-o", "table"}, ids...)...).must(t, ExitOK)
	if !strings.Contains(r.stderr, want) {
		t.Errorf("the dry run does not warn:\n%s", r.stderr)
	}
	prompts, _ := answer(t, d, "y\n")
	r = d.run(t, "", append([]string{"redrive"}, ids...)...).must(t, ExitUsage)
	for _, part := range []string{want, "redrive refused, nothing was sent", "2 of these requests are held by 1 unfinished run(s)",
		"redrive --resume " + journal, "--allow-overlap"} {
		if !strings.Contains(r.stderr, part) {
			t.Errorf("the refusal lacks %q:\n%s", part, r.stderr)
		}
	}
	if prompts.Len() != 0 {
		t.Errorf("a refused run asked for confirmation: %q", prompts.String())
	}
	if e := auditEntries(t); e[len(e)-1].Outcome != redrive.OutcomeRefused {
		t.Errorf("the refusal is not audited: %+v", e[len(e)-1])
	}
	prompts, _ = answer(t, d, "n\n")
	r = d.run(t, "", append([]string{"redrive", "--allow-overlap"}, ids...)...).must(t, ExitCancelled)
	if !strings.Contains(r.stderr, want) || prompts.Len() == 0 {
		t.Errorf("--allow-overlap: no warning before the confirmation (prompt %q):\n%s", prompts.String(), r.stderr)
	}
	// A request the unfinished run does not hold: no warning.
	r = d.run(t, "", "redrive", "--dry-run", "-o", "table", ids[2]).must(t, ExitOK)
	if strings.Contains(r.stderr, "another run") {
		t.Errorf("a warning for a request no unfinished run holds:\n%s", r.stderr)
	}
	if n := len(d.stack.Received().Requests); n != 0 {
		t.Errorf("%d requests sent", n)
	}
}

// The plan shows its first requests (ID, size, status now) where an operator reads it: on
// a terminal, and with --dry-run -o json on stderr (stdout keeps the manifest's JSON
// alone). A dry-run table lists every request, so it shows no sample.
func TestRedrivePlanShowsTheFirstRequests(t *testing.T) {
	d, _ := redriveDemo(t)
	ids := transientFailed(t, d, 7)
	if len(ids) < 7 {
		t.Skipf("the demo has %d transient failures", len(ids))
	}
	sampleLine := regexp.MustCompile(`(?m)^    ` + regexp.QuoteMeta(ids[0]) + `\s+\d+(\.\d+)? ?[KMG]?i?B\s+FAILED$`)
	hasSamples := func(s string) bool {
		return strings.Contains(s, "  first requests\n") && sampleLine.MatchString(s) && strings.Contains(s, ids[4]) &&
			strings.Contains(s, "    … and 2 more")
	}

	r := d.run(t, "", append([]string{"redrive", "--dry-run", "-o", "json"}, ids...)...).must(t, ExitOK)
	if !hasSamples(r.stderr) {
		t.Errorf("dry run -o json: no samples on stderr:\n%s", r.stderr)
	}
	if back, err := redrive.ParseIDList(strings.NewReader(r.stdout)); err != nil || len(back) != len(ids) || len(jsonLines(t, r.stdout)) != len(ids) {
		t.Errorf("dry run -o json: stdout is not the manifest's JSON alone (%v):\n%s", err, r.stdout)
	}
	r = d.run(t, "", append([]string{"redrive", "--dry-run", "-o", "table"}, ids...)...).must(t, ExitOK)
	if strings.Contains(r.stdout, "first requests") || !strings.Contains(r.stdout, ids[6]) {
		t.Errorf("dry-run table: samples, or not every request:\n%s", r.stdout)
	}

	// Not a terminal (a script): the summary stays short.
	prompts, _ := answer(t, d, "n\n")
	r = d.run(t, "", append([]string{"redrive"}, ids[:1]...)...).must(t, ExitCancelled)
	if strings.Contains(r.stderr, "first requests") || prompts.Len() == 0 {
		t.Errorf("samples without a terminal:\n%s", r.stderr)
	}
	// A terminal: the samples come before the question.
	var out, errb bytes.Buffer
	answer(t, d, "n\n")
	d.onTerminal(100, &bytes.Buffer{}, &errb).runTo(t, &out, &errb, "", append([]string{"redrive"}, ids...)...).must(t, ExitCancelled)
	if !hasSamples(errb.String()) {
		t.Errorf("no samples on a terminal:\n%s", errb.String())
	}
	if n := len(d.stack.Received().Requests); n != 0 {
		t.Errorf("%d requests sent", n)
	}
}

// The case: a journal cut mid-line at 60% was read as a kill's torn last line, and
// --resume skipped or resent the requests whose outcomes were cut. It is refused now, with
// the way to recover, and nothing is sent.
func TestRedriveResumeRefusesAJournalCutMidLine(t *testing.T) {
	d, _ := redriveDemo(t)
	ids := transientFailed(t, d, 10)
	r := d.run(t, "", append([]string{"redrive", "--yes", "-o", "json"}, ids...)...).must(t, ExitOK)
	journal := ""
	for _, line := range strings.Split(r.stderr, "\n") {
		if p, ok := strings.CutPrefix(line, "Journal: "); ok {
			journal = p
		}
	}
	data, err := os.ReadFile(journal)
	if err != nil {
		t.Fatal(err)
	}
	cut := len(data) * 6 / 10
	for data[cut-1] == '\n' {
		cut++
	}
	if err := os.WriteFile(journal, data[:cut], 0o600); err != nil {
		t.Fatal(err)
	}
	sent := len(d.stack.Received().Requests)
	r = d.run(t, "", "redrive", "--resume", journal, "--yes").must(t, ExitUsage)
	// Every request was delivered: the report says so, and that nothing is left to resume.
	for _, want := range []string{"cannot be trusted", "nothing was sent", "its report " + redrive.ReportPath(journal),
		"shows every request delivered or skipped: nothing is left to resume"} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("the refusal lacks %q:\n%s", want, r.stderr)
		}
	}
	if n := len(d.stack.Received().Requests); n != sent {
		t.Errorf("%d requests sent from a cut journal", n-sent)
	}
}

// A URI or console URL naming another bucket than the environment's is refused (exit 2)
// as show and status refuse it, naming the configured environment that has the bucket;
// it was planned from the current environment's bucket, a write to the wrong place.
func TestRedriveRefusesAnotherEnvironmentsBucket(t *testing.T) {
	d, _ := redriveDemo(t)
	id := transientFailed(t, d, 1)[0]
	two := d.withEnv(t, func(*config.Env) {})
	f, err := config.Load(two.config)
	if err != nil {
		t.Fatal(err)
	}
	staging := *f.Environments[devstack.EnvName]
	staging.Name = "staging"
	staging.Storage.Bucket = "staging-requests"
	f.Environments["staging"] = &staging
	b, _ := yaml.Marshal(f)
	if err := os.WriteFile(two.config, b, 0o600); err != nil {
		t.Fatal(err)
	}
	for name, ref := range map[string]string{
		"s3 URI":      "s3://staging-requests/" + id,
		"console URL": "https://us-east-1.console.aws.amazon.com/s3/object/staging-requests?region=us-east-1&prefix=" + id,
	} {
		t.Run(name, func(t *testing.T) {
			r := two.run(t, "", "redrive", "--yes", ref).must(t, ExitUsage)
			for _, want := range []string{"staging-requests", "environment staging uses bucket staging-requests", "--env staging redrive", "nothing was sent"} {
				if !strings.Contains(r.stderr, want) {
					t.Errorf("the refusal lacks %q:\n%s", want, r.stderr)
				}
			}
		})
	}
	list := filepath.Join(t.TempDir(), "ids.txt")
	os.WriteFile(list, []byte(id+"\ns3://nobody-has-this/"+id+"\n"), 0o600)
	r := two.run(t, "", "redrive", "--yes", "--from-file", list).must(t, ExitUsage)
	if !strings.Contains(r.stderr, "line 2") || !strings.Contains(r.stderr, "no configured environment uses bucket nobody-has-this") {
		t.Errorf("--from-file refusal:\n%s", r.stderr)
	}
	if n := len(d.stack.Received().Requests); n != 0 {
		t.Errorf("%d requests sent to the current environment", n)
	}
}

// --timeout bounds one attempt: against a gateway that hangs, the attempt ends unknown
// instead of waiting the old fixed two minutes, and is not reported delivered.
func TestRedriveTimeoutBoundsOneAttempt(t *testing.T) {
	d, _ := redriveDemo(t, func(o *devstack.Options) { o.Gateway.Latency = time.Minute })
	id := transientFailed(t, d, 1)[0]
	r := d.run(t, "", "redrive", "--yes", "--timeout", "100ms", "--max-attempts", "1", "--unknown-settle", "0", "-o", "json", id)
	rows := jsonLines(t, r.stdout)
	if len(rows) != 1 || rows[0]["state"] == string(redrive.StateDelivered) {
		t.Fatalf("exit %d, report %v\n%s", r.code, rows, r.stderr)
	}
	if r.code == ExitOK {
		t.Errorf("a hung gateway exited 0:\n%s", r.stderr)
	}
	d.run(t, "", "redrive", "--timeout", "0s", id).must(t, ExitUsage)
}

// Without a lease table, runs on other machines cannot see this one: the plan says so
// loudly. With one (the demo's), it does not.
func TestRedrivePlanSaysLoudlyWhenThereIsNoLeaseTable(t *testing.T) {
	d, _ := redriveDemo(t)
	id := transientFailed(t, d, 1)[0]
	r := d.run(t, "", "redrive", "--dry-run", "-o", "table", id).must(t, ExitOK)
	if strings.Contains(r.stdout, "NO LEASE TABLE") {
		t.Errorf("the demo has a lease table, but the plan warns:\n%s", r.stdout)
	}
	none := d.withEnv(t, func(e *config.Env) { e.Redrive.LeaseTable = "" })
	r = none.run(t, "", "redrive", "--dry-run", "-o", "table", id).must(t, ExitOK)
	if !strings.Contains(r.stdout, "WARNING      NO LEASE TABLE: runs on other machines cannot see this one") {
		t.Errorf("no loud line without a lease table:\n%s", r.stdout)
	}
}

// A journal from before sequence numbers is still resumed, with a warning that records
// it lost cannot be detected.
func TestRedriveResumeWarnsOfALegacyJournal(t *testing.T) {
	d, _ := redriveDemo(t)
	ids := transientFailed(t, d, 1)
	done := filepath.Join(t.TempDir(), "done.journal.jsonl")
	d.run(t, "", append([]string{"redrive", "--yes", "--journal", done}, ids...)...).must(t, ExitOK)
	st, err := redrive.LoadJournal(done)
	if err != nil {
		t.Fatal(err)
	}
	m := *st.Manifest
	m.RunID += "-legacy"
	header, err := json.Marshal(redrive.Record{Type: redrive.RecHeader, At: m.PlannedAt, Manifest: &m, ManifestHash: m.Hash()})
	if err != nil {
		t.Fatal(err)
	}
	legacy := filepath.Join(t.TempDir(), "legacy.journal.jsonl")
	os.WriteFile(legacy, append(header, '\n'), 0o600)
	r := d.run(t, "", "redrive", "--resume", legacy, "--dry-run").must(t, ExitOK)
	if !strings.Contains(r.stderr, "written by an older stowage, without sequence numbers or checksums") {
		t.Errorf("no legacy warning:\n%s", r.stderr)
	}
}

// The plan names the account the credentials resolved to, so a redrive never writes to a
// surprise account; a failed lookup names its kind, never its text.
func TestRedrivePlanShowsTheAccount(t *testing.T) {
	r := &redriveRun{g: &Globals{}, env: &config.Env{Name: "prod"}, clients: &awsclient.Clients{
		Account: func(context.Context) (string, error) { return "123456789012", nil }}}
	r.account = r.accountOf(context.Background())
	var out bytes.Buffer
	r.writeSummary(&out, redrive.Summary{Env: "prod", RunID: "r"}, false)
	if !strings.Contains(out.String(), "  account      123456789012\n") {
		t.Errorf("plan:\n%s", out.String())
	}
	r.clients.Account = func(context.Context) (string, error) {
		return "", &awsclient.Error{Kind: awsclient.KindExpiredCredentials, Op: "sts", Message: "token secret-ish"}
	}
	if got := r.accountOf(context.Background()); strings.Contains(got, "secret") || !strings.HasPrefix(got, "unknown (sts:GetCallerIdentity failed: ") {
		t.Errorf("a failed lookup: %q", got)
	}
}

// Lease problems the run met are said when it ends: another run may not see that these
// requests were sent.
func TestRedriveOutcomeSaysTheLeaseWarnings(t *testing.T) {
	var errb bytes.Buffer
	r := &redriveRun{g: &Globals{}, env: &config.Env{Name: "prod"}, stderr: &errb}
	rep := &redrive.Report{RunID: "r", Outcome: redrive.OutcomeDelivered, Counts: redrive.Counts{Delivered: 1},
		LeaseWarnings: []string{"request a: the lease table was not told it ended delivered: \x1b[2Jthrottled"}}
	r.writeOutcome(rep, "")
	if !strings.Contains(errb.String(), "stowage: warning: lease: request a: the lease table was not told it ended delivered:") ||
		strings.Contains(errb.String(), "\x1b") {
		t.Errorf("stderr:\n%q", errb.String())
	}
}

// parseFailed lists up to n FAILED requests of the demo whose payload does not parse:
// the devstack's processor fails them again, with the same error.
func parseFailed(t *testing.T, d *demo, n int) []string {
	t.Helper()
	r := d.run(t, "", "ls", "--status", "FAILED", "-o", "json").must(t, ExitOK)
	var out []string
	for _, row := range jsonLines(t, r.stdout) {
		if e, _ := row["error"].(string); strings.Contains(e, "malformed JSON") || strings.Contains(e, "XML syntax error") {
			out = append(out, row["id"].(string))
			if len(out) == n {
				break
			}
		}
	}
	if len(out) == 0 {
		t.Fatal("the demo has no parse error")
	}
	return out
}

// Delivered is not done: with --wait, requests that fail again exit 4 and say so; those
// the processor takes exit 0. JSON gives each item its verdict.
func TestRedriveWaitReportsTheProcessorsVerdict(t *testing.T) {
	d, _ := redriveDemo(t)
	parse := parseFailed(t, d, 3)
	r := d.run(t, "", append([]string{"redrive", "--yes", "--wait", "1m", "-o", "json"}, parse...)...).must(t, exitNotProcessed)
	want := fmt.Sprintf("Processing: %d delivered → 0 PROCESSED, %d FAILED again (same error), 0 no verdict yet.", len(parse), len(parse))
	if !strings.Contains(r.stderr, want) || !strings.Contains(r.stderr, "a redrive will not fix these") {
		t.Errorf("stderr lacks %q:\n%s", want, r.stderr)
	}
	for _, row := range jsonLines(t, r.stdout) {
		v, _ := row["verdict"].(map[string]any)
		if v["kind"] != "failed" || v["sameError"] != true || v["status"] != "FAILED" {
			t.Errorf("%s: verdict %v", row["id"], v)
		}
	}
	ok := transientFailed(t, d, 2)
	r = d.run(t, "", append([]string{"redrive", "--yes", "--wait", "1m"}, ok...)...).must(t, ExitOK)
	if want := "Processing: 2 delivered → 2 PROCESSED, 0 FAILED again, 0 no verdict yet."; !strings.Contains(r.stderr, want) {
		t.Errorf("stderr lacks %q:\n%s", want, r.stderr)
	}
	// Without a terminal and without --wait, nobody waits: the exit says delivery only.
	r = d.run(t, "", append([]string{"redrive", "--yes", "--force"}, parse...)...).must(t, ExitOK)
	if strings.Contains(r.stderr, "Processing:") {
		t.Errorf("waited without --wait and without a terminal:\n%s", r.stderr)
	}
}

// With no verdict within the wait, the exit is 4 too, and the words say what to do.
func TestRedriveWaitWithoutAVerdictExitsFour(t *testing.T) {
	d, _ := redriveDemo(t, func(o *devstack.Options) { o.ProcessDelay = 5 * time.Second })
	ids := transientFailed(t, d, 1)
	r := d.run(t, "", append([]string{"redrive", "--yes", "--wait", "1ms"}, ids...)...).must(t, exitNotProcessed)
	if !strings.Contains(r.stderr, "1 delivered → 0 PROCESSED, 0 FAILED again, 1 no verdict yet") || !strings.Contains(r.stderr, "wait longer with --wait") {
		t.Errorf("stderr:\n%s", r.stderr)
	}
}

// The outcome line does not call a run that sent nothing "delivered".
func TestRedriveOutcomeSaysNothingWasSentWhenEverythingWasSkipped(t *testing.T) {
	d, _ := redriveDemo(t)
	ids := transientFailed(t, d, 1)
	d.run(t, "", append([]string{"redrive", "--yes", "--wait", "1m"}, ids...)...).must(t, ExitOK)
	r := d.run(t, "", append([]string{"redrive", "--yes"}, ids...)...).must(t, ExitOK)
	if !strings.Contains(r.stderr, " finished: nothing sent, 1 skipped.") || strings.Contains(r.stderr, "delivered (") {
		t.Errorf("stderr:\n%s", r.stderr)
	}
}

// The outcome summary at a fixed width: the report table, the run's line and the
// processor's verdict, as an operator reads them after a cancelled run.
func TestRedriveOutcomeGolden(t *testing.T) {
	t.Setenv("NO_COLOR", "1")
	var out, errb bytes.Buffer
	g := &Globals{Stdout: &out, Stderr: &errb, seams: seams{}.onTerminal(100, &out)}
	env := &config.Env{Name: "prod-eu", Status: config.Status{TerminalStates: []string{"PROCESSED"}}}
	r := &redriveRun{g: g, stderr: &errb, env: env}
	pre := &redrive.StatusRead{Found: true, State: "FAILED", Attempts: 1, Error: "malformed JSON at line 1, column 9"}
	rep := &redrive.Report{RunID: "20260301T031500Z-7e57e57e", Mode: redrive.ModeInplace, Outcome: redrive.OutcomeCanceled,
		JournalPath: "/state/redrives/run.journal.jsonl",
		Counts:      redrive.Counts{Delivered: 3, Pending: 88}}
	for i := range 3 {
		rep.Items = append(rep.Items, redrive.ItemResult{RequestID: fmt.Sprintf("0b6f1c2e-4a53-4d1e-9c39-7d0f3f8e2a1%d", i), Mode: redrive.ModeInplace,
			State: redrive.StateDelivered, Attempts: 1, HTTPStatus: 200, Duration: 41 * time.Millisecond, PreSend: pre})
		rep.Items[i].Key = rep.Items[i].RequestID
	}
	for i := range 88 {
		id := fmt.Sprintf("5abe6b7c-0000-4000-8000-%012d", i)
		rep.Items = append(rep.Items, redrive.ItemResult{RequestID: id, Key: id, Mode: redrive.ModeInplace, State: redrive.StatePending,
			Error: "not finished: the run was cancelled; continue it with --resume"})
	}
	v := redrive.NewVerdicts(redrive.VerdictTargets(rep, nil), env)
	v.Absorb([]string{rep.Items[0].RequestID, rep.Items[1].RequestID}, map[string]awsclient.Status{
		rep.Items[0].RequestID: {State: "PROCESSED", Attempts: 2},
		rep.Items[1].RequestID: {State: "FAILED", Attempts: 2, Error: pre.Error},
	})
	v.Apply(rep)
	if err := r.writeReport(rep); err != nil {
		t.Fatal(err)
	}
	r.writeOutcome(rep, "/state/redrives/run.report.jsonl")
	r.writeVerdict(verdictResult{out: v.Outcome(), wait: 2 * time.Minute})
	golden.RequireEqual(t, out.String()+"--- stderr\n"+errb.String())
}

// The question counts what is sent: a request already processed is skipped, and said so.
func TestRedriveConfirmationCountsWhatIsSent(t *testing.T) {
	d, _ := redriveDemo(t)
	failed := transientFailed(t, d, 1)
	r := d.run(t, "", "ls", "--status", "PROCESSED", "-o", "json").must(t, ExitOK)
	done := jsonLines(t, r.stdout)[0]["id"].(string)
	prompts, _ := answer(t, d, "n\n")
	d.run(t, "", "redrive", failed[0], done).must(t, ExitCancelled)
	if want := `Redrive 1 request (1 already processed skipped) on environment "demo"? [y/N]`; !strings.Contains(prompts.String(), want) {
		t.Errorf("prompt %q, want %q", prompts.String(), want)
	}
}
