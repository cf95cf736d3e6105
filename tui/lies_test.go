package tui

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestDecliningAnOverwriteSaysNotSaved: after n the footer kept saying "saving …".
func TestDecliningAnOverwriteSaysNotSaved(t *testing.T) {
	path := filepath.Join(t.TempDir(), "kept.json")
	if err := os.WriteFile(path, []byte("mine"), 0o600); err != nil {
		t.Fatal(err)
	}
	f := newFixture(t, seedRequests)
	f.openRow(idJSON)
	f.keys("x")
	for range 80 {
		f.keys("backspace")
	}
	f.typeText(path)
	f.keys("enter")
	if len(f.m.dialogs) != 1 || !strings.Contains(plainView(f), "already exists") {
		t.Fatalf("no overwrite question:\n%s", plainView(f))
	}
	f.keys("n")
	v := plainView(f)
	if strings.Contains(v, "saving") || !strings.Contains(v, "not saved") {
		t.Fatalf("after declining:\n%s", v)
	}
	if b, _ := os.ReadFile(path); string(b) != "mine" {
		t.Fatalf("the file changed: %q", b)
	}
}

// TestJumpNoteGoesWhenMovingOn: "! not found" from : outlived sorting, help and opening
// another request.
func TestJumpNoteGoesWhenMovingOn(t *testing.T) {
	const missing = "9f0e1d2c-3b4a-4596-8877-665544332211"
	jumpMissing := func(f *fixture) {
		f.keys(":")
		f.typeText(missing)
		f.keys("enter")
		if !strings.Contains(plainView(f), "not found") {
			t.Fatalf("setup: no note:\n%s", plainView(f))
		}
		f.keys("esc") // back to the list; the note is still about what was asked
	}
	for name, moveOn := range map[string]func(f *fixture){
		"sort":          func(f *fixture) { f.keys("s") },
		"help":          func(f *fixture) { f.keys("?") },
		"another":       func(f *fixture) { f.openRow(idXML) },
		"a bad : input": func(f *fixture) { f.keys(":"); f.typeText("nothing here"); f.keys("enter"); f.openRow(idJSON) },
	} {
		t.Run(name, func(t *testing.T) {
			f := newFixture(t, seedRequests)
			jumpMissing(f)
			moveOn(f)
			if strings.Contains(plainView(f), "not found") {
				t.Fatalf("the note outlived %s:\n%s", name, plainView(f))
			}
		})
	}
}

// TestCtrlCInAPromptCancelsIt: ctrl+c in a : or / prompt quit the TUI with exit 0.
func TestCtrlCInAPromptCancelsIt(t *testing.T) {
	for _, k := range []string{"/", ":"} {
		f := newFixture(t, seedRequests)
		f.keys(k)
		f.typeText("2d8b")
		f.keys("ctrl+c")
		if f.m.quitting || f.m.input.active() {
			t.Fatalf("%s then ctrl+c: quitting %v, prompt open %v", k, f.m.quitting, f.m.input.active())
		}
		if q := f.m.active().Query(); q != "" {
			t.Fatalf("%s then ctrl+c left the filter %q", k, q)
		}
		f.keys("ctrl+c")
		if !f.m.quitting {
			t.Fatalf("a second ctrl+c does not quit")
		}
	}
}

// TestPayloadSearchStartsFreshAndCounts: a second / appended to the old search, and no
// count was shown.
func TestPayloadSearchStartsFreshAndCounts(t *testing.T) {
	f := newFixture(t, seedRequests)
	f.openRow(idJSON)
	f.keys("/")
	f.typeText("id")
	if v := plainView(f); !strings.Contains(lineWith(v, "search:"), "1/2") {
		t.Fatalf("no match count in the prompt: %q", lineWith(v, "search:"))
	}
	f.keys("enter")
	if v := plainView(f); !strings.Contains(v, "/id 1/2") {
		t.Fatalf("no match count in the detail:\n%s", v)
	}
	f.keys("n")
	if v := plainView(f); !strings.Contains(v, "/id 2/2") {
		t.Fatalf("n does not advance the count:\n%s", v)
	}
	f.keys("n")
	if v := plainView(f); !strings.Contains(v, "/id 1/2") {
		t.Fatalf("n does not wrap the count:\n%s", v)
	}
	f.keys("N")
	if v := plainView(f); !strings.Contains(v, "/id 2/2") {
		t.Fatalf("N does not go back:\n%s", v)
	}
	f.keys("/")
	f.typeText("total")
	f.keys("enter")
	if d := f.m.detail; d.search != "total" {
		t.Fatalf("the second search is %q, want a fresh \"total\"", d.search)
	}
	// esc in a new search goes back to the one in force.
	f.keys("/")
	f.typeText("sku")
	f.keys("esc")
	if d := f.m.detail; d.search != "total" {
		t.Fatalf("esc left the search %q", d.search)
	}
}
