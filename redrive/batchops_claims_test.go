package redrive

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stowage-cli/stowage/awsclient"
)

// interruptingClaimer grants the first claims, then is interrupted: the run's context
// is cancelled while the next claims are in flight, which fail with it.
type interruptingClaimer struct {
	mu       sync.Mutex
	grant    int
	stop     context.CancelFunc
	claims   int
	finished map[string]awsclient.ClaimFinish
	held     map[string]bool
}

func (c *interruptingClaimer) Claim(ctx context.Context, req awsclient.ClaimRequest) (awsclient.ClaimResult, error) {
	c.mu.Lock()
	c.claims++
	n := c.claims
	c.mu.Unlock()
	if n <= c.grant {
		c.mu.Lock()
		c.held[req.RequestID] = true
		c.mu.Unlock()
		return awsclient.ClaimResult{}, nil
	}
	c.stop()
	return awsclient.ClaimResult{}, &awsclient.Error{Kind: awsclient.KindUnknown, Op: "claim", Err: ctx.Err(), Message: "context canceled"}
}

func (c *interruptingClaimer) Finish(_ context.Context, f awsclient.ClaimFinish) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.finished[f.RequestID] = f
	if !c.held[f.RequestID] {
		return &awsclient.Error{Kind: awsclient.KindChanged, Op: "finish-claim", Err: awsclient.ErrClaimLost}
	}
	return nil
}

// noJobs is a JobAPI no test here reaches but for ReadOnly.
type noJobs struct{ JobAPI }

func (noJobs) ReadOnly() bool { return false }

// A start interrupted while it claims (Ctrl+C before the job exists): the claims in
// flight are neither failures nor left held. Before the fix they were reported as 18
// failed requests ("could not claim … context canceled", with a --only failed retry
// line) and, if DynamoDB had made them, held for the batch lease's 24 hours.
func TestStartBatchInterruptedWhileClaiming(t *testing.T) {
	t.Setenv("XDG_STATE_HOME", t.TempDir())
	f := newFixture(t, 40)
	m := f.plan(t, ModeS3Copy)
	for i := range m.Items {
		if m.Items[i].ContentType == "" {
			m.Items[i].ContentType = "application/json"
		}
	}
	p, err := PrepareBatch(m, BatchPlanOptions{Force: true, MaxFailureRatio: 1})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	c := &interruptingClaimer{grant: 10, stop: cancel, finished: map[string]awsclient.ClaimFinish{}, held: map[string]bool{}}
	s, err := StartBatch(ctx, BatchDeps{Jobs: noJobs{}, Leases: c}, p, BatchStartOptions{Force: true, ClaimConcurrency: 4,
		RecordPath: filepath.Join(t.TempDir(), "run.batch.json")}, SessionConfig{Who: "test"})
	if !errors.Is(err, context.Canceled) || s == nil {
		t.Fatalf("StartBatch = %v", err)
	}
	rep, _, err := s.Finish(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if rep.Counts.Failed != 0 || len(rep.LeaseWarnings) != 0 {
		t.Fatalf("counts %+v, lease warnings %v", rep.Counts, rep.LeaseWarnings)
	}
	rec := s.Record()
	if len(rec.Interrupted) == 0 || len(rec.Failed) != 0 {
		t.Fatalf("interrupted %v, failed %v", rec.Interrupted, rec.Failed)
	}
	for _, id := range append(append([]string(nil), rec.Claimed...), rec.Interrupted...) {
		if _, ok := c.finished[id]; !ok {
			t.Errorf("claim of %s not released", id)
		}
	}
	for _, it := range rep.Items {
		if containsID(rec.Interrupted, it.RequestID) && !strings.Contains(it.Error, "interrupted") {
			t.Errorf("%s: %s %q", it.RequestID, it.State, it.Error)
		}
	}
}

// A run's end is its jobs' last termination, unless that (to the second) falls before
// its start; then it is when the report was read.
func TestBatchFinishedAt(t *testing.T) {
	started := time.Date(2026, 12, 7, 18, 28, 29, 700_000_000, time.UTC)
	read := started.Add(2 * time.Second)
	if got := finishedAt(started, started.Add(-700*time.Millisecond), read); !got.Equal(read) {
		t.Errorf("a termination to the second before the start: %v, want %v", got, read)
	}
	if got := finishedAt(started, started.Add(time.Second), read); !got.Equal(started.Add(time.Second)) {
		t.Errorf("a termination after the start: %v", got)
	}
	if got := finishedAt(started, time.Time{}, read); !got.Equal(read) {
		t.Errorf("no termination: %v", got)
	}
}
