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
