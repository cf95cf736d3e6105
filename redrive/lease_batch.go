package redrive

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/stowage-cli/stowage/awsclient"
	"github.com/stowage-cli/stowage/internal/sanitize"
)

// A run whose Claimer is also a LeaseBatcher gathers its items' claims and finishes into
// batches (TransactWriteItems: one call, and one pass of the SDK's per-call work, for up
// to leaseBatchSize items). A claim still waits for its answer, and keeps claim's retry
// rules and outcomes; a finish is queued once the item's records are synced (work), so
// the lease never says more than the journal holds, and the run waits for every queued
// finish before it ends.

const (
	// leaseBatchSize is how many claims or finishes one call carries: a gathered batch is
	// one transaction of the lease store.
	leaseBatchSize = awsclient.LeaseBatchSize
	// leaseLinger is how long a batch that is not full waits for more: the claim runs
	// beside the object's GET or HEAD, which takes a round trip, so a short wait is hidden.
	leaseLinger = 2 * time.Millisecond
	// leaseCalls is how many claim calls (and as many finish calls) may be in flight.
	leaseCalls = 4
	// finishBacklog bounds the finishes queued and not yet answered (retries included):
	// two rounds of calls. A kill loses those the lease table was not told (their claims
	// lapse at the TTL), as the single path loses the one each worker is making.
	finishBacklog = 2 * leaseBatchSize * leaseCalls
)

// leaseBatcher is a run's claim and finish batches.
type leaseBatcher struct {
	r        *Run
	lb       LeaseBatcher
	claims   *gatherer[*claimEntry]
	finishes *gatherer[*finishEntry]
	queued   sync.WaitGroup // finishes not yet answered
	room     chan struct{}  // a place in the backlog for each finish reserved and not answered
}

type claimEntry struct {
	ctx  context.Context
	req  awsclient.ClaimRequest
	done chan claimAnswer
}

type claimAnswer struct {
	res awsclient.ClaimResult
	err error
}

type finishEntry struct {
	f   awsclient.ClaimFinish
	try int
}

func newLeaseBatcher(r *Run, lb LeaseBatcher) *leaseBatcher {
	b := &leaseBatcher{r: r, lb: lb, room: make(chan struct{}, finishBacklog)}
	b.claims = newGatherer(leaseBatchSize, leaseLinger, leaseCalls, b.claimBatch)
	b.finishes = newGatherer(leaseBatchSize, leaseLinger, leaseCalls, b.finishBatch)
	return b
}

// claim queues req for the next batch and waits for its answer.
func (b *leaseBatcher) claim(ctx context.Context, req awsclient.ClaimRequest) (awsclient.ClaimResult, error) {
	e := &claimEntry{ctx: ctx, req: req, done: make(chan claimAnswer, 1)}
	b.claims.add(e)
	a := <-e.done
	return a.res, a.err
}

// claimBatch claims one batch. Every entry's context is the run's dispatch context: one
// that ended is answered without a call.
func (b *leaseBatcher) claimBatch(batch []*claimEntry) {
	var live []*claimEntry
	var reqs []awsclient.ClaimRequest
	for _, e := range batch {
		if err := e.ctx.Err(); err != nil {
			e.done <- claimAnswer{err: err}
			continue
		}
		live, reqs = append(live, e), append(reqs, e.req)
	}
	if len(live) == 0 {
		return
	}
	res, errs := b.lb.ClaimBatch(live[0].ctx, reqs)
	for i, e := range live {
		e.done <- claimAnswer{res: res[i], err: errs[i]}
	}
}

// reserve takes a place in the finish backlog for an item about to finish, waiting while
// the backlog is full; finish uses it, and its answer gives it back.
func (b *leaseBatcher) reserve() { b.room <- struct{}{} }

// unreserve gives back a place that finish will not use.
func (b *leaseBatcher) unreserve() { <-b.room }

// finish queues f, in a place reserve took; the run's end waits for it (wait).
func (b *leaseBatcher) finish(f awsclient.ClaimFinish) {
	b.queued.Add(1)
	b.finishes.add(&finishEntry{f: f, try: 1})
}

// finishBatch finishes one batch, as finishClaim does one item: a retryable error is
// tried again after the backoff, up to claimTries; what still fails is a warning.
func (b *leaseBatcher) finishBatch(batch []*finishEntry) {
	fs := make([]awsclient.ClaimFinish, len(batch))
	for i, e := range batch {
		fs[i] = e.f
	}
	// One finishClaimTimeout for the transaction and for each round of the items that go
	// alone (awsclient.LeaseSingles at a time), so that an item is not timed out for
	// waiting behind others.
	rounds := (len(fs) + awsclient.LeaseSingles - 1) / awsclient.LeaseSingles
	ctx, cancel := context.WithTimeout(context.Background(), finishClaimTimeout*time.Duration(1+rounds))
	errs := b.lb.FinishBatch(ctx, fs)
	cancel()
	var again []*finishEntry
	for i, e := range batch {
		if err := errs[i]; err != nil && e.try < claimTries && finishRetryable(err) {
			again = append(again, e)
			continue
		} else if err != nil {
			b.r.leaseWarning(e.f, err)
		}
		b.unreserve()
		b.queued.Done()
	}
	if len(again) > 0 {
		go func() {
			time.Sleep(b.r.backoff.delay(again[0].try))
			for _, e := range again {
				e.try++
				b.finishes.add(e)
			}
		}()
	}
}

// wait returns once every queued finish is answered.
func (b *leaseBatcher) wait() {
	b.finishes.now()
	b.queued.Wait()
}

// finishRetryable reports whether a finish that failed with err is tried again.
func finishRetryable(err error) bool {
	return awsclient.KindOf(err).Retryable() && !errors.Is(err, awsclient.ErrClaimLost)
}

// leaseWarning notes that the lease table was not told how an item ended.
func (r *Run) leaseWarning(f awsclient.ClaimFinish, err error) {
	r.mu.Lock()
	r.leaseWarnings = append(r.leaseWarnings, fmt.Sprintf("request %s: the lease table was not told it ended %s: %s",
		sanitize.Line(f.RequestID), f.Outcome, reasonOf(err)))
	r.mu.Unlock()
}
