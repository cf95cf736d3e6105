package cli

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	"github.com/charmbracelet/x/ansi"
	"github.com/charmbracelet/x/exp/golden"
)

// CLI tables at a fixed terminal width: every line fits, ERROR is cut with an ellipsis,
// the columns that matter least give way, and -o json keeps every value whole.
func TestTablesFitTheTerminal(t *testing.T) {
	d := startDemo(t)
	t.Setenv("NO_COLOR", "1")
	failed := ids(t, d.run(t, "", "ls", "--status", "FAILED", "--since", "24h").must(t, ExitOK).stdout)
	for _, width := range []int{80, 100, 140} {
		for _, c := range []struct {
			name string
			args []string
		}{
			{"LsFailed", []string{"ls", "--status", "FAILED", "--since", "24h"}},
			{"Lost", []string{"lost", "--limit", "5"}},
			{"Status", append([]string{"status"}, failed[:4]...)},
		} {
			t.Run(fmt.Sprintf("%s/%d", c.name, width), func(t *testing.T) {
				var out, errb bytes.Buffer
				r := d.onTerminal(width, &out).runTo(t, &out, &errb, "", c.args...).must(t, ExitOK)
				for _, line := range strings.Split(strings.TrimSuffix(r.stdout, "\n"), "\n") {
					if w := ansi.StringWidth(line); w > width {
						t.Fatalf("a line of %d cells on a %d-cell terminal: %q", w, width, line)
					}
				}
				golden.RequireEqual(t, r.stdout)
			})
		}
	}
	t.Run("JSONKeepsTheErrorWhole", func(t *testing.T) {
		var out, errb bytes.Buffer
		r := d.onTerminal(80, &out).runTo(t, &out, &errb, "", "ls", "--status", "FAILED", "--since", "24h", "-o", "json").must(t, ExitOK)
		for _, m := range jsonLines(t, r.stdout) {
			if e, _ := m["error"].(string); strings.HasSuffix(e, "…") {
				t.Fatalf("an error cut in JSON: %q", e)
			}
		}
	})
}
