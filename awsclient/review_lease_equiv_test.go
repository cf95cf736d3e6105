package awsclient_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/stowage-cli/stowage/awsclient"
	"github.com/stowage-cli/stowage/internal/devstack"
)

// Every prior state of a lease item, with and without RedrivenSince: the claim a batch
// makes (in a transaction on the demo's DynamoDB) and the claim Claim makes alone, each
// on its own copy of the state, give the same answer and leave the same item; and then
// so do the finish a batch writes and the one Finish writes.
func TestReviewLeaseBatchEqualsSingleOnEveryState(t *testing.T) {
	st, err := devstack.Start(context.Background(), devstack.Options{Requests: -1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	client, ops := counted(dynamodb.New(dynamodb.Options{Region: st.Region, BaseEndpoint: aws.String(st.DynamoDBURL),
		Credentials: credentials.NewStaticCredentialsProvider(st.AccessKey, st.SecretKey, "")}))
	s := awsclient.NewLeaseStore(client, st.LeaseTable, false)
	ctx := ctxT(t)
	const run = "batch"
	claim := func(id, by string, at time.Time) {
		t.Helper()
		if _, err := s.Claim(ctx, claimReq(id, by, at)); err != nil {
			t.Fatal(err)
		}
	}
	finish := func(id, by string, at time.Time, sent bool) {
		t.Helper()
		if err := s.Finish(ctx, awsclient.ClaimFinish{RequestID: id, RunID: by, Outcome: "x", Sent: sent, At: at}); err != nil {
			t.Fatal(err)
		}
	}
	before, after := plannedT.Add(-time.Minute), plannedT.Add(time.Minute) // bt0 is 5 minutes after the plan
	states := map[string]func(id string){
		"none":                    func(string) {},
		"mine-live":               func(id string) { claim(id, run, bt0.Add(-time.Second)) },
		"mine-expired":            func(id string) { claim(id, run, bt0.Add(-2*time.Minute)) },
		"mine-finished-sent":      func(id string) { claim(id, run, after); finish(id, run, after, true) },
		"other-live":              func(id string) { claim(id, "other", bt0.Add(-time.Second)) },
		"other-expired-before":    func(id string) { claim(id, "other", before) },
		"other-expired-after":     func(id string) { claim(id, "other", after.Add(-time.Minute+time.Second)) },
		"other-finished-before":   func(id string) { claim(id, "other", before); finish(id, "other", before, true) },
		"other-finished-after":    func(id string) { claim(id, "other", after); finish(id, "other", after, true) },
		"other-finished-not-sent": func(id string) { claim(id, "other", after); finish(id, "other", after, false) },
		"third-sent-then-other-not": func(id string) {
			claim(id, "third", after)
			finish(id, "third", after, true)
			claim(id, "other", after.Add(time.Second))
			finish(id, "other", after.Add(2*time.Second), false)
		},
	}
	for name, setup := range states {
		for _, force := range []bool{false, true} {
			label := name
			if force {
				label += "/force"
			}
			one, many := label+"/single", label+"/batch"
			setup(one)
			setup(many)
			req := func(id string) awsclient.ClaimRequest {
				r := claimReq(id, run, bt0)
				if !force {
					r.RedrivenSince = plannedT
				}
				return r
			}
			sres, serr := s.Claim(ctx, req(one))
			bres, berrs := s.ClaimBatch(ctx, []awsclient.ClaimRequest{req(many)})
			if serr != nil || berrs[0] != nil {
				t.Fatalf("%s: %v / %v", label, serr, berrs[0])
			}
			if sres.Refused != bres[0].Refused || sres.TookOver != bres[0].TookOver ||
				(sres.Refused != awsclient.ClaimGranted && sres.Holder.RunID != bres[0].Holder.RunID) {
				t.Errorf("%s: alone %+v, in a batch %+v", label, sres, bres[0])
			}
			same := func(step string) {
				a, _, err1 := s.Get(ctx, one)
				b, _, err2 := s.Get(ctx, many)
				if err := errors.Join(err1, err2); err != nil {
					t.Fatal(err)
				}
				a.RequestID, b.RequestID = "", ""
				if a != b {
					t.Errorf("%s after the %s: alone %+v, in a batch %+v", label, step, a, b)
				}
			}
			t.Logf("%s: %q took over %v", label, sres.Refused, sres.TookOver)
			same("claim")
			f := func(id string) awsclient.ClaimFinish {
				return awsclient.ClaimFinish{RequestID: id, RunID: run, Outcome: "delivered", Sent: true, At: bt0.Add(time.Second)}
			}
			ferr := s.Finish(ctx, f(one))
			berr := s.FinishBatch(ctx, []awsclient.ClaimFinish{f(many)})[0]
			if errors.Is(ferr, awsclient.ErrClaimLost) != errors.Is(berr, awsclient.ErrClaimLost) || (ferr == nil) != (berr == nil) {
				t.Errorf("%s: finish alone %v, in a batch %v", label, ferr, berr)
			}
			same("finish")
		}
	}
	if ops.count("TransactWriteItems") == 0 {
		t.Error("no transaction was sent: the batches fell back to single calls")
	}
}
