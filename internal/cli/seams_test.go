package cli

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/stowage-cli/stowage/awsclient"
	"github.com/stowage-cli/stowage/internal/inventory"
)

// The clock and the terminal belong to one run's Globals: runs side by side, each with its
// own, measure ages and draw tables each by its own.
func TestSeamsBelongToOneRun(t *testing.T) {
	t.Parallel()
	stored := demoNow.Add(-time.Hour)
	rows := []inventory.Row{{Object: awsclient.Object{Key: "k", RequestID: "k", Size: 1, LastModified: stored}}}
	for _, c := range []struct {
		name  string
		later time.Duration
		width int
		age   string
	}{
		{"an hour on", 0, 80, "1h0m"},
		{"a day on", 23 * time.Hour, 120, "1d0h"},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			var out bytes.Buffer
			g := &Globals{seams: seams{}.onTerminal(c.width, &out).at(demoNow.Add(c.later))}
			if err := g.newRowWriter(outputTable, &out, nil, 15*time.Minute).Write(rows); err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(out.String(), c.age) || !strings.Contains(out.String(), "\x1b[") {
				t.Errorf("want a coloured table with age %s:\n%q", c.age, out.String())
			}
		})
	}
}
