package awsclient

import (
	"context"
	"errors"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go"
)

// Batched claims and finishes: one TransactWriteItems carries up to LeaseBatchSize
// conditional updates, each the one Claim or Finish would make, where a run made one
// UpdateItem per item and step (the SDK's per-call work was most of a redrive's CPU).
// A transactional write costs twice the write units of the single write on AWS (two per
// item of up to 1 KB), and IAM authorizes each of its updates as dynamodb:UpdateItem, so
// LeaseActions is unchanged. The transaction's condition grants only what needs no old
// attributes (no item; this run's item; a finished item not sent since RedrivenSince):
// every item whose condition fails goes through Claim or Finish alone, which read the
// item and decide (an expired claim taken over, a holder, a redrive since planning, a
// claim lost), so the answers are those of the single calls.

// LeaseBatchSize is how many updates one transaction carries (the API takes 100; a
// failed condition cancels the whole transaction, so the rest are sent again).
const LeaseBatchSize = 25

// leaseBatchRounds bounds the transactions of one chunk: after a cancellation the items
// that did not fail are sent again; after leaseBatchRounds they go alone.
const leaseBatchRounds = 4

// LeaseSingles is how many single calls one batch's fallback makes at once.
const LeaseSingles = 8

// ClaimBatch claims every request, as Claim would one by one (results and errors by
// index). A granted claim's Holder is the replaced claim when Claim made it (a takeover,
// which the transaction never grants), and zero when the transaction did: it returns no
// old item. A server without TransactWriteItems gets single claims, from then on.
func (s *LeaseStore) ClaimBatch(ctx context.Context, reqs []ClaimRequest) ([]ClaimResult, []error) {
	res, errs := make([]ClaimResult, len(reqs)), make([]error, len(reqs))
	single := func(i int) { res[i], errs[i] = s.Claim(ctx, reqs[i]) }
	ids := make([]string, len(reqs))
	for i, r := range reqs {
		ids[i] = r.RequestID
		if r.RunID == "" || r.TTL <= 0 {
			ids[i] = "" // Claim refuses it
		}
	}
	s.batch(ctx, ids, single, func(ctx context.Context, idx []int) (done, alone []int) {
		items := make([]ddbtypes.TransactWriteItem, len(idx))
		for k, i := range idx {
			req := reqs[i]
			update, values := claimWrite(req)
			// Without old attributes a takeover cannot be told apart: expired claims fail
			// this condition and go through Claim.
			cond := "attribute_not_exists(#id) OR #run = :run OR attribute_exists(#outcome)"
			if !req.RedrivenSince.IsZero() {
				cond += " AND " + notSentSince
				values[":since"] = ms(req.RedrivenSince)
			}
			items[k] = s.transactUpdate(req.RequestID, update, cond, values)
		}
		return s.transact(ctx, "claim", items, idx, func(i int, old map[string]ddbtypes.AttributeValue) bool {
			// A live claim of another run is held whatever Claim's condition: answer it
			// here, without Claim's two calls.
			if h := claimOf(reqs[i].RequestID, old); len(old) > 0 && h.RunID != reqs[i].RunID && h.Live(reqs[i].Now) {
				res[i] = ClaimResult{Refused: ClaimHeld, Holder: h}
				return true
			}
			return false
		}, func(i int, err error) { errs[i] = err })
	})
	return res, errs
}

// FinishBatch finishes every claim, as Finish would one by one (errors by index). A claim
// no longer this run's goes through Finish, which records the send and answers
// ErrClaimLost.
func (s *LeaseStore) FinishBatch(ctx context.Context, fs []ClaimFinish) []error {
	errs := make([]error, len(fs))
	single := func(i int) { errs[i] = s.Finish(ctx, fs[i]) }
	ids := make([]string, len(fs))
	for i, f := range fs {
		ids[i] = f.RequestID
		if f.Outcome == "" {
			ids[i] = "" // Finish refuses it
		}
	}
	s.batch(ctx, ids, single, func(ctx context.Context, idx []int) (done, alone []int) {
		items := make([]ddbtypes.TransactWriteItem, len(idx))
		for k, i := range idx {
			update, values := finishWrite(fs[i])
			items[k] = s.transactUpdate(fs[i].RequestID, update, "#run = :run", values)
		}
		return s.transact(ctx, "finish-claim", items, idx, nil, func(i int, err error) { errs[i] = err })
	})
	return errs
}

// batch sends the items with a usable ID in transactions of up to LeaseBatchSize (at
// once), and the rest, and those a transaction sends back, alone with single.
func (s *LeaseStore) batch(ctx context.Context, ids []string, single func(int), chunk func(context.Context, []int) (done, alone []int)) {
	var alone, batched []int
	seen := make(map[string]bool, len(ids))
	for i, id := range ids {
		// Read-only and invalid requests are refused by the single call, which sends
		// nothing; a transaction may not name one item twice.
		if s.readOnly || id == "" || seen[id] || s.singles.Load() {
			alone = append(alone, i)
			continue
		}
		seen[id] = true
		batched = append(batched, i)
	}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for len(batched) > 0 {
		n := min(LeaseBatchSize, len(batched))
		idx := batched[:n:n]
		batched = batched[n:]
		send := func() {
			_, back := chunk(ctx, idx)
			mu.Lock()
			alone = append(alone, back...)
			mu.Unlock()
		}
		if len(batched) == 0 {
			send() // the last (usually the only) one on the caller's goroutine and stack
			break
		}
		wg.Go(send)
	}
	wg.Wait()
	parallel(len(alone), LeaseSingles, func(k int) { single(alone[k]) })
}

// parallel calls f(0) to f(n-1), at most limit at once.
func parallel(n, limit int, f func(int)) {
	if n == 1 {
		f(0)
		return
	}
	sem := make(chan struct{}, limit)
	var wg sync.WaitGroup
	for k := range n {
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			f(k)
		}()
	}
	wg.Wait()
}

func (s *LeaseStore) transactUpdate(id, update, cond string, values map[string]ddbtypes.AttributeValue) ddbtypes.TransactWriteItem {
	return ddbtypes.TransactWriteItem{Update: &ddbtypes.Update{
		TableName: aws.String(s.table), Key: s.key(id),
		UpdateExpression: aws.String(update), ConditionExpression: aws.String(cond),
		ExpressionAttributeNames: names(update, cond), ExpressionAttributeValues: values,
		ReturnValuesOnConditionCheckFailure: ddbtypes.ReturnValuesOnConditionCheckFailureAllOld,
	}}
}

// transact writes items (idx are their requests' indexes) in one transaction, again
// without the ones that fail their condition (answered decides one from its old item, or
// it goes alone) until it succeeds; done are the written ones. A transaction the server
// refuses as a whole sends every item alone; one ended by the context fails them.
func (s *LeaseStore) transact(ctx context.Context, op string, items []ddbtypes.TransactWriteItem, idx []int,
	answered func(i int, old map[string]ddbtypes.AttributeValue) bool, fail func(i int, err error)) (done, alone []int) {
	for round := 1; len(idx) > 0; round++ {
		_, err := s.client.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: items})
		if err == nil {
			return idx, alone
		}
		var tce *ddbtypes.TransactionCanceledException
		switch {
		case ctx.Err() != nil:
			for _, i := range idx {
				fail(i, s.classify(err, op))
			}
			return nil, alone
		case !errors.As(err, &tce):
			s.refused(err)
			if e := s.classify(err, op); !s.singles.Load() && KindOf(e).Retryable() {
				// Throttled, or the service or the network failing: the caller's retries
				// send the batch again after their backoff. Going alone would send a
				// struggling table 25 single writes for the one that failed.
				for _, i := range idx {
					fail(i, e)
				}
				return nil, alone
			}
			return nil, append(alone, idx...)
		case len(tce.CancellationReasons) != len(idx):
			return nil, append(alone, idx...)
		}
		var keepItems []ddbtypes.TransactWriteItem
		var keep []int
		conflicted := false
		for k, i := range idx {
			r := tce.CancellationReasons[k]
			switch code := aws.ToString(r.Code); code {
			case "None", "", "TransactionConflict":
				conflicted = conflicted || code == "TransactionConflict"
				keep, keepItems = append(keep, i), append(keepItems, items[k])
			case "ConditionalCheckFailed":
				if answered == nil || !answered(i, r.Item) {
					alone = append(alone, i)
				}
			default: // throttled, or refused: the single call classifies it
				alone = append(alone, i)
			}
		}
		if round >= leaseBatchRounds {
			return nil, append(alone, keep...)
		}
		if conflicted {
			// Another writer's transaction holds one of the items: let it finish first,
			// or the rounds are spent before it has.
			if sleepCtx(ctx, time.Duration(round)*10*time.Millisecond) != nil {
				return nil, append(alone, keep...)
			}
		}
		idx, items = keep, keepItems
	}
	return nil, alone
}

// refused remembers a server that does not implement TransactWriteItems (dynalite answers
// UnknownOperationException, the demo's emulator before it had one a ValidationException
// "unsupported operation"), or credentials refused it (a policy may deny transactions):
// the single calls then do without it.
func (s *LeaseStore) refused(err error) {
	var ae smithy.APIError
	if !errors.As(err, &ae) {
		return
	}
	code, msg := ae.ErrorCode(), strings.ToLower(ae.ErrorMessage())
	if code == "UnknownOperationException" || strings.Contains(msg, "unsupported operation") ||
		KindOf(classify(err, s.call("claim"))) == KindAccessDenied {
		s.singles.Store(true)
	}
}
