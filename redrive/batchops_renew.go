package redrive

import (
	"context"
	"sync"
	"time"

	"github.com/stowage-cli/stowage/awsclient"
	"github.com/stowage-cli/stowage/internal/sanitize"
)

// The claims of a batch-ops run hold BatchLeaseTTL (24 h, the most the lease table
// allows), and S3 may run a job longer, or a watch may reattach later. While a stowage
// watches the job (the run that started it, jobs watch, the TUI), Watch renews them once
// half the TTL has gone: each request is claimed again for the run (granted: the claim
// is the run's), paced at RenewRate claims a second, in the background. Without a
// watcher the claims lapse at ClaimsUntil, which the plan and jobs watch say plainly.
//
// Renewals go through the Claimer one claim at a time (a claim by the same run extends
// it). The local engine batches its claims (LeaseBatcher, 25 a TransactWriteItems); the
// renewals, the claims before the job and their release do not yet.

// BatchClaimsNote says how long a batch-ops run's claims hold, for the plan.
const BatchClaimsNote = "held 24 h, renewed while a stowage watches the job (this run, jobs watch, the TUI); unwatched, they lapse and other runs may redrive them"

// DefaultBatchRenewRate paces renewals: a million claims in about 35 minutes, well
// inside the 12 h before the claims would lapse, at one write each.
const DefaultBatchRenewRate = 500

// batchRenewConcurrency bounds the renewal claims in flight.
const batchRenewConcurrency = 16

// batchRenewRetry is how long after a renewal round that left claims unrenewed (errors)
// the next is tried.
const batchRenewRetry = time.Hour

// ClaimsUntil is when the run's claims lapse unless renewed: zero without a lease table
// or claims.
func (s *BatchSession) ClaimsUntil() time.Time {
	s.rec.mu.Lock()
	defer s.rec.mu.Unlock()
	return s.rec.ClaimsUntil
}

// LostClaims are the requests whose claim another run took while the job ran (its claim
// had lapsed), with who holds it.
func (s *BatchSession) LostClaims() map[string]string {
	s.rec.mu.Lock()
	defer s.rec.mu.Unlock()
	out := make(map[string]string, len(s.rec.Lost))
	for k, v := range s.rec.Lost {
		out[k] = v
	}
	return out
}

// renewDue reports whether the claims are to be renewed at t: half their TTL has gone
// (or they have lapsed), and no failed round was tried within batchRenewRetry.
func (s *BatchSession) renewDue(t time.Time) bool {
	s.rec.mu.Lock()
	until, after := s.rec.ClaimsUntil, s.renewAfter
	s.rec.mu.Unlock()
	if s.deps.Leases == nil || until.IsZero() || len(s.rec.Claimed) == 0 || t.Before(after) {
		return false
	}
	return !t.Before(until.Add(-BatchLeaseTTL / 2))
}

// startRenewal renews the claims in the background when due; stop ends it and waits.
func (s *BatchSession) startRenewal(ctx context.Context, wg *sync.WaitGroup) {
	t := now(s.cfg)
	if !s.renewDue(t) || !s.renewing.CompareAndSwap(false, true) {
		return
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		defer s.renewing.Store(false)
		s.renewClaims(ctx, t)
	}()
}

// renewClaims claims every claimed request of the run again, paced at RenewRate. A
// claim refused (another run took it after this one's lapsed) is recorded as lost; when
// every claim was renewed or lost, ClaimsUntil moves to the round's start plus the TTL.
func (s *BatchSession) renewClaims(ctx context.Context, start time.Time) {
	rec := s.rec
	rate := s.RenewRate
	if rate <= 0 {
		rate = DefaultBatchRenewRate
	}
	ids := make(chan string)
	var mu sync.Mutex
	failed := 0
	var wg sync.WaitGroup
	for w := 0; w < batchRenewConcurrency; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for id := range ids {
				res, err := s.deps.Leases.Claim(ctx, s.claimRequest(id))
				mu.Lock()
				switch {
				case err != nil:
					failed++
				case res.Refused == awsclient.ClaimHeld:
					s.setLost(id, "claimed by "+res.Holder.String()+" after this run's claim lapsed")
				case res.Refused == awsclient.ClaimRedriven:
					s.setLost(id, "redriven by run "+sanitize.Line(res.Holder.LastSentRun)+" after this run's claim lapsed")
				}
				mu.Unlock()
			}
		}()
	}
	// Paced by the local engine's token bucket: the workers take claims as it allows.
	pace := newTokenBucket(float64(rate), time.Now)
	for _, id := range append([]string(nil), rec.Claimed...) {
		if s.isLost(id) {
			continue
		}
		if _, err := pace.Wait(ctx); err != nil {
			break
		}
		select {
		case ids <- id:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			break
		}
	}
	close(ids)
	wg.Wait()
	rec.mu.Lock()
	if ctx.Err() == nil && failed == 0 {
		rec.ClaimsUntil = start.Add(BatchLeaseTTL)
	} else {
		s.renewAfter = start.Add(batchRenewRetry)
	}
	rec.mu.Unlock()
	rec.save()
}

func (s *BatchSession) setLost(id, why string) {
	s.rec.mu.Lock()
	defer s.rec.mu.Unlock()
	if s.rec.Lost == nil {
		s.rec.Lost = map[string]string{}
	}
	s.rec.Lost[id] = why
}

func (s *BatchSession) isLost(id string) bool {
	s.rec.mu.Lock()
	defer s.rec.mu.Unlock()
	_, ok := s.rec.Lost[id]
	return ok
}
