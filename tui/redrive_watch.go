package tui

import (
	"context"
	"strconv"
	"strings"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/stowage-cli/stowage/awsclient"
	"github.com/stowage-cli/stowage/internal/sanitize"
	"github.com/stowage-cli/stowage/redrive"
)

// While a run runs, and after it, the statuses of the requests it delivered are read
// (BatchGet, in a ticking command) and the rows update as the answers come. While it runs
// the watch follows the run's journal to learn what was delivered, and reads once a
// WatchInterval at most batchGetMax of them, the newest first; once it has ended, it
// reads every request without a verdict, backing off, until each has one (redrive's
// Verdicts: a new done or failed status) or WatchTimeout has passed since the end.

// watchRun is one run's part of the watch.
type watchRun struct {
	rd    *redriveState
	v     *redrive.Verdicts
	live  bool                           // the run is running: its journal is followed
	off   int64                          // how far the journal was read
	pre   map[string]*redrive.StatusRead // pre-send reads from the journal
	since time.Duration                  // the watch's waited time when the run ended
	// expired: WatchTimeout passed after the end with requests still without a verdict.
	expired bool
}

// pending is how many of the run's requests still wait for a verdict: while it runs,
// those not yet delivered too.
func (r *watchRun) pending() int {
	switch {
	case r.expired:
		return 0
	case r.live:
		return max(0, len(r.rd.manifest.Items)-(r.v.Len()-len(r.v.Pending())))
	}
	return len(r.v.Pending())
}

// watchState follows the redriven requests of this session's runs.
type watchState struct {
	runs    []*watchRun
	waited  time.Duration // the sum of the waits so far: the timeout is counted in it, not on a clock
	delay   time.Duration // the next wait
	ticking bool          // a tick or a read is on its way
	err     error         // the last read failed; the watch keeps trying, slower
}

type (
	watchTickMsg struct{ w *watchState }
	watchReadMsg struct {
		w       *watchState
		ids     []string
		found   map[string]awsclient.Status
		err     error
		journal map[*watchRun]journalRead
	}
	// journalRead is what a live run's journal gained since the last read.
	journalRead struct {
		recs []redrive.Record
		next int64
	}
)

// active: a run is followed live, or requests still wait for their verdict.
func (w *watchState) active() bool {
	if w == nil {
		return false
	}
	for _, r := range w.runs {
		if r.live {
			return true
		}
	}
	return w.pending() > 0
}

// pending is how many requests wait for their verdict.
func (w *watchState) pending() int {
	n := 0
	for _, r := range w.runs {
		n += r.pending()
	}
	return n
}

func (m *Model) ensureWatch() *watchState {
	if m.watch == nil {
		m.watch = &watchState{}
	}
	return m.watch
}

// runOf is s's part of the watch, nil when it has none.
func (w *watchState) runOf(s *redriveState) *watchRun {
	if w == nil {
		return nil
	}
	for _, r := range w.runs {
		if r.rd == s {
			return r
		}
	}
	return nil
}

// watchLive starts following a run that has just started, so its rows refresh while it
// runs.
func (m *Model) watchLive(s *redriveState) tea.Cmd {
	if m.sess.Statuses == nil || s.journal == "" {
		return nil
	}
	w := m.ensureWatch()
	w.runs = append(w.runs, &watchRun{rd: s, v: redrive.NewVerdicts(nil, m.sess.Env), live: true, pre: map[string]*redrive.StatusRead{}})
	s.watch = w
	w.delay = m.opts.Redrive.WatchInterval
	return m.watchTick(w)
}

// watchRun follows what a finished run delivered (or may have delivered) to its
// verdicts, keeping those read while it ran.
func (m *Model) watchRun(s *redriveState) tea.Cmd {
	rep := s.report
	if rep == nil || m.sess.Statuses == nil {
		return nil
	}
	w := m.ensureWatch()
	v := redrive.NewVerdicts(redrive.VerdictTargets(rep, s.manifest), m.sess.Env)
	r := w.runOf(s)
	if r == nil {
		r = &watchRun{rd: s}
		w.runs = append(w.runs, r)
	} else {
		v.Merge(r.v)
	}
	r.v, r.live, r.since = v, false, w.waited
	s.watch = w
	for _, it := range rep.Items {
		if vd, ok := v.Of(it.RequestID); ok && vd.Kind != redrive.VerdictNone {
			m.setVerdict(it.RequestID, vd, false) // read while the run ran
		}
	}
	if r.pending() == 0 {
		return nil
	}
	w.delay = m.opts.Redrive.WatchInterval
	w.err = nil
	return m.watchTick(w)
}

func (m *Model) watchTick(w *watchState) tea.Cmd {
	if w.ticking || !w.active() {
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
	// A live run's reads are capped, newest first; a finished run's are all read.
	type follow struct {
		r    *watchRun
		path string
		off  int64
	}
	var follows []follow
	var ids []string
	seen := map[string]bool{}
	live := false
	for _, r := range w.runs {
		if r.live {
			live = true
			follows = append(follows, follow{r, r.rd.journal, r.off})
		}
		if r.expired {
			continue
		}
		for _, id := range r.v.Pending() {
			if !seen[id] {
				seen[id] = true
				ids = append(ids, id)
			}
		}
	}
	mode := map[*watchRun]redrive.Mode{}
	for _, f := range follows {
		mode[f.r] = f.r.rd.manifest.Mode
	}
	statuses := m.sess.Statuses
	return m.call(func(ctx context.Context) tea.Msg {
		out := watchReadMsg{w: w, found: map[string]awsclient.Status{}, journal: map[*watchRun]journalRead{}}
		var fresh []string
		for _, f := range follows {
			recs, next, err := redrive.ReadJournalFrom(f.path, f.off)
			if err != nil {
				continue // not written yet, or gone: the report decides at the end
			}
			out.journal[f.r] = journalRead{recs: recs, next: next}
			for _, rec := range recs {
				id := rec.ID
				if mode[f.r] == redrive.ModeReupload {
					id = rec.NewRequestID
				}
				if (rec.Type == redrive.RecDelivered || rec.Type == redrive.RecUnknown) && id != "" && !seen[id] {
					seen[id] = true
					fresh = append(fresh, id)
				}
			}
		}
		read := append(fresh, ids...)
		if live && len(read) > batchGetMax {
			// While a run sends, one BatchGet a tick: the newest deliveries first.
			read = read[:batchGetMax]
		}
		for i := 0; i < len(read); i += batchGetMax {
			part, err := statuses.BatchGet(ctx, read[i:min(len(read), i+batchGetMax)])
			if err != nil {
				out.ids, out.err = read[:i], err
				return out
			}
			for id, st := range part {
				out.found[id] = st
			}
		}
		out.ids = read
		return out
	})
}

func (m *Model) onWatchRead(msg watchReadMsg) tea.Cmd {
	w := m.watch
	if msg.w != w {
		return nil
	}
	w.ticking = false
	for r, jr := range msg.journal {
		if !r.live {
			continue // it ended meanwhile: its report's targets replaced these
		}
		r.off = jr.next
		for _, t := range redrive.LiveTargets(jr.recs, r.rd.manifest.Mode, r.pre) {
			r.v.Add(t)
		}
	}
	for _, r := range w.runs {
		if r.expired {
			continue
		}
		for _, origin := range r.v.Absorb(msg.ids, msg.found) {
			if !r.live {
				vd, _ := r.v.Of(origin)
				m.setVerdict(origin, vd, false)
			}
		}
	}
	// The outcome by failure class, for the summary: counted here, once per read, not
	// per frame.
	for _, r := range w.runs {
		if !r.live && r.v.Len() > 0 {
			r.rd.byClass = r.v.ByClass(m.failRules())
		}
	}
	// The rows (and the open request) show what was read.
	if len(msg.ids) > 0 {
		read := make([]string, 0, len(msg.ids))
		for _, id := range msg.ids {
			if _, ok := msg.found[id]; ok {
				read = append(read, id) // an item missing now was there before: keep the row's
			}
		}
		m.absorbStatuses(read, msg.found)
		if d := m.detail; d != nil {
			if st, ok := msg.found[d.id]; ok {
				d.st, d.stFound, d.info = st, true, nil
			}
		}
	}
	live := false
	for _, r := range w.runs {
		live = live || r.live
	}
	switch {
	case msg.err != nil:
		w.err = msg.err
		w.delay = min(2*w.delay, 3*m.opts.Redrive.WatchMaxInterval)
	case live:
		w.err, w.delay = nil, m.opts.Redrive.WatchInterval
	default:
		w.err = nil
		w.delay = min(w.delay*3/2, m.opts.Redrive.WatchMaxInterval)
	}
	for _, r := range w.runs {
		if r.live || r.expired || r.pending() == 0 || w.waited-r.since < m.opts.Redrive.WatchTimeout {
			continue
		}
		r.expired = true
		for _, origin := range r.v.PendingOrigins() {
			m.setVerdict(origin, redrive.Verdict{}, true)
		}
	}
	if !w.active() {
		text := "redriven requests: " + w.summary(m)
		if s := m.rd; s != nil && s.phase == rdFinished && !s.summarySeen && !m.redriveShown() {
			text += " · R shows the summary"
		}
		level := noteOK
		if !w.allProcessed() {
			level = noteWarn // failed again, or no verdict
		}
		m.setNote(level, text)
		return nil
	}
	return m.watchTick(w)
}

// setVerdict records what the processor made of a request's last redrive.
func (m *Model) setVerdict(origin string, vd redrive.Verdict, expired bool) {
	ev := m.history[origin]
	if len(ev) == 0 {
		return
	}
	last := &ev[len(ev)-1]
	last.after, last.verdict, last.expired = vd.State, vd.Kind, expired
	if d := m.detail; d != nil && d.id == origin {
		d.info = nil
	}
}

// summary is the outcome of every finished run watched, summed: "3 delivered → 2
// PROCESSED, 1 FAILED again, 0 no verdict yet".
func (w *watchState) summary(m *Model) string {
	var sum redrive.VerdictOutcome
	for _, r := range w.runs {
		if r.live {
			continue
		}
		o := r.v.Outcome()
		sum.Delivered += o.Delivered
		sum.Processed += o.Processed
		sum.Failed += o.Failed
		sum.SameError += o.SameError
		sum.Waiting += o.Waiting
	}
	return sanitize.Line(sum.Text(redrive.DoneStateName(m.sess.Env)))
}

// allProcessed: every delivery watched was processed.
func (w *watchState) allProcessed() bool {
	for _, r := range w.runs {
		if !r.v.Outcome().AllProcessed() {
			return false
		}
	}
	return true
}

// verdictLine is what the processor made of s's deliveries so far, "" before the watch
// follows it.
func (s *redriveState) verdictLine(env string) (text string, o redrive.VerdictOutcome, waiting bool) {
	r := s.watch.runOf(s)
	if r == nil || r.live || r.v.Len() == 0 {
		return "", o, false // nothing delivered: no verdict to wait for
	}
	o = r.v.Outcome()
	text = sanitize.Line(o.Text(env))
	if r.expired && o.Waiting > 0 {
		text += " (none within the watch; r reads the statuses again)"
	}
	return text, o, !r.expired && o.Waiting > 0
}

// liveOutcome is the verdicts read so far while s runs.
func (s *redriveState) liveOutcome() (redrive.VerdictOutcome, bool) {
	r := s.watch.runOf(s)
	if r == nil {
		return redrive.VerdictOutcome{}, false
	}
	return r.v.Outcome(), true
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
	verdict  redrive.VerdictKind
	expired  bool // no new status came within the watch
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
		case e.verdict == redrive.VerdictFailed:
			b.WriteString("✗ again") // delivered, and failed again
		case e.verdict == redrive.VerdictProcessed:
			b.WriteString("sent ✓")
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
