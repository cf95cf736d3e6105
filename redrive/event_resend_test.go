package redrive

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stowage-cli/stowage/awsclient"
	"github.com/stowage-cli/stowage/internal/config"
)

// killEventRun runs m until the fake target has answered its second call, copies the
// journal as it is on disk at that moment (all a resume after kill -9 sees) and stops
// the process's sending. It returns the copy, read back. gathering waits, before the
// copy, until an item is gathering into the next batch (batched modes).
func killEventRun(t *testing.T, f *fixture, ev *fakeEvents, m *Manifest, d Deps, o Options, gathering bool) *JournalState {
	t.Helper()
	r, err := New(d, m, o)
	if err != nil {
		t.Fatal(err)
	}
	killed := filepath.Join(f.dir, "killed.journal.jsonl")
	release := make(chan struct{})
	var once sync.Once
	ev.afterCall = func(call int) {
		if call != 2 {
			return
		}
		once.Do(func() {
			for gathering {
				r.batcher.mu.Lock()
				n := len(r.batcher.pending)
				r.batcher.mu.Unlock()
				if n > 0 {
					break
				}
				time.Sleep(time.Millisecond)
			}
			raw, err := os.ReadFile(r.JournalPath())
			if err != nil {
				t.Error(err)
			}
			if err := os.WriteFile(killed, raw, 0o600); err != nil {
				t.Error(err)
			}
			ev.mu.Lock()
			ev.dead = true
			ev.mu.Unlock()
			<-release
		})
	}
	if err := r.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	deadline := time.After(10 * time.Second)
	for {
		ev.mu.Lock()
		dead := ev.dead
		ev.mu.Unlock()
		if dead {
			break
		}
		select {
		case <-deadline:
			t.Fatal("the second call never left")
		case <-time.After(time.Millisecond):
		}
	}
	r.Abort()
	close(release)
	r.Wait()
	ev.mu.Lock()
	ev.dead, ev.afterCall = false, nil
	ev.mu.Unlock()
	st, err := LoadJournal(killed)
	if err != nil {
		t.Fatal(err)
	}
	if c := st.Counts(); c.Sending == 0 {
		t.Fatalf("the killed journal has no item in flight: %+v", c)
	}
	return st
}

// A kill -9 while a call is out, then --resume, with a processor that has not consumed
// the accepted messages yet (a backlogged queue, Lambda's async queue, a bus's target
// behind): the status has not changed, which proves nothing. No request gets a second
// message; what the resume cannot tell is left unknown, with the way to finish it.
// (The reviewer's repro: 20 requests got two messages.)
func TestEventResumeWithProcessorBehindSendsNoMessageTwice(t *testing.T) {
	for _, mode := range EventModes {
		t.Run(string(mode), func(t *testing.T) {
			t.Parallel()
			g := newEventRig(t, 40)
			ev := g.ev
			ev.slow = true
			m := g.plan(t, mode)
			m.Concurrency = 1
			st, rep := g.killAndResume(t, m, false)
			if rep.Counts.Delivered+rep.Counts.Unknown != 40 || rep.Counts.Unknown == 0 {
				t.Errorf("after resume: counts %+v, want delivered and unknown only, some unknown", rep.Counts)
			}
			for _, it := range rep.Items {
				n := len(ev.sentTo(it.RequestID))
				if n > 1 {
					t.Errorf("%s (%s at the kill): %d messages", it.RequestID, st.Items[it.RequestID].State, n)
				}
				if n == 0 && it.State != StateUnknown {
					t.Errorf("%s: never sent, but %s", it.RequestID, it.State)
				}
				if it.State == StateUnknown && !strings.Contains(it.Error, "--only unknown") {
					t.Errorf("%s: unknown without the way to finish it: %q", it.RequestID, it.Error)
				}
			}
		})
	}
}

// An answer lost in flight (the entry may have been enqueued) is not followed by a
// second message when the processor has not consumed the first one by the re-check.
func TestEventUnknownOutcomeIsNotSentAgain(t *testing.T) {
	for _, mode := range EventModes {
		t.Run(string(mode), func(t *testing.T) {
			t.Parallel()
			g := newEventRig(t, 12)
			ev := g.ev
			ev.slow = true
			ev.script = func(id string, n int) error {
				if id == "req-004" || id == "req-009" {
					return &awsclient.Error{Kind: awsclient.KindTimeout, Op: "send", Err: awsclient.ErrDeliveryUnknown}
				}
				return nil
			}
			_, rep := g.run(t, g.plan(t, mode))
			if rep.Counts.Delivered != 10 || rep.Counts.Unknown != 2 {
				t.Fatalf("counts %+v", rep.Counts)
			}
			for _, id := range []string{"req-004", "req-009"} {
				if n := len(ev.sentTo(id)); n != 1 {
					t.Errorf("%s: %d messages, want 1", id, n)
				}
			}
		})
	}
}

// A FIFO queue drops a second message with the same deduplication ID within five
// minutes: inside that window an unknown outcome is sent again; past it, it is not.
func TestEventFIFOResendOnlyInsideTheDedupWindow(t *testing.T) {
	g := newEventRig(t, 12)
	ev := g.ev
	ev.slow = true
	var mu sync.Mutex
	skew := time.Duration(0)
	base := time.Now()
	carried := false // the call under way carried req-004's first attempt
	ev.script = func(id string, n int) error {
		if id == "req-004" && n == 1 {
			mu.Lock()
			carried = true
			mu.Unlock()
			return &awsclient.Error{Kind: awsclient.KindTimeout, Op: "send", Err: awsclient.ErrDeliveryUnknown}
		}
		return nil
	}
	ev.afterCall = func(call int) {
		mu.Lock()
		if carried {
			skew = FIFODedupResendWindow + time.Second // req-004's next send is past the window
		}
		mu.Unlock()
	}
	spec := testSpec(ModeSQS)
	spec.QueueURL += ".fifo"
	g.o.Now = func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		return base.Add(skew + time.Since(base))
	}
	_, rep := g.run(t, g.planEvent(t, ModeSQS, spec))
	if rep.Counts.Unknown != 1 || len(ev.sentTo("req-004")) != 1 {
		t.Errorf("past the window: counts %+v, %d messages", rep.Counts, len(ev.sentTo("req-004")))
	}
}

// A batch's call is bounded by its own AttemptTimeout from when it leaves, not by what is
// left of its first item's attempt, which started before the claim and the wait for a
// call slot: behind a slow call that remainder is spent, and the batch was answered not
// sent (or, cut mid-call, unknown: never sent again, by TestEventUnknownOutcomeIsNotSentAgain).
func TestEventBatchCallHasItsOwnTimeout(t *testing.T) {
	g := newEventRig(t, 20)
	ev, o := g.ev, &g.o
	ev.hold = make(chan struct{})
	m := g.plan(t, ModeSQS)
	m.Concurrency = 1
	o.AttemptTimeout = 50 * time.Millisecond
	r := g.newRun(t, m)
	if err := r.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	go func() {
		for {
			// The first call is held past the attempt timeout of the items gathering
			// behind it.
			time.Sleep(4 * o.AttemptTimeout)
			select {
			case ev.hold <- struct{}{}:
			case <-r.Done():
				return
			}
		}
	}()
	rep := r.Wait()
	if rep.Counts.Delivered != 20 {
		t.Fatalf("counts %+v", rep.Counts)
	}
	for _, rec := range readRecords(t, r.JournalPath()) {
		if rec.Type == RecRetrying || rec.Type == RecUnknown {
			t.Errorf("%s: %s %s", rec.ID, rec.Type, rec.Reason)
		}
	}
}

// EventBridge answers events put on a bus that does not exist as taken (FailedEntryCount
// 0, an EventId each) and drops them: the eventbridge mode describes the bus first, and a
// bus that is not there, or that may not be described, stops the run with nothing sent.
func TestEventBridgeChecksTheBusBeforeSending(t *testing.T) {
	for _, c := range []struct {
		name string
		err  error
		want []string
	}{
		{"missing", &awsclient.Error{Kind: awsclient.KindNotFound, Op: "describe-event-bus", Code: "ResourceNotFoundException", Message: "Event bus nope does not exist."},
			[]string{"does not exist", "events:DescribeEventBus", "nothing more is sent"}},
		{"denied", &awsclient.Error{Kind: awsclient.KindAccessDenied, Op: "describe-event-bus", Code: "AccessDeniedException"},
			[]string{"access denied", "events:DescribeEventBus", "nothing was sent"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			g := newEventRig(t, 15)
			ev := g.ev // PutEvents takes everything, as AWS does for a missing bus
			ev.busErr = c.err
			_, rep := g.run(t, g.plan(t, ModeEventBridge))
			if rep.Outcome != OutcomeError || len(ev.callSizes()) != 0 || rep.Counts.Pending != 15 {
				t.Fatalf("outcome %s (%s), %d calls, counts %+v", rep.Outcome, rep.StopReason, len(ev.callSizes()), rep.Counts)
			}
			for _, w := range c.want {
				if !strings.Contains(rep.StopReason, w) {
					t.Errorf("stop reason %q lacks %q", rep.StopReason, w)
				}
			}
		})
	}
	// The other modes do not describe anything; a bus that exists is described once.
	g := newEventRig(t, 3)
	ev := g.ev
	if _, rep := g.run(t, g.plan(t, ModeEventBridge)); rep.Counts.Delivered != 3 || ev.probes != 1 {
		t.Errorf("counts %+v, %d probes", rep.Counts, ev.probes)
	}
}

// AWS refuses PutEvents entries whose source begins "aws." from any caller: on AWS the
// default source aws.s3 is refused before planning, naming what to set; on the demo's
// EventBridge (loopback), which takes it as S3's own, it is kept.
func TestEventSpecRefusesAnAWSSourceOnAWS(t *testing.T) {
	env := &config.Env{Name: "prod", Region: "eu-west-1", Events: config.Events{EventBus: "ingest", EventSource: config.DefaultEventSource}}
	_, err := EventSpecFor(env, ModeEventBridge, "")
	if err == nil || !strings.Contains(err.Error(), "events.event_source") || !strings.Contains(err.Error(), "NotAuthorizedForSourceException") {
		t.Fatalf("aws.s3 on AWS: %v", err)
	}
	if _, err := PlanOptionsFor(env, ModeEventBridge); err == nil {
		t.Error("PlanOptionsFor planned a source AWS refuses")
	}
	env.Endpoints.EventBridge = "http://127.0.0.1:4010"
	if s, err := EventSpecFor(env, ModeEventBridge, ""); err != nil || s.Source != "aws.s3" {
		t.Errorf("loopback: %+v %v", s, err)
	}
	env.Endpoints.EventBridge = ""
	env.Events.EventSource = "stowage.s3"
	if s, err := EventSpecFor(env, ModeEventBridge, ""); err != nil || s.Source != "stowage.s3" {
		t.Errorf("own source: %+v %v", s, err)
	}
}

// A source refusal that reaches a run (a manifest planned before the check) stops it
// with the configuration's remedy, not "access denied … fix the credentials".
func TestEventSourceRefusalStopsWithTheConfigRemedy(t *testing.T) {
	g := newEventRig(t, 20)
	ev := g.ev
	ev.script = func(id string, n int) error {
		return &awsclient.Error{Kind: awsclient.KindInvalid, Op: "put-events", Code: awsclient.CodeNotAuthorizedForSource,
			Message: "Not authorized for the source.", Err: awsclient.ErrNotSent}
	}
	m := g.plan(t, ModeEventBridge)
	m.Concurrency = 1
	_, rep := g.run(t, m)
	if rep.Outcome != OutcomeError || strings.Contains(rep.StopReason, "credentials") ||
		!strings.Contains(rep.StopReason, "events.event_source") || !strings.Contains(rep.StopReason, "plan the redrive again") {
		t.Fatalf("outcome %s: %s", rep.Outcome, rep.StopReason)
	}
	if n := len(ev.callSizes()); n > 1 {
		t.Errorf("%d calls after the first refusal", n)
	}
}

// A whole call answered 5xx may have been taken before the service failed: its entries
// are unknown (and so never sent again automatically), not retried as refused.
func TestEventWholeCallServerErrorIsUnknown(t *testing.T) {
	for _, mode := range EventModes {
		t.Run(string(mode), func(t *testing.T) {
			t.Parallel()
			g := newEventRig(t, 8)
			ev := g.ev
			ev.slow = true
			ev.callErr = func(call int) error {
				if call == 1 {
					return &awsclient.Error{Kind: awsclient.KindServer, Op: "send", Code: "InternalError", Message: "We encountered an internal error."}
				}
				return nil
			}
			_, rep := g.run(t, g.plan(t, mode))
			ev.mu.Lock()
			first := len(ev.calls[0])
			seen := map[string]int{}
			for _, c := range ev.calls {
				for _, e := range c {
					seen[idOf(e)]++
				}
			}
			ev.mu.Unlock()
			if rep.Counts.Unknown != first || rep.Counts.Delivered+rep.Counts.Unknown != 8 {
				t.Errorf("counts %+v, want the %d entries of the failed call unknown", rep.Counts, first)
			}
			for id, n := range seen {
				if n > 1 {
					t.Errorf("%s sent %d times", id, n)
				}
			}
		})
	}
}

// The idempotency headers' names become SQS message attribute names in mode sqs: what
// SQS would refuse is refused before planning.
func TestEventSpecChecksAttributeNames(t *testing.T) {
	env := &config.Env{Name: "prod", Events: config.Events{SQSQueueURL: "https://sqs.eu-west-1.amazonaws.com/111122223333/ingest"}}
	if _, err := EventSpecFor(env, ModeSQS, ""); err != nil {
		t.Fatalf("defaults: %v", err)
	}
	for _, bad := range []string{"X Stowage", "X-Stowage:Id", "AWS.Redrive", "amazon.id", ".x", "x.", "a..b", strings.Repeat("x", 257), "X-Ä"} {
		env.Gateway.RedriveIDHeader = bad
		if _, err := EventSpecFor(env, ModeSQS, ""); err == nil || !strings.Contains(err.Error(), "gateway.redrive_id_header") {
			t.Errorf("%q: %v", bad, err)
		}
	}
	env.Gateway.RedriveIDHeader = "X-Stowage.Redrive_Id"
	if _, err := EventSpecFor(env, ModeSQS, ""); err != nil {
		t.Errorf("valid: %v", err)
	}
}

func FuzzCheckAttributeName(f *testing.F) {
	for _, s := range []string{"X-Stowage-Redrive-Id", "AWS.x", "a..b", "", "é"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		if CheckAttributeName(name) != "" {
			return
		}
		if len(name) == 0 || len(name) > 256 || strings.Contains(name, "..") || strings.HasPrefix(strings.ToLower(name), "aws.") {
			t.Fatalf("%q accepted", name)
		}
		for _, c := range name {
			if c > 0x7e || c == ' ' || c == ':' {
				t.Fatalf("%q accepted", name)
			}
		}
	})
}

func TestModeNotesOnUnknownEvents(t *testing.T) {
	if got := ModeSQS.ResumeNote(3); !strings.Contains(got, "not sent again") || !strings.Contains(got, "end unknown") {
		t.Errorf("sqs resume note: %s", got)
	}
	if got := ModeInplace.ResumeNote(3); !strings.Contains(got, "re-checked before anything is sent again") {
		t.Errorf("inplace resume note: %s", got)
	}
	if ModeLambda.ResumeNote(0) != "" || ModeInplace.UnknownAdvice(2, "stowage --env prod", "r.jsonl") != "" || ModeSQS.UnknownAdvice(0, "s", "r") != "" {
		t.Error("a note where none is due")
	}
	want := "stowage --env prod redrive --from-report r.jsonl --only unknown --mode eventbridge"
	if got := ModeEventBridge.UnknownAdvice(2, "stowage --env prod", "r.jsonl"); !strings.Contains(got, want) {
		t.Errorf("advice %q lacks %q", got, want)
	}
}

// An item is journaled sending as its batch leaves, not while it gathers into one: a
// kill -9 then leaves the gathering items pending, and the resume sends them once,
// rather than leaving them unknown (they cannot be told from items the queue holds).
func TestEventKillWhileABatchGathersLeavesThoseItemsPending(t *testing.T) {
	for _, mode := range []Mode{ModeSQS, ModeEventBridge} {
		t.Run(string(mode), func(t *testing.T) {
			t.Parallel()
			g := newEventRig(t, 40)
			m := g.plan(t, mode)
			m.Concurrency = 1
			_, rep := g.killAndResume(t, m, true)
			if rep.Counts.Delivered != 40 {
				t.Errorf("after resume: counts %+v, want all 40 delivered", rep.Counts)
			}
			for _, id := range g.ids {
				if n := len(g.ev.sentTo(id)); n != 1 {
					t.Errorf("%s: %d messages", id, n)
				}
			}
		})
	}
}
