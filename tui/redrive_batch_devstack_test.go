package tui

import (
	"strings"
	"testing"
	"time"

	"github.com/stowage-cli/stowage/internal/devstack"
)

// TestDevstackBatchOpsAndTimeline: in the demo, a FAILED request's timeline shows its
// arrival and the processor's error line; the FAILED requests redriven with the
// batch-ops engine run as a job on the devstack's S3 Control, its progress and summary
// on screen, and the transient ones turn PROCESSED.
func TestDevstackBatchOpsAndTimeline(t *testing.T) {
	stateHome(t)
	st, sess := demoStack(t)
	if !sess.Env.BatchOps.Configured() || sess.Redrive.Batch.Jobs == nil {
		t.Skip("the devstack serves no S3 Control")
	}
	fl := startFlow(t, sess, deterministicRedrive, func(o *Options) { o.Redrive.BatchPoll = 50 * time.Millisecond })
	fl.waitFor("the listing", func(p string) bool { return strings.Contains(p, "listed") && !strings.Contains(p, "paging") })
	fl.key("f")
	fl.waitText("FAILED")
	fl.key("F")
	fl.waitFor("the FAILED requests", func(p string) bool {
		return strings.Contains(p, "view FAILED") && !strings.Contains(p, "reading FAILED")
	})

	// The timeline of the first FAILED request.
	fl.key("enter")
	fl.key("tab")
	fl.key("tab")
	fl.key("tab")
	fl.waitFor("the timeline", func(p string) bool { return strings.Contains(p, "What happened to this request") })
	tl := fl.plain()
	for _, want := range []string{"s3 ", "status FAILED"} {
		if !strings.Contains(tl, want) {
			t.Errorf("%q missing from the timeline:\n%s", want, tl)
		}
	}
	if testing.Verbose() {
		t.Log("\n" + tl)
	}
	if sess.Logs != nil && !strings.Contains(tl, "processor") {
		t.Errorf("no processor line in the timeline:\n%s", tl)
	}
	fl.key("esc")

	fl.key("a")
	fl.key("R")
	fl.waitText("B engine")
	fl.key("B")
	fl.waitFor("the batch-ops plan", func(p string) bool {
		return strings.Contains(p, "[S3 Batch Operations]") && strings.Contains(p, "USD estimated")
	})
	fl.key("enter")
	fl.tm.Type(devstack.EnvName)
	fl.key("enter")
	fl.waitFor("the job's summary", func(p string) bool { return strings.Contains(p, "enter/esc close · the table keeps updating") })
	sum := fl.plain()
	if !strings.Contains(sum, "Redrive finished") || !strings.Contains(sum, ".batch.json") {
		t.Fatalf("summary:\n%s", sum)
	}
	if testing.Verbose() {
		t.Log("\n" + sum)
	}
	fl.waitFor("the processor's verdict on every task", func(p string) bool {
		return strings.Contains(p, "processor  ") && strings.Contains(p, ", 0 no verdict yet")
	})
	if v := fl.plain(); !strings.Contains(lineWith(v, "delivered →"), "PROCESSED") || strings.Contains(lineWith(v, "delivered →"), "→ 0 PROCESSED") {
		t.Errorf("no transient failure turned PROCESSED:\n%s", v)
	}
	_ = st
}
