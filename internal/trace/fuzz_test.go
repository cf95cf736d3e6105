package trace

import (
	"strings"
	"testing"

	"github.com/charmbracelet/x/ansi"

	"github.com/stowage-cli/stowage/internal/sanitize"
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
		tl := Build(in)
		for _, e := range tl.Entries {
			if !sanitize.IsClean(e.Summary) || strings.ContainsAny(e.Summary, "\n\r") {
				t.Fatalf("summary %q", e.Summary)
			}
			row := ansi.Strip(Line(e, 80, Painter{}))
			if !sanitize.IsClean(row) {
				t.Fatalf("row %q", row)
			}
			if e.Message != "" {
				for _, l := range Highlight(nil, e) {
					if !sanitize.IsClean(l) {
						t.Fatalf("opened %q", l)
					}
				}
			}
		}
	})
}
