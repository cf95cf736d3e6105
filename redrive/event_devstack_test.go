package redrive_test

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stowage-cli/stowage/awsclient"
	"github.com/stowage-cli/stowage/internal/devstack"
	"github.com/stowage-cli/stowage/redrive"
)

// triggerOf is the demo topology in which mode's target is the processor's trigger.
var triggerOf = map[redrive.Mode]string{
	redrive.ModeSQS: devstack.TriggerSQS, redrive.ModeLambda: devstack.TriggerLambda, redrive.ModeEventBridge: devstack.TriggerEventBridge,
}

// planEvents plans sel in an event mode with the environment's event target.
func (d *dev) planEvents(t testing.TB, mode redrive.Mode, sel redrive.Selection, edit ...func(*redrive.EventSpec)) *redrive.Manifest {
	t.Helper()
	spec, err := redrive.EventSpecFor(d.env, mode, "")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range edit {
		e(spec)
	}
	opts, err := redrive.PlanOptionsFor(d.env, mode)
	if err != nil {
		t.Fatal(err)
	}
	opts.Rate, opts.Concurrency = 0, 4
	m, err := redrive.PlanEvent(context.Background(), redrive.PlanDepsFor(d.clients, d.env), sel, opts, spec)
	if err != nil {
		t.Fatalf("PlanEvent: %v", err)
	}
	return m
}

// eventDeps are DepsFor with the event clients.
func eventDeps(c *awsclient.Clients) redrive.Deps {
	d := redrive.DepsFor(c)
	if c.Events != nil {
		d.Events = c.Events
	}
	return d
}

// eventsOf counts, by object key, the events the demo's targets took for mode.
func eventsOf(st *devstack.Stack, mode redrive.Mode, queue string) map[string]int {
	s := st.EventStats()
	out := map[string]int{}
	switch mode {
	case redrive.ModeSQS:
		for k, v := range s.Queues[queue].ByKey {
			out[k] = v.Sent
		}
	case redrive.ModeLambda:
		for k, v := range s.InvokedKeys {
			out[k] = v
		}
	case redrive.ModeEventBridge:
		for k, v := range s.EventKeys {
			out[k] = v
		}
	}
	return out
}

// In the demo topology of each event mode, redriving the transient failures by event turns
// them PROCESSED with one event each; no object is written (LastModified, ETag and
// version unchanged); the journal, the report and the audit entries exist.
func TestEventModesTurnTransientFailuresProcessedOnTheDemo(t *testing.T) {
	for _, mode := range redrive.EventModes {
		t.Run(string(mode), func(t *testing.T) {
			d := startDev(t, devOptions{stack: devstack.Options{Seed: 7, Requests: 80, TransientRatio: 0.4, LostRatio: -1, Trigger: triggerOf[mode]}})
			ids := d.failed(t, "transient", 6)
			if len(ids) < 3 {
				t.Fatalf("the seeded stack has only %d transient failures", len(ids))
			}
			m := d.planEvents(t, mode, redrive.Selection{IDs: ids})
			ctx := context.Background()
			before := map[string]awsclient.Object{}
			for _, it := range m.Items {
				o, err := d.clients.Objects.Head(ctx, it.Key)
				if err != nil {
					t.Fatal(err)
				}
				before[it.Key] = o
			}
			events := eventsOf(d.st, mode, devstack.DemoQueue)
			sess, err := redrive.Start(ctx, eventDeps(d.clients), m, d.options("run"), redrive.SessionConfig{Who: "test"})
			if err != nil {
				t.Fatal(err)
			}
			rep, fin, err := sess.Finish()
			if err != nil {
				t.Fatal(err)
			}
			if rep.Outcome != redrive.OutcomeDelivered {
				t.Fatalf("outcome %s: %+v", rep.Outcome, rep.Items)
			}
			d.settle(t)
			after := eventsOf(d.st, mode, devstack.DemoQueue)
			for _, it := range m.Items {
				if s := d.state(it.RequestID); s != devstack.StateProcessed {
					t.Errorf("%s: status %q after %s, want PROCESSED", it.RequestID, s, mode)
				}
				o, err := d.clients.Objects.Head(ctx, it.Key)
				if err != nil {
					t.Fatal(err)
				}
				if b := before[it.Key]; !o.LastModified.Equal(b.LastModified) || o.ETag != b.ETag || o.VersionID != b.VersionID {
					t.Errorf("%s was written: %+v, was %+v", it.Key, o, b)
				}
				if n := after[it.Key] - events[it.Key]; n != 1 {
					t.Errorf("%s: %d events, want 1", it.Key, n)
				}
			}
			for _, p := range []string{sess.Run().JournalPath(), fin.ReportPath, fin.AuditPath} {
				if _, err := os.Stat(p); p == "" || err != nil {
					t.Errorf("%q: %v (report error %v, audit error %v)", p, err, fin.ReportErr, fin.AuditErr)
				}
			}
		})
	}
}

// A FIFO queue deduplicates a redrive's events sent again within five minutes: the dedup
// ID is the redrive's and the request's, so a run of the same manifest again (as a retried
// batch would) enqueues nothing new.
func TestEventFIFOResendIsDeduplicatedByTheQueue(t *testing.T) {
	d := startDev(t, devOptions{stack: devstack.Options{Seed: 7, Requests: 80, TransientRatio: 0.4, LostRatio: -1, Trigger: devstack.TriggerSQS}})
	ids := d.failed(t, "transient", 6)
	m := d.planEvents(t, redrive.ModeSQS, redrive.Selection{IDs: ids}, func(s *redrive.EventSpec) {
		s.QueueURL = d.st.QueueURL(devstack.DemoFIFOQueue)
	})
	run := func(name string, force bool) *redrive.Report {
		o := d.options(name)
		o.Force = force
		r, err := redrive.New(eventDeps(d.clients), m, o)
		if err != nil {
			t.Fatal(err)
		}
		if err := r.Start(context.Background()); err != nil {
			t.Fatal(err)
		}
		return r.Wait()
	}
	if rep := run("first", false); rep.Counts.Delivered != len(ids) {
		t.Fatalf("first: %s", rep.Counts)
	}
	d.settle(t)
	// Forced, so every item is sent again with the same redrive ID.
	if rep := run("again", true); rep.Counts.Delivered != len(ids) {
		t.Fatalf("again: %s", rep.Counts)
	}
	d.settle(t)
	q := d.st.EventStats().Queues[devstack.DemoFIFOQueue]
	if q.Sent != len(ids) || q.Duplicates != len(ids) {
		t.Errorf("FIFO queue: %d sent, %d duplicates; want %d and %d", q.Sent, q.Duplicates, len(ids), len(ids))
	}
	for _, it := range m.Items {
		if st := q.ByDedupID[redrive.DedupID(m.RunID, it.RequestID)]; st.Sent != 1 {
			t.Errorf("%s: dedup ID sent %d times", it.RequestID, st.Sent)
		}
	}
}

// eventChildEnv carries the event child's spec (the same shape as childSpec).
const eventChildEnv = "STOWAGE_REDRIVE_EVENT_CHILD_SPEC"

// TestEventRedriveChild is the child of TestEventKillDashNineMidBatchThenResume.
func TestEventRedriveChild(t *testing.T) {
	raw := os.Getenv(eventChildEnv)
	if raw == "" {
		t.Skip("runs only as the child process of TestEventKillDashNineMidBatchThenResume")
	}
	var spec childSpec
	env := childEnv(t, raw, &spec, func() string { return spec.Config })
	c, err := awsclient.Open(context.Background(), env, awsclient.WithStaticCredentials(devstack.AccessKey, devstack.SecretKey))
	if err != nil {
		t.Fatal(err)
	}
	d := &dev{env: env, clients: c}
	m := d.planEvents(t, spec.Mode, redrive.Selection{IDs: spec.IDs})
	m.Concurrency = 1
	o := redrive.OptionsFor(env)
	o.JournalPath = spec.Journal
	runUntilKilled(t, eventDeps(c), m, o)
}

// runUntilKilled runs m in a child process whose parent kills it mid-run: a run that
// finishes fails the child.
func runUntilKilled(t *testing.T, deps redrive.Deps, m *redrive.Manifest, o redrive.Options) {
	t.Helper()
	r, err := redrive.New(deps, m, o)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	r.Wait()
	t.Fatal("the child finished its run: the parent was meant to kill it mid-run")
}

// A kill -9 while batches are out, then --resume: the queue's counters show one message
// per request, whether it was delivered before the kill, in a batch the kill caught, or
// sent after the resume.
func TestEventKillDashNineMidBatchThenResume(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a child process")
	}
	d := startDev(t, devOptions{stack: devstack.Options{Seed: 21, Requests: 600, TransientRatio: 1, LostRatio: -1, Trigger: devstack.TriggerSQS}})
	d.st.SetEventFaults(devstack.EventFaults{Latency: 20 * time.Millisecond})
	ids := d.failed(t, "transient", 200)
	if len(ids) != 200 {
		t.Fatalf("the seeded stack has %d transient failures, want 200", len(ids))
	}
	cfg := filepath.Join(d.dir, "config.yaml")
	if err := d.st.WriteConfig(cfg); err != nil {
		t.Fatal(err)
	}
	before := eventsOf(d.st, redrive.ModeSQS, devstack.DemoQueue)
	journal := filepath.Join(d.dir, "killed.journal.jsonl")
	raw, _ := json.Marshal(childSpec{Config: cfg, IDs: ids, Journal: journal, Mode: redrive.ModeSQS})
	cmd := exec.Command(os.Args[0], "-test.run=^TestEventRedriveChild$", "-test.count=1", "-test.v")
	cmd.Env = append(os.Environ(), eventChildEnv+"="+string(raw))
	out, _ := os.CreateTemp(d.dir, "child-*.log")
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	deadline := time.Now().Add(time.Minute)
	for {
		delivered, inFlight := journalProgress(journal)
		if delivered >= 40 && inFlight > 0 {
			break
		}
		select {
		case err := <-exited:
			log, _ := os.ReadFile(out.Name())
			t.Fatalf("the child exited before the kill (%v):\n%s", err, log)
		default:
		}
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			t.Fatal("the child delivered too little in time")
		}
		time.Sleep(time.Millisecond)
	}
	if err := cmd.Process.Kill(); err != nil { // SIGKILL
		t.Fatal(err)
	}
	<-exited
	st, err := redrive.LoadJournal(journal)
	if err != nil {
		t.Fatalf("the journal left by kill -9 does not read: %v", err)
	}
	c := st.Counts()
	t.Logf("at the kill: %s", c)
	if c.Sending == 0 || c.Pending == 0 {
		t.Fatalf("the kill did not land mid-batch: %s", c)
	}
	d.settle(t)
	o := d.options("resume")
	r, err := redrive.Resume(eventDeps(d.clients), st, o)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	rep := r.Wait()
	d.settle(t)
	if rep.Counts.Delivered+rep.Counts.Unknown != len(ids) {
		t.Fatalf("after resume: %s %s", rep.Outcome, rep.Counts)
	}
	// The processor consumed what the queue took before the resume (d.settle), so the
	// resume confirms those by their status; an item journaled sending whose batch had
	// not left cannot be told from one still queued, and is left unknown, unsent.
	after := eventsOf(d.st, redrive.ModeSQS, devstack.DemoQueue)
	for _, it := range rep.Items {
		want, state := 1, devstack.StateProcessed
		if it.State == redrive.StateUnknown {
			want, state = 0, d.state(it.RequestID)
		}
		if n := after[it.Key] - before[it.Key]; n != want {
			at := "pending"
			if tr := st.Items[it.RequestID]; tr != nil {
				at = string(tr.State)
			}
			t.Errorf("%s (%s at the kill, %s after): %d messages, want %d", it.RequestID, at, it.State, n, want)
		}
		if s := d.state(it.RequestID); s != state {
			t.Errorf("%s: %s", it.RequestID, s)
		}
	}
}

// On the demo's EventBridge, which answers a put on a bus that does not exist as AWS's
// does (taken, and dropped), a redrive to such a bus stops before the first put.
func TestEventBridgeUnknownBusSendsNothing(t *testing.T) {
	d := startDev(t, devOptions{stack: devstack.Options{Seed: 7, Requests: 60, TransientRatio: 0.4, LostRatio: -1, Trigger: devstack.TriggerEventBridge}})
	ids := d.failed(t, "transient", 4)
	m := d.planEvents(t, redrive.ModeEventBridge, redrive.Selection{IDs: ids}, func(s *redrive.EventSpec) { s.Bus = "no-such-bus" })
	before := d.st.EventStats().EventKeys
	r, err := redrive.New(eventDeps(d.clients), m, d.options("run"))
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	rep := r.Wait()
	if rep.Outcome != redrive.OutcomeError || rep.Counts.Pending != len(ids) {
		t.Fatalf("outcome %s (%s): %s", rep.Outcome, rep.StopReason, rep.Counts)
	}
	if !strings.Contains(rep.StopReason, "no-such-bus") || !strings.Contains(rep.StopReason, "events:DescribeEventBus") {
		t.Errorf("stop reason: %s", rep.StopReason)
	}
	for k, n := range d.st.EventStats().EventKeys {
		if n != before[k] {
			t.Errorf("%s: %d events, was %d", k, n, before[k])
		}
	}
}
