package cli

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/stowage-cli/stowage/awsclient"
	"github.com/stowage-cli/stowage/internal/config"
	"github.com/stowage-cli/stowage/internal/inventory"
)

// The CLI says what a state means as the TUI does, through inventory.Classify: a state in
// status.terminal_states is done, a failure word (PARSE_ERROR, DEAD_LETTERED) is failed,
// whatever the processor calls it.
func TestCLIClassifiesAsInventory(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 3, 2, 9, 30, 0, 0, time.UTC)
	env := &config.Env{Status: config.Status{TerminalStates: []string{"COMPLETE"}}}
	row := func(id, state string, age time.Duration) inventory.Row {
		r := inventory.Row{Object: awsclient.Object{Key: id, RequestID: id, LastModified: now.Add(-age), Size: 1}}
		if state != "" {
			r.Status = &awsclient.Status{RequestID: id, State: state}
		}
		return r
	}
	rows := []inventory.Row{
		row("done", "COMPLETE", time.Minute),
		row("young", "", time.Minute),
		row("working", "PROCESSING", 2*time.Minute),
		row("lost", "", time.Hour),
		row("parse", "PARSE_ERROR", 3*time.Minute),
		row("dead", "DEAD_LETTERED", 4*time.Minute),
	}

	t.Run("SortStatusWorstFirst", func(t *testing.T) {
		t.Parallel()
		sorted := append([]inventory.Row(nil), rows...)
		sortRows(sorted, "status", env, 15*time.Minute, now)
		var got []string
		for _, r := range sorted {
			got = append(got, r.ID())
		}
		want := "parse dead lost working young done"
		if strings.Join(got, " ") != want {
			t.Fatalf("--sort status: %v, want %s", got, want)
		}
	})
	t.Run("Colours", func(t *testing.T) {
		t.Parallel()
		var buf bytes.Buffer
		g := &Globals{seams: seams{}.onTerminal(200, &buf).at(now)}
		w := g.newRowWriter(outputTable, &buf, env, 15*time.Minute)
		if err := w.Write(rows); err != nil {
			t.Fatal(err)
		}
		const red, green, yellow = "\x1b[31m", "\x1b[32m", "\x1b[33m"
		want := map[string]string{"done": green, "young": yellow, "working": yellow, "lost": red, "parse": red, "dead": red}
		for _, line := range strings.Split(strings.TrimSpace(buf.String()), "\n")[1:] {
			id := strings.Fields(line)[len(strings.Fields(line))-1]
			if !strings.Contains(line, want[id]) {
				t.Errorf("%s is not drawn in %q: %q", id, want[id], line)
			}
		}
	})
}
