package redrive

import (
	"context"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/stowage-cli/stowage/awsclient"
)

// step is where one item's work stands: each step is one function that does its part
// and names the next step. itemSteps is the whole machine.
//
//	start → settle? → check → token → claim → prepare → slot → send → done
//	                      (prepare's GET, or the event modes' HEAD, runs beside the claim)
//	                    ↑                        │                │
//	                    └──────── backoff ←──────┴────────────────┤ (retry)
//	                                                              └→ lastLook → done
//
// An item takes one of the run's Concurrency slots at slot and keeps it until it is
// done (through backoffs): the cap is on items sending to the target, so an item checks,
// claims and opens its object while earlier items' requests are in flight (the
// dispatcher lets twice the cap through that far). In the batched event modes a slot is
// one item of a batch: Concurrency calls of EventBatchSize items, and as many items
// again gathering into the next batches (event_run.go). With a lease table that batches
// (LeaseBatcher), claim waits for its item's answer from a batch of claims, and done
// queues the item's finish for a batch without waiting for it (lease_batch.go); the run
// waits for the queued finishes before it ends.
type step int

const (
	stepStart    step = iota // size and resume rules
	stepSettle               // a resumed item that may have been sent waits out UnknownSettle
	stepCheck                // read the status before taking a rate token
	stepToken                // take a rate token; re-check if the wait made the read stale
	stepClaim                // claim the request in the lease table
	stepPrepare              // open and check the stored object before anything is journaled
	stepSlot                 // take a concurrency slot; re-check if the wait made the read stale
	stepSend                 // journal sending, send once, journal the outcome
	stepBackoff              // wait before the next try
	stepLastLook             // out of tries after an unknown outcome: one last status read
	stepDone                 // final, or left unfinished for --resume
)

var stepNames = [...]string{"start", "settle", "check", "token", "claim", "prepare", "slot", "send", "backoff", "last-look", "done"}

func (s step) String() string {
	if int(s) < len(stepNames) {
		return stepNames[s]
	}
	return fmt.Sprintf("step(%d)", int(s))
}

// itemSteps maps each step to its transition.
var itemSteps = [...]func(*Run, *itemWork) step{
	stepStart:    (*Run).onStart,
	stepSettle:   (*Run).onSettle,
	stepCheck:    (*Run).onCheck,
	stepToken:    (*Run).onToken,
	stepClaim:    (*Run).onClaim,
	stepPrepare:  (*Run).onPrepare,
	stepSlot:     (*Run).onSlot,
	stepSend:     (*Run).onSend,
	stepBackoff:  (*Run).onBackoff,
	stepLastLook: (*Run).onLastLook,
}

// itemWork is one item's state between steps.
type itemWork struct {
	it Item
	// ctx ends when the run stops dispatching; sendCtx only on Abort (requests in flight
	// finish on Cancel).
	ctx, sendCtx context.Context

	try       int  // tries of this process, from 1
	attempt   int  // requests sent, earlier processes included
	maybeSent bool // an attempt may have been delivered: re-check before each send
	// mayDup: an attempt's outcome was unknown or left in flight, so the target may hold
	// the item already; in the event modes it is then sent again only where the target
	// drops duplicates (mayResend).
	mayDup    bool
	firstSend time.Time // the item's first sending record, earlier processes included
	checked   bool      // the status was read in this try
	checkedAt time.Time
	first     time.Time
	wait      time.Duration // backoff's wait

	body  io.ReadCloser        // prepare's open body, for send
	event awsclient.EventEntry // the event modes: prepare's event, for send
	actx  context.Context
	abort context.CancelFunc
	// opening is prepare running beside the claim (gateway modes with a lease table):
	// the pinned GET is read-only, so it need not wait for the claim's round trip.
	opening chan prepared
	slot    bool // holds a concurrency slot (slot → send)
	// worker is the goroutine running the item (nil in tests that drive steps by hand):
	// its opener runs prepare beside the claim.
	worker *itemWorker

	last attemptResult // the latest attempt, for giving up
}

// work takes one item to a final state, or leaves it unfinished when the run stops, then
// releases its place in the dispatcher's window. Its last record is on disk before the
// lease table is told how the item ended (final writes it without waiting, so that the
// slot is not held for an fsync); the lease write comes after the window place is
// released: it is bookkeeping, not a request to the target, and holding the place for it
// would cost every item one more round trip of the send rate. With a LeaseBatcher the
// finish is queued (only now, after the sync) and the worker takes its next item at once;
// but an item takes its place in the finish backlog before it gives back its window
// place, so while the backlog is full (the lease table lags) it holds the window place
// (leaseBatcher.reserve).
func (r *Run) work(ctx, sendCtx context.Context, it Item, wk *itemWorker, release func()) {
	w := &itemWork{it: it, ctx: ctx, sendCtx: sendCtx, try: 1, worker: wk}
	r.mu.Lock()
	w.firstSend = r.firstSend[it.RequestID]
	r.mu.Unlock()
	for s := stepStart; s != stepDone; {
		s = itemSteps[s](r, w)
	}
	w.releaseSlot(r)
	r.mu.Lock()
	claimed := r.deps.Leases != nil && r.claimed[it.RequestID]
	r.mu.Unlock()
	if claimed && r.leases != nil {
		// A place in the finish backlog is taken before the window place is given back:
		// while the lease table lags, the items wait here, not in an unbounded queue
		// whose finishes a kill would lose (leaseBatcher.reserve).
		r.leases.reserve()
	}
	release()
	if err := r.journal.Sync(); err != nil {
		// The item's outcome may not be on disk: the lease table is not told it either
		// (the claim lapses), so the two never disagree with the journal the other way.
		if claimed && r.leases != nil {
			r.leases.unreserve()
		}
		r.stop(OutcomeError, "the journal could not be written, so nothing more is sent: "+err.Error())
		return
	}
	if claimed {
		r.finishClaim(it)
	}
}

// itemWorker is one of the dispatcher's long-lived goroutines (itemPool): it runs one
// item at a time, and its opener runs each item's prepare beside the claim. Goroutines
// that live for the run keep the stacks the SDK's deep call chains grew, where a
// goroutine per item and step started small and grew them again each time.
type itemWorker struct {
	jobs   chan openJob // to the opener, started on first use
	opened chan prepared
}

type openJob struct {
	ctx context.Context
	it  Item
}

// open starts prepare for it on the worker's opener and returns where its result comes
// (exactly one, which the item must receive).
func (wk *itemWorker) open(r *Run, ctx context.Context, it Item) chan prepared {
	if wk.jobs == nil {
		wk.jobs, wk.opened = make(chan openJob), make(chan prepared, 1)
		go func() {
			for j := range wk.jobs {
				wk.opened <- r.prepareItem(j.ctx, j.it)
			}
		}()
	}
	wk.jobs <- openJob{ctx: ctx, it: it}
	return wk.opened
}

// close ends the opener.
func (wk *itemWorker) close() {
	if wk.jobs != nil {
		close(wk.jobs)
	}
}

// itemPool hands the items the dispatcher lets through to idle workers, and starts a new
// worker only when none is idle: the window bounds the items under way, so the pool
// grows to the window (and the workers still telling the lease table how their last item
// ended), then stays.
type itemPool struct {
	r            *Run
	ctx, sendCtx context.Context
	jobs         chan Item
	wg           sync.WaitGroup
}

func (r *Run) newItemPool(ctx, sendCtx context.Context) *itemPool {
	return &itemPool{r: r, ctx: ctx, sendCtx: sendCtx, jobs: make(chan Item)}
}

// run starts it on an idle worker, or on a new one.
func (p *itemPool) run(it Item) {
	select {
	case p.jobs <- it:
	default:
		p.wg.Add(1)
		go p.worker(it)
	}
}

func (p *itemPool) worker(it Item) {
	defer p.wg.Done()
	wk := &itemWorker{}
	defer wk.close()
	for ok := true; ok; it, ok = <-p.jobs {
		p.r.work(p.ctx, p.sendCtx, it, wk, p.r.window.Release)
	}
}

// wait returns once every item handed out is done and every worker has ended.
func (p *itemPool) wait() {
	close(p.jobs)
	p.wg.Wait()
}

func (r *Run) onStart(w *itemWork) step {
	it := w.it
	if r.m.TooLarge(it) {
		r.final(it, Record{Type: RecFailed, Reason: fmt.Sprintf(
			"too large for the gateway: %d bytes, the limit is %d (10 MiB); nothing was sent — redrive it with --mode s3-copy",
			it.Size, MaxGatewayPayload)}, time.Time{}, true)
		return stepDone
	}
	r.mu.Lock()
	state := r.items[it.RequestID].State
	everMaybe := r.everMaybe[it.RequestID]
	w.attempt = r.items[it.RequestID].Attempts
	r.mu.Unlock()
	w.maybeSent = state.MaybeSent()
	if r.m.Mode == ModeReupload && (state == StateSending || state == StateUnknown || everMaybe) {
		// A reupload that may have arrived was stored under a request ID the gateway
		// chose, which nothing here can look up; the old ID's status never changes. Only
		// the operator can tell, so it is never sent again automatically.
		r.leaveUnknown(it, w.attempt, 0, "an earlier attempt's outcome is unknown")
		return stepDone
	}
	w.mayDup = state == StateSending || state == StateUnknown || everMaybe
	if w.maybeSent {
		return stepSettle
	}
	return stepCheck
}

func (r *Run) onSettle(w *itemWork) step {
	if !r.settleResumed(w.ctx, w.it) {
		return stepDone
	}
	return stepCheck
}

// onCheck reads the status before the rate token is taken: the rate paces sends, and an
// item found already processed (or delivered by an earlier attempt) sends nothing.
func (r *Run) onCheck(w *itemWork) step {
	w.checked = w.try == 1 || w.maybeSent
	if !w.checked {
		return stepToken
	}
	if !w.maybeSent {
		done, ok, at := r.firstCheck(w.ctx, w.it, w.first)
		if !ok || done {
			return stepDone
		}
		w.checkedAt = at
		return stepToken
	}
	w.checkedAt = r.now()
	if done, ok := r.recheck(w.ctx, w.it, w.maybeSent, w.first); !ok || done {
		return stepDone
	}
	if !r.mayResend(w) {
		// The status has not changed, which for an event proves nothing: the processor
		// may not have taken it from the queue yet.
		r.leaveUnknown(w.it, w.attempt, w.last.status, "an earlier attempt may have been delivered")
		return stepDone
	}
	return stepToken
}

// mayResend reports whether the item may be sent (again). In the event modes an item
// that may already be with the target is sent again only while a FIFO queue would drop
// the copy (FIFODedupResendWindow from its first send): a standard queue, Lambda's
// asynchronous queue and EventBridge deliver every copy, and an unchanged status does
// not prove the first was lost, only that the processor has not consumed it yet. The
// gateway and copy modes keep their own rules (a re-check, then a send).
func (r *Run) mayResend(w *itemWork) bool {
	if !r.m.Mode.IsEvent() || !w.mayDup {
		return true
	}
	return r.m.Mode == ModeSQS && r.m.Event.FIFO() && !w.firstSend.IsZero() &&
		r.now().Sub(w.firstSend) < FIFODedupResendWindow
}

func (r *Run) onToken(w *itemWork) step {
	waited, err := r.bucket.Wait(w.ctx)
	if err != nil {
		return stepDone
	}
	if w.checked && (waited > RecheckAfterWait || r.now().Sub(w.checkedAt) > RecheckAfterWait) {
		// The check is stale after a long wait for the token (or for a batch read):
		// read again, so that it is still made just before sending.
		if done, ok := r.recheck(w.ctx, w.it, w.maybeSent, w.first); !ok || done {
			r.bucket.refund()
			return stepDone
		}
	}
	return stepClaim
}

// onClaim claims (or renews) the request before each send: the lease table is where runs
// on other machines meet.
func (r *Run) onClaim(w *itemWork) step {
	if r.deps.Leases != nil && (r.m.Mode.UsesGateway() || r.m.Mode.IsEvent()) {
		w.actx, w.abort = context.WithTimeout(w.sendCtx, r.opts.AttemptTimeout)
		if w.worker != nil {
			w.opening = w.worker.open(r, w.actx, w.it)
		} else {
			w.opening = make(chan prepared, 1)
			go func() { w.opening <- r.prepareItem(w.actx, w.it) }()
		}
	}
	if done, ok := r.claim(w.ctx, w.it, w.first, w.attempt > 0 || w.maybeSent); !ok || done {
		if w.opening != nil {
			w.abort()
			if p := <-w.opening; p.body != nil {
				p.body.Close() // opened for a send that will not happen
			}
			w.opening = nil
		}
		r.bucket.refund()
		return stepDone
	}
	return stepPrepare
}

// prepared is prepare's result.
type prepared struct {
	body  io.ReadCloser
	pre   *attemptResult
	event awsclient.EventEntry
}

// prepareItem reads what the send needs: the open body (gateway modes), the event
// (event modes), or nothing (s3-copy); pre says why nothing can be sent.
func (r *Run) prepareItem(ctx context.Context, it Item) prepared {
	if r.m.Mode.IsEvent() {
		e, pre := r.prepareEvent(ctx, it)
		return prepared{pre: pre, event: e}
	}
	body, pre := r.prepare(ctx, it)
	return prepared{body: body, pre: pre}
}

// onPrepare opens and checks the stored object before the sending record: an item
// refused here never left, and is journaled failed without an attempt.
func (r *Run) onPrepare(w *itemWork) step {
	if w.first.IsZero() {
		w.first = r.now()
	}
	var p prepared
	if w.opening != nil {
		p, w.opening = <-w.opening, nil
	} else {
		w.actx, w.abort = context.WithTimeout(w.sendCtx, r.opts.AttemptTimeout)
		p = r.prepareItem(w.actx, w.it)
	}
	pre := p.pre
	if pre == nil {
		w.body, w.event = p.body, p.event
		return stepSlot
	}
	w.abort()
	r.noteError(w.it, w.attempt, pre.reason)
	if pre.class == classPermanent {
		r.final(w.it, Record{Type: RecFailed, Reason: pre.reason}, w.first, true)
		return stepDone
	}
	if w.try >= r.opts.MaxAttempts {
		r.final(w.it, Record{Type: RecFailed, Reason: fmt.Sprintf("gave up after %d tries to read the stored object, nothing was sent: %s", w.try, pre.reason)}, w.first, true)
		return stepDone
	}
	w.wait = r.backoff.delay(w.try)
	return stepBackoff
}

// onSlot waits for one of the Concurrency slots, then re-reads a status read longer
// than RecheckAfterWait ago: the decision to send is still made on a fresh read.
func (r *Run) onSlot(w *itemWork) step {
	drop := func() step {
		if w.body != nil {
			w.body.Close()
			w.body = nil
		}
		w.abort()
		r.bucket.refund()
		return stepDone
	}
	if !w.slot {
		if err := r.gate.Acquire(w.ctx); err != nil {
			return drop() // the run stopped: left as it was, for --resume
		}
		w.slot = true
	}
	if w.ctx.Err() != nil || r.isStopping() {
		// The slot came free from an item that stopped the run (the breaker, a refused
		// credential): nothing more is sent.
		w.releaseSlot(r)
		return drop()
	}
	if w.checked && r.now().Sub(w.checkedAt) > RecheckAfterWait {
		w.checkedAt = r.now()
		if done, ok := r.recheck(w.ctx, w.it, w.maybeSent, w.first); !ok || done {
			w.releaseSlot(r)
			return drop()
		}
	}
	return stepSend
}

func (w *itemWork) releaseSlot(r *Run) {
	if w.slot {
		w.slot = false
		r.gate.Release()
	}
}

// onSend sends once. An item keeps its slot through a backoff and the tries after it,
// so that a throttled or failing target sees fewer requests, not the same number from
// more items; the slot is freed when the item is done, after its outcome is journaled
// and has stopped the run if it must, so the next item cannot slip a request in first.
func (r *Run) onSend(w *itemWork) step {
	next := r.sendOnce(w)
	if next == stepDone {
		w.releaseSlot(r)
	}
	return next
}

func (r *Run) sendOnce(w *itemWork) step {
	it := w.it
	if !r.mayResend(w) {
		// The window closed while the item waited for its token, claim or slot.
		w.abort()
		r.bucket.refund()
		r.leaveUnknown(it, w.attempt, w.last.status, "an earlier attempt may have been delivered")
		return stepDone
	}
	w.attempt++
	r.mu.Lock()
	baseline := r.baseline[it.RequestID]
	r.mu.Unlock()
	sending := Record{Type: RecSending, ID: it.RequestID, Attempt: w.attempt, PreSend: baseline}
	journalSending := func() error {
		sending.At = r.now()
		err := r.journal.Append(sending)
		if err != nil {
			r.stop(OutcomeError, "the journal could not be written, so nothing more is sent: "+err.Error())
		}
		return err
	}
	if r.m.Mode.Batched() {
		// The batcher journals the item sending as its batch leaves: an item still
		// gathering into a batch when the process dies was not sent, and its journal
		// says so (a resume sends it, rather than leaving it unknown).
	} else if err := journalSending(); err != nil {
		if w.body != nil {
			w.body.Close()
		}
		w.abort()
		return stepDone
	}
	attempt := w.attempt
	if w.firstSend.IsZero() {
		w.firstSend = r.now() // just after the record: SQS accepts the message later still
	}
	r.setState(it.RequestID, StateSending, func(res *ItemResult) { res.Attempts = attempt })
	r.noteSent()

	var a attemptResult
	if r.m.Mode.IsEvent() {
		a = r.attemptEvent(w.sendCtx, w.event, journalSending)
	} else {
		a = r.attempt(w.actx, it, w.body)
	}
	w.body = nil
	w.abort()
	w.last = a
	rec := Record{At: r.now(), ID: it.RequestID, Attempt: w.attempt, HTTPStatus: a.status,
		NewRequestID: a.newID, GatewayRequestID: a.gatewayID, Reason: a.reason, DurationMS: ms(r.now().Sub(w.first))}
	switch a.class {
	case classDelivered:
		rec.Type, rec.Reason = RecDelivered, ""
		r.final(it, rec, w.first, false)
		return stepDone
	case classPermanent:
		rec.Type = RecFailed
		r.final(it, rec, w.first, false)
		r.noteError(it, w.attempt, a.reason)
		switch {
		case a.auth:
			// Every later request would be refused the same way.
			r.stop(OutcomeError, "access denied: "+a.reason+"; nothing more is sent — fix the credentials or permissions, then --resume")
		case a.stop != "":
			r.stop(OutcomeError, a.stop)
		}
		return stepDone
	}
	if a.class == classUnknown {
		r.mu.Lock()
		r.everMaybe[it.RequestID] = true
		r.mu.Unlock()
		w.mayDup = true
		if r.m.Mode == ModeReupload {
			r.leaveUnknown(it, w.attempt, a.status, a.reason)
			r.noteError(it, w.attempt, a.reason)
			return stepDone
		}
		w.maybeSent = true
	}
	// Retryable: journal this attempt's outcome first.
	rec.Type = RecRetrying
	if a.class == classUnknown {
		rec.Type = RecUnknown
	}
	if err := r.journal.Append(rec); err != nil {
		r.stop(OutcomeError, "the journal could not be written, so nothing more is sent: "+err.Error())
		return stepDone
	}
	r.noteError(it, w.attempt, a.reason)
	state := StateRetrying
	if w.maybeSent {
		state = StateUnknown
	}
	r.setState(it.RequestID, state, func(res *ItemResult) { res.HTTPStatus, res.Error = a.status, a.reason })
	switch {
	case a.aborted:
		return stepDone // Abort: leave it unknown for --resume to re-check
	case w.try >= r.opts.MaxAttempts && w.maybeSent:
		return stepLastLook
	case w.try >= r.opts.MaxAttempts:
		r.giveUp(w)
		return stepDone
	}
	w.wait = r.backoff.delay(w.try)
	if a.class == classUnknown {
		// Give the processor time to write the verdict the re-check looks for.
		w.wait = max(w.wait, r.opts.UnknownSettle)
	}
	return stepBackoff
}

func (r *Run) onBackoff(w *itemWork) step {
	if !sleepCtx(w.ctx, w.wait) {
		return stepDone
	}
	w.try++
	return stepCheck
}

// onLastLook reads the status once more after the settle wait: the processor may have
// written its verdict since the last unknown attempt.
func (r *Run) onLastLook(w *itemWork) step {
	if !sleepCtx(w.ctx, r.opts.UnknownSettle) {
		return stepDone
	}
	if done, ok := r.recheck(w.ctx, w.it, true, w.first); !ok || done {
		return stepDone
	}
	if r.m.Mode.IsEvent() && w.mayDup {
		// Out of tries, and the target may hold it: not a failure anyone should resend
		// blindly.
		r.leaveUnknown(w.it, w.attempt, w.last.status, "out of tries after an attempt that may have been delivered")
		return stepDone
	}
	r.giveUp(w)
	return stepDone
}

// giveUp fails an item out of tries.
func (r *Run) giveUp(w *itemWork) {
	a := w.last
	reason := fmt.Sprintf("gave up after %d attempts: %s", w.try, a.reason)
	if w.maybeSent {
		reason += " (an attempt may have been delivered: check its status before sending it again)"
	}
	r.final(w.it, Record{Type: RecFailed, ID: w.it.RequestID, Attempt: w.attempt, HTTPStatus: a.status,
		Reason: reason, DurationMS: ms(r.now().Sub(w.first))}, w.first, false)
}
