package config

import (
	"strings"
	"testing"
	"time"
)

func TestLogsDefaultsOnlyWhenAGroupIsNamed(t *testing.T) {
	f := mustParse(t, minimal)
	if l := f.Environments["prod"].Logs; l.Configured() || l.WindowAfter.Duration != 0 || l.MaxBytes != 0 {
		t.Errorf("an environment without logs: got %+v", l)
	}
	f = mustParse(t, minimal+"    logs:\n      processor_groups: [/aws/lambda/product-ingest]\n")
	l := f.Environments["prod"].Logs
	if !l.Configured() || l.WindowBefore.Duration != time.Minute || l.WindowAfter.Duration != 15*time.Minute || l.MaxBytes != DefaultLogsMaxBytes {
		t.Errorf("defaults: got %+v", l)
	}
	if ps := f.Validate(); len(ps) != 0 {
		t.Errorf("problems: %v", ps)
	}
}

func TestLogsGroupsListsEachOnce(t *testing.T) {
	l := Logs{ProcessorGroups: []string{"/a", "/b", "/a"}, AccessLogGroup: "/c", ExecutionLogGroup: "/b"}
	if got := strings.Join(l.Groups(), ","); got != "/a,/b,/c" {
		t.Errorf("Groups = %s", got)
	}
}

func TestValidateLogs(t *testing.T) {
	cases := []struct {
		name    string
		mutate  func(l *Logs)
		field   string
		msg     string
		warning bool
	}{
		{"ARN", func(l *Logs) { l.ProcessorGroups = []string{"arn:aws:logs:eu-west-1:1:log-group:/x"} }, "logs.processor_groups[0]", "give the log group's name", false},
		{"bad name", func(l *Logs) { l.ProcessorGroups = []string{"/ok", "a b"} }, "logs.processor_groups[1]", "is not a log group name", false},
		{"empty name", func(l *Logs) { l.ProcessorGroups = []string{""} }, "logs.processor_groups[0]", "empty log group name", false},
		{"duplicate", func(l *Logs) { l.AccessLogGroup = "/aws/lambda/p" }, "logs.access_log_group", "is also logs.processor_groups[0]", true},
		{"negative before", func(l *Logs) { l.WindowBefore.Duration = -time.Second }, "logs.window_before", "out of range", false},
		{"zero after", func(l *Logs) { l.WindowAfter.Duration = 0 }, "logs.window_after", "expected a duration from 1s to 168h", false},
		{"too many bytes", func(l *Logs) { l.MaxBytes = 2 << 30 }, "logs.max_bytes", "out of range", false},
		{"window without group", func(l *Logs) { l.ProcessorGroups = nil }, "logs", "no log group is named", true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := validFile(t)
			e := f.Environments["prod"]
			e.Logs = Logs{ProcessorGroups: []string{"/aws/lambda/p"}, WindowBefore: Duration{time.Minute},
				WindowAfter: Duration{15 * time.Minute}, MaxBytes: DefaultLogsMaxBytes}
			c.mutate(&e.Logs)
			ps := f.Validate()
			for _, p := range ps {
				if p.Field == "environments.prod."+c.field && strings.Contains(p.Message, c.msg) {
					if p.Warning != c.warning {
						t.Errorf("Warning = %v: %s", p.Warning, p)
					}
					return
				}
			}
			t.Errorf("no problem for %s containing %q; got:\n%s", c.field, c.msg, (&Error{Problems: ps}).Error())
		})
	}
}
