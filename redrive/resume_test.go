package redrive

import (
	"context"
	"os"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stowage-cli/stowage/awsclient"
)

// timedStatus records when each status read happened.
type timedStatus struct {
	StatusChecker
	mu  sync.Mutex
	ats map[string][]time.Time
}

func (s *timedStatus) Get(ctx context.Context, id string) (awsclient.Status, bool, error) {
	s.mu.Lock()
	if s.ats == nil {
		s.ats = map[string][]time.Time{}
	}
	s.ats[id] = append(s.ats[id], time.Now())
	s.mu.Unlock()
	return s.StatusChecker.Get(ctx, id)
}

// A run killed during its settle wait leaves an item journaled unknown; --resume must
// not re-check it before its journaled time plus UnknownSettle, or it would resend a
// request the slow processor is still working on.
func TestResumeKeepsTheSettleWaitOfUnknownItems(t *testing.T) {
	for _, state := range []RecordType{RecSending, RecUnknown} {
		t.Run(string(state), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				f := newFixture(t, 2)
				m := f.plan(t, ModeInplace)
				o := f.opts()
				o.UnknownSettle = 4 * time.Second
				pre := &StatusRead{Found: true, State: "FAILED", UpdatedAt: fakeUpdatedAt}
				recs := []Record{{Type: RecSending, ID: f.ids[0], Attempt: 1, PreSend: pre}}
				if state == RecUnknown {
					recs = append(recs, Record{Type: RecUnknown, ID: f.ids[0], Attempt: 1, Reason: "connection reset"})
				}
				journalFor(t, o.JournalPath, m, recs...)
				killedAt := time.Now().Add(-time.Second) // the kill was a second ago
				if err := os.Chtimes(o.JournalPath, killedAt, killedAt); err != nil {
					t.Fatal(err)
				}
				st, err := LoadJournal(o.JournalPath)
				if err != nil {
					t.Fatal(err)
				}
				status := &timedStatus{StatusChecker: f.status}
				deps := f.deps()
				deps.Status = status
				r, err := Resume(deps, st, o)
				if err != nil {
					t.Fatal(err)
				}
				start := time.Now()
				var processor sync.WaitGroup
				processor.Go(func() {
					// The processor writes its verdict 2.5 s after the resume starts.
					time.Sleep(2500 * time.Millisecond)
					f.status.bump(f.ids[0])
				})
				rep := runToEnd(t, r)
				processor.Wait()
				got := rep.Items[0]
				if got.State != StateDelivered || f.sender.attemptsOf(f.ids[0]) != 0 {
					t.Errorf("item %s, sent %d times again: want confirmed by its status, not resent", got.State, f.sender.attemptsOf(f.ids[0]))
				}
				status.mu.Lock()
				defer status.mu.Unlock()
				settled := killedAt.Add(o.UnknownSettle)
				reads := status.ats[f.ids[0]]
				if len(reads) == 0 {
					t.Fatal("the unknown item was never re-checked")
				}
				if reads[0].Before(settled) {
					t.Errorf("the unknown item was re-checked at +%v, want no sooner than +%v (journaled time + settle)",
						reads[0].Sub(start), settled.Sub(start))
				}
				if other := status.ats[f.ids[1]]; len(other) != 1 || !other[0].Equal(start) {
					t.Errorf("the pending item was read at %v, want once at once", other)
				}
				if rep.Items[1].State != StateDelivered {
					t.Errorf("the pending item ended %s", rep.Items[1].State)
				}
			})
		})
	}
}
