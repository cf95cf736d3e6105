package redrive

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestSessionWritesStartedReportAndFinalAudit pins the sequence the CLI and the TUI share:
// a started entry before anything is sent, then the report beside the journal and a final
// entry that names it, with the operator and the options the caller passed.
func TestSessionWritesStartedReportAndFinalAudit(t *testing.T) {
	t.Setenv("XDG_STATE_HOME", t.TempDir())
	f := newFixture(t, 3)
	m := f.plan(t, ModeInplace)
	at := time.Date(2026, 12, 7, 3, 0, 0, 0, time.UTC)
	opts := f.opts()
	opts.Force = true
	s, err := Start(context.Background(), f.deps(), m, opts, SessionConfig{Who: "arn:aws:iam::1:user/op", Now: func() time.Time { return at },
		Account: "123456789012", AllowOverlap: true})
	if err != nil {
		t.Fatal(err)
	}
	if s.Run().opts.Operator != "arn:aws:iam::1:user/op" {
		t.Errorf("operator %q, want the session's", s.Run().opts.Operator)
	}
	rep, fin, err := s.Finish()
	if err != nil || fin.ReportErr != nil || fin.AuditErr != nil {
		t.Fatalf("Finish: %v %+v", err, fin)
	}
	if rep.Counts.Delivered != 3 {
		t.Fatalf("counts %+v", rep.Counts)
	}
	if fin.ReportPath != ReportPath(opts.JournalPath) {
		t.Errorf("report at %q", fin.ReportPath)
	}
	if _, err := os.Stat(fin.ReportPath); err != nil {
		t.Errorf("report not saved: %v", err)
	}
	entries, _, err := LoadAudit(fin.AuditPath)
	if err != nil || len(entries) != 2 {
		t.Fatalf("audit %d entries, %v", len(entries), err)
	}
	started, final := entries[0], entries[1]
	if started.Outcome != OutcomeStarted || started.Journal != opts.JournalPath || final.Outcome != OutcomeDelivered || final.Report != fin.ReportPath {
		t.Errorf("entries %+v / %+v", started, final)
	}
	for _, e := range entries {
		if e.Who != "arn:aws:iam::1:user/op" || e.Account != "123456789012" || !e.AllowOverlap || !e.Force || e.Resumed || !e.Finished.Equal(at) {
			t.Errorf("entry %s lost the session's settings: %+v", e.Outcome, e)
		}
	}
	// Finish again (the TUI calls it on exit too): the same answer, nothing written twice.
	rep2, _, _ := s.Finish()
	if rep2 != rep {
		t.Error("a second Finish built another report")
	}
	if again, _, _ := LoadAudit(fin.AuditPath); len(again) != 2 {
		t.Errorf("a second Finish wrote %d entries", len(again)-2)
	}
}

func TestResumeSessionMarksItsEntriesResumed(t *testing.T) {
	t.Setenv("XDG_STATE_HOME", t.TempDir())
	f := newFixture(t, 2)
	m := f.plan(t, ModeInplace)
	journalFor(t, f.opts().JournalPath, m, Record{Type: RecDelivered, ID: f.ids[0]})
	st, err := LoadJournal(f.opts().JournalPath)
	if err != nil {
		t.Fatal(err)
	}
	rate, conc := 7.0, 2
	s, err := ResumeSession(context.Background(), f.deps(), st, f.opts(), SessionConfig{Who: "op", Rate: &rate, Concurrency: &conc})
	if err != nil {
		t.Fatal(err)
	}
	rep, fin, err := s.Finish()
	if err != nil || rep.Counts.Delivered != 2 || f.sender.receivedOf(f.ids[0]) != 0 {
		t.Fatalf("resume: %v %+v, first item received %d times", err, rep.Counts, f.sender.receivedOf(f.ids[0]))
	}
	if rep.Rate != 7 || rep.Concurrency != 2 || rep.Tuned {
		t.Errorf("rate %v concurrency %d tuned %v: want 7, 2, started with them", rep.Rate, rep.Concurrency, rep.Tuned)
	}
	entries, _, _ := LoadAudit(fin.AuditPath)
	for _, e := range entries {
		if !e.Resumed {
			t.Errorf("entry %s not marked resumed", e.Outcome)
		}
	}
}

// A refused run sends nothing and leaves its refusal in the audit log, in one place for
// the CLI and the TUI.
func TestStartRecordsARefusal(t *testing.T) {
	t.Setenv("XDG_STATE_HOME", t.TempDir())
	f := newFixture(t, 1)
	m := f.plan(t, ModeInplace)
	opts := f.opts()
	opts.ReadOnly = true
	_, err := Start(context.Background(), f.deps(), m, opts, SessionConfig{Who: "op"})
	if !errors.Is(err, ErrRefusedReadOnly) {
		t.Fatalf("err %v", err)
	}
	path, _ := AuditPath()
	entries, _, _ := LoadAudit(path)
	if len(entries) != 1 || entries[0].Outcome != OutcomeRefused || !strings.Contains(entries[0].Reason, "read_only") {
		t.Fatalf("audit %+v", entries)
	}
	if f.sender.receivedOf(f.ids[0]) != 0 {
		t.Error("a refused run sent")
	}
}

// A run whose started entry cannot be written does not start.
func TestStartRefusesWithoutAnAuditLog(t *testing.T) {
	dir := t.TempDir()
	blocker := filepath.Join(dir, "file")
	if err := os.WriteFile(blocker, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("XDG_STATE_HOME", blocker) // a file, so the state directory cannot exist
	f := newFixture(t, 1)
	m := f.plan(t, ModeInplace)
	_, err := Start(context.Background(), f.deps(), m, f.opts(), SessionConfig{Who: "op"})
	if err == nil || !strings.Contains(err.Error(), "nothing was sent") {
		t.Fatalf("err %v", err)
	}
	if f.sender.receivedOf(f.ids[0]) != 0 {
		t.Error("an unaudited run sent")
	}
}

func TestOperatorNamesTheIdentityOrWhyNot(t *testing.T) {
	ctx := context.Background()
	if got := Operator(ctx, nil); got != "unknown" {
		t.Errorf("nil identity: %q", got)
	}
	if got := Operator(ctx, func(context.Context) (string, error) { return "arn:x", nil }); got != "arn:x" {
		t.Errorf("identity: %q", got)
	}
	got := Operator(ctx, func(context.Context) (string, error) { return "", errors.New("secret AKIA... in text") })
	if !strings.HasPrefix(got, "unknown (sts:GetCallerIdentity failed") || strings.Contains(got, "AKIA") {
		t.Errorf("failure: %q", got)
	}
}
