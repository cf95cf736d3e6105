package redrive

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stowage-cli/stowage/awsclient"
	"github.com/stowage-cli/stowage/internal/inventory"
	"github.com/stowage-cli/stowage/internal/s3event"
)

// fakeEvents is the processor's queue, function and bus: it records every entry, answers
// each by script(requestID, n) for the nth entry of that request (accepted when nil),
// and marks an accepted request PROCESSED, as the processor would.
type fakeEvents struct {
	mu      sync.Mutex
	status  *fakeStatus
	calls   [][]awsclient.EventEntry // one per call (Invoke: one entry)
	byID    map[string][]awsclient.EventEntry
	script  func(id string, n int) error
	callErr func(call int) error // a whole call's failure
	// hold, when set, is waited on inside each call (gathers the entries behind it).
	hold chan struct{}
	// afterCall runs after a call's entries were taken, before it answers.
	afterCall func(call int)
	// dead refuses every call unsent (a killed process sends nothing).
	dead bool
	// slow: the processor has not consumed what was accepted yet (a backlogged queue,
	// Lambda's async queue): no status changes.
	slow bool
	// busErr is DescribeEventBus's answer (nil: the bus exists); probes counts the calls.
	busErr error
	probes int
	// principal is PrincipalID's answer ("" = not known).
	principal string
	// latency delays every call (the pipeline benchmark's 20 ms).
	latency time.Duration
}

func newFakeEvents(status *fakeStatus) *fakeEvents {
	return &fakeEvents{status: status, byID: map[string][]awsclient.EventEntry{}}
}

func (f *fakeEvents) Region() string { return "eu-west-1" }

func (f *fakeEvents) PrincipalID(context.Context) string { return f.principal }

func (f *fakeEvents) ProbeBus(ctx context.Context, bus string) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.probes++
	return "arn:aws:events:eu-west-1:111122223333:event-bus/" + bus, f.busErr
}

// idOf reads the stowage marker, as a processor would.
func idOf(e awsclient.EventEntry) string {
	var n s3event.Notification
	if err := json.Unmarshal(e.Body, &n); err == nil && len(n.Records) == 1 && n.Records[0].Stowage != nil {
		return n.Records[0].Stowage.OriginalRequestID
	}
	var d s3event.Detail
	if err := json.Unmarshal(e.Body, &d); err == nil && d.Stowage != nil {
		return d.Stowage.OriginalRequestID
	}
	return ""
}

func (f *fakeEvents) batch(ctx context.Context, entries []awsclient.EventEntry) ([]awsclient.EntryResult, error) {
	if f.hold != nil {
		<-f.hold
	}
	if f.latency > 0 {
		time.Sleep(f.latency)
	}
	f.mu.Lock()
	if f.dead {
		f.mu.Unlock()
		err := &awsclient.Error{Kind: awsclient.KindNetwork, Op: "send", Err: awsclient.ErrNotSent}
		res := make([]awsclient.EntryResult, len(entries))
		for i := range res {
			res[i].Err = err
		}
		return res, err
	}
	f.calls = append(f.calls, entries)
	call := len(f.calls)
	callErr, afterCall := f.callErr, f.afterCall
	f.mu.Unlock()
	if afterCall != nil {
		defer afterCall(call)
	}
	if callErr != nil {
		if err := callErr(call); err != nil {
			res := make([]awsclient.EntryResult, len(entries))
			for i := range res {
				res[i] = awsclient.EntryResult{ID: entries[i].ID, Err: err}
			}
			return res, err
		}
	}
	res := make([]awsclient.EntryResult, len(entries))
	for i, e := range entries {
		id := idOf(e)
		f.mu.Lock()
		f.byID[id] = append(f.byID[id], e)
		n := len(f.byID[id])
		f.mu.Unlock()
		res[i].ID = e.ID
		if f.script != nil {
			if err := f.script(id, n); err != nil {
				res[i].Err = err
				continue
			}
		}
		res[i].MessageID = fmt.Sprintf("msg-%s-%d", id, n)
		f.mu.Lock()
		slow := f.slow
		f.mu.Unlock()
		if !slow {
			f.status.bump(id)
			f.status.set(id, "PROCESSED")
		}
	}
	return res, nil
}

func (f *fakeEvents) SendSQS(ctx context.Context, queueURL string, entries []awsclient.EventEntry) ([]awsclient.EntryResult, error) {
	return f.batch(ctx, entries)
}

func (f *fakeEvents) PutEvents(ctx context.Context, bus string, entries []awsclient.EventEntry) ([]awsclient.EntryResult, error) {
	return f.batch(ctx, entries)
}

func (f *fakeEvents) Invoke(ctx context.Context, function, qualifier string, payload []byte) (awsclient.EntryResult, error) {
	res, err := f.batch(ctx, []awsclient.EventEntry{{Body: payload}})
	if res[0].Err == nil {
		res[0].Status = 202
	}
	return res[0], err
}

func (f *fakeEvents) sentTo(id string) []awsclient.EventEntry {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]awsclient.EventEntry(nil), f.byID[id]...)
}

func (f *fakeEvents) callSizes() []int {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []int
	for _, c := range f.calls {
		out = append(out, len(c))
	}
	return out
}

func testSpec(mode Mode) *EventSpec {
	s := &EventSpec{Source: "aws.s3", ConfigurationID: "stowage-redrive"}
	switch mode {
	case ModeSQS:
		s.QueueURL = "https://sqs.eu-west-1.amazonaws.com/111122223333/ingest"
	case ModeLambda:
		s.Function, s.Qualifier = "product-ingest", "live"
	case ModeEventBridge:
		s.Bus = "default"
	}
	return s
}

func (f *fixture) planEvent(t *testing.T, mode Mode, spec *EventSpec) *Manifest {
	t.Helper()
	m, err := PlanEvent(context.Background(), PlanDeps{Source: inventory.Source{Objects: f.store, Statuses: f.status}}, Selection{IDs: f.ids},
		PlanOptions{Env: "test", Mode: mode, Bucket: "b", Concurrency: 4, SuccessStates: []string{"PROCESSED"}, LostAfter: time.Minute}, spec)
	if err != nil {
		t.Fatalf("PlanEvent: %v", err)
	}
	return m
}

func TestEventModesDeliverWithoutWritingTheBucket(t *testing.T) {
	for _, mode := range []Mode{ModeSQS, ModeLambda, ModeEventBridge} {
		t.Run(string(mode), func(t *testing.T) {
			t.Parallel()
			g := newEventRig(t, 25)
			f, ev := g.fixture, g.ev
			f.store.objects["req-007"].version = "v7"
			before := map[string]fakeObject{}
			for k, o := range f.store.objects {
				before[k] = *o
			}
			m := f.planEvent(t, mode, testSpec(mode))
			if got := m.Target.String(); !strings.Contains(got, map[Mode]string{ModeSQS: "SendMessageBatch https://sqs.", ModeLambda: "lambda://product-ingest:live", ModeEventBridge: "PutEvents events://default"}[mode]) {
				t.Errorf("target %s", got)
			}
			r, rep := g.run(t, m)
			if rep.Counts.Delivered != 25 || rep.Outcome != OutcomeDelivered {
				t.Fatalf("counts %+v outcome %s", rep.Counts, rep.Outcome)
			}
			for k, o := range f.store.objects {
				if o.etag != before[k].etag || !o.modified.Equal(before[k].modified) || o.version != before[k].version || f.store.copies[k] != 0 {
					t.Errorf("%s was written", k)
				}
			}
			for _, id := range f.ids {
				sent := ev.sentTo(id)
				if len(sent) != 1 {
					t.Fatalf("%s: %d events, want 1", id, len(sent))
				}
				checkEvent(t, mode, f.store, id, sent[0], m.RunID)
			}
			for _, n := range ev.callSizes() {
				if n > EventBatchSize || (mode == ModeLambda && n != 1) {
					t.Errorf("a call of %d entries", n)
				}
			}
			// Each delivered item was journaled sending first.
			sending := map[string]bool{}
			for _, rec := range readRecords(t, r.JournalPath()) {
				switch rec.Type {
				case RecSending:
					sending[rec.ID] = true
				case RecDelivered:
					if !sending[rec.ID] {
						t.Errorf("%s delivered without a sending record before it", rec.ID)
					}
					if rec.GatewayRequestID == "" {
						t.Errorf("%s: no message ID journaled", rec.ID)
					}
				}
			}
		})
	}
}

// checkEvent checks an event describes the stored object, as S3 would, marked as the run's.
func checkEvent(t *testing.T, mode Mode, store *fakeStore, id string, e awsclient.EventEntry, runID string) {
	t.Helper()
	o := store.objects[id]
	if mode == ModeEventBridge {
		var d s3event.Detail
		if err := json.Unmarshal(e.Body, &d); err != nil {
			t.Fatal(err)
		}
		if d.Object.Key != id || d.Object.ETag != o.etag || d.Object.VersionID != o.version || d.Bucket.Name != "b" ||
			e.Source != "aws.s3" || e.DetailType != "Object Created" || e.Resources[0] != "arn:aws:s3:::b" || d.Stowage.RedriveID != runID {
			t.Errorf("%s: detail %s (%+v)", id, e.Body, e)
		}
		return
	}
	var n s3event.Notification
	if err := json.Unmarshal(e.Body, &n); err != nil {
		t.Fatal(err)
	}
	rec := n.Records[0]
	if rec.EventName != "ObjectCreated:Put" || rec.EventVersion != "2.1" || rec.AWSRegion != "eu-west-1" || rec.S3.Object.Key != id ||
		rec.S3.Object.ETag != o.etag || rec.S3.Object.Size != int64(len(o.body)) || rec.S3.Object.VersionID != o.version ||
		rec.S3.Bucket.ARN != "arn:aws:s3:::b" || rec.Stowage.RedriveID != runID || rec.Stowage.OriginalRequestID != id {
		t.Errorf("%s: record %s", id, e.Body)
	}
	if mode == ModeSQS && (e.Attributes[DefaultOriginalIDHeader] != id || e.Attributes[DefaultRedriveIDHeader] != runID) {
		t.Errorf("%s: attributes %v", id, e.Attributes)
	}
}

func TestEventBatchesFillWhileCallsAreInFlight(t *testing.T) {
	g := newEventRig(t, 45)
	ev := g.ev
	ev.hold = make(chan struct{})
	m := g.plan(t, ModeSQS)
	m.Concurrency = 1
	r := g.newRun(t, m)
	if err := r.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	// One call in flight at concurrency 1: while it is held, the items behind it gather.
	go func() {
		for {
			select {
			case ev.hold <- struct{}{}:
				time.Sleep(20 * time.Millisecond)
			case <-r.Done():
				return
			}
		}
	}()
	rep := r.Wait()
	if rep.Counts.Delivered != 45 {
		t.Fatalf("counts %+v", rep.Counts)
	}
	sizes := ev.callSizes()
	full := 0
	for _, n := range sizes {
		if n == EventBatchSize {
			full++
		}
	}
	if full < 3 || len(sizes) > 9 {
		t.Errorf("calls of %v entries: want mostly full batches of 10", sizes)
	}
}

func TestEventPartialBatchFailureRetriesOnlyTheFailedEntries(t *testing.T) {
	for _, mode := range []Mode{ModeSQS, ModeEventBridge} {
		t.Run(string(mode), func(t *testing.T) {
			t.Parallel()
			g := newEventRig(t, 20)
			ev := g.ev
			ev.script = func(id string, n int) error {
				if n == 1 && (id == "req-003" || id == "req-011") {
					return &awsclient.Error{Kind: awsclient.KindServer, Op: "send-message-batch", Code: "InternalError", Err: awsclient.ErrNotSent}
				}
				if n == 1 && id == "req-015" {
					return &awsclient.Error{Kind: awsclient.KindThrottled, Op: "put-events", Code: "ThrottlingException", Err: awsclient.ErrNotSent}
				}
				return nil
			}
			_, rep := g.run(t, g.plan(t, mode))
			if rep.Counts.Delivered != 20 {
				t.Fatalf("counts %+v: %+v", rep.Counts, rep.Items)
			}
			for _, id := range g.ids {
				want := 1
				if id == "req-003" || id == "req-011" || id == "req-015" {
					want = 2
				}
				if got := len(ev.sentTo(id)); got != want {
					t.Errorf("%s sent %d times, want %d", id, got, want)
				}
			}
		})
	}
}

func TestEventFIFODedupIDIsStableAcrossRetries(t *testing.T) {
	g := newEventRig(t, 12)
	ev := g.ev
	// The first call's answer is lost: every entry of it may have been enqueued.
	ev.callErr = func(call int) error {
		if call == 1 {
			return &awsclient.Error{Kind: awsclient.KindNetwork, Op: "send-message-batch", Err: awsclient.ErrDeliveryUnknown}
		}
		return nil
	}
	spec := testSpec(ModeSQS)
	spec.QueueURL += ".fifo"
	m := g.planEvent(t, ModeSQS, spec)
	_, rep := g.run(t, m)
	if rep.Counts.Delivered != 12 {
		t.Fatalf("counts %+v", rep.Counts)
	}
	for _, c := range ev.calls {
		for _, e := range c {
			id := idOf(e)
			if e.DedupID != DedupID(m.RunID, id) || e.GroupID != id {
				t.Errorf("%s: dedup %q group %q", id, e.DedupID, e.GroupID)
			}
		}
	}
	if DedupID(m.RunID, "a") == DedupID("another-run", "a") || len(DedupID(m.RunID, "a")) > 128 {
		t.Error("dedup IDs must differ between redrives and fit SQS's 128 characters")
	}
}

func TestEventMissingTargetStopsTheRun(t *testing.T) {
	g := newEventRig(t, 30)
	ev := g.ev
	ev.callErr = func(int) error {
		return &awsclient.Error{Kind: awsclient.KindNotFound, Op: "send-message-batch", Code: "QueueDoesNotExist", Message: "The specified queue does not exist."}
	}
	m := g.plan(t, ModeSQS)
	m.Concurrency = 1
	_, rep := g.run(t, m)
	if rep.Outcome != OutcomeError || !strings.Contains(rep.StopReason, "does not exist") {
		t.Fatalf("outcome %s: %s", rep.Outcome, rep.StopReason)
	}
	if n := len(ev.callSizes()); n > 2 {
		t.Errorf("%d calls to a queue that does not exist", n)
	}
}

func TestEventModeNeedsItsTarget(t *testing.T) {
	f := newFixture(t, 1)
	m := f.planEvent(t, ModeSQS, testSpec(ModeSQS))
	if _, err := New(f.deps(), m, f.opts()); err == nil || !strings.Contains(err.Error(), "events section") {
		t.Errorf("New without event clients: %v", err)
	}
	m.Event = nil
	d := f.deps()
	d.Events = newFakeEvents(f.status)
	if _, err := New(d, m, f.opts()); err == nil {
		t.Error("New without an event target")
	}
	o := f.opts()
	o.ReadOnly = true
	if _, err := New(d, f.planEvent(t, ModeSQS, testSpec(ModeSQS)), o); err != ErrRefusedReadOnly {
		t.Errorf("read-only: %v", err)
	}
}

// TestEventResumeAfterKillSendsNoMessageTwice: the journal as a kill -9 leaves it while a
// batch is out (the queue took its messages, no outcome journaled; more items journaled
// sending behind it) is resumed: the batch's items are found processed and not sent
// again, the items never journaled are sent once. No request gets two messages.
func TestEventResumeAfterKillSendsNoMessageTwice(t *testing.T) {
	g := newEventRig(t, 40)
	ev := g.ev
	m := g.plan(t, ModeSQS)
	m.Concurrency = 1
	_, rep := g.killAndResume(t, m, false)
	if rep.Counts.Delivered+rep.Counts.Unknown != 40 {
		t.Fatalf("after resume: counts %+v", rep.Counts)
	}
	// An item journaled sending whose batch had not left when the process died cannot be
	// told from one the queue holds unconsumed: it is left unknown, never sent twice.
	for _, it := range rep.Items {
		want := 1
		if it.State == StateUnknown {
			want = 0
		}
		if n := len(ev.sentTo(it.RequestID)); n != want {
			t.Errorf("%s (%s): %d messages, want %d", it.RequestID, it.State, n, want)
		}
	}
}
