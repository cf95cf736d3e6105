package cli

import (
	"bytes"
	"strings"
	"sync"
	"testing"

	"github.com/charmbracelet/x/ansi"
	"github.com/charmbracelet/x/exp/golden"

	"github.com/stowage-cli/stowage/internal/devstack"
)

// triageDemo is one small seeded devstack (300 requests) shared by the triage command
// tests: they only read, except where a test says so.
var (
	triageOnce sync.Once
	triageD    *demo
)

func smallDemo(t *testing.T) *demo {
	t.Helper()
	return startDemo(t, func(o *devstack.Options) { o.Requests = 300 })
}

func TestErrors(t *testing.T) {
	d := smallDemo(t)
	t.Run("Table", func(t *testing.T) {
		r := d.run(t, "", "errors", "-o", "table").must(t, ExitOK)
		if !strings.HasPrefix(r.stdout, "KIND ") || !strings.Contains(r.stdout, "failed requests in") {
			t.Fatalf("table:\n%s", r.stdout)
		}
		golden.RequireEqual(t, r.stdout)
	})
	t.Run("TableOnATerminalInColour", func(t *testing.T) {
		var out, errb bytes.Buffer
		r := d.onTerminal(120, &out).runTo(t, &out, &errb, "", "errors", "--since", "2d").must(t, ExitOK)
		for _, l := range strings.Split(strings.TrimSuffix(ansi.Strip(r.stdout), "\n"), "\n") {
			if ansi.StringWidth(l) > 120 {
				t.Fatalf("line wider than the terminal: %q", l)
			}
		}
		golden.RequireEqual(t, r.stdout)
		t.Run("Plain", func(t *testing.T) { golden.RequireEqual(t, ansi.Strip(r.stdout)) })
	})
	t.Run("JSON", func(t *testing.T) {
		r := d.run(t, "", "errors", "--since", "2d", "-o", "json").must(t, ExitOK)
		total := 0
		for _, m := range jsonLines(t, r.stdout) {
			for _, f := range []string{"class", "kind", "count", "share", "first", "last", "spark", "sampleId", "sample", "ids"} {
				if _, ok := m[f]; !ok {
					t.Fatalf("no %s in %v", f, m)
				}
			}
			n, _ := m["count"].(interface{ Int64() (int64, error) }).Int64()
			total += int(n)
		}
		rows := jsonLines(t, d.run(t, "", "ls", "--status", "FAILED", "-o", "json").must(t, ExitOK).stdout)
		failed2d := 0
		for _, m := range rows {
			if u, _ := m["updatedAt"].(string); u >= demoNow.Add(-48*3600e9).Format("2006-01-02T15:04:05Z") {
				failed2d++
			}
		}
		if total == 0 || total != failed2d {
			t.Fatalf("classes hold %d failures; ls --status FAILED has %d updated in 2d", total, failed2d)
		}
		golden.RequireEqual(t, r.stdout)
	})
	t.Run("BadWindow", func(t *testing.T) {
		r := d.run(t, "", "errors", "--since", "1h", "--until", "2h").must(t, ExitUsage)
		if !strings.Contains(r.stderr, "is not before --until") {
			t.Fatalf("stderr %q", r.stderr)
		}
	})
}
