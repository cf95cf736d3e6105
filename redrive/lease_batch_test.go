package redrive

import (
	"context"
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/stowage-cli/stowage/awsclient"
)

// A run given a LeaseBatcher claims and finishes every item through it, none alone.
func TestBatchedLeasesCarryEveryClaimAndFinish(t *testing.T) {
	f := newFixture(t, 40)
	m := f.plan(t, ModeInplace)
	leases := newMemLeases()
	leases.batched = true
	rep := runToEnd(t, newLeaseRun(t, f, m, leases, f.opts()))
	if rep.Counts.Delivered != 40 {
		t.Fatalf("counts %+v", rep.Counts)
	}
	calls, claimed, fcalls, finished := leases.batch.calls()
	if claimed != 40 || leases.claimCalls != 40 || finished != 40 || leases.finishes != 40 || calls == 0 || fcalls == 0 {
		t.Errorf("%d claims in %d batches of %d Claim answers; %d finishes in %d batches of %d Finish answers; want 40 each, in batches",
			claimed, calls, leases.claimCalls, finished, fcalls, leases.finishes)
	}
	for _, id := range f.ids {
		if c := leases.get(id); c.Outcome != "delivered" || !c.Sent {
			t.Errorf("%s: %+v", id, c)
		}
	}
}

// An item's worker does not wait for its finish: every item is sent while the lease
// table holds every finish, on a pool of workers that did not grow by one per held
// finish, and the run ends only once they are answered.
func TestBatchedFinishesDoNotHoldTheItemsButTheEnd(t *testing.T) {
	const n = 60 // well past the window (8 at concurrency 4)
	h := startWithFinishesHeld(t, n)
	base := runtime.NumGoroutine()
	if err := h.r.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for h.sent() < n {
		if time.Now().After(deadline) {
			h.fatal(t, "%d of %d sent while the finishes were held", h.sent(), n)
		}
		time.Sleep(time.Millisecond)
	}
	// A worker waiting for its finish would hold its goroutine (and its opener's): the
	// pool would grow by one per item sent.
	grown := runtime.NumGoroutine() - base
	t.Logf("%d more goroutines with %d finishes held", grown, n)
	if grown >= n {
		h.fatal(t, "%d more goroutines once %d items were sent with their finishes held: the workers wait for them", grown, n)
	}
	select {
	case <-h.r.Done():
		h.fatal(t, "the run ended before its finishes were answered")
	default:
	}
	h.endDelivered(t)
}

// While the lease table does not answer the finishes, at most finishBacklog of them wait:
// the items behind wait for a place before they give theirs back in the window, so the
// sends stop there instead of the queue (which a kill would lose) growing with the run.
func TestBatchedFinishBacklogIsBounded(t *testing.T) {
	const n = finishBacklog + 40
	h := startWithFinishesHeld(t, n)
	if err := h.r.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for h.sent() < finishBacklog {
		if time.Now().After(deadline) {
			h.fatal(t, "%d sent, want at least %d before the backlog fills", h.sent(), finishBacklog)
		}
		time.Sleep(time.Millisecond)
	}
	time.Sleep(200 * time.Millisecond) // a bound that holds at any moment: more time can only show more sends
	limit := finishBacklog + windowFor(itemsInFlight(h.m.Mode, h.m.Concurrency))
	if s := h.sent(); s > limit {
		h.fatal(t, "%d of %d sent while no finish was answered, want at most %d (the backlog and the window)", s, n, limit)
	}
	h.endDelivered(t)
}

// heldFinishes is an in-place run of n items whose lease table answers no finish until
// hold is closed.
type heldFinishes struct {
	f      *fixture
	m      *Manifest
	r      *Run
	leases *memLeases
	hold   chan struct{}
}

func startWithFinishesHeld(t *testing.T, n int) *heldFinishes {
	t.Helper()
	h := &heldFinishes{f: newFixture(t, n), leases: newMemLeases(), hold: make(chan struct{})}
	h.m = h.f.plan(t, ModeInplace)
	h.leases.batched = true
	h.leases.claimer()
	h.leases.batch.finishGate = h.hold
	h.r = newLeaseRun(t, h.f, h.m, h.leases, h.f.opts())
	return h
}

// sent is how many requests the target received.
func (h *heldFinishes) sent() (s int) {
	for _, id := range h.f.ids {
		s += h.f.sender.receivedOf(id)
	}
	return s
}

// fatal releases the finishes (so the run can end) and fails the test.
func (h *heldFinishes) fatal(t *testing.T, format string, args ...any) {
	t.Helper()
	close(h.hold)
	t.Fatalf(format, args...)
}

// endDelivered releases the finishes, waits for the run and checks every item ended
// delivered, in the lease table too.
func (h *heldFinishes) endDelivered(t *testing.T) {
	t.Helper()
	close(h.hold)
	rep := h.r.Wait()
	if rep.Counts.Delivered != len(h.f.ids) {
		t.Fatalf("counts %+v", rep.Counts)
	}
	for _, id := range h.f.ids {
		if c := h.leases.get(id); c.Outcome != "delivered" {
			t.Errorf("%s: %+v: the run ended before its finish", id, c)
		}
	}
}

// deadlineLeases records the time each FinishBatch was given.
type deadlineLeases struct {
	LeaseBatcher
	given []time.Duration
}

func (d *deadlineLeases) FinishBatch(ctx context.Context, fs []awsclient.ClaimFinish) []error {
	dl, _ := ctx.Deadline()
	d.given = append(d.given, time.Until(dl))
	return make([]error, len(fs))
}

// A batch of finishes has one finishClaimTimeout for its transaction and one for each
// round of the items the store may send alone, so that an item alone is not timed out for
// waiting behind the others.
func TestFinishBatchTimeoutCoversItsRounds(t *testing.T) {
	for _, n := range []int{1, awsclient.LeaseSingles, awsclient.LeaseSingles + 1, leaseBatchSize} {
		d := &deadlineLeases{}
		b := &leaseBatcher{lb: d, room: make(chan struct{}, finishBacklog)}
		batch := make([]*finishEntry, n)
		for i := range batch {
			b.reserve()
			b.queued.Add(1)
			batch[i] = &finishEntry{f: awsclient.ClaimFinish{RequestID: fmt.Sprint("r", i)}, try: 1}
		}
		b.finishBatch(batch)
		rounds := (n + awsclient.LeaseSingles - 1) / awsclient.LeaseSingles
		want := finishClaimTimeout * time.Duration(1+rounds)
		if len(d.given) != 1 || d.given[0] > want || d.given[0] < want-finishClaimTimeout/2 {
			t.Errorf("%d finishes: given %v, want about %v", n, d.given, want)
		}
		if len(b.room) != 0 {
			t.Errorf("%d finishes: %d places still taken once they were answered", n, len(b.room))
		}
	}
}
