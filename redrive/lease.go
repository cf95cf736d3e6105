package redrive

import (
	"context"
	"fmt"
	"time"

	"github.com/stowage-cli/stowage/awsclient"
	"github.com/stowage-cli/stowage/internal/sanitize"
)

// NoLeaseTableWarning is what a plan and a summary say when the environment has no lease
// table.
const NoLeaseTableWarning = "no lease table: runs on other machines cannot see this one, and a request they redrive at the same time may be delivered twice"

// claimTries bounds the claims and finishes of one request, as status reads are bounded.
const claimTries = 3

// finishClaimTimeout bounds one Finish call: it runs after the run may have been aborted.
const finishClaimTimeout = 10 * time.Second

// claim takes the item in the lease table just before a send; a run without a table
// sends without one. done reports that the item was finished here (skipped because another
// run holds or already redrove it, or failed because the table could not be asked); ok is
// false when the run stopped or the journal failed. sent says an attempt of this run may
// have left already: a refusal then means the claim was lost mid-item.
func (r *Run) claim(ctx context.Context, it Item, first time.Time, sent bool) (done, ok bool) {
	if r.deps.Leases == nil {
		return false, true
	}
	op := r.opts.Operator
	if op == "" {
		op = "unknown" // other runs show it in "claimed by run X (operator, ...)"
	}
	req := awsclient.ClaimRequest{RequestID: it.RequestID, RunID: r.m.RunID, Operator: op,
		Env: r.m.Env, Now: r.now(), TTL: r.opts.LeaseTTL}
	if !r.opts.Force {
		req.RedrivenSince = r.m.PlannedAt
	}
	var res awsclient.ClaimResult
	var err error
	for try := 1; try <= claimTries; try++ {
		if r.leases != nil {
			res, err = r.leases.claim(ctx, req)
		} else {
			res, err = r.deps.Leases.Claim(ctx, req)
		}
		if err == nil || ctx.Err() != nil || !awsclient.KindOf(err).Retryable() {
			break
		}
		if !sleepCtx(ctx, r.backoff.delay(try)) {
			return false, false
		}
	}
	if ctx.Err() != nil {
		return false, false
	}
	if err != nil {
		reason := "could not claim the request in the lease table, so nothing was sent: " + reasonOf(err) +
			"; check the table with stowage doctor, then --resume"
		if sent {
			reason = "could not renew the claim of an attempt that may have been delivered, so it was not sent again: " +
				reasonOf(err) + "; check its status before sending it again"
		}
		r.final(it, Record{Type: RecFailed, Reason: reason}, first, !sent)
		r.noteError(it, 0, reason)
		return true, r.journalOK()
	}
	if res.Refused == awsclient.ClaimGranted {
		r.mu.Lock()
		r.claimed[it.RequestID] = true
		if res.TookOver {
			r.leaseNotes[it.RequestID] = "took over the expired claim of " + res.Holder.String() + ": that run may have sent it too"
		}
		r.mu.Unlock()
		return false, true
	}
	if sent {
		// Another run took the item over between two attempts of this one.
		reason := "the claim was lost to " + res.Holder.String() + " after an attempt that may have been delivered, so it was not sent again; check its status"
		r.final(it, Record{Type: RecFailed, Reason: reason}, first, false)
		r.noteError(it, 0, reason)
		return true, r.journalOK()
	}
	switch res.Refused {
	case awsclient.ClaimHeld:
		r.final(it, Record{Type: RecSkipped, Reason: "claimed by " + res.Holder.String()}, first, false)
		return true, r.journalOK()
	default: // ClaimRedriven
		run, at := res.Holder.LastSentRun, res.Holder.LastSentAt
		if run == "" || at.IsZero() {
			run, at = res.Holder.RunID, res.Holder.FinishedAt
			if at.IsZero() {
				at = res.Holder.ClaimedAt
			}
		}
		r.final(it, Record{Type: RecSkipped, Reason: fmt.Sprintf("already redriven by run %s at %s (use --force to send it again)",
			sanitize.Line(run), at.UTC().Format(time.RFC3339))}, first, false)
		return true, r.journalOK()
	}
}

// finishClaim records in the lease table how the item ended, best effort: a failure is a
// warning in the progress and the report, never a lost item (the claim expires). With a
// LeaseBatcher the finish is queued for the next batch, and the item does not wait.
func (r *Run) finishClaim(it Item) {
	r.mu.Lock()
	res := r.items[it.RequestID]
	f := awsclient.ClaimFinish{RequestID: it.RequestID, RunID: r.m.RunID, At: r.now(),
		Sent: res.Attempts > 0 || r.everMaybe[it.RequestID], Outcome: claimOutcome(res.State, res.Attempts > 0)}
	r.mu.Unlock()
	if r.leases != nil {
		r.leases.finish(f)
		return
	}
	var err error
	for try := 1; try <= claimTries; try++ {
		ctx, cancel := context.WithTimeout(context.Background(), finishClaimTimeout)
		err = r.deps.Leases.Finish(ctx, f)
		cancel()
		if err == nil || !finishRetryable(err) {
			break
		}
		time.Sleep(r.backoff.delay(try))
	}
	if err != nil {
		r.leaseWarning(f, err)
	}
}

// claimOutcome is the lease table's word for an item's state when this run let it go.
func claimOutcome(s ItemState, sent bool) string {
	switch {
	case s == StateDelivered, s == StateFailed, s == StateSkipped:
		return string(s)
	case sent || s == StateUnknown || s == StateSending:
		return "unknown"
	}
	return "not-sent"
}
