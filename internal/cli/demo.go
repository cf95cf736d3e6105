package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/stowage-cli/stowage/internal/config"
	"github.com/stowage-cli/stowage/internal/devstack"
	"github.com/stowage-cli/stowage/internal/sanitize"
	"github.com/stowage-cli/stowage/redrive"
)

// demoBatchTaskDelay paces each of the demo's Batch Operations tasks (8 run at once).
const demoBatchTaskDelay = 300 * time.Millisecond

// maxLiveRate bounds demo --live-rate: past it the demo measures the machine, not stowage.
const maxLiveRate = 1000

// A demo of bigDemo requests or more runs under a soft memory limit (GOMEMLIMIT wins).
const (
	bigDemo            = 200_000
	bigDemoMemoryLimit = 1200 << 20
)

type demoFlags struct {
	serve     bool
	addr      string
	data      string
	seed      int64
	requests  int
	configOut string
	verbose   bool
	now       string
	trigger   string
	live      bool
	liveRate  float64
	// liveRateSet is true when --live-rate was given.
	liveRateSet bool
}

func newDemoCmd(g *Globals) *cobra.Command {
	var f demoFlags
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Run a seeded storage-first stack in process and explore it (no AWS account needed)",
		Long: `Start an in-process storage-first stack on loopback: an S3 server, the DynamoDB status
table, the API Gateway emulator and the processor an S3 event triggers, seeded with a
week of requests (product XML, client profiles in JSON, large, malformed, gzip, binary,
empty and hostile payloads; some FAILED, some LOST).

Without --serve, stowage opens the terminal UI on it when run in a terminal, and stops
the stack when the UI exits. Otherwise, and with --serve, it prints the endpoints, the
credentials and the config, prints "ready" once every endpoint accepts requests, and
runs until interrupted (Ctrl-C or SIGTERM).

With --live, new requests keep arriving through the gateway (--live-rate a second,
default 2) while it runs: most are processed, some fail for good (malformed or invalid
payloads), some fail transiently (inventory-service timeouts and throttling), a few are
LOST, and pricing-service has an outage 45 s after the start that lasts a minute and
comes back every 5 minutes, failing every delivery while it lasts. The terminal UI's
auto-refresh and stowage tail show them as they happen.

Every other command works against it with the config it writes (which holds the demo's
local credentials and API key, mode 0600):

  stowage demo --serve --config-out /tmp/demo.yaml
  stowage --config /tmp/demo.yaml --env demo ls --status FAILED

A plain AWS client works too, with the credentials it prints:

  AWS_ACCESS_KEY_ID=` + devstack.AccessKey + ` AWS_SECRET_ACCESS_KEY=` + devstack.SecretKey + ` \
    aws --endpoint-url http://127.0.0.1:PORT s3api list-objects-v2 --bucket ` + devstack.DefaultBucket,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			f.liveRateSet = cmd.Flags().Changed("live-rate")
			return runDemo(cmd.Context(), g, f)
		},
	}
	fl := cmd.Flags()
	fl.BoolVar(&f.serve, "serve", false, "run headless until interrupted instead of opening the terminal UI")
	fl.StringVar(&f.addr, "addr", "127.0.0.1:0", "loopback address of the S3 endpoint; with a fixed port P the gateway uses P+1 and DynamoDB P+2")
	fl.StringVar(&f.data, "data", "", "keep objects and statuses in `DIR` across restarts (default: in memory)")
	fl.Int64Var(&f.seed, "seed", 1, "seed of the generated requests and the processor's decisions")
	fl.IntVar(&f.requests, "requests", devstack.DefaultRequests, "how many requests to seed")
	fl.StringVar(&f.configOut, "config-out", "", "write the stowage config for the demo to `FILE` (default: a temporary file, removed on exit)")
	fl.BoolVar(&f.verbose, "verbose", false, "log every gateway request and processed event to stderr")
	fl.StringVar(&f.trigger, "trigger", "s3", "how a stored request reaches the processor: s3 (a direct S3 notification), sqs (a queue it long-polls), lambda (invoked as a function) or eventbridge")
	fl.BoolVar(&f.live, "live", false, "keep new requests arriving while the demo runs, some failing, with a pricing-service outage now and then")
	fl.Float64Var(&f.liveRate, "live-rate", devstack.DefaultLiveRate, "with --live, `N` new requests arrive a second (at most 1000)")
	_ = cmd.RegisterFlagCompletionFunc("trigger", func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
		return []string{"s3", "sqs", "lambda", "eventbridge"}, cobra.ShellCompDirectiveNoFileComp
	})
	// --now fixes the clock of the stack and of the UI, so that screenshots (make
	// screenshots, the README) show the same seeded week and the same "3m ago" on every
	// run. It is for that alone, hence hidden from help.
	fl.StringVar(&f.now, "now", "", "fix the clock at this RFC3339 `TIME` (for reproducible screenshots)")
	_ = fl.MarkHidden("now")
	return cmd
}

func runDemo(ctx context.Context, g *Globals, f demoFlags) error {
	if f.requests <= 0 {
		f.requests = -1 // devstack: none
	}
	switch f.trigger {
	case "s3", "sqs", "lambda", "eventbridge":
	default:
		return exitf(ExitUsage, "demo: --trigger %q: want s3, sqs, lambda or eventbridge", sanitize.Line(f.trigger))
	}
	switch {
	case f.liveRateSet && !f.live:
		return exitf(ExitUsage, "demo: --live-rate needs --live")
	case f.live && !(f.liveRate > 0 && f.liveRate <= maxLiveRate):
		return exitf(ExitUsage, "demo: --live-rate %g: want more than 0 and at most %d requests a second", f.liveRate, maxLiveRate)
	}
	opts := devstack.Options{Addr: f.addr, DataDir: f.data, Seed: f.seed, Requests: f.requests, Trigger: f.trigger}
	if f.now != "" {
		at, err := time.Parse(time.RFC3339, f.now)
		if err != nil {
			return exitf(ExitUsage, "demo: --now %q is not a time; expected RFC3339 such as 2026-03-02T09:30:00Z", f.now)
		}
		opts.Now = func() time.Time { return at }
		// The terminal UI reads it (tui.Options.Now) so that its ages agree with the
		// stack's seeded week.
		g.demoClock = opts.Now
		defer func() { g.demoClock = nil }()
	}
	if f.verbose {
		opts.Logger = g.Stderr
	}
	if f.requests >= bigDemo && os.Getenv("GOMEMLIMIT") == "" {
		// A big demo holds about 850 bytes per request live; without a soft limit Go's GC
		// lets the process grow to over twice that (1M requests: 2.2 GB peak; with 1300
		// MiB 1.50 GB, the bound, so 1200 MiB). The GC then runs more often near
		// the end of the seed: some CPU for the memory.
		debug.SetMemoryLimit(bigDemoMemoryLimit)
	}
	st, err := devstack.Start(ctx, opts)
	if err != nil {
		if errors.Is(err, context.Canceled) {
			return exitf(ExitCancelled, "demo: %v", err)
		}
		return exitf(ExitUsage, "demo: %v", err)
	}
	defer func() {
		if err := st.Close(); err != nil {
			g.printErr("stowage: demo: %v\n", err)
		}
	}()
	// The demo's Batch Operations tasks take the time a real task's copy or invocation
	// takes, so that a job's progress can be watched: unpaced, the demo's few dozen
	// tasks ended within the first look at the job.
	st.SetBatchTaskDelay(demoBatchTaskDelay)

	// The demo's redrives (its terminal UI runs in this process) keep their audit log,
	// journals and reports apart from the operator's real ones.
	stateHome, err := demoStateHome(f.data)
	if err != nil {
		return exitf(ExitUsage, "demo: %v", err)
	}
	restore := setEnv("XDG_STATE_HOME", stateHome)
	defer restore()

	path, temporary := f.configOut, f.configOut == ""
	if temporary {
		tmp, err := os.CreateTemp("", "stowage-demo-*.yaml")
		if err != nil {
			return exitf(ExitUsage, "demo: temporary config: %v; pass --config-out FILE", err)
		}
		tmp.Close()
		path = tmp.Name()
		defer os.Remove(path)
	}
	if abs, err := filepath.Abs(path); err == nil {
		path = abs
	}
	if err := st.WriteConfig(path); err != nil {
		return exitf(ExitUsage, "demo: %v; pass another --config-out FILE", err)
	}

	useTUI := !f.serve && g.isTerminal(g.Stdin) && g.isTerminal(g.Stdout)
	if f.live {
		// Deferred after st.Close, so it runs first: the arrivals stop, then the stack
		// processes what was stored and closes.
		stop := startLive(ctx, g, st, f.liveRate, !useTUI)
		defer stop()
	}

	// The environment and file come from the config the demo wrote (its local_credentials
	// included), so the UI runs the same code path as against AWS.
	if useTUI {
		file, err := config.Load(path)
		if err != nil {
			return exitf(ExitUsage, "demo: %v", err)
		}
		if err := config.Check(config.Errors(file.Validate())); err != nil {
			return exitf(ExitUsage, "demo: the generated config is invalid (a bug): %v", err)
		}
		env, err := file.Select(devstack.EnvName, g.overrides())
		if err != nil {
			return exitf(ExitUsage, "demo: %v", err)
		}
		return g.demoTUI(ctx, st, env, file)
	}

	printDemo(g.Stdout, st, f, path, temporary)
	// Start returned with every listener accepting connections.
	fmt.Fprintln(g.Stdout, "ready")
	<-ctx.Done()
	g.printErr("stowage: demo: stopping\n")
	return nil
}

// startLive keeps requests arriving at rate a second until ctx ends or the returned stop
// is called; stop returns once the last arrival is stored. With announce, the outage's
// start and end are written to stderr (not over the terminal UI).
func startLive(ctx context.Context, g *Globals, st *devstack.Stack, rate float64, announce bool) (stop func()) {
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	opts := devstack.LiveOptions{Rate: rate}
	if announce {
		opts.OnOutage = func(started bool) {
			if started {
				g.printErr("stowage: demo: live: %s outage started: every delivery fails until it ends\n", devstack.OutageService)
			} else {
				g.printErr("stowage: demo: live: %s outage over\n", devstack.OutageService)
			}
		}
	}
	go func() {
		defer close(done)
		st.Live(ctx, opts)
	}()
	return func() {
		cancel()
		<-done
	}
}

// demoStateHome is the XDG_STATE_HOME of a demo: beside its data with --data, else
// "demo" under the operator's state directory, so that a demo's audit entries, journals
// and reports never mix with real ones and stay after the demo stops.
func demoStateHome(data string) (string, error) {
	if data != "" {
		return filepath.Abs(filepath.Join(data, "state"))
	}
	dir, err := redrive.StateDir()
	if err != nil {
		return "", err
	}
	return filepath.Join(dir, "demo"), nil
}

// setEnv sets an environment variable of the process and returns what puts it back.
func setEnv(k, v string) (restore func()) {
	old, had := os.LookupEnv(k)
	os.Setenv(k, v)
	return func() {
		if had {
			os.Setenv(k, old)
		} else {
			os.Unsetenv(k)
		}
	}
}

func printDemo(w io.Writer, st *devstack.Stack, f demoFlags, configPath string, temporary bool) {
	where := "in memory"
	if f.data != "" {
		where = "kept in " + f.data
	}
	seeded := fmt.Sprintf("%d requests seeded over the last 7 days", st.SeededCount())
	if st.SeededCount() == 0 {
		seeded = "not seeded (it already held data)"
		if f.data == "" {
			seeded = "not seeded"
		}
	}
	fmt.Fprintf(w, "stowage demo stack (seed %d, %s, %s)\n\n", f.seed, seeded, where)
	fmt.Fprintf(w, "  S3        %s   bucket %s\n", st.S3URL, st.Bucket)
	fmt.Fprintf(w, "  DynamoDB  %s   table %s, index %s\n", st.DynamoDBURL, st.Table, st.Index)
	fmt.Fprintf(w, "  gateway   %s   PUT /product, PUT /product/{bucket}/{key} (x-api-key is in the config)\n", st.GatewayURL)
	fmt.Fprintf(w, "  config    %s   environment %s\n", configPath, devstack.EnvName)
	if temporary {
		// Without --config-out the operator must know the file goes away with the demo.
		fmt.Fprintf(w, "            (a temporary file, removed when the demo stops; to keep one, run with --config-out FILE)\n")
	}
	if f.live {
		fmt.Fprintf(w, "  live      %g new requests a second through the gateway; %s outage %s after the start, for %s, every %s\n",
			f.liveRate, devstack.OutageService, spoken(devstack.DefaultOutageAfter), spoken(devstack.DefaultOutageFor), spoken(devstack.DefaultOutageEvery))
	}
	stateHome := os.Getenv("XDG_STATE_HOME")
	if dir, err := redrive.StateDir(); err == nil {
		fmt.Fprintf(w, "  state     %s\n            (the demo's audit log, redrive journals and reports; kept after it stops)\n", dir)
	}
	fmt.Fprintln(w)
	fmt.Fprintf(w, "stowage reads the demo's credentials from the config. For other AWS clients (the demo accepts any keys):\n")
	fmt.Fprintf(w, "  export AWS_ACCESS_KEY_ID=%s AWS_SECRET_ACCESS_KEY=%s AWS_REGION=%s\n\n", st.AccessKey, st.SecretKey, st.Region)
	fmt.Fprintf(w, "Try:\n")
	cfg := shellQuote(configPath)
	fmt.Fprintf(w, "  stowage --config %s --env %s ls --status FAILED\n", cfg, devstack.EnvName)
	fmt.Fprintf(w, "  stowage --config %s --env %s lost\n", cfg, devstack.EnvName)
	fmt.Fprintf(w, "  stowage --config %s --env %s\n", cfg, devstack.EnvName)
	// Another shell has its own environment: its redrives keep the demo's state only if told.
	fmt.Fprintf(w, "  XDG_STATE_HOME=%s stowage --config %s --env %s redrive --status FAILED --dry-run\n",
		shellQuote(stateHome), cfg, devstack.EnvName)
	fmt.Fprintf(w, "  aws --endpoint-url %s s3api list-objects-v2 --bucket %s --max-items 5\n", st.S3URL, st.Bucket)
	fmt.Fprintf(w, "  aws --endpoint-url %s dynamodb get-item --table-name %s --key '{\"requestId\":{\"S\":\"KEY\"}}'\n\n",
		st.DynamoDBURL, st.Table)
	fmt.Fprintf(w, "Stop with Ctrl-C.\n")
}

// spoken writes a whole number of seconds or minutes as people do: "45 s", "5 min".
func spoken(d time.Duration) string {
	if d%time.Minute == 0 {
		return fmt.Sprintf("%d min", d/time.Minute)
	}
	return fmt.Sprintf("%d s", d/time.Second)
}

// shellQuote quotes s for a POSIX shell when it needs it.
func shellQuote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./:=@%+,") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
