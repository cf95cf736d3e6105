package cli

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stowage-cli/stowage/internal/config"
	"github.com/stowage-cli/stowage/internal/devstack"
)

// A redrive in place stores the body again, so S3's LastModified becomes the redrive's
// time. RECEIVED (receivedAt) stays the original arrival, the row says it was redriven,
// and --since filters on the arrival: a request received hours ago is not "since 1h"
// because it was redriven a minute ago.
func TestInplaceRedriveKeepsReceivedAt(t *testing.T) {
	clock := demoNow
	d, state := redriveDemo(t, func(o *devstack.Options) { o.Now = func() time.Time { return clock } })
	// The oldest transient failure of the last day.
	var id string
	var arrived time.Time
	for _, m := range jsonLines(t, d.run(t, "", "ls", "--status", "FAILED", "--since", "24h", "-o", "json").must(t, ExitOK).stdout) {
		e, _ := m["error"].(string)
		lm, _ := time.Parse(time.RFC3339, m["lastModified"].(string))
		if (strings.Contains(e, "timeout") || strings.Contains(e, "throttled")) && demoNow.Sub(lm) > 2*time.Hour {
			id, arrived = m["id"].(string), lm
			break
		}
	}
	if id == "" {
		t.Fatal("no transient failure older than 2h in the demo")
	}
	clock = demoNow.Add(time.Minute) // the redrive happens a minute after the listing
	d.seams = d.seams.at(clock.Add(30 * time.Second))
	d.run(t, "", "redrive", "--yes", "--rate", "0", "-o", "json", id).must(t, ExitOK)
	if err := d.stack.Settle(t.Context()); err != nil {
		t.Fatal(err)
	}
	journals, _ := filepath.Glob(filepath.Join(state, "redrives", "*.journal.jsonl"))
	if len(journals) != 1 {
		t.Fatalf("journals %v", journals)
	}

	row := func(args ...string) map[string]any {
		t.Helper()
		for _, m := range jsonLines(t, d.run(t, "", args...).stdout) {
			if m["id"] == id {
				return m
			}
		}
		return nil
	}
	m := row("status", id, "-o", "json")
	if m == nil {
		t.Fatal("status lost the request")
	}
	lm, _ := time.Parse(time.RFC3339, m["lastModified"].(string))
	if !lm.After(arrived) {
		t.Fatalf("the redrive did not store the object again (lastModified %v, arrived %v): the test proves nothing", lm, arrived)
	}
	if m["receivedAt"] != arrived.Format(time.RFC3339) {
		t.Fatalf("status: receivedAt %v, want the original arrival %v (lastModified %v)", m["receivedAt"], arrived.Format(time.RFC3339), lm)
	}
	if m := row("ls", "-o", "json"); m == nil || m["receivedAt"] != arrived.Format(time.RFC3339) {
		t.Fatalf("ls: %v, want receivedAt %v", m, arrived.Format(time.RFC3339))
	}
	// --since filters on the arrival.
	recent := ids(t, d.run(t, "", "ls", "--since", "1h", "-o", "json").stdout)
	if slices.Contains(recent, id) {
		t.Fatalf("ls --since 1h lists %s, received %v ago, because it was redriven", id, demoNow.Sub(arrived))
	}
	// The table shows the arrival's age and says it was redriven.
	tbl := d.run(t, "", "status", id, "-o", "table").must(t, ExitOK).stdout
	if !strings.Contains(tbl, arrived.UTC().Format("2006-01-02 15:04:05Z")) || !strings.Contains(tbl, "redriven ") {
		t.Fatalf("table:\n%s", tbl)
	}

	// The TUI gets the same history, read before it starts (View does no I/O).
	file, err := config.Load(d.config)
	if err != nil {
		t.Fatal(err)
	}
	env, err := file.Select("demo", config.Overrides{})
	if err != nil {
		t.Fatal(err)
	}
	a := tuiArrivals(env)
	if _, sent, ok := a.History.Redrives(m["key"].(string)); a.Versions != nil || !ok || sent.IsZero() {
		t.Fatalf("tuiArrivals: history %v %v, versions %v", ok, sent, a.Versions)
	}

	// Without the history (another machine), the status attribute is the next source.
	if err := os.RemoveAll(filepath.Join(state, "redrives")); err != nil {
		t.Fatal(err)
	}
	if m := row("status", id, "-o", "json"); m["receivedAt"] != m["lastModified"] {
		t.Fatalf("without history or a received attribute, receivedAt is lastModified: %v", m)
	}
}
