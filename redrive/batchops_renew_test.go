package redrive

import (
	"context"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stowage-cli/stowage/awsclient"
)

// renewClock is a clock the test moves.
type renewClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *renewClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *renewClock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// expiringClaimer is a lease table with expiry: a claim by the holding run, or of a
// request whose claim has lapsed, is granted; others are refused (held). taken marks
// requests another run claimed.
type expiringClaimer struct {
	mu      sync.Mutex
	exp     map[string]time.Time
	run     map[string]string
	renewed map[string]int // claims after the first
}

func (c *expiringClaimer) Claim(_ context.Context, req awsclient.ClaimRequest) (awsclient.ClaimResult, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if run, ok := c.run[req.RequestID]; ok && run != req.RunID && req.Now.Before(c.exp[req.RequestID]) {
		return awsclient.ClaimResult{Refused: awsclient.ClaimHeld, Holder: awsclient.Claim{RequestID: req.RequestID, RunID: run}}, nil
	}
	if _, ok := c.run[req.RequestID]; ok {
		c.renewed[req.RequestID]++
	}
	c.run[req.RequestID], c.exp[req.RequestID] = req.RunID, req.Now.Add(req.TTL)
	return awsclient.ClaimResult{}, nil
}

func (c *expiringClaimer) Finish(context.Context, awsclient.ClaimFinish) error { return nil }

func (c *expiringClaimer) renewals() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, r := range c.renewed {
		n += r
	}
	return n
}

// clockJobs is one job that each look finds hours older (the clock moves on every
// Describe), Active until until() says it is done.
type clockJobs struct {
	noJobs
	clock *renewClock
	step  time.Duration
	done  func() bool
	mu    sync.Mutex
	state string
	// sess, once set, holds each look until a renewal round has ended: a round takes
	// moments where the job's hours pass.
	sess *BatchSession
}

func (j *clockJobs) UploadManifest(context.Context, string, []byte) (awsclient.ManifestRef, error) {
	return awsclient.ManifestRef{Bucket: "ops", Key: "m.csv", ETag: "e"}, nil
}
func (j *clockJobs) CreateJob(context.Context, awsclient.JobSpec) (string, error) {
	j.state = "Suspended"
	return "job-1", nil
}
func (j *clockJobs) Confirm(context.Context, string, string) error { j.state = "Active"; return nil }
func (j *clockJobs) Describe(context.Context, string) (awsclient.Job, error) {
	for j.sess != nil && j.sess.renewing.Load() {
		time.Sleep(time.Microsecond)
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.state == "Active" {
		j.clock.add(j.step)
		if j.done() {
			j.state = "Complete"
		}
	}
	return awsclient.Job{ID: "job-1", Status: j.state, Total: 1}, nil
}

func renewFixture(t *testing.T, n int) (*BatchPlan, *renewClock) {
	t.Helper()
	f := newFixture(t, n)
	m := f.plan(t, ModeS3Copy)
	for i := range m.Items {
		m.Items[i].ContentType = "application/json"
	}
	p, err := PrepareBatch(m, BatchPlanOptions{Force: true, MaxFailureRatio: 1})
	if err != nil {
		t.Fatal(err)
	}
	return p, &renewClock{t: time.Date(2026, 12, 7, 3, 0, 0, 0, time.UTC)}
}

// A job that runs past the claims' 24 hours keeps them while it is watched: once half
// the TTL has gone, every claim is renewed for the run, and ClaimsUntil moves on. (They
// lapsed silently at 24 h, letting another run redrive requests the job still held.)
func TestBatchWatchRenewsClaims(t *testing.T) {
	t.Setenv("XDG_STATE_HOME", t.TempDir())
	p, clock := renewFixture(t, 30)
	c := &expiringClaimer{exp: map[string]time.Time{}, run: map[string]string{}, renewed: map[string]int{}}
	var jobs *clockJobs
	looks := 0
	jobs = &clockJobs{clock: clock, step: 5 * time.Hour, done: func() bool {
		looks++
		return looks > 10000 || (clock.t.Sub(time.Date(2026, 12, 7, 3, 0, 0, 0, time.UTC)) > 30*time.Hour && c.renewals() >= 30)
	}}
	s, err := StartBatch(context.Background(), BatchDeps{Jobs: jobs, Leases: c}, p, BatchStartOptions{Force: true, Poll: time.Microsecond,
		RecordPath: filepath.Join(t.TempDir(), "run.batch.json")}, SessionConfig{Who: "test", Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Date(2026, 12, 7, 3, 0, 0, 0, time.UTC)
	if got := s.ClaimsUntil(); !got.Equal(start.Add(24 * time.Hour)) {
		t.Fatalf("ClaimsUntil after the start = %s", got)
	}
	s.RenewRate = 1e6
	jobs.mu.Lock()
	jobs.sess = s
	jobs.mu.Unlock()
	if _, err := s.Watch(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	if c.renewals() < 30 {
		t.Fatalf("%d renewals of 30 claims", c.renewals())
	}
	end := clock.Now()
	for id, exp := range c.exp {
		if !exp.After(end) {
			t.Errorf("claim of %s lapsed at %s; the job ended at %s", id, exp, end)
		}
	}
	if until := s.ClaimsUntil(); !until.After(start.Add(24*time.Hour)) || !until.After(end) {
		t.Errorf("ClaimsUntil %s after renewal (job ended %s)", until, end)
	}
	back, err := LoadBatchRecord(s.Record().Path())
	if err != nil || !back.ClaimsUntil.Equal(s.ClaimsUntil()) {
		t.Fatalf("the record keeps ClaimsUntil %v: %v", back, err)
	}
	// The report starts when the start did, not at the plan (which waited for the
	// operator: the TUI's summary said the job "took" that wait too).
	rep, _, err := s.Finish(context.Background())
	if err != nil || !rep.Started.Equal(start) || rep.Started.Equal(p.Manifest.PlannedAt) {
		t.Fatalf("report started %s (plan %s, start %s): %v", rep.Started, p.Manifest.PlannedAt, start, err)
	}
}

// A claim another run took after this one's lapsed (no watcher renewed it) is not
// taken back: it is recorded as lost, with who holds it.
func TestBatchRenewRecordsLostClaims(t *testing.T) {
	t.Setenv("XDG_STATE_HOME", t.TempDir())
	p, clock := renewFixture(t, 5)
	c := &expiringClaimer{exp: map[string]time.Time{}, run: map[string]string{}, renewed: map[string]int{}}
	jobs := &clockJobs{clock: clock, done: func() bool { return false }}
	s, err := StartBatch(context.Background(), BatchDeps{Jobs: jobs, Leases: c}, p, BatchStartOptions{Force: true,
		RecordPath: filepath.Join(t.TempDir(), "run.batch.json")}, SessionConfig{Who: "test", Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	// 30 hours later (nobody watched), another run claimed one of them.
	clock.add(30 * time.Hour)
	taken := s.Record().Claimed[0]
	c.mu.Lock()
	c.run[taken], c.exp[taken] = "other-run", clock.t.Add(time.Hour)
	c.mu.Unlock()
	if !s.renewDue(clock.Now()) {
		t.Fatal("lapsed claims are not due for renewal")
	}
	s.RenewRate = 1e6
	s.renewClaims(context.Background(), clock.Now())
	lost := s.LostClaims()
	if len(lost) != 1 || lost[taken] == "" || c.run[taken] != "other-run" {
		t.Fatalf("lost %v; %s held by %s", lost, taken, c.run[taken])
	}
	if !s.ClaimsUntil().Equal(clock.Now().Add(BatchLeaseTTL)) {
		t.Fatalf("ClaimsUntil %s", s.ClaimsUntil())
	}
}
