package tui

import (
	"context"
	"time"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"

	"github.com/stowage-cli/stowage/awsclient"
	"github.com/stowage-cli/stowage/internal/inventory"
)

// The histogram (H): arrivals, processed, failed and lost per time bucket over the
// window, from what the TUI has read: arrivals and LOST from the listing, processed and
// failed from the statuses read (the failed items of the classes view, read through the
// status index, and the statuses of the rows shown). The chart and its table are drawn
// from the same buckets, so they always agree. Built in Update when it is asked for (H,
// a window change, r, new data while it shows): one pass over the rows, no I/O.

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
	stale         bool   // data changed since it was built
	spark         string // the header's one-line sparkline of arrivals
	sparkFor      winBounds
	sparkRows     int
}

// histSteps are the bucket sizes the chart picks from: the smallest that gives at most
// maxBuckets buckets over the window.
var histSteps = []time.Duration{time.Minute, 5 * time.Minute, 15 * time.Minute, time.Hour, 3 * time.Hour,
	6 * time.Hour, 24 * time.Hour, 7 * 24 * time.Hour}

// histSpan is the window the chart spans at now: the window, or for "all time" the
// listed rows' first arrival until now.
func (m *Model) histSpan() (since, until time.Time) {
	since, until = m.win.span(m.now)
	if until.IsZero() {
		until = m.now
	}
	if since.IsZero() {
		var first int64
		for i := range m.all.rows {
			if t := m.all.rows[i].arrived(); t != 0 && (first == 0 || t < first) {
				first = t
			}
		}
		if m.cls != nil {
			for _, f := range m.cls.failures {
				if t := f.At.UnixNano(); !f.At.IsZero() && (first == 0 || t < first) {
					first = t
				}
			}
		}
		since = until.Add(-time.Hour)
		if first != 0 && first < since.UnixNano() {
			since = time.Unix(0, first).UTC()
		}
	}
	return since, until
}

// histStep is the smallest step that gives at most maxBuckets buckets over d.
func histStep(d time.Duration, maxBuckets int) time.Duration {
	for _, s := range histSteps {
		if d/s < time.Duration(maxBuckets) {
			return s
		}
	}
	return histSteps[len(histSteps)-1]
}

// buildHistogram counts the buckets; maxBuckets is what the screen has room for.
func (m *Model) buildHistogram(maxBuckets int) {
	since, until := m.histSpan()
	step := histStep(until.Sub(since), maxBuckets)
	start := since.Truncate(step)
	n := int(until.Sub(start)/step) + 1
	bs := make([]histBucket, n)
	for i := range bs {
		bs[i].Start = start.Add(time.Duration(i) * step)
		bs[i].End = bs[i].Start.Add(step)
	}
	at := func(t time.Time) *histBucket {
		if t.IsZero() || t.Before(since) || !t.Before(until) && !t.Equal(until) {
			return nil
		}
		i := int(t.Sub(start) / step)
		if i < 0 || i >= n {
			return nil
		}
		return &bs[i]
	}
	h := histView{step: step, since: since, until: until, sparkFor: m.hist.sparkFor, spark: m.hist.spark, sparkRows: m.hist.sparkRows}
	fromIndex := m.done != nil && m.done.done
	if fromIndex {
		for _, t := range m.done.times {
			if b := at(time.Unix(0, t).UTC()); b != nil {
				b.Processed++
			}
		}
	}
	failedSeen := map[string]bool{}
	if c := m.cls; c != nil {
		h.failedFrom = "the index"
		for _, f := range c.failures {
			failedSeen[f.ID] = true
			if b := at(f.At); b != nil {
				b.Failed++
			}
		}
	}
	for i := range m.all.rows {
		r := &m.all.rows[i]
		arrived := time.Unix(0, r.arrived()).UTC()
		b := at(arrived)
		if b != nil {
			b.Arrivals++
			h.listed++
		}
		e, ok := m.statuses.get(r.ID)
		if !ok {
			continue
		}
		if b != nil {
			h.known++
		}
		switch {
		case !e.found:
			if b != nil && m.isLostCandidate(r) {
				b.Lost++
			}
		case m.class(e.st.State) == inventory.ClassDone:
			if fromIndex {
				break
			}
			if ub := at(e.st.UpdatedAt); ub != nil {
				ub.Processed++
			}
		case m.class(e.st.State) == inventory.ClassFailed && !failedSeen[r.ID]:
			if ub := at(e.st.UpdatedAt); ub != nil {
				ub.Failed++
			}
		}
	}
	if h.failedFrom == "" {
		h.failedFrom = "the statuses read"
	}
	switch {
	case fromIndex:
		h.processedFrom = "the index"
	case m.done != nil && m.done.err == nil:
		h.processedFrom = "reading the index…"
	case h.known < h.listed:
		h.processedFrom = "statuses read for " + commas(h.known) + " of " + commas(h.listed)
	default:
		h.processedFrom = "the statuses read"
	}
	h.buckets = bs
	m.hist = h
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
	m.buildHistogram(m.histMaxBuckets())
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
		m.buildHistogram(m.histMaxBuckets())
		return cmd
	}
	return nil
}

// refreshHistogram builds the chart again when it shows and what it counts changed.
func (m *Model) refreshHistogram() {
	if m.mode == modeHistogram {
		m.buildHistogram(m.histMaxBuckets())
	}
}

// headerSparkBuckets is how many runes the header's sparkline has.
const headerSparkBuckets = 12

// updateHeaderSpark counts the arrivals of the listed rows over the window for the
// header's sparkline, once the listing is complete (again when the window or the rows
// change): one pass over the rows, not one per page.
func (m *Model) updateHeaderSpark() {
	if !m.list.done || m.all.Len() == 0 {
		m.hist.spark = ""
		return
	}
	b := m.win.bounds(m.now)
	if b == m.hist.sparkFor && m.all.Len() == m.hist.sparkRows && m.hist.spark != "" {
		return
	}
	since, until := m.histSpan()
	span := until.Sub(since)
	if span <= 0 {
		m.hist.spark = ""
		return
	}
	counts := make([]int, headerSparkBuckets)
	for i := range m.all.rows {
		t := m.all.rows[i].arrived()
		if t == 0 || t < since.UnixNano() || t > until.UnixNano() {
			continue
		}
		k := int(int64(headerSparkBuckets) * (t - since.UnixNano()) / int64(span))
		counts[max(0, min(k, headerSparkBuckets-1))]++
	}
	m.hist.spark, m.hist.sparkFor, m.hist.sparkRows = sparkline(counts), b, m.all.Len()
}

// doneReader reads the processed requests' times through the status index, for the
// histogram's processed counts, where status.index is set: the statuses the table read
// cover only the rows shown. Only the times are kept (8 bytes a request).
type doneReader struct {
	seq    int
	states []string
	at     int
	token  string
	pages  int
	loading,
	done bool
	err   error
	times []int64 // updatedAt, unix ns
}

type donePageMsg struct {
	gen, seq int
	state    string
	page     awsclient.StatusPage
	err      error
}

// startDoneReader reads the processed times again from the start (H, r in the chart).
func (m *Model) startDoneReader() tea.Cmd {
	env := m.sess.Env
	if env == nil || env.Status.Index == "" || m.sess.Statuses == nil || len(env.Status.TerminalStates) == 0 {
		m.done = nil
		return nil
	}
	seq := 1
	if m.done != nil {
		seq = m.done.seq + 1
	}
	m.done = &doneReader{seq: seq, states: append([]string(nil), env.Status.TerminalStates...)}
	return m.nextDonePage()
}

func (m *Model) nextDonePage() tea.Cmd {
	d := m.done
	if d == nil || d.loading || d.done {
		return nil
	}
	d.loading = true
	gen, seq, state, token, statuses, size := m.gen, d.seq, d.states[d.at], d.token, m.sess.Statuses, m.opts.PageSize
	return m.call(func(ctx context.Context) tea.Msg {
		page, err := statuses.ListByStatus(ctx, state, token, size)
		return donePageMsg{gen: gen, seq: seq, state: state, page: page, err: err}
	})
}

func (m *Model) onDonePage(msg donePageMsg) tea.Cmd {
	d := m.done
	if msg.gen != m.gen || d == nil || msg.seq != d.seq {
		return nil
	}
	d.loading = false
	if msg.err != nil {
		d.err = msg.err
		m.setErr("histogram: reading "+msg.state, msg.err)
		return nil
	}
	for _, st := range msg.page.Items {
		if !st.UpdatedAt.IsZero() {
			d.times = append(d.times, st.UpdatedAt.UnixNano())
		}
	}
	d.pages++
	d.token = msg.page.NextToken
	if d.token == "" {
		d.at++
		if d.at == len(d.states) {
			d.done = true
			m.refreshHistogram()
			return nil
		}
	}
	return m.nextDonePage()
}
