package awsclient_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/stowage-cli/stowage/awsclient"
	"github.com/stowage-cli/stowage/internal/devstack"
	"github.com/stowage-cli/stowage/internal/testenv"
)

// opCounter counts the DynamoDB operations a client sends, by name.
type opCounter struct {
	mu  sync.Mutex
	ops map[string]int
}

func (c *opCounter) Do(r *http.Request) (*http.Response, error) {
	op := r.Header.Get("X-Amz-Target")
	op = op[strings.LastIndex(op, ".")+1:]
	c.mu.Lock()
	c.ops[op]++
	c.mu.Unlock()
	return awshttp.NewBuildableClient().Do(r)
}

func (c *opCounter) count(op string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.ops[op]
}

// counted is client, its operations counted.
func counted(client *dynamodb.Client) (*dynamodb.Client, *opCounter) {
	c := &opCounter{ops: map[string]int{}}
	return dynamodb.New(client.Options(), func(o *dynamodb.Options) { o.HTTPClient = c }), c
}

// batchCase is one request's state before the batch, and what Claim would answer.
type batchCase struct {
	id      string
	setup   func(t *testing.T, s *awsclient.LeaseStore, id string)
	force   bool // the batch's claim has no RedrivenSince
	want    awsclient.ClaimRefusal
	took    bool
	wantRun string // the holder's run when refused
}

var (
	bt0      = time.Date(2026, 12, 7, 3, 0, 0, 0, time.UTC)
	plannedT = bt0.Add(-5 * time.Minute)
)

func otherClaims(at time.Time, finish bool) func(*testing.T, *awsclient.LeaseStore, string) {
	return func(t *testing.T, s *awsclient.LeaseStore, id string) {
		mustClaim(t, s, claimReq(id, "other", at), awsclient.ClaimGranted)
		if finish {
			if err := s.Finish(ctxT(t), awsclient.ClaimFinish{RequestID: id, RunID: "other", Outcome: "delivered", Sent: true, At: at.Add(time.Second)}); err != nil {
				t.Fatal(err)
			}
		}
	}
}

var batchCases = []batchCase{
	{id: "new"},
	{id: "mine", setup: func(t *testing.T, s *awsclient.LeaseStore, id string) {
		mustClaim(t, s, claimReq(id, "batch", bt0.Add(-time.Second)), awsclient.ClaimGranted)
	}},
	{id: "held", setup: otherClaims(bt0.Add(-10*time.Second), false), want: awsclient.ClaimHeld, wantRun: "other"},
	{id: "expired-force", setup: otherClaims(bt0.Add(-2*time.Minute), false), force: true, took: true},
	{id: "expired-planned", setup: otherClaims(bt0.Add(-2*time.Minute), false), want: awsclient.ClaimRedriven, wantRun: "other"},
	{id: "redriven", setup: otherClaims(bt0.Add(-time.Minute), true), want: awsclient.ClaimRedriven, wantRun: "other"},
	{id: "finished-before-plan", setup: otherClaims(bt0.Add(-10*time.Minute), true)},
	{id: "redriven-force", setup: otherClaims(bt0.Add(-time.Minute), true), force: true},
}

// leaseBatchScenario claims batchCases in one ClaimBatch and finishes the grants and one
// claim it does not hold in one FinishBatch: every answer is the one Claim and Finish give.
func leaseBatchScenario(t *testing.T, s *awsclient.LeaseStore) {
	var reqs []awsclient.ClaimRequest
	for _, c := range batchCases {
		if c.setup != nil {
			c.setup(t, s, c.id)
		}
		req := claimReq(c.id, "batch", bt0)
		if !c.force {
			req.RedrivenSince = plannedT
		}
		reqs = append(reqs, req)
	}
	res, errs := s.ClaimBatch(ctxT(t), reqs)
	var fs []awsclient.ClaimFinish
	for i, c := range batchCases {
		if errs[i] != nil {
			t.Fatalf("%s: %v", c.id, errs[i])
		}
		if res[i].Refused != c.want || res[i].TookOver != c.took || (c.want != "" && res[i].Holder.RunID != c.wantRun) {
			t.Errorf("%s: refused %q took over %v holder %q; want %q, %v, %q", c.id, res[i].Refused, res[i].TookOver, res[i].Holder.RunID, c.want, c.took, c.wantRun)
		}
		got, found, err := s.Get(ctxT(t), c.id)
		if err != nil || !found {
			t.Fatalf("%s: found %v, %v", c.id, found, err)
		}
		if granted := got.RunID == "batch" && got.Outcome == ""; granted != (c.want == awsclient.ClaimGranted) {
			t.Errorf("%s: the table holds %+v after refusal %q", c.id, got, c.want)
		}
		if c.want == awsclient.ClaimGranted || c.id == "held" {
			fs = append(fs, awsclient.ClaimFinish{RequestID: c.id, RunID: "batch", Outcome: "delivered", Sent: true, At: bt0.Add(time.Second)})
		}
	}
	ferrs := s.FinishBatch(ctxT(t), fs)
	for i, f := range fs {
		got, _, err := s.Get(ctxT(t), f.RequestID)
		if err != nil {
			t.Fatal(err)
		}
		if f.RequestID == "held" {
			if !errors.Is(ferrs[i], awsclient.ErrClaimLost) || got.Outcome != "" || got.LastSentRun != "batch" {
				t.Errorf("held: finish %v, item %+v; want ErrClaimLost, the send recorded and the holder's claim kept", ferrs[i], got)
			}
			continue
		}
		if ferrs[i] != nil || got.Outcome != "delivered" || !got.Sent || got.LastSentRun != "batch" {
			t.Errorf("%s: finish %v, item %+v", f.RequestID, ferrs[i], got)
		}
	}
}

// dynalite does not implement TransactWriteItems: the store asks once, then claims and
// finishes one by one, with the same answers.
func TestLeaseBatchFallsBackWithoutTransactions(t *testing.T) {
	base, table := leaseTable(t)
	client, ops := counted(base)
	s := awsclient.NewLeaseStore(client, table, false)
	leaseBatchScenario(t, s)
	if n := ops.count("TransactWriteItems"); n != 1 {
		t.Errorf("%d TransactWriteItems calls, want 1 (refused once, then remembered)", n)
	}
}

// The demo's DynamoDB implements TransactWriteItems: the same answers, the grants and
// finishes in transactions.
func TestLeaseBatchOnTheDemo(t *testing.T) {
	st, err := devstack.Start(context.Background(), devstack.Options{Requests: -1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	base := dynamodb.New(dynamodb.Options{Region: st.Region, BaseEndpoint: aws.String(st.DynamoDBURL),
		Credentials: credentials.NewStaticCredentialsProvider(st.AccessKey, st.SecretKey, "")})
	client, ops := counted(base)
	leaseBatchScenario(t, awsclient.NewLeaseStore(client, st.LeaseTable, false))
	t.Logf("operations: %v", ops.ops)
	if ops.count("TransactWriteItems") == 0 {
		t.Skip("the demo's DynamoDB has no TransactWriteItems yet: the fallback answered")
	}
}

// A read-only store refuses every claim and finish of a batch before anything is sent.
func TestLeaseBatchReadOnlySendsNothing(t *testing.T) {
	base := testenv.NewDynamoDBClient(t, testenv.DynamoDB(t))
	client, ops := counted(base)
	s := awsclient.NewLeaseStore(client, "no-such-table", true)
	_, errs := s.ClaimBatch(ctxT(t), []awsclient.ClaimRequest{claimReq("a", "r", bt0), claimReq("b", "r", bt0)})
	ferrs := s.FinishBatch(ctxT(t), []awsclient.ClaimFinish{{RequestID: "a", RunID: "r", Outcome: "delivered", At: bt0}})
	for _, err := range append(errs, ferrs...) {
		if awsclient.KindOf(err) != awsclient.KindReadOnly {
			t.Errorf("err = %v, want read-only", err)
		}
	}
	if len(ops.ops) != 0 {
		t.Errorf("sent %v", ops.ops)
	}
}

// scriptedDynamo answers each operation with the next of its scripted replies (status,
// body), repeating the last; it counts the calls.
type scriptedDynamo struct {
	opCounter
	replies map[string][][2]string
}

func (d *scriptedDynamo) Do(r *http.Request) (*http.Response, error) {
	op := r.Header.Get("X-Amz-Target")
	op = op[strings.LastIndex(op, ".")+1:]
	d.mu.Lock()
	n := d.ops[op]
	d.ops[op]++
	rs := d.replies[op]
	d.mu.Unlock()
	reply := [2]string{"200", "{}"}
	if len(rs) > 0 {
		reply = rs[min(n, len(rs)-1)]
	}
	code := http.StatusOK
	if reply[0] != "200" {
		code = http.StatusBadRequest
	}
	return &http.Response{StatusCode: code, Header: http.Header{"Content-Type": {"application/x-amz-json-1.0"}},
		Body: io.NopCloser(strings.NewReader(reply[1])), Request: r}, nil
}

func scriptedStore(t *testing.T, replies map[string][][2]string) (*awsclient.LeaseStore, *scriptedDynamo) {
	d := &scriptedDynamo{opCounter: opCounter{ops: map[string]int{}}, replies: replies}
	client := dynamodb.New(dynamodb.Options{Region: "us-east-1", BaseEndpoint: aws.String("http://127.0.0.1:1"),
		Credentials: credentials.NewStaticCredentialsProvider("AKID", "SECRET", ""), HTTPClient: d,
		RetryMaxAttempts: 1})
	return awsclient.NewLeaseStore(client, "leases", false), d
}

const ddbErr = `{"__type":"com.amazonaws.dynamodb.v20120810#`

// A transaction that conflicts with another writer is sent again, not claimed alone.
func TestLeaseBatchRetriesAConflict(t *testing.T) {
	s, d := scriptedStore(t, map[string][][2]string{"TransactWriteItems": {
		{"400", ddbErr + `TransactionCanceledException","Message":"Transaction cancelled [TransactionConflict, None]","CancellationReasons":[{"Code":"TransactionConflict","Message":"Transaction is ongoing for the item"},{"Code":"None"}]}`},
		{"200", "{}"},
	}})
	res, errs := s.ClaimBatch(ctxT(t), []awsclient.ClaimRequest{claimReq("a", "r", bt0), claimReq("b", "r", bt0)})
	for i := range res {
		if errs[i] != nil || res[i].Refused != awsclient.ClaimGranted {
			t.Errorf("%d: %+v %v", i, res[i], errs[i])
		}
	}
	if d.count("TransactWriteItems") != 2 || d.count("UpdateItem") != 0 {
		t.Errorf("calls %v, want two transactions and no single claim", d.ops)
	}
}

// Credentials a policy refuses transactions get single claims and finishes, from then on.
func TestLeaseBatchFallsBackWhenTransactionsAreDenied(t *testing.T) {
	s, d := scriptedStore(t, map[string][][2]string{
		"TransactWriteItems": {{"400", ddbErr + `AccessDeniedException","Message":"not authorized to perform: dynamodb:UpdateItem with an explicit deny"}`}},
	})
	for range 2 {
		_, errs := s.ClaimBatch(ctxT(t), []awsclient.ClaimRequest{claimReq("a", "r", bt0), claimReq("b", "r", bt0)})
		ferrs := s.FinishBatch(ctxT(t), []awsclient.ClaimFinish{{RequestID: "a", RunID: "r", Outcome: "delivered", At: bt0}})
		for _, err := range append(errs, ferrs...) {
			if err != nil {
				t.Fatal(err)
			}
		}
	}
	if d.count("TransactWriteItems") != 1 || d.count("UpdateItem") != 6 {
		t.Errorf("calls %v, want one refused transaction, then six single updates", d.ops)
	}
}

// A throttled transaction fails its items with a retryable error (the caller backs off
// and sends the batch again), and does not send each alone: that would give a throttled
// table 25 writes for one. The store keeps batching.
func TestLeaseBatchThrottledIsRetriedNotSentAlone(t *testing.T) {
	throttled := [2]string{"400", ddbErr + `ProvisionedThroughputExceededException","message":"The level of configured provisioned throughput for the table was exceeded"}`}
	s, d := scriptedStore(t, map[string][][2]string{"TransactWriteItems": {throttled, throttled, {"200", "{}"}}})
	_, errs := s.ClaimBatch(ctxT(t), []awsclient.ClaimRequest{claimReq("a", "r", bt0), claimReq("b", "r", bt0)})
	ferrs := s.FinishBatch(ctxT(t), []awsclient.ClaimFinish{{RequestID: "a", RunID: "r", Outcome: "delivered", At: bt0}})
	for _, err := range append(errs, ferrs...) {
		if err == nil || !awsclient.KindOf(err).Retryable() {
			t.Errorf("err %v (kind %v), want a retryable error", err, awsclient.KindOf(err))
		}
	}
	if d.count("UpdateItem") != 0 {
		t.Errorf("calls %v: a throttled batch went alone", d.ops)
	}
	if _, errs = s.ClaimBatch(ctxT(t), []awsclient.ClaimRequest{claimReq("c", "r", bt0)}); errs[0] != nil || d.count("TransactWriteItems") != 3 {
		t.Errorf("after the throttling: %v, calls %v; want the store still batching", errs[0], d.ops)
	}
}
