package awsclient_test

import (
	"strings"
	"testing"
	"time"

	"github.com/stowage-cli/stowage/awsclient"
)

// On DynamoDB, an UpdateItem on an item that an ongoing TransactWriteItems includes is
// refused with TransactionConflictException (HTTP 400, client fault, not retried by the
// SDK). Once runs batch their claims and finishes in transactions, another run's single
// Claim or Finish (a takeover or a redriven check that the batch sent alone, a claim
// lost, an older stowage, the single-call fallback) meets it on exactly the items two
// runs contend for. It must be retryable: the other writer finishes in milliseconds.
func TestTransactionConflictOnASingleWriteIsRetryable(t *testing.T) {
	conflict := [2]string{"400", ddbErr + `TransactionConflictException","message":"Transaction is ongoing for the item"}`}
	t.Run("claim", func(t *testing.T) {
		s, _ := scriptedStore(t, map[string][][2]string{"UpdateItem": {conflict}})
		_, err := s.Claim(ctxT(t), claimReq("a", "r", bt0))
		if err == nil || !awsclient.KindOf(err).Retryable() {
			t.Errorf("Claim during another run's transaction on the item: %v (kind %v), want a retryable error", err, awsclient.KindOf(err))
		}
		if !strings.Contains(err.Error(), "another stowage run is writing this request's claim") {
			t.Errorf("the error does not say another run holds the item: %v", err)
		}
	})
	t.Run("claim-batch-alone", func(t *testing.T) {
		// The batch's condition fails (an expired claim of another run: a takeover), so the
		// item goes through Claim, whose UpdateItem meets the other run's transaction.
		s, _ := scriptedStore(t, map[string][][2]string{
			"TransactWriteItems": {{"400", ddbErr + `TransactionCanceledException","Message":"Transaction cancelled [ConditionalCheckFailed]","CancellationReasons":[{"Code":"ConditionalCheckFailed","Message":"The conditional request failed","Item":{"requestId":{"S":"a"},"runId":{"S":"other"},"expiresAt":{"N":"1"},"claimedAt":{"N":"1"}}}]}`}},
			"UpdateItem":         {conflict},
		})
		_, errs := s.ClaimBatch(ctxT(t), []awsclient.ClaimRequest{claimReq("a", "r", bt0)})
		if errs[0] == nil || !awsclient.KindOf(errs[0]).Retryable() {
			t.Errorf("ClaimBatch: %v (kind %v), want a retryable error", errs[0], awsclient.KindOf(errs[0]))
		}
	})
	t.Run("batch-conflicts-then-alone", func(t *testing.T) {
		// Two runs' batches name the same item: this one is cancelled for the conflict four
		// times, then claims alone while the other's transaction is still ongoing.
		s, d := scriptedStore(t, map[string][][2]string{
			"TransactWriteItems": {{"400", ddbErr + `TransactionCanceledException","Message":"Transaction cancelled [TransactionConflict]","CancellationReasons":[{"Code":"TransactionConflict","Message":"Transaction is ongoing for the item"}]}`}},
			"UpdateItem":         {conflict},
		})
		_, errs := s.ClaimBatch(ctxT(t), []awsclient.ClaimRequest{claimReq("a", "r", bt0)})
		if errs[0] == nil || !awsclient.KindOf(errs[0]).Retryable() {
			t.Errorf("ClaimBatch after %v: %v (kind %v), want a retryable error", d.ops, errs[0], awsclient.KindOf(errs[0]))
		}
	})
	t.Run("finish", func(t *testing.T) {
		s, _ := scriptedStore(t, map[string][][2]string{"UpdateItem": {conflict}})
		err := s.Finish(ctxT(t), awsclient.ClaimFinish{RequestID: "a", RunID: "r", Outcome: "delivered", Sent: true, At: bt0.Add(time.Second)})
		if err == nil || !awsclient.KindOf(err).Retryable() {
			t.Errorf("Finish during another run's transaction on the item: %v (kind %v), want a retryable error", err, awsclient.KindOf(err))
		}
	})
}
