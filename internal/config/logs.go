package config

// Logs names the CloudWatch Logs groups that stowage trace reads. Owned by the trace
// work (#16).
type Logs struct {
}

// Configured reports whether trace has any log group to read.
func (l Logs) Configured() bool { return false }

// checkLogs validates the logs section.
func checkLogs(e *Env, errf, warnf problemf) {}

// defaultLogs fills the logs settings the file left empty.
func defaultLogs(e *Env, explicit func(field string) bool) {}
