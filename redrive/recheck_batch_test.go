package redrive

import (
	"context"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stowage-cli/stowage/awsclient"
)

// batchCounter is the status table's BatchGetItem, counted; delay holds each answer
// back (the read itself is made when the call is sent).
type batchCounter struct {
	status *fakeStatus
	delay  time.Duration
	mu     sync.Mutex
	calls  int
	keys   int
	most   int
}

func (b *batchCounter) BatchGet(ctx context.Context, ids []string) (map[string]awsclient.Status, error) {
	b.mu.Lock()
	b.calls++
	b.keys += len(ids)
	b.most = max(b.most, len(ids))
	b.mu.Unlock()
	got, err := b.status.BatchGet(ctx, ids)
	if b.delay > 0 && !sleepCtx(ctx, b.delay) {
		return nil, ctx.Err()
	}
	return got, err
}

// With a batch reader, the pre-send checks of a large run are read with BatchGetItem,
// up to 100 keys a call, instead of one GetItem per item; skips and sends are as before.
func TestPreSendChecksAreReadInBatches(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFixture(t, 1000)
		for _, id := range f.ids[:100] {
			f.status.set(id, "PROCESSED")
		}
		m := f.plan(t, ModeInplace)
		m.Concurrency = 16
		batch := &batchCounter{status: f.status}
		deps := f.deps()
		deps.StatusBatch = batch
		opts := f.opts()
		opts.ProgressInterval = time.Second
		r, err := New(deps, m, opts)
		if err != nil {
			t.Fatal(err)
		}
		rep := runToEnd(t, r)
		if rep.Counts.Skipped != 100 || rep.Counts.Delivered != 900 {
			t.Fatalf("counts %s, want 100 skipped and 900 delivered", rep.Counts)
		}
		if f.status.gets != 0 {
			t.Errorf("%d GetItem calls, want none (every check came from a batch)", f.status.gets)
		}
		if batch.keys != 1000 || batch.most > 100 || batch.calls > 30 {
			t.Errorf("%d BatchGetItem calls reading %d keys (at most %d a call), want 1000 keys in at most 30 calls of at most 100",
				batch.calls, batch.keys, batch.most)
		}
	})
}

// The bound holds for batch reads: a status read by a batch longer than RecheckAfterWait
// before its item is dispatched is read again with GetItem, and a request processed in
// the meantime is skipped, not sent.
func TestABatchReadOlderThanTheBoundIsReadAgain(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFixture(t, 1)
		m := f.plan(t, ModeInplace)
		batch := &batchCounter{status: f.status, delay: RecheckAfterWait + 500*time.Millisecond}
		deps := f.deps()
		deps.StatusBatch = batch
		opts := f.opts()
		opts.ProgressInterval = time.Second
		r, err := New(deps, m, opts)
		if err != nil {
			t.Fatal(err)
		}
		if err := r.Start(context.Background()); err != nil {
			t.Fatal(err)
		}
		time.Sleep(500 * time.Millisecond) // the batch read FAILED; its answer is on its way
		f.status.set(f.ids[0], "PROCESSED")
		rep := r.Wait()
		if it := rep.Items[0]; it.State != StateSkipped {
			t.Fatalf("%s %s (%s): sent on a status read %v before", it.RequestID, it.State, it.Error, batch.delay)
		}
		if n := f.sender.attemptsOf(f.ids[0]); n != 0 {
			t.Errorf("sent %d times, want 0", n)
		}
		if n := f.status.getsFor(f.ids[0]); n != 1 {
			t.Errorf("%d GetItem calls, want 1 (the stale batch read, read again)", n)
		}
	})
}
