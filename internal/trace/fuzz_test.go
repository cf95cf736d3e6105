package trace_test

import (
	"strings"
	"testing"
	"time"

	"github.com/charmbracelet/x/ansi"

	"github.com/stowage-cli/stowage/internal/sanitize"
	"github.com/stowage-cli/stowage/internal/trace"
)

// FuzzLogLine: any log line from CloudWatch becomes a clean one-line summary, a clean
// row and clean lines when opened whole.
func FuzzLogLine(f *testing.F) {
	for _, s := range []string{
		`{"level":"ERROR","requestId":"x","errorType":"parse","message":"bad"}`,
		`{"httpMethod":"PUT","resourcePath":"/product","status":"502","requestId":"g"}`,
		"START RequestId: u Version: $LATEST", "REPORT RequestId: u\tDuration: 1 ms", "\x1b[31mred\x1b[0m\nsecond",
		`{"message":"\u202e\u0007"}`, `{"level":5,"message":{"nested":true}}`, "",
	} {
		f.Add(s, true)
	}
	f.Fuzz(func(t *testing.T, msg string, gateway bool) {
		in := lost()
		g := group
		if gateway {
			g = access
		}
		in.Logs.Events = append(in.Logs.Events, ev(g, arrived, msg))
		tl := trace.Build(in)
		for _, e := range tl.Entries {
			if !sanitize.IsClean(e.Summary) || strings.ContainsAny(e.Summary, "\n\r") {
				t.Fatalf("summary %q", e.Summary)
			}
			row := ansi.Strip(trace.Line(e, 80, trace.Painter{}))
			if !sanitize.IsClean(row) {
				t.Fatalf("row %q", row)
			}
			if e.Message != "" {
				for _, l := range trace.Highlight(nil, e) {
					if !sanitize.IsClean(l) {
						t.Fatalf("opened %q", l)
					}
				}
			}
		}
	})
}

// FuzzInvocationLine: any line of a Lambda invocation names a UUID or nothing, and the
// invocation's entry (its platform lines joined) is a clean row that opens clean.
func FuzzInvocationLine(f *testing.F) {
	const l = "6f1d2b7a-93c4-4e1e-8d2f-5b1a9c3e7f00"
	for _, s := range []string{
		"REPORT RequestId: " + l + "\tDuration: 1.00 ms\tMemory Size: 512 MB\tMax Memory Used: 87 MB\tStatus: timeout",
		"REPORT RequestId: " + l + "\tDuration: \x1b[31m9\u202e ms", "END RequestId: " + l,
		`{"time":"t","type":"platform.report","record":{"requestId":"` + l + `","metrics":{"durationMs":1e308,"maxMemoryUsedMB":-1},"status":"error","errorType":"\u0007"}}`,
		"2026-03-02T09:14:07.160Z\t" + l + "\tINFO\tx", "START RequestId: ", "",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, msg string) {
		if inv := trace.InvocationOf(msg); inv != "" && len(inv) != 36 {
			t.Fatalf("InvocationOf(%q) = %q", msg, inv)
		}
		in := lost()
		in.Logs.Events = append(in.Logs.Events, ev(group, arrived, "START RequestId: "+l+" Version: $LATEST"), ev(group, arrived.Add(time.Millisecond), msg))
		for _, e := range trace.Build(in).Entries {
			if !sanitize.IsClean(e.Summary) || strings.ContainsAny(e.Summary, "\n\r") {
				t.Fatalf("summary %q", e.Summary)
			}
			if l := trace.HighlightLine(nil, e, 80); !sanitize.IsClean(l) || strings.ContainsAny(l, "\n\r") {
				t.Fatalf("row %q", l)
			}
			for _, l := range trace.Highlight(nil, e) {
				if !sanitize.IsClean(l) {
					t.Fatalf("opened %q", l)
				}
			}
		}
	})
}
