package redrive

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stowage-cli/stowage/awsclient"
)

// stuckClaims is a LeaseBatcher whose claim calls hang until their context ends (a lease
// table that stopped answering) and answer with the context's error, writing nothing.
type stuckClaims struct {
	*batchLeases
	once    sync.Once
	started chan struct{}
}

func (l *stuckClaims) ClaimBatch(ctx context.Context, reqs []awsclient.ClaimRequest) ([]awsclient.ClaimResult, []error) {
	l.once.Do(func() { close(l.started) })
	<-ctx.Done()
	errs := make([]error, len(reqs))
	for i := range errs {
		errs[i] = &awsclient.Error{Kind: awsclient.KindCanceled, Op: "claim", Err: ctx.Err()}
	}
	return make([]awsclient.ClaimResult, len(reqs)), errs
}

// Cancel while claims are in flight and others gather behind them (every call slot
// held): each waiting claim is answered, the run ends, nothing is sent and no item is
// failed for it (all are left for --resume), and the run does not wait on the lease
// table's finishes it never queued.
func TestReviewCancelWhileClaimsGather(t *testing.T) {
	const n = 60
	f := newFixture(t, n)
	m := f.plan(t, ModeInplace)
	leases := newMemLeases()
	leases.batched = true
	stuck := &stuckClaims{batchLeases: leases.claimer().(*batchLeases), started: make(chan struct{})}
	deps := f.deps()
	deps.Leases = stuck
	r, err := New(deps, m, f.opts())
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	<-stuck.started
	r.Cancel()
	select {
	case <-r.Done():
	case <-time.After(30 * time.Second): // a hang, not a speed bound
		t.Fatal("the run did not end after Cancel with its claims waiting in batches")
	}
	rep := r.Wait()
	if rep.Counts.Failed != 0 || rep.Counts.Delivered != 0 || rep.Counts.Pending != n {
		t.Errorf("counts %+v: want every item pending (none failed, none sent)", rep.Counts)
	}
	for _, id := range f.ids {
		if got := f.sender.receivedOf(id); got != 0 {
			t.Errorf("%s sent %d times without a claim", id, got)
		}
	}
}
