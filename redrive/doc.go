// Package redrive sends stored requests through the pipeline again, one or thousands,
// safely: it plans a frozen manifest, runs it under a rate limit and a concurrency cap
// with retries and a circuit breaker, journals every step to an fsynced append-only file
// so a run can be resumed after a crash, and reports and audits what it did.
//
// The lifecycle is Plan → (the caller confirms) → Start or ResumeSession → Finish. A
// Session owns the audit trail (the started entry before anything is sent, the report
// beside the journal, the final entry), so the CLI and the TUI record the same things;
// its Run gives progress as Progress snapshots and takes SetRate, SetConcurrency, Cancel
// and Abort while it runs.
//
// Each item goes through one state machine (item_machine.go): start → settle (a resumed
// item that may have been sent) → check the status against the planned snapshot (read in
// batches ahead of the dispatcher, never older than RecheckAfterWait when used) → take a
// rate token → claim it in the lease table (beside the pinned GET of the stored object) →
// take a concurrency slot → journal "sending", send once, journal the outcome → back off
// and try again, or end. After a run, WaitVerdicts (verdict.go) reads what the processor
// made of each delivered request.
//
// A run consumes small interfaces declared here (Sender, ObjectSource, StatusChecker,
// StatusBatchReader, Claimer), which awsclient satisfies and tests fake; planning reads through
// internal/inventory, so that a selection means what it means for stowage ls. PlanDepsFor,
// DepsFor, PlanOptionsFor and OptionsFor build everything from an environment's clients.
// It must not import tui or the CLI.
package redrive
