package redrive_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stowage-cli/stowage/awsclient"
	"github.com/stowage-cli/stowage/internal/config"
	"github.com/stowage-cli/stowage/internal/devstack"
	"github.com/stowage-cli/stowage/redrive"
)

// statusTable is the status table as WaitVerdicts reads it; rounds[n] is what the nth
// BatchGet round sees (the last one stays).
type statusTable struct {
	rounds []map[string]awsclient.Status
	calls  int
	batch  []int // sizes of the calls
	err    error
}

func (s *statusTable) BatchGet(_ context.Context, ids []string) (map[string]awsclient.Status, error) {
	s.batch = append(s.batch, len(ids))
	if s.err != nil {
		return nil, s.err
	}
	r := s.rounds[min(s.calls, len(s.rounds)-1)]
	s.calls++
	out := map[string]awsclient.Status{}
	for _, id := range ids {
		if st, ok := r[id]; ok {
			out[id] = st
		}
	}
	return out, nil
}

// steppedClock is a clock that moves only when slept on.
type steppedClock struct{ t time.Time }

func (c *steppedClock) now() time.Time { return c.t }
func (c *steppedClock) sleep(_ context.Context, d time.Duration) error {
	c.t = c.t.Add(d)
	return nil
}

var t0 = time.Date(2026, 3, 1, 3, 0, 0, 0, time.UTC)

func deliveredReport(mode redrive.Mode, items ...redrive.ItemResult) *redrive.Report {
	rep := &redrive.Report{Mode: mode}
	for _, it := range items {
		if it.State == "" {
			it.State = redrive.StateDelivered
		}
		rep.Items = append(rep.Items, it)
	}
	return rep
}

func failedBefore(errText string) *redrive.StatusRead {
	return &redrive.StatusRead{Found: true, State: "FAILED", Attempts: 1, UpdatedAt: t0, Error: errText}
}

func TestVerdictOnlyCountsAStatusWrittenSinceTheSend(t *testing.T) {
	env := &config.Env{Status: config.Status{TerminalStates: []string{"PROCESSED"}}}
	rep := deliveredReport(redrive.ModeInplace,
		redrive.ItemResult{RequestID: "a", PreSend: failedBefore("bad JSON")},
		redrive.ItemResult{RequestID: "b", PreSend: failedBefore("bad JSON")},
		redrive.ItemResult{RequestID: "c", PreSend: failedBefore("bad JSON")},
		redrive.ItemResult{RequestID: "d", PreSend: failedBefore("bad JSON")},
		redrive.ItemResult{RequestID: "e", PreSend: failedBefore("old"), State: redrive.StateFailed}, // never sent: not followed
	)
	later := t0.Add(time.Minute)
	table := &statusTable{rounds: []map[string]awsclient.Status{{
		"a": {State: "PROCESSED", Attempts: 2, UpdatedAt: later},
		"b": {State: "FAILED", Attempts: 2, UpdatedAt: later, Error: "bad JSON"},
		"c": {State: "FAILED", Attempts: 1, UpdatedAt: t0, Error: "bad JSON"}, // the old item: no verdict
		"d": {State: "PROCESSING", Attempts: 2, UpdatedAt: later},             // still with the processor
	}}}
	v := redrive.NewVerdicts(redrive.VerdictTargets(rep, nil), env)
	clk := &steppedClock{t: t0}
	var rounds int
	out, err := redrive.WaitVerdicts(context.Background(), table, v, redrive.WaitOptions{Env: env, Wait: 5 * time.Second,
		Now: clk.now, Sleep: clk.sleep, Progress: func(redrive.VerdictOutcome) { rounds++ }})
	if err != nil {
		t.Fatal(err)
	}
	want := redrive.VerdictOutcome{Delivered: 4, Processed: 1, Failed: 1, SameError: 1, Waiting: 2}
	if out != want {
		t.Fatalf("outcome %+v, want %+v", out, want)
	}
	if got := out.String(); got != "4 delivered → 1 PROCESSED, 1 FAILED again (same error), 2 no verdict yet" {
		t.Errorf("outcome text %q", got)
	}
	if rounds != 6 || clk.t.Sub(t0) != 5*time.Second {
		t.Errorf("%d rounds over %s, want 6 over the 5s wait", rounds, clk.t.Sub(t0))
	}
	v.Apply(rep)
	if rep.Items[1].Verdict == nil || rep.Items[1].Verdict.Kind != redrive.VerdictFailed || !rep.Items[1].Verdict.SameError {
		t.Errorf("b's verdict %+v", rep.Items[1].Verdict)
	}
	if rep.Items[4].Verdict != nil {
		t.Errorf("an unsent item got a verdict %+v", rep.Items[4].Verdict)
	}
}

func TestVerdictReuploadIsReadUnderItsNewID(t *testing.T) {
	rep := deliveredReport(redrive.ModeReupload,
		redrive.ItemResult{RequestID: "old", NewRequestID: "new", PreSend: failedBefore("bad JSON")},
		redrive.ItemResult{RequestID: "lost-id"}, // no new ID: cannot be followed
	)
	table := &statusTable{rounds: []map[string]awsclient.Status{
		{"old": {State: "PROCESSED"}},
		{"new": {State: "FAILED", Error: "other"}},
	}}
	v := redrive.NewVerdicts(redrive.VerdictTargets(rep, nil), nil)
	clk := &steppedClock{t: t0}
	out, err := redrive.WaitVerdicts(context.Background(), table, v, redrive.WaitOptions{Wait: time.Minute, Now: clk.now, Sleep: clk.sleep})
	if err != nil {
		t.Fatal(err)
	}
	if want := (redrive.VerdictOutcome{Delivered: 1, Failed: 1}); out != want {
		t.Fatalf("outcome %+v, want %+v", out, want)
	}
	if got := out.String(); got != "1 delivered → 0 PROCESSED, 1 FAILED again, 0 no verdict yet" {
		t.Errorf("outcome text %q", got)
	}
	if clk.t.Sub(t0) != time.Second {
		t.Errorf("waited %s after the last verdict, want one interval", clk.t.Sub(t0))
	}
}

func TestVerdictWithOnlyThePlannedStateNeedsAChangeOfState(t *testing.T) {
	rep := deliveredReport(redrive.ModeInplace, redrive.ItemResult{RequestID: "a"}, redrive.ItemResult{RequestID: "b"})
	m := &redrive.Manifest{Items: []redrive.Item{{RequestID: "a", Status: "FAILED"}, {RequestID: "b", Status: ""}}}
	v := redrive.NewVerdicts(redrive.VerdictTargets(rep, m), nil)
	v.Absorb([]string{"a", "b"}, map[string]awsclient.Status{"a": {State: "FAILED", Attempts: 9}, "b": {State: "FAILED"}})
	if out := v.Outcome(); out.Failed != 1 || out.Waiting != 1 {
		t.Fatalf("outcome %+v: a (FAILED before, FAILED now) cannot be told apart; b's new item can", out)
	}
}

func TestVerdictWaitReadsInBatchesOfAHundredAndReportsAFailedRead(t *testing.T) {
	var items []redrive.ItemResult
	for i := range 250 {
		items = append(items, redrive.ItemResult{RequestID: string(rune('a'+i/26)) + string(rune('a'+i%26)), PreSend: failedBefore("x")})
	}
	table := &statusTable{rounds: []map[string]awsclient.Status{{}}}
	v := redrive.NewVerdicts(redrive.VerdictTargets(deliveredReport(redrive.ModeInplace, items...), nil), nil)
	clk := &steppedClock{t: t0}
	if _, err := redrive.WaitVerdicts(context.Background(), table, v, redrive.WaitOptions{Wait: 0, Now: clk.now, Sleep: clk.sleep}); err != nil {
		t.Fatal(err)
	}
	if len(table.batch) != 3 || table.batch[0] != 100 || table.batch[2] != 50 {
		t.Errorf("batches %v, want 100, 100, 50 in one round", table.batch)
	}
	table.err = errors.New("ThrottlingException")
	out, err := redrive.WaitVerdicts(context.Background(), table, v, redrive.WaitOptions{Wait: 3 * time.Second, Now: clk.now, Sleep: clk.sleep})
	if err == nil || out.Waiting != 250 {
		t.Fatalf("a table that cannot be read: %+v, %v", out, err)
	}
}

// On the devstack, a parse error redriven in place fails again with the same error and a
// transient failure is processed: the outcome says so.
func TestVerdictOnTheDevstack(t *testing.T) {
	d := startDev(t, devOptions{stack: devstack.Options{Seed: 11, Requests: 120, TransientRatio: 0.3, LostRatio: -1}})
	parse := d.failed(t, "parse", 2)
	transient := d.failed(t, "transient", 2)
	if len(parse) < 2 || len(transient) < 2 {
		t.Fatalf("seeded %d parse and %d transient failures", len(parse), len(transient))
	}
	m := d.plan(t, redrive.ModeInplace, redrive.Selection{IDs: append(append([]string{}, parse...), transient...)})
	rep := d.run(t, m, d.options("verdict"))
	if rep.Outcome != redrive.OutcomeDelivered {
		t.Fatalf("outcome %s", rep.Outcome)
	}
	v := redrive.NewVerdicts(redrive.VerdictTargets(rep, m), d.env)
	out, err := redrive.WaitVerdicts(context.Background(), d.clients.Statuses, v, redrive.WaitOptions{Env: d.env, Wait: time.Minute, Interval: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if want := (redrive.VerdictOutcome{Delivered: 4, Processed: 2, Failed: 2, SameError: 2}); out != want {
		t.Fatalf("outcome %+v, want %+v", out, want)
	}
	for _, id := range parse {
		if vd, _ := v.Of(id); vd.Kind != redrive.VerdictFailed || !vd.SameError {
			t.Errorf("%s: %+v, want failed again with the same error", id, vd)
		}
	}
}
