package redrive

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stowage-cli/stowage/awsclient"
)

// stepRun is a run of one FAILED request, journaling, not started: each test drives one
// transition by hand.
func stepRun(t *testing.T, mode Mode, edit func(f *fixture, o *Options)) (*fixture, *Run, *itemWork) {
	t.Helper()
	f := newFixture(t, 1)
	o := f.opts()
	o.MaxAttempts = 3
	o.UnknownSettle = 7 * time.Millisecond
	if edit != nil {
		edit(f, &o)
	}
	m := f.plan(t, mode)
	r, err := New(f.deps(), m, o)
	if err != nil {
		t.Fatal(err)
	}
	if r.journal, err = CreateJournal(o.JournalPath, m); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.journal.Close() })
	ctx := context.Background()
	return f, r, &itemWork{it: m.Items[0], ctx: ctx, sendCtx: ctx, try: 1}
}

func TestItemTransitions(t *testing.T) {
	throttled := func(string, int) (int, error) { return 429, nil }
	lost := func(string, int) (int, error) { return 0, lostConnection() }
	cases := []struct {
		name  string
		mode  Mode
		edit  func(f *fixture, o *Options)
		setup func(t *testing.T, f *fixture, r *Run, w *itemWork) // before the step
		from  step
		want  step
		state ItemState // the item's state after the step
		check func(t *testing.T, f *fixture, r *Run, w *itemWork)
	}{
		{name: "too large fails unsent", from: stepStart, want: stepDone, state: StateFailed,
			setup: func(t *testing.T, f *fixture, r *Run, w *itemWork) { w.it.Size = MaxGatewayPayload + 1 }},
		{name: "a fresh item is checked", from: stepStart, want: stepCheck, state: StatePending},
		{name: "a resumed item that may have been sent settles first", from: stepStart, want: stepSettle, state: StateSending,
			setup: func(t *testing.T, f *fixture, r *Run, w *itemWork) { r.items[w.it.RequestID].State = StateSending }},
		{name: "a reupload that may have arrived is left unknown", mode: ModeReupload, from: stepStart, want: stepDone, state: StateUnknown,
			setup: func(t *testing.T, f *fixture, r *Run, w *itemWork) { r.items[w.it.RequestID].State = StateUnknown }},
		{name: "settled items are checked", from: stepSettle, want: stepCheck, state: StatePending},
		{name: "a processed item is skipped", from: stepCheck, want: stepDone, state: StateSkipped,
			setup: func(t *testing.T, f *fixture, r *Run, w *itemWork) { f.status.set(w.it.RequestID, "PROCESSED") }},
		{name: "a failed item goes for a token", from: stepCheck, want: stepToken, state: StatePending},
		{name: "a safe retry does not read the status again", from: stepCheck, want: stepToken, state: StatePending,
			setup: func(t *testing.T, f *fixture, r *Run, w *itemWork) { w.try = 2 },
			check: func(t *testing.T, f *fixture, r *Run, w *itemWork) {
				if n := f.status.getsFor(w.it.RequestID); n != 0 {
					t.Errorf("%d status reads", n)
				}
			}},
		{name: "an unreadable status fails the item", from: stepCheck, want: stepDone, state: StateFailed,
			setup: func(t *testing.T, f *fixture, r *Run, w *itemWork) {
				f.status.getErr = &awsclient.Error{Kind: awsclient.KindAccessDenied, Op: "get"}
			}},
		{name: "a token leads to the claim", from: stepToken, want: stepClaim, state: StatePending},
		{name: "without a lease table the claim passes", from: stepClaim, want: stepPrepare, state: StatePending},
		{name: "a held claim skips", from: stepClaim, want: stepDone, state: StateSkipped,
			setup: func(t *testing.T, f *fixture, r *Run, w *itemWork) {
				l := newMemLeases()
				l.claims[w.it.RequestID] = awsclient.Claim{RunID: "other", Expires: time.Now().Add(time.Hour)}
				r.deps.Leases = l
			}},
		{name: "a granted claim has the body opened beside it", from: stepClaim, want: stepPrepare, state: StatePending,
			setup: func(t *testing.T, f *fixture, r *Run, w *itemWork) { r.deps.Leases = newMemLeases() },
			check: func(t *testing.T, f *fixture, r *Run, w *itemWork) {
				if w.opening == nil {
					t.Fatal("the GET did not run beside the claim")
				}
				if p := <-w.opening; p.pre != nil || p.body == nil {
					t.Errorf("prepared %+v", p)
				} else {
					p.body.Close()
				}
				w.abort()
			}},
		{name: "a held claim closes the body opened beside it", from: stepClaim, want: stepDone, state: StateSkipped,
			setup: func(t *testing.T, f *fixture, r *Run, w *itemWork) {
				l := newMemLeases()
				l.claims[w.it.RequestID] = awsclient.Claim{RunID: "other", Expires: time.Now().Add(time.Hour)}
				r.deps.Leases = l
			},
			check: func(t *testing.T, f *fixture, r *Run, w *itemWork) {
				if w.opening != nil {
					t.Error("the body opened beside a refused claim was left for prepare")
				}
				if n := f.sender.attemptsOf(w.it.RequestID); n != 0 {
					t.Errorf("sent %d times", n)
				}
			}},
		{name: "a changed object fails unsent", from: stepPrepare, want: stepDone, state: StateFailed,
			setup: func(t *testing.T, f *fixture, r *Run, w *itemWork) { w.it.ETag = "planned-etag" },
			check: func(t *testing.T, f *fixture, r *Run, w *itemWork) {
				if f.sender.attemptsOf(w.it.RequestID) != 0 || r.unsent != 1 {
					t.Error("sent, or counted by the breaker")
				}
			}},
		{name: "a checked object waits for a slot", from: stepPrepare, want: stepSlot, state: StatePending,
			check: func(t *testing.T, f *fixture, r *Run, w *itemWork) {
				if w.body == nil {
					t.Fatal("no body")
				}
				w.body.Close()
				w.abort()
			}},
		{name: "a slot leads to the send", from: stepSlot, want: stepSend, state: StatePending,
			setup: func(t *testing.T, f *fixture, r *Run, w *itemWork) {
				w.checked, w.checkedAt = true, r.now()
				w.actx, w.abort = context.WithCancel(context.Background())
			},
			check: func(t *testing.T, f *fixture, r *Run, w *itemWork) {
				if !w.slot || r.gate.InUse() != 1 {
					t.Errorf("slot %v, %d in use", w.slot, r.gate.InUse())
				}
				if n := f.status.getsFor(w.it.RequestID); n != 0 {
					t.Errorf("a fresh read was read again (%d reads)", n)
				}
				w.releaseSlot(r)
				w.abort()
			}},
		{name: "a read gone stale while waiting for the slot is read again", from: stepSlot, want: stepDone, state: StateSkipped,
			setup: func(t *testing.T, f *fixture, r *Run, w *itemWork) {
				w.checked, w.checkedAt = true, r.now().Add(-RecheckAfterWait-time.Millisecond)
				w.actx, w.abort = context.WithCancel(context.Background())
				f.status.set(w.it.RequestID, "PROCESSED") // processed while the item waited
			},
			check: func(t *testing.T, f *fixture, r *Run, w *itemWork) {
				if w.slot || r.gate.InUse() != 0 {
					t.Errorf("slot %v, %d in use after the skip", w.slot, r.gate.InUse())
				}
				if n := f.sender.attemptsOf(w.it.RequestID); n != 0 {
					t.Errorf("sent %d times", n)
				}
			}},
		{name: "delivered", from: stepSend, want: stepDone, state: StateDelivered},
		{name: "throttled backs off", from: stepSend, want: stepBackoff, state: StateRetrying,
			edit: func(f *fixture, o *Options) { f.sender.script = throttled }},
		{name: "throttled on the last try gives up", from: stepSend, want: stepDone, state: StateFailed,
			edit:  func(f *fixture, o *Options) { f.sender.script = throttled },
			setup: func(t *testing.T, f *fixture, r *Run, w *itemWork) { w.try = 3 },
			check: func(t *testing.T, f *fixture, r *Run, w *itemWork) {
				if e := r.items[w.it.RequestID].Error; !strings.HasPrefix(e, "gave up after 3 attempts") {
					t.Errorf("error %q", e)
				}
			}},
		{name: "a lost connection in place waits out the settle", from: stepSend, want: stepBackoff, state: StateUnknown,
			edit: func(f *fixture, o *Options) { f.sender.script = lost },
			check: func(t *testing.T, f *fixture, r *Run, w *itemWork) {
				if !w.maybeSent || w.wait < 7*time.Millisecond {
					t.Errorf("maybeSent %v, wait %v", w.maybeSent, w.wait)
				}
			}},
		{name: "a lost connection on the last try looks once more", from: stepSend, want: stepLastLook, state: StateUnknown,
			edit:  func(f *fixture, o *Options) { f.sender.script = lost },
			setup: func(t *testing.T, f *fixture, r *Run, w *itemWork) { w.try = 3 }},
		{name: "a lost reupload is left unknown", mode: ModeReupload, from: stepSend, want: stepDone, state: StateUnknown,
			edit: func(f *fixture, o *Options) { f.sender.script = lost }},
		{name: "a backoff is another try", from: stepBackoff, want: stepCheck, state: StatePending,
			check: func(t *testing.T, f *fixture, r *Run, w *itemWork) {
				if w.try != 2 {
					t.Errorf("try %d", w.try)
				}
			}},
		{name: "a backoff cut by the run stopping ends", from: stepBackoff, want: stepDone, state: StatePending,
			setup: func(t *testing.T, f *fixture, r *Run, w *itemWork) {
				ctx, cancel := context.WithCancel(context.Background())
				cancel()
				w.ctx, w.wait = ctx, time.Hour
			}},
		{name: "the last look confirms a changed status", from: stepLastLook, want: stepDone, state: StateDelivered,
			setup: func(t *testing.T, f *fixture, r *Run, w *itemWork) {
				r.baseline[w.it.RequestID] = &StatusRead{Found: true, State: "FAILED", UpdatedAt: fakeUpdatedAt}
				f.status.bump(w.it.RequestID)
				w.maybeSent, w.try = true, 3
			}},
		{name: "the last look without a change gives up", from: stepLastLook, want: stepDone, state: StateFailed,
			setup: func(t *testing.T, f *fixture, r *Run, w *itemWork) {
				r.baseline[w.it.RequestID] = &StatusRead{Found: true, State: "FAILED", UpdatedAt: fakeUpdatedAt}
				w.maybeSent, w.try, w.last = true, 3, attemptResult{reason: "connection reset"}
			},
			check: func(t *testing.T, f *fixture, r *Run, w *itemWork) {
				if e := r.items[w.it.RequestID].Error; !strings.Contains(e, "may have been delivered") {
					t.Errorf("error %q", e)
				}
			}},
	}
	for _, c := range cases {
		t.Run(c.from.String()+"/"+c.name, func(t *testing.T) {
			mode := c.mode
			if mode == "" {
				mode = ModeInplace
			}
			f, r, w := stepRun(t, mode, c.edit)
			if c.setup != nil {
				c.setup(t, f, r, w)
			}
			if c.from == stepSend {
				if got := r.onPrepare(w); got != stepSlot {
					t.Fatalf("prepare → %s", got)
				}
				if got := r.onSlot(w); got != stepSend {
					t.Fatalf("slot → %s", got)
				}
			}
			got := itemSteps[c.from](r, w)
			if got != c.want {
				t.Errorf("%s → %s, want %s", c.from, got, c.want)
			}
			if s := r.items[w.it.RequestID].State; s != c.state {
				t.Errorf("state %s, want %s", s, c.state)
			}
			if c.check != nil {
				c.check(t, f, r, w)
			}
		})
	}
}

// Every step but done has a transition.
func TestEveryStepHasATransition(t *testing.T) {
	for s := stepStart; s < stepDone; s++ {
		if int(s) >= len(itemSteps) || itemSteps[s] == nil {
			t.Errorf("step %s has no transition", s)
		}
	}
	if stepDone.String() != "done" || step(99).String() != "step(99)" {
		t.Error("step names")
	}
}
