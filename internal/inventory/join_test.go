package inventory

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stowage-cli/stowage/awsclient"
)

// heldTable holds every BatchGet until want of them are in flight at once (or the test's
// context ends), and records the most it saw.
type heldTable struct {
	*fakeTable
	want     int
	mu       sync.Mutex
	inFlight int
	peak     int
	reached  chan struct{}
	once     sync.Once
}

func (h *heldTable) BatchGet(ctx context.Context, ids []string) (map[string]awsclient.Status, error) {
	h.mu.Lock()
	h.inFlight++
	h.peak = max(h.peak, h.inFlight)
	if h.inFlight >= h.want {
		h.once.Do(func() { close(h.reached) })
	}
	h.mu.Unlock()
	defer func() {
		h.mu.Lock()
		h.inFlight--
		h.mu.Unlock()
	}()
	select {
	case <-h.reached:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	return h.fakeTable.BatchGet(ctx, ids)
}

// A sharded listing keeps enough status lookups in flight for its ranges: with 8 (the
// default concurrency), joining at 20 ms a round trip took 125 rounds for 100k keys
// while each of 16 ranges listed 7 pages.
func TestShardedJoinKeepsLookupsInFlightForEveryRange(t *testing.T) {
	var objs []awsclient.Object
	for i := range 20000 {
		objs = append(objs, obj(fmt.Sprintf("%08x-0000-4000-8000-000000000000", uint32(i)*214013), time.Hour))
	}
	table := &heldTable{fakeTable: newFakeTable(), want: joinPerStream * DefaultParallel, reached: make(chan struct{})}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	n := 0
	err := List(ctx, Source{Objects: newFakeBucket(objs...), Statuses: table}, Options{Parallel: DefaultParallel}, func(rows []Row) error {
		n += len(rows)
		return nil
	})
	if err != nil {
		t.Fatalf("listed %d rows, at most %d lookups in flight (want %d): %v", n, table.peak, table.want, err)
	}
	if n != len(objs) || table.peak < table.want {
		t.Fatalf("listed %d of %d rows, at most %d lookups in flight, want %d", n, len(objs), table.peak, table.want)
	}
}

// Once the first matches of a status listing are joined with HEAD, the rest wait for the
// bucket listing, so the status pages ask for as many items as they can: in pages of 100,
// 82k PROCESSED items took 826 round trips in series.
func TestStatusListingAsksForBigPagesPastTheHeadBudget(t *testing.T) {
	var objs []awsclient.Object
	var items []awsclient.Status
	for i := range 60 {
		id := fmt.Sprintf("%08x-0000-4000-8000-000000000000", i)
		objs = append(objs, obj(id, time.Hour))
		items = append(items, status(id, "FAILED", time.Duration(i)*time.Minute))
	}
	table := newFakeTable(items...)
	rows, err := collect(func(fn func([]Row) error) error {
		return List(context.Background(), Source{Objects: newFakeBucket(objs...), Statuses: table}, Options{Status: "FAILED", HeadBudget: 10}, fn)
	})
	if err != nil || len(rows) != len(items) {
		t.Fatalf("%d rows, %v", len(rows), err)
	}
	if first, last := table.limits[0], table.limits[len(table.limits)-1]; first > 100 || last < 1000 {
		t.Fatalf("status pages asked for %v items, want at most 100 while HEADing and at least 1000 after", table.limits)
	}
}
