package tui

import (
	"context"

	tea "charm.land/bubbletea/v2"

	"github.com/stowage-cli/stowage/awsclient"
)

// Messages of the listing and the status join. Each carries the generation (and, for
// pagers, the sequence) of the request that asked, so Update drops stale answers.
type (
	statusBatchMsg struct {
		gen   int
		ids   []string
		found map[string]awsclient.Status
		err   error
		lost  int // lost reconciliation sequence, 0 for the visible-row join
	}
	headRowMsg struct {
		gen int
		key string
		obj awsclient.Object
		err error
	}
	statePageMsg struct {
		gen, seq int
		state    string
		token    string
		page     awsclient.StatusPage
		err      error
	}
)

// Bounds on background work, so a fast scroll never floods the services.
const (
	batchGetMax      = 100 // BatchGetItem's limit
	maxStatusBatches = 3   // status batches in flight for visible rows
	maxRowHeads      = 6   // HEADs in flight for the content-type column
	lookAhead        = 100 // rows past the screen whose status is fetched too
)

func (m *Model) prefix() string {
	if m.sess.Env == nil {
		return ""
	}
	return m.sess.Env.Storage.Prefix
}

func (m *Model) bucket() string {
	if m.sess.Env == nil {
		return ""
	}
	return m.sess.Env.Storage.Bucket
}

// onListChunk adds what the listing brought and waits for more: the listing goes on
// in the background while the operator works.
func (m *Model) onListChunk(msg listChunkMsg) tea.Cmd {
	if msg.gen != m.gen || msg.seq != m.list.seq {
		return nil
	}
	m.addListed(msg.objs)
	if msg.done {
		m.list.loading = false
		if msg.err != nil {
			m.list.err = msg.err
			m.setErr("listing stopped after "+plural(m.all.Len(), "object"), msg.err)
			return nil
		}
		m.list.done = true
		m.updateHeaderSpark()
	}
	if m.note.level == noteError && m.note.retry && msg.err == nil && len(msg.objs) > 0 {
		m.note = note{}
	}
	var cmds []tea.Cmd
	if !msg.done {
		cmds = append(cmds, m.waitListChunk())
	}
	if m.src == sourceLost {
		cmds = append(cmds, m.pumpLost())
	}
	if m.src == sourceAll && m.mode == modeList && m.detail == nil {
		cmds = append(cmds, m.schedulePreview())
	}
	return tea.Batch(cmds...)
}

// addListed merges listed objects into the listing's rows.
func (m *Model) addListed(objs []awsclient.Object) {
	if len(objs) == 0 {
		return
	}
	m.list.last = objs[len(objs)-1].Key
	m.list.pages++
	// The selected request stays selected as rows merge above it, unless it is the first:
	// the top follows what sorts first (the newest, by default), since the ranges arrive
	// in key order, not in the table's.
	var keepID string
	if r, ok := m.selected(); ok && m.src == sourceAll && m.cursor > 0 {
		keepID = r.ID
	}
	before := m.all.Len()
	m.all.AddObjects(objs, m.arrivalOf)
	m.statuses.listedAdded(before)
	if keepID != "" {
		m.keepCursorOn(keepID)
	}
}

// keepCursorOn keeps the selected request selected while rows are merged above it.
func (m *Model) keepCursorOn(id string) {
	if i := m.active().IndexOfID(id); i >= 0 {
		m.cursor = i
		m.clampScroll()
	}
}

// joinVisible fetches what the visible rows (plus a look-ahead) still lack: their status
// with BatchGetItem, and their content type with HEAD.
func (m *Model) joinVisible() tea.Cmd {
	if m.sess.Statuses == nil && m.sess.Objects == nil {
		return nil
	}
	s := m.active()
	from, to := m.top, min(s.ViewLen(), m.top+m.tableRows()+lookAhead)
	var cmds []tea.Cmd

	if m.sess.Statuses != nil && m.statusErr == nil {
		var ids []string
		for i := from; i < to && m.statusBatches < maxStatusBatches; i++ {
			r := s.At(i)
			if _, ok := m.statuses.get(r.ID); ok || m.statuses.pending[r.ID] {
				continue
			}
			m.statuses.pending[r.ID] = true
			ids = append(ids, r.ID)
			if len(ids) == batchGetMax {
				cmds = append(cmds, m.batchGet(ids, 0))
				m.statusBatches++
				ids = nil
			}
		}
		if len(ids) > 0 {
			cmds = append(cmds, m.batchGet(ids, 0))
			m.statusBatches++
		}
	}

	if m.sess.Objects != nil {
		visibleEnd := min(s.ViewLen(), m.top+m.tableRows())
		for i := m.top; i < visibleEnd && len(m.headBusy) < maxRowHeads; i++ {
			r := s.At(i)
			if _, ok := m.heads[r.Key]; ok || m.headBusy[r.Key] {
				continue
			}
			m.headBusy[r.Key] = true
			cmds = append(cmds, m.headRow(r.Key))
		}
	}
	return tea.Batch(cmds...)
}

func (m *Model) batchGet(ids []string, lostSeq int) tea.Cmd {
	gen, statuses := m.gen, m.sess.Statuses
	return m.call(func(ctx context.Context) tea.Msg {
		found, err := statuses.BatchGet(ctx, ids)
		return statusBatchMsg{gen: gen, ids: ids, found: found, err: err, lost: lostSeq}
	})
}

func (m *Model) headRow(key string) tea.Cmd {
	gen, objects := m.gen, m.sess.Objects
	return m.call(func(ctx context.Context) tea.Msg {
		obj, err := objects.Head(ctx, key)
		return headRowMsg{gen: gen, key: key, obj: obj, err: err}
	})
}

func (m *Model) onStatusBatch(msg statusBatchMsg) tea.Cmd {
	if msg.gen != m.gen {
		return nil
	}
	if msg.lost != 0 {
		return m.onLostBatch(msg)
	}
	m.statusBatches--
	if msg.err != nil {
		for _, id := range msg.ids {
			delete(m.statuses.pending, id)
		}
		// No automatic retry: a missing table or a denied read would fail again at once.
		// r clears this and tries again.
		m.statusErr = msg.err
		m.setErr("status", msg.err)
		return nil
	}
	m.absorbStatuses(msg.ids, msg.found)
	return nil
}

// absorbStatuses caches a BatchGet answer: ids missing from found have no item.
func (m *Model) absorbStatuses(ids []string, found map[string]awsclient.Status) {
	put := func() {
		for _, id := range ids {
			st, ok := found[id]
			m.statuses.put(id, statusEntry{st: st, found: ok})
		}
	}
	s := m.active()
	switch {
	case s.field == sortStatus:
		// Their rank changes: they move (and the filter decides them again).
		m.keepingCursor(func() { s.Reposition(ids, put) })
	case s.Query() != "":
		// The filter searches the status and error columns.
		put()
		m.keepingCursor(func() { s.Recheck(ids) })
	default:
		put()
	}
	if len(m.auto.fresh) > 0 {
		m.unpinSettled(ids)
	}
	m.failuresSettled(ids)
}

// keepingCursor runs change on the active rows and keeps the selected request selected
// when it is still shown.
func (m *Model) keepingCursor(change func()) {
	var keep string
	if r, ok := m.selected(); ok {
		keep = r.ID
	}
	change()
	if keep != "" {
		m.keepCursorOn(keep)
	}
	m.clampScroll()
}

func (m *Model) onHeadRow(msg headRowMsg) {
	if msg.gen != m.gen {
		return
	}
	delete(m.headBusy, msg.key)
	if msg.err != nil {
		// Remember the failure as an empty entry so the row is not asked again; the
		// detail pane reports the error when the request is opened.
		m.heads[msg.key] = awsclient.Object{Key: msg.key, Size: -1}
		return
	}
	m.heads[msg.key] = msg.obj
	if s := m.active(); s.Query() != "" || !s.win.open() {
		// The filter searches the type column; the window goes by the age HEAD gives a
		// row known only from the status table.
		id := msg.obj.RequestID
		if id == "" && m.sess.Env != nil {
			id = m.sess.Env.RequestID(msg.key)
		}
		defer m.keepingCursor(func() { s.Recheck([]string{id}) })
	}
	// A row known only from the status table learns its size and age here.
	if m.byState != nil {
		var mod int64
		if !msg.obj.LastModified.IsZero() {
			mod = msg.obj.LastModified.UnixNano()
		}
		m.byState.SetSizeAge(msg.obj.RequestID, msg.obj.Size, mod)
	}
}

// startStateFilter lists the requests in state from the status table (the GSI when one
// is configured, else a Scan: awsclient.StatusStore.ListByStatus decides).
func (m *Model) startStateFilter(state string) tea.Cmd {
	m.src = sourceStatus
	m.stateFilter = state
	m.byState = m.newRows()
	m.byState.SetSort(m.all.field, m.all.asc)
	m.stateList = listState{seq: m.stateList.seq + 1}
	m.cursor, m.top = 0, 0
	m.detail = nil
	return m.nextStatePage()
}

func (m *Model) nextStatePage() tea.Cmd {
	if m.sess.Statuses == nil || m.stateList.loading || m.stateList.done {
		return nil
	}
	m.stateList.loading = true
	m.stateList.err = nil
	gen, seq, state, token, statuses := m.gen, m.stateList.seq, m.stateFilter, m.stateList.token, m.sess.Statuses
	size := m.opts.PageSize
	return m.call(func(ctx context.Context) tea.Msg {
		page, err := statuses.ListByStatus(ctx, state, token, size)
		return statePageMsg{gen: gen, seq: seq, state: state, token: token, page: page, err: err}
	})
}

func (m *Model) onStatePage(msg statePageMsg) tea.Cmd {
	if msg.gen != m.gen || msg.seq != m.stateList.seq || m.byState == nil {
		return nil
	}
	m.stateList.loading = false
	if msg.err != nil {
		m.stateList.err = msg.err
		m.setErr("status filter "+msg.state, msg.err)
		return nil
	}
	rs := make([]row, 0, len(msg.page.Items))
	for _, st := range msg.page.Items {
		m.statuses.put(st.RequestID, statusEntry{st: st, found: true})
		if r, ok := m.all.Get(st.RequestID); ok {
			rs = append(rs, *r)
			continue
		}
		// Not listed (yet): the key follows from the id; size and age come with HEAD.
		key := st.RequestID
		if m.sess.Env != nil {
			key = m.sess.Env.Key(st.RequestID)
		}
		r := row{Key: key, ID: st.RequestID, Size: -1}
		if h, ok := m.heads[key]; ok && h.Size >= 0 {
			r.Size = h.Size
			r.Modified = h.LastModified.UnixNano()
		}
		rs = append(rs, r)
	}
	var keep string
	if r, ok := m.selected(); ok {
		keep = r.ID
	}
	m.byState.Add(rs)
	if keep != "" {
		m.keepCursorOn(keep)
	}
	m.stateList.pages++
	m.stateList.token = msg.page.NextToken
	if m.stateList.token == "" {
		m.stateList.done = true
		return m.schedulePreview()
	}
	return tea.Batch(m.nextStatePage(), m.schedulePreview())
}

func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return commas(n) + " " + what + "s"
}
