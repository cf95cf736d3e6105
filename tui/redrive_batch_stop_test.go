package tui

import (
	"context"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/stowage-cli/stowage/redrive"
)

// startStalled confirms a two-job batch-ops plan and runs its start in the background,
// the first job confirmed (and running in S3) and its confirmation not yet answered: the
// moment the operator stops or quits. The start's messages come on the channel.
func startStalled(t *testing.T) (*fixture, *fakeJobs, chan []tea.Msg) {
	t.Helper()
	stateHome(t)
	var gw *fakeGateway
	jobs := newFakeJobs()
	f := newFixture(t, seedRequests, redriveEnv(), withGateway(&gw), withBatchOps(jobs, false))
	f.keys("f", "F", "a", "R", "B")
	confirming := make(chan struct{})
	first := true
	jobs.confirmHook = func(ctx context.Context, id string) error {
		if !first {
			return nil
		}
		first = false
		close(confirming)
		select { // the answer comes when the start is stopped (or, unstopped, late)
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(3 * time.Second):
			return nil
		}
	}
	start := f.step(keyPress("y"))
	if f.m.rd == nil || f.m.rd.phase != rdStarting {
		t.Fatalf("y did not start the run: %+v", f.m.rd)
	}
	out := make(chan []tea.Msg, 1)
	go func() { out <- run(start) }()
	<-confirming
	return f, jobs, out
}

func startedMsg(t *testing.T, msgs []tea.Msg) batchStartedMsg {
	t.Helper()
	for _, msg := range msgs {
		if m, ok := msg.(batchStartedMsg); ok {
			return m
		}
	}
	t.Fatalf("no batchStartedMsg in %v", msgs)
	return batchStartedMsg{}
}

// c while the jobs are created and confirmed (the first confirmed, the second not yet)
// cancels every job created, confirmed or not, says what ran is not undone, and the run
// ends as a cancel mid-job does: the jobs followed to their end, the report read, the
// summary shown. (c did nothing during the start: the first job ran on, the second
// was confirmed after it.)
func TestRedriveBatchOpsStopDuringStart(t *testing.T) {
	f, jobs, out := startStalled(t)
	if v := plainView(f); !strings.Contains(v, "c stop and cancel the jobs created") {
		t.Errorf("the start does not say how to stop it:\n%s", v)
	}
	f.send(keyPress("c"))
	if !strings.Contains(f.m.note.text, redrive.BatchCancelNote) {
		t.Errorf("c does not say what cancelling does not undo: %q", f.m.note.text)
	}
	started := startedMsg(t, <-out)
	if !started.interrupted || jobs.created != 2 {
		t.Fatalf("start: interrupted %v, %d jobs created", started.interrupted, jobs.created)
	}
	jobsCancelled(t, jobs, "after c during the start")
	f.send(started)
	if f.m.rd.phase != rdFinished || f.m.rd.report == nil {
		t.Fatalf("the stopped start did not end as a cancel: phase %v, report %v", f.m.rd.phase, f.m.rd.report)
	}
	if f.m.rd.report.Outcome != redrive.OutcomeCanceled {
		t.Errorf("outcome %s, want cancelled", f.m.rd.report.Outcome)
	}
}

// q during the start does not quit at once: it says that q again cancels every job
// created and quits; the second q does, once the jobs are cancelled and the run is
// finished (claims released, report and audit written). (q only said the job runs in S3
// whatever stowage does, and a TUI closed then left a job running and one Suspended.)
func TestRedriveBatchOpsQuitDuringStart(t *testing.T) {
	f, jobs, out := startStalled(t)
	if cmd := f.step(keyPress("q")); cmd != nil {
		if msgs := run(cmd); len(msgs) > 0 {
			if _, quit := msgs[0].(tea.QuitMsg); quit {
				t.Fatal("the first q quit during the start")
			}
		}
	}
	if !strings.Contains(f.m.note.text, "q again cancels every job created and quits") {
		t.Fatalf("first q: %q", f.m.note.text)
	}
	f.send(keyPress("q"))
	started := startedMsg(t, <-out)
	if !started.quit || !started.finished {
		t.Fatalf("second q: quit %v, finished %v", started.quit, started.finished)
	}
	jobsCancelled(t, jobs, "after q q during the start")
	cmd := f.step(started)
	if msgs := run(cmd); len(msgs) != 1 || msgs[0] != (tea.QuitMsg{}) || !f.m.quitting {
		t.Fatalf("after the cancel: %v, quitting %v", msgs, f.m.quitting)
	}
	rec, err := redrive.LoadBatchRecord(started.sess.Record().Path())
	if err != nil || !rec.Finished {
		t.Fatalf("the run's record is not finished: %v", err)
	}
}

// The TUI closing during the start (its context ended: the terminal closed) cancels the
// jobs created, and waitForBatchStart lets that finish before the program returns.
func TestRedriveBatchOpsClosedDuringStart(t *testing.T) {
	f, jobs, out := startStalled(t)
	f.m.waitForBatchStart()
	select {
	case <-f.m.rd.batch.startDone:
	default:
		t.Fatal("waitForBatchStart returned before the start did")
	}
	// The start's message is handed over just after startDone closes (the command returns
	// it): waiting for it here, not polling, is what the TUI's runtime does too.
	interruptedAndCancelled(t, <-out, jobs)
}

// interruptedAndCancelled checks a start was answered as interrupted, with every job it
// created cancelled.
func interruptedAndCancelled(t *testing.T, msgs []tea.Msg, jobs *fakeJobs) {
	t.Helper()
	if started := startedMsg(t, msgs); !started.interrupted {
		t.Fatalf("start: %+v", started)
	}
	jobsCancelled(t, jobs, "after the start was stopped")
}

// jobsCancelled checks every job created is cancelled.
func jobsCancelled(t *testing.T, jobs *fakeJobs, when string) {
	t.Helper()
	for i, st := range jobs.statuses() {
		if st != "Cancelled" {
			t.Errorf("job %d is %s %s", i+1, st, when)
		}
	}
}

// ctrl+c during the start stops it as c does: every job created is cancelled, and the
// TUI stays open (it did nothing before).
func TestRedriveBatchOpsCtrlCDuringStart(t *testing.T) {
	f, jobs, out := startStalled(t)
	f.send(keyPress("ctrl+c"))
	if f.m.quitting {
		t.Fatal("ctrl+c quit")
	}
	interruptedAndCancelled(t, <-out, jobs)
}

// q while a batch job runs: the job runs in S3 whether stowage watches it or not, so q
// may quit, but a first q only says how to follow the job (jobs watch) and a second one
// quits; nothing is cancelled. (q refused to quit until the job ended, which can be hours.)
func TestRedriveBatchOpsQuitWhileTheJobRuns(t *testing.T) {
	stateHome(t)
	var gw *fakeGateway
	jobs := newFakeJobs()
	f := newFixture(t, seedRequests, redriveEnv(), withGateway(&gw), withBatchOps(jobs, false))
	f.keys("f", "F", "a", "R", "B")
	started := startedMsg(t, run(f.step(keyPress("y"))))
	if started.err != nil || started.sess == nil {
		t.Fatalf("start: %+v", started)
	}
	f.step(started)
	f.keys("esc")
	if _, quit := f.m.onKey(keyPress("q")); quit {
		t.Fatal("the first q quit")
	}
	if !strings.Contains(f.m.note.text, "jobs watch "+jobs.order[0]) || !strings.Contains(f.m.note.text, "q again quits") {
		t.Fatalf("the first q does not say how to follow the job: %q", f.m.note.text)
	}
	if _, quit := f.m.onKey(keyPress("q")); !quit {
		t.Fatal("the second q did not quit")
	}
	if jobs.cancels != 0 {
		t.Errorf("quitting cancelled %d jobs", jobs.cancels)
	}
}
