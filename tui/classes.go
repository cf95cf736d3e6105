package tui

import (
	"sort"
	"time"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"

	"github.com/stowage-cli/stowage/internal/inventory"
)

// The failure classes view (E): the failed requests of the status table, grouped by their
// error normalized (failclass), over the time window. The failed items are read once, in
// pages through the status index (ListByStatus, per failure state); grouping runs in a
// command, again when the window changes or more items arrive.

// sparkBuckets is how many buckets a class's sparkline has.
const sparkBuckets = 16

// classesState is the failed items read and their classes.
type classesState struct {
	statePager // the failure states

	failures []failure // append-only: a grouping command reads a prefix of it
	ids      map[string]int

	groupSeq  int // bumps with each grouping asked; older answers are dropped
	grouping  bool
	regroup   bool // the window changed: group again at the end of Update
	grouped   int  // how many failures the classes cover
	classes   []failClass
	since     time.Time // what the sparklines span
	until     time.Time
	cursor    int
	top       int
	openClass string // the class whose requests the table shows (enter), "" for none
}

type (
	failedPageMsg     struct{ statesPage }
	classesGroupedMsg struct {
		gen, seq     int
		n            int
		classes      []failClass
		since, until time.Time
	}
)

// failureStates are the states whose items are failures: FAILED, and any other state the
// status table was seen to hold that names a failure (inventory.Classify).
func (m *Model) failureStates() []string {
	seen := map[string]bool{"FAILED": true}
	for st := range m.statuses.counts {
		if m.class(st) == inventory.ClassFailed {
			seen[st] = true
		}
	}
	if m.stateFilter != "" && m.class(m.stateFilter) == inventory.ClassFailed {
		seen[m.stateFilter] = true
	}
	out := make([]string, 0, len(seen))
	for st := range seen {
		out = append(out, st)
	}
	sort.Strings(out)
	return out
}

// openClasses answers E: the classes view, reading the failed items the first time.
func (m *Model) openClasses() tea.Cmd {
	if m.mode == modeClasses {
		m.mode = modeList
		return m.schedulePreview()
	}
	m.mode = modeClasses
	m.fullHelp = false
	if m.cls == nil {
		return m.startClasses()
	}
	return nil
}

// startClasses reads the failed items again from the start.
func (m *Model) startClasses() tea.Cmd {
	wrap := func(pg statesPage) tea.Msg { return failedPageMsg{pg} }
	m.cls = &classesState{statePager: m.newStatePager(m.failureStates(), wrap), ids: map[string]int{}}
	return m.cls.next(m)
}

func (m *Model) onFailedPage(msg failedPageMsg) tea.Cmd {
	c := m.cls
	if c == nil || !c.took(m, msg.statesPage, "failure classes") {
		return nil
	}
	for _, st := range msg.page.Items {
		m.statuses.put(st.RequestID, statusEntry{st: st, found: true})
		c.add(failure{ID: st.RequestID, Error: st.Error, At: st.UpdatedAt})
	}
	// Group after the first page, then every tenth, then at the end: grouping is not free
	// at 100k items, and the view is useful long before the last page.
	var group tea.Cmd
	if c.done || c.pages == 1 || c.pages%10 == 0 {
		group = m.groupClasses()
	}
	if c.done {
		m.refreshHistogram() // its failed counts come from these items
	}
	return tea.Batch(group, c.next(m))
}

// add records a failure, replacing an older answer for the same request (the auto-refresh
// reads failures that already were).
func (c *classesState) add(f failure) {
	if i, ok := c.ids[f.ID]; ok {
		c.failures[i] = f
		return
	}
	c.ids[f.ID] = len(c.failures)
	c.failures = append(c.failures, f)
}

// groupClasses groups the failures read so far over the window, in a command.
func (m *Model) groupClasses() tea.Cmd {
	c := m.cls
	if c == nil {
		return nil
	}
	c.groupSeq++
	c.grouping = true
	// A copy: add may replace an entry while the command reads. A request whose status
	// read since says it is no longer failed (redriven and processed) leaves its class.
	fs := make([]failure, 0, len(c.failures))
	for _, f := range c.failures {
		if e, ok := m.statuses.get(f.ID); ok && e.found && m.class(e.st.State) != inventory.ClassFailed {
			continue
		}
		fs = append(fs, f)
	}
	// A preset window ends now; "all time" spans the failures themselves (Group fills a
	// zero end from them).
	since, until := m.win.span(m.now)
	if !since.IsZero() && until.IsZero() {
		until = m.now
	}
	gen, seq, rules := m.gen, c.groupSeq, m.failRules()
	return func() tea.Msg {
		return classesGroupedMsg{gen: gen, seq: seq, n: len(fs), since: since, until: until,
			classes: groupFailures(fs, rules, since, until, sparkBuckets)}
	}
}

func (m *Model) onClassesGrouped(msg classesGroupedMsg) {
	c := m.cls
	if msg.gen != m.gen || c == nil || msg.seq != c.groupSeq {
		return
	}
	c.grouping = false
	var keep string
	if cl, ok := m.selectedClass(); ok {
		keep = cl.Key
	}
	c.classes, c.grouped, c.since, c.until = msg.classes, msg.n, msg.since, msg.until
	for i := range c.classes {
		if c.classes[i].Key == keep {
			c.cursor = i // the cursor stays on its class as the counts reorder them
		}
	}
	c.cursor = max(0, min(c.cursor, len(c.classes)-1))
	m.clampClasses()
}

// failRules are the environment's permanent/transient patterns.
func (m *Model) failRules() *failRules { return rulesFor(m.sess.Env) }

// windowChanged regroups the classes for a new window.
func (m *Model) windowChanged() {
	if m.cls != nil {
		m.cls.regroup = true
	}
}

// selectedClass is the class under the cursor of the classes view.
func (m *Model) selectedClass() (*failClass, bool) {
	c := m.cls
	if c == nil || c.cursor < 0 || c.cursor >= len(c.classes) {
		return nil, false
	}
	return &c.classes[c.cursor], true
}

// classRows is how many classes the view shows at once.
func (m *Model) classRows() int { return max(1, m.layout().bodyH-3) }

func (m *Model) clampClasses() {
	c := m.cls
	if c == nil {
		return
	}
	n, rows := len(c.classes), m.classRows()
	c.cursor = max(0, min(c.cursor, n-1))
	if c.cursor < c.top {
		c.top = c.cursor
	}
	if c.cursor >= c.top+rows {
		c.top = c.cursor - rows + 1
	}
	c.top = max(0, min(c.top, n-rows))
}

// flushRegroup groups again when the window changed during this Update.
func (m *Model) flushRegroup() tea.Cmd {
	if m.cls == nil || !m.cls.regroup {
		return nil
	}
	m.cls.regroup = false
	return m.groupClasses()
}

// onClassesKey handles the keys of the classes view.
func (m *Model) onClassesKey(msg tea.KeyPressMsg) tea.Cmd {
	km, c := m.km, m.cls
	if c == nil {
		return nil
	}
	move := func(to int) tea.Cmd {
		c.cursor = to
		m.clampClasses()
		return nil
	}
	if to, ok := cursorMove(km, msg, c.cursor, len(c.classes), m.classRows()); ok {
		return move(to)
	}
	switch {
	case key.Matches(msg, km.Back):
		if m.note.text != "" {
			m.note = note{}
			return nil
		}
		m.mode = modeList
		return m.schedulePreview()
	case key.Matches(msg, km.Open):
		if cl, ok := m.selectedClass(); ok {
			return m.showClass(cl)
		}
	case key.Matches(msg, km.Select):
		if cl, ok := m.selectedClass(); ok {
			m.markClass(cl)
			return move(c.cursor + 1)
		}
	case key.Matches(msg, km.SelectAll):
		m.markAllClasses()
	case key.Matches(msg, km.Refresh):
		m.note = note{}
		if c.err != nil {
			return c.next(m) // resumes from the page that failed
		}
		return m.startClasses()
	}
	return nil
}

// markClass selects a class's requests, or unselects them when all are selected.
func (m *Model) markClass(cl *failClass) {
	all := true
	for _, id := range cl.IDs {
		if !m.marked.has(id) {
			all = false
			break
		}
	}
	for _, id := range cl.IDs {
		if all {
			delete(m.marked, id)
		} else {
			m.marked[id] = struct{}{}
		}
	}
	what := "selected "
	if all {
		what = "unselected "
	}
	m.setNote(noteInfo, what+plural(len(cl.IDs), "request")+" of the class ("+commas(len(m.marked))+" selected in all) · R redrives the selection")
}

// markAllClasses selects every failed request in the window, or none when all are.
func (m *Model) markAllClasses() {
	c := m.cls
	all, n := true, 0
	for i := range c.classes {
		for _, id := range c.classes[i].IDs {
			n++
			if !m.marked.has(id) {
				all = false
			}
		}
	}
	for i := range c.classes {
		for _, id := range c.classes[i].IDs {
			if all {
				delete(m.marked, id)
			} else {
				m.marked[id] = struct{}{}
			}
		}
	}
	if all {
		m.setNote(noteInfo, "unselected the "+plural(n, "failed request")+" of every class")
		return
	}
	m.setNote(noteInfo, "selected the "+plural(n, "failed request")+" of every class · R redrives them · a again unselects")
}

// showClass shows a class's requests in the table (enter): a view of its own, as a
// status view is; esc goes back to the listing, E to the classes.
func (m *Model) showClass(cl *failClass) tea.Cmd {
	set := m.newRows()
	set.SetSort(m.all.field, m.all.asc)
	rs := make([]row, 0, len(cl.IDs))
	for _, id := range cl.IDs {
		rs = append(rs, m.rowOf(id))
	}
	set.Add(rs)
	m.classSet = set
	m.cls.openClass = cl.Key
	m.src = sourceClass
	m.mode = modeList
	m.cursor, m.top = 0, 0
	m.detail = nil
	m.clampScroll()
	return m.schedulePreview()
}

// rowOf is the listed row of id, or one known only from the status table: its key
// follows from the id; its size and age come with HEAD.
func (m *Model) rowOf(id string) row {
	if r, ok := m.all.Get(id); ok {
		return *r
	}
	k := id
	if m.sess.Env != nil {
		k = m.sess.Env.Key(id)
	}
	r := row{Key: k, ID: id, Size: -1}
	if h, ok := m.heads[k]; ok && h.Size >= 0 {
		r.Size = h.Size
		r.Modified = h.LastModified.UnixNano()
	}
	return r
}

// failuresSettled regroups the classes when a status read says one of their requests is
// no longer failed (a redrive processed it).
func (m *Model) failuresSettled(ids []string) {
	c := m.cls
	if c == nil {
		return
	}
	for _, id := range ids {
		if _, ok := c.ids[id]; ok && m.rowClass(id) != inventory.ClassFailed {
			c.regroup = true
			return
		}
	}
}
