package redrive

import "testing"

// eventRig is the setup the event tests share: n requests in the fake store, a fake
// target that marks what it accepts PROCESSED (its script, hold and afterCall are the
// test's to set), and the deps and options that run a plan against it, with no gateway.
type eventRig struct {
	*fixture
	ev *fakeEvents
	d  Deps
	o  Options
}

func newEventRig(t *testing.T, n int) *eventRig {
	t.Helper()
	f := newFixture(t, n)
	ev := newFakeEvents(f.status)
	d := f.deps()
	d.Sender, d.Events = nil, ev
	return &eventRig{fixture: f, ev: ev, d: d, o: f.opts()}
}

// plan plans every request in mode, to the fake target of testSpec.
func (g *eventRig) plan(t *testing.T, mode Mode) *Manifest {
	t.Helper()
	return g.planEvent(t, mode, testSpec(mode))
}

// newRun is the run of m with the rig's deps and options.
func (g *eventRig) newRun(t *testing.T, m *Manifest) *Run {
	t.Helper()
	r, err := New(g.d, m, g.o)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// run runs m to its end.
func (g *eventRig) run(t *testing.T, m *Manifest) (*Run, *Report) {
	t.Helper()
	r := g.newRun(t, m)
	return r, runToEnd(t, r)
}

// killAndResume kills a run of m as killEventRun does, then resumes its journal to the
// end with the target alive again.
func (g *eventRig) killAndResume(t *testing.T, m *Manifest, gathering bool) (*JournalState, *Report) {
	t.Helper()
	st := killEventRun(t, g.fixture, g.ev, m, g.d, g.o, gathering)
	o := g.o
	o.JournalPath = st.Path
	r, err := Resume(g.d, st, o)
	if err != nil {
		t.Fatal(err)
	}
	return st, runToEnd(t, r)
}
