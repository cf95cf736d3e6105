package redrive_test

import (
	"bytes"
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

// runChildSpecEnv carries a concurrent run's instructions to the re-executed test binary.
const runChildSpecEnv = "STOWAGE_REDRIVE_RUN_CHILD_SPEC"

// runChildSpec is one operator's run: its own config copy, journal and state directory.
type runChildSpec struct {
	Config  string
	Mode    redrive.Mode
	IDs     []string
	Journal string
	Who     string
	StartAt time.Time // both children plan first, then start sending together
}

// TestConcurrentRunChild is not a test on its own: TestTwoProcessesRedriveEachRequestOnce
// runs the test binary twice with it, as two operators on two machines.
func TestConcurrentRunChild(t *testing.T) {
	raw := os.Getenv(runChildSpecEnv)
	if raw == "" {
		t.Skip("runs only as a child process of TestTwoProcessesRedriveEachRequestOnce")
	}
	var spec runChildSpec
	env := childEnv(t, raw, &spec, func() string { return spec.Config })
	ctx := context.Background()
	c, err := awsclient.Open(ctx, env, awsclient.WithStaticCredentials(devstack.AccessKey, devstack.SecretKey))
	if err != nil {
		t.Fatal(err)
	}
	opts, err := redrive.PlanOptionsFor(env, spec.Mode)
	if err != nil {
		t.Fatal(err)
	}
	opts.Rate, opts.Concurrency = 0, 8
	m, err := redrive.Plan(ctx, redrive.PlanDepsFor(c, env), redrive.Selection{IDs: spec.IDs}, opts)
	if err != nil {
		t.Fatal(err)
	}
	o := redrive.OptionsFor(env)
	o.JournalPath = spec.Journal
	o.BackoffBase, o.BackoffMax, o.UnknownSettle = 2*time.Millisecond, 20*time.Millisecond, 50*time.Millisecond
	time.Sleep(time.Until(spec.StartAt))
	s, err := redrive.Start(ctx, redrive.DepsFor(c), m, o, redrive.SessionConfig{Who: spec.Who})
	if err != nil {
		t.Fatal(err)
	}
	if _, fin, err := s.Finish(); err != nil || fin.ReportErr != nil {
		t.Fatalf("finish: %v %v", err, fin.ReportErr)
	}
}

// Two operators plan the same requests and run them at once from two processes, each
// with its own journal and state directory. The devstack's lease table lets each request
// through once: the gateway's delivery count is 1 for every request, in both gateway
// modes (reupload, where the old status never changes, and inplace).
func TestTwoProcessesRedriveEachRequestOnce(t *testing.T) {
	if testing.Short() {
		t.Skip("starts child processes")
	}
	for i, mode := range []redrive.Mode{redrive.ModeReupload, redrive.ModeInplace} {
		t.Run(string(mode), func(t *testing.T) {
			// Latency keeps both runs' requests in flight together; stored before the
			// latency, as API Gateway stores before it answers.
			d := startDev(t, devOptions{stack: devstack.Options{Seed: int64(31 + i), Requests: 200, TransientRatio: 1, LostRatio: -1,
				Gateway: devstack.GatewayFaults{Latency: 100 * time.Millisecond, StoreBeforeLatency: true}}})
			if d.env.Redrive.LeaseTable == "" {
				t.Fatal("the devstack environment has no lease table")
			}
			ids := d.failed(t, "transient", 40)
			if len(ids) != 40 {
				t.Fatalf("%d transient failures, want 40", len(ids))
			}
			cfg := filepath.Join(d.dir, "config.yaml")
			if err := d.st.WriteConfig(cfg); err != nil {
				t.Fatal(err)
			}
			startAt := time.Now().Add(5 * time.Second)
			type child struct {
				cmd     *exec.Cmd
				out     bytes.Buffer
				journal string
			}
			var children []*child
			for _, who := range []string{"alice@laptop", "bob@desktop"} {
				ch := &child{journal: filepath.Join(d.dir, strings.Split(who, "@")[0]+".journal.jsonl")}
				spec, _ := json.Marshal(runChildSpec{Config: cfg, Mode: mode, IDs: ids, Journal: ch.journal, Who: who, StartAt: startAt})
				ch.cmd = exec.Command(os.Args[0], "-test.run=^TestConcurrentRunChild$", "-test.count=1", "-test.v")
				ch.cmd.Env = append(os.Environ(), runChildSpecEnv+"="+string(spec),
					"XDG_STATE_HOME="+filepath.Join(d.dir, "state-"+who))
				ch.cmd.Stdout, ch.cmd.Stderr = &ch.out, &ch.out
				if err := ch.cmd.Start(); err != nil {
					t.Fatal(err)
				}
				children = append(children, ch)
			}
			for _, ch := range children {
				if err := ch.cmd.Wait(); err != nil {
					t.Fatalf("a run failed (%v):\n%s", err, ch.out.String())
				}
			}
			d.settle(t)
			delivered, skipped := 0, 0
			for _, ch := range children {
				f, err := os.Open(redrive.ReportPath(ch.journal))
				if err != nil {
					t.Fatal(err)
				}
				items, err := redrive.ReadReport(f)
				f.Close()
				if err != nil {
					t.Fatal(err)
				}
				for _, it := range items {
					switch it.State {
					case redrive.StateDelivered:
						delivered++
					case redrive.StateSkipped:
						skipped++
						if !strings.HasPrefix(it.Note, "claimed by run ") && !strings.HasPrefix(it.Note, "already redriven by run ") &&
							!strings.HasPrefix(it.Note, "already ") && !strings.HasPrefix(it.Note, "changed since planning") {
							t.Errorf("%s skipped with %q", it.RequestID, it.Note)
						}
					default:
						t.Errorf("%s ended %s: %s", it.RequestID, it.State, it.Error)
					}
				}
			}
			got := d.st.Received()
			twice := 0
			for _, id := range ids {
				if n := got.ByOriginalID[id]; n != 1 {
					twice++
					t.Errorf("%s stored %d times, want exactly once", id, n)
				}
			}
			t.Logf("%d delivered, %d skipped across the two runs; %d stored other than once", delivered, skipped, twice)
			if delivered != 40 || skipped != 40 {
				t.Errorf("delivered %d, skipped %d; want 40 and 40", delivered, skipped)
			}
		})
	}
}
