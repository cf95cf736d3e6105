package tui

import (
	tea "charm.land/bubbletea/v2"

	"github.com/stowage-cli/stowage/internal/config"
)

// startLost opens the LOST view: every listed object older than lost_after is checked
// against the status table (cached answers first, then BatchGetItem), and those with no
// item are LOST. Pages still arriving from the listing join the queue as they come.
func (m *Model) startLost() tea.Cmd {
	m.src = sourceLost
	m.lostSet = m.newRows()
	m.lostSet.SetSort(sortReceived, true) // oldest first: the longest lost on top
	m.lost = lostState{seq: m.lost.seq + 1}
	m.cursor, m.top = 0, 0
	m.detail = nil
	return m.pumpLost()
}

// pumpLost queues new candidates and keeps one batch in flight.
func (m *Model) pumpLost() tea.Cmd {
	if m.src != sourceLost || m.lostSet == nil {
		return nil
	}
	for ; m.lost.next < len(m.all.rows); m.lost.next++ {
		if !m.isLostModified(m.all.rows[m.lost.next].modified) {
			continue
		}
		m.lost.candidates++
		m.lost.queue = append(m.lost.queue, int32(m.lost.next))
	}
	if m.lost.inFlight || m.lost.err != nil || m.sess.Statuses == nil {
		return nil
	}
	// Answers already cached settle without a call.
	var ids []string
	var found []row
	for len(m.lost.queue) > 0 && len(ids) < batchGetMax {
		i := m.lost.queue[0]
		m.lost.queue = m.lost.queue[1:]
		id := m.all.idOf(i)
		if e, ok := m.statuses.get(id); ok {
			m.lost.checked++
			if !e.found {
				found = append(found, *m.all.rowAt(i))
			}
			continue
		}
		ids = append(ids, id)
	}
	m.addLost(found)
	if len(ids) == 0 {
		return m.lostFinished()
	}
	m.lost.inFlight = true
	return m.batchGet(ids, m.lost.seq)
}

// lostFinished says so once everything is checked, and opens the first LOST request.
func (m *Model) lostFinished() tea.Cmd {
	if !m.lostDone() || m.lost.reported {
		return nil
	}
	m.lost.reported = true
	m.setNote(noteOK, "LOST check done: "+plural(m.lostSet.Len(), "LOST request")+" among "+
		plural(m.lost.candidates, "object")+" older than "+config.FormatDuration(m.lostAfter()))
	return m.schedulePreview()
}

func (m *Model) addLost(rs []row) {
	if len(rs) == 0 {
		return
	}
	var keep string
	if r, ok := m.selected(); ok && m.src == sourceLost {
		keep = r.ID
	}
	m.lostSet.Add(rs)
	if keep != "" {
		m.keepCursorOn(keep)
	}
}

func (m *Model) onLostBatch(msg statusBatchMsg) tea.Cmd {
	if msg.lost != m.lost.seq || m.lostSet == nil {
		return nil
	}
	m.lost.inFlight = false
	if msg.err != nil {
		// Put the batch back so r resumes exactly where it stopped.
		back := make([]int32, 0, len(msg.ids))
		for _, id := range msg.ids {
			if i, ok := m.all.lookup(id); ok {
				back = append(back, i)
			}
		}
		m.lost.queue = append(back, m.lost.queue...)
		m.lost.err = msg.err
		m.setErr("LOST check stopped", msg.err)
		return nil
	}
	var lost []row
	for _, id := range msg.ids {
		st, ok := msg.found[id]
		m.statuses.put(id, statusEntry{st: st, found: ok})
		m.lost.checked++
		if !ok {
			if r, ok := m.all.Get(id); ok {
				lost = append(lost, *r)
			}
		}
	}
	m.addLost(lost)
	return tea.Batch(m.pumpLost(), m.schedulePreview())
}

// lostDone reports whether the reconciliation has checked everything there is.
func (m *Model) lostDone() bool {
	return m.list.done && !m.lost.inFlight && len(m.lost.queue) == 0
}
