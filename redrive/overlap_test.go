package redrive

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// An unfinished run of the same environment whose journal exists and holds some of the
// selected requests is found; finished runs, other environments, removed journals, runs
// that hold none of them and journals whose run ended are not.
func TestUnfinishedOverlaps(t *testing.T) {
	f := newFixture(t, 4)
	dir := t.TempDir()
	audit := filepath.Join(dir, "audit.jsonl")
	started := time.Date(2026, 3, 1, 3, 15, 0, 0, time.UTC)
	journal := func(name string, ids ...string) (*Manifest, string) {
		m := f.plan(t, ModeInplace, ids...)
		path := filepath.Join(dir, name+".journal.jsonl")
		j, err := CreateJournal(path, m)
		if err != nil {
			t.Fatal(err)
		}
		j.Close()
		return m, path
	}
	appendEntry := func(m *Manifest, env string, outcome Outcome, journal string) {
		e := NewAuditEntry(m, "demo")
		e.Env, e.Outcome, e.Journal, e.Finished = env, outcome, journal, started
		if err := AppendAudit(audit, e); err != nil {
			t.Fatal(err)
		}
	}
	killed, killedPath := journal("killed", "req-000", "req-001", "req-002")
	appendEntry(killed, "test", OutcomeStarted, killedPath)
	done, donePath := journal("done", "req-000")
	appendEntry(done, "test", OutcomeStarted, donePath)
	appendEntry(done, "test", OutcomeDelivered, donePath)
	other, otherPath := journal("other", "req-000")
	appendEntry(other, "prod", OutcomeStarted, otherPath)
	gone, gonePath := journal("gone", "req-001")
	appendEntry(gone, "test", OutcomeStarted, gonePath)
	os.Remove(gonePath)
	apart, apartPath := journal("apart", "req-003")
	appendEntry(apart, "test", OutcomeStarted, apartPath)

	got, err := UnfinishedOverlaps(audit, "test", []string{"req-001", "req-002", "req-000"})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].Journal != killedPath || got[0].Count != 3 || got[0].RunID != killed.RunID || !got[0].Started.Equal(started) {
		t.Fatalf("overlaps %+v, want only the killed run with 3 requests", got)
	}
	w := got[0].Warning()
	want := "another run (journal " + killedPath + ", started 2026-03-01T03:15:00Z) has not finished and includes 3 of these requests; --resume it or check it before sending them again"
	if w != want {
		t.Errorf("warning\n got %s\nwant %s", w, want)
	}
	if got, _ := UnfinishedOverlaps(audit, "test", []string{"req-003"}); len(got) != 1 || got[0].Journal != apartPath || got[0].Count != 1 {
		t.Errorf("req-003: %+v", got)
	}
	if got, _ := UnfinishedOverlaps(audit, "test", []string{"req-999"}); len(got) != 0 {
		t.Errorf("a request no run holds: %+v", got)
	}
	if got, err := UnfinishedOverlaps(filepath.Join(dir, "none.jsonl"), "test", []string{"req-000"}); err != nil || len(got) != 0 {
		t.Errorf("no audit log: %+v %v", got, err)
	}

	// A run that ended in its journal is finished, though its final audit entry is missing.
	g := newFixture(t, 1)
	ended := g.plan(t, ModeInplace)
	r, err := New(g.deps(), ended, g.opts())
	if err != nil {
		t.Fatal(err)
	}
	runToEnd(t, r)
	appendEntry(ended, "test", OutcomeStarted, r.JournalPath())
	if got, _ := UnfinishedOverlaps(audit, "test", []string{"req-000"}); len(got) != 1 || got[0].Journal != killedPath {
		t.Errorf("an ended journal counts as unfinished: %+v", got)
	}
}

// An unfinished batch-ops run (its started entry names its .batch.json record) overlaps
// with the requests it is to send before its claims, with those it claimed after, and
// not once its record says it finished. Before the fix its record was read as a journal,
// failed, and was skipped: a running job did not block an overlapping local run.
func TestUnfinishedOverlapsBatchRun(t *testing.T) {
	f := newFixture(t, 4)
	dir := t.TempDir()
	audit := filepath.Join(dir, "audit.jsonl")
	m := f.plan(t, ModeS3Copy, "req-000", "req-001", "req-002")
	p, err := PrepareBatch(m, BatchPlanOptions{Force: true, MaxFailureRatio: 1})
	if err != nil {
		t.Fatal(err)
	}
	rec := &BatchRecord{Version: 1, Plan: p, Operator: "demo", path: filepath.Join(dir, "run.batch.json")}
	if err := rec.save(); err != nil {
		t.Fatal(err)
	}
	e := NewAuditEntry(m, "demo")
	e.Env, e.Outcome, e.Journal = "test", OutcomeStarted, rec.path
	if err := AppendAudit(audit, e); err != nil {
		t.Fatal(err)
	}
	ids := []string{"req-000", "req-001", "req-003"}
	got, err := UnfinishedOverlaps(audit, "test", ids)
	if err != nil || len(got) != 1 || got[0].Count != 2 || !got[0].Batch || got[0].Journal != rec.path || got[0].RunID != m.RunID {
		t.Fatalf("before the claims: %+v %v, want the batch run with 2 requests", got, err)
	}
	if w := got[0].Warning(); !strings.Contains(w, "batch-ops run") || !strings.Contains(w, "created no job yet") {
		t.Errorf("warning: %s", w)
	}

	rec.Claimed = []string{"req-001", "req-002"}
	rec.Refused = map[string]string{"req-000": "claimed by someone"}
	rec.Jobs = []BatchJobRef{{ID: "job-1"}}
	if err := rec.save(); err != nil {
		t.Fatal(err)
	}
	got, _ = UnfinishedOverlaps(audit, "test", ids)
	if len(got) != 1 || got[0].Count != 1 || len(got[0].Jobs) != 1 {
		t.Fatalf("after the claims: %+v, want the batch run with 1 request", got)
	}
	if r := OverlapRefusal(got, "stowage --env test"); !strings.Contains(r, "twice. Let its job end with stowage --env test jobs watch job-1") || strings.Contains(r, "--resume") {
		t.Errorf("refusal: %s", r)
	}
	if got, _ := UnfinishedOverlaps(audit, "prod", ids); len(got) != 0 {
		t.Errorf("another environment: %+v", got)
	}

	rec.Finished = true
	if err := rec.save(); err != nil {
		t.Fatal(err)
	}
	if got, _ := UnfinishedOverlaps(audit, "test", ids); len(got) != 0 {
		t.Errorf("a finished record: %+v", got)
	}
}
