package tui

import (
	"time"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"

	"github.com/stowage-cli/stowage/internal/inventory"
)

// The histogram (H): arrivals, processed, failed and lost per time bucket over the
// window, from what the TUI has read: arrivals and LOST from the listing, processed and
// failed from the statuses read (the failed items of the classes view, read through the
// status index, and the statuses of the rows shown). The chart and its table are drawn
// from the same buckets, so they always agree. Counting is a pass over every listed row,
// so it runs in a command (histInput holds what it reads), asked for when the chart is
// wanted (H, a window change, r, new data while it shows); so does the header's sparkline.

// histBucket is one bucket of the chart.
type histBucket struct {
	Start, End                        time.Time
	Arrivals, Processed, Failed, Lost int
}

// histView is the chart as last built.
type histView struct {
	buckets []histBucket
	step    time.Duration
	since   time.Time
	until   time.Time
	// known is how many listed rows in the window have a status read; listed is how many
	// rows are in the window: processed counts only the first.
	known, listed int
	failedFrom    string // where the failed counts come from
	processedFrom string // and the processed counts
}

// histState is the chart and the header's sparkline, and the commands that build them.
type histState struct {
	histView
	spark     string // the header's one-line sparkline of arrivals
	sparkFor  winBounds
	sparkRows int

	chartSeq, sparkSeq int  // bump with each build asked; older answers are dropped
	chartDue, sparkDue bool // asked during this Update: built at its end (flushHist)
	building           bool // a chart build is in flight
}

// histSteps are the bucket sizes the chart picks from: the smallest that gives at most
// maxBuckets buckets over the window.
var histSteps = []time.Duration{time.Minute, 5 * time.Minute, 15 * time.Minute, time.Hour, 3 * time.Hour,
	6 * time.Hour, 24 * time.Hour, 7 * 24 * time.Hour}

// histStep is the smallest step that gives at most maxBuckets buckets over d.
func histStep(d time.Duration, maxBuckets int) time.Duration {
	for _, s := range histSteps {
		if d/s < time.Duration(maxBuckets) {
			return s
		}
	}
	return histSteps[len(histSteps)-1]
}

// histInput is what a chart or a sparkline is counted from. rows is a prefix of the
// listing's records, which never change once added; the rest is copied, so the command
// reads it while Update goes on.
type histInput struct {
	since, until time.Time // the window's span; a zero since: from the first arrival on
	rows         []rec
	statuses     []histStatus // the statuses read of listed rows
	failures     []int64      // when each failure read through the index failed (unix ns)
	withFailures bool         // the classes view read the failures
	done         []int64      // processed times read through the index
	fromIndex    bool         // done is complete
	doneReading  bool         // the index is being read
}

// histStatus is a listed row's status as the chart counts it.
type histStatus struct {
	arrived    int64
	lost       bool // no item, and old enough
	found      bool
	class      inventory.Class
	at         int64 // updatedAt, unix ns
	failedSeen bool  // among the failures read through the index
}

// histInputOf gathers what the chart counts: its cost is the statuses read, not the rows.
func (m *Model) histInputOf(withStatuses bool) histInput {
	in := histInput{rows: m.all.rows[:len(m.all.rows):len(m.all.rows)]}
	in.since, in.until = m.win.span(m.now)
	if in.until.IsZero() {
		in.until = m.now
	}
	if c := m.cls; c != nil {
		in.withFailures = true
		in.failures = make([]int64, 0, len(c.failures))
		for _, f := range c.failures {
			if !f.At.IsZero() {
				in.failures = append(in.failures, f.At.UnixNano())
			}
		}
	}
	if !withStatuses {
		return in
	}
	if d := m.done; d != nil {
		in.fromIndex = d.done
		in.doneReading = d.err == nil
		in.done = d.times[:len(d.times):len(d.times)]
	}
	for id, e := range m.statuses.entries {
		i, ok := m.all.lookup(id)
		if !ok {
			continue
		}
		r := &m.all.rows[i]
		hs := histStatus{arrived: r.arrived(), found: e.found}
		if e.found {
			hs.class = m.class(e.st.State)
			if !e.st.UpdatedAt.IsZero() {
				hs.at = e.st.UpdatedAt.UnixNano()
			}
			if m.cls != nil {
				_, hs.failedSeen = m.cls.ids[id]
			}
		} else {
			hs.lost = m.isLostModified(r.modified)
		}
		in.statuses = append(in.statuses, hs)
	}
	return in
}

// span is the chart's span: the window, or for "all time" the first arrival (listed or
// failed) until now.
func (in *histInput) span() (since, until time.Time) {
	since, until = in.since, in.until
	if !since.IsZero() {
		return since, until
	}
	var first int64
	for i := range in.rows {
		if t := in.rows[i].arrived(); t != 0 && (first == 0 || t < first) {
			first = t
		}
	}
	for _, t := range in.failures {
		if first == 0 || t < first {
			first = t
		}
	}
	since = until.Add(-time.Hour)
	if first != 0 && first < since.UnixNano() {
		since = time.Unix(0, first).UTC()
	}
	return since, until
}

// buildHistogram counts the buckets; maxBuckets is what the screen has room for.
func buildHistogram(in histInput, maxBuckets int) histView {
	since, until := in.span()
	step := histStep(until.Sub(since), maxBuckets)
	start := since.Truncate(step)
	n := int(until.Sub(start)/step) + 1
	bs := make([]histBucket, n)
	for i := range bs {
		bs[i].Start = start.Add(time.Duration(i) * step)
		bs[i].End = bs[i].Start.Add(step)
	}
	lo, hi, origin := since.UnixNano(), until.UnixNano(), start.UnixNano()
	at := func(t int64) *histBucket {
		if t == 0 || t < lo || t > hi {
			return nil
		}
		i := int((t - origin) / int64(step))
		if i < 0 || i >= n {
			return nil
		}
		return &bs[i]
	}
	h := histView{step: step, since: since, until: until}
	if in.fromIndex {
		for _, t := range in.done {
			if b := at(t); b != nil {
				b.Processed++
			}
		}
	}
	if in.withFailures {
		h.failedFrom = "the index"
		for _, t := range in.failures {
			if b := at(t); b != nil {
				b.Failed++
			}
		}
	}
	for i := range in.rows {
		if b := at(in.rows[i].arrived()); b != nil {
			b.Arrivals++
			h.listed++
		}
	}
	for _, s := range in.statuses {
		b := at(s.arrived)
		if b != nil {
			h.known++
		}
		switch {
		case !s.found:
			if b != nil && s.lost {
				b.Lost++
			}
		case s.class == inventory.ClassDone:
			if ub := at(s.at); ub != nil && !in.fromIndex {
				ub.Processed++
			}
		case s.class == inventory.ClassFailed && !s.failedSeen:
			if ub := at(s.at); ub != nil {
				ub.Failed++
			}
		}
	}
	if h.failedFrom == "" {
		h.failedFrom = "the statuses read"
	}
	switch {
	case in.fromIndex:
		h.processedFrom = "the index"
	case in.doneReading:
		h.processedFrom = "reading the index…"
	case h.known < h.listed:
		h.processedFrom = "statuses read for " + commas(h.known) + " of " + commas(h.listed)
	default:
		h.processedFrom = "the statuses read"
	}
	h.buckets = bs
	return h
}

// histBuiltMsg is a chart or a sparkline counted by a command.
type histBuiltMsg struct {
	gen, seq int
	spark    bool // a sparkline (spark, sparkFor, rows), else a chart
	chart    histView
	line     string
	sparkFor winBounds
	rows     int
}

// flushHist starts the builds asked for during this Update: one each, however often
// they were asked.
func (m *Model) flushHist() tea.Cmd {
	h := &m.hist
	var cmds []tea.Cmd
	if h.chartDue {
		h.chartDue = false
		if m.mode == modeHistogram {
			h.chartSeq++
			h.building = true
			in, gen, seq, maxBuckets := m.histInputOf(true), m.gen, h.chartSeq, m.histMaxBuckets()
			cmds = append(cmds, func() tea.Msg {
				return histBuiltMsg{gen: gen, seq: seq, chart: buildHistogram(in, maxBuckets)}
			})
		}
	}
	if h.sparkDue {
		h.sparkDue = false
		cmds = append(cmds, m.sparkCmd())
	}
	return tea.Batch(cmds...)
}

func (m *Model) onHistBuilt(msg histBuiltMsg) {
	h := &m.hist
	switch {
	case msg.gen != m.gen:
	case msg.spark && msg.seq == h.sparkSeq:
		h.spark, h.sparkFor, h.sparkRows = msg.line, msg.sparkFor, msg.rows
	case !msg.spark && msg.seq == h.chartSeq:
		h.histView, h.building = msg.chart, false
	}
}

// openHistogram answers H: the chart, built now; the failed items are read through the
// status index for it too (as for E), once.
func (m *Model) openHistogram() tea.Cmd {
	if m.mode == modeHistogram {
		m.mode = modeList
		return m.schedulePreview()
	}
	m.mode = modeHistogram
	m.fullHelp = false
	var cmds []tea.Cmd
	if m.done == nil {
		cmds = append(cmds, m.startDoneReader())
	}
	if m.cls == nil {
		cmds = append(cmds, m.startClasses())
	}
	m.refreshHistogram()
	return tea.Batch(cmds...)
}

// histMaxBuckets is how many buckets fit: one row each, under the chart's header.
func (m *Model) histMaxBuckets() int { return max(4, m.layout().bodyH-4) }

func (m *Model) onHistogramKey(msg tea.KeyPressMsg) tea.Cmd {
	km := m.km
	switch {
	case key.Matches(msg, km.Back):
		if m.note.text != "" {
			m.note = note{}
			return nil
		}
		m.mode = modeList
		return m.schedulePreview()
	case key.Matches(msg, km.Refresh):
		m.note = note{}
		cmd := m.startDoneReader()
		m.refreshHistogram()
		return cmd
	}
	return nil
}

// refreshHistogram builds the chart again, at the end of this Update, when it shows and
// what it counts changed.
func (m *Model) refreshHistogram() {
	if m.mode == modeHistogram {
		m.hist.chartDue = true
	}
}

// headerSparkBuckets is how many runes the header's sparkline has.
const headerSparkBuckets = 12

// updateHeaderSpark counts the arrivals of the listed rows over the window for the
// header's sparkline, once the listing is complete (again when the window or the rows
// change): one pass over the rows in a command, not one per page.
func (m *Model) updateHeaderSpark() {
	m.hist.sparkDue = true
}

func (m *Model) sparkCmd() tea.Cmd {
	h := &m.hist
	if !m.list.done || m.all.Len() == 0 {
		h.spark = ""
		return nil
	}
	b := m.win.bounds(m.now)
	if b == h.sparkFor && m.all.Len() == h.sparkRows && h.spark != "" {
		return nil
	}
	h.sparkSeq++
	in, gen, seq := m.histInputOf(false), m.gen, h.sparkSeq
	return func() tea.Msg {
		return histBuiltMsg{gen: gen, seq: seq, spark: true, line: headerSpark(in), sparkFor: b, rows: len(in.rows)}
	}
}

// headerSpark is the sparkline of the arrivals over the chart's span.
func headerSpark(in histInput) string {
	since, until := in.span()
	span := until.Sub(since)
	if span <= 0 {
		return ""
	}
	counts := make([]int, headerSparkBuckets)
	lo, hi := since.UnixNano(), until.UnixNano()
	for i := range in.rows {
		t := in.rows[i].arrived()
		if t == 0 || t < lo || t > hi {
			continue
		}
		k := int(int64(headerSparkBuckets) * (t - lo) / int64(span))
		counts[max(0, min(k, headerSparkBuckets-1))]++
	}
	return sparkline(counts)
}

// doneReader reads the processed requests' times through the status index, for the
// histogram's processed counts, where status.index is set: the statuses the table read
// cover only the rows shown. Only the times are kept (8 bytes a request).
type doneReader struct {
	statePager         // the terminal states
	times      []int64 // updatedAt, unix ns
}

type donePageMsg struct{ statesPage }

// startDoneReader reads the processed times again from the start (H, r in the chart).
func (m *Model) startDoneReader() tea.Cmd {
	env := m.sess.Env
	if env == nil || env.Status.Index == "" || m.sess.Statuses == nil || len(env.Status.TerminalStates) == 0 {
		m.done = nil
		return nil
	}
	wrap := func(pg statesPage) tea.Msg { return donePageMsg{pg} }
	m.done = &doneReader{statePager: m.newStatePager(append([]string(nil), env.Status.TerminalStates...), wrap)}
	return m.done.next(m)
}

func (m *Model) onDonePage(msg donePageMsg) tea.Cmd {
	d := m.done
	if d == nil || !d.took(m, msg.statesPage, "histogram") {
		return nil
	}
	for _, st := range msg.page.Items {
		if !st.UpdatedAt.IsZero() {
			d.times = append(d.times, st.UpdatedAt.UnixNano())
		}
	}
	if d.done {
		m.refreshHistogram()
		return nil
	}
	return d.next(m)
}
