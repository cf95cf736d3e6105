package tui

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/stowage-cli/stowage/awsclient"
	"github.com/stowage-cli/stowage/internal/config"
	"github.com/stowage-cli/stowage/redrive"
)

// fakeJobs is S3 Control and the ops bucket as a batch-ops run sees them: each job waits
// Suspended for its confirmation, then runs as the test says.
type fakeJobs struct {
	mu        sync.Mutex
	manifests map[string][]string // manifest key → the object keys in it
	keys      map[string][]string // job ID → the object keys it runs
	jobs      map[string]*awsclient.Job
	order     []string
	created   int
	cancels   int
	confirms  int
	// describeErr fails every Describe once set (after the jobs are confirmed).
	describeErr error
	// confirmHook, when set, is called (unlocked) after each job is confirmed, before
	// Confirm answers; its error is Confirm's.
	confirmHook func(ctx context.Context, id string) error
}

func newFakeJobs() *fakeJobs {
	return &fakeJobs{manifests: map[string][]string{}, keys: map[string][]string{}, jobs: map[string]*awsclient.Job{}}
}

func (j *fakeJobs) UploadManifest(ctx context.Context, runID string, body []byte) (awsclient.ManifestRef, error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	var keys []string
	for _, line := range strings.Split(strings.TrimSpace(string(body)), "\n") {
		parts := strings.Split(line, ",")
		if len(parts) >= 2 {
			k, _ := url.QueryUnescape(parts[1])
			keys = append(keys, k)
		}
	}
	key := fmt.Sprintf("manifests/%s-%d.csv", runID, len(j.manifests))
	j.manifests[key] = keys
	return awsclient.ManifestRef{Bucket: "ops-bucket", Key: key, ETag: "etag"}, nil
}

func (j *fakeJobs) CreateJob(ctx context.Context, spec awsclient.JobSpec) (string, error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.created++
	id := fmt.Sprintf("a1b2c3d4-0000-4000-8000-%012d", j.created)
	keys := j.manifests[spec.Manifest.Key]
	j.keys[id] = keys
	j.jobs[id] = &awsclient.Job{ID: id, Status: "Suspended", Total: int64(len(keys)), Description: spec.Description}
	j.order = append(j.order, id)
	return id, nil
}

func (j *fakeJobs) Confirm(ctx context.Context, id, reason string) error {
	j.mu.Lock()
	j.confirms++
	j.jobs[id].Status = "Active"
	hook := j.confirmHook
	j.mu.Unlock()
	if hook != nil {
		return hook(ctx, id)
	}
	return nil
}

// statuses are the jobs' statuses in creation order.
func (j *fakeJobs) statuses() []string {
	j.mu.Lock()
	defer j.mu.Unlock()
	var out []string
	for _, id := range j.order {
		out = append(out, j.jobs[id].Status)
	}
	return out
}

func (j *fakeJobs) Cancel(ctx context.Context, id, reason string) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	if ctx.Err() != nil {
		return ctx.Err() // as the SDK: a request on an ended context is not sent
	}
	j.cancels++
	j.jobs[id].Status = "Cancelled"
	return nil
}

func (j *fakeJobs) Describe(ctx context.Context, id string) (awsclient.Job, error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.describeErr != nil && j.jobs[id].Status == "Active" {
		return awsclient.Job{}, j.describeErr
	}
	return *j.jobs[id], nil
}

// complete ends every job with every task succeeded.
func (j *fakeJobs) complete() {
	j.mu.Lock()
	defer j.mu.Unlock()
	for _, job := range j.jobs {
		job.Status, job.Succeeded, job.Failed = "Complete", job.Total, 0
	}
}

func (j *fakeJobs) ReadReport(ctx context.Context, id string) (*awsclient.JobReport, error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	rep := &awsclient.JobReport{Location: "s3://ops-bucket/reports/job-" + id + "/manifest.json"}
	for _, k := range j.keys[id] {
		rep.Tasks = append(rep.Tasks, awsclient.JobTaskResult{Bucket: "orders-intake", Key: k, Succeeded: true, HTTPStatus: 200})
	}
	return rep, nil
}

func (j *fakeJobs) ReportURI(id string) string { return "s3://ops-bucket/reports/job-" + id + "/" }
func (j *fakeJobs) ReadOnly() bool             { return false }
func (j *fakeJobs) ReportLocation() string     { return "s3://ops-bucket/reports/" }

// withBatchOps gives the environment a batch_ops section and the session jobs.
func withBatchOps(jobs *fakeJobs, production bool) func(*Options) {
	return func(o *Options) {
		env := *o.Session.Env
		env.Production = production
		env.BatchOps = config.BatchOps{RoleARN: "arn:aws:iam::123456789012:role/stowage-batch",
			ManifestPrefix: "s3://ops-bucket/manifests/", ReportPrefix: "s3://ops-bucket/reports/",
			Cost: config.BatchOpsCost{Currency: config.DefaultBatchCurrency, PerJob: config.DefaultBatchPerJob, PerMillionObjects: config.DefaultBatchPerMillion, PerThousandCopies: config.DefaultBatchPerThousandPut}}
		o.Session.Env = &env
		o.Session.Redrive.Batch = redrive.BatchDeps{Jobs: jobs}
		o.Redrive.BatchPoll = time.Millisecond
		ctx, cancel := context.WithCancel(context.Background())
		o.Context = ctx
		go func() { <-time.After(time.Minute); cancel() }()
	}
}

// TestRedriveBatchOps: B hands the plan to S3 Batch Operations: the plan shows the
// engine, the cost and the report location; the typed confirmation creates and confirms
// one job; its looks are drawn as the progress; c asks S3 to cancel, saying that what ran
// is not undone; the report read at the end makes the summary.
func TestRedriveBatchOps(t *testing.T) {
	stateHome(t)
	var gw *fakeGateway
	jobs := newFakeJobs()
	f := newFixture(t, seedRequests, redriveEnv(), withGateway(&gw), withBatchOps(jobs, true))
	f.keys("f", "F", "a", "R")
	if v := plainView(f); !strings.Contains(v, "B engine") || !strings.Contains(v, "[local]") {
		t.Fatalf("the plan does not offer the engine:\n%s", v)
	}
	f.keys("B")
	plan := plainView(f)
	for _, want := range []string{"[S3 Batch Operations]", "2 tasks in 2 jobs", "USD estimated", "s3://ops-bucket/reports/job-ID/", "type the environment name"} {
		if !strings.Contains(plan, want) {
			t.Errorf("%q missing from the batch-ops plan:\n%s", want, plan)
		}
	}
	for _, size := range [][2]int{{80, 24}, {120, 40}, {200, 50}} {
		t.Run(fmt.Sprintf("Plan/%dx%d", size[0], size[1]), func(t *testing.T) {
			f.send(tea.WindowSizeMsg{Width: size[0], Height: size[1]})
			checkFrame(t, f.view(), size[0], size[1])
			requireGolden(t, f.view())
		})
	}
	f.send(tea.WindowSizeMsg{Width: 120, Height: 40})
	// Production: y does nothing; the name must be typed.
	f.keys("y")
	if jobs.created != 0 {
		t.Fatal("a job was created without the typed confirmation")
	}
	f.keys("enter")
	f.typeText("staging")
	// Step by step from here: the watch's looks are given, not waited for.
	start := f.step(keyPress("enter"))
	var started batchStartedMsg
	for _, msg := range run(start) {
		if m, ok := msg.(batchStartedMsg); ok {
			started = m
		}
	}
	if started.err != nil || started.sess == nil || jobs.created != 2 || jobs.confirms != 2 {
		t.Fatalf("start: err %v, %d created, %d confirmed", started.err, jobs.created, jobs.confirms)
	}
	f.step(started) // the look it asks for is not run
	look := redrive.BatchProgress{Job: awsclient.Job{ID: jobs.order[0], Status: "Active", Total: 2, Succeeded: 1},
		Rate: 0.5, RateMeasured: true, ETA: 2 * time.Second}
	f.step(batchProgressMsg{seq: f.m.rd.seq, p: look})
	f.keys("R") // the progress in full
	for _, size := range [][2]int{{80, 24}, {120, 40}, {200, 50}} {
		t.Run(fmt.Sprintf("Progress/%dx%d", size[0], size[1]), func(t *testing.T) {
			f.m.width, f.m.height = size[0], size[1]
			checkFrame(t, f.view(), size[0], size[1])
			requireGolden(t, f.view())
		})
	}
	f.m.width, f.m.height = 120, 40
	if v := plainView(f); !strings.Contains(v, "1 of 2 tasks · succeeded 1 · failed 0") || !strings.Contains(v, "0.5 tasks/s · ETA 2s") {
		t.Errorf("the progress does not show the look:\n%s", v)
	}
	cancel := f.step(keyPress("c"))
	if !strings.Contains(f.m.note.text, redrive.BatchCancelNote) {
		t.Errorf("c does not say what cancelling does not undo: %q", f.m.note.text)
	}
	for _, msg := range run(cancel) {
		f.step(msg)
	}
	if jobs.cancels != 2 {
		t.Fatalf("c sent %d cancels", jobs.cancels)
	}
	// The job ends; the watch closes and the report is read.
	jobs.complete()
	for {
		msg := run(waitBatch(f.m.rd.seq, f.m.rd.batch.w))[0].(batchProgressMsg)
		f.send(msg)
		if msg.closed {
			break
		}
	}
	if f.m.rd.phase != rdFinished || f.m.rd.report == nil {
		t.Fatalf("phase %v, report %v", f.m.rd.phase, f.m.rd.report)
	}
	if testing.Verbose() {
		t.Log("\n" + plainView(f))
	}
	if v := plainView(f); !strings.Contains(v, "2 requests") || !strings.Contains(v, "report") {
		t.Errorf("summary:\n%s", v)
	}
	if len(gw.sentIDs()) != 0 {
		t.Errorf("the gateway was sent %v: the job does the work", gw.sentIDs())
	}
}

// TestRedriveBatchOpsWatchFails: when the job cannot be described any more, the dialog
// says the job runs on in S3 and how to follow it, rather than claiming an outcome.
func TestRedriveBatchOpsWatchFails(t *testing.T) {
	stateHome(t)
	var gw *fakeGateway
	jobs := newFakeJobs()
	jobs.describeErr = &awsclient.Error{Op: "describe-job", Kind: awsclient.KindAccessDenied, Code: "AccessDenied", Message: "not authorized", Err: errors.New("AccessDenied")}
	f := newFixture(t, seedRequests, redriveEnv(), withGateway(&gw), withBatchOps(jobs, false))
	f.keys("f", "F", "a", "R", "B", "y")
	if f.m.rd == nil || f.m.rd.phase != rdFinished || f.m.rd.batch == nil || f.m.rd.batch.watchErr == nil {
		t.Fatalf("the run did not stop on the watch error: %+v", f.m.rd)
	}
	v := plainView(f)
	for _, want := range []string{"not followed to its end", "AccessDenied", "jobs watch " + jobs.order[0]} {
		if !strings.Contains(v, want) {
			t.Errorf("%q missing:\n%s", want, v)
		}
	}
}
