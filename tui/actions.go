package tui

import (
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/stowage-cli/stowage/awsclient"
	"github.com/stowage-cli/stowage/internal/config"
	"github.com/stowage-cli/stowage/internal/reqid"
	"github.com/stowage-cli/stowage/internal/sanitize"
)

// Messages of the actions.
type (
	saveDoneMsg struct {
		path  string
		bytes int64
		err   error
		exist bool // the file exists and overwrite was not asked for
	}
	tempReadyMsg struct {
		seq    int
		path   string
		editor bool
		err    error
	}
	execDoneMsg struct {
		path string
		err  error
	}
	envOpenedMsg struct {
		seq  int
		name string
		sess Session
		err  error
	}
)

// saveTimeout bounds a whole-object download to a file.
const saveTimeout = 30 * time.Minute

// ---- status filter ----

func (m *Model) openStatusFilter() {
	items := []menuItem{
		{key: "a", label: "all requests", hint: "the bucket listing", action: func(m *Model) tea.Cmd { return m.showAll() }},
		{key: "F", label: "FAILED", hint: "from the status table", action: func(m *Model) tea.Cmd { return m.startStateFilter("FAILED") }},
	}
	terminal := []string{"PROCESSED"}
	if m.sess.Env != nil && len(m.sess.Env.Status.TerminalStates) > 0 {
		terminal = m.sess.Env.Status.TerminalStates
	}
	seen := map[string]bool{"FAILED": true}
	for _, s := range terminal {
		s := s
		seen[s] = true
		items = append(items, menuItem{key: firstKey(items, s), label: sanitize.Line(s), hint: "terminal", action: func(m *Model) tea.Cmd { return m.startStateFilter(s) }})
	}
	var others []string
	for s := range m.statuses.counts {
		if s != "" && !seen[s] {
			others = append(others, s)
		}
	}
	sort.Strings(others)
	for _, s := range others {
		s := s
		items = append(items, menuItem{label: sanitize.Line(s), hint: "seen in loaded rows", action: func(m *Model) tea.Cmd { return m.startStateFilter(s) }})
	}
	items = append(items, menuItem{key: "L", label: "LOST", hint: "older than " + config.FormatDuration(m.lostAfter()) + " with no status item",
		action: func(m *Model) tea.Cmd { return m.startLost() }})
	items = append(items, menuItem{key: firstKey(items, "t"), label: "type a state…", hint: "any state the processor writes",
		action: func(m *Model) tea.Cmd { m.openStatePrompt(); return nil }})
	m.pushDialog(&menuDialog{title: "Show requests", items: items})
}

// openStatePrompt asks for a state to list, exactly as the processor writes it.
func (m *Model) openStatePrompt() {
	m.pushDialog(newPromptDialog(m.st, "Show requests in state",
		"as the processor writes it (case matters), e.g. RETRYING", "",
		func(m *Model, state string) tea.Cmd {
			state = strings.TrimSpace(state)
			if state == "" {
				m.setNote(noteWarn, "no state given: the view is unchanged")
				return nil
			}
			return m.startStateFilter(state)
		}))
}

// firstKey picks a shortcut for a state: its first letter when free.
func firstKey(items []menuItem, state string) string {
	if state == "" {
		return ""
	}
	k := strings.ToLower(state[:1])
	for _, it := range items {
		if it.key == k {
			return ""
		}
	}
	return k
}

// showAll goes back to the bucket listing.
func (m *Model) showAll() tea.Cmd {
	var keep string
	if r, ok := m.selected(); ok {
		keep = r.ID
	}
	m.src = sourceAll
	m.byState, m.stateFilter, m.lostSet = nil, "", nil
	m.stateList = listState{seq: m.stateList.seq + 1}
	m.lost = lostState{seq: m.lost.seq + 1}
	m.cursor, m.top = 0, 0
	if keep != "" {
		m.keepCursorOn(keep)
	}
	m.detail = nil
	return m.schedulePreview()
}

// ---- copy ----

func (m *Model) openCopy() {
	id, key, ok := m.target()
	if !ok {
		m.setNote(noteWarn, "nothing selected to copy")
		return
	}
	bucket, region := m.bucket(), m.region()
	uri := reqid.S3URI(bucket, key)
	items := []menuItem{
		{key: "i", label: "request id", hint: sanitize.Line(id), action: func(m *Model) tea.Cmd { return m.copy("request id", id) }},
		{key: "s", label: "s3 URI", hint: sanitize.Line(uri), action: func(m *Model) tea.Cmd { return m.copy("s3 URI", uri) }},
	}
	if region != "" {
		u := reqid.ConsoleURL(region, bucket, key)
		items = append(items, menuItem{key: "u", label: "console URL", hint: sanitize.Line(u), action: func(m *Model) tea.Cmd { return m.copy("console URL", u) }})
	}
	m.pushDialog(&menuDialog{title: "Copy to the clipboard (OSC 52)", items: items})
}

func (m *Model) copy(what, value string) tea.Cmd {
	m.setNote(noteOK, sanitize.Line("copied the "+what+": "+value))
	return tea.SetClipboard(value)
}

// target is the request the actions act on: the open one, else the selected row.
func (m *Model) target() (id, key string, ok bool) {
	if d := m.detail; d != nil && (m.mode == modeDetail || m.paneVisible()) {
		return d.id, d.key, true
	}
	if r, ok := m.selected(); ok {
		return r.ID, r.Key, true
	}
	return "", "", false
}

// ---- save ----

var unsafeName = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

func (m *Model) openSave() {
	d := m.detail
	if d == nil || d.missing || !d.headDone || d.headErr != nil {
		m.setNote(noteWarn, "open a stored request first (enter), then x saves its payload")
		return
	}
	name := unsafeName.ReplaceAllString(d.id, "_") + payloadExt(d.obj)
	help := "the whole object (" + humanBytes(d.obj.Size) + ") is streamed to the file, mode 0600; existing files are not overwritten without asking"
	m.pushDialog(newPromptDialog(m.st, "Save payload to", help, name, func(m *Model, path string) tea.Cmd {
		return m.save(path, false)
	}))
}

func payloadExt(o awsclient.Object) string {
	ct := strings.ToLower(o.ContentType)
	ext := ".bin"
	switch {
	case strings.Contains(ct, "json"):
		ext = ".json"
	case strings.Contains(ct, "xml"):
		ext = ".xml"
	case strings.HasPrefix(ct, "text/"):
		ext = ".txt"
	}
	if strings.EqualFold(o.ContentEncoding, "gzip") {
		ext += ".gz"
	}
	return ext
}

// save streams the whole object, pinned to the ETag that was previewed, into path. The
// file is written 0600 and never replaced unless overwrite was confirmed.
func (m *Model) save(path string, overwrite bool) tea.Cmd {
	d := m.detail
	if d == nil || m.sess.Objects == nil {
		return nil
	}
	path = strings.TrimSpace(path)
	if path == "" {
		m.setNote(noteWarn, "no file name given: nothing saved")
		return nil
	}
	objects, key, pin, parent := m.sess.Objects, d.key, awsclient.Pin{ETag: d.obj.ETag}, m.ctx
	m.setNote(noteInfo, sanitize.Line("saving "+d.id+" to "+path+"…"))
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(parent, saveTimeout)
		defer cancel()
		n, err := saveObject(ctx, objects, key, pin, path, overwrite)
		if errors.Is(err, fs.ErrExist) {
			return saveDoneMsg{path: path, exist: true}
		}
		return saveDoneMsg{path: path, bytes: n, err: err}
	}
}

// saveObject downloads into a temporary file beside path (0600), syncs it and only then
// moves it into place, so a failed or cut download never leaves a partial file, nor
// truncates the file it was to replace. Without overwrite an existing path is an error
// matching fs.ErrExist, checked again at the last moment.
func saveObject(ctx context.Context, objects ObjectStore, key string, pin awsclient.Pin, path string, overwrite bool) (int64, error) {
	if !overwrite {
		if _, err := os.Lstat(path); err == nil {
			return 0, &fs.PathError{Op: "save", Path: path, Err: fs.ErrExist}
		}
	}
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".part-*") // 0600
	if err != nil {
		return 0, err
	}
	tmp, placed := f.Name(), false
	defer func() {
		if !placed {
			f.Close()
			os.Remove(tmp)
		}
	}()
	body, _, err := objects.Get(ctx, key, pin)
	if err != nil {
		return 0, err
	}
	defer body.Close()
	n, err := io.Copy(f, body)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return n, fmt.Errorf("download stopped after %s, nothing was written to %s: %w", humanBytes(n), path, err)
	}
	if overwrite {
		err = os.Rename(tmp, path)
	} else if err = os.Link(tmp, path); err == nil || errors.Is(err, fs.ErrExist) {
		// A hard link places the file only if the name is still free; the temporary name
		// goes either way.
		os.Remove(tmp)
	} else {
		err = os.Rename(tmp, path) // no hard links on this file system
	}
	if err != nil {
		return n, err
	}
	placed = true
	syncDir(dir)
	return n, nil
}

// syncDir makes a rename durable; a file system that cannot sync a directory loses
// nothing but that guarantee.
func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		d.Close()
	}
}

func (m *Model) onSaveDone(msg saveDoneMsg) {
	switch {
	case msg.exist:
		path := msg.path
		m.pushDialog(&confirmDialog{title: "File exists", question: sanitize.Line(path + " already exists. Overwrite it?"),
			yes: func(m *Model) tea.Cmd { return m.save(path, true) }})
	case msg.err != nil:
		m.setErr("save", msg.err)
	default:
		m.setNote(noteOK, sanitize.Line(fmt.Sprintf("saved %s to %s", humanBytes(msg.bytes), msg.path)))
	}
}

// ---- pager and editor ----

// openExternal writes the payload to a private temp file and opens it in $PAGER (the
// sanitized text, so the pager never gets raw escape sequences) or $EDITOR (the raw,
// decompressed bytes). The file is removed when the program exits.
func (m *Model) openExternal(editor bool) tea.Cmd {
	d := m.detail
	if d == nil || d.missing || !d.headDone || d.headErr != nil || m.sess.Objects == nil {
		m.setNote(noteWarn, "open a stored request first (enter)")
		return nil
	}
	objects, key, pin, parent := m.sess.Objects, d.key, awsclient.Pin{ETag: d.obj.ETag}, m.ctx
	gz := strings.EqualFold(d.obj.ContentEncoding, "gzip")
	dir, seq := m.opts.TempDir, d.seq
	name := unsafeName.ReplaceAllString(d.id, "_") + "-*" + strings.TrimSuffix(payloadExt(d.obj), ".gz")
	m.setNote(noteInfo, "fetching the whole payload…")
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(parent, saveTimeout)
		defer cancel()
		path, err := writeTemp(ctx, objects, key, pin, dir, name, gz, !editor)
		return tempReadyMsg{seq: seq, path: path, editor: editor, err: err}
	}
}

// maxExternal bounds what is written for the pager or editor (after decompression).
const maxExternal = 1 << 30

func writeTemp(ctx context.Context, objects ObjectStore, key string, pin awsclient.Pin, dir, name string, gz, sanitized bool) (string, error) {
	body, _, err := objects.Get(ctx, key, pin)
	if err != nil {
		return "", err
	}
	defer body.Close()
	var r io.Reader = body
	if gz {
		zr, err := gzip.NewReader(body)
		if err == nil {
			defer zr.Close()
			r = zr
		}
	}
	r = io.LimitReader(r, maxExternal)
	f, err := os.CreateTemp(dir, name) // CreateTemp makes the file 0600
	if err != nil {
		return "", err
	}
	if sanitized {
		data, rerr := io.ReadAll(r)
		if rerr == nil {
			_, err = io.WriteString(f, sanitize.Block(string(data)))
		} else {
			err = rerr
		}
	} else {
		_, err = io.Copy(f, r)
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(f.Name())
		return "", err
	}
	return f.Name(), nil
}

func (m *Model) onTempReady(msg tempReadyMsg) tea.Cmd {
	if msg.err != nil {
		m.setErr("open", msg.err)
		return nil
	}
	getenv := m.opts.Getenv
	if getenv == nil {
		getenv = os.Getenv
	}
	prog, fallback := getenv("PAGER"), "less"
	if msg.editor {
		prog, fallback = getenv("VISUAL"), "vi"
		if prog == "" {
			prog = getenv("EDITOR")
		}
	}
	if prog == "" {
		prog = fallback
	}
	m.note = note{}
	args := strings.Fields(prog)
	c := exec.Command(args[0], append(args[1:], msg.path)...)
	path := msg.path
	return tea.ExecProcess(c, func(err error) tea.Msg { return execDoneMsg{path: path, err: err} })
}

// onExecDone removes the temp file (in a command: Update does no I/O) and reports a
// pager or editor that failed.
func (m *Model) onExecDone(msg execDoneMsg) tea.Cmd {
	if msg.err != nil {
		m.setErr("pager/editor", msg.err)
	}
	path := msg.path
	return func() tea.Msg {
		os.Remove(path)
		return nil
	}
}

// ---- environments ----

func (m *Model) openEnvSwitch() {
	if m.opts.OpenEnv == nil || len(m.opts.EnvNames) == 0 {
		m.setNote(noteWarn, "no other environments: add them to the config file")
		return
	}
	cur := ""
	if m.sess.Env != nil {
		cur = m.sess.Env.Name
	}
	var items []menuItem
	sel := 0
	for i, name := range m.opts.EnvNames {
		name := name
		hint := ""
		if name == cur {
			hint, sel = "current", i
		}
		var badges []string
		b := m.opts.EnvBadges[name]
		if b.Production {
			badges = append(badges, m.st.Production.Render("PRODUCTION"))
		}
		if b.ReadOnly {
			badges = append(badges, m.st.ReadOnly.Render("READ-ONLY"))
		}
		items = append(items, menuItem{label: sanitize.Line(name), badges: strings.Join(badges, " "), hint: hint,
			action: func(m *Model) tea.Cmd { return m.switchEnv(name) }})
	}
	m.pushDialog(&menuDialog{title: "Switch environment", items: items, cursor: sel})
}

func (m *Model) switchEnv(name string) tea.Cmd {
	m.envSeq++
	seq, open, parent := m.envSeq, m.opts.OpenEnv, m.ctx
	timeout := m.opts.CallTimeout
	m.setNote(noteInfo, sanitize.Line("opening "+name+"…"))
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(parent, timeout)
		defer cancel()
		sess, err := open(ctx, name)
		return envOpenedMsg{seq: seq, name: name, sess: sess, err: err}
	}
}

func (m *Model) onEnvOpened(msg envOpenedMsg) tea.Cmd {
	if msg.seq != m.envSeq {
		return nil
	}
	if msg.err != nil {
		m.setErr("switch to "+msg.name, msg.err)
		return nil
	}
	m.resetSession(msg.sess)
	m.setNote(noteOK, sanitize.Line("switched to "+msg.name))
	return tea.Batch(m.startListing(), m.identity())
}

// identity asks who the credentials belong to, for the header.
func (m *Model) identity() tea.Cmd {
	id := m.sess.Identity
	if id == nil || m.sess.Account != "" {
		return nil
	}
	gen := m.gen
	return m.call(func(ctx context.Context) tea.Msg {
		who, err := id(ctx)
		return identityMsg{gen: gen, who: who, err: err}
	})
}

type identityMsg struct {
	gen int
	who string
	err error
}
