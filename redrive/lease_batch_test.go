package redrive

import (
	"runtime"
	"testing"
	"time"
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
	f := newFixture(t, n)
	m := f.plan(t, ModeInplace)
	leases := newMemLeases()
	leases.batched = true
	hold := make(chan struct{})
	leases.claimer()
	leases.batch.finishGate = hold
	r := newLeaseRun(t, f, m, leases, f.opts())
	base := runtime.NumGoroutine()
	if err := r.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for sent := 0; sent < n; {
		sent = 0
		for _, id := range f.ids {
			sent += f.sender.receivedOf(id)
		}
		if time.Now().After(deadline) {
			close(hold)
			t.Fatalf("%d of %d sent while the finishes were held", sent, n)
		}
		time.Sleep(time.Millisecond)
	}
	// A worker waiting for its finish would hold its goroutine (and its opener's): the
	// pool would grow by one per item sent.
	grown := runtime.NumGoroutine() - base
	t.Logf("%d more goroutines with %d finishes held", grown, n)
	if grown >= n {
		close(hold)
		t.Fatalf("%d more goroutines once %d items were sent with their finishes held: the workers wait for them", grown, n)
	}
	select {
	case <-r.Done():
		t.Fatal("the run ended before its finishes were answered")
	default:
	}
	close(hold)
	rep := r.Wait()
	if rep.Counts.Delivered != n {
		t.Fatalf("counts %+v", rep.Counts)
	}
	for _, id := range f.ids {
		if c := leases.get(id); c.Outcome != "delivered" {
			t.Errorf("%s: %+v: the run ended before its finish", id, c)
		}
	}
}

// While the lease table does not answer the finishes, at most finishBacklog of them wait:
// the items behind wait for a place before they give theirs back in the window, so the
// sends stop there instead of the queue (which a kill would lose) growing with the run.
func TestBatchedFinishBacklogIsBounded(t *testing.T) {
	const n = finishBacklog + 40
	f := newFixture(t, n)
	m := f.plan(t, ModeInplace)
	leases := newMemLeases()
	leases.batched = true
	hold := make(chan struct{})
	leases.claimer()
	leases.batch.finishGate = hold
	opts := f.opts()
	r := newLeaseRun(t, f, m, leases, opts)
	if err := r.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	sent := func() (s int) {
		for _, id := range f.ids {
			s += f.sender.receivedOf(id)
		}
		return s
	}
	deadline := time.Now().Add(20 * time.Second)
	for sent() < finishBacklog {
		if time.Now().After(deadline) {
			close(hold)
			t.Fatalf("%d sent, want at least %d before the backlog fills", sent(), finishBacklog)
		}
		time.Sleep(time.Millisecond)
	}
	time.Sleep(200 * time.Millisecond) // a bound that holds at any moment: more time can only show more sends
	limit := finishBacklog + windowFor(itemsInFlight(m.Mode, m.Concurrency))
	if s := sent(); s > limit {
		close(hold)
		t.Fatalf("%d of %d sent while no finish was answered, want at most %d (the backlog and the window)", s, n, limit)
	}
	close(hold)
	rep := r.Wait()
	if rep.Counts.Delivered != n {
		t.Fatalf("counts %+v", rep.Counts)
	}
	for _, id := range f.ids {
		if c := leases.get(id); c.Outcome != "delivered" {
			t.Errorf("%s: %+v", id, c)
		}
	}
}
