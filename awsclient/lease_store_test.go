package awsclient_test

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/stowage-cli/stowage/awsclient"
	"github.com/stowage-cli/stowage/internal/testenv"
)

func leaseTable(t *testing.T) (*dynamodb.Client, string) {
	t.Helper()
	client := testenv.NewDynamoDBClient(t, testenv.DynamoDB(t))
	return client, testenv.NewTable(t, client, "lease", awsclient.LeaseKeyAttr)
}

var t0 = time.Date(2026, 12, 7, 3, 0, 0, 0, time.UTC)

func claimReq(id, run string, now time.Time) awsclient.ClaimRequest {
	return awsclient.ClaimRequest{RequestID: id, RunID: run, Operator: run + "@host", Env: "staging", Now: now, TTL: time.Minute}
}

func mustClaim(t *testing.T, s *awsclient.LeaseStore, req awsclient.ClaimRequest, want awsclient.ClaimRefusal) awsclient.ClaimResult {
	t.Helper()
	res, err := s.Claim(ctxT(t), req)
	if err != nil {
		t.Fatalf("claim %s by %s: %v", req.RequestID, req.RunID, err)
	}
	if res.Refused != want {
		t.Fatalf("claim %s by %s: refused=%q, want %q (holder %+v)", req.RequestID, req.RunID, res.Refused, want, res.Holder)
	}
	return res
}

// Two machines: separate clients, same table, same requests at the same moment.
func TestLeaseRaceOneWinner(t *testing.T) {
	_, table := leaseTable(t)
	ep := testenv.DynamoDB(t)
	a := awsclient.NewLeaseStore(testenv.NewDynamoDBClient(t, ep), table, false)
	b := awsclient.NewLeaseStore(testenv.NewDynamoDBClient(t, ep), table, false)
	for i := 0; i < 20; i++ {
		id := fmt.Sprintf("req-%02d", i)
		var wg sync.WaitGroup
		results := make([]awsclient.ClaimResult, 2)
		errs := make([]error, 2)
		for j, s := range []*awsclient.LeaseStore{a, b} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				results[j], errs[j] = s.Claim(ctxT(t), claimReq(id, fmt.Sprintf("run-%d", j), t0))
			}()
		}
		wg.Wait()
		if errs[0] != nil || errs[1] != nil {
			t.Fatalf("%s: %v / %v", id, errs[0], errs[1])
		}
		granted := 0
		for j, r := range results {
			switch r.Refused {
			case awsclient.ClaimGranted:
				granted++
			case awsclient.ClaimHeld:
				if want := fmt.Sprintf("run-%d", 1-j); r.Holder.RunID != want || r.Holder.Operator != want+"@host" {
					t.Errorf("%s: loser sees holder %+v, want %s", id, r.Holder, want)
				}
			default:
				t.Errorf("%s: refused %q", id, r.Refused)
			}
		}
		if granted != 1 {
			t.Fatalf("%s: %d runs won the claim, want exactly 1: %+v", id, granted, results)
		}
	}
}

func TestLeaseHeldUntilExpiryThenTakenOver(t *testing.T) {
	client, table := leaseTable(t)
	s := awsclient.NewLeaseStore(client, table, false)
	mustClaim(t, s, claimReq("r1", "A", t0), awsclient.ClaimGranted)

	res := mustClaim(t, s, claimReq("r1", "B", t0.Add(30*time.Second)), awsclient.ClaimHeld)
	if res.Holder.RunID != "A" || !res.Holder.ClaimedAt.Equal(t0) || !res.Holder.Expires.Equal(t0.Add(time.Minute)) {
		t.Fatalf("holder = %+v", res.Holder)
	}
	if got := res.Holder.String(); got != "run A (A@host, started 2026-12-07T03:00:00Z)" {
		t.Errorf("holder reads %q", got)
	}
	// The same run may claim again (resume).
	mustClaim(t, s, claimReq("r1", "A", t0.Add(40*time.Second)), awsclient.ClaimGranted)

	// A dies. B planned after A's claim: the expired claim is B's to take over.
	late := claimReq("r1", "B", t0.Add(3*time.Minute))
	late.RedrivenSince = t0.Add(2 * time.Minute)
	res = mustClaim(t, s, late, awsclient.ClaimGranted)
	if !res.TookOver || res.Holder.RunID != "A" {
		t.Fatalf("take-over = %+v", res)
	}
}

// An expired claim nobody finished may have been sent: a run planned before it refuses.
func TestLeaseExpiredUnfinishedCountsAsSentForOlderPlans(t *testing.T) {
	client, table := leaseTable(t)
	s := awsclient.NewLeaseStore(client, table, false)
	mustClaim(t, s, claimReq("r1", "A", t0), awsclient.ClaimGranted)
	req := claimReq("r1", "B", t0.Add(5*time.Minute))
	req.RedrivenSince = t0.Add(-time.Minute)
	mustClaim(t, s, req, awsclient.ClaimRedriven)
	req.RedrivenSince = time.Time{} // --force
	if res := mustClaim(t, s, req, awsclient.ClaimGranted); !res.TookOver {
		t.Fatalf("forced take-over = %+v", res)
	}
}

func TestLeaseRedrivenSincePlanning(t *testing.T) {
	client, table := leaseTable(t)
	s := awsclient.NewLeaseStore(client, table, false)
	mustClaim(t, s, claimReq("r1", "A", t0), awsclient.ClaimGranted)
	if err := s.Finish(ctxT(t), awsclient.ClaimFinish{RequestID: "r1", RunID: "A", Outcome: "delivered", Sent: true, At: t0.Add(time.Second)}); err != nil {
		t.Fatal(err)
	}

	planned := t0.Add(-time.Hour) // B planned before A sent
	b := claimReq("r1", "B", t0.Add(2*time.Second))
	b.RedrivenSince = planned
	res := mustClaim(t, s, b, awsclient.ClaimRedriven)
	if res.Holder.LastSentRun != "A" || !res.Holder.LastSentAt.Equal(t0.Add(time.Second)) || res.Holder.Outcome != "delivered" {
		t.Fatalf("holder = %+v", res.Holder)
	}

	// C planned after A's send: granted; C sends nothing.
	c := claimReq("r1", "C", t0.Add(3*time.Second))
	c.RedrivenSince = t0.Add(2 * time.Second)
	if res := mustClaim(t, s, c, awsclient.ClaimGranted); res.TookOver || res.Holder.RunID != "A" {
		t.Fatalf("C's grant = %+v", res)
	}
	if err := s.Finish(ctxT(t), awsclient.ClaimFinish{RequestID: "r1", RunID: "C", Outcome: "skipped", At: t0.Add(4 * time.Second)}); err != nil {
		t.Fatal(err)
	}
	// C's claim did not hide A's send from B's old plan.
	b.Now = t0.Add(5 * time.Second)
	if res := mustClaim(t, s, b, awsclient.ClaimRedriven); res.Holder.LastSentRun != "A" || res.Holder.RunID != "C" {
		t.Fatalf("after C: %+v", res.Holder)
	}
	// --force takes it.
	b.RedrivenSince = time.Time{}
	mustClaim(t, s, b, awsclient.ClaimGranted)
}

func TestLeaseFinishKeepsOutcome(t *testing.T) {
	client, table := leaseTable(t)
	s := awsclient.NewLeaseStore(client, table, false)
	mustClaim(t, s, claimReq("r1", "A", t0), awsclient.ClaimGranted)
	at := t0.Add(10 * time.Second)
	if err := s.Finish(ctxT(t), awsclient.ClaimFinish{RequestID: "r1", RunID: "A", Outcome: "unknown", Sent: true, At: at}); err != nil {
		t.Fatal(err)
	}
	c, found, err := s.Get(ctxT(t), "r1")
	if err != nil || !found {
		t.Fatalf("found=%v err=%v", found, err)
	}
	if c.Outcome != "unknown" || !c.Sent || !c.FinishedAt.Equal(at) || c.RunID != "A" || c.Env != "staging" || c.Live(at) {
		t.Fatalf("claim = %+v", c)
	}
	// A finished claim is not live: another run planned after it may claim at once.
	b := claimReq("r1", "B", at.Add(time.Second))
	b.RedrivenSince = at
	mustClaim(t, s, b, awsclient.ClaimGranted)
	// A can no longer finish it: the outcome B will record stays B's.
	err = s.Finish(ctxT(t), awsclient.ClaimFinish{RequestID: "r1", RunID: "A", Outcome: "failed", At: at.Add(2 * time.Second)})
	if !errors.Is(err, awsclient.ErrClaimLost) {
		t.Fatalf("finish by a run that lost its claim: %v", err)
	}
	if c, _, _ := s.Get(ctxT(t), "r1"); c.RunID != "B" || c.Outcome != "" {
		t.Fatalf("after the refused finish: %+v", c)
	}
}

// A run whose claim was taken over still records that it sent.
func TestLeaseLostClaimStillRecordsTheSend(t *testing.T) {
	client, table := leaseTable(t)
	s := awsclient.NewLeaseStore(client, table, false)
	mustClaim(t, s, claimReq("r1", "A", t0), awsclient.ClaimGranted)
	mustClaim(t, s, claimReq("r1", "B", t0.Add(2*time.Minute)), awsclient.ClaimGranted)
	err := s.Finish(ctxT(t), awsclient.ClaimFinish{RequestID: "r1", RunID: "A", Outcome: "delivered", Sent: true, At: t0.Add(3 * time.Minute)})
	if !errors.Is(err, awsclient.ErrClaimLost) || !strings.Contains(err.Error(), "lease_ttl") {
		t.Fatalf("err = %v", err)
	}
	c, _, _ := s.Get(ctxT(t), "r1")
	if c.RunID != "B" || c.LastSentRun != "A" || !c.LastSentAt.Equal(t0.Add(3*time.Minute)) {
		t.Fatalf("claim = %+v", c)
	}
}

func TestLeaseWithoutOperatorOrEnv(t *testing.T) {
	client, table := leaseTable(t)
	s := awsclient.NewLeaseStore(client, table, false)
	req := awsclient.ClaimRequest{RequestID: "r1", RunID: "A", Now: t0, TTL: time.Minute}
	mustClaim(t, s, req, awsclient.ClaimGranted)
	if c, _, err := s.Get(ctxT(t), "r1"); err != nil || c.Operator != "unknown" || c.Env != "unknown" {
		t.Fatalf("claim %+v, %v", c, err)
	}
}

func TestLeaseReadOnlySendsNothing(t *testing.T) {
	client, table := leaseTable(t)
	ro := awsclient.NewLeaseStore(client, table, true)
	_, err := ro.Claim(ctxT(t), claimReq("r1", "A", t0))
	if !errors.Is(err, awsclient.ErrReadOnly) || awsclient.KindOf(err) != awsclient.KindReadOnly {
		t.Fatalf("claim: %v", err)
	}
	err = ro.Finish(ctxT(t), awsclient.ClaimFinish{RequestID: "r1", RunID: "A", Outcome: "delivered", At: t0})
	if !errors.Is(err, awsclient.ErrReadOnly) {
		t.Fatalf("finish: %v", err)
	}
	if err := ro.Check(ctxT(t)); err != nil {
		t.Fatalf("check in read-only: %v", err)
	}
	out, err := client.Scan(ctxT(t), &dynamodb.ScanInput{TableName: aws.String(table)})
	if err != nil || out.Count != 0 {
		t.Fatalf("the table holds %d items after read-only calls (err %v)", out.Count, err)
	}
}

func TestLeaseCheck(t *testing.T) {
	client, table := leaseTable(t)
	if err := awsclient.NewLeaseStore(client, table, false).Check(ctxT(t)); err != nil {
		t.Fatalf("good table: %v", err)
	}
	// The write probe leaves nothing behind.
	out, err := client.Scan(ctxT(t), &dynamodb.ScanInput{TableName: aws.String(table)})
	if err != nil || out.Count != 0 {
		t.Fatalf("the table holds %d items after Check (err %v)", out.Count, err)
	}

	err = awsclient.NewLeaseStore(client, table+"-missing", false).Check(ctxT(t))
	if awsclient.KindOf(err) != awsclient.KindNotFound || !strings.Contains(err.Error(), "aws dynamodb create-table --table-name "+table+"-missing") {
		t.Fatalf("missing table: %v", err)
	}
	_, err = awsclient.NewLeaseStore(client, table+"-missing", false).Claim(ctxT(t), claimReq("r1", "A", t0))
	if awsclient.KindOf(err) != awsclient.KindNotFound || !strings.Contains(err.Error(), "create-table") {
		t.Fatalf("claim on a missing table: %v", err)
	}

	wrong := testenv.NewTable(t, client, "lease-wrongkey", "id")
	err = awsclient.NewLeaseStore(client, wrong, false).Check(ctxT(t))
	if awsclient.KindOf(err) != awsclient.KindInvalid || !strings.Contains(err.Error(), "not requestId (HASH, S)") {
		t.Fatalf("wrong key: %v", err)
	}
	_, err = awsclient.NewLeaseStore(client, wrong, false).Claim(ctxT(t), claimReq("r1", "A", t0))
	if awsclient.KindOf(err) != awsclient.KindInvalid || !strings.Contains(err.Error(), "only key must be requestId") {
		t.Fatalf("claim on a wrong key: %v", err)
	}
}
