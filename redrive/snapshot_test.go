package redrive

import (
	"encoding/json"
	"strings"
	"testing"
)

// A request whose status item changed between planning and sending is skipped, naming
// what changed, unless forced; a manifest planned before snapshots were kept sends as
// before.
func TestRecheckComparesWithThePlannedSnapshot(t *testing.T) {
	cases := []struct {
		name       string
		force      bool
		noSnapshot bool
		wantState  ItemState
		wantNote   string
	}{
		{name: "changed", wantState: StateSkipped, wantNote: "changed since planning (attempts 0 → 1)"},
		{name: "forced", force: true, wantState: StateDelivered},
		{name: "old manifest", noSnapshot: true, wantState: StateDelivered},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := newFixture(t, 2)
			m := f.plan(t, ModeInplace)
			if m.Items[0].Planned == nil || !m.Items[0].Planned.Found || m.Items[0].Planned.State != "FAILED" {
				t.Fatalf("no snapshot planned: %+v", m.Items[0].Planned)
			}
			if c.noSnapshot {
				for i := range m.Items {
					m.Items[i].Planned = nil
				}
			}
			f.status.bump(f.ids[0]) // the processor ran again after planning: still FAILED
			o := f.opts()
			o.Force = c.force
			r, err := New(f.deps(), m, o)
			if err != nil {
				t.Fatal(err)
			}
			rep := runToEnd(t, r)
			got := rep.Items[0]
			if got.State != c.wantState || !strings.HasPrefix(got.Note, c.wantNote) {
				t.Errorf("%s %q, want %s %q", got.State, got.Note, c.wantState, c.wantNote)
			}
			if c.wantState == StateSkipped && f.sender.attemptsOf(f.ids[0]) != 0 {
				t.Error("a changed request was sent")
			}
			if rep.Items[1].State != StateDelivered {
				t.Errorf("the unchanged request ended %s", rep.Items[1].State)
			}
		})
	}
}

// A lost request (no status item at planning) whose status item appears before the send
// was processed late: it is not sent again.
func TestRecheckSkipsALostRequestThatAppeared(t *testing.T) {
	f := newFixture(t, 1)
	id := f.ids[0]
	f.status.mu.Lock()
	delete(f.status.states, id)
	f.status.mu.Unlock()
	m := f.plan(t, ModeInplace)
	if p := m.Items[0].Planned; p == nil || p.Found {
		t.Fatalf("planned %+v, want a snapshot with no item", p)
	}
	f.status.set(id, "FAILED")
	r, err := New(f.deps(), m, f.opts())
	if err != nil {
		t.Fatal(err)
	}
	rep := runToEnd(t, r)
	if got := rep.Items[0]; got.State != StateSkipped || !strings.Contains(got.Note, "changed since planning (a status item appeared)") {
		t.Errorf("%s %q", got.State, got.Note)
	}
}

// The snapshot is camelCase in the manifest, and a manifest without it keeps its hash.
func TestPlannedSnapshotJSONIsBackwardCompatible(t *testing.T) {
	f := newFixture(t, 1)
	m := f.plan(t, ModeInplace)
	b, err := json.Marshal(m.Items[0])
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), `"planned":{"found":true,"status":"FAILED","updatedAt":"2024-01-01T00:00:00Z"}`) {
		t.Errorf("item JSON %s", b)
	}
	m.Items[0].Planned = nil
	old := m.Hash()
	var back Manifest
	raw, _ := json.Marshal(m)
	if strings.Contains(string(raw), "planned\"") {
		t.Errorf("an old manifest grew a planned field: %s", raw)
	}
	if err := json.Unmarshal(raw, &back); err != nil || back.Hash() != old {
		t.Errorf("round trip changed the hash: %v", err)
	}
}
