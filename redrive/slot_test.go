package redrive

import (
	"context"
	"io"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stowage-cli/stowage/awsclient"
)

// slowFinish is a lease table whose Finish takes a round trip of a slow link.
type slowFinish struct {
	*memLeases
	took time.Duration
}

func (s *slowFinish) Finish(ctx context.Context, f awsclient.ClaimFinish) error {
	time.Sleep(s.took)
	return s.memLeases.Finish(ctx, f)
}

// Telling the lease table how an item ended does not hold a concurrency slot: at one in
// flight, the next item is sent while the previous item's Finish is still on its way.
func TestLeaseFinishDoesNotHoldTheConcurrencySlot(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFixture(t, 10)
		m := f.plan(t, ModeInplace)
		m.Concurrency = 1
		leases := &slowFinish{memLeases: newMemLeases(), took: time.Second}
		deps := f.deps()
		deps.Leases = leases
		opts := f.opts()
		opts.ProgressInterval = time.Minute
		r, err := New(deps, m, opts)
		if err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		rep := runToEnd(t, r)
		if rep.Counts.Delivered != 10 {
			t.Fatalf("counts %s", rep.Counts)
		}
		// Sends take no time here: the run lasts one Finish, not ten in series.
		if el := time.Since(start); el > 2*time.Second {
			t.Errorf("10 items at one in flight took %v with a 1s Finish each: the Finish held the slot", el)
		}
		for _, id := range f.ids {
			if c := leases.get(id); c.Outcome != string(StateDelivered) {
				t.Errorf("%s: lease outcome %q, want delivered (the run still waits for every Finish)", id, c.Outcome)
			}
		}
	})
}

// slowClaims is a lease table whose Claim takes a round trip of a slow link.
type slowClaims struct {
	*memLeases
	took time.Duration
}

func (s *slowClaims) Claim(ctx context.Context, req awsclient.ClaimRequest) (awsclient.ClaimResult, error) {
	time.Sleep(s.took)
	return s.memLeases.Claim(ctx, req)
}

// slowGets is the bucket over a slow link; it counts the bodies still open.
type slowGets struct {
	*fakeStore
	took time.Duration
	open atomic.Int64
}

func (s *slowGets) Get(ctx context.Context, key string, pin awsclient.Pin) (io.ReadCloser, awsclient.Object, error) {
	time.Sleep(s.took)
	rc, o, err := s.fakeStore.Get(ctx, key, pin)
	if err != nil {
		return nil, o, err
	}
	s.open.Add(1)
	return &countedBody{ReadCloser: rc, open: &s.open}, o, nil
}

type countedBody struct {
	io.ReadCloser
	open *atomic.Int64
	once sync.Once
}

func (b *countedBody) Close() error {
	b.once.Do(func() { b.open.Add(-1) })
	return b.ReadCloser.Close()
}

// The pinned GET is read-only, so it runs beside the claim instead of after it: a claim
// and a GET of a second each cost one second, not two. A refused claim closes the body it
// opened and sends nothing.
func TestThePinnedGetRunsBesideTheClaim(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFixture(t, 2)
		m := f.plan(t, ModeInplace)
		m.Concurrency = 1
		leases := &slowClaims{memLeases: newMemLeases(), took: time.Second}
		leases.claims[f.ids[1]] = awsclient.Claim{RequestID: f.ids[1], RunID: "other-run", Operator: "ana",
			ClaimedAt: time.Now(), Expires: time.Now().Add(time.Hour)}
		store := &slowGets{fakeStore: f.store, took: time.Second}
		deps := f.deps()
		deps.Leases, deps.Objects = leases, store
		opts := f.opts()
		opts.ProgressInterval = time.Minute
		r, err := New(deps, m, opts)
		if err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		rep := runToEnd(t, r)
		if got := rep.Items[0].State; got != StateDelivered {
			t.Fatalf("%s: %s", f.ids[0], got)
		}
		if got := rep.Items[1]; got.State != StateSkipped || f.sender.attemptsOf(f.ids[1]) != 0 {
			t.Fatalf("%s (claimed by another run): %s %q, sent %d times", f.ids[1], got.State, got.Note, f.sender.attemptsOf(f.ids[1]))
		}
		// Two items, each a 1s claim beside a 1s GET.
		if el := time.Since(start); el > 2500*time.Millisecond {
			t.Errorf("took %v: the GET waited for the claim", el)
		}
		if n := store.open.Load(); n != 0 {
			t.Errorf("%d bodies left open", n)
		}
	})
}

// The concurrency cap is on items sending: at one, the next item is checked and its
// object opened while the first one's request is in flight, and still only one request
// is ever in flight.
func TestTheNextItemIsPreparedWhileARequestIsInFlight(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFixture(t, 3)
		f.sender.block = make(chan struct{})
		f.sender.entered = make(chan string, 3)
		m := f.plan(t, ModeInplace)
		m.Concurrency = 1
		opts := f.opts()
		opts.ProgressInterval = time.Minute
		r, err := New(f.deps(), m, opts)
		if err != nil {
			t.Fatal(err)
		}
		if err := r.Start(context.Background()); err != nil {
			t.Fatal(err)
		}
		<-f.sender.entered
		synctest.Wait() // everything else that can run has run
		f.store.mu.Lock()
		gets := f.store.gets
		f.store.mu.Unlock()
		if gets != 2 {
			t.Errorf("%d objects opened while the first request is in flight, want 2 (the next one prepared)", gets)
		}
		close(f.sender.block)
		rep := r.Wait()
		if rep.Counts.Delivered != 3 {
			t.Fatalf("counts %s", rep.Counts)
		}
		if f.sender.maxInFl != 1 {
			t.Errorf("%d requests in flight at once, cap 1", f.sender.maxInFl)
		}
	})
}
