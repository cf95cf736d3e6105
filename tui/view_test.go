package tui

import (
	"fmt"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/stowage-cli/stowage/awsclient"
	"github.com/stowage-cli/stowage/internal/config"
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
// the golden files and their plain-text twins (the .txt files are what review reads).
func TestView(t *testing.T) {
	cases := []struct {
		name  string
		setup func(o *fakeObjects, s *fakeStatuses)
		act   func(f *fixture)
		init  bool // run Init's commands (false: Init only, the screen before the first page)
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
			if cmd := f.m.Init(); tc.init {
				f.exec(cmd)
			}
			if tc.act != nil {
				tc.act(f)
			}
			v := f.view()
			checkFrame(t, v, 120, 40)
			requireGolden(t, v)
		})
	}
}

// TestViewAtSizes pins the main states at the smallest supported screen and a wide one
// (TestView is 120x40), styled and plain.
func TestViewAtSizes(t *testing.T) {
	states := []struct {
		name string
		act  func(f *fixture)
	}{
		{"list", nil},
		{"filtered", func(f *fixture) { f.keys("/"); f.typeText("2d8b") }},
		{"status_failed", func(f *fixture) { f.keys("f", "F") }},
		{"detail_xml", func(f *fixture) { f.openRow(idXML) }},
		{"help", func(f *fixture) { f.keys("?") }},
		{"copy_dialog", func(f *fixture) { f.keys("y") }},
	}
	for _, sz := range [][2]int{{80, 24}, {200, 50}} {
		t.Run(fmt.Sprintf("%dx%d", sz[0], sz[1]), func(t *testing.T) {
			for _, st := range states {
				t.Run(st.name, func(t *testing.T) {
					f := newFixture(t, seedRequests)
					f.send(tea.WindowSizeMsg{Width: sz[0], Height: sz[1]})
					if st.act != nil {
						st.act(f)
					}
					v := f.view()
					checkFrame(t, v, sz[0], sz[1])
					requireGolden(t, v)
				})
			}
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
	requireGolden(t, f.view())
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

// TestHeaderNarrow: as the screen narrows the table, the region, the credentials and
// the account give way, in that order; the environment, its badges, the bucket and the
// selection count always show.
func TestHeaderNarrow(t *testing.T) {
	prod := func(o *Options) {
		o.Session.Env.Name, o.Session.Env.Production, o.Session.Env.ReadOnly = "prod-eu", true, true
	}
	f := newFixture(t, seedRequests, prod)
	f.keys("space")
	header := func(w int) string {
		f.send(tea.WindowSizeMsg{Width: w, Height: 24})
		lines := strings.Split(plainView(f), "\n")
		if !strings.HasPrefix(lines[0], " PRODUCTION · prod-eu") {
			t.Errorf("%d columns: no production bar: %q", w, lines[0])
		}
		return lines[1] + "\n" + lines[2] // under the bar
	}
	always := []string{"prod-eu · PRODUCTION", "READ-ONLY", "bucket s3://orders-intake/", "✓ 1 selected"}
	for _, tc := range []struct {
		w         int
		shown     []string
		dropped   []string
		sortShown bool
	}{
		{w: 160, shown: []string{"profile ops", "account 1234-5678-9012", "region eu-west-1", "table order-status"}, sortShown: true},
		{w: 100, shown: []string{"profile ops", "account 1234-5678-9012"}, dropped: []string{"table", "region"}, sortShown: true},
		{w: 90, shown: []string{"account 1234-5678-9012"}, dropped: []string{"table", "region", "profile"}, sortShown: true},
		{w: 80, dropped: []string{"table", "region", "profile", "account"}},
	} {
		h := header(tc.w)
		for _, want := range append(always, tc.shown...) {
			if !strings.Contains(h, want) {
				t.Errorf("%d columns: %q missing from the header:\n%s", tc.w, want, h)
			}
		}
		for _, gone := range tc.dropped {
			if strings.Contains(h, gone) {
				t.Errorf("%d columns: %q should have given way:\n%s", tc.w, gone, h)
			}
		}
		if strings.Contains(h, "sort received") != tc.sortShown {
			t.Errorf("%d columns: sort shown %v:\n%s", tc.w, !tc.sortShown, h)
		}
	}
}

// TestHeaderCredentials names the credentials in use: the profile when one is set, the
// local stack's keys, or the SDK's default chain — never "profile default credentials".
func TestHeaderCredentials(t *testing.T) {
	for _, tc := range []struct {
		name  string
		env   func(e *config.Env)
		want  string
		avoid string
	}{
		{"profile", func(e *config.Env) {}, "profile ops", "creds"},
		{"default chain", func(e *config.Env) { e.Profile = "" }, "creds env/default chain", "profile"},
		{"local stack", func(e *config.Env) {
			e.Profile = ""
			e.LocalCredentials = &config.LocalCredentials{AccessKeyID: "demo", SecretAccessKey: "demo-secret"}
		}, "local stack", "profile"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, seedRequests, func(o *Options) { tc.env(o.Session.Env); o.Session.Account = "" })
			h := strings.Split(plainView(f), "\n")[0]
			if !strings.Contains(h, tc.want) || strings.Contains(h, tc.avoid) || strings.Contains(h, "demo-secret") {
				t.Fatalf("header %q: want %q, not %q", h, tc.want, tc.avoid)
			}
		})
	}
}

// TestHeaderCountsListedRowsOnly: a failed jump adds nothing to the counts; a row with no
// status item is LOST once old enough and "no status yet" before, never both.
func TestHeaderCountsListedRowsOnly(t *testing.T) {
	fresh := "6a0b1c2d-3e4f-4a5b-8c6d-7e8f9a0b1c2d"
	f := newFixture(t, func(o *fakeObjects, s *fakeStatuses) {
		seedRequests(o, s)
		o.put(awsclient.Object{Key: fresh, RequestID: fresh, LastModified: testNow.Add(-time.Minute)}, []byte("{}"))
	})
	counts := func() string { return strings.Split(plainView(f), "\n")[1] }
	const want = "FAILED 2 PROCESSING 1 PROCESSED 1 LOST 2 no status yet 1"
	if c := counts(); !strings.Contains(c, want) {
		t.Fatalf("counts: %q, want %q", c, want)
	}
	// Jumps to requests that are not listed: one the status table knows, one nobody knows.
	f.statuses.put(awsclient.Status{RequestID: "9f0e1d2c-3b4a-4596-8877-665544332211", State: "FAILED"})
	f.keys(":")
	f.typeText("9f0e1d2c-3b4a-4596-8877-665544332211")
	f.keys("enter", "esc", ":")
	f.typeText("8e7d6c5b-4a39-4281-9786-a5b4c3d2e1f0")
	f.keys("enter", "esc")
	if c := counts(); !strings.Contains(c, want) {
		t.Fatalf("after jumps outside the listing the counts changed: %q", c)
	}
	// Time passes: the fresh request with no status item becomes LOST.
	f.m.opts.Now = func() time.Time { return testNow.Add(time.Hour) }
	f.send(clockMsg{})
	if c := counts(); !strings.Contains(c, "LOST 3") || strings.Contains(c, "no status yet") {
		t.Fatalf("an hour later: %q", c)
	}
}

// TestFullHelpReachable: every binding of the KeyMap can be read in the full help at
// 80x24 (and, scrolling, on a smaller screen), and ? says it closes the help.
func TestFullHelpReachable(t *testing.T) {
	for _, sz := range [][2]int{{80, 24}, {60, 15}} {
		f := newFixture(t, seedRequests)
		f.send(tea.WindowSizeMsg{Width: sz[0], Height: sz[1]})
		f.keys("?")
		seen := ""
		for range 60 {
			v := plainView(f)
			checkFrame(t, f.view(), sz[0], sz[1])
			seen += v
			f.keys("down")
		}
		for _, r := range HelpRows(DefaultKeyMap()) {
			want := r.Description
			if r.Key == "?" {
				want = "close help"
			}
			if !strings.Contains(seen, want) {
				t.Errorf("%dx%d: %q (%s) is not reachable in the full help", sz[0], sz[1], r.Description, r.Key)
			}
		}
		if !strings.Contains(plainView(f), "close help") || strings.Contains(plainView(f), "more keys") {
			t.Errorf("%dx%d: the help bar still offers more keys:\n%s", sz[0], sz[1], plainView(f))
		}
		f.keys("?")
		if f.m.fullHelp {
			t.Errorf("%dx%d: ? did not close the help", sz[0], sz[1])
		}
	}
	// Any other key closes the help and does its work.
	f := newFixture(t, seedRequests)
	f.keys("?", "f")
	if f.m.fullHelp || len(f.m.dialogs) != 1 {
		t.Fatalf("f in the help: help open %v, %d dialogs", f.m.fullHelp, len(f.m.dialogs))
	}
}

// TestTableColumns: under ~140 columns the absolute time gives its room to ERROR; times
// carry their zone; TYPE drops the content type's parameters; the selected row's
// background runs to the table's edge.
func TestTableColumns(t *testing.T) {
	f := newFixture(t, func(o *fakeObjects, s *fakeStatuses) {
		seedRequests(o, s)
		o.objs[idXML] = func() awsclient.Object {
			ob := o.objs[idXML]
			ob.ContentType = "application/xml; charset=utf-8"
			return ob
		}()
	})
	v := plainView(f)
	if strings.Contains(v, "charset") || !strings.Contains(v, "5m ago") || strings.Contains(v, "Mar 14 09:25") {
		t.Fatalf("120 columns:\n%s", v)
	}
	if c := tableColumns(120, colPrefs{}, false); c.err < 40 || c.longTime {
		t.Fatalf("120 columns: %+v", c)
	}
	f.send(tea.WindowSizeMsg{Width: 150, Height: 40})
	f.keys("tab") // no pane, the table has the whole width
	if v := plainView(f); !strings.Contains(v, "Mar 14 09:25:00Z (5m)") {
		t.Fatalf("150 columns: no absolute UTC time:\n%s", v)
	}
	for _, l := range strings.Split(f.view(), "\n") {
		if strings.HasPrefix(ansi.Strip(l), "▸") {
			plain := ansi.Strip(l)
			if ansi.StringWidth(plain) != 150 || strings.HasSuffix(plain, " ") {
				t.Fatalf("the selected row is %d cells, ends in a plain blank: %q", ansi.StringWidth(plain), plain)
			}
		}
	}
}

// TestParseErrorCaret: the caret under a malformed payload's error stays visible with
// wrap on (on the wrapped piece that holds the column) and says where to scroll when the
// column is off screen.
func TestParseErrorCaret(t *testing.T) {
	long := `{"orderId":"A-1007","note":"` + strings.Repeat("x", 150) + `", "lines": [1,, 2]}`
	const id = "7b8c9d0e-1f2a-4b3c-8d4e-5f6a7b8c9d0e"
	f := newFixture(t, func(o *fakeObjects, s *fakeStatuses) {
		o.put(awsclient.Object{Key: id, RequestID: id, LastModified: testNow, ContentType: "application/json"}, []byte(long))
	})
	f.openRow(id)
	caretCol := func() (line string, col int) {
		for _, l := range strings.Split(plainView(f), "\n") {
			if i := strings.Index(l, "^ invalid character"); i >= 0 {
				return l, ansi.StringWidth(l[:i])
			}
			if i := strings.Index(l, "invalid character ',' looking for beginning of value ^"); i >= 0 && !strings.Contains(l, "malformed at") {
				return l, ansi.StringWidth(l[:i]) + len("invalid character ',' looking for beginning of value ")
			}
		}
		return "", -1
	}
	v := plainView(f)
	if !strings.Contains(v, "→ column 194 (scroll right)") {
		t.Fatalf("the off-screen error column is not pointed at:\n%s", v)
	}
	f.keys("w")
	line, col := caretCol()
	if col < 0 {
		t.Fatalf("wrap on: no caret:\n%s", plainView(f))
	}
	// The caret is under the ',' that starts the error, on the line above it.
	lines := strings.Split(plainView(f), "\n")
	for i, l := range lines {
		if l == line && i > 0 {
			above := []rune(ansi.Strip(lines[i-1]))
			if col >= len(above) || above[col] != ',' {
				t.Fatalf("wrap on: the caret at cell %d is not under the ',':\n%s\n%s", col, lines[i-1], l)
			}
		}
	}
	// No wrap, scrolled right: the caret under the column again.
	f.keys("w")
	for range 23 {
		f.keys("right")
	}
	if _, col := caretCol(); col < 0 {
		t.Fatalf("scrolled to the error: no caret:\n%s", plainView(f))
	}
	for range 10 {
		f.keys("right")
	}
	if v := plainView(f); !strings.Contains(v, "← column 194 (scroll left)") {
		t.Fatalf("scrolled past the error:\n%s", v)
	}
}

// TestHexDumpHasNoGutter: a hex dump's lines carry their offsets, and at 80 columns its
// ASCII column is whole.
func TestHexDumpHasNoGutter(t *testing.T) {
	f := newFixture(t, seedRequests)
	f.send(tea.WindowSizeMsg{Width: 80, Height: 24})
	f.openRow(idBinary)
	v := plainView(f)
	if !strings.Contains(v, "\n 00000000  00 01 02 50") || !strings.Contains(v, "|...PK..binary.. |") {
		t.Fatalf("hex dump at 80 columns:\n%s", v)
	}
}

// TestShortPayloadShowsInfoBelow: the room a short payload leaves holds its info.
func TestShortPayloadShowsInfoBelow(t *testing.T) {
	f := newFixture(t, seedRequests)
	f.openRow(idOldLost)
	v := plainView(f)
	for _, want := range []string{`"orderId": "A-1006"`, "── info", "S3 object", "etag", "DynamoDB item", "no item for " + idOldLost} {
		if !strings.Contains(v, want) {
			t.Fatalf("%q missing:\n%s", want, v)
		}
	}
}

// TestViewDoesNotChangeTheModel: View only reads; the info tab is laid out by Update.
func TestViewDoesNotChangeTheModel(t *testing.T) {
	f := newFixture(t, seedRequests)
	f.openRow(idXML)
	f.keys("tab")
	info := f.m.detail.info
	if info == nil {
		t.Fatal("Update did not lay out the info tab")
	}
	f.m.detail.info = nil
	_ = f.view()
	if f.m.detail.info != nil {
		t.Fatal("View built the info tab")
	}
	f.send(clockMsg{})
	if f.m.detail.info == nil {
		t.Fatal("the next Update did not lay it out again")
	}
}
