package tui

import (
	tea "charm.land/bubbletea/v2"

	"github.com/stowage-cli/stowage/internal/reqid"
	"github.com/stowage-cli/stowage/internal/sanitize"
)

// Copy (y): the request ID, its S3 URI or console URL, to the clipboard by OSC 52.

func (m *Model) openCopy() {
	id, key, ok := m.target()
	if !ok {
		m.setNote(noteWarn, "nothing selected to copy")
		return
	}
	bucket, region := m.bucket(), m.region()
	uri := reqid.S3URI(bucket, key)
	items := []menuItem{
		{key: "i", label: "request id", hint: sanitize.Line(id), action: copyMsg{"request id", id}},
		{key: "s", label: "s3 URI", hint: sanitize.Line(uri), action: copyMsg{"s3 URI", uri}},
	}
	if region != "" {
		u := reqid.ConsoleURL(region, bucket, key)
		items = append(items, menuItem{key: "u", label: "console URL", hint: sanitize.Line(u), action: copyMsg{"console URL", u}})
	}
	items = append(items, m.timelineCopyItems()...)
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
