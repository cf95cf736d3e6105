package tui

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"charm.land/bubbles/v2/spinner"
	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"
	"github.com/charmbracelet/x/exp/golden"

	"github.com/stowage-cli/stowage/awsclient"
)

// testNow is the fixed clock of every unit test.
var testNow = time.Date(2025, 3, 14, 9, 30, 0, 0, time.UTC)

// fixture is a model over fake stores, driven synchronously.
type fixture struct {
	t        testing.TB
	m        *Model
	objects  *fakeObjects
	statuses *fakeStatuses
	clip     []string
}

func newFixture(t testing.TB, setup func(o *fakeObjects, s *fakeStatuses), mutate ...func(*Options)) *fixture {
	t.Helper()
	f := newFixtureNoInit(t, setup, mutate...)
	f.exec(f.m.Init())
	return f
}

// newFixtureNoInit is newFixture before the program starts: nothing read yet.
func newFixtureNoInit(t testing.TB, setup func(o *fakeObjects, s *fakeStatuses), mutate ...func(*Options)) *fixture {
	t.Helper()
	f := &fixture{t: t, objects: newFakeObjects(), statuses: newFakeStatuses()}
	if setup != nil {
		setup(f.objects, f.statuses)
	}
	dark := true
	opts := Options{
		Session:      Session{Env: testEnv(), Objects: f.objects, Statuses: f.statuses, Account: "123456789012"},
		Now:          func() time.Time { return testNow },
		Dark:         &dark,
		PreviewDelay: -1,
		ClockTick:    -1,
		Refresh:      -1,
		PageSize:     50,
	}
	for _, mu := range mutate {
		mu(&opts)
	}
	f.m = New(opts)
	f.send(tea.WindowSizeMsg{Width: 120, Height: 40})
	return f
}

// send applies msgs and runs every command they cause until nothing is left to do.
func (f *fixture) send(msgs ...tea.Msg) {
	f.t.Helper()
	queue := append([]tea.Msg(nil), msgs...)
	for steps := 0; len(queue) > 0; steps++ {
		if steps > 100000 {
			f.t.Fatal("the model never settles")
		}
		msg := queue[0]
		queue = queue[1:]
		if _, ok := msg.(spinner.TickMsg); ok {
			continue // the spinner animates with timers; frames are not under test
		}
		if fmt.Sprintf("%T", msg) == "tea.setClipboardMsg" {
			f.clip = append(f.clip, reflect.ValueOf(msg).String())
			continue
		}
		queue = append(queue, run(f.step(msg))...)
	}
}

// step applies one message and returns its command unrun.
func (f *fixture) step(msg tea.Msg) tea.Cmd {
	f.t.Helper()
	nm, cmd := f.m.Update(msg)
	f.m = nm.(*Model)
	return cmd
}

func (f *fixture) exec(cmd tea.Cmd) {
	f.t.Helper()
	f.send(run(cmd)...)
}

// run executes a command (and the commands of a batch) and returns the messages.
func run(cmd tea.Cmd) []tea.Msg {
	if cmd == nil {
		return nil
	}
	msg := cmd()
	if b, ok := msg.(tea.BatchMsg); ok {
		var out []tea.Msg
		for _, c := range b {
			out = append(out, run(c)...)
		}
		return out
	}
	if msg == nil {
		return nil
	}
	return []tea.Msg{msg}
}

// keys sends key presses: "j", "enter", "ctrl+c", or text typed as runes.
func (f *fixture) keys(ks ...string) {
	f.t.Helper()
	for _, k := range ks {
		f.send(keyPress(k))
	}
}

func (f *fixture) typeText(s string) {
	f.t.Helper()
	for _, r := range s {
		f.send(tea.KeyPressMsg{Code: r, Text: string(r)})
	}
}

func keyPress(k string) tea.KeyPressMsg {
	switch k {
	case "enter":
		return tea.KeyPressMsg{Code: tea.KeyEnter}
	case "esc":
		return tea.KeyPressMsg{Code: tea.KeyEscape}
	case "tab":
		return tea.KeyPressMsg{Code: tea.KeyTab}
	case "up":
		return tea.KeyPressMsg{Code: tea.KeyUp}
	case "down":
		return tea.KeyPressMsg{Code: tea.KeyDown}
	case "left":
		return tea.KeyPressMsg{Code: tea.KeyLeft}
	case "right":
		return tea.KeyPressMsg{Code: tea.KeyRight}
	case "space":
		return tea.KeyPressMsg{Code: tea.KeySpace, Text: " "}
	case "backspace":
		return tea.KeyPressMsg{Code: tea.KeyBackspace}
	case "ctrl+c":
		return tea.KeyPressMsg{Code: 'c', Mod: tea.ModCtrl}
	}
	r := []rune(k)
	if len(r) == 1 {
		return tea.KeyPressMsg{Code: r[0], Text: k}
	}
	panic("unknown key " + k)
}

func (f *fixture) view() string { return f.m.View().Content }

// requireGolden compares a frame with its styled golden (raw ANSI, testdata/<test>.golden)
// and with its plain twin (ANSI stripped, testdata/<test>.txt), which is what a review
// diff can be read in. -update rewrites both.
func requireGolden(t *testing.T, frame string) {
	t.Helper()
	golden.RequireEqual(t, frame)
	requirePlainGolden(t, filepath.Join("testdata", t.Name()+".txt"), ansi.Strip(frame))
}

// requirePlainGolden compares (or, with -update, writes) one plain-text golden file.
func requirePlainGolden(t *testing.T, path, plain string) {
	t.Helper()
	if updateGoldens() {
		if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(plain), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Errorf("%v: go test ./tui -update writes the plain golden", err)
		return
	}
	if d := firstLineDiff(strings.ReplaceAll(string(want), "\r\n", "\n"), plain); d != "" {
		t.Errorf("%s differs (go test ./tui -update rewrites it):\n%s", path, d)
	}
}

// updateGoldens reports the -update flag, which x/exp/golden registers.
func updateGoldens() bool {
	f := flag.Lookup("update")
	return f != nil && f.Value.String() == "true"
}

// firstLineDiff shows the first line where want and got differ, "" when they are equal.
func firstLineDiff(want, got string) string {
	if want == got {
		return ""
	}
	wl, gl := strings.Split(want, "\n"), strings.Split(got, "\n")
	for i := 0; i < max(len(wl), len(gl)); i++ {
		var w, g string
		if i < len(wl) {
			w = wl[i]
		}
		if i < len(gl) {
			g = gl[i]
		}
		if w != g || i >= len(wl) || i >= len(gl) {
			return fmt.Sprintf("line %d:\n- %q\n+ %q\n(%d lines expected, %d got)", i+1, w, g, len(wl), len(gl))
		}
	}
	return "they differ in line endings"
}

// seedRequests fills the fakes with a small, varied set of requests.
func seedRequests(o *fakeObjects, s *fakeStatuses) {
	add := func(id string, age time.Duration, ct, enc string, body string, st *awsclient.Status) {
		o.put(awsclient.Object{Key: id, RequestID: id, LastModified: testNow.Add(-age), ContentType: ct, ContentEncoding: enc,
			Metadata: map[string]string{"source": "gateway"}}, []byte(body))
		if st != nil {
			st.RequestID = id
			s.put(*st)
		}
	}
	add("0b6f1c2e-4a53-4d1e-9c39-7d0f3f8e2a11", 2*time.Minute, "application/json", "",
		`{"orderId":"A-1001","customer":{"id":42,"name":"Ada"},"lines":[{"sku":"X1","qty":2}],"total":19.5}`,
		&awsclient.Status{State: "PROCESSED", Attempts: 1, UpdatedAt: testNow.Add(-time.Minute)})
	add("1c7a2d3f-5b64-4e2f-8d4a-8e1a4a9f3b22", 5*time.Minute, "application/xml", "",
		`<?xml version="1.0"?><order id="A-1002"><customer id="7">Grace</customer><line sku="Y2" qty="1"/></order>`,
		&awsclient.Status{State: "FAILED", Attempts: 3, Error: "schema validation: line 1: missing total", UpdatedAt: testNow.Add(-4 * time.Minute)})
	add("2d8b3e4a-6c75-4f3a-9e5b-9f2b5bad4c33", 9*time.Minute, "application/json", "",
		`{"orderId":"A-1003", "lines": [1, 2,, 3]}`,
		&awsclient.Status{State: "FAILED", Attempts: 1, Error: "invalid JSON at offset 31", UpdatedAt: testNow.Add(-8 * time.Minute)})
	add("3e9c4f5b-7d86-4a4b-8f6c-a03c6cbe5d44", 40*time.Minute, "application/octet-stream", "",
		"\x00\x01\x02PK\x03\x04binary\xff\xfe payload \x1b[2J",
		nil)
	add("4fad5a6c-8e97-4b5c-9a7d-b14d7dcf6e55", 3*time.Hour, "text/plain", "",
		"hello \x1b[2Jworld\x1b]52;c;aGVsbG8=\x07 and \x9b31m C1",
		&awsclient.Status{State: "PROCESSING", Attempts: 1, UpdatedAt: testNow.Add(-3 * time.Hour)})
	add("5abe6b7d-9fa8-4c6d-8b8e-c25e8ed07f66", 26*time.Hour, "application/json", "",
		`{"orderId":"A-1006"}`, nil)
}
