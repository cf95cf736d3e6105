package config

// The triage settings: failure classes (status.permanent_errors, status.transient_errors)
// and the TUI's auto-refresh (refresh, read_budget). Owned by the triage work (#14).

// problemf reports a problem with a field of an environment (field relative to it).
type problemf func(field, format string, args ...any)

// checkTriage validates status.permanent_errors, status.transient_errors, refresh and
// read_budget.
func checkTriage(e *Env, errf, warnf problemf) {}

// defaultTriage fills the triage settings the file left empty.
func defaultTriage(e *Env, explicit func(field string) bool) {}
