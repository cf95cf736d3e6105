package redrive

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/stowage-cli/stowage/awsclient"
	"github.com/stowage-cli/stowage/internal/s3event"
)

// The event modes (sqs, lambda, eventbridge) take the same steps as the others: the
// status check, the rate token, the claim, then prepare reads the object's current
// description (HEAD) and builds the event, the item takes a slot, journals sending
// (fsynced), and only then is its event handed to the target. In the batched modes the
// event joins a batch (eventBatcher): each item of a batch was claimed before, and is
// journaled sending as the batch leaves (not while it gathers, so that a kill leaves a
// gathering item pending), and each entry's outcome is journaled for its item. An item
// that may already be with the target is not sent again (Run.mayResend).

// eventLinger is how long a batch that is not full waits for more items before it
// leaves: long enough for the items in the pipeline behind it to join, short against a
// call's round trip.
const eventLinger = 5 * time.Millisecond

// prepareEvent checks the stored object is still the planned one (same ETag) and builds
// its event; it is refused (nothing sent) when the object changed, is gone, or the event
// would be over the target's size limit.
func (r *Run) prepareEvent(ctx context.Context, it Item) (awsclient.EventEntry, *attemptResult) {
	obj, err := r.headObject(ctx, it)
	if err == nil {
		switch {
		case it.ETag != "" && obj.ETag != "" && obj.ETag != it.ETag:
			err = &awsclient.Error{Kind: awsclient.KindChanged, Op: "head", Resource: "s3://" + r.m.Bucket + "/" + it.Key,
				Code: "PreconditionFailed", Message: fmt.Sprintf("ETag is %s, planned %s", obj.ETag, it.ETag)}
		case it.ETag == "" && it.VersionID != "" && obj.VersionID != it.VersionID:
			err = &awsclient.Error{Kind: awsclient.KindChanged, Op: "head", Resource: "s3://" + r.m.Bucket + "/" + it.Key,
				Code: "PreconditionFailed", Message: fmt.Sprintf("version is %s, planned %s", obj.VersionID, it.VersionID)}
		}
	}
	if err != nil {
		a := classifyErr(err, 0, err, ctx, r.m.Mode)
		if a.class != classPermanent {
			a.class = classRetry
		}
		a.reason += "; nothing was sent"
		return awsclient.EventEntry{}, &a
	}
	e, err := r.buildEvent(it, obj, r.principalID(ctx))
	if err != nil {
		return e, &attemptResult{class: classPermanent, reason: err.Error() + "; nothing was sent"}
	}
	if n := len(e.Body); n > awsclient.MaxEventMessage {
		return e, &attemptResult{class: classPermanent, reason: fmt.Sprintf(
			"the event is %d bytes; stowage refuses events over %d bytes (256 KiB), so nothing was sent — redrive it with --mode s3-copy", n, awsclient.MaxEventMessage)}
	}
	return e, nil
}

// BusProber describes an EventBridge bus (events:DescribeEventBus). The eventbridge
// mode needs it: PutEvents to a bus that does not exist answers every entry as taken
// (FailedEntryCount 0, an EventId each) and drops them.
type BusProber interface {
	ProbeBus(ctx context.Context, bus string) (string, error)
}

// checkBus makes sure the bus exists before anything is put on it. A bus that is not
// there, or that the credentials may not describe, stops the run with nothing sent; so
// does a check that keeps failing. ok is false when the run stopped.
func (r *Run) checkBus(ctx context.Context) bool {
	p, can := r.deps.Events.(BusProber)
	if r.m.Mode != ModeEventBridge || !can {
		return true
	}
	var err error
	for try := 1; try <= 3; try++ {
		if _, err = p.ProbeBus(ctx, r.m.Event.Bus); err == nil || ctx.Err() != nil || !awsclient.KindOf(err).Retryable() {
			break
		}
		if !sleepCtx(ctx, r.backoff.delay(try)) {
			return false
		}
	}
	if err == nil {
		return true
	}
	if ctx.Err() != nil {
		return false
	}
	why := "EventBridge answers events put on a bus that does not exist as taken, and drops them, so stowage checks the bus first with " +
		awsclient.ActionEventsProbe
	switch k := awsclient.KindOf(err); {
	case k == awsclient.KindNotFound:
		r.stop(OutcomeError, targetMissing(reasonOf(err))+" ("+why+")")
	case isAuth(k):
		r.stop(OutcomeError, "access denied: "+reasonOf(err)+"; nothing was sent — "+why+": allow it on the bus, then --resume")
	default:
		r.stop(OutcomeError, "could not check the bus exists: "+reasonOf(err)+"; nothing was sent — "+why+", then --resume")
	}
	return false
}

// headObject describes the current object: HEAD when the source can, else a GET whose
// body is not read.
func (r *Run) headObject(ctx context.Context, it Item) (awsclient.Object, error) {
	if h, ok := r.deps.Objects.(ObjectHeader); ok {
		return h.Head(ctx, it.Key)
	}
	rc, obj, err := r.deps.Objects.Get(ctx, it.Key, awsclient.Pin{ETag: it.ETag})
	if rc != nil {
		rc.Close()
	}
	return obj, err
}

// PrincipalSource knows the userIdentity.principalId S3 would write for the operator's
// requests ("AWS:" and the STS caller's UserId, "" when not known). An event target that
// does not implement it gives "stowage".
type PrincipalSource interface {
	PrincipalID(ctx context.Context) string
}

// principalID is the events' userIdentity.principalId: the caller's unique ID as S3
// writes it, or "" (the record then says "stowage"). Never the operator's ARN: S3 puts
// an ID there, and processors that parse it expect one.
func (r *Run) principalID(ctx context.Context) string {
	if p, ok := r.deps.Events.(PrincipalSource); ok {
		return p.PrincipalID(ctx)
	}
	return ""
}

// buildEvent is the item's event as S3 would have sent it for obj, marked as this
// redrive's.
func (r *Run) buildEvent(it Item, obj awsclient.Object, principal string) (awsclient.EventEntry, error) {
	spec := r.m.Event
	region := spec.Region
	if region == "" {
		region = r.deps.Events.Region()
	}
	at := r.now()
	o := s3event.Object{Bucket: r.m.Bucket, Key: it.Key, Size: obj.Size, ETag: obj.ETag, VersionID: obj.VersionID}
	src := s3event.Source{Region: region, Principal: principal, ConfigurationID: spec.ConfigurationID, At: at}
	mark := &s3event.Marker{OriginalRequestID: it.RequestID, RedriveID: r.m.RunID}
	var e awsclient.EventEntry
	var err error
	if r.m.Mode == ModeEventBridge {
		e.Body, err = s3event.DetailJSON(o, src, mark)
		e.Source, e.DetailType, e.Time = spec.Source, s3event.DetailType, at
		e.Resources = []string{s3event.BucketARN(region, r.m.Bucket)}
		return e, err
	}
	e.Body, err = s3event.NotificationJSON(o, src, mark)
	if r.m.Mode == ModeSQS {
		e.Attributes = map[string]string{r.opts.OriginalIDHeader: it.RequestID, r.opts.RedriveIDHeader: r.m.RunID}
		if spec.FIFO() {
			e.GroupID = spec.MessageGroup
			if e.GroupID == "" {
				e.GroupID = it.RequestID
			}
			e.DedupID = DedupID(r.m.RunID, it.RequestID)
		}
	}
	return e, err
}

// attemptEvent sends the item's event once: alone (lambda) or in a batch. The call gets
// its own AttemptTimeout from when it leaves (sendCtx ends only on Abort): the item's
// attempt context was made before the claim and the slot wait, and what is left of it
// must not cut a call short, which would make its outcome unknown.
func (r *Run) attemptEvent(sendCtx context.Context, e awsclient.EventEntry, journalSending func() error) attemptResult {
	var res awsclient.EntryResult
	if r.m.Mode == ModeLambda {
		ctx, cancel := context.WithTimeout(sendCtx, r.opts.AttemptTimeout)
		res, _ = r.deps.Events.Invoke(ctx, r.m.Event.Function, r.m.Event.Qualifier, e.Body)
		cancel()
	} else {
		res = r.batcher.send(sendCtx, e, journalSending)
	}
	if res.Err == nil {
		return attemptResult{class: classDelivered, status: res.Status, gatewayID: res.MessageID}
	}
	a := classifyErr(res.Err, res.Status, nil, sendCtx, r.m.Mode)
	a.gatewayID = res.MessageID
	if a.class == classPermanent {
		a.stop = r.stopFor(res.Err)
	}
	return a
}

// stopFor is why the run stops after err, when every later item would fail the same
// way: the queue, function or bus is not there, or EventBridge refuses the source ("" when
// not).
func (r *Run) stopFor(err error) string {
	var ae *awsclient.Error
	switch {
	case err == nil:
	case awsclient.KindOf(err) == awsclient.KindNotFound:
		return targetMissing(reasonOf(err))
	case errors.As(err, &ae) && ae.Code == awsclient.CodeNotAuthorizedForSource:
		// The source is frozen in the manifest: a --resume would be refused too.
		return "EventBridge refuses the events' source " + r.m.Event.Source + ": " + reasonOf(err) +
			"; nothing more is sent — set events.event_source, add it to the rule's event pattern, and plan the redrive again"
	}
	return ""
}

// targetMissing is why a run stops when the queue, function or bus is not there.
func targetMissing(reason string) string {
	return "the target does not exist: " + reason + "; nothing more is sent — fix the events section, then --resume"
}

// eventBatcher gathers the entries of items ready to send into calls of up to
// EventBatchSize, at most calls.Limit() calls in flight.
type eventBatcher struct {
	r *Run
	*gatherer[*batchEntry]
}

type batchEntry struct {
	ctx     context.Context
	e       awsclient.EventEntry
	journal func() error // journals the item sending (fsynced), just before its batch leaves
	done    chan awsclient.EntryResult
}

func newEventBatcher(r *Run, concurrency int) *eventBatcher {
	b := &eventBatcher{r: r}
	b.gatherer = newGatherer(EventBatchSize, eventLinger, concurrency, b.call)
	return b
}

// send queues e for the next batch and waits for its outcome. ctx is the run's send
// context, which ends only on Abort: an entry aborted before its batch left is answered
// as not sent. The batch's call gets its own AttemptTimeout when it leaves.
func (b *eventBatcher) send(ctx context.Context, e awsclient.EventEntry, journal func() error) awsclient.EntryResult {
	be := &batchEntry{ctx: ctx, e: e, journal: journal, done: make(chan awsclient.EntryResult, 1)}
	b.add(be)
	return <-be.done
}

// call sends one batch and hands each entry its outcome.
func (b *eventBatcher) call(batch []*batchEntry) {
	var live []*batchEntry
	var entries []awsclient.EventEntry
	var sendCtx context.Context
	stopping := b.r.isStopping()
	for _, be := range batch {
		err := be.ctx.Err()
		if err == nil && stopping {
			// Journaled sending, but the run stopped before the batch left: nothing more
			// is sent, and the item is left for --resume.
			err = errors.New("the run stopped before the batch left")
		}
		if err != nil {
			be.done <- awsclient.EntryResult{Err: &awsclient.Error{Kind: awsclient.KindCanceled, Op: "send", Resource: b.r.m.Target.URL,
				Err: fmt.Errorf("%w: %w", awsclient.ErrNotSent, err)}}
			continue
		}
		if sendCtx == nil {
			sendCtx = be.ctx // the run's: every entry's is the same
		}
		e := be.e
		e.ID = strconv.Itoa(len(live))
		live = append(live, be)
		entries = append(entries, e)
	}
	if len(live) == 0 {
		return
	}
	// Each item is journaled sending before its batch leaves; the appends share fsyncs.
	failed := make([]error, len(live))
	var wg sync.WaitGroup
	for i, be := range live {
		wg.Add(1)
		go func() {
			defer wg.Done()
			failed[i] = be.journal()
		}()
	}
	wg.Wait()
	for i, err := range failed {
		if err != nil {
			// The journal failed (the run stops): nothing of this batch leaves.
			for _, be := range live {
				be.done <- awsclient.EntryResult{Err: &awsclient.Error{Kind: awsclient.KindCanceled, Op: "send", Resource: b.r.m.Target.URL,
					Err: fmt.Errorf("%w: the journal could not be written: %w", awsclient.ErrNotSent, failed[i])}}
			}
			return
		}
	}
	var res []awsclient.EntryResult
	var err error
	ctx, cancel := context.WithTimeout(sendCtx, b.r.opts.AttemptTimeout)
	defer cancel()
	switch b.r.m.Mode {
	case ModeSQS:
		res, err = b.r.deps.Events.SendSQS(ctx, b.r.m.Event.QueueURL, entries)
	case ModeEventBridge:
		res, err = b.r.deps.Events.PutEvents(ctx, b.r.m.Event.Bus, entries)
	}
	// Stop before this call's slot frees, so that the batches behind it are not sent.
	stop := b.r.stopFor(err)
	for i := 0; i < len(res) && stop == ""; i++ {
		stop = b.r.stopFor(res[i].Err)
	}
	if stop != "" {
		b.r.stop(OutcomeError, stop)
	}
	for i, be := range live {
		switch {
		case i < len(res):
			be.done <- res[i]
		case err != nil:
			be.done <- awsclient.EntryResult{Err: err}
		default:
			be.done <- awsclient.EntryResult{Err: errors.New("the sender returned no result for the entry")}
		}
	}
}

// setLimit changes how many calls may be in flight.
func (b *eventBatcher) setLimit(n int) { b.calls.SetLimit(max(1, n)) }
