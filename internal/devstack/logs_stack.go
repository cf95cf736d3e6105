package devstack

import (
	"sync"
	"time"

	"github.com/stowage-cli/stowage/internal/config"
)

// CloudWatch Logs of the stack (#16): the processor's and the gateway's log groups, served
// by the emulator in cwlogs.go.

// stackLogs holds each running stack's emulator (Stack has no field for it; see the
// trace report: the lead may add one).
var stackLogs sync.Map // *Stack -> *cwLogs

// logs is the stack's CloudWatch Logs emulator, made on first use.
func (s *Stack) logs() *cwLogs {
	if l, ok := stackLogs.Load(s); ok {
		return l.(*cwLogs)
	}
	l, _ := stackLogs.LoadOrStore(s, newCWLogs(s.Region, ProcessorLogGroup, AccessLogGroup))
	return l.(*cwLogs)
}

// logServices are the CloudWatch Logs server.
func (s *Stack) logServices() []auxService {
	l := s.logs()
	s.onClose = append(s.onClose, func() { stackLogs.Delete(s) })
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
