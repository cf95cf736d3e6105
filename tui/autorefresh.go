package tui

import (
	"context"
	"errors"
	"strconv"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/stowage-cli/stowage/awsclient"
	"github.com/stowage-cli/stowage/internal/config"
	"github.com/stowage-cli/stowage/internal/inventory"
)

// Auto-refresh, as k9s does: every refresh (env.Refresh, 5s by default; ctrl+r turns it
// off and on) the statuses of the rows on screen are read again, and the failures that
// happened since the last look are read through the status index (ChangedSince). New
// failures join the table, marked, and the classes. What one round reads is bounded by
// read_budget (reads per second, averaged over the interval); a throttled round doubles
// the interval, up to maxAutoBackoff, and a good one brings it back.

// config.DefaultRefresh and config.DefaultReadBudget apply when the environment sets none
// (config fills them on load; a hand-built Env may not).
const (
	maxAutoBackoff = time.Minute
	maxAutoHeads   = 20 // new failures HEADed per round, for their size and arrival
)

// changedSincer is the status index read of the auto-refresh; *awsclient.StatusStore has
// it. A store without it refreshes only the rows on screen.
type changedSincer interface {
	ChangedSince(ctx context.Context, state string, since time.Time, limit int) ([]awsclient.Status, error)
}

// autoRefresh is the state of the auto-refresh.
type autoRefresh struct {
	off       bool // ctrl+r turned it off
	seq       int  // bumps on every (re)start: older ticks and reads are dropped
	inFlight  bool
	interval  time.Duration // the current interval, backed off when throttled
	since     time.Time     // failures updated after this are new
	last      time.Time     // when the last round started
	rounds    int
	throttled bool
	// fresh are the new failures the auto-refresh brought, marked in the table.
	fresh map[string]bool
	err   error
}

type (
	autoTickMsg struct{ gen, seq int }
	autoReadMsg struct {
		gen, seq int
		ids      []string
		found    map[string]awsclient.Status
		failed   []awsclient.Status // changed to a failure state since the last round
		heads    map[string]awsclient.Object
		since    time.Time
		err      error // reading the rows on screen failed: nothing of the round is taken
		idxErr   error // reading the index failed: the rows' statuses are still taken
	}
)

func (a *autoRefresh) reset() {
	a.seq++
	a.inFlight = false
	a.interval = 0
	a.since = time.Time{}
	a.fresh = map[string]bool{}
	a.err = nil
	a.throttled = false
}

// refreshEvery is the environment's refresh interval; the Options' Refresh wins, and a
// negative one turns the auto-refresh off (tests).
func (m *Model) refreshEvery() time.Duration {
	if m.opts.Refresh != 0 {
		return m.opts.Refresh
	}
	if env := m.sess.Env; env != nil && env.Refresh.Duration > 0 {
		return env.Refresh.Duration
	}
	return config.DefaultRefresh
}

// readBudget is the environment's read_budget in reads per second.
func (m *Model) readBudget() float64 {
	if env := m.sess.Env; env != nil && env.ReadBudget > 0 {
		return env.ReadBudget
	}
	return config.DefaultReadBudget
}

// autoEnabled reports whether the auto-refresh runs.
func (m *Model) autoEnabled() bool {
	return !m.auto.off && m.refreshEvery() > 0 && m.sess.Statuses != nil
}

// startAutoRefresh schedules the first round.
func (m *Model) startAutoRefresh() tea.Cmd {
	if !m.autoEnabled() {
		return nil
	}
	if m.auto.since.IsZero() {
		m.auto.since = m.now
	}
	m.auto.interval = m.refreshEvery()
	return m.autoTick()
}

func (m *Model) autoTick() tea.Cmd {
	gen, seq := m.gen, m.auto.seq
	return tea.Tick(m.auto.interval, func(time.Time) tea.Msg { return autoTickMsg{gen: gen, seq: seq} })
}

// toggleAutoRefresh answers ctrl+r.
func (m *Model) toggleAutoRefresh() tea.Cmd {
	if m.refreshEvery() < 0 || m.sess.Statuses == nil {
		m.setNote(noteInfo, "auto-refresh is not available in this session")
		return nil
	}
	m.auto.off = !m.auto.off
	m.auto.seq++ // a tick or a read already asked for is dropped
	m.auto.inFlight = false
	if m.auto.off {
		m.setNote(noteInfo, "auto-refresh off: r reads again by hand · ctrl+r turns it back on")
		return nil
	}
	m.setNote(noteInfo, "auto-refresh on: every "+fmtSeconds(m.refreshEvery())+", at most "+
		budgetText(m.readBudget())+" reads/s")
	return tea.Batch(m.startAutoRefresh(), m.autoRound())
}

func budgetText(b float64) string { return strconv.FormatFloat(b, 'f', -1, 64) }

// onAutoTick starts a round, unless one is still in flight.
func (m *Model) onAutoTick(msg autoTickMsg) tea.Cmd {
	if msg.gen != m.gen || msg.seq != m.auto.seq || !m.autoEnabled() {
		return nil
	}
	if m.auto.inFlight {
		return m.autoTick()
	}
	return tea.Batch(m.autoRound(), m.autoTick())
}

// autoRound reads the rows on screen and the new failures, within the read budget.
func (m *Model) autoRound() tea.Cmd {
	if !m.autoEnabled() || m.auto.inFlight {
		return nil
	}
	interval := m.auto.interval
	if interval <= 0 {
		interval = m.refreshEvery()
	}
	budget := max(1, int(m.readBudget()*interval.Seconds()))
	var ids []string
	if m.mode == modeList || m.mode == modeDetail {
		s := m.active()
		// Two thirds of the budget for the rows on screen, the rest (at least one) for the
		// new failures; those past the limit come with the next round.
		for i := m.top; i < min(s.ViewLen(), m.top+m.tableRows()) && len(ids) < min(max(1, budget*2/3), batchGetMax); i++ {
			if id := s.At(i).ID; !m.statuses.pending[id] {
				ids = append(ids, id)
			}
		}
	}
	if d := m.detail; d != nil && m.mode == modeDetail && len(ids) < batchGetMax {
		ids = append(ids, d.id)
	}
	limit := max(1, budget-len(ids))
	cs, _ := m.sess.Statuses.(changedSincer)
	if env := m.sess.Env; env == nil || env.Status.Index == "" {
		cs = nil // ChangedSince queries the status index: without one, the rows on screen only
	}
	states := m.failureStates()
	m.auto.inFlight = true
	m.auto.last = m.now
	gen, seq, since, statuses, objects := m.gen, m.auto.seq, m.auto.since, m.sess.Statuses, m.sess.Objects
	env := m.sess.Env
	return m.call(func(ctx context.Context) tea.Msg {
		out := autoReadMsg{gen: gen, seq: seq, ids: ids, since: since}
		if len(ids) > 0 {
			out.found, out.err = statuses.BatchGet(ctx, ids)
			if out.err != nil {
				return out
			}
		}
		if cs == nil {
			return out
		}
		for _, st := range states {
			items, err := cs.ChangedSince(ctx, st, since, limit)
			if err != nil {
				out.idxErr = err
				return out
			}
			limit -= len(items)
			out.failed = append(out.failed, items...)
			if limit <= 0 {
				break
			}
		}
		if objects != nil && env != nil {
			out.heads = map[string]awsclient.Object{}
			for i, st := range out.failed {
				if i == maxAutoHeads {
					break
				}
				if o, err := objects.Head(ctx, env.Key(st.RequestID)); err == nil {
					out.heads[st.RequestID] = o
				}
			}
		}
		return out
	})
}

// onAutoRead takes a round's answers: statuses, and the new failures at the top, marked.
func (m *Model) onAutoRead(msg autoReadMsg) tea.Cmd {
	if msg.gen != m.gen || msg.seq != m.auto.seq {
		return nil
	}
	a := &m.auto
	a.inFlight = false
	a.rounds++
	err := msg.err
	if err == nil && msg.idxErr != nil {
		err = msg.idxErr
		m.absorbAuto(msg) // the statuses of the rows on screen were read
	}
	if err != nil {
		a.err = err
		var ae *awsclient.Error
		if errors.As(err, &ae) && ae.Kind == awsclient.KindThrottled {
			a.throttled = true
			a.interval = min(maxAutoBackoff, max(a.interval, m.refreshEvery())*2)
			m.setNote(noteWarn, "auto-refresh throttled: reading every "+fmtSeconds(a.interval)+" for now")
			a.seq++
			return m.autoTick()
		}
		return nil // the next tick tries again; the error shows in the header
	}
	a.err = nil
	if a.throttled {
		a.throttled = false
		a.interval = m.refreshEvery()
		a.seq++ // the tick at the backed-off interval is dropped
		m.absorbAuto(msg)
		return m.autoTick()
	}
	m.absorbAuto(msg)
	return nil
}

func (m *Model) absorbAuto(msg autoReadMsg) {
	a := &m.auto
	var fresh []row
	var newest time.Time
	pinned := 0
	for _, st := range msg.failed {
		if st.UpdatedAt.After(newest) {
			newest = st.UpdatedAt
		}
		old, had := m.statuses.get(st.RequestID)
		wasFailed := had && old.found && m.class(old.st.State) == inventory.ClassFailed && old.st.UpdatedAt.Equal(st.UpdatedAt)
		if m.cls != nil {
			m.cls.add(failure{ID: st.RequestID, Error: st.Error, At: st.UpdatedAt})
			m.cls.regroup = true
		}
		if wasFailed {
			continue
		}
		if _, listed := m.all.Get(st.RequestID); !listed {
			r := m.rowOf(st.RequestID)
			if h, ok := msg.heads[st.RequestID]; ok {
				r = rowFromObject(h)
				r.ID = st.RequestID
			}
			fresh = append(fresh, r)
		}
		m.statuses.put(st.RequestID, statusEntry{st: st, found: true})
		a.fresh[st.RequestID] = true
		pinned++
	}
	if len(fresh) > 0 {
		before := m.all.Len()
		m.keepingCursor(func() { m.all.Add(fresh) })
		m.statuses.listedAdded(before)
	}
	if pinned > 0 {
		m.resortPinned()
	}
	// The rows on screen after the new failures: what the cache held before this round
	// tells a new failure from one already seen.
	if len(msg.ids) > 0 {
		m.absorbStatuses(msg.ids, msg.found)
	}
	if !newest.IsZero() && newest.After(a.since) {
		a.since = newest
	}
	if n := len(msg.failed); n > 0 {
		m.setNote(noteWarn, plural(n, "new failure")+" since the last look · "+commas(len(a.fresh))+" marked ● at the top · E groups them")
		m.refreshHistogram()
	}
}

// autoLabel is the header's word on the auto-refresh.
func (m *Model) autoLabel() string {
	switch {
	case m.refreshEvery() < 0 || m.sess.Statuses == nil:
		return ""
	case m.auto.off:
		return "auto off"
	case m.auto.throttled:
		return "auto " + config.FormatDuration(m.auto.interval) + " (throttled)"
	case m.auto.err != nil:
		return "auto " + config.FormatDuration(m.refreshEvery()) + " (failing)"
	}
	return "auto " + config.FormatDuration(m.refreshEvery())
}

// isFresh reports whether id is a new failure the auto-refresh brought and still failed:
// such rows are pinned to the top of the table.
func (m *Model) isFresh(id string) bool { return m.auto.fresh[id] }

// resortPinned sorts the row sets again after the pinned rows changed, keeping the
// cursor on its request.
func (m *Model) resortPinned() {
	m.keepingCursor(func() {
		for _, s := range []*rowSet{m.all, m.byState, m.lostSet, m.classSet} {
			if s != nil {
				s.Resort()
			}
		}
	})
}

// unpinSettled drops the new-failure mark of the requests among ids that are no longer
// failed (redriven, processed since): they go back to their place in the sort.
func (m *Model) unpinSettled(ids []string) {
	changed := false
	for _, id := range ids {
		if m.auto.fresh[id] && m.rowClass(id) != inventory.ClassFailed {
			delete(m.auto.fresh, id)
			changed = true
		}
	}
	if changed {
		m.resortPinned()
	}
}
