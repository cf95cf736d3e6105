package tui

import (
	"compress/gzip"
	"context"
	"io"
	"os"
	"os/exec"
	"strings"

	tea "charm.land/bubbletea/v2"

	"github.com/stowage-cli/stowage/awsclient"
	"github.com/stowage-cli/stowage/internal/sanitize"
)

// Pager and editor (o, O): the payload in a private temporary file, opened outside.

type (
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
)

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
