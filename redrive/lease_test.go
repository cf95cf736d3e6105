package redrive

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stowage-cli/stowage/awsclient"
)

// finalProgress runs r to the end and returns its report and last snapshot.
func finalProgress(t *testing.T, r *Run) (*Report, Progress) {
	t.Helper()
	if err := r.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	var last Progress
	for p := range r.Updates() {
		last = p
	}
	return r.Wait(), last
}

// Two runs over the same requests, each with its own journal, as on two machines: the
// shared lease table lets each request through once. The gateway does not change the
// status (as in reupload, where the old ID's status never changes), so the status
// re-check cannot tell the runs apart; only the claim can.
func TestTwoRunsSharingALeaseTableDeliverEachRequestOnce(t *testing.T) {
	for _, mode := range []Mode{ModeReupload, ModeInplace} {
		for _, table := range []string{"leases", "batched", "no-table"} {
			withLeases := table != "no-table"
			t.Run(string(mode)+"/"+table, func(t *testing.T) {
				f := newFixture(t, 40)
				f.sender.status = nil
				ma, mb := f.plan(t, mode), f.plan(t, mode)
				deps := f.deps()
				if withLeases {
					l := newMemLeases()
					l.batched = table == "batched"
					deps.Leases = l.claimer()
				}
				var runs []*Run
				for i, m := range []*Manifest{ma, mb} {
					o := f.opts()
					o.JournalPath = filepath.Join(f.dir, []string{"a", "b"}[i]+".journal.jsonl")
					r, err := New(deps, m, o)
					if err != nil {
						t.Fatal(err)
					}
					runs = append(runs, r)
				}
				reps := make([]*Report, 2)
				progs := make([]Progress, 2)
				var wg sync.WaitGroup
				for i, r := range runs {
					wg.Go(func() { reps[i], progs[i] = finalProgress(t, r) })
				}
				wg.Wait()
				twice := 0
				for _, id := range f.ids {
					switch n := f.sender.receivedOf(id); {
					case n == 0:
						t.Errorf("%s never delivered", id)
					case n > 1:
						twice++
					}
				}
				if !withLeases {
					// The control: without a table nothing stops the second run.
					if twice == 0 || !progs[0].NoLeaseTable {
						t.Fatalf("without a lease table %d requests were delivered twice, NoLeaseTable %v", twice, progs[0].NoLeaseTable)
					}
					return
				}
				if twice != 0 {
					t.Fatalf("%d of 40 requests delivered twice", twice)
				}
				delivered, skipped := 0, 0
				for _, rep := range reps {
					delivered += rep.Counts.Delivered
					skipped += rep.Counts.Skipped
					for _, it := range rep.Items {
						if it.State == StateSkipped && !strings.HasPrefix(it.Note, "claimed by run ") && !strings.HasPrefix(it.Note, "already redriven by run ") {
							t.Errorf("skipped with %q", it.Note)
						}
					}
				}
				if delivered != 40 || skipped != 40 || progs[0].NoLeaseTable {
					t.Errorf("delivered %d, skipped %d (want 40, 40), NoLeaseTable %v", delivered, skipped, progs[0].NoLeaseTable)
				}
			})
		}
	}
}

func TestClaimRefusalsSkipWithTheHolderAndForceSendsRedriven(t *testing.T) {
	for _, force := range []bool{false, true} {
		t.Run(map[bool]string{false: "plain", true: "force"}[force], func(t *testing.T) {
			bothLeaseKinds(t, func(t *testing.T, leases *memLeases) {
				f := newFixture(t, 3)
				m := f.plan(t, ModeInplace)
				planned := m.PlannedAt
				leases.claims[f.ids[0]] = awsclient.Claim{RequestID: f.ids[0], RunID: "run-live", Operator: "alice@laptop",
					ClaimedAt: planned, Expires: planned.Add(time.Hour)}
				leases.claims[f.ids[1]] = awsclient.Claim{RequestID: f.ids[1], RunID: "run-done", Operator: "bob",
					ClaimedAt: planned, Expires: planned.Add(time.Hour), Outcome: "delivered", FinishedAt: planned.Add(time.Second),
					Sent: true, LastSentAt: planned.Add(time.Second), LastSentRun: "run-done"}
				leases.claims[f.ids[2]] = awsclient.Claim{RequestID: f.ids[2], RunID: "run-dead", Operator: "carol",
					ClaimedAt: planned.Add(-time.Hour), Expires: planned.Add(-time.Minute)}
				o := f.opts()
				o.Force = force
				rep := runToEnd(t, newLeaseRun(t, f, m, leases, o))
				byID := map[string]ItemResult{}
				for _, it := range rep.Items {
					byID[it.RequestID] = it
				}
				live := byID[f.ids[0]]
				if live.State != StateSkipped || !strings.HasPrefix(live.Note, "claimed by run run-live (alice@laptop, started ") || f.sender.receivedOf(f.ids[0]) != 0 {
					t.Errorf("live claim: %s %q, received %d", live.State, live.Note, f.sender.receivedOf(f.ids[0]))
				}
				done := byID[f.ids[1]]
				if force {
					if done.State != StateDelivered || f.sender.receivedOf(f.ids[1]) != 1 {
						t.Errorf("forced over an earlier redrive: %s", done.State)
					}
				} else if done.State != StateSkipped || !strings.Contains(done.Note, "already redriven by run run-done at ") ||
					!strings.Contains(done.Note, "use --force") || f.sender.receivedOf(f.ids[1]) != 0 {
					t.Errorf("redriven: %s %q", done.State, done.Note)
				}
				dead := byID[f.ids[2]]
				if dead.State != StateDelivered || !strings.Contains(dead.Note, "took over the expired claim of run run-dead") {
					t.Errorf("expired claim: %s %q", dead.State, dead.Note)
				}
				if c := leases.get(f.ids[2]); c.RunID != m.RunID || c.Outcome != "delivered" || !c.Sent {
					t.Errorf("the lease table was not told: %+v", c)
				}
			})
		})
	}
}

func TestAFailingLeaseTableSendsNothing(t *testing.T) {
	bothLeaseKinds(t, func(t *testing.T, leases *memLeases) {
		f := newFixture(t, 3)
		m := f.plan(t, ModeInplace)
		leases.claimErr = &awsclient.Error{Kind: awsclient.KindThrottled, Op: "claim", Message: "slow down"}
		rep := runToEnd(t, newLeaseRun(t, f, m, leases, f.opts()))
		for _, it := range rep.Items {
			if it.State != StateFailed || !strings.Contains(it.Error, "could not claim the request in the lease table, so nothing was sent") ||
				!strings.Contains(it.Error, "stowage doctor") || f.sender.attemptsOf(it.RequestID) != 0 {
				t.Errorf("%s: %s %q, %d attempts", it.RequestID, it.State, it.Error, f.sender.attemptsOf(it.RequestID))
			}
		}
	})
}

// A claim whose end cannot be recorded is a warning; the item is delivered and journaled.
func TestAFailedClaimFinishIsAWarningNotALostItem(t *testing.T) {
	bothLeaseKinds(t, func(t *testing.T, leases *memLeases) {
		f := newFixture(t, 2)
		m := f.plan(t, ModeInplace)
		leases.finErr = &awsclient.Error{Kind: awsclient.KindServer, Op: "finish-claim", Message: "boom"}
		rep, last := finalProgress(t, newLeaseRun(t, f, m, leases, f.opts()))
		if rep.Counts.Delivered != 2 || rep.Outcome != OutcomeDelivered {
			t.Fatalf("report %+v", rep.Counts)
		}
		if len(last.LeaseWarnings) != 2 || !strings.Contains(last.LeaseWarnings[0], "the lease table was not told it ended delivered") {
			t.Errorf("warnings %q", last.LeaseWarnings)
		}
		if leases.finishes != 2*claimTries {
			t.Errorf("%d finish calls, want %d (retried)", leases.finishes, 2*claimTries)
		}
	})
}

// A resumed run claims again under its own run ID: the table grants it, though the
// earlier process's claim is still live.
func TestResumeReclaimsUnderTheSameRun(t *testing.T) {
	bothLeaseKinds(t, func(t *testing.T, leases *memLeases) {
		f := newFixture(t, 2)
		m := f.plan(t, ModeInplace)
		for _, id := range f.ids {
			leases.claims[id] = awsclient.Claim{RequestID: id, RunID: m.RunID, ClaimedAt: time.Now(), Expires: time.Now().Add(time.Hour)}
		}
		o := f.opts()
		journalFor(t, o.JournalPath, m, Record{Type: RecSending, ID: f.ids[0], Attempt: 1})
		st, err := LoadJournal(o.JournalPath)
		if err != nil {
			t.Fatal(err)
		}
		deps := f.deps()
		deps.Leases = leases.claimer()
		r, err := Resume(deps, st, o)
		if err != nil {
			t.Fatal(err)
		}
		rep := runToEnd(t, r)
		if rep.Counts.Delivered != 2 {
			t.Fatalf("counts %+v: %+v", rep.Counts, rep.Items)
		}
		for _, id := range f.ids {
			if c := leases.get(id); c.Outcome != "delivered" || !c.Sent {
				t.Errorf("%s: %+v", id, c)
			}
		}
	})
}

// A run whose claim was taken over between two attempts does not send again: its first
// attempt may have been delivered, so the item fails with the new holder named.
func TestAClaimLostBetweenAttemptsIsNotSentAgain(t *testing.T) {
	bothLeaseKinds(t, func(t *testing.T, leases *memLeases) {
		f := newFixture(t, 1)
		f.sender.status = nil // the processor has not written yet: the re-check proves nothing
		m := f.plan(t, ModeInplace)
		f.sender.script = func(id string, n int) (int, error) {
			leases.mu.Lock()
			leases.claims[id] = awsclient.Claim{RequestID: id, RunID: "thief", Operator: "eve", ClaimedAt: time.Now(), Expires: time.Now().Add(time.Hour)}
			leases.mu.Unlock()
			return 0, lostConnection()
		}
		rep := runToEnd(t, newLeaseRun(t, f, m, leases, f.opts()))
		got := rep.Items[0]
		if got.State != StateFailed || !strings.Contains(got.Error, "the claim was lost to run thief (eve, started") || f.sender.attemptsOf(f.ids[0]) != 1 {
			t.Errorf("%s %q after %d attempts", got.State, got.Error, f.sender.attemptsOf(f.ids[0]))
		}
	})
}

// bothLeaseKinds runs test on a table claimed one by one and on one claimed in batches.
func bothLeaseKinds(t *testing.T, test func(t *testing.T, leases *memLeases)) {
	for _, batched := range []bool{false, true} {
		t.Run(map[bool]string{false: "single", true: "batched"}[batched], func(t *testing.T) {
			l := newMemLeases()
			l.batched = batched
			test(t, l)
		})
	}
}

// newLeaseRun is a run of m on the fixture with leases as its lease table.
func newLeaseRun(t *testing.T, f *fixture, m *Manifest, leases *memLeases, o Options) *Run {
	t.Helper()
	deps := f.deps()
	deps.Leases = leases.claimer()
	r, err := New(deps, m, o)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// An item whose outcome could not be put on disk (fsync failed) does not tell the lease
// table how it ended: the claim lapses, and the lease never says more than the journal
// holds. (It was told "delivered" while the journal's last durable word was "sending".)
func TestAFailedSyncDoesNotFinishTheClaim(t *testing.T) {
	bothLeaseKinds(t, func(t *testing.T, leases *memLeases) {
		f := newFixture(t, 1)
		m := f.plan(t, ModeInplace)
		o := f.opts()
		fsyncFile = func(file *os.File) error {
			// Every fsync up to the send passes (the sending record is durable); the one
			// after it, the outcome's, fails.
			if file.Name() == o.JournalPath && f.sender.attemptsOf(f.ids[0]) > 0 {
				return errors.New("input/output error")
			}
			return file.Sync()
		}
		t.Cleanup(func() { fsyncFile = (*os.File).Sync })
		r := newLeaseRun(t, f, m, leases, o)
		rep := runToEnd(t, r)
		if r.leases != nil && len(r.leases.room) != 0 {
			t.Errorf("%d places of the finish backlog still taken: the unsynced item's was not given back", len(r.leases.room))
		}
		if rep.Outcome != OutcomeError || !strings.Contains(rep.StopReason, "the journal could not be written") {
			t.Errorf("outcome %s: %s", rep.Outcome, rep.StopReason)
		}
		if f.sender.attemptsOf(f.ids[0]) != 1 {
			t.Fatalf("%d attempts", f.sender.attemptsOf(f.ids[0]))
		}
		if c := leases.get(f.ids[0]); c.Outcome != "" || leases.finishes != 0 {
			t.Errorf("the lease table was told %q (%d finishes) after the outcome's fsync failed", c.Outcome, leases.finishes)
		}
	})
}
