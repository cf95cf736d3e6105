// Package redrive sends stored requests through the pipeline again, one or thousands,
// safely: it plans a frozen manifest, runs it under a rate limit and a concurrency cap
// with retries and a circuit breaker, journals every step to an fsynced append-only file
// so a run can be resumed after a crash, and reports and audits what it did.
//
// The lifecycle is Plan → (the caller confirms) → New/Resume → Start → Wait. A Run is
// driven the same way by the CLI and the TUI: progress comes as Progress snapshots, and
// SetRate, SetConcurrency and Cancel work while it runs.
//
// A run consumes three small interfaces declared here (Sender, ObjectSource,
// StatusChecker), which awsclient satisfies and tests fake; planning reads through
// internal/inventory, so that a selection means what it means for stowage ls. PlanDepsFor,
// DepsFor, PlanOptionsFor and OptionsFor build everything from an environment's clients.
// It must not import tui or the CLI.
package redrive
