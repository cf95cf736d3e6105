package tui

import (
	"strings"
	"testing"
	"time"

	"github.com/charmbracelet/x/ansi"

	"github.com/stowage-cli/stowage/awsclient"
	"github.com/stowage-cli/stowage/internal/config"
	"github.com/stowage-cli/stowage/internal/inventory"
)

// TestOneDefinitionOfAState: the table's colours, its status sort and the header counts
// ask inventory.Classify with the environment's terminal_states and lost_after; a state
// is not a failure because FAIL or ERROR appears somewhere inside it.
func TestOneDefinitionOfAState(t *testing.T) {
	const (
		idAck      = "a0000000-0000-4000-8000-000000000001"
		idFailover = "a0000000-0000-4000-8000-000000000002"
		idFailed   = "a0000000-0000-4000-8000-000000000003"
		idYoung    = "a0000000-0000-4000-8000-000000000004"
	)
	f := newFixture(t, func(o *fakeObjects, s *fakeStatuses) {
		for i, st := range []struct{ id, state string }{{idAck, "ERROR_ACKNOWLEDGED"}, {idFailover, "FAILOVER_WAIT"}, {idFailed, "PARSE_ERROR"}, {idYoung, ""}} {
			o.put(awsclient.Object{Key: st.id, RequestID: st.id, LastModified: testNow.Add(-time.Duration(30+i) * time.Minute)}, []byte("{}"))
			if st.state != "" {
				s.put(awsclient.Status{RequestID: st.id, State: st.state})
			}
		}
	}, func(o *Options) {
		env := testEnv()
		env.Status.TerminalStates = []string{"PROCESSED", "ERROR_ACKNOWLEDGED"}
		env.Status.LostAfter = config.Duration{Duration: time.Hour}
		o.Session.Env = env
	})
	for id, want := range map[string]inventory.Class{idAck: inventory.ClassDone, idFailover: inventory.ClassPending,
		idFailed: inventory.ClassFailed, idYoung: inventory.ClassNone} {
		if got := f.m.rowClass(id); got != want {
			t.Errorf("%s: class %v, want %v", id, got, want)
		}
	}
	if f.m.rankOf(idFailover) >= f.m.rankOf(idFailed) {
		t.Errorf("FAILOVER_WAIT ranks with the failures")
	}
	if f.m.rankOf(idAck) >= f.m.rankOf(idFailover) {
		t.Errorf("a terminal state ranks above a pending one")
	}
	// 33 minutes old with lost_after 1h: no status yet, not LOST.
	if v := ansi.Strip(f.view()); strings.Contains(v, "LOST 1") || !strings.Contains(v, "no status yet 1") {
		t.Errorf("the young row is counted as LOST with lost_after 1h:\n%s", v)
	}
	if got, want := f.m.st.stateStyle(f.m.class("FAILOVER_WAIT")).Render("x"), f.m.st.StatePending.Render("x"); got != want {
		t.Errorf("FAILOVER_WAIT is not drawn as pending")
	}
}
