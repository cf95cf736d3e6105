package redrive_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/stowage-cli/stowage/awsclient"
	"github.com/stowage-cli/stowage/internal/config"
	"github.com/stowage-cli/stowage/internal/devstack"
	"github.com/stowage-cli/stowage/redrive"
)

// batchRun plans every FAILED request, hands it to the devstack's Batch Operations and
// runs it to the end.
func batchRun(t *testing.T, d *dev, lambda bool, ratio float64) (*redrive.BatchSession, *redrive.Report) {
	t.Helper()
	ctx := context.Background()
	m := d.plan(t, redrive.ModeS3Copy, redrive.Selection{Status: devstack.StateFailed})
	p, err := redrive.PrepareBatch(m, redrive.BatchPlanOptions{Lambda: lambda, FunctionARN: d.env.BatchFunction(), Cost: d.env.BatchOps.Cost,
		ReportLocation: d.clients.Jobs.ReportLocation(), MaxFailureRatio: ratio})
	if err != nil {
		t.Fatal(err)
	}
	s, err := redrive.StartBatch(ctx, redrive.BatchDepsFor(d.clients), p, redrive.BatchStartOptions{Poll: 5 * time.Millisecond},
		redrive.SessionConfig{Who: "test"})
	if err != nil {
		t.Fatalf("StartBatch: %v", err)
	}
	s.Poll = 5 * time.Millisecond
	if _, err := s.Watch(ctx, nil); err != nil {
		t.Fatalf("Watch: %v", err)
	}
	rep, fin, err := s.Finish(ctx)
	if err != nil || fin.ReportErr != nil {
		t.Fatalf("Finish: %v %v", err, fin.ReportErr)
	}
	return s, rep
}

func TestBatchOpsCopyEndToEnd(t *testing.T) {
	d := startDev(t, devOptions{stack: devstack.Options{Requests: 300}})
	s, rep := batchRun(t, d, false, 1)
	p := s.Record().Plan
	if len(p.Sends) == 0 || rep.Counts.Delivered != len(s.Record().Claimed) || rep.Outcome != redrive.OutcomeDelivered {
		t.Fatalf("report %s: %+v (sends %d, claimed %d)", rep.Outcome, rep.Counts, len(p.Sends), len(s.Record().Claimed))
	}
	if len(p.Sends)+len(p.Left) != len(p.Manifest.Items) {
		t.Fatalf("sends %d + left %d != %d planned", len(p.Sends), len(p.Left), len(p.Manifest.Items))
	}
	// Every claim was released with its outcome.
	for _, id := range s.Record().Claimed {
		l, ok := d.st.Lease(id)
		if !ok || l.Outcome != "delivered" {
			t.Fatalf("lease of %s = %+v, %v", id, l, ok)
		}
	}
	d.settle(t)
	processed := 0
	for _, it := range rep.Items {
		if it.State == redrive.StateDelivered && d.state(it.RequestID) == devstack.StateProcessed {
			processed++
		}
	}
	if processed == 0 {
		t.Fatal("no delivered request turned PROCESSED")
	}
	// The saved report reads like a local run's: --from-report --only failed/pending works.
	var b strings.Builder
	if err := rep.WriteJSONLines(&b); err != nil {
		t.Fatal(err)
	}
	items, err := redrive.ReadReport(strings.NewReader(b.String()))
	if err != nil || len(items) != len(rep.Items) {
		t.Fatalf("ReadReport: %d items, %v", len(items), err)
	}
	if ids := redrive.SelectFromReport(items, []redrive.ItemState{redrive.StatePending}); len(ids) != 0 {
		t.Fatalf("%d pending in the report of a job that completed", len(ids))
	}
	// One job per set of content headers, each with its own token.
	if n := len(s.Record().JobIDs()); n != len(p.Groups) || n < 2 || d.st.BatchJobs() != n {
		t.Fatalf("%d jobs for %d groups (%d in S3 Control)", n, len(p.Groups), d.st.BatchJobs())
	}
}

func TestBatchOpsLambdaReportsFailures(t *testing.T) {
	d := startDev(t, devOptions{stack: devstack.Options{Requests: 300}})
	_, rep := batchRun(t, d, true, 1)
	if rep.Mode != redrive.ModeBatchLambda || rep.Counts.Delivered == 0 || rep.Counts.Failed == 0 {
		t.Fatalf("lambda report %s: %+v", rep.Mode, rep.Counts)
	}
	var b strings.Builder
	rep.WriteJSONLines(&b)
	items, _ := redrive.ReadReport(strings.NewReader(b.String()))
	failed := redrive.SelectFromReport(items, []redrive.ItemState{redrive.StateFailed})
	if len(failed) != rep.Counts.Failed {
		t.Fatalf("--only failed takes %d, the report has %d failed", len(failed), rep.Counts.Failed)
	}
	for _, it := range rep.Items {
		if it.State == redrive.StateFailed && !strings.Contains(it.Error, "PermanentFailure") {
			t.Fatalf("failed item error %q does not say the function's result code", it.Error)
		}
	}
}

func TestBatchOpsCancelMidJob(t *testing.T) {
	d := startDev(t, devOptions{stack: devstack.Options{Requests: 600, TransientRatio: 0.5}})
	d.st.SetBatchTaskDelay(20 * time.Millisecond) // long enough that a cancel after 10 tasks always leaves some unrun, even under -race on a loaded machine
	ctx := context.Background()
	m := d.plan(t, redrive.ModeS3Copy, redrive.Selection{Status: devstack.StateFailed})
	p, err := redrive.PrepareBatch(m, redrive.BatchPlanOptions{Cost: d.env.BatchOps.Cost, MaxFailureRatio: 1})
	if err != nil {
		t.Fatal(err)
	}
	s, err := redrive.StartBatch(ctx, redrive.BatchDepsFor(d.clients), p, redrive.BatchStartOptions{Poll: 2 * time.Millisecond}, redrive.SessionConfig{Who: "test"})
	if err != nil {
		t.Fatal(err)
	}
	s.Poll = 2 * time.Millisecond
	wctx, stop := context.WithCancel(ctx)
	_, err = s.Watch(wctx, func(bp redrive.BatchProgress) {
		if bp.Job.Done() > 10 {
			stop()
		}
	})
	if err != context.Canceled {
		t.Fatalf("Watch = %v", err)
	}
	if err := s.Cancel(ctx, "test"); err != nil {
		t.Fatal(err)
	}
	j, err := s.Watch(ctx, nil)
	if err != nil || j.Status != "Cancelled" {
		t.Fatalf("after cancel: %s, %v", j.Status, err)
	}
	rep, _, err := s.Finish(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Outcome != redrive.OutcomeCanceled || rep.Counts.Delivered == 0 || rep.Counts.Pending == 0 {
		t.Fatalf("cancelled report %s %+v", rep.Outcome, rep.Counts)
	}
	for _, it := range rep.Items {
		if it.State == redrive.StatePending && it.Attempts == 0 {
			if l, ok := d.st.Lease(it.RequestID); ok && l.Outcome != "not-sent" && hasID(s.Record().Claimed, it.RequestID) {
				t.Fatalf("an unsent item's lease says %q", l.Outcome)
			}
		}
	}
}

// cancelOnConfirm is the job API of a run interrupted (Ctrl+C) right after its first job
// was confirmed, while the others wait to be.
type cancelOnConfirm struct {
	redrive.JobAPI
	cancel context.CancelFunc
}

func (c cancelOnConfirm) Confirm(ctx context.Context, id, reason string) error {
	err := c.JobAPI.Confirm(ctx, id, reason)
	c.cancel()
	return err
}

// A start interrupted during the confirmation returns with every job created in the
// record, confirmed or not; Cancel (with a fresh context) stops them all, the Suspended
// ones too, and Watch and Finish end the run as a cancel mid-job does.
func TestBatchOpsInterruptedDuringConfirmation(t *testing.T) {
	d := startDev(t, devOptions{stack: devstack.Options{Requests: 600, TransientRatio: 0.5}})
	d.st.SetBatchTaskDelay(3 * time.Millisecond)
	m := d.plan(t, redrive.ModeS3Copy, redrive.Selection{Status: devstack.StateFailed})
	p, err := redrive.PrepareBatch(m, redrive.BatchPlanOptions{Cost: d.env.BatchOps.Cost, MaxFailureRatio: 1})
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Groups) < 2 {
		t.Fatalf("%d jobs planned, want several", len(p.Groups))
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	deps := redrive.BatchDepsFor(d.clients)
	s, err := redrive.StartBatch(ctx, redrive.BatchDeps{Jobs: cancelOnConfirm{deps.Jobs, cancel}, Leases: deps.Leases}, p,
		redrive.BatchStartOptions{Poll: 2 * time.Millisecond}, redrive.SessionConfig{Who: "test"})
	if !errors.Is(err, context.Canceled) || len(s.JobIDs()) != len(p.Groups) || d.st.BatchJobsConfirmed() != 1 {
		t.Fatalf("StartBatch = %v with %d of %d jobs, %d confirmed", err, len(s.JobIDs()), len(p.Groups), d.st.BatchJobsConfirmed())
	}
	bg := context.Background()
	if err := s.Cancel(bg, "test"); err != nil {
		t.Fatal(err)
	}
	s.Poll = 2 * time.Millisecond
	if j, err := s.Watch(bg, nil); err != nil || j.Status != "Cancelled" {
		t.Fatalf("after cancel: %s, %v", j.Status, err)
	}
	for i, st := range d.st.BatchJobStatuses() {
		if st != "Cancelled" {
			t.Errorf("job %d is %s", i+1, st)
		}
	}
	rep, _, err := s.Finish(bg)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Outcome != redrive.OutcomeCanceled || len(rep.Items) != len(m.Items) || rep.Counts.Pending == 0 ||
		rep.Counts.Delivered+rep.Counts.Failed+rep.Counts.Pending+rep.Counts.Skipped != len(m.Items) {
		t.Fatalf("report %s %+v of %d items", rep.Outcome, rep.Counts, len(m.Items))
	}
	for _, it := range rep.Items {
		if it.State == redrive.StatePending {
			if l, ok := d.st.Lease(it.RequestID); !ok || l.Outcome != "not-sent" {
				t.Fatalf("the lease of a request not sent: %+v, %v", l, ok)
			}
		}
	}
}

func hasID(l []string, s string) bool {
	for _, x := range l {
		if x == s {
			return true
		}
	}
	return false
}

func TestBatchCSVEscapesKeys(t *testing.T) {
	body, versioned := redrive.BatchCSV("b", []redrive.Item{{Key: "a b+c/ü,\"x\".json"}})
	if versioned || string(body) != "b,a%20b%2Bc/%C3%BC%2C%22x%22.json\n" {
		t.Fatalf("BatchCSV = %q %v", body, versioned)
	}
	body, versioned = redrive.BatchCSV("b", []redrive.Item{{Key: "k", VersionID: "v1"}})
	if !versioned || string(body) != "b,k,v1\n" {
		t.Fatalf("versioned BatchCSV = %q", body)
	}
}

func TestBatchOpsReadOnlyRefused(t *testing.T) {
	d := startDev(t, devOptions{stack: devstack.Options{Requests: 60}, edit: func(e *config.Env) { e.ReadOnly = true }})
	before := d.st.Writes().Total() + d.st.BatchJobWrites()
	m := d.plan(t, redrive.ModeS3Copy, redrive.Selection{Status: devstack.StateFailed})
	p, _ := redrive.PrepareBatch(m, redrive.BatchPlanOptions{Cost: d.env.BatchOps.Cost, MaxFailureRatio: 1})
	_, err := redrive.StartBatch(context.Background(), redrive.BatchDepsFor(d.clients), p, redrive.BatchStartOptions{}, redrive.SessionConfig{Who: "test"})
	if !errorsIsReadOnly(err) {
		t.Fatalf("StartBatch in read-only = %v", err)
	}
	if after := d.st.Writes().Total() + d.st.BatchJobWrites(); after != before {
		t.Fatalf("read-only wrote %d times", after-before)
	}
}

func errorsIsReadOnly(err error) bool {
	return err != nil && (awsclient.KindOf(err) == awsclient.KindReadOnly || strings.Contains(err.Error(), "read-only"))
}

// failConfirm is the job API of a process that ends before it confirms its jobs.
type failConfirm struct{ redrive.JobAPI }

func (failConfirm) Confirm(context.Context, string, string) error {
	return errors.New("the process ended")
}

func TestBatchOpsAttachConfirmsSuspendedJobs(t *testing.T) {
	d := startDev(t, devOptions{stack: devstack.Options{Requests: 200}})
	ctx := context.Background()
	m := d.plan(t, redrive.ModeS3Copy, redrive.Selection{Status: devstack.StateFailed})
	p, err := redrive.PrepareBatch(m, redrive.BatchPlanOptions{Cost: d.env.BatchOps.Cost, MaxFailureRatio: 1})
	if err != nil {
		t.Fatal(err)
	}
	deps := redrive.BatchDepsFor(d.clients)
	s, err := redrive.StartBatch(ctx, redrive.BatchDeps{Jobs: failConfirm{deps.Jobs}, Leases: deps.Leases}, p,
		redrive.BatchStartOptions{Poll: 2 * time.Millisecond}, redrive.SessionConfig{Who: "test"})
	if err == nil || len(s.JobIDs()) == 0 {
		t.Fatalf("StartBatch = %v with %d jobs, want the confirm failure after CreateJob", err, len(s.JobIDs()))
	}
	a, err := redrive.AttachBatch(deps, s.Record().Path(), redrive.SessionConfig{})
	if err != nil {
		t.Fatal(err)
	}
	confirmed, err := a.ConfirmSuspended(ctx)
	if err != nil || len(confirmed) != len(s.JobIDs()) {
		t.Fatalf("ConfirmSuspended = %v, %v", confirmed, err)
	}
	a.Poll = 2 * time.Millisecond
	if j, err := a.Watch(ctx, nil); err != nil || j.Status != "Complete" {
		t.Fatalf("Watch = %s, %v", j.Status, err)
	}
	rep, _, err := a.Finish(ctx)
	if err != nil || rep.Outcome != redrive.OutcomeDelivered {
		t.Fatalf("Finish = %v, %v", rep.Outcome, err)
	}
}

// A plan made from a listing knows no object's Content-Type; a copy job sets every
// object's (REPLACE), so without describing them first every copy became
// binary/octet-stream and lost its Content-Encoding. PrepareBatch refuses such a plan,
// and DescribeForCopy fills it in: after the job each object has its own headers.
func TestBatchOpsCopyKeepsContentHeadersOfListedObjects(t *testing.T) {
	d := startDev(t, devOptions{stack: devstack.Options{Requests: 300}})
	ctx := context.Background()
	m := d.plan(t, redrive.ModeS3Copy, redrive.Selection{Status: devstack.StateFailed})
	type headers struct{ ct, ce string }
	before := map[string]headers{}
	for i := range m.Items {
		it := &m.Items[i]
		o, err := d.clients.Objects.Head(ctx, it.Key)
		if err != nil {
			t.Fatal(err)
		}
		before[it.Key] = headers{o.ContentType, o.ContentEncoding}
		it.ContentType, it.ContentEncoding = "", "" // as a listing leaves them
	}
	opts := redrive.BatchPlanOptions{Force: true, Cost: d.env.BatchOps.Cost, ReportLocation: d.clients.Jobs.ReportLocation(), MaxFailureRatio: 1}
	if _, err := redrive.PrepareBatch(m, opts); err == nil || !strings.Contains(err.Error(), "Content-Type is not known") {
		t.Fatalf("PrepareBatch of undescribed items: %v", err)
	}
	if n, err := redrive.DescribeForCopy(ctx, d.clients.Objects, m, 4); err != nil || n != len(m.Items) {
		t.Fatalf("DescribeForCopy: %d, %v", n, err)
	}
	p, err := redrive.PrepareBatch(m, opts)
	if err != nil {
		t.Fatal(err)
	}
	s, err := redrive.StartBatch(ctx, redrive.BatchDepsFor(d.clients), p, redrive.BatchStartOptions{Force: true, Poll: 5 * time.Millisecond}, redrive.SessionConfig{Who: "test"})
	if err != nil {
		t.Fatal(err)
	}
	s.Poll = 5 * time.Millisecond
	if _, err := s.Watch(ctx, nil); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.Finish(ctx); err != nil {
		t.Fatal(err)
	}
	for key, h := range before {
		o, err := d.clients.Objects.Head(ctx, key)
		if err != nil {
			t.Fatal(err)
		}
		want := h
		if want.ct == "" {
			want.ct = redrive.DefaultContentType
		}
		if o.ContentType != want.ct || o.ContentEncoding != want.ce || o.Metadata[awsclient.RedrivenAtMeta] == "" {
			t.Fatalf("%s after the copy job: %q %q (metadata %v), before %q %q", key, o.ContentType, o.ContentEncoding, o.Metadata, h.ct, h.ce)
		}
	}
}
