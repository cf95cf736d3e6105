package tui

import (
	"fmt"

	"charm.land/bubbles/v2/key"
	"charm.land/bubbles/v2/spinner"
	tea "charm.land/bubbletea/v2"

	"github.com/stowage-cli/stowage/internal/sanitize"
)

// Update applies one message. Results of I/O are checked against the generation and
// sequence numbers they carry; anything stale is dropped.
func (m *Model) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	m.now = m.opts.Now()
	m.ageStatuses()
	var cmds []tea.Cmd
	switch msg := msg.(type) {
	case tea.WindowSizeMsg:
		m.width, m.height = msg.Width, msg.Height
		m.clampScroll()
		cmds = append(cmds, m.schedulePreview())
	case tea.BackgroundColorMsg:
		if m.opts.Dark == nil {
			m.setStyles(msg.IsDark())
		}
	case spinner.TickMsg:
		if !m.busy() {
			m.spinning = false
			return m, nil
		}
		var cmd tea.Cmd
		m.spin, cmd = m.spin.Update(msg)
		return m, cmd

	case clockMsg:
		cmds = append(cmds, m.clockTick()) // m.now was read above
		if !m.win.all() {
			m.applyWindow() // a preset moves with the clock
		}
	case listChunkMsg:
		cmds = append(cmds, m.onListChunk(msg))
	case statusBatchMsg:
		cmds = append(cmds, m.onStatusBatch(msg))
	case headRowMsg:
		m.onHeadRow(msg)
	case statePageMsg:
		cmds = append(cmds, m.onStatePage(msg))
	case previewDueMsg:
		if msg.seq == m.previewSeq {
			cmds = append(cmds, m.openSelected())
		}
	case detailHeadMsg:
		cmds = append(cmds, m.onDetailHead(msg))
	case detailStatusMsg:
		m.onDetailStatus(msg)
	case detailBodyMsg:
		cmds = append(cmds, m.onDetailBody(msg))
	case docBuiltMsg:
		m.onDocBuilt(msg)
	case saveDoneMsg:
		m.onSaveDone(msg)
	case tempReadyMsg:
		cmds = append(cmds, m.onTempReady(msg))
	case execDoneMsg:
		cmds = append(cmds, m.onExecDone(msg))
	case envOpenedMsg:
		cmds = append(cmds, m.onEnvOpened(msg))
	case redrivePlanMsg:
		m.onRedrivePlan(msg)
	case redriveStartedMsg:
		cmds = append(cmds, m.onRedriveStarted(msg))
	case redriveProgressMsg:
		cmds = append(cmds, m.onRedriveProgress(msg))
	case redriveFinishedMsg:
		cmds = append(cmds, m.onRedriveFinished(msg))
	case auditDoneMsg:
		m.onAuditDone(msg)
	case watchTickMsg:
		cmds = append(cmds, m.onWatchTick(msg))
	case watchReadMsg:
		cmds = append(cmds, m.onWatchRead(msg))
	case identityMsg:
		m.onIdentity(msg)
	case historyReadMsg:
		m.onHistoryRead(msg)
	case timelineReadMsg:
		m.onTimelineRead(msg)
	case batchStartedMsg:
		cmds = append(cmds, m.onBatchStarted(msg))
	case batchProgressMsg:
		cmds = append(cmds, m.onBatchLook(msg))
	case batchCancelledMsg:
		m.onBatchCancelled(msg)
	case donePageMsg:
		cmds = append(cmds, m.onDonePage(msg))
	case failedPageMsg:
		cmds = append(cmds, m.onFailedPage(msg))
	case histBuiltMsg:
		m.onHistBuilt(msg)
	case classesGroupedMsg:
		m.onClassesGrouped(msg)
	case autoTickMsg:
		cmds = append(cmds, m.onAutoTick(msg))
	case autoReadMsg:
		cmds = append(cmds, m.onAutoRead(msg))

	case tea.PasteMsg:
		cmds = append(cmds, m.onPaste(msg))
	case tea.KeyPressMsg:
		cmd, quit := m.onKey(msg)
		if quit {
			m.quitting = true
			m.list.stream.stop()
			return m, tea.Quit
		}
		cmds = append(cmds, cmd)
	case tea.MouseWheelMsg:
		m.onWheel(msg)
	case tea.MouseClickMsg:
		cmds = append(cmds, m.onClick(msg))
	default:
		// A dialog's action message, also when a command delivers one.
		if cmd, ok := m.onDialogAction(msg); ok {
			cmds = append(cmds, cmd)
		}
	}
	m.ensureInfo()
	cmds = append(cmds, m.flushRegroup(), m.flushHist(), m.joinVisible(), m.startSpinner())
	return m, tea.Batch(cmds...)
}

func (m *Model) setStyles(dark bool) {
	m.st = NewStyles(dark)
	m.stylesKnown = true
	m.help.Styles = m.st.Help
	m.spin.Style = m.st.Spinner
	if d := m.detail; d != nil {
		d.info = nil // styled when built; the payload is highlighted per frame
	}
}

func (m *Model) onPaste(msg tea.PasteMsg) tea.Cmd {
	if n := len(m.dialogs); n > 0 && m.dockedDialog() == nil {
		if p, ok := m.dialogs[n-1].(pasteTaker); ok {
			p.paste(msg.Content)
		}
		return nil
	}
	if m.input.active() {
		return m.updateInput(msg)
	}
	// Pasting anywhere else is a jump: operators paste a log line and expect to land on it.
	return m.jump(msg.Content)
}

// onKey handles a key press; quit asks the program to stop.
func (m *Model) onKey(msg tea.KeyPressMsg) (cmd tea.Cmd, quit bool) {
	if key.Matches(msg, m.km.Interrupt) && m.input.active() {
		// In a prompt ctrl+c cancels it, as in a shell; a second one quits.
		return m.cancelInput(), false
	}
	if key.Matches(msg, m.km.Interrupt) {
		if m.redriveActive() {
			// As in the CLI: ctrl+c cancels the run (again: cuts the requests in flight);
			// stowage quits once the run has stopped and is recorded.
			return m.cancelRedrive(), false
		}
		return nil, true
	}
	// A prompt opened under a docked dialog takes its keys first: a c typed into the
	// filter must not cancel the run.
	if n := len(m.dialogs); n > 0 && !(m.input.active() && m.dockedDialog() != nil) {
		done, act := m.dialogs[n-1].update(m.km, msg)
		if done {
			m.dialogs = m.dialogs[:n-1]
		}
		// A docked dialog leaves the keys it does not use to the table under it.
		if done || act != nil || m.dockedDialog() == nil {
			// Popped first: the action may open a dialog of its own.
			cmd, _ := m.onDialogAction(act)
			return cmd, false
		}
	}
	if m.input.active() {
		return m.updateInput(msg), false
	}
	if m.fullHelp && m.onHelpKey(msg) {
		return nil, false
	}
	// Any other key closes the full help and does what it does.
	m.fullHelp = false
	km := m.km
	switch {
	case key.Matches(msg, km.Quit):
		if quit, ok := m.leaveRunningJob(); ok {
			return nil, quit
		}
		if m.redriveActive() {
			m.setNote(noteWarn, "a redrive is running: R shows it, c there cancels it; q quits once it has stopped")
			return nil, false
		}
		return nil, true
	case key.Matches(msg, km.Help):
		m.dropNoteAbout("")
		m.fullHelp, m.helpScroll = true, 0
		return nil, false
	case key.Matches(msg, km.Jump):
		return m.openInput(inputJump, ""), false
	case key.Matches(msg, km.Env):
		if m.redriveActive() {
			m.setNote(noteWarn, "a redrive is running: switch environments once it has stopped")
			return nil, false
		}
		m.openEnvSwitch()
		return nil, false
	case key.Matches(msg, km.Redrive):
		return m.openRedrive(), false
	case key.Matches(msg, km.Window):
		return m.cycleWindow(), false
	case key.Matches(msg, km.WindowRange):
		m.openWindowPrompt()
		return nil, false
	case key.Matches(msg, km.AutoRefresh):
		return m.toggleAutoRefresh(), false
	case key.Matches(msg, km.Classes):
		return m.openClasses(), false
	case key.Matches(msg, km.Histogram):
		return m.openHistogram(), false
	}
	switch m.mode {
	case modeDetail:
		return m.onDetailKey(msg), false
	case modeClasses:
		return m.onClassesKey(msg), false
	case modeHistogram:
		return m.onHistogramKey(msg), false
	}
	return m.onListKey(msg), false
}

// onHelpKey scrolls or closes the full help; it reports whether it used the key.
func (m *Model) onHelpKey(msg tea.KeyPressMsg) bool {
	km := m.km
	h := m.layout().bodyH
	switch {
	case key.Matches(msg, km.Help), key.Matches(msg, km.Back):
		m.fullHelp = false
	case key.Matches(msg, km.Up):
		m.scrollHelp(-1)
	case key.Matches(msg, km.Down):
		m.scrollHelp(1)
	case key.Matches(msg, km.PageUp):
		m.scrollHelp(-h)
	case key.Matches(msg, km.PageDown):
		m.scrollHelp(h)
	case key.Matches(msg, km.Top):
		m.helpScroll = 0
	case key.Matches(msg, km.Bottom):
		m.scrollHelp(1 << 20)
	default:
		return false
	}
	return true
}

func (m *Model) scrollHelp(delta int) {
	total := len(m.helpLines(m.width - 1))
	m.helpScroll = max(0, min(m.helpScroll+delta, total-m.layout().bodyH))
}

func (m *Model) onListKey(msg tea.KeyPressMsg) tea.Cmd {
	km := m.km
	s := m.active()
	rows := m.tableRows()
	if to, ok := cursorMove(km, msg, m.cursor, s.ViewLen(), rows); ok {
		m.cursor = to
		m.clampScroll()
		return m.schedulePreview()
	}
	switch {
	case key.Matches(msg, km.Open):
		if _, ok := m.selected(); !ok {
			return nil
		}
		m.mode = modeDetail
		return m.openSelected()
	case key.Matches(msg, km.Back):
		switch {
		case m.note.text != "":
			m.note = note{}
		case s.Query() != "":
			return m.applyFilter("")
		case m.src != sourceAll:
			return m.showAll()
		}
		return nil
	case key.Matches(msg, km.TogglePane):
		m.pane = !m.pane
		if !m.paneVisible() {
			m.detail = nil
		}
		m.clampScroll()
		return m.schedulePreview()
	case key.Matches(msg, km.Filter):
		return m.openInput(inputFilter, s.Query())
	case key.Matches(msg, km.StatusFilter):
		m.openStatusFilter()
		return nil
	case key.Matches(msg, km.Lost):
		return m.startLost()
	case key.Matches(msg, km.Sort):
		return m.setSort((s.field+1)%sortFieldCount, false)
	case key.Matches(msg, km.Reverse):
		return m.setSort(s.field, !s.asc)
	case key.Matches(msg, km.Refresh):
		return m.refresh()
	case key.Matches(msg, km.Wide):
		m.cols.wide = !m.cols.wide
		return nil
	case key.Matches(msg, km.Columns):
		m.openColumns()
		return nil
	case key.Matches(msg, km.Copy):
		m.openCopy()
		return nil
	case key.Matches(msg, km.Select):
		return m.toggleMark()
	case key.Matches(msg, km.SelectAll):
		m.markAll()
		return nil
	}
	// Payload keys act on the preview pane when it is showing.
	if m.detail != nil && m.paneVisible() {
		return m.onPayloadKey(msg)
	}
	return nil
}

// cursorMove is where a key of the list's movement moves a cursor at cur, over n items
// shown rows at a time; ok is false for any other key. The caller clamps.
func cursorMove(km KeyMap, msg tea.KeyPressMsg, cur, n, rows int) (to int, ok bool) {
	switch {
	case key.Matches(msg, km.Up):
		return cur - 1, true
	case key.Matches(msg, km.Down):
		return cur + 1, true
	case key.Matches(msg, km.PageUp):
		return cur - rows, true
	case key.Matches(msg, km.PageDown):
		return cur + rows, true
	case key.Matches(msg, km.Top):
		return 0, true
	case key.Matches(msg, km.Bottom):
		return n - 1, true
	}
	return cur, false
}

// setSort orders the rows and shows the first: after "worst first" the worst is on screen.
func (m *Model) setSort(f sortField, asc bool) tea.Cmd {
	m.dropNoteAbout("")
	m.active().SetSort(f, asc)
	m.toTop()
	return m.schedulePreview()
}

// refresh retries what failed, or starts over: statuses are read again, the listing
// (or the status view, or the LOST check) restarts.
func (m *Model) refresh() tea.Cmd {
	m.note = note{}
	switch {
	case m.list.err != nil || m.statusErr != nil:
		m.statusErr = nil
		return m.startListing() // lists again; the rows already listed stay
	case m.src == sourceStatus && m.stateList.err != nil:
		return m.nextStatePage()
	case m.src == sourceLost && m.lost.err != nil:
		m.lost.err = nil
		return m.pumpLost()
	}
	src, state := m.src, m.stateFilter
	m.resetSession(m.sess)
	cmds := []tea.Cmd{m.startListing()}
	switch src {
	case sourceStatus:
		cmds = append(cmds, m.startStateFilter(state))
	case sourceLost:
		cmds = append(cmds, m.startLost())
	}
	m.setNote(noteInfo, "refreshing…")
	return tea.Batch(cmds...)
}

func (m *Model) onDetailKey(msg tea.KeyPressMsg) tea.Cmd {
	km := m.km
	d := m.detail
	switch {
	case key.Matches(msg, km.Back):
		if d != nil && d.search != "" {
			m.applySearch("")
			return nil
		}
		if d != nil && d.tab == tabTimeline && m.onTimelineKey(msg) {
			return nil // esc closes an opened log line first
		}
		m.mode = modeList
		m.clampScroll()
		if d != nil && (d.tab == tabHistory || d.tab == tabTimeline) {
			d.tab = m.prefs.tab // the pane has no history or timeline tab
		}
		if d != nil && d.fromJump {
			m.detail = nil
		}
		return m.schedulePreview()
	case key.Matches(msg, km.Refresh):
		if d == nil {
			return nil
		}
		m.note = note{}
		if d.tab == tabHistory {
			return m.readHistory(d)
		}
		if d.tab == tabTimeline {
			return m.readTimeline(d)
		}
		return m.openRequest(d.id, d.key, d.fromJump)
	case key.Matches(msg, km.Copy):
		m.openCopy()
		return nil
	}
	if d == nil {
		return nil
	}
	return m.onPayloadKey(msg)
}

// onPayloadKey handles the keys of the detail body, in the pane or full screen.
func (m *Model) onPayloadKey(msg tea.KeyPressMsg) tea.Cmd {
	km := m.km
	d := m.detail
	h := m.detailBodyHeight()
	if d.tab == tabTimeline && m.mode == modeDetail && m.onTimelineKey(msg) {
		return nil
	}
	lines := 0
	switch {
	case d.tab == tabTimeline:
		l, _ := m.timelineRows(d, m.width-1)
		lines = len(l)
	case d.tab == tabHistory:
		lines = len(m.historyLines(d, m.width))
	case d.tab == tabInfo || d.missing:
		if d.info != nil {
			lines = d.info.Len()
		}
	case d.doc != nil:
		lines = d.doc.Len()
	}
	scroll := func(to int) tea.Cmd {
		d.scroll = max(0, min(to, lines-h))
		return nil
	}
	full := m.mode == modeDetail
	switch {
	case full && key.Matches(msg, km.Up):
		return scroll(d.scroll - 1)
	case full && key.Matches(msg, km.Down):
		return scroll(d.scroll + 1)
	case key.Matches(msg, km.PageUp) && full, key.Matches(msg, km.HalfPageUp):
		return scroll(d.scroll - h)
	case key.Matches(msg, km.PageDown) && full, key.Matches(msg, km.HalfPageDown):
		return scroll(d.scroll + h)
	case full && key.Matches(msg, km.Top):
		return scroll(0)
	case full && key.Matches(msg, km.Bottom):
		return scroll(lines)
	case full && key.Matches(msg, km.ScrollLeft):
		d.xoff = max(0, d.xoff-8)
	case full && key.Matches(msg, km.ScrollRight):
		if !d.wrap {
			d.xoff += 8
		}
	case full && key.Matches(msg, km.TogglePane):
		// payload → info → history → timeline → payload
		switch d.tab {
		case tabPayload:
			d.tab = tabInfo
		case tabInfo:
			d.tab = tabHistory
		case tabHistory:
			d.tab = tabTimeline
		default:
			d.tab = tabPayload
		}
		d.scroll = 0
		switch d.tab {
		case tabHistory:
			return m.readHistory(d) // not kept as the preference: it reads files each time
		case tabTimeline:
			if d.tl != nil && d.tl.id == d.id && !d.tl.loading && d.tl.err == nil {
				d.tl.open = -1
				return nil // gathered once per opening: r gathers it again
			}
			return m.readTimeline(d)
		}
		m.prefs.tab = d.tab
	case key.Matches(msg, km.Pretty) && d.doc != nil && d.doc.errMsg != "":
		// Malformed: there is no pretty form to toggle to. Say so rather than do nothing.
		doc := d.doc
		m.setNote(noteWarn, fmt.Sprintf("cannot pretty-print: malformed at %d:%d (%s) — shown raw, the marker points at it",
			doc.errSrcLine, doc.errSrcCol, sanitize.Line(doc.errMsg)))
	case key.Matches(msg, km.Pretty):
		d.pretty = !d.pretty
		m.prefs.raw = !d.pretty
		d.scroll = 0
		if len(d.body) > 0 {
			return m.rebuildDoc(d)
		}
	case key.Matches(msg, km.Wrap):
		d.wrap = !d.wrap
		m.prefs.wrap = d.wrap
		d.xoff = 0
	case full && key.Matches(msg, km.Filter):
		// A new search starts empty, as in less; esc goes back to the one in force.
		cmd := m.openInput(inputSearch, "")
		m.input.before = d.search
		return cmd
	case key.Matches(msg, km.NextMatch):
		m.nextMatch(true)
	case key.Matches(msg, km.PrevMatch):
		m.nextMatch(false)
	case key.Matches(msg, km.LoadMore):
		if d.changed {
			m.setNote(noteWarn, "the object changed since it was opened: press r to reload it")
			return nil
		}
		if d.complete() {
			m.setNote(noteInfo, "the whole payload is already loaded")
			return nil
		}
		return m.loadBody(d, int64(len(d.body)))
	case key.Matches(msg, km.Save):
		m.openSave()
	case key.Matches(msg, km.Pager):
		return m.openExternal(false)
	case key.Matches(msg, km.Editor):
		return m.openExternal(true)
	}
	return nil
}

// ---- mouse ----

func (m *Model) onWheel(msg tea.MouseWheelMsg) {
	delta := 0
	switch msg.Button {
	case tea.MouseWheelUp:
		delta = -3
	case tea.MouseWheelDown:
		delta = 3
	default:
		return
	}
	if m.fullHelp {
		m.scrollHelp(delta)
		return
	}
	l := m.layout()
	overPane := l.pane && msg.X >= l.paneX && msg.Y >= l.paneY && msg.Y < l.paneY+l.paneH
	if overPane && m.detail != nil {
		d := m.detail
		lines := 0
		if d.doc != nil {
			lines = d.doc.Len()
		}
		if d.tab == tabInfo && d.info != nil {
			lines = d.info.Len()
		}
		d.scroll = max(0, min(d.scroll+delta, lines-m.detailBodyHeight()))
		return
	}
	if m.mode != modeList {
		return
	}
	n := m.active().ViewLen()
	rows := m.tableRows()
	m.top = max(0, min(m.top+delta, n-rows))
	m.cursor = max(m.top, min(m.cursor, m.top+rows-1))
}

func (m *Model) onClick(msg tea.MouseClickMsg) tea.Cmd {
	if msg.Button != tea.MouseLeft || m.mode != modeList || (len(m.dialogs) > 0 && m.dockedDialog() == nil) || m.fullHelp {
		return nil
	}
	l := m.layout()
	row := msg.Y - l.bodyY - 1 // below the column header
	if row < 0 || row >= l.tableH-1 || msg.X >= l.tableW {
		return nil
	}
	i := m.top + row
	if i >= m.active().ViewLen() {
		return nil
	}
	if i == m.cursor {
		// A click on the selected row opens it.
		m.mode = modeDetail
		return m.openSelected()
	}
	m.cursor = i
	m.clampScroll()
	return m.schedulePreview()
}
