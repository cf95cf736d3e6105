package tui

import (
	"context"
	"slices"
	"strconv"
	"strings"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/stowage-cli/stowage/awsclient"
	"github.com/stowage-cli/stowage/internal/sanitize"
	"github.com/stowage-cli/stowage/redrive"
)

// After a run, the statuses of the redriven requests are read again (BatchGet, in a
// ticking command that backs off) until the processor has written a new verdict for each
// or the watch times out. The rows update as the answers come.

// watchItem is one redriven request being watched.
type watchItem struct {
	id     string // whose status is read: the request, or its new ID after a reupload
	origin string // the request that was redriven
	// base is the status when the run was planned; a status that differs from it is the
	// processor's new verdict. baseKnown is false for a reupload's new request (no item
	// yet) and when the plan could not read it (then the state alone is compared).
	base      awsclient.Status
	baseFound bool
	baseKnown bool
	since     time.Duration // the watch's waited time when the item was added
	state     string        // the latest state read, "" when there is no item yet
	settled   bool
	expired   bool
}

// watchState follows the redriven requests of this session's runs.
type watchState struct {
	items   map[string]*watchItem
	order   []string
	waited  time.Duration // the sum of the waits so far: the timeout is counted in it, not on a clock
	delay   time.Duration // the next wait
	ticking bool          // a tick or a read is on its way
	err     error         // the last read failed; the watch keeps trying, slower
	settled int
	expired int
}

type (
	watchTickMsg struct{ w *watchState }
	watchReadMsg struct {
		w     *watchState
		ids   []string
		found map[string]awsclient.Status
		err   error
	}
)

func (w *watchState) active() bool { return w != nil && w.pending() > 0 }

func (w *watchState) pending() int { return len(w.items) - w.settled - w.expired }

// watchRun adds the requests a finished run delivered (or may have delivered) to the
// watch and starts it.
func (m *Model) watchRun(s *redriveState) tea.Cmd {
	rep := s.report
	if rep == nil || m.sess.Statuses == nil {
		return nil
	}
	w := m.watch
	if w == nil {
		w = &watchState{items: map[string]*watchItem{}}
		m.watch = w
	}
	added := 0
	for _, it := range rep.Items {
		if it.State != redrive.StateDelivered && it.State != redrive.StateUnknown {
			continue
		}
		wi := &watchItem{id: it.RequestID, origin: it.RequestID, since: w.waited}
		if rep.Mode == redrive.ModeReupload {
			if it.NewRequestID == "" {
				continue // the gateway did not say which request it became
			}
			wi.id, wi.baseKnown = it.NewRequestID, true
		} else if s.baseline != nil {
			// The plan read every item: one it did not find had no status item (LOST).
			b, ok := s.baseline[it.RequestID]
			wi.base, wi.baseFound, wi.baseKnown = b, ok, true
		} else {
			// Only the state at planning is known; "" (no item) is known exactly.
			for _, mi := range s.manifest.Items {
				if mi.RequestID == it.RequestID {
					wi.base.State, wi.baseFound, wi.baseKnown = mi.Status, mi.Status != "", mi.Status == ""
					break
				}
			}
		}
		if old, ok := w.items[wi.id]; ok {
			w.forget(old)
		} else {
			w.order = append(w.order, wi.id)
		}
		w.items[wi.id] = wi
		s.watched = append(s.watched, wi.id)
		added++
	}
	if added == 0 {
		return nil
	}
	s.watch = w
	w.delay = m.opts.Redrive.WatchInterval
	w.err = nil
	return m.watchTick(w)
}

// forget takes a settled or expired item out of the tallies before it is replaced.
func (w *watchState) forget(wi *watchItem) {
	switch {
	case wi.settled:
		w.settled--
	case wi.expired:
		w.expired--
	}
}

func (m *Model) watchTick(w *watchState) tea.Cmd {
	if w.ticking || w.pending() == 0 {
		return nil
	}
	w.ticking = true
	return tea.Tick(w.delay, func(time.Time) tea.Msg { return watchTickMsg{w: w} })
}

func (m *Model) onWatchTick(msg watchTickMsg) tea.Cmd {
	w := m.watch
	if msg.w != w {
		return nil
	}
	w.waited += w.delay
	var ids []string
	for _, id := range w.order {
		if wi := w.items[id]; !wi.settled && !wi.expired {
			ids = append(ids, id)
		}
	}
	statuses := m.sess.Statuses
	return m.call(func(ctx context.Context) tea.Msg {
		found := map[string]awsclient.Status{}
		for i := 0; i < len(ids); i += batchGetMax {
			part, err := statuses.BatchGet(ctx, ids[i:min(len(ids), i+batchGetMax)])
			if err != nil {
				return watchReadMsg{w: w, ids: ids[:i], found: found, err: err}
			}
			for id, st := range part {
				found[id] = st
			}
		}
		return watchReadMsg{w: w, ids: ids, found: found}
	})
}

func (m *Model) onWatchRead(msg watchReadMsg) tea.Cmd {
	w := m.watch
	if msg.w != w {
		return nil
	}
	w.ticking = false
	var rows []string
	for _, id := range msg.ids {
		wi := w.items[id]
		if wi == nil || wi.settled || wi.expired {
			continue
		}
		st, found := msg.found[id]
		if found {
			wi.state = st.State
		}
		if wi.id == wi.origin {
			rows = append(rows, id)
		}
		if m.settledBy(wi, st, found) {
			wi.settled = true
			w.settled++
			m.setVerdict(wi.origin, st.State, false)
		}
	}
	// The rows (and the open request) show what was read.
	if len(rows) > 0 {
		m.absorbStatuses(rows, msg.found)
		if d := m.detail; d != nil {
			if st, ok := msg.found[d.id]; ok && containsID(rows, d.id) {
				d.st, d.stFound, d.info = st, true, nil
			}
		}
	}
	if msg.err != nil {
		w.err = msg.err
		w.delay = min(2*w.delay, 3*m.opts.Redrive.WatchMaxInterval)
	} else {
		w.err = nil
		w.delay = min(w.delay*3/2, m.opts.Redrive.WatchMaxInterval)
	}
	for _, id := range w.order {
		wi := w.items[id]
		if !wi.settled && !wi.expired && w.waited-wi.since >= m.opts.Redrive.WatchTimeout {
			wi.expired = true
			w.expired++
			m.setVerdict(wi.origin, "", true)
		}
	}
	if w.pending() == 0 {
		text := "redriven requests: " + w.summary(nil)
		if s := m.rd; s != nil && s.phase == rdFinished && !s.summarySeen && !m.redriveShown() {
			text += " · R shows the summary"
		}
		m.setNote(noteOK, text)
		return nil
	}
	return m.watchTick(w)
}

// settledBy reports whether st is the processor's new verdict on wi: a terminal state, or
// a failure written since the plan.
func (m *Model) settledBy(wi *watchItem, st awsclient.Status, found bool) bool {
	switch {
	case !found:
		return false
	case m.isTerminal(st.State):
		return true
	case !isFailure(st.State):
		return false // still in the processor's hands
	case !wi.baseFound:
		return wi.baseKnown // a new item; with no base at all nothing can be told apart
	}
	b := wi.base
	if !wi.baseKnown {
		return st.State != b.State
	}
	return st.State != b.State || st.Attempts != b.Attempts || !st.UpdatedAt.Equal(b.UpdatedAt) || st.Error != b.Error
}

// setVerdict records what the processor made of a request's last redrive.
func (m *Model) setVerdict(origin, state string, expired bool) {
	ev := m.history[origin]
	if len(ev) == 0 {
		return
	}
	last := &ev[len(ev)-1]
	last.after, last.expired = state, expired
	if d := m.detail; d != nil && d.id == origin {
		d.info = nil
	}
}

// summary is "3 PROCESSED · 1 FAILED · 2 waiting…" over ids (every watched request
// when nil).
func (w *watchState) summary(ids []string) string {
	if w == nil {
		return ""
	}
	if ids == nil {
		ids = w.order
	}
	verdicts := map[string]int{}
	pending, expired := 0, 0
	for _, id := range ids {
		wi := w.items[id]
		switch {
		case wi == nil:
		case wi.settled:
			verdicts[wi.state]++
		case wi.expired:
			expired++
		default:
			pending++
		}
	}
	states := make([]string, 0, len(verdicts))
	for s := range verdicts {
		states = append(states, s)
	}
	slices.Sort(states)
	var parts []string
	for _, s := range states {
		parts = append(parts, strconv.Itoa(verdicts[s])+" "+sanitize.Line(s))
	}
	if pending > 0 {
		parts = append(parts, strconv.Itoa(pending)+" waiting for a new status")
	}
	if expired > 0 {
		parts = append(parts, strconv.Itoa(expired)+" without a new status in time (r reads them again)")
	}
	if len(parts) == 0 {
		return "nothing to watch"
	}
	return strings.Join(parts, " · ")
}

func containsID(ids []string, id string) bool {
	for _, x := range ids {
		if x == id {
			return true
		}
	}
	return false
}

// ---- history ----

// redriveEvent is one redrive of one request in this session.
type redriveEvent struct {
	runID    string
	mode     redrive.Mode
	at       time.Time
	state    redrive.ItemState
	attempts int
	http     int
	newID    string
	reason   string // the error, or why it was skipped
	after    string // the status the processor wrote afterwards; "" while watched
	expired  bool   // no new status came within the watch
}

// short is the table's note of the redrive, kept short for the error column: the state
// column already shows what the processor made of it.
func (e redriveEvent) short() string {
	var b strings.Builder
	b.WriteString("↻ " + e.at.Format("15:04") + " ")
	switch e.state {
	case redrive.StateDelivered:
		switch {
		case e.newID != "" && e.mode == redrive.ModeReupload:
			b.WriteString("→ " + e.newID)
		case e.expired:
			b.WriteString("no news")
		default:
			b.WriteString("sent")
		}
	case redrive.StateFailed:
		b.WriteString("✗ " + e.reason)
	case redrive.StateSkipped:
		b.WriteString("skipped")
	case redrive.StatePending:
		b.WriteString("not sent")
	default:
		b.WriteString(string(e.state))
	}
	return sanitize.Line(b.String())
}

// long is the info tab's line for the event.
func (e redriveEvent) long() string {
	var parts []string
	parts = append(parts, e.at.UTC().Format("2006-01-02 15:04:05Z"), string(e.mode), string(e.state))
	if e.attempts > 0 {
		parts = append(parts, plural(e.attempts, "attempt"))
	}
	if e.http > 0 {
		parts = append(parts, "HTTP "+strconv.Itoa(e.http))
	}
	if e.newID != "" && e.mode == redrive.ModeReupload {
		parts = append(parts, "new request ID "+e.newID)
	}
	switch {
	case e.after != "":
		parts = append(parts, "then "+e.after)
	case e.expired:
		parts = append(parts, "no new status within the watch")
	}
	if e.reason != "" {
		parts = append(parts, e.reason)
	}
	parts = append(parts, "run "+e.runID)
	return sanitize.Line(strings.Join(parts, " · "))
}
