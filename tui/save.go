package tui

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"regexp"
	"strings"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/stowage-cli/stowage/awsclient"
	"github.com/stowage-cli/stowage/internal/atomicfile"
	"github.com/stowage-cli/stowage/internal/sanitize"
)

// Save (x): the whole payload streamed to a file, never damaging one that exists.

type saveDoneMsg struct {
	path  string
	bytes int64
	err   error
	exist bool // the file exists and overwrite was not asked for
}

// saveTimeout bounds a whole-object download to a file.
const saveTimeout = 30 * time.Minute

var unsafeName = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

func (m *Model) openSave() {
	d := m.detail
	if d == nil || d.missing || !d.headDone || d.headErr != nil {
		m.setNote(noteWarn, "open a stored request first (enter), then x saves its payload")
		return
	}
	name := unsafeName.ReplaceAllString(d.id, "_") + payloadExt(d.obj)
	help := "the whole object (" + humanBytes(d.obj.Size) + ") is streamed to the file, mode 0600; existing files are not overwritten without asking"
	m.pushDialog(newPromptDialog("Save payload to", help, name, func(path string) tea.Msg {
		return saveRequestedMsg{path: path}
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

// saveObject streams the object into path with atomicfile (a temporary file beside it,
// synced, then moved into place), so a failed or cut download never leaves a partial file
// nor truncates the file it was to replace. Without overwrite an existing path is an error
// matching fs.ErrExist, before anything is fetched and again at the last moment.
func saveObject(ctx context.Context, objects ObjectStore, key string, pin awsclient.Pin, path string, overwrite bool) (int64, error) {
	var n int64
	var cut error // the body broke off midway
	err := atomicfile.Write(path, atomicfile.Options{Perm: 0o600, NoReplace: !overwrite}, func(w io.Writer) error {
		body, _, err := objects.Get(ctx, key, pin)
		if err != nil {
			return err
		}
		defer body.Close()
		n, cut = io.Copy(w, body)
		return cut
	})
	if cut != nil {
		return n, fmt.Errorf("download stopped after %s, nothing was written to %s: %w", humanBytes(n), path, cut)
	}
	return n, err
}

func (m *Model) onSaveDone(msg saveDoneMsg) {
	switch {
	case msg.exist:
		path := msg.path
		m.setNote(noteWarn, sanitize.Line(path+" exists: overwrite it?"))
		m.pushDialog(&confirmDialog{title: "File exists", question: sanitize.Line(path + " already exists. Overwrite it?"),
			yes: saveRequestedMsg{path: path, overwrite: true},
			no:  noteMsg{noteInfo, sanitize.Line("not saved: " + path + " was left as it was")}})
	case msg.err != nil:
		m.setErr("save", msg.err)
	default:
		m.setNote(noteOK, sanitize.Line(fmt.Sprintf("saved %s to %s", humanBytes(msg.bytes), msg.path)))
	}
}
