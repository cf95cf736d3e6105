package redrive

import (
	"context"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stowage-cli/stowage/awsclient"
)

// slowFinish is a lease table whose Finish takes a round trip of a slow link.
type slowFinish struct {
	*memLeases
	took time.Duration
}

func (s *slowFinish) Finish(ctx context.Context, f awsclient.ClaimFinish) error {
	time.Sleep(s.took)
	return s.memLeases.Finish(ctx, f)
}

// Telling the lease table how an item ended does not hold a concurrency slot: at one in
// flight, the next item is sent while the previous item's Finish is still on its way.
func TestLeaseFinishDoesNotHoldTheConcurrencySlot(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFixture(t, 10)
		m := f.plan(t, ModeInplace)
		m.Concurrency = 1
		leases := &slowFinish{memLeases: newMemLeases(), took: time.Second}
		deps := f.deps()
		deps.Leases = leases
		opts := f.opts()
		opts.ProgressInterval = time.Minute
		r, err := New(deps, m, opts)
		if err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		rep := runToEnd(t, r)
		if rep.Counts.Delivered != 10 {
			t.Fatalf("counts %s", rep.Counts)
		}
		// Sends take no time here: the run lasts one Finish, not ten in series.
		if el := time.Since(start); el > 2*time.Second {
			t.Errorf("10 items at one in flight took %v with a 1s Finish each: the Finish held the slot", el)
		}
		for _, id := range f.ids {
			if c := leases.get(id); c.Outcome != string(StateDelivered) {
				t.Errorf("%s: lease outcome %q, want delivered (the run still waits for every Finish)", id, c.Outcome)
			}
		}
	})
}
