package tui

import (
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stowage-cli/stowage/internal/devstack"
	"github.com/stowage-cli/stowage/redrive"
)

// deterministicRedrive fixes what a redrive would otherwise draw at random.
func deterministicRedrive(o *Options) {
	o.Redrive = RedriveOptions{
		Run:   redrive.Options{Rand: func() float64 { return 0.5 }, BackoffBase: 20 * time.Millisecond, BackoffMax: 100 * time.Millisecond},
		RunID: func() string { return "7e57e57e-0000-4000-8000-000000000001" },
		// The demo's processor answers within milliseconds.
		WatchInterval: 100 * time.Millisecond, WatchMaxInterval: 500 * time.Millisecond, WatchTimeout: time.Minute,
	}
}

var uuidRE = regexp.MustCompile(`[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}`)

// The "done when": in the demo, the FAILED requests are selected and redriven;
// the transient failures turn PROCESSED on screen; the journal, the report and the audit
// entry exist.
func TestDevstackRedriveFlow(t *testing.T) {
	state := stateHome(t)
	st, sess := demoStack(t)
	failed := map[string]bool{}
	for _, r := range st.Seeded() {
		if s, ok := st.Status(r.Key); ok && s.State == devstack.StateFailed {
			failed[r.Key] = true
		}
	}
	if len(failed) <= redrive.BulkThreshold {
		t.Fatalf("the seed has %d FAILED requests; the flow wants a bulk run", len(failed))
	}
	n := commas(len(failed))

	fl := startFlow(t, sess, deterministicRedrive)
	fl.waitFor("the listing", func(p string) bool { return strings.Contains(p, "listed") && !strings.Contains(p, "paging") })
	fl.key("f")
	fl.waitText("FAILED")
	fl.key("F")
	fl.waitFor("every FAILED request", func(p string) bool {
		return strings.Contains(p, "view FAILED "+n) && !strings.Contains(p, "reading FAILED")
	})
	fl.key("a")
	fl.waitText("✓ " + n + " selected")
	fl.key("R")
	fl.waitText("press enter and type the environment name (demo)")
	if got := len(st.Received().Requests); got != 0 {
		t.Fatalf("%d requests reached the gateway before confirmation", got)
	}
	fl.key("enter")
	fl.tm.Type("demo")
	fl.key("enter")
	fl.waitText("enter/esc close · the table keeps updating")
	// Delivered is not done: the summary waits for the processor's verdict, and the
	// devstack's processor fails the parse errors again, with the same error.
	fl.waitFor("the processor's verdict on every delivery", func(p string) bool {
		return strings.Contains(p, "processor  ") && strings.Contains(p, ", 0 no verdict yet")
	})
	summary := fl.plain()
	if !strings.Contains(summary, "Redrive finished") || !strings.Contains(summary, "requests: ") ||
		!regexp.MustCompile(`\d+ delivered → [1-9]\d* PROCESSED, [1-9]\d* FAILED again \(same error\)`).MatchString(summary) ||
		!strings.Contains(summary, "! ") {
		t.Fatalf("summary:\n%s", summary)
	}

	// Each FAILED request that was sent arrived once, with its idempotency headers.
	rec := st.Received()
	for _, r := range rec.Requests {
		if !failed[r.OriginalID] || r.RedriveID != "7e57e57e-0000-4000-8000-000000000001" {
			t.Errorf("unexpected gateway request %s %s (original %q, redrive %q)", r.Method, r.Path, r.OriginalID, r.RedriveID)
		}
	}
	for id, count := range rec.ByOriginalID {
		if count != 1 {
			t.Errorf("%s reached the gateway %d times", id, count)
		}
	}

	fl.key("esc")
	// The transient failures turn PROCESSED on screen as the watch reads them.
	fl.waitFor("the redriven transient failures PROCESSED on screen", func(p string) bool {
		processed := 0
		for _, line := range strings.Split(p, "\n") {
			// Table rows only: a row starts with the cursor and the selection mark.
			id := uuidRE.FindString(line)
			if !failed[id] || !strings.HasPrefix(strings.TrimLeft(line, " ▸✓"), id) {
				continue
			}
			now, _ := st.Status(id)
			if now.State != devstack.StateProcessed {
				continue // failed again: not transient
			}
			if !strings.Contains(line, "PROCESSED") || !strings.Contains(line, "↻") {
				return false
			}
			processed++
		}
		return processed > 0
	})

	journal := onlyFile(t, filepath.Join(state, "redrives", "*.journal.jsonl"))
	js, err := redrive.LoadJournal(journal)
	if err != nil || !js.Ended || len(js.Manifest.Items) != len(failed) {
		t.Fatalf("journal %s: %v", journal, err)
	}
	report := onlyFile(t, filepath.Join(state, "redrives", "*.report.jsonl"))
	entries := auditEntries(t, state)
	if len(entries) != 1 {
		t.Fatalf("audit: %+v", entries)
	}
	e := entries[0]
	if e.Who != "demo" || e.Env != "demo" || e.Count != len(failed) || e.Journal != journal || e.Report != report ||
		e.Counts.Delivered == 0 || e.Outcome == "" {
		t.Errorf("audit entry %+v", e)
	}
	if !strings.Contains(summary, journal[len(journal)-20:]) {
		t.Errorf("the summary does not show the journal path %s:\n%s", journal, summary)
	}
}

// Read-only: from the TUI, not one write request reaches the gateway, S3 or DynamoDB —
// whether the TUI refuses (read_only in the config) or the client layer does (a session
// whose clients were opened read-only, driven as if it could write).
func TestDevstackReadOnlySendsNoWrites(t *testing.T) {
	stateHome(t)
	st, _ := demoStack(t)
	before := st.Writes() // the devstack counts client writes per service
	env := *st.Config().Environments[devstack.EnvName]
	env.Name = devstack.EnvName
	env.ApplyDefaults()
	env.ReadOnly = true

	n := 0
	for _, r := range st.Seeded() {
		if s, ok := st.Status(r.Key); ok && s.State == devstack.StateFailed {
			n++
		}
	}
	selectFailed := func(fl *flow) {
		fl.waitFor("the listing", func(p string) bool { return strings.Contains(p, "listed") && !strings.Contains(p, "paging") })
		fl.key("f")
		fl.waitText("FAILED")
		fl.key("F")
		fl.waitFor("every FAILED request", func(p string) bool {
			return strings.Contains(p, "view FAILED "+commas(n)) && !strings.Contains(p, "reading FAILED")
		})
		fl.key("a")
		fl.waitText("✓ " + commas(n) + " selected")
	}

	t.Run("the TUI refuses", func(t *testing.T) {
		fl := startFlow(t, openSession(t, st, &env), deterministicRedrive)
		selectFailed(fl)
		fl.key("R")
		fl.waitText("Redrive refused: demo is read-only")
		for _, k := range []string{"y", "enter", "R", "y"} { // confirming keys do nothing; R refuses again
			fl.key(k)
		}
		fl.waitText("Redrive refused: demo is read-only")
		fl.quit()
	})

	t.Run("the client layer refuses", func(t *testing.T) {
		sess := openSession(t, st, &env) // clients opened read-only
		writable := env
		writable.ReadOnly = false
		sess.Env = &writable
		fl := startFlow(t, sess, deterministicRedrive, func(o *Options) { o.Redrive.Run.MaxFailureRatio = 1 })
		selectFailed(fl)
		fl.key("R")
		fl.waitText("press enter and type the environment name (demo)")
		fl.key("enter")
		fl.tm.Type("demo")
		fl.key("enter")
		fl.waitText("enter/esc close · the table keeps updating")
		if p := fl.plain(); !strings.Contains(p, "requests: "+commas(n)+" failed") || strings.Contains(p, "delivered") || !strings.Contains(p, "read-only") {
			t.Errorf("summary:\n%s", p)
		}
		fl.quit()
	})

	if w := st.Writes(); w != before {
		t.Errorf("write requests reached the stack: %+v, before %+v", w, before)
	}
	if n == 0 {
		t.Error("the stack has no FAILED request to redrive: the test proves nothing")
	}
	if got := st.Received(); len(got.Requests) != 0 {
		t.Errorf("the gateway received %d requests", len(got.Requests))
	}
}

// While a run sends (slowed to 0.5/s with -), the rows it has delivered show the status
// the processor wrote, read from the table; the progress steps aside with esc and the
// header keeps the count. Cancelled, the summary still gives the processor's verdict on
// what was sent.
func TestDevstackRedriveLiveRowsAndOutcome(t *testing.T) {
	stateHome(t)
	st, sess := demoStack(t)
	failed := map[string]bool{}
	for _, r := range st.Seeded() {
		if s, ok := st.Status(r.Key); ok && s.State == devstack.StateFailed {
			failed[r.Key] = true
		}
	}
	n := commas(len(failed))
	fl := startFlow(t, sess, deterministicRedrive)
	fl.waitFor("the listing", func(p string) bool { return strings.Contains(p, "listed") && !strings.Contains(p, "paging") })
	fl.key("f")
	fl.waitText("FAILED")
	fl.key("F")
	fl.waitFor("every FAILED request", func(p string) bool {
		return strings.Contains(p, "view FAILED "+n) && !strings.Contains(p, "reading FAILED")
	})
	fl.key("a")
	fl.waitText("✓ " + n + " selected")
	fl.key("R")
	fl.waitText("press enter and type the environment name (demo)")
	fl.key("enter")
	fl.tm.Type("demo")
	fl.key("enter")
	fl.waitText("Redriving " + n + " requests")
	for range 6 {
		fl.key("-") // down to 0.5/s: the run outlives the first reads
	}
	fl.waitText("(limit 0.5/s)")
	fl.key("esc")
	fl.waitFor("a delivered row PROCESSED while the run runs", func(p string) bool {
		if !regexp.MustCompile(`redrive \d+/` + n).MatchString(p) {
			return false // the run ended: this would prove nothing
		}
		for _, line := range strings.Split(p, "\n") {
			id := uuidRE.FindString(line)
			if failed[id] && strings.HasPrefix(strings.TrimLeft(line, " ▸✓"), id) && strings.Contains(line, "PROCESSED") {
				return true
			}
		}
		return false
	})
	fl.key("R")
	fl.key("c")
	fl.waitText("enter/esc close · the table keeps updating")
	fl.waitFor("the verdict on what was sent", func(p string) bool {
		return strings.Contains(p, "Redrive cancelled") && regexp.MustCompile(`processor  \d+ delivered → [1-9]\d* PROCESSED`).MatchString(p)
	})
	fl.quit()
}
