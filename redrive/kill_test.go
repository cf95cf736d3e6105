package redrive_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/stowage-cli/stowage/awsclient"
	"github.com/stowage-cli/stowage/internal/config"
	"github.com/stowage-cli/stowage/internal/devstack"
	"github.com/stowage-cli/stowage/redrive"
)

// childSpecEnv carries the child's instructions when the test binary re-executes itself.
const childSpecEnv = "STOWAGE_REDRIVE_CHILD_SPEC"

// childSpec tells the child process which stack to use and what to redrive.
type childSpec struct {
	Config  string   // a stowage config whose "demo" environment is the parent's devstack
	IDs     []string // what to redrive
	Journal string
	// Mode (inplace when ""), and the attempt timeout and settle wait (defaults when 0).
	Mode           redrive.Mode
	AttemptTimeout time.Duration
	UnknownSettle  time.Duration
}

// TestRedriveChild is not a test on its own: TestKillDashNineMidRunThenResume runs the test
// binary again with only this function and a spec, and SIGKILLs it mid-run.
func TestRedriveChild(t *testing.T) {
	raw := os.Getenv(childSpecEnv)
	if raw == "" {
		t.Skip("runs only as the child process of TestKillDashNineMidRunThenResume")
	}
	var spec childSpec
	env := childEnv(t, raw, &spec, func() string { return spec.Config })
	c, err := awsclient.Open(context.Background(), env, awsclient.WithStaticCredentials(devstack.AccessKey, devstack.SecretKey))
	if err != nil {
		t.Fatal(err)
	}
	mode := spec.Mode
	if mode == "" {
		mode = redrive.ModeInplace
	}
	opts, err := redrive.PlanOptionsFor(env, mode)
	if err != nil {
		t.Fatal(err)
	}
	opts.Rate, opts.Concurrency = 0, 8
	m, err := redrive.Plan(context.Background(), redrive.PlanDepsFor(c, env), redrive.Selection{IDs: spec.IDs}, opts)
	if err != nil {
		t.Fatal(err)
	}
	o := redrive.OptionsFor(env)
	o.JournalPath = spec.Journal
	o.AttemptTimeout, o.UnknownSettle = spec.AttemptTimeout, spec.UnknownSettle
	r, err := redrive.New(redrive.DepsFor(c), m, o)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	r.Wait()
	t.Fatal("the child finished its run: the parent was meant to kill it mid-run")
}

// A kill -9 in the middle of a 500-item run loses nothing that was journaled: after
// --resume nothing delivered before the kill is sent again, nothing is skipped, and only
// the requests in flight at the kill may reach the gateway twice.
func TestKillDashNineMidRunThenResume(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a child process")
	}
	d := startDev(t, devOptions{stack: devstack.Options{Seed: 21, Requests: 1600, TransientRatio: 1, LostRatio: -1,
		Gateway: devstack.GatewayFaults{Latency: 10 * time.Millisecond}}})
	ids := d.failed(t, "transient", 500)
	if len(ids) != 500 {
		t.Fatalf("the seeded stack has %d transient failures, want 500", len(ids))
	}
	cfg := filepath.Join(d.dir, "config.yaml")
	if err := d.st.WriteConfig(cfg); err != nil {
		t.Fatal(err)
	}
	journal := filepath.Join(d.dir, "killed.journal.jsonl")
	// Kill it once a good part was delivered, while requests are in flight.
	killChildWhen(t, childSpec{Config: cfg, IDs: ids, Journal: journal}, 2*time.Minute, "the child delivered too little in time", func() bool {
		delivered, inFlight := journalProgress(journal)
		return delivered >= 150 && inFlight > 0
	})
	st, err := redrive.LoadJournal(journal)
	if err != nil {
		t.Fatalf("the journal left by kill -9 does not read: %v", err)
	}
	atKill := map[string]redrive.ItemState{}
	for id, tr := range st.Items {
		atKill[id] = tr.State
	}
	c := st.Counts()
	t.Logf("at the kill: %s; in flight %d", c, c.Sending+c.Unknown+c.Retrying)
	if c.Pending == 0 || c.Delivered < 150 || c.Sending == 0 {
		t.Fatalf("the kill did not land mid-run: %s", c)
	}
	d.settle(t)
	for id, s := range atKill {
		if n := d.st.Received().ByOriginalID[id]; s == redrive.StateDelivered && n != 1 {
			t.Fatalf("%s journaled delivered before the kill but stored %d times", id, n)
		}
	}

	o := d.options("resume")
	r, err := redrive.Resume(redrive.DepsFor(d.clients), st, o)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	rep := r.Wait()
	d.settle(t)
	if rep.Outcome != redrive.OutcomeDelivered || rep.Counts.Delivered != 500 {
		t.Fatalf("after resume: %s %s", rep.Outcome, rep.Counts)
	}
	got := d.st.Received()
	twice := 0
	for _, it := range rep.Items {
		n := got.ByOriginalID[it.RequestID]
		switch s := atKill[it.RequestID]; {
		case s == redrive.StateDelivered || s == redrive.StatePending:
			if n != 1 {
				t.Errorf("%s (%s at the kill) stored %d times, want exactly once", it.RequestID, s, n)
			}
		default: // in flight at the kill: the gateway may have had it already
			if n < 1 || n > 2 {
				t.Errorf("%s (in flight at the kill) stored %d times, want 1 or 2", it.RequestID, n)
			}
			if n == 2 {
				twice++
				if !it.MaybeDuplicated {
					t.Errorf("%s stored twice but not flagged maybe duplicated in the report", it.RequestID)
				}
			}
		}
		if s := d.state(it.RequestID); s != devstack.StateProcessed {
			t.Errorf("%s: status %q after resume", it.RequestID, s)
		}
	}
	t.Logf("%d in-flight requests reached the gateway twice", twice)
	fi, err := os.Stat(journal)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("journal mode: %v %v", fi.Mode(), err)
	}
}

// journalProgress reads a journal being written: how many requests were delivered, and
// how many have a "sending" record without an outcome yet.
func journalProgress(path string) (delivered, inFlight int) {
	f, err := os.Open(path)
	if err != nil {
		return 0, 0
	}
	defer f.Close()
	open := map[string]bool{}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<28)
	for sc.Scan() {
		var rec redrive.Record
		if json.Unmarshal(sc.Bytes(), &rec) != nil || rec.ID == "" {
			continue
		}
		open[rec.ID] = rec.Type == redrive.RecSending
		if rec.Type == redrive.RecDelivered {
			delivered++
		}
	}
	for _, o := range open {
		if o {
			inFlight++
		}
	}
	return delivered, inFlight
}

// A kill -9 while the run waits out the settle time of unknown attempts, then --resume at
// once: the resume must still wait from the journaled time, or it re-checks before the
// slow processor wrote its verdict and stores the requests a second time.
func TestKillDashNineDuringTheSettleWaitThenResume(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a child process")
	}
	// The gateway stores each body at once, then answers after 3 s; the client gives up
	// after 300 ms, so every attempt is unknown. The processor takes 1 s per event.
	d := startDev(t, devOptions{stack: devstack.Options{Seed: 41, Requests: 100, TransientRatio: 1, LostRatio: -1,
		ProcessDelay: time.Second,
		Gateway:      devstack.GatewayFaults{Latency: 3 * time.Second, StoreBeforeLatency: true}}})
	ids := d.failed(t, "transient", 3)
	if len(ids) != 3 {
		t.Fatalf("%d transient failures, want 3", len(ids))
	}
	cfg := filepath.Join(d.dir, "config.yaml")
	if err := d.st.WriteConfig(cfg); err != nil {
		t.Fatal(err)
	}
	settle := 4 * time.Second
	journal := filepath.Join(d.dir, "settle.journal.jsonl")
	// SIGKILL inside the settle wait.
	killChildWhen(t, childSpec{Config: cfg, IDs: ids, Journal: journal, AttemptTimeout: 300 * time.Millisecond, UnknownSettle: settle},
		time.Minute, "the attempts were not journaled unknown in time", func() bool { return journalUnknown(journal) >= len(ids) })
	st, err := redrive.LoadJournal(journal)
	if err != nil {
		t.Fatal(err)
	}
	o := d.options("resume")
	o.UnknownSettle = settle
	o.AttemptTimeout = 300 * time.Millisecond
	r, err := redrive.Resume(redrive.DepsFor(d.clients), st, o)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	rep := r.Wait()
	d.settle(t)
	got := d.st.Received()
	for _, it := range rep.Items {
		if n := got.ByOriginalID[it.RequestID]; n != 1 {
			t.Errorf("%s stored %d times, want once (%s %s%s)", it.RequestID, n, it.State, it.Note, it.Error)
		}
		if it.State != redrive.StateDelivered {
			t.Errorf("%s ended %s: %s", it.RequestID, it.State, it.Error)
		}
	}
}

// journalUnknown counts the unknown records of a journal being written.
func journalUnknown(path string) int {
	f, err := os.Open(path)
	if err != nil {
		return 0
	}
	defer f.Close()
	n := 0
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<28)
	for sc.Scan() {
		var rec redrive.Record
		if json.Unmarshal(sc.Bytes(), &rec) == nil && rec.Type == redrive.RecUnknown {
			n++
		}
	}
	return n
}

// killChildWhen runs TestRedriveChild in a new process with spec and SIGKILLs it once ready
// holds; it fails the test if the child exits first or ready does not hold within limit.
func killChildWhen(t *testing.T, spec childSpec, limit time.Duration, tooSlow string, ready func() bool) {
	t.Helper()
	raw, _ := json.Marshal(spec)
	cmd := exec.Command(os.Args[0], "-test.run=^TestRedriveChild$", "-test.count=1", "-test.v")
	cmd.Env = append(os.Environ(), childSpecEnv+"="+string(raw))
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	deadline := time.Now().Add(limit)
	for !ready() {
		select {
		case err := <-exited:
			t.Fatalf("the child exited before the kill (%v):\n%s", err, out.String())
		default:
		}
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			t.Fatalf("%s:\n%s", tooSlow, out.String())
		}
		time.Sleep(time.Millisecond)
	}
	if err := cmd.Process.Kill(); err != nil { // SIGKILL
		t.Fatal(err)
	}
	<-exited
}

// childEnv decodes a child process's spec from raw into spec and returns the demo
// environment of the config it names (configPath reads it from the decoded spec).
func childEnv(t *testing.T, raw string, spec any, configPath func() string) *config.Env {
	t.Helper()
	if err := json.Unmarshal([]byte(raw), spec); err != nil {
		t.Fatal(err)
	}
	f, err := config.Load(configPath())
	if err != nil {
		t.Fatal(err)
	}
	env, err := f.Select(devstack.EnvName, config.Overrides{})
	if err != nil {
		t.Fatal(err)
	}
	return env
}
