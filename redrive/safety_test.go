package redrive

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stowage-cli/stowage/awsclient"
)

// A reupload whose outcome is unknown is never sent again: the gateway may have stored it
// under a new request ID, and the old ID's status cannot say. The item ends unknown with a
// reason that says what to check, and the run is not a success.
func TestReuploadNeverResendsAnAttemptWhoseOutcomeIsUnknown(t *testing.T) {
	for name, fail := range map[string]func() (int, error){
		"lost connection": func() (int, error) { return 0, lostConnection() },
		"502":             func() (int, error) { return 502, nil },
		"500":             func() (int, error) { return 500, nil },
	} {
		t.Run(name, func(t *testing.T) {
			f := newFixture(t, 2)
			f.sender.script = func(id string, n int) (int, error) {
				if id == "req-000" {
					return fail()
				}
				return 200, nil
			}
			r, _ := New(f.deps(), f.plan(t, ModeReupload), f.opts())
			rep := runToEnd(t, r)
			if got := f.sender.attemptsOf("req-000"); got != 1 {
				t.Errorf("req-000 sent %d times, want once", got)
			}
			it := rep.Items[0]
			if it.State != StateUnknown || !strings.Contains(it.Error, UnknownReuploadReason) {
				t.Errorf("req-000: %+v, want unknown: %q", it, UnknownReuploadReason)
			}
			if rep.Outcome != OutcomeFailed || rep.Counts.Unknown != 1 || rep.Counts.Delivered != 1 {
				t.Errorf("outcome %s %s", rep.Outcome, rep.Counts)
			}
			st, err := LoadJournal(r.JournalPath())
			if err != nil {
				t.Fatal(err)
			}
			if tr := st.Items["req-000"]; tr.State != StateUnknown || !strings.Contains(tr.Reason, UnknownReuploadReason) {
				t.Errorf("journal says %+v", tr)
			}
		})
	}
}

// --resume of a reupload does not resend what was in flight or unknown.
func TestReuploadResumeReportsInFlightAndUnknownItemsWithoutSending(t *testing.T) {
	f := newFixture(t, 3)
	m := f.plan(t, ModeReupload)
	path := filepath.Join(f.dir, "killed.journal.jsonl")
	journalFor(t, path, m,
		Record{Type: RecSending, ID: "req-000", Attempt: 1},
		Record{Type: RecSending, ID: "req-001", Attempt: 1},
		Record{Type: RecUnknown, ID: "req-001", Attempt: 1, Reason: "connection reset"},
	)
	st, err := LoadJournal(path)
	if err != nil {
		t.Fatal(err)
	}
	r, err := Resume(f.deps(), st, f.opts())
	if err != nil {
		t.Fatal(err)
	}
	rep := runToEnd(t, r)
	for id, want := range map[string]int{"req-000": 0, "req-001": 0, "req-002": 1} {
		if got := f.sender.attemptsOf(id); got != want {
			t.Errorf("%s sent %d times on resume, want %d", id, got, want)
		}
	}
	for _, it := range rep.Items[:2] {
		if it.State != StateUnknown || !strings.Contains(it.Error, UnknownReuploadReason) {
			t.Errorf("%s: %+v, want unknown", it.RequestID, it)
		}
	}
	if rep.Outcome != OutcomeFailed {
		t.Errorf("outcome %s", rep.Outcome)
	}
}

// An attempt lost in flight whose request the processor handled and FAILED again is
// delivered: any change of the status since the read before the send proves it. Only an
// unchanged status leads to a resend.
func TestInplaceUnknownAttemptConfirmedByAnyStatusChange(t *testing.T) {
	f := newFixture(t, 2)
	f.sender.script = func(id string, n int) (int, error) {
		if n == 1 {
			if id == "req-000" {
				f.status.bump(id) // processed, failed again: still FAILED, one more attempt
			}
			return 0, lostConnection()
		}
		return 200, nil
	}
	f.sender.status = nil
	r, _ := New(f.deps(), f.plan(t, ModeInplace), f.opts())
	rep := runToEnd(t, r)
	if got := f.sender.attemptsOf("req-000"); got != 1 {
		t.Errorf("req-000 (delivered, failed again) sent %d times, want once", got)
	}
	if it := rep.Items[0]; it.State != StateDelivered || !strings.Contains(it.Note, "confirmed by status change") {
		t.Errorf("req-000: %+v", it)
	}
	if got := f.sender.attemptsOf("req-001"); got != 2 {
		t.Errorf("req-001 (status unchanged) sent %d times, want 2", got)
	}
	var sawPreSend bool
	for _, rec := range readRecords(t, r.JournalPath()) {
		if rec.Type == RecSending && rec.PreSend != nil && rec.PreSend.Found && rec.PreSend.State == "FAILED" {
			sawPreSend = true
		}
	}
	if !sawPreSend {
		t.Error("no sending record carries the pre-send status fingerprint")
	}
}

// Items refused before anything left (changed since planning) are journaled failed with
// no sending record and do not trip the circuit breaker.
func TestPreSendRefusalsAreNotJournaledSendingAndSpareTheBreaker(t *testing.T) {
	f := newFixture(t, 40)
	m := f.plan(t, ModeInplace)
	m.Concurrency = 1
	for _, id := range f.ids[:30] {
		f.store.put(id, []byte("changed"), "text/plain")
	}
	r, _ := New(f.deps(), m, f.opts())
	rep := runToEnd(t, r)
	if rep.Outcome == OutcomeTripped {
		t.Fatalf("the breaker tripped on refusals that sent nothing: %s", rep.StopReason)
	}
	if rep.Counts.Failed != 30 || rep.Counts.Delivered != 10 {
		t.Errorf("counts %s", rep.Counts)
	}
	for _, rec := range readRecords(t, r.JournalPath()) {
		if rec.Type == RecSending && rec.ID < "req-030" {
			t.Errorf("%s journaled sending though it was refused before sending", rec.ID)
		}
	}
	for _, it := range rep.Items[:30] {
		if it.Attempts != 0 || !strings.Contains(it.Error, "changed since planning") {
			t.Errorf("%+v", it)
		}
	}
}

// An access-denied answer stops the run at once: every later request would be refused
// the same way.
func TestAccessDeniedStopsTheRunAtOnce(t *testing.T) {
	for name, fail := range map[string]func() (int, error){
		"403": func() (int, error) { return 403, nil },
		"expired credentials": func() (int, error) {
			return 0, &awsclient.Error{Kind: awsclient.KindExpiredCredentials, Op: "send", Message: "token expired", Err: awsclient.ErrNotSent}
		},
	} {
		t.Run(name, func(t *testing.T) {
			f := newFixture(t, 30)
			f.sender.script = func(string, int) (int, error) { return fail() }
			m := f.plan(t, ModeInplace)
			m.Concurrency = 1
			r, _ := New(f.deps(), m, f.opts())
			rep := runToEnd(t, r)
			if rep.Outcome != OutcomeError || !strings.Contains(rep.StopReason, "access denied") {
				t.Fatalf("outcome %s (%s)", rep.Outcome, rep.StopReason)
			}
			if rep.Counts.Failed != 1 || rep.Counts.Pending != 29 {
				t.Errorf("counts %s: want 1 failed, the rest not sent", rep.Counts)
			}
		})
	}
}

// The measured rate is not reported until the run has run a whole window, so the first
// send (or burst) does not read as "20/s (limit 10/s)"; then it is the windowed rate.
func TestProgressRateIsMeasuredOverAWindowNotTheStartBurst(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFixture(t, 60)
		m := f.plan(t, ModeInplace)
		m.Rate, m.Concurrency = 10, 8
		opts := f.opts()
		opts.ProgressInterval = time.Second
		r, _ := New(f.deps(), m, opts)
		r.Start(context.Background())
		time.Sleep(50 * time.Millisecond)
		if p := r.Snapshot(); p.RateMeasured || p.Rate != 0 {
			t.Errorf("after 50ms: rate %.1f/s (measured %v), want none yet", p.Rate, p.RateMeasured)
		}
		time.Sleep(3 * time.Second)
		if p := r.Snapshot(); !p.RateMeasured || p.Rate < 9 || p.Rate > 11 {
			t.Errorf("after 3s at 10/s: rate %.1f/s (measured %v), want about 10", p.Rate, p.RateMeasured)
		}
		r.Cancel()
		r.Wait()
	})
}

// Lowering the rate mid-run starts a new measurement: the window still holds sends at the
// old rate, which read as "4.0/s (limit 2/s)" on screen until they aged out.
func TestProgressRateIsMeasuredAgainAfterTheRateChanges(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFixture(t, 200)
		m := f.plan(t, ModeInplace)
		m.Rate, m.Concurrency = 20, 8
		opts := f.opts()
		opts.ProgressInterval = time.Second
		r, _ := New(f.deps(), m, opts)
		r.Start(context.Background())
		time.Sleep(3 * time.Second)
		r.SetRate(2)
		time.Sleep(500 * time.Millisecond)
		if p := r.Snapshot(); p.RateMeasured && p.Rate > p.TargetRate*1.5 {
			t.Errorf("just after lowering the limit to 2/s: rate %.1f/s reported, want none until a new window has passed", p.Rate)
		}
		time.Sleep(3 * time.Second)
		if p := r.Snapshot(); !p.RateMeasured || p.Rate > 3 {
			t.Errorf("3s after lowering the limit to 2/s: rate %.1f/s (measured %v), want about 2", p.Rate, p.RateMeasured)
		}
		r.Cancel()
		r.Wait()
	})
}
