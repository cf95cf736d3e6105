package tui

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stowage-cli/stowage/internal/devstack"
)

// liveStack is a small devstack whose clock moves (from testNow on), so a failure
// injected while the TUI runs is newer than what it has seen.
func liveStack(t *testing.T) (*devstack.Stack, Session, func() time.Time) {
	t.Helper()
	if testing.Short() {
		t.Skip("devstack flows are not short")
	}
	start := time.Now()
	now := func() time.Time { return testNow.Add(time.Since(start)) }
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	st, err := devstack.Start(ctx, devstack.Options{Seed: 11, Requests: 200, Now: now})
	if err != nil {
		t.Fatalf("devstack: %v", err)
	}
	t.Cleanup(func() { st.Close() })
	if err := st.Settle(ctx); err != nil {
		t.Fatalf("settle: %v", err)
	}
	env := st.Config().Environments[devstack.EnvName]
	env.Name = devstack.EnvName
	env.ApplyDefaults()
	return st, openSession(t, st, env), now
}

// TestLiveRefreshShowsInjectedFailure: with auto-refresh on, a failure injected into the
// running devstack appears at the top of the table, marked, without a key pressed.
func TestLiveRefreshShowsInjectedFailure(t *testing.T) {
	st, sess, now := liveStack(t)
	fl := startFlow(t, sess, func(o *Options) { o.Now = now; o.Refresh = 100 * time.Millisecond })
	fl.waitFor("the listing", func(p string) bool { return strings.Contains(p, " listed") && !strings.Contains(p, "paging") })
	fl.waitText("auto 100ms")
	var id string
	for _, r := range st.Seeded() {
		if s, ok := st.Status(r.Key); ok && s.State == "PROCESSED" {
			id = r.Key
			break
		}
	}
	if id == "" {
		t.Fatal("no PROCESSED request to fail")
	}
	if err := st.InjectFailure(id, "upstream timeout calling inventory-service after 3000ms"); err != nil {
		t.Fatal(err)
	}
	fl.waitFor("the injected failure at the top, marked", func(p string) bool {
		lines := strings.Split(p, "\n")
		first := lines[3] // under the header's two lines and the column titles
		return strings.Contains(first, id[:min(len(id), 20)]) && strings.Contains(first, "●") && strings.Contains(first, "FAILED") &&
			strings.Contains(p, "1 new failure")
	})
}

// TestClassRedriveOnDevstack: E shows the seeded week's classes; a transient class is
// selected and redriven, and its requests turn PROCESSED.
func TestClassRedriveOnDevstack(t *testing.T) {
	_, sess, now := liveStack(t)
	fl := startFlow(t, sess, func(o *Options) { o.Now = now; o.Refresh = -1 })
	fl.waitFor("the listing", func(p string) bool { return strings.Contains(p, " listed") && !strings.Contains(p, "paging") })
	fl.key("E")
	fl.waitFor("the classes", func(p string) bool {
		return strings.Contains(p, "Failure classes") && strings.Contains(p, "transient") && !strings.Contains(p, "reading the failures")
	})
	// Move to the first transient class.
	for range 20 {
		if strings.HasPrefix(strings.TrimSpace(lineWith(fl.plain(), "▸")), "▸") && strings.Contains(lineWith(fl.plain(), "▸"), "transient") {
			break
		}
		fl.key("down")
		time.Sleep(30 * time.Millisecond)
	}
	if !strings.Contains(lineWith(fl.plain(), "▸"), "transient") {
		t.Fatalf("no transient class:\n%s", fl.plain())
	}
	fl.key("space")
	fl.waitText("of the class")
	fl.key("R")
	fl.waitText("Send ")
	if strings.Contains(fl.plain(), "failed with a permanent error") {
		t.Fatalf("a transient class's plan warns of permanent errors:\n%s", fl.plain())
	}
	fl.key("y")
	fl.waitText("Redrive finished")
	fl.waitFor("the verdicts", func(p string) bool { return strings.Contains(p, "PROCESSED") && strings.Contains(p, "0 FAILED again") })
}
