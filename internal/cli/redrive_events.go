package cli

import "github.com/spf13/pflag"

// The event redrive modes' flags (sqs, lambda, eventbridge; #18).

// eventFlags are the flags only the event modes use.
type eventFlags struct{}

// addEventFlags registers the event modes' flags on redrive.
func addEventFlags(fl *pflag.FlagSet, f *eventFlags) {}

// checkEventFlags validates them before anything is read or sent.
func (r *redriveRun) checkEventFlags(fl *pflag.FlagSet) error { return nil }
