package config

import (
	"strconv"
	"strings"
	"time"
)

// Logs names the CloudWatch Logs groups that stowage trace reads. Owned by the trace
// work (#16).
//
//	logs:
//	  processor_groups: [/aws/lambda/product-ingest]   # one or more
//	  access_log_group: /aws/apigateway/acme/access     # optional
//	  execution_log_group: API-Gateway-Execution-Logs_abc123/prod  # optional
//	  window_before: 1m    # read from this long before each arrival or redrive
//	  window_after: 15m    # to this long after it
//	  max_bytes: 8388608   # stop reading one request's lines past this many bytes
type Logs struct {
	// ProcessorGroups are the processor's log groups (a Lambda's /aws/lambda/NAME).
	ProcessorGroups []string `yaml:"processor_groups,omitempty"`
	// AccessLogGroup is the API Gateway stage's access-log group; ExecutionLogGroup its
	// execution-log group (API-Gateway-Execution-Logs_{rest-api-id}/{stage}).
	AccessLogGroup    string `yaml:"access_log_group,omitempty"`
	ExecutionLogGroup string `yaml:"execution_log_group,omitempty"`
	// WindowBefore and WindowAfter are the time window read around each event.
	WindowBefore Duration `yaml:"window_before,omitempty"`
	WindowAfter  Duration `yaml:"window_after,omitempty"`
	// MaxBytes caps the log bytes read for one request.
	MaxBytes int64 `yaml:"max_bytes,omitempty"`
}

// Defaults and bounds of the logs section.
const (
	DefaultLogsWindowBefore = time.Minute
	DefaultLogsWindowAfter  = 15 * time.Minute
	MaxLogsWindowBefore     = 24 * time.Hour
	MaxLogsWindowAfter      = 7 * 24 * time.Hour
	DefaultLogsMaxBytes     = 8 << 20
	MinLogsMaxBytes         = 64 << 10
	MaxLogsMaxBytes         = 1 << 30
)

// Configured reports whether trace has any log group to read.
func (l Logs) Configured() bool {
	return len(l.ProcessorGroups) > 0 || l.AccessLogGroup != "" || l.ExecutionLogGroup != ""
}

// Groups lists every configured group once, processor groups first.
func (l Logs) Groups() []string {
	var out []string
	seen := map[string]bool{}
	for _, g := range append(append([]string(nil), l.ProcessorGroups...), l.AccessLogGroup, l.ExecutionLogGroup) {
		if g != "" && !seen[g] {
			seen[g] = true
			out = append(out, g)
		}
	}
	return out
}

// logGroupRe is CloudWatch Logs' rule for a log group name.
var logGroupRe = boundedLast(`^([\.\-_/#A-Za-z0-9]+)$`, 1, 512)

// checkLogGroup says what is wrong with a log group name, or "".
func checkLogGroup(g string) string {
	switch {
	case strings.HasPrefix(g, "arn:"):
		return quote(g) + " is an ARN; give the log group's name (the part after log-group:), e.g. /aws/lambda/product-ingest"
	case strings.TrimSpace(g) == "":
		return "empty log group name"
	case !logGroupRe.MatchString(g):
		return quote(g) + " is not a log group name; expected 1-512 letters, digits and . - _ / #, e.g. /aws/lambda/product-ingest"
	}
	return ""
}

// checkLogs validates the logs section.
func checkLogs(e *Env, errf, warnf problemf) {
	l := e.Logs
	seen := map[string]string{}
	group := func(field, g string) {
		if msg := checkLogGroup(g); msg != "" {
			errf(field, "%s", msg)
			return
		}
		if other, ok := seen[g]; ok {
			warnf(field, "%s is also %s; it is read once", quote(g), other)
			return
		}
		seen[g] = field
	}
	for i, g := range l.ProcessorGroups {
		group(indexField("logs.processor_groups", i), g)
	}
	if l.AccessLogGroup != "" {
		group("logs.access_log_group", l.AccessLogGroup)
	}
	if l.ExecutionLogGroup != "" {
		group("logs.execution_log_group", l.ExecutionLogGroup)
	}
	if !l.Configured() {
		if l.WindowBefore.Duration != 0 || l.WindowAfter.Duration != 0 || l.MaxBytes != 0 {
			warnf("logs", "no log group is named, so trace reads no logs; add processor_groups, e.g. [/aws/lambda/product-ingest]")
		}
		return
	}
	if d := l.WindowBefore.Duration; d < 0 || d > MaxLogsWindowBefore {
		errf("logs.window_before", "%s is out of range; expected a duration from 0s to %s, e.g. %s (how long before an arrival or redrive to read the logs)",
			quote(FormatDuration(d)), FormatDuration(MaxLogsWindowBefore), FormatDuration(DefaultLogsWindowBefore))
	}
	if d := l.WindowAfter.Duration; d <= 0 || d > MaxLogsWindowAfter {
		errf("logs.window_after", "%s is out of range; expected a duration from 1s to %s, e.g. %s (how long after an arrival or redrive to read the logs)",
			quote(FormatDuration(d)), FormatDuration(MaxLogsWindowAfter), FormatDuration(DefaultLogsWindowAfter))
	}
	if n := l.MaxBytes; n < MinLogsMaxBytes || n > MaxLogsMaxBytes {
		errf("logs.max_bytes", "%d is out of range; expected bytes from %d (64 KiB) to %d (1 GiB), e.g. %d (8 MiB)",
			n, MinLogsMaxBytes, MaxLogsMaxBytes, DefaultLogsMaxBytes)
	}
}

// indexField is field[i].
func indexField(field string, i int) string { return field + "[" + strconv.Itoa(i) + "]" }

// defaultLogs fills the logs settings the file left empty, for a section that names a
// group (an environment without logs: stays without one).
func defaultLogs(e *Env, explicit func(field string) bool) {
	l := &e.Logs
	if !l.Configured() {
		return
	}
	if l.WindowBefore.Duration == 0 && !explicit("logs.window_before") {
		l.WindowBefore.Duration = DefaultLogsWindowBefore
	}
	if l.WindowAfter.Duration == 0 && !explicit("logs.window_after") {
		l.WindowAfter.Duration = DefaultLogsWindowAfter
	}
	if l.MaxBytes == 0 && !explicit("logs.max_bytes") {
		l.MaxBytes = DefaultLogsMaxBytes
	}
}
