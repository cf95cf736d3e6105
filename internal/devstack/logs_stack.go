package devstack

import (
	"time"

	"github.com/stowage-cli/stowage/internal/config"
)

// CloudWatch Logs of the stack (#16): the processor's and the gateway's log groups, served
// by the emulator in cwlogs.go.

// logs is the stack's CloudWatch Logs emulator, made by Start (auxServices) before any
// other goroutine can ask for it.
func (s *Stack) logs() *cwLogs {
	if s.cwl == nil {
		s.cwl = newCWLogs(s.Region, ProcessorLogGroup, AccessLogGroup)
	}
	return s.cwl
}

// logServices are the CloudWatch Logs server.
func (s *Stack) logServices() []auxService {
	l := s.logs()
	return []auxService{{name: "logs", url: &s.LogsURL, handler: l}}
}

// logSink is where the processor and the gateway write their log lines. Start calls it
// once the gateway exists: the gateway's access lines then follow the stack's clock.
func (s *Stack) logSink() logSink {
	if s.gw != nil && s.clock != nil {
		s.gw.now = s.clock.Now
	}
	return s.logs()
}

// configLogs adds the log groups to the demo environment.
func (s *Stack) configLogs(env *config.Env) {
	if s.LogsURL == "" {
		return
	}
	env.Endpoints.Logs = s.LogsURL
	env.Logs = config.Logs{ProcessorGroups: []string{ProcessorLogGroup}, AccessLogGroup: AccessLogGroup}
}

// PutLog writes a log line as the processor or the gateway would (tests, demos).
func (s *Stack) PutLog(group string, at time.Time, message string) { s.logs().put(group, at, message) }

// SetLogsFaults makes the CloudWatch Logs endpoint misbehave.
func (s *Stack) SetLogsFaults(f LogsFaults) { s.logs().setFaults(f) }

// LogsCalls is how many calls of op ("FilterLogEvents", "StartQuery", ...) the CloudWatch
// Logs endpoint answered.
func (s *Stack) LogsCalls(op string) int { return s.logs().callCount(op) }
