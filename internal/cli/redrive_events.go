package cli

import (
	"github.com/spf13/pflag"

	"github.com/stowage-cli/stowage/internal/config"
	"github.com/stowage-cli/stowage/internal/sanitize"
	"github.com/stowage-cli/stowage/redrive"
)

// The event redrive modes' flags (sqs, lambda, eventbridge; #18).

// eventFlags are the flags only the event modes use.
type eventFlags struct {
	qualifier string
}

// addEventFlags registers the event modes' flags on redrive.
func addEventFlags(fl *pflag.FlagSet, f *eventFlags) {
	fl.StringVar(&f.qualifier, "qualifier", "", "with --mode lambda: the alias or version to invoke (default: events.lambda_qualifier, else unqualified)")
}

// checkEventFlags validates them before anything is read or sent.
func (r *redriveRun) checkEventFlags(fl *pflag.FlagSet) error {
	if !fl.Changed("qualifier") {
		return nil
	}
	if r.f.resume != "" {
		return exitf(ExitUsage, "--resume continues a planned run: --qualifier cannot change it (start a new run instead)")
	}
	if r.mode != redrive.ModeLambda {
		return exitf(ExitUsage, "--qualifier picks the function's alias or version: it goes with --mode lambda")
	}
	if msg := config.CheckQualifier(r.f.events.qualifier); msg != "" {
		return exitf(ExitUsage, "--qualifier: %s", sanitize.Line(msg))
	}
	return nil
}

// applyEventFlags applies --qualifier to the event target PlanOptionsFor named.
func (r *redriveRun) applyEventFlags(opts *redrive.PlanOptions) error {
	if opts.Event == nil || r.f.events.qualifier == "" {
		return nil
	}
	spec, err := redrive.EventSpecFor(r.env, r.mode, r.f.events.qualifier)
	if err != nil {
		return exitf(ExitUsage, "%s", sanitize.Line(err.Error()))
	}
	opts.Event = spec
	return nil
}
