package awsclient_test

import (
	"strconv"
	"testing"
	"time"

	"github.com/stowage-cli/stowage/awsclient"
)

// liveItem is the ALL_OLD item of a live claim of run, as a cancellation reason carries it.
func liveItem(id, run string) string {
	exp := strconv.FormatInt(bt0.Add(time.Minute).UnixMilli(), 10)
	return `{"requestId":{"S":"` + id + `"},"runId":{"S":"` + run + `"},"operator":{"S":"` + run + `@host"},"claimedAt":{"N":"1"},"expiresAt":{"N":"` + exp + `"}}`
}

// Each cancellation reason is read for the item at its own position: the holders of two
// refused items are not swapped or given to the granted ones, and the items that did not
// fail are written again (one more transaction, no single claim).
func TestReviewLeaseBatchReadsEachReasonForItsItem(t *testing.T) {
	ccf := func(id, run string) string {
		return `{"Code":"ConditionalCheckFailed","Message":"The conditional request failed","Item":` + liveItem(id, run) + `}`
	}
	s, d := scriptedStore(t, map[string][][2]string{"TransactWriteItems": {
		{"400", ddbErr + `TransactionCanceledException","Message":"Transaction cancelled [None, ConditionalCheckFailed, None, ConditionalCheckFailed]","CancellationReasons":[{"Code":"None"},` +
			ccf("b", "holder-b") + `,{"Code":"None"},` + ccf("d", "holder-d") + `]}`},
		{"200", "{}"},
	}})
	reqs := []awsclient.ClaimRequest{claimReq("a", "r", bt0), claimReq("b", "r", bt0), claimReq("c", "r", bt0), claimReq("d", "r", bt0)}
	res, errs := s.ClaimBatch(ctxT(t), reqs)
	want := []struct {
		refused awsclient.ClaimRefusal
		holder  string
	}{{awsclient.ClaimGranted, ""}, {awsclient.ClaimHeld, "holder-b"}, {awsclient.ClaimGranted, ""}, {awsclient.ClaimHeld, "holder-d"}}
	for i, w := range want {
		if errs[i] != nil || res[i].Refused != w.refused || res[i].Holder.RunID != w.holder {
			t.Errorf("%s: %+v %v, want %q by %q", reqs[i].RequestID, res[i], errs[i], w.refused, w.holder)
		}
	}
	if d.count("TransactWriteItems") != 2 || d.count("UpdateItem") != 0 || d.count("GetItem") != 0 {
		t.Errorf("calls %v, want two transactions and no single call", d.ops)
	}
}

// A cancellation whose reasons do not match the items one for one (a server that sends
// none, or fewer) is not read at all: every item goes through Claim alone, so no reason
// can be given to the wrong item.
func TestReviewLeaseBatchMisalignedReasonsGoAlone(t *testing.T) {
	s, d := scriptedStore(t, map[string][][2]string{
		"TransactWriteItems": {{"400", ddbErr + `TransactionCanceledException","Message":"Transaction cancelled","CancellationReasons":[{"Code":"ConditionalCheckFailed","Item":` + liveItem("a", "holder") + `}]}`}},
		"UpdateItem":         {{"200", "{}"}},
	})
	res, errs := s.ClaimBatch(ctxT(t), []awsclient.ClaimRequest{claimReq("a", "r", bt0), claimReq("b", "r", bt0)})
	for i := range res {
		if errs[i] != nil || res[i].Refused != awsclient.ClaimGranted {
			t.Errorf("%d: %+v %v", i, res[i], errs[i])
		}
	}
	if d.count("TransactWriteItems") != 1 || d.count("UpdateItem") != 2 {
		t.Errorf("calls %v, want one transaction, then each item alone", d.ops)
	}
}
