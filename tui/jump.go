package tui

import (
	"errors"

	tea "charm.land/bubbletea/v2"

	"github.com/stowage-cli/stowage/internal/reqid"
	"github.com/stowage-cli/stowage/internal/sanitize"
)

// jump opens the request named anywhere in text (an id, an s3:// URI, a console URL or
// a log line) directly with HEAD and GetItem, without listing.
func (m *Model) jump(text string) tea.Cmd {
	r, err := reqid.Parse(text)
	var words *reqid.WordsError
	if errors.As(err, &words) && m.listedKey(words.Text) {
		// Words with no ID can still be a listed key with spaces in it.
		r, err = reqid.Ref{Kind: reqid.KindKey, Key: words.Text}, nil
	}
	if err != nil {
		m.setNoteAbout(noteWarn, sanitize.Line(err.Error()), aboutJump)
		return nil
	}
	if r.Bucket != "" && m.bucket() != "" && r.Bucket != m.bucket() {
		m.setNoteAbout(noteWarn, sanitize.Line("that names bucket "+r.Bucket+", but "+envName(m)+" reads "+m.bucket()+": press e to switch environment"), aboutJump)
		return nil
	}
	id, key := r.RequestID, r.Key
	env := m.sess.Env
	switch {
	case key == "" && env != nil:
		key = env.Key(id)
	case key == "":
		key = id
	case id == "" && env != nil:
		id = env.RequestID(key)
	case id == "":
		id = key
	}
	m.note = note{}
	// Select the row when it is listed, so esc lands on it.
	if i := m.active().IndexOfID(id); i >= 0 {
		m.cursor = i
		m.clampScroll()
	} else if m.src == sourceAll {
		if i := m.all.IndexOfID(id); i >= 0 {
			m.cursor = i
			m.clampScroll()
		}
	}
	m.mode = modeDetail
	return m.openRequest(id, key, true)
}

func envName(m *Model) string {
	if m.sess.Env == nil {
		return "this environment"
	}
	return m.sess.Env.Name
}

// listedKey reports whether key is the key of a loaded row.
func (m *Model) listedKey(key string) bool {
	id := key
	if m.sess.Env != nil {
		id = m.sess.Env.RequestID(key)
	}
	return m.all != nil && m.all.IndexOfID(id) >= 0
}
