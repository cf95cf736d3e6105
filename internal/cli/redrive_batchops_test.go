package cli

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/charmbracelet/x/ansi"
	"github.com/charmbracelet/x/exp/golden"

	"github.com/stowage-cli/stowage/awsclient"
	"github.com/stowage-cli/stowage/internal/config"
	"github.com/stowage-cli/stowage/internal/devstack"
	"github.com/stowage-cli/stowage/redrive"
)

var reportLine = regexp.MustCompile(`(?m)^Report:  (.+)$`)

func savedReport(t *testing.T, stderr string) string {
	t.Helper()
	m := reportLine.FindStringSubmatch(stderr)
	if m == nil {
		t.Fatalf("no Report: line in\n%s", stderr)
	}
	return m[1]
}

// batchDemo5000 is a demo whose some 5,000 FAILED requests (nearly every first delivery
// fails transiently) a status query selects, without a lease table: 10,000 claims and
// releases on the emulator would take most of a test; the smaller tests hold the claims.
// transient says, for each FAILED key, whether its error is transient.
func batchDemo5000(t *testing.T) (d *demo, transient map[string]bool) {
	t.Helper()
	d, _ = redriveDemo(t, func(o *devstack.Options) { o.Requests = 9100; o.TransientRatio = 0.97; o.LostRatio = -1 })
	d = d.variant(t, func(env *config.Env) { env.Redrive.LeaseTable = "" })
	transient = map[string]bool{}
	for _, r := range d.stack.Seeded() {
		if st, ok := d.stack.Status(r.Key); ok && st.State == devstack.StateFailed {
			transient[r.Key] = strings.Contains(st.Error, "timeout") || strings.Contains(st.Error, "throttl") || strings.Contains(st.Error, "unavailable")
		}
	}
	if len(transient) < 5000 {
		t.Fatalf("the demo has %d FAILED requests, want about 5,000", len(transient))
	}
	return d, transient
}

// checkBatch5000 checks what every 5,000-request run shows: the typed confirmation, the
// plan, the confirmation to S3, the progress while Active and at the end, the report
// (stdout and saved, one line per request, with the states counted) and the audit entry.
func checkBatch5000(t *testing.T, r result, prompts fmt.Stringer, mode, method string, delivered, failed int) []map[string]any {
	t.Helper()
	total := delivered + failed
	if !strings.Contains(prompts.String(), "Type the environment name (demo)") {
		t.Errorf("prompt: %q", prompts)
	}
	want := []string{"engine       S3 Batch Operations", fmt.Sprintf("jobs         %d requests in ", total), "cost         ",
		"report       s3://" + devstack.BatchOpsBucket + "/reports/job-ID/", "confirmed (both confirmations given)",
		"] Active  ", fmt.Sprintf("] Complete  %d/%d  succeeded %d  failed %d", total, total, delivered, failed),
		fmt.Sprintf("finished: %d delivered", delivered), "Jobs:"}
	if failed > 0 {
		// The retry runs on the same engine (--mode lambda alone is the local event mode).
		want = append(want, fmt.Sprintf("%d failed", failed), "--only failed --engine batch-ops --mode "+mode)
	}
	for _, w := range want {
		if !strings.Contains(r.stderr, w) {
			t.Errorf("stderr lacks %q:\n%s", w, clip(r.stderr))
		}
	}
	items := jsonLines(t, r.stdout)
	counts := map[any]int{}
	for _, it := range items {
		counts[it["state"]]++
		if it["mode"] != mode {
			t.Fatalf("report line %v", it)
		}
	}
	if len(items) != total || counts["delivered"] != delivered || counts["failed"] != failed {
		t.Fatalf("%d report lines %v, want %d delivered and %d failed", len(items), counts, delivered, failed)
	}
	if back, err := os.ReadFile(savedReport(t, r.stderr)); err != nil || strings.Count(string(back), "\n") != total {
		t.Fatalf("saved report: %v", err)
	}
	e := auditEntries(t)
	last := e[len(e)-1]
	if last.Counts.Delivered != delivered || last.Counts.Failed != failed || !strings.HasPrefix(last.Target, method) {
		t.Fatalf("audit %+v", last)
	}
	return items
}

// A 5,000-request s3-copy run handed to the devstack's Batch Operations: the plan, the
// typed confirmation, progress, the report with the tasks S3 failed (throttled), those
// retried with --from-report --only failed, and the transient failures turning PROCESSED.
func TestRedriveBatchOpsCopy5000(t *testing.T) {
	d, transient := batchDemo5000(t)
	// S3 throttles the copies of 40 requests: their tasks fail (SlowDown).
	throttled := map[string]bool{}
	for key := range transient {
		if len(throttled) < 40 {
			throttled[key] = true
		}
	}
	d.stack.SetBatchTaskFault(func(key string) (string, bool) { return "SlowDown", throttled[key] })
	prompts, _ := answer(t, d, "demo\n")
	r := d.run(t, "", "redrive", "--engine", "batch-ops", "--mode", "s3-copy", "--status", "FAILED", "--wait", "0", "-o", "json", "--batch-poll", "10ms").must(t, ExitNotFound)
	items := checkBatch5000(t, r, prompts, "s3-copy", redrive.BatchCopyMethod, len(transient)-len(throttled), len(throttled))
	for _, it := range items {
		if key, _ := it["key"].(string); throttled[key] != (it["state"] == "failed") ||
			throttled[key] && !strings.Contains(fmt.Sprint(it["error"]), "SlowDown") {
			t.Fatalf("report line %v (throttled: %v)", it, throttled[key])
		}
	}
	if last := auditEntries(t); last[len(last)-1].Outcome != redrive.OutcomeFailed {
		t.Fatalf("audit %+v", last[len(last)-1])
	}
	// The throttled ones again, from the report: exactly them, delivered this time.
	d.stack.SetBatchTaskFault(nil)
	// 40 tasks, 8 at a time, end within a poll unless paced: the progress check wants
	// the job seen Active (CI caught it Complete at the first look).
	d.stack.SetBatchTaskDelay(50 * time.Millisecond)
	prompts, _ = answer(t, d, "demo\n")
	again := d.run(t, "", "redrive", "--engine", "batch-ops", "--mode", "s3-copy", "--from-report", savedReport(t, r.stderr), "--only", "failed",
		"--wait", "0", "-o", "json", "--batch-poll", "10ms").must(t, ExitOK)
	checkBatch5000(t, again, prompts, "s3-copy", redrive.BatchCopyMethod, len(throttled), 0)
	for _, it := range jsonLines(t, again.stdout) {
		if key, _ := it["key"].(string); !throttled[key] {
			t.Fatalf("--only failed sent %v", it)
		}
	}
	// The transient failures turn PROCESSED.
	if err := d.stack.Settle(context.Background()); err != nil {
		t.Fatal(err)
	}
	for key, tr := range transient {
		if st, _ := d.stack.Status(key); tr && st.State != devstack.StateProcessed {
			t.Fatalf("transient %s is %s after the job", key, st.State)
		}
	}
}

// The same 5,000 requests handed to the processor with --mode lambda (invocation schema
// 2.0): the transient failures turn PROCESSED and their tasks succeed; the permanent
// ones fail again, come back as failed in the report, and --from-report --only failed
// plans exactly them (saying they failed permanently).
func TestRedriveBatchOpsLambda5000(t *testing.T) {
	d, transient := batchDemo5000(t)
	permanent := 0
	for _, tr := range transient {
		if !tr {
			permanent++
		}
	}
	prompts, _ := answer(t, d, "demo\n")
	r := d.run(t, "", "redrive", "--engine", "batch-ops", "--mode", "lambda", "--status", "FAILED", "--wait", "0", "-o", "json", "--batch-poll", "10ms").must(t, ExitNotFound)
	if !strings.Contains(r.stderr, "operation    LambdaInvoke arn:aws:lambda:") || !strings.Contains(r.stderr, "(invocation schema 2.0)") {
		t.Errorf("plan:\n%s", clip(r.stderr))
	}
	items := checkBatch5000(t, r, prompts, "lambda", redrive.BatchLambdaMethod, len(transient)-permanent, permanent)
	for _, it := range items {
		key, _ := it["key"].(string)
		st, _ := d.stack.Status(key)
		if transient[key] != (it["state"] == "delivered") || transient[key] != (st.State == devstack.StateProcessed) {
			t.Fatalf("report line %v, status %s (transient: %v)", it, st.State, transient[key])
		}
	}
	dry := d.run(t, "", "redrive", "--engine", "batch-ops", "--mode", "lambda", "--from-report", savedReport(t, r.stderr), "--only", "failed", "--dry-run", "-o", "json").must(t, ExitOK)
	planned := jsonLines(t, dry.stdout)
	if len(planned) != permanent || !strings.Contains(dry.stderr, fmt.Sprintf("permanent    %d of %d failed with a permanent error", permanent, permanent)) {
		t.Fatalf("--from-report --only failed planned %d, the report has %d failed:\n%s", len(planned), permanent, dry.stderr)
	}
	for _, it := range planned {
		if key, _ := it["key"].(string); transient[key] {
			t.Fatalf("--only failed planned %v, a request the job processed", it)
		}
	}
}

// The confirmation gate: a wrong name creates no job and writes nothing.
func TestRedriveBatchOpsDeclined(t *testing.T) {
	d, _ := redriveDemo(t)
	before := d.stack.Writes().Total() + d.stack.BatchJobWrites()
	prompts, _ := answer(t, d, "prod\n")
	d.run(t, "", "redrive", "--engine", "batch-ops", "--mode", "s3-copy", "--status", "FAILED").must(t, ExitCancelled)
	if !strings.Contains(prompts.String(), "Type the environment name (demo)") || d.stack.BatchJobs() != 0 ||
		d.stack.Writes().Total()+d.stack.BatchJobWrites() != before {
		t.Fatalf("declined: prompts %q, %d jobs, %d writes", prompts, d.stack.BatchJobs(), d.stack.Writes().Total()+d.stack.BatchJobWrites()-before)
	}
	if e := auditEntries(t); e[len(e)-1].Outcome != redrive.OutcomeDeclined {
		t.Fatalf("audit %+v", e[len(e)-1])
	}
}

// --mode lambda: the processor gets schema 2.0 events; the permanent failures come back
// as failed, and --from-report --only failed takes exactly them.
func TestRedriveBatchOpsLambdaFromReport(t *testing.T) {
	d, _ := redriveDemo(t, func(o *devstack.Options) { o.Requests = 400 })
	answer(t, d, "demo\n")
	r := d.run(t, "", "redrive", "--engine", "batch-ops", "--mode", "lambda", "--status", "FAILED", "--wait", "0", "-o", "json", "--batch-poll", "10ms").must(t, ExitNotFound)
	failed := 0
	for _, it := range jsonLines(t, r.stdout) {
		if it["state"] == "failed" {
			failed++
		}
	}
	if failed == 0 || !strings.Contains(r.stderr, "--only failed --engine batch-ops --mode lambda") {
		t.Fatalf("%d failed; stderr:\n%s", failed, r.stderr)
	}
	rep := savedReport(t, r.stderr)
	dry := d.run(t, "", "redrive", "--engine", "batch-ops", "--mode", "lambda", "--from-report", rep, "--only", "failed", "--dry-run", "-o", "json").must(t, ExitOK)
	if n := len(jsonLines(t, dry.stdout)); n != failed {
		t.Fatalf("--from-report --only failed planned %d, the report has %d failed", n, failed)
	}
}

func TestRedriveBatchOpsReadOnlyRefused(t *testing.T) {
	d, _ := redriveDemo(t)
	before := d.stack.Writes().Total() + d.stack.BatchJobWrites()
	r := d.run(t, "", "--read-only", "redrive", "--engine", "batch-ops", "--mode", "s3-copy", "--status", "FAILED", "--yes").must(t, ExitUsage)
	if !strings.Contains(r.stderr, "read-only") || d.stack.BatchJobs() != 0 || d.stack.Writes().Total()+d.stack.BatchJobWrites() != before {
		t.Fatalf("read-only: %s; %d jobs", r.stderr, d.stack.BatchJobs())
	}
}

func TestRedriveBatchOpsFlags(t *testing.T) {
	d, _ := redriveDemo(t)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--engine", "fleet"}, "want local or batch-ops"},
		{[]string{"--engine", "batch-ops", "--mode", "inplace"}, "runs --mode s3-copy or --mode lambda"},
		{[]string{"--engine", "batch-ops", "--mode", "s3-copy", "--rate", "5"}, "--rate does not apply"},
	} {
		r := d.run(t, "", append(append([]string{"redrive", "--status", "FAILED"}, tc.args...), "--yes")...).must(t, ExitUsage)
		if !strings.Contains(r.stderr, tc.want) {
			t.Errorf("%v: %s", tc.args, r.stderr)
		}
	}
}

// Ctrl+C cancels the jobs, says that what ran is not undone, and the report keeps the
// rest as not run.
func TestRedriveBatchOpsCancelMidJob(t *testing.T) {
	d, _ := redriveDemo(t, func(o *devstack.Options) { o.Requests = 600; o.TransientRatio = 0.5 })
	d.stack.SetBatchTaskDelay(15 * time.Millisecond)
	answer(t, d, "demo\n")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	copies := d.stack.Writes().S3Copies
	go func() {
		// Ctrl+C once every job is confirmed (the run watches them) and 20 copies ran.
		for {
			n := d.stack.BatchJobs()
			if n > 0 && d.stack.BatchJobsConfirmed() == n && d.stack.Writes().S3Copies >= copies+20 {
				break
			}
			time.Sleep(time.Millisecond)
		}
		cancel()
	}()
	var out, errb strings.Builder
	code := d.runIn(ctx, strings.NewReader(""), &out, &errb, "redrive", "--engine", "batch-ops", "--mode", "s3-copy", "--status", "FAILED", "--wait", "0", "-o", "json", "--batch-poll", "5ms")
	if code != ExitCancelled {
		t.Fatalf("exit %d\n%s", code, errb.String())
	}
	for _, want := range []string{"cancelling job", "not undone", "cancelled:"} {
		if !strings.Contains(errb.String(), want) {
			t.Errorf("stderr lacks %q:\n%s", want, errb.String())
		}
	}
	delivered, pending := 0, 0
	for _, it := range jsonLines(t, out.String()) {
		switch it["state"] {
		case "delivered":
			delivered++
		case "pending":
			pending++
		}
	}
	if delivered == 0 || pending == 0 {
		t.Fatalf("cancelled mid-job: %d delivered, %d pending", delivered, pending)
	}
}

// Ctrl+C while the jobs are being confirmed (the first confirmed and running, the others
// still Suspended): every job is cancelled, confirmed or not, the operator is told that
// what ran is not undone, and the run ends as a cancel mid-job does: the report has every
// item (delivered and not sent), the claims are released and the audit says cancelled.
// (The jobs confirmed kept running in S3, and the report had nothing.)
func TestRedriveBatchOpsCancelDuringConfirmation(t *testing.T) {
	d, _ := redriveDemo(t, func(o *devstack.Options) { o.Requests = 600; o.TransientRatio = 0.5 })
	d.stack.SetBatchTaskDelay(15 * time.Millisecond)
	answer(t, d, "demo\n")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	copies := d.stack.Writes().S3Copies
	var once sync.Once
	d.stack.SetBatchConfirmHook(func(string) {
		once.Do(func() {
			// The first job confirmed runs a few tasks; then Ctrl+C, before stowage is
			// answered and so before the next job is confirmed.
			for i := 0; i < 10000 && d.stack.Writes().S3Copies < copies+5; i++ {
				time.Sleep(time.Millisecond)
			}
			cancel()
		})
	})
	defer d.stack.SetBatchConfirmHook(nil)
	var out, errb strings.Builder
	code := d.runIn(ctx, strings.NewReader(""), &out, &errb, "redrive", "--engine", "batch-ops", "--mode", "s3-copy", "--status", "FAILED", "--wait", "0", "-o", "json", "--batch-poll", "5ms")
	if code != ExitCancelled {
		t.Fatalf("exit %d\n%s", code, errb.String())
	}
	statuses := d.stack.BatchJobStatuses()
	if len(statuses) < 2 || d.stack.BatchJobsConfirmed() != 1 {
		t.Fatalf("%d jobs, %d confirmed: want several jobs, the first confirmed only", len(statuses), d.stack.BatchJobsConfirmed())
	}
	for i, st := range statuses {
		if st != "Cancelled" {
			t.Errorf("job %d of %d is %s after Ctrl+C during the confirmation", i+1, len(statuses), st)
		}
	}
	for _, want := range []string{"interrupted while the jobs were being created and confirmed", "cancelling jobs", redrive.BatchCancelNote, "not undone", "cancelled:", "Report:  "} {
		if !strings.Contains(errb.String(), want) {
			t.Errorf("stderr lacks %q:\n%s", want, errb.String())
		}
	}
	if strings.Contains(errb.String(), "not all confirmed or followed") {
		t.Errorf("the jobs were left to jobs watch:\n%s", errb.String())
	}
	items := jsonLines(t, out.String())
	delivered, pending := 0, 0
	for _, it := range items {
		switch it["state"] {
		case "delivered":
			delivered++
		case "pending":
			pending++
		}
	}
	if delivered == 0 || pending == 0 {
		t.Fatalf("cancelled during confirmation: %d delivered, %d pending of %d", delivered, pending, len(items))
	}
	entries := auditEntries(t)
	last := entries[len(entries)-1]
	if last.Outcome != redrive.OutcomeCanceled || last.Counts.Delivered != delivered || last.Counts.Pending != pending {
		t.Fatalf("audit %+v; report %d delivered, %d pending", last, delivered, pending)
	}
	// Every claim is released with its outcome: delivered, or not sent.
	released := 0
	for _, it := range items {
		id, _ := it["id"].(string)
		want := map[any]string{"delivered": "delivered", "pending": "not-sent"}[it["state"]]
		if want == "" {
			continue
		}
		if l, ok := d.stack.Lease(id); !ok || l.Outcome != want {
			t.Fatalf("lease of %s (%s) = %+v, %v", id, it["state"], l, ok)
		}
		released++
	}
	if released != delivered+pending {
		t.Fatalf("%d claims released, want %d", released, delivered+pending)
	}
}

// A job another process started (its process gone after confirming) is reattached with
// jobs watch: followed to its end, its report made and its claims released here.
func TestJobsWatchReattaches(t *testing.T) {
	d, _ := redriveDemo(t, func(o *devstack.Options) { o.Requests = 300 })
	sess, m := startElsewhere(t, d)
	id := sess.JobIDs()[0]

	list := d.run(t, "", "jobs", "-o", "json").must(t, ExitOK)
	if rows := jsonLines(t, list.stdout); len(rows) != len(sess.JobIDs()) || !strings.Contains(list.stdout, id) {
		t.Fatalf("jobs -o json:\n%s", list.stdout)
	}
	// On an 80-column terminal the table fits it (it wrapped every row into two).
	var tout, terr bytes.Buffer
	if code := d.onTerminal(80, &tout).runIn(context.Background(), strings.NewReader(""), &tout, &terr, "jobs"); code != ExitOK {
		t.Fatalf("jobs: exit %d: %s", code, terr.String())
	}
	for _, line := range strings.Split(strings.TrimSuffix(tout.String(), "\n"), "\n") {
		if w := ansi.StringWidth(line); w > 80 || strings.Contains(line, "stowage redrive run") {
			t.Fatalf("jobs on 80 columns: a line of %d cells:\n%s", w, tout.String())
		}
	}
	if !strings.Contains(tout.String(), id) || !strings.Contains(tout.String(), "  copy  ") {
		t.Fatalf("jobs on 80 columns:\n%s", tout.String())
	}
	r := d.run(t, "", "jobs", "watch", id, "-o", "json", "--batch-poll", "5ms").must(t, ExitOK)
	if !strings.Contains(r.stderr, "Complete") || !strings.Contains(r.stderr, "finished: ") || len(jsonLines(t, r.stdout)) != len(m.Items) {
		t.Fatalf("jobs watch:\n%s\n%s", r.stderr, clip(r.stdout))
	}
	claimed := sess.Record().Claimed
	if l, ok := d.stack.Lease(claimed[0]); !ok || l.Outcome != "delivered" {
		t.Fatalf("lease after jobs watch: %+v", l)
	}
	// A job this machine has no record of is watched only.
	if err := os.Remove(sess.Record().Path()); err != nil {
		t.Fatal(err)
	}
	r = d.run(t, "", "jobs", "watch", id, "--batch-poll", "5ms").must(t, ExitOK)
	if !strings.Contains(r.stderr, "no record of its run") || !strings.Contains(r.stderr, "Completion report: s3://") {
		t.Fatalf("foreign watch:\n%s", r.stderr)
	}
}

// startElsewhere starts a batch-ops run of the demo's FAILED requests as another
// process would (at demoNow, by other-terminal), and returns it and its manifest.
func startElsewhere(t *testing.T, d *demo) (*redrive.BatchSession, *redrive.Manifest) {
	t.Helper()
	env := d.stack.Config().Environments[devstack.EnvName]
	env.Name = devstack.EnvName
	c, err := openForTest(t, d)
	if err != nil {
		t.Fatal(err)
	}
	opts, _ := redrive.PlanOptionsFor(env, redrive.ModeS3Copy)
	opts.Now = fixedClock(demoNow)
	m, err := redrive.Plan(context.Background(), redrive.PlanDepsFor(c, env), redrive.Selection{Status: devstack.StateFailed}, opts)
	if err != nil {
		t.Fatal(err)
	}
	p, err := redrive.PrepareBatch(m, redrive.BatchPlanOptions{Cost: env.BatchOps.Cost, MaxFailureRatio: 1})
	if err != nil {
		t.Fatal(err)
	}
	sess, err := redrive.StartBatch(context.Background(), redrive.BatchDepsFor(c), p, redrive.BatchStartOptions{Poll: 5 * time.Millisecond},
		redrive.SessionConfig{Who: "other-terminal", Now: fixedClock(demoNow)})
	if err != nil {
		t.Fatal(err)
	}
	return sess, m
}

// openForTest opens the demo environment's clients as another process would.
func openForTest(t *testing.T, d *demo) (*awsclient.Clients, error) {
	t.Helper()
	env := d.stack.Config().Environments[devstack.EnvName]
	env.Name = devstack.EnvName
	return awsclient.Open(context.Background(), env, awsclient.WithStaticCredentials(d.stack.AccessKey, d.stack.SecretKey))
}

func TestDoctorChecksBatchOps(t *testing.T) {
	d, _ := redriveDemo(t)
	checks := func(r result) map[string]string {
		out := map[string]string{}
		for _, m := range jsonLines(t, r.stdout) {
			if c, _ := m["check"].(string); strings.HasPrefix(c, "batch") {
				out[c] = m["result"].(string)
			}
		}
		return out
	}
	before := d.stack.Writes()
	got := checks(d.run(t, "", "doctor", "-o", "json"))
	for _, c := range []string{"batch ops", "batch csv", "batch report"} {
		if got[c] != "pass" {
			t.Errorf("%s: %q (%v)", c, got[c], got)
		}
	}
	// Each probe written is deleted: doctor leaves nothing in the prefixes.
	if w := d.stack.Writes(); w.S3Puts-before.S3Puts != 2 || w.S3Deletes-before.S3Deletes != 2 {
		t.Errorf("doctor put %d objects and deleted %d, want 2 and 2", w.S3Puts-before.S3Puts, w.S3Deletes-before.S3Deletes)
	}
	// The demo's S3 Control is local: no IAM to ask, and doctor says so (it does not ask AWS).
	if got["batch role"] != "skip" {
		t.Errorf("batch role on a local stack: %q", got["batch role"])
	}
	// Read-only writes nothing: the probes are skipped, saying why, and the prefixes listed.
	before = d.stack.Writes()
	r := d.run(t, "", "--read-only", "doctor", "-o", "json")
	got = checks(r)
	if got["batch csv"] != "skip" || got["batch report"] != "skip" || got["batch ops"] != "pass" ||
		!strings.Contains(r.stdout, "read-only, so no probe is written") {
		t.Errorf("read-only: %v\n%s", got, r.stdout)
	}
	if w := d.stack.Writes(); w.S3Puts != before.S3Puts || w.S3Deletes != before.S3Deletes {
		t.Errorf("read-only doctor wrote to S3: %+v, before %+v", w, before)
	}
	bad := d.variant(t, func(env *config.Env) { env.BatchOps.ReportPrefix = "s3://no-such-bucket-here/x/" })
	got = checks(bad.run(t, "", "doctor", "-o", "json"))
	if got["batch report"] != "fail" || got["batch csv"] != "pass" {
		t.Errorf("a missing report bucket: %v", got)
	}
}

func TestBatchSuggestion(t *testing.T) {
	env := &config.Env{BatchOps: config.BatchOps{RoleARN: "arn:aws:iam::123456789012:role/r", ManifestPrefix: "s3://a-b/m/", ReportPrefix: "s3://a-b/r/",
		SuggestAbove: 100000, Cost: config.BatchOpsCost{Currency: "USD", PerJob: 0.25, PerMillionObjects: 1, PerThousandCopies: 0.005}}}
	if s := batchSuggestion(env, 100000, 0); s != "" {
		t.Errorf("at the threshold: %q", s)
	}
	if s := batchSuggestion(env, 4000000, 0); !strings.Contains(s, "--engine batch-ops --mode s3-copy") || !strings.Contains(s, "24.25 USD") {
		t.Errorf("4M: %q", s)
	}
	if s := batchSuggestion(env, 3, 2); !strings.Contains(s, "too large for the gateway") {
		t.Errorf("too large: %q", s)
	}
	if s := batchSuggestion(&config.Env{}, 4000000, 0); s != "" {
		t.Errorf("without batch_ops: %q", s)
	}
}

// On a terminal, c (and Enter) asks to cancel the job, as Ctrl+C does.
func TestRedriveBatchOpsCancelWithC(t *testing.T) {
	d, _ := redriveDemo(t, func(o *devstack.Options) { o.Requests = 300; o.TransientRatio = 0.5 })
	d.stack.SetBatchTaskDelay(20 * time.Millisecond)
	answer(t, d, "demo\n")
	stdin := strings.NewReader("c\n")
	var out, errb strings.Builder
	td := d.onTerminal(0, &nopWriter{}, stdin)
	code := td.runIn(context.Background(), stdin, &out, &errb, "redrive", "--engine", "batch-ops", "--mode", "s3-copy", "--status", "FAILED", "--wait", "0", "-o", "json", "--batch-poll", "5ms")
	if code != ExitCancelled || !strings.Contains(errb.String(), "cancelling job") || !strings.Contains(errb.String(), "not undone") {
		t.Fatalf("exit %d\n%s", code, errb.String())
	}
	if d.stack.BatchJobs() == 0 {
		t.Fatal("no job was created")
	}
}

type nopWriter struct{}

func (nopWriter) Write(p []byte) (int, error) { return len(p), nil }

// In production even a one-request job needs the environment's name typed.
func TestRedriveBatchOpsProductionNeedsTheNameTyped(t *testing.T) {
	d, _ := redriveDemo(t)
	prod := d.variant(t, func(env *config.Env) { env.Production = true })
	id := failedIDs(t, d, 1, false)[0]
	prompts, _ := answer(t, prod, "y\n")
	prod.run(t, "", "redrive", "--engine", "batch-ops", "--mode", "s3-copy", "--force", id).must(t, ExitCancelled)
	if !strings.Contains(prompts.String(), "PRODUCTION") || !strings.Contains(prompts.String(), "Type the environment name (demo)") || d.stack.BatchJobs() != 0 {
		t.Fatalf("prompt %q, %d jobs", prompts, d.stack.BatchJobs())
	}
}

var (
	runIDs   = regexp.MustCompile(`[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}`)
	sha256es = regexp.MustCompile(`[0-9a-f]{64}`)
)

// The plan of a batch-ops run, as the operator reads it before confirming.
func TestRedriveBatchOpsPlanGolden(t *testing.T) {
	d, _ := redriveDemo(t)
	r := d.run(t, "", "redrive", "--engine", "batch-ops", "--mode", "s3-copy", "--status", "FAILED", "--dry-run", "-o", "json").must(t, ExitOK)
	plan := sha256es.ReplaceAllString(runIDs.ReplaceAllString(normalize(r.stderr), "RUN-ID"), "HASH")
	golden.RequireEqual(t, plan)

	// As a table the plan heads stdout, before every item.
	r = d.run(t, "", "redrive", "--engine", "batch-ops", "--mode", "s3-copy", "--status", "FAILED", "--dry-run", "-o", "table").must(t, ExitOK)
	head, table, ok := strings.Cut(r.stdout, "\n\n")
	if !ok || !strings.Contains(head, "  jobs         77 requests") || strings.Contains(head, "  rate ") || !strings.HasPrefix(table, "REQUEST ID") ||
		strings.TrimSpace(r.stderr) != "Dry run: nothing was sent." {
		t.Fatalf("table dry run:\n%s\n--- stderr:\n%s", clip(r.stdout), r.stderr)
	}
}
