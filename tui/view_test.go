package tui

import (
	"strings"
	"testing"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"
	"github.com/charmbracelet/x/exp/golden"

	"github.com/stowage-cli/stowage/awsclient"
)

// openRow moves to the row of id and opens it full screen.
func (f *fixture) openRow(id string) {
	f.t.Helper()
	i := f.m.active().IndexOfID(id)
	if i < 0 {
		f.t.Fatalf("%s is not in the table", id)
	}
	f.m.cursor = i
	f.m.clampScroll()
	f.keys("enter")
}

const (
	idJSON      = "0b6f1c2e-4a53-4d1e-9c39-7d0f3f8e2a11"
	idXML       = "1c7a2d3f-5b64-4e2f-8d4a-8e1a4a9f3b22"
	idMalformed = "2d8b3e4a-6c75-4f3a-9e5b-9f2b5bad4c33"
	idBinary    = "3e9c4f5b-7d86-4a4b-8f6c-a03c6cbe5d44"
	idEscapes   = "4fad5a6c-8e97-4b5c-9a7d-b14d7dcf6e55"
	idOldLost   = "5abe6b7d-9fa8-4c6d-8b8e-c25e8ed07f66"
)

// TestView pins the screen at 120x40 in each main state. go test ./tui -update rewrites
// the golden files; review them with cat -v or less -R.
func TestView(t *testing.T) {
	cases := []struct {
		name  string
		setup func(o *fakeObjects, s *fakeStatuses)
		act   func(f *fixture)
		init  bool // run Init's commands (false: the screen before the first page)
	}{
		{name: "loading", setup: seedRequests},
		{name: "list", setup: seedRequests, init: true},
		{name: "filtered", setup: seedRequests, init: true, act: func(f *fixture) {
			f.keys("/")
			f.typeText("2d8b")
		}},
		{name: "detail_xml", setup: seedRequests, init: true, act: func(f *fixture) { f.openRow(idXML) }},
		{name: "detail_json", setup: seedRequests, init: true, act: func(f *fixture) { f.openRow(idJSON) }},
		{name: "malformed", setup: seedRequests, init: true, act: func(f *fixture) { f.openRow(idMalformed) }},
		{name: "binary", setup: seedRequests, init: true, act: func(f *fixture) { f.openRow(idBinary) }},
		{name: "escapes", setup: seedRequests, init: true, act: func(f *fixture) { f.openRow(idEscapes) }},
		{name: "info", setup: seedRequests, init: true, act: func(f *fixture) { f.openRow(idXML); f.keys("tab") }},
		{name: "lost", setup: seedRequests, init: true, act: func(f *fixture) { f.keys("L") }},
		{name: "status_failed", setup: seedRequests, init: true, act: func(f *fixture) { f.keys("f", "F") }},
		{name: "error", init: true, setup: func(o *fakeObjects, s *fakeStatuses) {
			seedRequests(o, s)
			o.listErr = &awsclient.Error{Kind: awsclient.KindExpiredCredentials, Op: "list", Resource: "s3://orders-intake/",
				Code: "ExpiredToken", Message: "The provided token has expired.\x1b[2J", Remedy: "run aws sso login --profile ops"}
		}},
		{name: "help", setup: seedRequests, init: true, act: func(f *fixture) { f.keys("?") }},
		{name: "jump_missing", setup: seedRequests, init: true, act: func(f *fixture) {
			f.statuses.put(awsclient.Status{RequestID: "9f0e1d2c-3b4a-4596-8877-665544332211", State: "FAILED", Error: "upstream 502"})
			f.send(tea.PasteMsg{Content: `2025-03-14T09:29:59Z ERROR processor requestId=9f0e1d2c-3b4a-4596-8877-665544332211 failed`})
		}},
		{name: "copy_dialog", setup: seedRequests, init: true, act: func(f *fixture) { f.keys("y") }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixtureNoInit(t, tc.setup)
			if tc.init {
				f.exec(f.m.Init())
			}
			if tc.act != nil {
				tc.act(f)
			}
			v := f.view()
			checkFrame(t, v, 120, 40)
			golden.RequireEqual(t, v)
		})
	}
}

// TestViewSizes checks that every size from 80x24 up draws a full, unbroken frame.
func TestViewSizes(t *testing.T) {
	for _, sz := range [][2]int{{80, 24}, {100, 30}, {120, 40}, {160, 50}, {200, 60}, {60, 15}} {
		f := newFixture(t, seedRequests)
		f.send(tea.WindowSizeMsg{Width: sz[0], Height: sz[1]})
		checkFrame(t, f.view(), sz[0], sz[1])
		f.openRow(idXML)
		checkFrame(t, f.view(), sz[0], sz[1])
		f.keys("?")
		checkFrame(t, f.view(), sz[0], sz[1])
	}
}

// TestViewLight pins the light-background styles.
func TestViewLight(t *testing.T) {
	f := newFixture(t, seedRequests, func(o *Options) { light := false; o.Dark = &light })
	f.openRow(idXML)
	golden.RequireEqual(t, f.view())
}

// checkFrame asserts a frame is exactly h lines of at most w cells and carries no
// control bytes other than SGR sequences.
func checkFrame(t *testing.T, v string, w, h int) {
	t.Helper()
	lines := strings.Split(v, "\n")
	if len(lines) != h {
		t.Errorf("%dx%d: frame has %d lines", w, h, len(lines))
	}
	for i, l := range lines {
		if n := ansi.StringWidth(l); n > w {
			t.Errorf("%dx%d: line %d is %d cells wide: %q", w, h, i, n, ansi.Strip(l))
		}
	}
	assertInert(t, v)
}

// assertInert fails when s holds a control sequence other than SGR (ESC [ ... m) or a
// control byte other than newline: what an outside payload must never smuggle in.
func assertInert(t *testing.T, s string) {
	t.Helper()
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '\n':
		case c == 0x1b:
			j := i + 1
			if j < len(s) && s[j] == '[' {
				j++
				for j < len(s) && (s[j] >= '0' && s[j] <= '9' || s[j] == ';' || s[j] == ':') {
					j++
				}
				if j < len(s) && s[j] == 'm' {
					i = j
					continue
				}
			}
			t.Fatalf("non-SGR escape sequence at byte %d: %q", i, s[i:min(len(s), i+12)])
		case c < 0x20 || c == 0x7f:
			t.Fatalf("control byte %#x at %d: %q", c, i, s[max(0, i-10):min(len(s), i+10)])
		}
	}
	if strings.ContainsRune(s, '\u009b') {
		t.Fatal("C1 CSI in the frame")
	}
}
