package tui

import (
	"fmt"
	"strings"
	"testing"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/stowage-cli/stowage/redrive"
)

// seedMany stores n requests, one a minute apart; every tenth has FAILED.
func seedMany(n int) func(o *fakeObjects, s *fakeStatuses) {
	return func(o *fakeObjects, s *fakeStatuses) {
		for i := range n {
			id := fmt.Sprintf("%08d-0000-4000-8000-000000000000", i)
			state := "PROCESSED"
			if i%10 == 7 {
				state = "FAILED"
			}
			addRequest(o, s, id, 60*(i+1), "application/json", "{}", state, "")
		}
	}
}

// TestSortShowsTheTop: after s the cursor stayed on its old row, with the worst rows
// above the screen.
func TestSortShowsTheTop(t *testing.T) {
	f := newFixture(t, seedMany(100))
	for range 50 {
		f.keys("j")
	}
	if f.m.cursor != 50 || f.m.top == 0 {
		t.Fatalf("setup: cursor %d top %d", f.m.cursor, f.m.top)
	}
	f.keys("s")
	if f.m.cursor != 0 || f.m.top != 0 {
		t.Fatalf("after a sort: cursor %d top %d, want the first row", f.m.cursor, f.m.top)
	}
	for range 30 {
		f.keys("j")
	}
	f.keys("S")
	if f.m.cursor != 0 || f.m.top != 0 {
		t.Fatalf("after reversing: cursor %d top %d", f.m.cursor, f.m.top)
	}
}

func TestPositionAndScrollbar(t *testing.T) {
	f := newFixture(t, seedMany(100))
	header := func() string { return lineWith(plainView(f), "REQUEST ID") }
	if h := header(); !strings.HasSuffix(strings.TrimRight(h, " "), "1/100") {
		t.Fatalf("no position in the column header: %q", h)
	}
	if v := plainView(f); !strings.Contains(v, "┃") {
		t.Fatalf("no scrollbar:\n%s", v)
	}
	f.keys("G")
	if h := header(); !strings.HasSuffix(strings.TrimRight(h, " "), "100/100") {
		t.Fatalf("after G: %q", h)
	}
	if f.m.cursor != 99 {
		t.Fatalf("G: cursor %d", f.m.cursor)
	}
	f.keys("g")
	if f.m.cursor != 0 || f.m.top != 0 {
		t.Fatalf("g: cursor %d top %d", f.m.cursor, f.m.top)
	}
	// Six rows fit: no scrollbar.
	f2 := newFixture(t, seedRequests)
	if strings.Contains(plainView(f2), "┃") {
		t.Errorf("a scrollbar with every row on screen")
	}
}

// TestErrorTakesTheRoom: ERROR got 9 columns at 80x24 and 29 at 120.
func TestErrorTakesTheRoom(t *testing.T) {
	for _, w := range []int{80, 100, 120, 200} {
		c := tableColumns(w, colPrefs{}, false)
		if c.err < errRoom(w) {
			t.Errorf("%d columns: ERROR %d, want at least %d: %+v", w, c.err, errRoom(w), c)
		}
		if c.redrive != 0 {
			t.Errorf("%d columns: a REDRIVE column with nothing redriven", w)
		}
	}
	f := newFixture(t, seedRequests)
	if l := lineWith(plainView(f), idXML); !strings.Contains(l, "schema validation: line 1: missing total") {
		t.Errorf("120 columns: the error is cut: %q", l)
	}
	f.send(tea.WindowSizeMsg{Width: 80, Height: 24})
	if l := lineWith(plainView(f), "1c7a2d3f"); !strings.Contains(l, "schema validation: line") {
		t.Errorf("80 columns: the error does not fit: %q", l)
	}
}

func TestWideAndHiddenColumns(t *testing.T) {
	f := newFixture(t, seedRequests)
	if v := plainView(f); strings.Contains(lineWith(v, idXML), "application/xml") {
		t.Fatalf("TYPE at 120 columns, not wide: %q", lineWith(v, idXML))
	}
	f.keys("W")
	l := lineWith(plainView(f), idXML)
	if !strings.Contains(l, "application/xml") || !strings.Contains(l, "Mar 14 09:25:00Z") {
		t.Fatalf("W does not show every column: %q", l)
	}
	// Wide never pushes STATUS and ERROR off a small screen.
	f.send(sizeMsg(80, 24))
	if l := lineWith(plainView(f), "1c7a2d3f"); !strings.Contains(l, "FAILED") || ansi.StringWidth(l) > 80 {
		t.Fatalf("wide at 80 columns: %q", l)
	}
	f.send(sizeMsg(120, 40))
	f.keys("W", "C")
	if len(f.m.dialogs) != 1 {
		t.Fatal("C opens no column menu")
	}
	f.keys("2") // SIZE
	if h := lineWith(plainView(f), "REQUEST ID"); strings.Contains(h, "SIZE") {
		t.Fatalf("SIZE still shown: %q", h)
	}
	f.keys("C", "2")
	if h := lineWith(plainView(f), "REQUEST ID"); !strings.Contains(h, "SIZE") {
		t.Fatalf("SIZE not shown again: %q", h)
	}
}

// TestRedriveMarkerHasItsOwnColumn: "↻ 09:30 sent" pushed the error out of its row.
func TestRedriveMarkerHasItsOwnColumn(t *testing.T) {
	f := newFixture(t, seedRequests)
	f.m.history[idXML] = []redriveEvent{{runID: "r1", mode: redrive.ModeInplace, at: testNow, state: redrive.StateDelivered}}
	l := lineWith(plainView(f), idXML)
	if !strings.Contains(l, "↻ 09:30 sent") || !strings.Contains(l, "schema validation: line 1: missing total") {
		t.Fatalf("the marker and the error do not both fit: %q", l)
	}
	if h := lineWith(plainView(f), "REQUEST ID"); !strings.Contains(h, "REDRIVE") {
		t.Errorf("no REDRIVE column: %q", h)
	}
}

// TestSmallScreenOpensFullScreen: at 80x24 the list had 9 rows above a 5-line preview.
func TestSmallScreenOpensFullScreen(t *testing.T) {
	f := newFixture(t, seedMany(40))
	f.send(tea.WindowSizeMsg{Width: 80, Height: 24})
	if f.m.paneVisible() {
		t.Fatal("a preview pane at 80x24")
	}
	if got := f.m.tableRows(); got < 18 {
		t.Fatalf("the list shows %d rows at 80x24", got)
	}
	f.keys("enter")
	if f.m.mode != modeDetail || !strings.Contains(plainView(f), "── ") {
		t.Fatalf("enter did not open the request full screen:\n%s", plainView(f))
	}
	f.keys("esc")
	if f.m.mode != modeList {
		t.Fatal("esc did not return to the list")
	}
}

func TestDetailShowsTheWholeErrorWrapped(t *testing.T) {
	long := "processor: " + strings.Repeat("stage validate failed because field total is missing; ", 4) + "END-OF-ERROR"
	f := newFixture(t, func(o *fakeObjects, s *fakeStatuses) {
		addRequest(o, s, idXML, 300, "application/xml", "<a/>", "FAILED", long)
	})
	f.send(tea.WindowSizeMsg{Width: 80, Height: 24})
	f.keys("enter")
	v := plainView(f)
	if !strings.Contains(v, "END-OF-ERROR") {
		t.Fatalf("the end of the error is not shown:\n%s", v)
	}
	for _, l := range strings.Split(v, "\n") {
		if ansi.StringWidth(l) > 80 {
			t.Fatalf("a line is wider than the screen: %q", l)
		}
	}
	// The payload still scrolls within what is left.
	if h := f.m.detailBodyHeight(); h < 5 {
		t.Errorf("the error left %d payload lines", h)
	}
}

// TestSelectedRowKeepsItsStatusColour: the selected row was drawn in one style.
func TestSelectedRowKeepsItsStatusColour(t *testing.T) {
	f := newFixture(t, seedRequests)
	f.m.cursor = f.m.active().IndexOfID(idXML)
	red := f.m.st.StateFailed.Render("FAILED")
	fg := red[:strings.Index(red, "m")+1] // the SGR that starts the styled state
	fg = strings.TrimPrefix(fg, "\x1b[")
	fg = strings.TrimSuffix(fg, "m")
	for _, l := range strings.Split(f.view(), "\n") {
		if strings.HasPrefix(ansi.Strip(l), "▸") {
			if !strings.Contains(l, strings.TrimPrefix(fg, "1;")) {
				t.Fatalf("the selected FAILED row has no red: %q", l)
			}
			return
		}
	}
	t.Fatal("no selected row")
}
