package redrive

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"strings"
	"sync"
	"time"

	"github.com/stowage-cli/stowage/awsclient"
	"github.com/stowage-cli/stowage/internal/config"
)

// Deps are what a run calls. Sender may be nil for s3-copy. Leases is nil when the
// environment has no lease table: then runs on other machines cannot see this one.
type Deps struct {
	Objects ObjectSource
	Status  StatusChecker
	// StatusBatch, when set, reads the first pre-send checks in batches ahead of the
	// dispatcher (see prefetch); nil reads one item at a time.
	StatusBatch StatusBatchReader
	Sender      Sender
	Leases      Claimer
	// Events sends the event modes' synthesized S3 events (nil without an events section).
	Events EventSender
}

// Options tune a run; zero values take the defaults below. Rate and concurrency come
// from the manifest; change them with SetRate and SetConcurrency, before Start or while
// the run runs.
type Options struct {
	// JournalPath is where New's run creates its journal (required for New; Resume
	// appends to the journal it read).
	JournalPath string
	// MaxAttempts is how many times one item is tried (DefaultMaxAttempts).
	MaxAttempts int
	// MaxFailureRatio stops the run once more than this share of the finished items
	// failed, after the first BreakerMinItems (DefaultMaxFailureRatio; 1 never trips).
	MaxFailureRatio float64
	BreakerMinItems int
	// Force sends items that are already in a success state.
	Force bool
	// OriginalIDHeader and RedriveIDHeader name the idempotency headers.
	OriginalIDHeader string
	RedriveIDHeader  string
	// ReadOnly refuses the run up front.
	ReadOnly bool
	// BackoffBase and BackoffMax bound the retry waits (200ms and 20s).
	BackoffBase time.Duration
	BackoffMax  time.Duration
	// AttemptTimeout bounds one request (DefaultAttemptTimeout).
	AttemptTimeout time.Duration
	// ProgressInterval is how often Updates gets a snapshot (100ms).
	ProgressInterval time.Duration
	// UnknownSettle is how long an attempt whose outcome is unknown waits before its
	// status is re-checked (DefaultUnknownSettle when 0; NoUnknownSettle, or any
	// negative value, re-checks at once): a real processor needs a moment to write the
	// verdict that proves delivery.
	UnknownSettle time.Duration
	// LeaseTTL is how long a claim holds a request (DefaultLeaseTTL).
	LeaseTTL time.Duration
	// Operator names who runs the redrive (the lease table shows it to other runs);
	// Start and ResumeSession default it to SessionConfig.Who.
	Operator string
	// Now and Rand replace the clock and the jitter source in tests.
	Now  func() time.Time
	Rand func() float64
}

// Defaults.
const (
	DefaultMaxAttempts      = 5
	DefaultMaxFailureRatio  = 0.5
	DefaultBreakerMinItems  = 20
	DefaultOriginalIDHeader = "X-Stowage-Original-Request-Id"
	DefaultRedriveIDHeader  = "X-Stowage-Redrive-Id"
	DefaultUnknownSettle    = 5 * time.Second
	// DefaultAttemptTimeout is just above API Gateway's 29 s integration limit: a
	// request still unanswered then will not be answered.
	DefaultAttemptTimeout = 35 * time.Second
	// DefaultLeaseTTL (config's redrive.lease_ttl default) holds a claim well beyond one
	// item's worst case with the defaults (5 attempts × 35 s + 4 backoffs of at most 20 s
	// + the settle waits ≈ 5 min), so a live run's claim never expires under it; the claim
	// is renewed before each send besides.
	DefaultLeaseTTL = config.DefaultLeaseTTL
	// NoUnknownSettle as Options.UnknownSettle re-checks an unknown outcome at once.
	NoUnknownSettle = -time.Nanosecond
)

func (o *Options) applyDefaults() {
	if o.MaxAttempts <= 0 {
		o.MaxAttempts = DefaultMaxAttempts
	}
	if o.MaxFailureRatio <= 0 {
		o.MaxFailureRatio = DefaultMaxFailureRatio
	}
	if o.BreakerMinItems <= 0 {
		o.BreakerMinItems = DefaultBreakerMinItems
	}
	if o.OriginalIDHeader == "" {
		o.OriginalIDHeader = DefaultOriginalIDHeader
	}
	if o.RedriveIDHeader == "" {
		o.RedriveIDHeader = DefaultRedriveIDHeader
	}
	if o.BackoffBase <= 0 {
		o.BackoffBase = 200 * time.Millisecond
	}
	if o.BackoffMax <= 0 {
		o.BackoffMax = 20 * time.Second
	}
	if o.AttemptTimeout <= 0 {
		o.AttemptTimeout = DefaultAttemptTimeout
	}
	if o.LeaseTTL <= 0 {
		o.LeaseTTL = DefaultLeaseTTL
	}
	if o.ProgressInterval <= 0 {
		o.ProgressInterval = 100 * time.Millisecond
	}
	switch {
	case o.UnknownSettle == 0:
		o.UnknownSettle = DefaultUnknownSettle
	case o.UnknownSettle < 0:
		o.UnknownSettle = 0
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Rand == nil {
		o.Rand = rand.Float64
	}
}

// ErrRefusedReadOnly is returned by New and Resume for a read-only environment.
var ErrRefusedReadOnly = fmt.Errorf("redrive refused: %w (read_only in the config or --read-only); nothing was sent — use --dry-run to see the plan", awsclient.ErrReadOnly)

// Run is one redrive in progress. Its methods are safe to call from any goroutine.
type Run struct {
	deps    Deps
	opts    Options
	m       *Manifest
	resumed *JournalState // nil for a new run

	bucket   *tokenBucket
	gate     *gate // requests in flight (slot → send)
	window   *gate // items under way: twice gate's limit
	backoff  backoff
	prefetch *prefetch     // nil without Deps.StatusBatch
	batcher  *eventBatcher // the batched event modes' calls
	leases   *leaseBatcher // nil unless Deps.Leases is a LeaseBatcher

	journal *Journal

	mu        sync.Mutex
	started   bool
	startedAt time.Time
	items     map[string]*ItemResult
	everMaybe map[string]bool
	// firstSend is when a resumed FIFO run first journaled each item sending
	// (FIFODedupResendWindow counts from it).
	firstSend map[string]time.Time
	// baseline is each item's status as read just before its latest send: any change
	// since proves that send (or an earlier one) reached the processor.
	baseline map[string]*StatusRead
	// unsent counts the failed items refused before anything left (too large, changed
	// since planning): they say nothing about the target, so the breaker ignores them.
	unsent int
	// claimed marks the items this run may hold in the lease table (claimed here, or sent
	// by the process this one resumes): their end is recorded there.
	claimed       map[string]bool
	leaseNotes    map[string]string // by request ID: a claim taken over
	leaseWarnings []string
	// settleFrom is when the resumed journal last recorded anything (journaledAt).
	settleFrom time.Time
	tuned      bool      // SetRate or SetConcurrency changed a setting after Start
	rateFrom   time.Time // the measured rate counts sends from here: the start, or the last rate change
	counts     Counts
	sent       int
	sendTimes  []time.Time
	doneTimes  []time.Time
	lastErrors []ItemError
	stopping   bool
	finished   bool // the outcome is final
	outcome    Outcome
	stopReason string

	stopDispatch context.CancelFunc
	abortSends   context.CancelFunc
	unpaceGC     func() // restores the collector's pace (paceGC) when the run ends
	updates      chan Progress
	done         chan struct{}
	report       *Report
}

// New prepares a run of m. It refuses a read-only environment, and a gateway mode
// without a Sender. Nothing happens until Start.
func New(deps Deps, m *Manifest, opts Options) (*Run, error) {
	if opts.JournalPath == "" {
		return nil, errors.New("redrive: a journal path is required")
	}
	return newRun(deps, m, nil, opts)
}

// Resume prepares the continuation of the run journaled in st: delivered, failed and
// skipped items are left alone; items that were in flight or whose outcome is unknown are
// re-checked against the status table before anything is sent again; the rest are sent.
func Resume(deps Deps, st *JournalState, opts Options) (*Run, error) {
	if st == nil || st.Manifest == nil || st.Path == "" {
		return nil, errors.New("redrive: resume needs a journal read with LoadJournal")
	}
	opts.JournalPath = st.Path
	return newRun(deps, st.Manifest, st, opts)
}

func newRun(deps Deps, m *Manifest, st *JournalState, opts Options) (*Run, error) {
	if opts.ReadOnly {
		return nil, ErrRefusedReadOnly
	}
	if m == nil {
		return nil, errors.New("redrive: no manifest")
	}
	if _, err := ParseMode(string(m.Mode)); err != nil {
		return nil, fmt.Errorf("redrive: the manifest's %w", err)
	}
	if m.Mode.IsEvent() && m.Event == nil {
		return nil, fmt.Errorf("redrive: the manifest has no event target for mode %s", m.Mode)
	}
	if m.Mode.IsEvent() && deps.Events == nil {
		return nil, fmt.Errorf("redrive: mode %s needs the event clients: name the target in the environment's events section", m.Mode)
	}
	if m.Mode.UsesGateway() && (m.Target.Method == "" || m.Target.Path == "") {
		return nil, fmt.Errorf("redrive: the manifest has no gateway route for mode %s", m.Mode)
	}
	if m.Mode.UsesGateway() && deps.Sender == nil {
		return nil, fmt.Errorf("redrive: mode %s needs the gateway client", m.Mode)
	}
	if deps.Objects == nil || deps.Status == nil {
		return nil, errors.New("redrive: the object store and the status table are required")
	}
	opts.applyDefaults()
	r := &Run{
		deps: deps, opts: opts, m: m, resumed: st,
		bucket:     newTokenBucket(m.Rate, opts.Now),
		gate:       newGate(itemsInFlight(m.Mode, m.Concurrency)),
		window:     newGate(windowFor(itemsInFlight(m.Mode, m.Concurrency))),
		backoff:    backoff{base: opts.BackoffBase, max: opts.BackoffMax, rand: opts.Rand},
		items:      make(map[string]*ItemResult, len(m.Items)),
		everMaybe:  map[string]bool{},
		firstSend:  map[string]time.Time{},
		baseline:   map[string]*StatusRead{},
		claimed:    map[string]bool{},
		leaseNotes: map[string]string{},
		updates:    make(chan Progress, 1),
		done:       make(chan struct{}),
	}
	if deps.StatusBatch != nil {
		r.prefetch = newPrefetch(deps.StatusBatch, r.now)
	}
	if m.Mode.Batched() {
		r.batcher = newEventBatcher(r, m.Concurrency)
	}
	if lb, ok := deps.Leases.(LeaseBatcher); ok {
		r.leases = newLeaseBatcher(r, lb)
	}
	if st != nil {
		r.settleFrom = journaledAt(st, r.now())
		if m.Mode == ModeSQS && m.Event.FIFO() {
			r.firstSend = firstSendings(st.Path)
		}
	}
	for _, it := range m.Items {
		res := &ItemResult{RunID: m.RunID, RequestID: it.RequestID, Key: it.Key, Mode: m.Mode, State: StatePending}
		if st != nil {
			if t := st.Items[it.RequestID]; t != nil {
				res.State, res.Attempts, res.HTTPStatus = t.State, t.Attempts, t.HTTPStatus
				res.NewRequestID, res.Error, res.Duration = t.NewRequestID, t.Reason, t.Duration
				res.GatewayRequestID = t.GatewayRequestID
				if t.State == StateDelivered || t.State == StateSkipped {
					res.Error = ""
				}
				r.everMaybe[it.RequestID] = t.EverUnknown
				r.claimed[it.RequestID] = t.Attempts > 0 || t.EverUnknown
				if t.PreSend != nil {
					r.baseline[it.RequestID] = t.PreSend
				}
			}
		}
		r.items[it.RequestID] = res
		r.counts.add(res.State, 1)
	}
	return r, nil
}

// Manifest is the manifest the run sends.
func (r *Run) Manifest() *Manifest { return r.m }

// JournalPath is where the run journals.
func (r *Run) JournalPath() string { return r.opts.JournalPath }

// SetRate changes the rate limit (requests per second; 0 = unlimited) at once.
func (r *Run) SetRate(rate float64) {
	rate = max(0, rate)
	if rate != r.bucket.Rate() {
		r.noteTuned()
		// The window holds sends at the old rate: measure again from now.
		r.mu.Lock()
		r.rateFrom = r.now()
		r.mu.Unlock()
	}
	r.bucket.SetRate(rate)
}

// SetConcurrency changes the cap on requests in flight (at least 1). In the batched
// event modes a request is a call of up to EventBatchSize items.
func (r *Run) SetConcurrency(n int) {
	if max(1, n) != r.concurrency() {
		r.noteTuned()
	}
	items := itemsInFlight(r.m.Mode, n)
	r.gate.SetLimit(items)
	r.window.SetLimit(windowFor(items))
	if r.batcher != nil {
		r.batcher.setLimit(n)
	}
}

// concurrency is the cap on requests in flight.
func (r *Run) concurrency() int {
	if r.batcher != nil {
		return r.batcher.calls.Limit()
	}
	return r.gate.Limit()
}

// noteTuned remembers a change made while the run runs, for the audit log; settings
// given before Start are what the run was started with.
func (r *Run) noteTuned() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.startedAt.IsZero() {
		return
	}
	r.tuned = true
}

// Cancel stops dispatching: requests in flight finish and are journaled, nothing new is
// sent. What was sent is not undone.
func (r *Run) Cancel() { r.stop(OutcomeCanceled, "cancelled by the operator") }

// Abort cancels as Cancel does and also cuts the requests in flight; their outcome is
// journaled unknown.
func (r *Run) Abort() {
	r.stop(OutcomeCanceled, "aborted by the operator")
	r.mu.Lock()
	abort := r.abortSends
	r.mu.Unlock()
	if abort != nil {
		abort()
	}
}

// Updates delivers progress snapshots while the run runs (only the latest is kept if the
// reader is slow) and is closed after the final one.
func (r *Run) Updates() <-chan Progress { return r.updates }

// Done is closed when the run has stopped and its journal is closed.
func (r *Run) Done() <-chan struct{} { return r.done }

// Wait blocks until the run stops and returns its report.
func (r *Run) Wait() *Report {
	<-r.done
	return r.report
}

// Start opens the journal (creating it, or appending to the resumed one) and starts
// sending in the background. ctx ending cancels the run as Cancel does: requests in
// flight still finish (each within AttemptTimeout).
func (r *Run) Start(ctx context.Context) error {
	r.mu.Lock()
	if r.started {
		r.mu.Unlock()
		return errors.New("redrive: run already started")
	}
	r.started = true
	r.mu.Unlock()

	var err error
	if r.resumed != nil {
		r.journal, err = openJournalForAppend(r.resumed)
		if err == nil {
			err = r.journal.Append(Record{Type: RecResumed, At: r.now()})
		}
	} else {
		r.journal, err = CreateJournal(r.opts.JournalPath, r.m)
	}
	if err != nil {
		if r.journal != nil {
			r.journal.Close()
		}
		r.mu.Lock()
		r.started = false
		r.mu.Unlock()
		return err
	}

	dispatchCtx, stopDispatch := context.WithCancel(ctx)
	sendCtx, abortSends := context.WithCancel(context.WithoutCancel(ctx))
	r.mu.Lock()
	r.startedAt = r.now()
	r.rateFrom = r.startedAt
	r.stopDispatch, r.abortSends = stopDispatch, abortSends
	r.mu.Unlock()

	go func() {
		<-dispatchCtx.Done()
		r.stop(OutcomeCanceled, "cancelled by the operator") // a no-op if already stopping
	}()
	r.unpaceGC = paceGC()
	go r.dispatch(dispatchCtx, sendCtx)
	return nil
}

func (r *Run) now() time.Time { return r.opts.Now().UTC() }

// stop stops dispatching for the first reason given.
func (r *Run) stop(outcome Outcome, reason string) {
	r.mu.Lock()
	if !r.stopping && !r.finished {
		r.stopping, r.outcome, r.stopReason = true, outcome, reason
	}
	cancel := r.stopDispatch
	r.mu.Unlock()
	if cancel != nil {
		cancel()
	}
}

func (r *Run) isStopping() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.stopping
}

func (r *Run) dispatch(ctx, sendCtx context.Context) {
	stopTicker := make(chan struct{})
	tickerDone := make(chan struct{})
	go func() {
		defer close(tickerDone)
		t := time.NewTicker(r.opts.ProgressInterval)
		defer t.Stop()
		for {
			select {
			case <-stopTicker:
				return
			case <-t.C:
				r.publish(r.Snapshot())
			}
		}
	}()

	pool := r.newItemPool(ctx, sendCtx)
	r.checkBus(ctx) // a missing bus stops the run: the loop sends nothing
	for i, it := range r.m.Items {
		if r.state(it.RequestID).Final() {
			continue
		}
		if r.isStopping() || r.window.Acquire(ctx) != nil {
			break
		}
		if r.prefetch != nil {
			r.prefetch.ahead(ctx, r, i)
		}
		if r.isStopping() {
			r.window.Release()
			break
		}
		pool.run(it)
	}
	pool.wait()
	if r.leases != nil {
		r.leases.wait() // the finishes the items queued
	}
	if ctx.Err() != nil {
		// The caller's context ended; say so even if Start's watcher has not run yet.
		r.stop(OutcomeCanceled, "cancelled by the operator")
	}
	close(stopTicker)
	<-tickerDone
	r.finish()
}

// finish writes the end record, closes the journal and publishes the report.
func (r *Run) finish() {
	r.mu.Lock()
	if !r.stopping {
		r.outcome = OutcomeDelivered
		if r.counts.Failed+r.counts.Unknown+r.counts.Sending+r.counts.Retrying+r.counts.Pending > 0 {
			r.outcome = OutcomeFailed
		}
	}
	r.finished = true // no later stop may rewrite the outcome
	counts := r.counts
	outcome := r.outcome
	r.mu.Unlock()
	if err := r.journal.Append(Record{Type: RecEnd, At: r.now(), Outcome: outcome, Counts: &counts}); err != nil {
		r.stop(OutcomeError, err.Error())
	}
	r.journal.Close()
	r.unpaceGC()

	final := r.Snapshot()
	final.Done = true
	r.mu.Lock()
	r.report = r.buildReport()
	r.mu.Unlock()
	r.publish(final)
	close(r.updates)
	if r.stopDispatch != nil {
		r.stopDispatch()
		r.abortSends()
	}
	close(r.done)
}

func (r *Run) publish(p Progress) {
	select { // drop a snapshot nobody read yet: only the latest matters
	case <-r.updates:
	default:
	}
	select {
	case r.updates <- p:
	default:
	}
}

func (r *Run) state(id string) ItemState {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.items[id].State
}

// UnknownReuploadReason is the per-item reason of a reupload whose outcome is unknown.
const UnknownReuploadReason = "the gateway may have stored it under a new request ID; check before redriving it again"

// UnknownEventReason is the per-item reason of an event whose outcome is unknown (or
// whose process died with it in flight) and whose status has not changed: the target
// may hold it for a processor that has not consumed it yet, and it deduplicates nothing
// (a FIFO queue only for five minutes).
const UnknownEventReason = "the target may hold it and the processor not have consumed it yet, so it was not sent again; " +
	"check the queue (or the function's or the bus's deliveries) and the processor, then send what is still not processed with " +
	"redrive --from-report REPORT --only unknown"

// leaveUnknown ends an item whose delivery is unknown and must not be sent again
// automatically (a reupload; an event past what its target deduplicates): journaled
// unknown, not retried, reported so that the operator decides.
func (r *Run) leaveUnknown(it Item, attempt, status int, why string) {
	reason := why + ": " + UnknownReuploadReason
	if r.m.Mode.IsEvent() {
		reason = why + ": " + UnknownEventReason
	}
	rec := Record{Type: RecUnknown, At: r.now(), ID: it.RequestID, Attempt: attempt, HTTPStatus: status, Reason: reason}
	if err := r.journal.Append(rec); err != nil {
		r.stop(OutcomeError, "the journal could not be written, so nothing more is sent: "+err.Error())
		return
	}
	r.setState(it.RequestID, StateUnknown, func(res *ItemResult) {
		res.Error = reason
		if status != 0 {
			res.HTTPStatus = status
		}
	})
}

// RecheckAfterWait bounds how old the status read behind a skip/send decision may be
// when the rate token is taken: a read older than this (a long wait for the token, or a
// batch read ahead of the dispatcher that waited) is read again with GetItem, so the
// decision is always made on a status read at most this long before the claim, the
// pinned GET and the send that follow.
const RecheckAfterWait = time.Second

// prefetch reads the statuses of the items about to be dispatched with BatchGetItem, a
// sliding window ahead of the dispatcher, so that an item's first check usually costs no
// round trip of its own (see window).
type prefetch struct {
	reader StatusBatchReader
	now    func() time.Time

	mu      sync.Mutex
	reads   map[string]*batchRead // by request ID, until taken
	covered int                   // manifest index up to which reads were issued
	issued  time.Time             // when the last batch was issued
	lastN   int                   // its size
}

// batchRead is one BatchGetItem call of up to maxBatchKeys items.
type batchRead struct {
	done     chan struct{}
	at       time.Time // when it was sent
	statuses map[string]awsclient.Status
	err      error
}

// maxBatchKeys is BatchGetItem's limit.
const maxBatchKeys = 100

func newPrefetch(reader StatusBatchReader, now func() time.Time) *prefetch {
	return &prefetch{reader: reader, now: now, reads: map[string]*batchRead{}}
}

// ahead makes sure a read is in flight for the item at index i, which is about to be
// dispatched. At a known pace it reads a little ahead, so the next batch is back before
// its first item is dispatched; the batch and the lead together are what the dispatcher
// takes in half of RecheckAfterWait, so the reads are still fresh when used.
func (p *prefetch) ahead(ctx context.Context, r *Run, i int) {
	p.mu.Lock()
	now := p.now()
	lead, n := p.window(now, r.gate.Limit())
	if i+lead < p.covered {
		p.mu.Unlock()
		return
	}
	var ids []string
	j := max(i, p.covered)
	for ; j < len(r.m.Items) && len(ids) < n; j++ {
		id := r.m.Items[j].RequestID
		if st := r.state(id); st.Final() || st.MaybeSent() {
			continue // finished, or re-checked after its settle wait
		}
		ids = append(ids, id)
	}
	p.covered, p.issued, p.lastN = j, now, len(ids)
	if len(ids) == 0 {
		p.mu.Unlock()
		return
	}
	b := &batchRead{done: make(chan struct{}), at: now}
	for _, id := range ids {
		p.reads[id] = b
	}
	p.mu.Unlock()
	go func() {
		defer close(b.done)
		b.statuses, b.err = p.reader.BatchGet(ctx, ids)
	}()
}

// window is how far ahead to read and how many items the next batch reads, from the
// dispatcher's pace since the last batch: together what it takes in half of
// RecheckAfterWait. Before the pace is known: no lead, and a concurrency's worth.
func (p *prefetch) window(now time.Time, concurrency int) (lead, n int) {
	if p.issued.IsZero() || p.lastN == 0 {
		return 0, min(maxBatchKeys, max(1, concurrency))
	}
	budget := maxBatchKeys * 2
	if el := now.Sub(p.issued); el > 0 {
		budget = int(float64(p.lastN) / el.Seconds() * RecheckAfterWait.Seconds() / 2)
	}
	lead = min(concurrency, budget/2)
	return lead, min(maxBatchKeys, max(1, budget-lead))
}

// take returns the batch read of id (waiting for it), or nil when there is none.
func (p *prefetch) take(ctx context.Context, id string) *batchRead {
	p.mu.Lock()
	b := p.reads[id]
	delete(p.reads, id)
	p.mu.Unlock()
	if b == nil {
		return nil
	}
	select {
	case <-b.done:
		return b
	case <-ctx.Done():
		return nil
	}
}

// recheck reads the item's status just before sending. done reports that the item was
// finished here (skipped, or delivered by an earlier attempt); ok is false when the run
// stopped or the journal failed.
func (r *Run) recheck(ctx context.Context, it Item, maybeSent bool, first time.Time) (done, ok bool) {
	st, found, _, err := r.readStatus(ctx, it)
	return r.judge(ctx, it, maybeSent, first, st, found, err)
}

// readStatus reads one item's status (GetItem, retried on throttling). at is when the
// read was sent: the status is at least that fresh.
func (r *Run) readStatus(ctx context.Context, it Item) (st awsclient.Status, found bool, at time.Time, err error) {
	for try := 1; try <= 3; try++ {
		at = r.now()
		st, found, err = r.deps.Status.Get(ctx, it.RequestID)
		if err == nil || ctx.Err() != nil || !awsclient.KindOf(err).Retryable() {
			break
		}
		if !sleepCtx(ctx, r.backoff.delay(try)) {
			return st, found, at, ctx.Err()
		}
	}
	return st, found, at, err
}

// firstCheck is the check of an item's first try: from the batch read ahead of the
// dispatcher when that read is no older than RecheckAfterWait, else one GetItem. It
// returns when the status used was read.
func (r *Run) firstCheck(ctx context.Context, it Item, first time.Time) (done, ok bool, at time.Time) {
	if r.prefetch != nil {
		if b := r.prefetch.take(ctx, it.RequestID); b != nil && b.err == nil && r.now().Sub(b.at) <= RecheckAfterWait {
			st, found := b.statuses[it.RequestID]
			done, ok = r.judge(ctx, it, false, first, st, found, nil)
			return done, ok, b.at
		}
	}
	st, found, at, err := r.readStatus(ctx, it)
	done, ok = r.judge(ctx, it, false, first, st, found, err)
	return done, ok, at
}

// judge decides from a status read (or its failure) whether the item is finished here.
func (r *Run) judge(ctx context.Context, it Item, maybeSent bool, first time.Time, st awsclient.Status, found bool, err error) (done, ok bool) {
	if ctx.Err() != nil {
		return false, false
	}
	if err != nil {
		reason := "could not re-check the status before sending, so nothing was sent: " + err.Error()
		if maybeSent {
			reason = "could not re-check the status of an attempt that may have been delivered, so it was not sent again: " + err.Error()
		}
		r.final(it, Record{Type: RecFailed, ID: it.RequestID, Reason: reason}, first, false)
		r.noteError(it, 0, reason)
		return true, r.journalOK()
	}
	read := &StatusRead{Found: found}
	if found {
		read.State, read.Attempts, read.UpdatedAt, read.Error = st.State, st.Attempts, st.UpdatedAt.UTC(), st.Error
	}
	if first.IsZero() {
		// Nothing sent by this run yet: this is the status the processor's next verdict
		// will be told apart from.
		r.setPreSend(it.RequestID, read)
	}
	r.mu.Lock()
	base := r.baseline[it.RequestID]
	r.mu.Unlock()
	if maybeSent && base != nil {
		if what := base.ChangedIn(read); what != "" {
			// The processor wrote since the send: it received the request, whatever its
			// verdict (a FAILED again is a delivered request that failed again).
			r.final(it, Record{Type: RecDelivered, ID: it.RequestID,
				Reason: "confirmed by status change (" + what + "): an earlier attempt was delivered"}, first, false)
			return true, r.journalOK()
		}
	}
	r.mu.Lock()
	r.baseline[it.RequestID] = read // the status the next send is told apart from
	r.mu.Unlock()
	if !found || !r.m.IsSuccess(st.State) {
		return r.changedSincePlanning(it, read, maybeSent, first)
	}
	// A success state confirms an earlier attempt only if the item was not already in
	// one when planned (a forced run): then it proves nothing, and the item is resent.
	if maybeSent && r.m.IsSuccess(it.Status) {
		return false, true
	}
	if maybeSent {
		r.final(it, Record{Type: RecDelivered, ID: it.RequestID,
			Reason: "status is " + st.State + ": an earlier attempt was delivered"}, first, false)
		return true, r.journalOK()
	}
	if r.opts.Force {
		return false, true
	}
	r.final(it, Record{Type: RecSkipped, ID: it.RequestID,
		Reason: "already " + st.State + " (use --force to send it anyway)"}, first, false)
	return true, r.journalOK()
}

// changedSincePlanning skips an item whose status item is no longer the planned one
// (someone redrove it, or the processor ran again): the operator confirmed what they saw.
// Manifests without a snapshot, forced runs and items this run may have sent pass.
func (r *Run) changedSincePlanning(it Item, read *StatusRead, maybeSent bool, first time.Time) (done, ok bool) {
	if it.Planned == nil || r.opts.Force || maybeSent {
		return false, true
	}
	what := it.Planned.ChangedIn(read)
	if what == "" {
		return false, true
	}
	r.final(it, Record{Type: RecSkipped, ID: it.RequestID,
		Reason: "changed since planning (" + what + "); plan again to see it, or use --force to send it anyway"}, first, false)
	return true, r.journalOK()
}

func (r *Run) journalOK() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.outcome != OutcomeError
}

// finalStates is the item state of each final record.
var finalStates = map[RecordType]ItemState{RecDelivered: StateDelivered, RecFailed: StateFailed, RecSkipped: StateSkipped}

// final journals an item's last record and updates the counts; a journal failure stops
// the run. unsent marks a failure refused before anything left, which the circuit breaker
// does not count: it says nothing about the target.
func (r *Run) final(it Item, rec Record, first time.Time, unsent bool) {
	rec.ID = it.RequestID
	if rec.At.IsZero() {
		rec.At = r.now()
	}
	if !first.IsZero() && rec.DurationMS == 0 {
		rec.DurationMS = ms(r.now().Sub(first))
	}
	// Written, not waited for: the item's worker syncs before it ends (work), and every
	// later sending record's fsync covers it; the slot need not be held for the disk.
	if _, err := r.journal.write(&rec); err != nil {
		r.stop(OutcomeError, "the journal could not be written, so nothing more is sent: "+err.Error())
		return
	}
	state := finalStates[rec.Type]
	r.setState(it.RequestID, state, func(res *ItemResult) {
		res.HTTPStatus = rec.HTTPStatus
		res.Error = rec.Reason
		if rec.NewRequestID != "" {
			res.NewRequestID = rec.NewRequestID
		}
		if rec.GatewayRequestID != "" {
			res.GatewayRequestID = rec.GatewayRequestID
		}
		res.Duration = time.Duration(rec.DurationMS * float64(time.Millisecond))
		if rec.Type == RecDelivered {
			res.Note, res.Error = rec.Reason, ""
		}
		if rec.Type == RecSkipped {
			res.Note, res.Error = rec.Reason, ""
		}
		if n := r.leaseNotes[it.RequestID]; n != "" {
			res.Note = strings.TrimPrefix(res.Note+"; "+n, "; ")
		}
	})
	r.mu.Lock()
	r.doneTimes = append(r.doneTimes, r.now())
	if unsent && rec.Type == RecFailed {
		r.unsent++
	}
	c, unsentN := r.counts, r.unsent
	r.mu.Unlock()
	failed := c.Failed - unsentN
	finished := c.Delivered + failed
	if finished >= r.opts.BreakerMinItems && float64(failed) > r.opts.MaxFailureRatio*float64(finished) {
		r.stop(OutcomeTripped, fmt.Sprintf(
			"circuit breaker: %d of %d finished items failed (more than %.0f%%); nothing more is sent — fix the cause, then --resume",
			failed, finished, r.opts.MaxFailureRatio*100))
	}
}

func (r *Run) setState(id string, s ItemState, update func(*ItemResult)) {
	r.mu.Lock()
	defer r.mu.Unlock()
	res := r.items[id]
	r.counts.add(res.State, -1)
	res.State = s
	r.counts.add(s, 1)
	if update != nil {
		update(res)
	}
}

func (r *Run) setPreSend(id string, read *StatusRead) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.items[id].PreSend = read
}

func (r *Run) noteSent() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.sent++
	r.sendTimes = append(r.sendTimes, r.now())
}

func (r *Run) noteError(it Item, attempt int, reason string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.lastErrors = append(r.lastErrors, ItemError{RequestID: it.RequestID, Attempt: attempt, Err: reason, At: r.now()})
	if n := len(r.lastErrors); n > MaxLastErrors {
		r.lastErrors = append([]ItemError(nil), r.lastErrors[n-MaxLastErrors:]...)
	}
}

// RateWindow is how far back the measured rate looks. Until a run has run this long its
// rate is not reported: the first burst of the token bucket (and of the concurrency)
// would read as the rate ("223.5/s (limit 20/s)").
const RateWindow = 2 * time.Second

// Snapshot is the run's progress now.
func (r *Run) Snapshot() Progress {
	r.mu.Lock()
	defer r.mu.Unlock()
	now := r.now()
	r.sendTimes = trimBefore(r.sendTimes, now.Add(-RateWindow))
	r.doneTimes = trimBefore(r.doneTimes, now.Add(-RateWindow))
	p := Progress{
		RunID: r.m.RunID, Total: len(r.m.Items), Counts: r.counts, Sent: r.sent,
		TargetRate: r.bucket.Rate(), Concurrency: r.concurrency(), InFlight: r.counts.Sending,
		LastErrors: append([]ItemError(nil), r.lastErrors...),
		Stopping:   r.stopping, StopReason: r.stopReason,
		NoLeaseTable: r.deps.Leases == nil, LeaseWarnings: append([]string(nil), r.leaseWarnings...),
	}
	if !r.startedAt.IsZero() {
		p.Elapsed = now.Sub(r.startedAt)
	}
	itemRate := 0.0
	if !r.rateFrom.IsZero() && now.Sub(r.rateFrom) >= RateWindow {
		p.RateMeasured = true
		p.Rate = float64(len(r.sendTimes)) / RateWindow.Seconds()
		itemRate = float64(len(r.doneTimes)) / RateWindow.Seconds()
	}
	p.ETA = eta(p.Total-r.counts.Done(), itemRate, p.TargetRate)
	return p
}

// eta is the time left for remaining items at the measured rate, but never faster than
// the limit (0: none); 0 when neither is known.
func eta(remaining int, measured, limit float64) time.Duration {
	speed := measured
	if limit > 0 && (speed <= 0 || limit < speed) {
		speed = limit
	}
	if remaining <= 0 || speed <= 0 {
		return 0
	}
	return time.Duration(float64(remaining) / speed * float64(time.Second))
}

func trimBefore(ts []time.Time, cutoff time.Time) []time.Time {
	i := 0
	for i < len(ts) && ts[i].Before(cutoff) {
		i++
	}
	if i == 0 {
		return ts
	}
	return append(ts[:0], ts[i:]...)
}

func sleepCtx(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// attemptClass is what one attempt's outcome means for the item.
type attemptClass int

const (
	classDelivered attemptClass = iota
	classPermanent              // do not retry
	classRetry                  // safe to retry: the request was not taken
	classUnknown                // may have been delivered: re-check before retrying
)

type attemptResult struct {
	class     attemptClass
	status    int
	newID     string // reupload: the request's new ID
	gatewayID string // the gateway's x-amzn-RequestId of the call
	reason    string
	aborted   bool   // Abort cut the request
	auth      bool   // refused for credentials or permissions: every later request would be too
	stop      string // every later request would fail the same way: why the run stops
}

// maxReason bounds an error kept in the journal and the report.
const maxReason = 500

// prepare opens the stored object and checks it is the planned one, before anything is
// journaled as sending. It returns the open body (nil for s3-copy, whose pin the server
// checks), or the reason nothing can be sent: permanent (changed, gone) or retryable.
func (r *Run) prepare(ctx context.Context, it Item) (io.ReadCloser, *attemptResult) {
	if r.m.Mode == ModeS3Copy && !r.waitNextSecond(ctx, it) {
		return nil, &attemptResult{class: classRetry, reason: "cancelled before the copy; nothing was sent"}
	}
	if !r.m.Mode.UsesGateway() || it.Size == 0 {
		return nil, nil
	}
	rc, err := r.open(ctx, it)
	if err == nil {
		return rc, nil
	}
	a := classifyErr(err, 0, err, ctx, r.m.Mode)
	if a.class != classPermanent {
		a.class = classRetry
	}
	a.reason += "; nothing was sent"
	return nil, &a
}

// attempt sends the item once, within ctx (one attempt's timeout). body is prepare's
// open body: the first Open returns it, a later one (the send after SigV4 hashed the
// first) opens the object again.
func (r *Run) attempt(ctx context.Context, it Item, body io.ReadCloser) attemptResult {
	if r.m.Mode == ModeS3Copy {
		// Pinned by ETag only: a version pin would copy the planned version over a newer one.
		obj, err := r.deps.Objects.CopyInPlace(ctx, it.Key, awsclient.Pin{ETag: it.ETag})
		if err == nil {
			if !copyTookEffect(it, obj) {
				return attemptResult{class: classPermanent, reason: NotRefiredReason}
			}
			return attemptResult{class: classDelivered}
		}
		return classifyErr(err, 0, nil, ctx, r.m.Mode)
	}
	src := &sourceErr{}
	var mu sync.Mutex
	defer func() {
		mu.Lock()
		if body != nil {
			body.Close() // never handed to the client
		}
		mu.Unlock()
	}()
	ctype, cenc := it.ContentType, it.ContentEncoding
	if ob, ok := body.(*openBody); ok && ctype == "" && cenc == "" {
		// Planned from a listing, which does not say: the pinned GET does.
		ctype, cenc = ob.obj.ContentType, ob.obj.ContentEncoding
	}
	p := awsclient.Payload{
		Open: func() (io.ReadCloser, error) {
			mu.Lock()
			rc := body
			body = nil
			mu.Unlock()
			if rc == nil {
				var err error
				if rc, err = r.open(ctx, it); err != nil {
					src.set(err)
					return nil, err
				}
			}
			return &watchedReader{rc: rc, src: src}, nil
		},
		Size:            it.Size,
		ContentType:     ctype,
		ContentEncoding: cenc,
		Headers: map[string]string{
			r.opts.OriginalIDHeader: it.RequestID,
			r.opts.RedriveIDHeader:  r.m.RunID,
		},
	}
	route := awsclient.Route{Method: r.m.Target.Method, Path: r.m.Target.Path}
	vars := awsclient.RouteVars{Bucket: r.m.Bucket, Key: it.Key, RequestID: it.RequestID}
	resp, err := r.deps.Sender.Send(ctx, route, vars, p)
	if err == nil && resp.StatusCode >= 200 && resp.StatusCode < 300 {
		a := attemptResult{class: classDelivered, status: resp.StatusCode, gatewayID: resp.RequestID}
		if r.m.Mode == ModeReupload {
			// Only a reupload gets a new ID; in place the request keeps its own.
			a.newID = resp.RequestID
		}
		return a
	}
	if err == nil {
		err = fmt.Errorf("the gateway answered HTTP %d", resp.StatusCode)
	}
	a := classifyErr(err, resp.StatusCode, src.get(), ctx, r.m.Mode)
	a.gatewayID = resp.RequestID
	return a
}

// open streams the current object and checks it is the planned one before a byte is
// read: the GET carries If-Match with the planned ETag, so S3 answers 412 (KindChanged:
// "changed since planning", nothing sent) for an object replaced since; the checks below
// cover servers that ignore If-Match and objects without ETags (a different version).
// The current object is read rather than the planned version, because sending an older
// version in place would overwrite the newer one.
func (r *Run) open(ctx context.Context, it Item) (io.ReadCloser, error) {
	rc, obj, err := r.deps.Objects.Get(ctx, it.Key, awsclient.Pin{ETag: it.ETag})
	if err != nil {
		return nil, err
	}
	changed := ""
	switch {
	case it.ETag != "" && obj.ETag != "" && obj.ETag != it.ETag:
		changed = fmt.Sprintf("ETag is %s, planned %s", obj.ETag, it.ETag)
	case it.ETag == "" && it.VersionID != "" && obj.VersionID != it.VersionID:
		changed = fmt.Sprintf("version is %s, planned %s", obj.VersionID, it.VersionID)
	case obj.Size != it.Size:
		changed = fmt.Sprintf("size is %d, planned %d", obj.Size, it.Size)
	}
	if changed != "" {
		rc.Close()
		return nil, &awsclient.Error{Kind: awsclient.KindChanged, Op: "get", Resource: "s3://" + r.m.Bucket + "/" + it.Key,
			Code: "PreconditionFailed", Message: changed}
	}
	return &openBody{ReadCloser: rc, obj: obj}, nil
}

// openBody is a stored body with what its GET said about the object (content headers).
type openBody struct {
	io.ReadCloser
	obj awsclient.Object
}

// classifyErr decides whether a failed attempt may be retried and whether it may have
// been delivered. srcErr is a failure reading the stored object, which the gateway client
// would otherwise report as its own.
func classifyErr(err error, status int, srcErr error, ctx context.Context, mode Mode) attemptResult {
	a := attemptResult{status: status, reason: reasonOf(err)}
	if srcErr != nil {
		a.reason = reasonOf(srcErr)
		switch awsclient.KindOf(srcErr) {
		case awsclient.KindChanged:
			a.class, a.reason = classPermanent, "changed since planning: "+a.reason+"; plan again to send the current version"
		case awsclient.KindNotFound:
			a.class, a.reason = classPermanent, "the stored object is gone: "+a.reason
		default:
			if awsclient.KindOf(srcErr).Retryable() {
				// The body was cut short, so the gateway cannot have taken the request.
				a.class = classRetry
			} else {
				a.class, a.auth = classPermanent, isAuth(awsclient.KindOf(srcErr))
			}
		}
		return a
	}
	kind := awsclient.KindOf(err)
	switch {
	case kind == awsclient.KindChanged:
		a.class, a.reason = classPermanent, "changed since planning: "+a.reason+"; plan again to send the current version"
	case status == 403 || isAuth(kind):
		a.class, a.auth = classPermanent, true
	case errors.Is(err, awsclient.ErrDeliveryUnknown):
		a.class = classUnknown
	case errors.Is(err, awsclient.ErrNotSent):
		// Refused before anything left: retry what may pass next time.
		a.class = classPermanent
		if kind.Retryable() || kind == awsclient.KindUnknown || kind == awsclient.KindCanceled {
			a.class = classRetry
		}
	case kind == awsclient.KindServer && mode.IsEvent():
		// A whole call answered 5xx: the service may have enqueued, invoked or put it
		// before failing (an entry's own failure in a batch answer wraps ErrNotSent, above).
		a.class = classUnknown
	case kind == awsclient.KindServer && mode == ModeReupload:
		// A 500 or 502 can come after the integration stored the body (the 504 case is
		// caught above); a resend to the reupload route would store a second request
		// under a new ID. Unknown, never resent automatically.
		a.class = classUnknown
	case kind == awsclient.KindThrottled || kind == awsclient.KindServer:
		// 429: the gateway refused before the integration ran. Other 5xx in place: even
		// if the body was stored, a resend stores the same bytes under the same key,
		// which S3 takes idempotently; the processor deduplicates on the headers.
		a.class = classRetry
	case kind == awsclient.KindTimeout || kind == awsclient.KindNetwork || kind == awsclient.KindCanceled:
		a.class = classUnknown
	case kind == awsclient.KindUnknown && status == 0:
		a.class = classUnknown // no answer and no classification: assume the worst
	default:
		a.class = classPermanent
	}
	if a.class != classPermanent && ctx.Err() != nil && !errors.Is(ctx.Err(), context.DeadlineExceeded) {
		a.aborted = true
	}
	return a
}

// isAuth reports a refusal for credentials or permissions.
func isAuth(k awsclient.Kind) bool {
	return k == awsclient.KindAccessDenied || k == awsclient.KindNoCredentials || k == awsclient.KindExpiredCredentials
}

func reasonOf(err error) string {
	s := strings.ToValidUTF8(err.Error(), "?")
	if len(s) > maxReason {
		s = strings.ToValidUTF8(s[:maxReason], "") + "…"
	}
	return s
}

// sourceErr keeps the first failure reading the stored object; the HTTP transport reads
// the body on its own goroutine.
type sourceErr struct {
	mu  sync.Mutex
	err error
}

func (s *sourceErr) set(err error) {
	s.mu.Lock()
	if s.err == nil {
		s.err = err
	}
	s.mu.Unlock()
}

func (s *sourceErr) get() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}

type watchedReader struct {
	rc  io.ReadCloser
	src *sourceErr
}

func (w *watchedReader) Read(p []byte) (int, error) {
	n, err := w.rc.Read(p)
	if err != nil && err != io.EOF {
		w.src.set(err)
	}
	return n, err
}

func (w *watchedReader) Close() error { return w.rc.Close() }
