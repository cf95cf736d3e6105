package redrive

import (
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

var auditAt = time.Date(2026, 3, 1, 3, 15, 0, 0, time.FixedZone("CET", 3600))

// A run that ran: the manifest says what was planned, the report how it went, the
// context who ran it and when; the reason is kept valid UTF-8.
func TestAuditRunRecordsTheManifestTheReportAndWho(t *testing.T) {
	f := newFixture(t, 3)
	f.sender.script = func(id string, n int) (int, error) {
		if id == "req-002" {
			return 400, nil // permanent
		}
		return 200, nil
	}
	m := f.plan(t, ModeInplace)
	r, _ := New(f.deps(), m, f.opts())
	rep := runToEnd(t, r)
	rep.StopReason = "stopped: \xff bad byte"
	e := AuditRun(m, rep, "/s/run.report.jsonl", AuditContext{Who: "arn:aws:sts::1:assumed-role/ops/alice", Force: true, Resumed: true, At: auditAt})
	want := AuditEntry{
		RunID: m.RunID, At: m.PlannedAt, Who: "arn:aws:sts::1:assumed-role/ops/alice", Env: "test", Selection: m.Selection.Describe(),
		Count: 3, Bytes: m.TotalBytes(), ManifestHash: m.Hash(), Mode: ModeInplace, Target: m.Target.String(),
		Rate: m.Rate, Concurrency: m.Concurrency, Force: true, Resumed: true, Outcome: OutcomeFailed,
		Reason: "stopped: ? bad byte", Counts: Counts{Delivered: 2, Failed: 1}, Journal: r.JournalPath(),
		Report: "/s/run.report.jsonl", Finished: auditAt.UTC(),
		JournalSeq: 8, // header, sending and outcome for each of 3, end
	}
	if e != want {
		t.Errorf("entry\n got %+v\nwant %+v", e, want)
	}
}

// A plan that did not run records its outcome and reason, with every item still pending.
func TestAuditDecisionRecordsWhyNothingRan(t *testing.T) {
	f := newFixture(t, 2)
	m := f.plan(t, ModeReupload)
	for _, tc := range []struct {
		outcome Outcome
		reason  string
		want    string
	}{
		{OutcomeDryRun, "", ""},
		{OutcomeDeclined, "the operator declined", "the operator declined"},
		{OutcomeRefused, "journal: \xfe\xff", "journal: ?"},
	} {
		e := AuditDecision(m, tc.outcome, tc.reason, AuditContext{Who: "demo", At: auditAt})
		if e.Outcome != tc.outcome || e.Reason != tc.want || e.Who != "demo" || e.RunID != m.RunID ||
			e.ManifestHash != m.Hash() || e.Counts != (Counts{Pending: 2}) || !e.Finished.Equal(auditAt) ||
			e.Finished.Location() != time.UTC || e.Force || e.Resumed || e.Report != "" {
			t.Errorf("%s: %+v", tc.outcome, e)
		}
	}
	if e := AuditDecision(m, OutcomeDryRun, "", AuditContext{}); e.Finished.IsZero() {
		t.Error("an entry without a time got no Finished")
	}
}

// A refusal before planning has no manifest: the entry says what was asked; a refused
// --resume names the journaled run.
func TestNewRefusalEntry(t *testing.T) {
	rf := Refusal{Env: "prod", Production: true, Selection: Selection{IDs: []string{"a", "b"}, Source: "tui"},
		Mode: ModeInplace, Rate: 5, Concurrency: 4, Reason: "the environment is read-only"}
	e := NewRefusalEntry(rf, AuditContext{Who: "arn:x", At: auditAt})
	want := AuditEntry{RunID: "refused-" + strconv.FormatInt(auditAt.UnixNano(), 10), At: auditAt.UTC(), Who: "arn:x", Env: "prod",
		Production: true, Selection: rf.Selection.Describe(), Mode: ModeInplace, Rate: 5, Concurrency: 4,
		Outcome: OutcomeRefused, Reason: "the environment is read-only", Finished: auditAt.UTC()}
	if e != want {
		t.Errorf("entry\n got %+v\nwant %+v", e, want)
	}

	f := newFixture(t, 2)
	m := f.plan(t, ModeInplace)
	path := filepath.Join(f.dir, "r.journal.jsonl")
	j, err := CreateJournal(path, m)
	if err != nil {
		t.Fatal(err)
	}
	j.Close()
	st, err := LoadJournal(path)
	if err != nil {
		t.Fatal(err)
	}
	rf.Journal = st
	e = NewRefusalEntry(rf, AuditContext{Who: "arn:x", At: auditAt})
	if e.RunID != m.RunID || e.ManifestHash != m.Hash() || e.Count != 2 || !e.Resumed || e.Selection != m.Selection.Describe() {
		t.Errorf("refused resume %+v", e)
	}
}

// The helpers' entries survive the audit log unchanged, so the CLI's and the TUI's lines
// are the same.
func TestAuditHelpersRoundTripThroughTheLog(t *testing.T) {
	t.Setenv("XDG_STATE_HOME", t.TempDir())
	path, _ := AuditPath()
	f := newFixture(t, 1)
	m := f.plan(t, ModeInplace)
	r, _ := New(f.deps(), m, f.opts())
	rep := runToEnd(t, r)
	entries := []AuditEntry{
		AuditRun(m, rep, "", AuditContext{Who: "demo", At: auditAt}),
		AuditDecision(m, OutcomeDeclined, "the operator declined", AuditContext{Who: "demo", At: auditAt}),
		NewRefusalEntry(Refusal{Env: "demo", Reason: "read-only"}, AuditContext{Who: "demo", At: auditAt}),
	}
	for _, e := range entries {
		if err := AppendAudit(path, e); err != nil {
			t.Fatal(err)
		}
	}
	got, bad, err := LoadAudit(path)
	if err != nil || bad != 0 || len(got) != len(entries) {
		t.Fatalf("read %d entries, %d bad, %v", len(got), bad, err)
	}
	for i := range entries {
		if !auditEqual(got[i], entries[i]) {
			t.Errorf("entry %d\n got %+v\nwant %+v", i, got[i], entries[i])
		}
	}
}

func auditEqual(a, b AuditEntry) bool {
	if !a.At.Equal(b.At) || !a.Finished.Equal(b.Finished) {
		return false
	}
	a.At, b.At, a.Finished, b.Finished = time.Time{}, time.Time{}, time.Time{}, time.Time{}
	return a == b
}

// The audit records the settings a run ended with: untouched, it holds the plan's alone;
// changed while running, it says so and keeps what was confirmed beside them; changed
// before the start (resume --rate), it keeps the plan's too, without "tuned".
func TestAuditRunRecordsTunedRateAndConcurrency(t *testing.T) {
	f := newFixture(t, 1)
	m := f.plan(t, ModeInplace)
	m.Rate, m.Concurrency = 10, 4
	for _, c := range []struct {
		name        string
		rate        float64
		conc        int
		tuned       bool
		wantRate    float64
		wantConc    int
		wantPlanned bool
		wantTuned   bool
	}{
		{"untouched", 10, 4, false, 10, 4, false, false},
		{"tuned while running", 5, 5, true, 5, 5, true, true},
		{"tuned and put back", 10, 4, true, 10, 4, true, true},
		{"set before the start", 2, 4, false, 2, 4, true, false},
	} {
		rep := &Report{RunID: m.RunID, Outcome: OutcomeDelivered, Rate: c.rate, Concurrency: c.conc, Tuned: c.tuned}
		e := AuditRun(m, rep, "", AuditContext{Who: "demo", At: auditAt})
		if e.Rate != c.wantRate || e.Concurrency != c.wantConc || e.Tuned != c.wantTuned {
			t.Errorf("%s: rate %g concurrency %d tuned %v; want %g %d %v", c.name, e.Rate, e.Concurrency, e.Tuned, c.wantRate, c.wantConc, c.wantTuned)
		}
		planned := e.PlannedRate == 10 && e.PlannedConcurrency == 4
		if c.wantPlanned != planned || (!c.wantPlanned && (e.PlannedRate != 0 || e.PlannedConcurrency != 0)) {
			t.Errorf("%s: planned rate %g concurrency %d; want the plan's kept: %v", c.name, e.PlannedRate, e.PlannedConcurrency, c.wantPlanned)
		}
	}
}
