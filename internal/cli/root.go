// Package cli holds stowage's cobra commands. Each command lives in its own file
// (version.go, config_cmd.go, demo.go, ls.go, ...) and is listed in NewRoot. What tests
// replace (the clock, the terminal, the AWS clients) is on Globals (seams.go), not in
// package variables.
// Run is the whole program: it maps errors to documented exit codes and never
// prints a Go stack trace.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/stowage-cli/stowage/internal/config"
	"github.com/stowage-cli/stowage/internal/sanitize"
)

// Exit codes, documented in the root help.
const (
	ExitOK        = 0
	ExitNotFound  = 1 // not found, nothing matched, or (redrive) some items failed
	ExitUsage     = 2 // usage, configuration or refusal
	ExitAWS       = 3 // AWS access error
	ExitCancelled = 130
)

// Globals are the persistent flags every command sees.
type Globals struct {
	ConfigPath  string
	Env         string
	Profile     string
	Region      string
	EndpointURL string
	ReadOnly    bool
	NoColor     bool
	Debug       bool   // log every AWS and gateway request to stderr, secrets redacted
	Output      string // table | json ("" = table on a TTY, json otherwise)

	Stdin  io.Reader
	Stdout io.Writer
	Stderr io.Writer

	// demoClock is demo --now's fixed clock while the demo runs, for its terminal UI.
	demoClock func() time.Time
	seams     seams

	// errW is Stderr behind one lock for every writer of a run (progress lines, --debug's
	// transports on their own goroutines), so that lines never interleave; run sets it.
	errW *lockedWriter
}

// stderr is Stderr behind the run's one lock. Terminal checks look at Stderr itself.
func (g *Globals) stderr() io.Writer {
	if g.errW == nil || g.errW.w != g.Stderr {
		return &lockedWriter{w: g.Stderr} // a Globals built without run (tests)
	}
	return g.errW
}

// ExitError carries an exit code with a message already fit for the operator.
type ExitError struct {
	Code int
	Err  error
}

func (e *ExitError) Error() string { return e.Err.Error() }
func (e *ExitError) Unwrap() error { return e.Err }

// exitf returns an *ExitError with a formatted message.
func exitf(code int, format string, args ...any) error {
	return &ExitError{Code: code, Err: fmt.Errorf(format, args...)}
}

// NewRoot builds the command tree.
func NewRoot(g *Globals) *cobra.Command {
	root := &cobra.Command{
		Use:   "stowage",
		Short: "Browse, triage and redrive the requests of a storage-first API on AWS",
		Long: `stowage is the operator's tool for a storage-first API: API Gateway stores every
request body in S3, a processor records its status in DynamoDB, and stowage shows
both side by side, finds failed and lost requests, and redrives them.

Run it without a command to open the terminal UI on the configured environment.

Exit codes:
  0    ok
  1    not found, or nothing matched where something was asked for
       (redrive: some items failed)
  2    usage, configuration error, or refusal (read-only, no confirmation)
  3    AWS access error (credentials, permissions, missing bucket or table)
  130  cancelled`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	pf := root.PersistentFlags()
	pf.StringVar(&g.ConfigPath, "config", "", "config file (default $XDG_CONFIG_HOME/stowage/config.yaml)")
	pf.StringVar(&g.Env, "env", "", "environment name from the config file (default: default_env)")
	pf.StringVar(&g.Profile, "profile", "", "AWS profile (overrides the environment's)")
	pf.StringVar(&g.Region, "region", "", "AWS region (overrides the environment's)")
	pf.StringVar(&g.EndpointURL, "endpoint-url", "", "endpoint URL for every AWS service (LocalStack, the demo stack)")
	pf.BoolVar(&g.ReadOnly, "read-only", false, "refuse every write (redrive, copy, put)")
	pf.BoolVar(&g.NoColor, "no-color", false, "no colour in output (NO_COLOR is honoured too)")
	pf.BoolVar(&g.Debug, "debug", false, "log every AWS and gateway request (method, URL, status, duration, attempt) to stderr; secrets are redacted, bodies never logged")
	showVersion := root.Flags().Bool("version", false, "print the version, as stowage version does")

	_ = root.RegisterFlagCompletionFunc("env", func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
		return g.envNames(), cobra.ShellCompDirectiveNoFileComp
	})

	root.SetIn(g.Stdin)
	root.SetOut(g.Stdout)
	root.SetErr(g.Stderr)
	// cobra's own messages ("unknown flag: --bogus") say what is wrong but not what to do.
	root.SetFlagErrorFunc(func(cmd *cobra.Command, err error) error {
		return usageError(cmd, err)
	})

	root.RunE = func(cmd *cobra.Command, args []string) error {
		if len(args) > 0 {
			return exitf(ExitUsage, "unknown command %q: see stowage --help", args[0])
		}
		if *showVersion {
			return printVersion(cmd)
		}
		return g.runTUI(cmd.Context())
	}
	root.Args = cobra.ArbitraryArgs

	for _, add := range []func(*Globals) *cobra.Command{
		newAuditCmd, newCompletionCmd, newConfigCmd, newDemoCmd, newDoctorCmd, newLostCmd,
		newLsCmd, newRedriveCmd, newShowCmd, newStatusCmd, newVersionCmd,
		newErrorsCmd, newStatsCmd, newTailCmd, newTraceCmd, newJobsCmd,
	} {
		root.AddCommand(add(g))
	}
	withUsageHints(root)
	return root
}

// withUsageHints makes the argument checks of every command below c (cobra.NoArgs and
// friends, which say only "unknown command" or "accepts 1 arg(s)") point at the
// command's help, as a usage error.
func withUsageHints(c *cobra.Command) {
	for _, sub := range c.Commands() {
		if check := sub.Args; check != nil {
			sub.Args = func(cmd *cobra.Command, args []string) error {
				if err := check(cmd, args); err != nil {
					return usageError(cmd, err)
				}
				return nil
			}
		}
		withUsageHints(sub)
	}
}

// usageError turns an error about how cmd was called into an ExitUsage error that says
// where the usage is explained. An *ExitError (already worded) passes through.
func usageError(cmd *cobra.Command, err error) error {
	var ee *ExitError
	if errors.As(err, &ee) {
		return err
	}
	return exitf(ExitUsage, "%s; see %s --help", sanitize.Line(err.Error()), cmd.CommandPath())
}

// envNames lists the environments of the config file, for completing --env; nothing when
// the file cannot be read.
func (g *Globals) envNames() []string {
	path, err := g.configPath()
	if err != nil {
		return nil
	}
	f, err := config.Load(path)
	if err != nil {
		return nil
	}
	return f.Names()
}

// Run executes stowage with args and returns the process exit code.
func Run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	return run(ctx, &Globals{Stdin: stdin, Stdout: stdout, Stderr: stderr}, args)
}

// run is Run on g, whose seams a test may have set.
func run(ctx context.Context, g *Globals, args []string) int {
	stderr := g.Stderr
	g.errW = &lockedWriter{w: g.Stderr}
	root := NewRoot(g)
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return ExitOK
	}
	code := ExitUsage
	var ee *ExitError
	if errors.As(err, &ee) {
		code = ee.Code
	} else if errors.Is(err, context.Canceled) {
		code = ExitCancelled
	}
	fmt.Fprintln(stderr, "stowage:", err)
	return code
}

// Main is called by cmd/stowage.
func Main() {
	ctx, stop := signalContext()
	defer stop()
	os.Exit(Run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}
