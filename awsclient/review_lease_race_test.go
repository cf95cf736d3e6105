package awsclient_test

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/stowage-cli/stowage/awsclient"
	"github.com/stowage-cli/stowage/internal/devstack"
)

// Three runs claim the same requests at once on the demo's DynamoDB, two in batches
// (transactions, in the other order for one of them) and one alone: each request is
// granted to exactly one run, the others are told it is held, and the table names that
// run.
func TestReviewConcurrentBatchesGrantEachRequestOnce(t *testing.T) {
	st, err := devstack.Start(context.Background(), devstack.Options{Requests: -1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	client := dynamodb.New(dynamodb.Options{Region: st.Region, BaseEndpoint: aws.String(st.DynamoDBURL),
		Credentials: credentials.NewStaticCredentialsProvider(st.AccessKey, st.SecretKey, "")})
	ctx := ctxT(t)
	for round := range 5 {
		var ids []string
		for i := range 40 {
			ids = append(ids, fmt.Sprintf("r%d-%02d", round, i))
		}
		runs := []string{"run-a", "run-b", "run-c"}
		granted := make([][]bool, len(runs))
		var wg sync.WaitGroup
		for k, run := range runs {
			s := awsclient.NewLeaseStore(client, st.LeaseTable, false)
			granted[k] = make([]bool, len(ids))
			wg.Go(func() {
				reqs := make([]awsclient.ClaimRequest, len(ids))
				for i, id := range ids {
					if k == 1 {
						id = ids[len(ids)-1-i]
					}
					reqs[i] = claimReq(id, run, bt0)
					reqs[i].RedrivenSince = plannedT
				}
				var res []awsclient.ClaimResult
				var errs []error
				if k == 2 {
					res, errs = make([]awsclient.ClaimResult, len(reqs)), make([]error, len(reqs))
					for i := range reqs {
						res[i], errs[i] = s.Claim(ctx, reqs[i])
					}
				} else {
					for lo := 0; lo < len(reqs); lo += 20 {
						r, e := s.ClaimBatch(ctx, reqs[lo:lo+20])
						res, errs = append(res, r...), append(errs, e...)
					}
				}
				for i := range reqs {
					j := i
					if k == 1 {
						j = len(ids) - 1 - i
					}
					switch {
					case errs[i] != nil:
						t.Errorf("%s %s: %v", run, reqs[i].RequestID, errs[i])
					case res[i].Refused == awsclient.ClaimGranted:
						granted[k][j] = true
					case res[i].Refused != awsclient.ClaimHeld:
						t.Errorf("%s %s: %+v, want granted or held", run, reqs[i].RequestID, res[i])
					}
				}
			})
		}
		wg.Wait()
		s := awsclient.NewLeaseStore(client, st.LeaseTable, false)
		for i, id := range ids {
			n, holder := 0, ""
			for k := range runs {
				if granted[k][i] {
					n, holder = n+1, runs[k]
				}
			}
			c, _, err := s.Get(ctx, id)
			if n != 1 || err != nil || c.RunID != holder {
				t.Errorf("%s granted to %d runs (%s); the table says %q (%v)", id, n, holder, c.RunID, err)
			}
		}
	}
}
