package redrive

import (
	"context"
	"fmt"
	"io"
	"testing"
	"time"

	"github.com/stowage-cli/stowage/awsclient"
	"github.com/stowage-cli/stowage/internal/inventory"
)

// BenchmarkEventPipeline measures the batched pipeline's shape alone, on fakes that cost
// almost no CPU: --mode sqs at concurrency 4, 20 ms on every call (the status read, the
// claim, the HEAD, SendMessageBatch and the claim's finish), journal fsynced. The bound is
// 4 calls × 10 / 20 ms = 2000/s; "of-bound" is the share of it reached. A shortfall here
// is the pipeline's (items waiting for a slot, calls leaving short or late), not the CPU's:
// BenchmarkEventSQSVersusGateway measures the same with real servers.
//
//	go test ./redrive -run '^$' -bench EventPipeline -benchtime 1x
func BenchmarkEventPipeline(b *testing.B) {
	const n, latency, concurrency = 4000, 20 * time.Millisecond, 4
	for range b.N {
		f := &fixture{store: newFakeStore(), status: newFakeStatus(), dir: b.TempDir()}
		for i := range n {
			id := fmt.Sprintf("req-%05d", i)
			f.store.put(id, []byte(fmt.Sprintf(`{"order":%d}`, i)), "application/json")
			f.status.set(id, "FAILED")
			f.ids = append(f.ids, id)
		}
		m, err := PlanEvent(context.Background(), PlanDeps{Source: inventory.Source{Objects: f.store, Statuses: f.status}}, Selection{IDs: f.ids},
			PlanOptions{Env: "test", Mode: ModeSQS, Bucket: "b", Concurrency: concurrency, SuccessStates: []string{"PROCESSED"}, LostAfter: time.Minute}, testSpec(ModeSQS))
		if err != nil {
			b.Fatal(err)
		}
		ev := newFakeEvents(f.status)
		ev.latency = latency
		slow := &slowDeps{store: f.store, status: f.status, leases: newMemLeases(), d: latency}
		d := Deps{Objects: slow, Status: slowStatus{slow}, StatusBatch: slow, Leases: slow, Events: ev}
		r, err := New(d, m, f.opts())
		if err != nil {
			b.Fatal(err)
		}
		start := time.Now()
		if err := r.Start(context.Background()); err != nil {
			b.Fatal(err)
		}
		rep := r.Wait()
		el := time.Since(start)
		if rep.Counts.Delivered != n {
			b.Fatalf("counts %+v", rep.Counts)
		}
		rate := float64(n) / el.Seconds()
		bound := float64(concurrency*EventBatchSize) / latency.Seconds()
		b.ReportMetric(rate, "req/s")
		b.ReportMetric(rate/bound, "of-bound")
		full := 0
		sizes := ev.callSizes()
		for _, s := range sizes {
			if s == EventBatchSize {
				full++
			}
		}
		b.ReportMetric(float64(full)/float64(len(sizes)), "full-calls")
	}
}

// slowDeps are the fixture's store, statuses and leases, each call d away.
type slowDeps struct {
	store  *fakeStore
	status *fakeStatus
	leases *memLeases
	d      time.Duration
}

func (s *slowDeps) wait(ctx context.Context) error {
	if !sleepCtx(ctx, s.d) {
		return ctx.Err()
	}
	return nil
}

func (s *slowDeps) Head(ctx context.Context, key string) (awsclient.Object, error) {
	if err := s.wait(ctx); err != nil {
		return awsclient.Object{}, err
	}
	return s.store.Head(ctx, key)
}

func (s *slowDeps) Get(ctx context.Context, key string, pin awsclient.Pin) (io.ReadCloser, awsclient.Object, error) {
	if err := s.wait(ctx); err != nil {
		return nil, awsclient.Object{}, err
	}
	return s.store.Get(ctx, key, pin)
}

func (s *slowDeps) CopyInPlace(ctx context.Context, key string, pin awsclient.Pin) (awsclient.Object, error) {
	return s.store.CopyInPlace(ctx, key, pin)
}

// slowStatus reads one status, d away.
type slowStatus struct{ s *slowDeps }

func (s slowStatus) Get(ctx context.Context, id string) (awsclient.Status, bool, error) {
	if err := s.s.wait(ctx); err != nil {
		return awsclient.Status{}, false, err
	}
	return s.s.status.Get(ctx, id)
}

func (s *slowDeps) BatchGet(ctx context.Context, ids []string) (map[string]awsclient.Status, error) {
	if err := s.wait(ctx); err != nil {
		return nil, err
	}
	out := map[string]awsclient.Status{}
	for _, id := range ids {
		if st, ok, err := s.status.Get(ctx, id); err == nil && ok {
			out[id] = st
		}
	}
	return out, nil
}

func (s *slowDeps) Claim(ctx context.Context, req awsclient.ClaimRequest) (awsclient.ClaimResult, error) {
	if err := s.wait(ctx); err != nil {
		return awsclient.ClaimResult{}, err
	}
	return s.leases.Claim(ctx, req)
}

func (s *slowDeps) Finish(ctx context.Context, f awsclient.ClaimFinish) error {
	if err := s.wait(ctx); err != nil {
		return err
	}
	return s.leases.Finish(ctx, f)
}
