package redrive_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stowage-cli/stowage/awsclient"
	"github.com/stowage-cli/stowage/internal/config"
	"github.com/stowage-cli/stowage/internal/failclass"
	"github.com/stowage-cli/stowage/redrive"
)

func failedItem(id, msg string) redrive.Item {
	return redrive.Item{RequestID: id, Key: id, Status: "FAILED",
		Planned: &redrive.StatusRead{Found: true, State: "FAILED", Error: msg, UpdatedAt: t0}}
}

func permanenceManifest() *redrive.Manifest {
	m := &redrive.Manifest{Version: redrive.ManifestVersion, RunID: "r1", Env: "demo", Mode: redrive.ModeInplace, PlannedAt: t0}
	for i := 0; i < 45; i++ {
		m.Items = append(m.Items, failedItem("x"+string(rune('a'+i%26))+strings.Repeat("x", i/26), "XML syntax error at line 11, column 7: unexpected EOF"))
	}
	for i := 0; i < 9; i++ {
		m.Items = append(m.Items, failedItem("t"+string(rune('a'+i)), "dial tcp 10.0.3.7:443: i/o timeout"))
	}
	m.Items = append(m.Items, failedItem("u1", "customer account closed"))
	m.Items = append(m.Items, redrive.Item{RequestID: "lost1", Key: "lost1"}) // LOST: no error
	return m
}

func TestPermanenceOf(t *testing.T) {
	m := permanenceManifest()
	p := redrive.PermanenceOf(m, nil)
	if p.Permanent != 45 || p.Transient != 9 || p.Unknown != 2 || p.PermanentClasses != 1 || len(p.PermanentIDs) != 45 {
		t.Fatalf("permanence %+v", p)
	}
	want := "45 of 56 failed with a permanent error (XML syntax error at line <n>, column <n>: unexpected EOF): a redrive will fail again"
	if got := p.Text(len(m.Items)); got != want {
		t.Fatalf("text\n got %q\nwant %q", got, want)
	}
	if got := (redrive.Permanence{Transient: 3}).Text(3); got != "" {
		t.Fatalf("no permanent errors, line %q", got)
	}
	// Configured patterns count: "account closed" becomes permanent too.
	env := envWith(`account closed`)
	r, err := failclass.RulesFor(env)
	if err != nil {
		t.Fatal(err)
	}
	p2 := redrive.PermanenceOf(m, r)
	if p2.Permanent != 46 || p2.PermanentClasses != 2 || !strings.Contains(p2.Text(56), "and 1 more class)") {
		t.Fatalf("configured: %+v %q", p2, p2.Text(56))
	}
}

func TestSkipPermanent(t *testing.T) {
	m := permanenceManifest()
	before := m.Hash()
	n := redrive.SkipPermanent(m, redrive.PermanenceOf(m, nil))
	if n != 45 || len(m.Items) != 11 {
		t.Fatalf("skipped %d, %d left", n, len(m.Items))
	}
	for _, it := range m.Items {
		if strings.HasPrefix(it.RequestID, "x") {
			t.Fatalf("%s kept", it.RequestID)
		}
	}
	if m.Hash() == before {
		t.Fatal("the hash does not cover the skip")
	}
	if redrive.SkipPermanent(m, redrive.PermanenceOf(m, nil)) != 0 {
		t.Fatal("a second skip took more")
	}
}

func TestVerdictsByClass(t *testing.T) {
	targets := []redrive.VerdictTarget{
		{Origin: "a", ReadID: "a", Base: redrive.StatusRead{Found: true, State: "FAILED", UpdatedAt: t0, Error: "XML syntax error at line 3, column 1: unexpected EOF"}},
		{Origin: "b", ReadID: "b", Base: redrive.StatusRead{Found: true, State: "FAILED", UpdatedAt: t0, Error: "XML syntax error at line 9, column 2: unexpected EOF"}},
		{Origin: "c", ReadID: "c", Base: redrive.StatusRead{Found: true, State: "FAILED", UpdatedAt: t0, Error: "dial tcp 10.0.0.1:443: i/o timeout"}},
		{Origin: "d", ReadID: "d", Base: redrive.StatusRead{Found: false}},
	}
	v := redrive.NewVerdicts(targets, envWith())
	later := t0.Add(time.Minute)
	v.Absorb([]string{"a", "b", "c", "d"}, map[string]awsclient.Status{
		"a": {State: "FAILED", UpdatedAt: later, Error: "XML syntax error at line 3, column 1: unexpected EOF"},
		"b": {State: "FAILED", UpdatedAt: later, Error: "XML syntax error at line 9, column 2: unexpected EOF"},
		"c": {State: "PROCESSED", UpdatedAt: later},
	})
	cs := v.ByClass(nil)
	if len(cs) != 3 {
		t.Fatalf("%d classes: %+v", len(cs), cs)
	}
	if cs[0].Kind != failclass.Permanent || cs[0].Delivered != 2 || cs[0].Failed != 2 || cs[0].SameError != 2 {
		t.Fatalf("permanent class %+v", cs[0])
	}
	got := cs[0].Text("PROCESSED")
	if got != "XML syntax error at line <n>, column <n>: unexpected EOF (permanent): 2 delivered → 0 PROCESSED, 2 FAILED again (same error), 0 no verdict yet" {
		t.Fatalf("text %q", got)
	}
	for _, c := range cs[1:] {
		switch c.Key {
		case "dial tcp <host>: i/o timeout":
			if c.Kind != failclass.Transient || c.Processed != 1 {
				t.Fatalf("transient class %+v", c)
			}
		case "":
			if c.Waiting != 1 || !strings.HasPrefix(c.Text("PROCESSED"), "no error recorded (unknown): 1 delivered") {
				t.Fatalf("no-error class %+v %q", c, c.Text("PROCESSED"))
			}
		default:
			t.Fatalf("class %q", c.Key)
		}
	}
}

func TestRequestHistoryFromEveryJournal(t *testing.T) {
	state := t.TempDir()
	dir := filepath.Join(state, "redrives")
	elsewhere := filepath.Join(t.TempDir(), "mine.journal.jsonl")

	write := func(path, run, env string, at time.Time, ids []string, recs ...redrive.Record) {
		t.Helper()
		m := &redrive.Manifest{Version: redrive.ManifestVersion, RunID: run, Env: env, Mode: redrive.ModeInplace, PlannedAt: at}
		for _, id := range ids {
			m.Items = append(m.Items, redrive.Item{RequestID: id, Key: id, Status: "FAILED"})
		}
		j, err := redrive.CreateJournal(path, m)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range recs {
			if err := j.Append(r); err != nil {
				t.Fatal(err)
			}
		}
		j.Close()
	}
	write(filepath.Join(dir, "b.journal.jsonl"), "run-b", "demo", t0.Add(time.Hour), []string{"req-1", "req-2"},
		redrive.Record{Type: redrive.RecSending, At: t0.Add(time.Hour), ID: "req-1", Attempt: 1},
		redrive.Record{Type: redrive.RecDelivered, At: t0.Add(time.Hour + time.Second), ID: "req-1", Attempt: 1, HTTPStatus: 200})
	write(filepath.Join(dir, "a.journal.jsonl"), "run-a", "demo", t0, []string{"req-1"},
		redrive.Record{Type: redrive.RecSending, At: t0, ID: "req-1", Attempt: 1},
		redrive.Record{Type: redrive.RecFailed, At: t0.Add(time.Second), ID: "req-1", Attempt: 1, Reason: "HTTP 500"})
	write(filepath.Join(dir, "c.journal.jsonl"), "run-c", "prod", t0.Add(2*time.Hour), []string{"req-1"})
	write(filepath.Join(dir, "d.journal.jsonl"), "run-d", "demo", t0.Add(3*time.Hour), []string{"req-10"}) // not req-1
	write(elsewhere, "run-e", "demo", t0.Add(4*time.Hour), []string{"req-1"})
	if err := os.WriteFile(filepath.Join(dir, "broken.journal.jsonl"), []byte(`{"id":"req-1"} not a journal`+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	audit := filepath.Join(state, "audit.jsonl")
	for _, e := range []redrive.AuditEntry{{RunID: "run-a", Who: "arn:aws:iam::1:user/alice"}, {RunID: "run-e", Who: "bob", Journal: elsewhere}} {
		if err := redrive.AppendAudit(audit, e); err != nil {
			t.Fatal(err)
		}
	}

	runs, err := redrive.RequestHistory(dir, "demo", "req-1")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range runs {
		got = append(got, r.RunID+":"+r.Outcome+":"+r.Operator+":"+r.Error)
	}
	want := "run-a:failed:arn:aws:iam::1:user/alice:HTTP 500 run-b:delivered:: run-e:pending:bob:"
	if strings.Join(got, " ") != want {
		t.Fatalf("history\n got %s\nwant %s", strings.Join(got, " "), want)
	}
	if !runs[1].At.Equal(t0.Add(time.Hour+time.Second)) || runs[1].Attempts != 1 || runs[2].Journal != elsewhere {
		t.Fatalf("run details %+v", runs)
	}
	all, _ := redrive.RequestHistory(dir, "", "req-1")
	if len(all) != 4 {
		t.Fatalf("every environment: %d runs, want 4", len(all))
	}
	none, err := redrive.RequestHistory(filepath.Join(t.TempDir(), "redrives"), "", "req-1")
	if err != nil || len(none) != 0 {
		t.Fatalf("no directory: %v %v", none, err)
	}
}

// envWith is an environment with defaults and these status.permanent_errors.
func envWith(permanent ...string) *config.Env {
	e := &config.Env{}
	e.Status.PermanentErrors = permanent
	e.ApplyDefaults()
	return e
}
