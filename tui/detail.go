package tui

import (
	"context"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/stowage-cli/stowage/awsclient"
	"github.com/stowage-cli/stowage/internal/reqid"
	"github.com/stowage-cli/stowage/internal/sanitize"
)

// detailTab is what the detail body shows.
type detailTab int

const (
	tabPayload  detailTab = iota
	tabInfo               // S3 metadata and the whole DynamoDB item
	tabHistory            // its redrives from every journal on this machine (history_tab.go)
	tabTimeline           // what happened to it, from every source (timeline_tab.go)
)

// detail is the request open in the detail pane (or full screen).
type detail struct {
	seq      int
	id, key  string
	fromJump bool

	obj      awsclient.Object
	headDone bool
	headErr  error
	missing  bool // HEAD said the object does not exist

	st       awsclient.Status
	stFound  bool
	stDone   bool
	stErr    error
	stLoaded bool // a fresh GetItem answered (the cache may hold a BatchGet answer)

	body        []byte // bytes fetched so far, from offset 0; appended to, never changed
	building    bool   // a document build is in flight
	bodyLoading bool
	bodyErr     error
	changed     bool // the object changed between reads

	pretty     bool
	wrap       bool
	tab        detailTab
	doc        *payloadDoc // built from body in a command; rebuilt on pretty/raw or more bytes
	docVersion int
	info       *payloadDoc    // the info tab, built when the HEAD and status are known
	hist       *historyState  // the history tab, read when it opens
	tl         *timelineState // the timeline tab, gathered when it opens
	scroll     int
	xoff       int

	// The payload search: the current match, when found.
	search              string
	found               bool
	matchLine, matchCol int
	// matches is how many there are in countedDoc, and matchAt which one is current
	// (1-based); counted when the search is applied, not while drawing.
	matches, matchAt int
	countedDoc       *payloadDoc
}

func (d *detail) loading() bool {
	return !d.headDone || !d.stDone || d.bodyLoading || (len(d.body) > 0 && (d.doc == nil || d.building))
}

// total is the object's full size, -1 when unknown.
func (d *detail) total() int64 {
	if !d.headDone || d.headErr != nil {
		return -1
	}
	return d.obj.Size
}

// complete reports whether the whole object is loaded.
func (d *detail) complete() bool {
	return d.headDone && d.headErr == nil && int64(len(d.body)) >= d.obj.Size
}

// Detail messages carry the detail sequence number: a result for a request the
// operator already left is dropped.
type (
	previewDueMsg struct{ seq int }
	detailHeadMsg struct {
		gen, seq int
		obj      awsclient.Object
		err      error
	}
	detailStatusMsg struct {
		gen, seq int
		st       awsclient.Status
		found    bool
		err      error
	}
	detailBodyMsg struct {
		gen, seq int
		offset   int64
		data     []byte
		obj      awsclient.Object
		err      error
	}
)

// schedulePreview loads the selected row into the preview pane once the selection has
// rested for PreviewDelay, so holding j does not fire a HEAD per row.
func (m *Model) schedulePreview() tea.Cmd {
	if m.mode != modeList || !m.paneVisible() {
		return nil
	}
	r, ok := m.selected()
	if !ok {
		if m.detail != nil {
			m.detail = nil
		}
		return nil
	}
	if m.detail != nil && m.detail.id == r.ID && !m.detail.fromJump {
		return nil
	}
	// The pane says "loading" for the new row at once rather than show the old one.
	m.detail = nil
	m.previewSeq++
	seq := m.previewSeq
	if m.opts.PreviewDelay < 0 {
		return m.openSelected()
	}
	return tea.Tick(m.opts.PreviewDelay, func(time.Time) tea.Msg { return previewDueMsg{seq: seq} })
}

// openSelected opens the row under the cursor.
func (m *Model) openSelected() tea.Cmd {
	r, ok := m.selected()
	if !ok {
		return nil
	}
	if m.detail != nil && m.detail.id == r.ID && !m.detail.fromJump && m.detail.headErr == nil {
		return nil
	}
	return m.openRequest(r.ID, r.Key, false)
}

// openRequest starts HEAD and GetItem for one request; the body follows the HEAD.
func (m *Model) openRequest(id, key string, fromJump bool) tea.Cmd {
	m.dropNoteAbout(id)
	m.detailSeq++
	d := &detail{seq: m.detailSeq, id: id, key: key, fromJump: fromJump, pretty: true}
	d.pretty, d.wrap, d.tab = !m.prefs.raw, m.prefs.wrap, m.prefs.tab
	if e, ok := m.statuses.get(id); ok {
		d.st, d.stFound = e.st, e.found
	}
	m.detail = d
	var cmds []tea.Cmd
	gen, seq := m.gen, d.seq
	if objects := m.sess.Objects; objects != nil {
		cmds = append(cmds, m.call(func(ctx context.Context) tea.Msg {
			obj, err := objects.Head(ctx, key)
			return detailHeadMsg{gen: gen, seq: seq, obj: obj, err: err}
		}))
	} else {
		d.headDone = true
	}
	if statuses := m.sess.Statuses; statuses != nil {
		cmds = append(cmds, m.call(func(ctx context.Context) tea.Msg {
			st, found, err := statuses.Get(ctx, id)
			return detailStatusMsg{gen: gen, seq: seq, st: st, found: found, err: err}
		}))
	} else {
		d.stDone = true
	}
	return tea.Batch(cmds...)
}

func (m *Model) detailFor(gen, seq int) *detail {
	if gen != m.gen || m.detail == nil || m.detail.seq != seq {
		return nil
	}
	return m.detail
}

func (m *Model) onDetailHead(msg detailHeadMsg) tea.Cmd {
	d := m.detailFor(msg.gen, msg.seq)
	if d == nil {
		return nil
	}
	d.headDone = true
	d.info = nil
	if msg.err != nil {
		d.headErr = msg.err
		d.missing = awsclient.KindOf(msg.err) == awsclient.KindNotFound
		if d.missing {
			m.noteMissing(d)
		} else {
			m.setErr("open "+d.id, msg.err)
		}
		return nil
	}
	d.obj = msg.obj
	m.heads[d.key] = msg.obj
	return m.loadBody(d, 0)
}

// noteMissing reports an object that is not in the bucket. A status item for it is a
// finding of its own: the request was known to the processor but is stored nowhere.
func (m *Model) noteMissing(d *detail) {
	if !d.stDone {
		return // said once both answers are in
	}
	uri := reqid.S3URI(m.bucket(), d.key)
	if d.stFound {
		m.setNoteAbout(noteWarn, sanitize.Line("not in the bucket: "+uri+" — but the status table has it ("+
			d.st.State+"): stored nowhere, known to DynamoDB"), d.id)
		return
	}
	m.setNoteAbout(noteWarn, sanitize.Line("not found: "+uri+" is not in the bucket and the status table has no item for "+d.id), d.id)
}

func (m *Model) loadBody(d *detail, offset int64) tea.Cmd {
	if m.sess.Objects == nil || d.bodyLoading {
		return nil
	}
	n := m.opts.PreviewBytes
	if d.obj.Size > 0 && offset >= d.obj.Size {
		return nil
	}
	d.bodyLoading = true
	d.bodyErr = nil
	objects, key, gen, seq := m.sess.Objects, d.key, m.gen, d.seq
	return m.call(func(ctx context.Context) tea.Msg {
		data, obj, err := objects.GetRange(ctx, key, offset, n)
		return detailBodyMsg{gen: gen, seq: seq, offset: offset, data: data, obj: obj, err: err}
	})
}

func (m *Model) onDetailBody(msg detailBodyMsg) tea.Cmd {
	d := m.detailFor(msg.gen, msg.seq)
	if d == nil {
		return nil
	}
	d.bodyLoading = false
	if msg.err != nil {
		d.bodyErr = msg.err
		m.setErr("read "+d.id, msg.err)
		return nil
	}
	if msg.offset != int64(len(d.body)) {
		return nil // an answer to a read that no longer lines up
	}
	if msg.offset > 0 && msg.obj.ETag != "" && d.obj.ETag != "" && msg.obj.ETag != d.obj.ETag {
		d.changed = true
		m.setNote(noteWarn, "the object changed since it was opened: press r to reload it")
		return nil
	}
	d.body = append(d.body, msg.data...)
	if msg.obj.Size > 0 {
		d.obj.Size = msg.obj.Size
	}
	return m.rebuildDoc(d)
}

func (m *Model) onDetailStatus(msg detailStatusMsg) {
	d := m.detailFor(msg.gen, msg.seq)
	if d == nil {
		return
	}
	d.stDone = true
	d.info = nil
	if msg.err != nil {
		d.stErr = msg.err
		m.setErr("status of "+d.id, msg.err)
		return
	}
	d.st, d.stFound, d.stLoaded = msg.st, msg.found, true
	m.statuses.put(d.id, statusEntry{st: msg.st, found: msg.found})
	if d.missing {
		m.noteMissing(d)
	}
}

// rebuildDoc prepares the loaded bytes for the payload tab (in a command).
func (m *Model) rebuildDoc(d *detail) tea.Cmd {
	d.building = true
	return m.buildDoc(d)
}
