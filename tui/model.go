package tui

import (
	"context"
	"os"
	"time"

	"charm.land/bubbles/v2/help"
	"charm.land/bubbles/v2/spinner"
	tea "charm.land/bubbletea/v2"

	"github.com/stowage-cli/stowage/awsclient"
	"github.com/stowage-cli/stowage/internal/inventory"
)

// viewMode is what the body shows.
type viewMode int

const (
	modeList      viewMode = iota // the table, with the preview pane when there is room
	modeDetail                    // the selected request full screen
	modeClasses                   // the failure classes (E)
	modeHistogram                 // the chart over the time window (H)
)

// source is which rows the table shows.
type source int

const (
	sourceAll    source = iota // the bucket listing
	sourceStatus               // requests in one state, from the status table
	sourceLost                 // old objects without a status item
	sourceClass                // the requests of one failure class (classes.go)
)

// listState tracks one paged listing (objects, or status items of one state).
type listState struct {
	seq     int
	token   string // the token of the next page to ask for
	loading bool
	done    bool
	pages   int
	err     error
	last    string      // the last key listed, for the progress of an in-order listing
	stream  *listStream // the objects listing running in the background (listing_stream.go)
}

// lostState is the reconciliation of the listing against the status table.
type lostState struct {
	seq        int
	queue      []int32 // indices into the listing still to check
	next       int     // listing rows already considered as candidates
	candidates int
	checked    int
	inFlight   bool
	reported   bool // the "done" note was shown
	err        error
}

// note is the status line message.
type note struct {
	text  string
	level noteLevel
	retry bool // "press r to retry" applies
	// about is the request (or the : input) the note is about; such a note goes once the
	// operator moves on (dropNoteAbout), so "not found" never reads as news about the next.
	about string
}

type noteLevel int

const (
	noteInfo noteLevel = iota
	noteOK
	noteWarn
	noteError
)

// viewPrefs are the payload toggles that carry over from one request to the next.
type viewPrefs struct {
	raw, wrap bool
	tab       detailTab
}

// Model is the root and only Bubble Tea model of the TUI.
type Model struct {
	ctx  context.Context
	opts Options
	sess Session
	gen  int // bumps on environment switch and full refresh: older results are dropped

	km          KeyMap
	st          Styles
	stylesKnown bool
	help        help.Model
	spin        spinner.Model
	spinning    bool
	now         time.Time

	width, height int

	all  *rowSet
	list listState

	src         source
	byState     *rowSet
	stateFilter string
	stateList   listState
	lostSet     *rowSet
	lost        lostState
	classSet    *rowSet // the requests of the class opened with enter in the classes view

	cursor, top int // position in the active set's view

	statuses      *statusCache
	statusBatches int                         // visible-row status batches in flight
	statusErr     error                       // the last status batch failed; joining waits for r
	heads         map[string]awsclient.Object // HEAD results by key, for the content-type column
	headBusy      map[string]bool

	mode       viewMode
	pane       bool
	detail     *detail
	previewSeq int
	detailSeq  int
	histSeq    int       // bumps with each history tab read
	tlSeq      int       // bumps with each timeline gathering
	prefs      viewPrefs // how the last payload was viewed, kept for the next

	input   inputLine
	dialogs []dialog

	marked  selection                 // requests marked for a redrive
	rd      *redriveState             // the redrive being planned, run or last finished
	rdSeq   int                       // bumps with each plan; older plan results are dropped
	watch   *watchState               // statuses of redriven requests, read until they settle
	history map[string][]redriveEvent // this session's redrives, by original request ID

	win  timeWindow    // the time window (window.go)
	cls  *classesState // the failure classes and the failed items they group (classes.go)
	hist histState     // the chart, the header's sparkline and their builds (histogram.go)
	done *doneReader   // the processed times read through the index for the chart
	auto autoRefresh   // the k9s-style refresh (autorefresh.go)

	principal  string // who the credentials are (Ops/alice), from STS; "" when unknown
	note       note
	cols       colPrefs // hidden columns and the wide toggle
	fullHelp   bool     // the full help replaces the body
	helpScroll int
	envSeq     int
	pagerSeq   int // bumps with each reading of states (state_pager.go)
	quitting   bool
}

// New builds the model. Nothing is read from AWS until the program starts it (Init).
// *Model is the tea.Model: every method has a pointer receiver, so Init and Update change
// the one model the program holds.
func New(opts Options) *Model {
	opts.defaults()
	if opts.Context == nil {
		opts.Context = context.Background()
	}
	dark := true
	if opts.Dark != nil {
		dark = *opts.Dark
	}
	m := &Model{
		ctx:         opts.Context,
		opts:        opts,
		km:          DefaultKeyMap(),
		st:          NewStyles(dark),
		stylesKnown: opts.Dark != nil,
		help:        help.New(),
		now:         opts.Now(),
		pane:        true,
		win:         allTime(),
		width:       80,
		height:      24,
	}
	m.help.Styles = m.st.Help
	m.spin = spinner.New(spinner.WithSpinner(spinner.MiniDot), spinner.WithStyle(m.st.Spinner))
	m.resetSession(opts.Session)
	return m
}

// resetSession starts over on sess: rows, statuses and views are dropped.
func (m *Model) resetSession(sess Session) {
	if m.marked == nil || m.sess.Env == nil || sess.Env == nil || m.sess.Env.Name != sess.Env.Name {
		// A selection and a redrive history belong to one environment.
		m.marked = selection{}
		m.history = map[string][]redriveEvent{}
		m.watch = nil
	}
	m.sess = sess
	m.principal = ""
	m.gen++
	m.all = m.newRows()
	m.statuses = newStatusCache(m.all)
	m.statuses.win = m.all.win
	m.ageStatuses()
	m.cls = nil
	m.done = nil
	m.auto.reset()
	m.statusBatches = 0
	m.statusErr = nil
	m.byState, m.lostSet, m.classSet = nil, nil, nil
	m.src = sourceAll
	m.stateFilter = ""
	m.list.stream.stop()
	m.list = listState{seq: m.list.seq + 1}
	m.stateList = listState{}
	m.lost = lostState{seq: m.lost.seq + 1}
	m.heads = map[string]awsclient.Object{}
	m.headBusy = map[string]bool{}
	m.cursor, m.top = 0, 0
	m.mode = modeList
	m.detail = nil
	m.input = inputLine{}
}

// Init asks for the background colour and who the credentials are, starts the listing,
// and sets the garbage collector for a heap of rows (gc.go).
func (m *Model) Init() tea.Cmd {
	tuneGC(os.Getenv)
	cmds := []tea.Cmd{m.startListing(), m.identity(), m.startSpinner(), m.clockTick(), m.startAutoRefresh()}
	if !m.stylesKnown {
		cmds = append(cmds, tea.RequestBackgroundColor)
	}
	return tea.Batch(cmds...)
}

// active is the row set the table shows.
func (m *Model) active() *rowSet {
	switch m.src {
	case sourceStatus:
		if m.byState != nil {
			return m.byState
		}
	case sourceLost:
		if m.lostSet != nil {
			return m.lostSet
		}
	case sourceClass:
		if m.classSet != nil {
			return m.classSet
		}
	}
	return m.all
}

// selected returns the row under the cursor.
func (m *Model) selected() (*row, bool) {
	s := m.active()
	if m.cursor < 0 || m.cursor >= s.ViewLen() {
		return nil, false
	}
	return s.At(m.cursor), true
}

// newRows is an empty row set that sorts by this model's statuses and filters on every
// column the table shows.
func (m *Model) newRows() *rowSet {
	s := newRowSet(m.rankOf)
	s.text = m.rowText
	s.texted = m.textedIDs
	s.timeOf = m.rowTime
	s.pinned = m.isFresh
	s.win = m.win.bounds(m.now)
	return s
}

// rankOf ranks a request's status for sorting: higher is worse (inventory's Severity).
// A status not read yet ranks with "no item".
func (m *Model) rankOf(id string) int {
	return m.rowClass(id).Severity()
}

// rowClass is what a listed request's status means (inventory.Classify, one definition).
func (m *Model) rowClass(id string) inventory.Class {
	e, ok := m.statuses.get(id)
	switch {
	case !ok:
		return inventory.ClassNone
	case !e.found:
		if m.lostSet != nil && m.lostSet.Has(id) {
			return inventory.ClassLost
		}
		if r, ok := m.all.Get(id); ok && m.isLostCandidate(r) {
			return inventory.ClassLost
		}
		return inventory.ClassNone
	case e.st.State == "":
		return inventory.ClassPending
	}
	return m.class(e.st.State)
}

// class is what a state means in this environment.
func (m *Model) class(state string) inventory.Class { return inventory.Classify(state, m.sess.Env) }

func (m *Model) isTerminal(state string) bool { return m.class(state) == inventory.ClassDone }

// lostAfter is the environment's lost_after (the config's default without one).
func (m *Model) lostAfter() time.Duration { return inventory.LostAfter(m.sess.Env) }

// ageStatuses tells the status counts which listed rows are now old enough to be LOST.
func (m *Model) ageStatuses() {
	m.statuses.setCutoff(m.now.Add(-m.lostAfter()).UnixNano())
}

// isLostCandidate reports whether a row is old enough that no status item means LOST.
func (m *Model) isLostCandidate(r *row) bool { return m.isLostModified(r.Modified) }

// isLostModified is isLostCandidate of a row modified at mod (unix ns, 0 unknown).
func (m *Model) isLostModified(mod int64) bool {
	return inventory.IsLost(awsclient.Object{LastModified: unixTime(mod)}, m.lostAfter(), m.now)
}

// busy reports whether any I/O is in flight, for the spinner.
func (m *Model) busy() bool {
	if m.list.loading || m.stateList.loading || m.lost.inFlight || len(m.statuses.pending) > 0 ||
		m.cls != nil && m.cls.loading || m.done != nil && m.done.loading {
		return true
	}
	if d := m.detail; d != nil && d.loading() {
		return true
	}
	for _, dl := range m.dialogs {
		if dl.busy() {
			return true
		}
	}
	return m.redriveActive() || m.watch.active()
}

func (m *Model) startSpinner() tea.Cmd {
	if m.spinning || !m.busy() {
		return nil
	}
	m.spinning = true
	return m.spin.Tick
}

// call runs f in a command with a context bounded by the call timeout.
func (m *Model) call(f func(ctx context.Context) tea.Msg) tea.Cmd {
	parent, timeout := m.ctx, m.opts.CallTimeout
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(parent, timeout)
		defer cancel()
		return f(ctx)
	}
}

// setErr shows err in the status line with its remedy.
func (m *Model) setErr(what string, err error) {
	m.note = note{text: errorText(what, err), level: noteError, retry: retryable(err)}
}

// clockMsg re-reads the clock for the relative times on screen.
type clockMsg struct{}

func (m *Model) clockTick() tea.Cmd {
	if m.opts.ClockTick < 0 {
		return nil
	}
	return tea.Tick(m.opts.ClockTick, func(time.Time) tea.Msg { return clockMsg{} })
}

func (m *Model) setNote(level noteLevel, text string) {
	m.note = note{text: text, level: level}
}

// aboutJump marks notes about what was typed or pasted at :.
const aboutJump = "\x00jump"

// setNoteAbout shows a note about one request (or aboutJump).
func (m *Model) setNoteAbout(level noteLevel, text, about string) {
	m.note = note{text: text, level: level, about: about}
}

// dropNoteAbout clears a note about a request other than keep: the view moved on.
func (m *Model) dropNoteAbout(keep string) {
	if m.note.about != "" && m.note.about != keep {
		m.note = note{}
	}
}
