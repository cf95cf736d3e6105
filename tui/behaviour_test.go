package tui

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"testing/iotest"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/stowage-cli/stowage/awsclient"
)

func plainView(f *fixture) string { return ansi.Strip(f.view()) }

func TestStaleResultsAreDropped(t *testing.T) {
	f := newFixture(t, seedRequests)
	f.openRow(idXML)
	d := f.m.detail
	// A body for an older detail sequence, and a page for an older generation.
	f.send(detailBodyMsg{gen: f.m.gen, seq: d.seq - 1, data: []byte("STALE"), obj: d.obj})
	f.send(listChunkMsg{gen: f.m.gen - 1, seq: f.m.list.seq, objs: []awsclient.Object{{Key: "stale", RequestID: "stale"}}})
	if strings.Contains(plainView(f), "STALE") || f.m.all.Has("stale") {
		t.Fatal("a stale result reached the screen")
	}
	// Moving on while a preview is in flight: its answer is dropped.
	seq := f.m.detail.seq
	f.keys("esc", "j")
	f.send(detailHeadMsg{gen: f.m.gen, seq: seq, obj: awsclient.Object{Key: "old", ContentType: "application/stale"}})
	if strings.Contains(plainView(f), "application/stale") {
		t.Fatal("the answer for the request left behind was shown")
	}
}

func TestStatusJoinIsLazy(t *testing.T) {
	f := newFixture(t, func(o *fakeObjects, s *fakeStatuses) {
		for i := range 2000 {
			id := millionRows(2000)[i].ID
			o.put(awsclient.Object{Key: id, RequestID: id, LastModified: testNow.Add(-time.Duration(i) * time.Second)}, []byte("{}"))
			s.put(awsclient.Status{RequestID: id, State: "PROCESSED"})
		}
	})
	if f.m.all.Len() != 2000 {
		t.Fatalf("listed %d", f.m.all.Len())
	}
	// Rows were visible only as the pages arrived (newest first moves them): statuses
	// are fetched for those and their look-ahead, never for the whole listing.
	if n := len(f.m.statuses.entries); n == 0 || n >= 1000 {
		t.Fatalf("statuses fetched for %d of 2000 rows", n)
	}
	for i := f.m.top; i < f.m.top+f.m.tableRows(); i++ {
		if _, ok := f.m.statuses.get(f.m.active().At(i).ID); !ok {
			t.Fatalf("visible row %d has no status", i)
		}
	}
	f.keys("G") // to the end: the rows there get their statuses
	last := f.m.active().At(f.m.active().ViewLen() - 1)
	if _, ok := f.m.statuses.get(last.ID); !ok {
		t.Fatal("the rows on screen after G have no status")
	}
}

func TestJumpToMissingObjectShowsStatusItem(t *testing.T) {
	f := newFixture(t, seedRequests)
	id := "9f0e1d2c-3b4a-4596-8877-665544332211"
	f.statuses.put(awsclient.Status{RequestID: id, State: "FAILED", Error: "upstream 502"})
	f.keys(":")
	f.typeText("s3://orders-intake/" + id)
	f.keys("enter")
	v := plainView(f)
	for _, want := range []string{"not in the bucket", "stored nowhere, known to DynamoDB", `"status": "FAILED"`} {
		if !strings.Contains(v, want) {
			t.Errorf("missing %q in\n%s", want, v)
		}
	}
	// Listed ids are not needed: no listing call was made for the jump.
	f.objects.mu.Lock()
	calls := slices.Clone(f.objects.calls)
	f.objects.mu.Unlock()
	if !slices.Contains(calls, "head "+id) {
		t.Errorf("no HEAD for the jump: %v", calls)
	}
}

func TestJumpRefusesOtherBucket(t *testing.T) {
	f := newFixture(t, seedRequests)
	f.send(tea.PasteMsg{Content: "s3://other-bucket/" + idXML})
	if v := plainView(f); !strings.Contains(v, "press e to switch environment") || f.m.mode == modeDetail {
		t.Fatalf("a URI of another bucket was opened here:\n%s", v)
	}
}

func TestAWSErrorsShowRemedyAndRetry(t *testing.T) {
	cases := []struct {
		name string
		err  *awsclient.Error
		want string
	}{
		{"access denied", &awsclient.Error{Kind: awsclient.KindAccessDenied, Op: "list", Resource: "s3://orders-intake/", Code: "AccessDenied", Remedy: "grant s3:ListBucket on orders-intake"}, "grant s3:ListBucket"},
		{"no such bucket", &awsclient.Error{Kind: awsclient.KindNotFound, Op: "list", Resource: "s3://orders-intake/", Code: "NoSuchBucket", Remedy: "check storage.bucket in the config and the region"}, "check storage.bucket"},
		{"expired sso", &awsclient.Error{Kind: awsclient.KindExpiredCredentials, Op: "list", Resource: "s3://orders-intake/", Code: "ExpiredToken", Remedy: "run aws sso login --profile ops"}, "aws sso login --profile ops"},
		{"throttled", &awsclient.Error{Kind: awsclient.KindThrottled, Op: "list", Resource: "s3://orders-intake/", Code: "SlowDown", Remedy: "wait and retry, or lower the rate"}, "wait and retry"},
		{"network down", &awsclient.Error{Kind: awsclient.KindNetwork, Op: "list", Resource: "s3://orders-intake/", Message: "dial tcp 127.0.0.1:1: connection refused", Remedy: "check the network and the endpoint URL"}, "check the network"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixtureNoInit(t, func(o *fakeObjects, s *fakeStatuses) { seedRequests(o, s); o.listErr = tc.err })
			f.exec(f.m.Init())
			v := strings.Join(strings.Fields(plainView(f)), " ")
			if !strings.Contains(v, tc.want) || !strings.Contains(v, "press r to retry") {
				t.Fatalf("status line lacks the remedy %q:\n%s", tc.want, v)
			}
			f.objects.mu.Lock()
			f.objects.listErr = nil
			f.objects.mu.Unlock()
			f.keys("r")
			if f.m.all.Len() != 6 || f.m.note.level == noteError {
				t.Fatalf("r did not resume the listing: %d rows, note %q", f.m.all.Len(), f.m.note.text)
			}
		})
	}
	t.Run("missing table", func(t *testing.T) {
		f := newFixture(t, func(o *fakeObjects, s *fakeStatuses) {
			seedRequests(o, s)
			s.err = &awsclient.Error{Kind: awsclient.KindNotFound, Op: "batch-get", Resource: "dynamodb://order-status", Code: "ResourceNotFoundException", Remedy: "check status.table in the config and the region"}
		})
		if v := strings.Join(strings.Fields(plainView(f)), " "); !strings.Contains(v, "check status.table") {
			t.Fatalf("no remedy for a missing table:\n%s", v)
		}
		if f.m.all.Len() != 6 {
			t.Fatal("a status failure stopped the listing")
		}
		calls := f.statuses.calls
		f.send(tea.WindowSizeMsg{Width: 120, Height: 40})
		if f.statuses.calls != calls {
			t.Fatal("a failing status table is retried without r")
		}
		f.statuses.mu.Lock()
		f.statuses.err = nil
		f.statuses.mu.Unlock()
		f.keys("r")
		if _, ok := f.m.statuses.get(idXML); !ok {
			t.Fatal("r did not fetch the statuses again")
		}
	})
}

func TestFilterSortAndKeys(t *testing.T) {
	f := newFixture(t, seedRequests)
	f.keys("/")
	f.typeText("3E9C") // case-insensitive
	if n := f.m.active().ViewLen(); n != 1 {
		t.Fatalf("filter matched %d rows", n)
	}
	f.keys("esc") // esc in the prompt restores the filter in force before it
	if n := f.m.active().ViewLen(); n != 6 {
		t.Fatalf("esc left %d rows", n)
	}
	ids := func() []string {
		var out []string
		for i := range f.m.active().ViewLen() {
			out = append(out, f.m.active().At(i).ID)
		}
		return out
	}
	if got := ids(); got[0] != idJSON || got[5] != idOldLost {
		t.Fatalf("default sort is not newest first: %v", got)
	}
	f.keys("s") // size, largest first
	if got := ids(); got[0] != idXML {
		t.Fatalf("size sort: %v", got)
	}
	f.keys("S")
	if got := ids(); got[0] != idOldLost {
		t.Fatalf("reversed size sort: %v", got)
	}
	f.keys("s") // status, worst first
	if got := ids(); f.m.rankOf(got[0]) < f.m.rankOf(got[5]) {
		t.Fatalf("status sort is not worst first: %v", got)
	}
}

func TestRowSetMergeMatchesFullSort(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	rows := millionRows(5000)
	for i := range rows {
		rows[i].Modified = int64(rng.IntN(1000)) // many ties: the key breaks them
	}
	s := newRowSet(nil)
	s.SetQuery("a")
	for p := 0; p < len(rows); {
		n := 1 + rng.IntN(300)
		s.Add(rows[p:min(len(rows), p+n)])
		p += n
	}
	want := newRowSet(nil)
	want.Add(rows)
	want.SetQuery("a")
	if !slices.Equal(s.view, want.view) {
		t.Fatal("paged merge and filter differ from sorting everything at once")
	}
	s.SetQuery("")
	if !slices.Equal(s.order, want.order) {
		t.Fatal("paged merge order differs")
	}
	for i := 1; i < len(s.order); i++ {
		if s.cmp(s.order[i-1], s.order[i]) >= 0 {
			t.Fatalf("order not strictly sorted at %d", i)
		}
	}
}

func TestPreviewLoadsFirstBytesThenMore(t *testing.T) {
	big := `{"items":[` + strings.Repeat(`{"sku":"X","qty":1},`, 200) + `{"sku":"last","qty":2}]}`
	f := newFixture(t, func(o *fakeObjects, s *fakeStatuses) {
		o.put(awsclient.Object{Key: idJSON, RequestID: idJSON, LastModified: testNow, ContentType: "application/json"}, []byte(big))
	}, func(o *Options) { o.PreviewBytes = 1024 })
	f.openRow(idJSON)
	v := plainView(f)
	if !strings.Contains(v, "showing 1.0 KiB of 3.9 KiB") {
		t.Fatalf("no partial notice:\n%s", v)
	}
	f.keys("m", "m", "m")
	if got := len(f.m.detail.body); got != len(big) {
		t.Fatalf("loaded %d of %d bytes", got, len(big))
	}
	if strings.Contains(plainView(f), "showing") {
		t.Fatal("the notice stayed after everything loaded")
	}
	f.keys("/")
	f.typeText("last")
	f.keys("enter")
	if !f.m.detail.found || !strings.Contains(plainView(f), `"last"`) {
		t.Fatalf("search did not scroll to the match:\n%s", plainView(f))
	}
	f.keys("p") // raw: one long line
	if f.m.detail.doc.doc.Pretty() {
		t.Fatal("p did not switch to raw")
	}
}

func TestGzipPayloadIsDecompressed(t *testing.T) {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write([]byte(`{"hello":"gzip"}`))
	zw.Close()
	f := newFixture(t, func(o *fakeObjects, s *fakeStatuses) {
		o.put(awsclient.Object{Key: idJSON, RequestID: idJSON, LastModified: testNow, ContentType: "application/json", ContentEncoding: "gzip"}, buf.Bytes())
	})
	f.openRow(idJSON)
	v := plainView(f)
	if !strings.Contains(v, "gzip → JSON · pretty") || !strings.Contains(v, `"hello": "gzip"`) {
		t.Fatalf("gzip not decompressed:\n%s", v)
	}
}

func TestCopySaveAndPager(t *testing.T) {
	dir := t.TempDir()
	f := newFixture(t, seedRequests, func(o *Options) {
		o.TempDir = dir
		o.Getenv = func(k string) string {
			if k == "PAGER" {
				return "true"
			}
			return ""
		}
	})
	f.openRow(idXML)
	f.keys("y", "s")
	if len(f.clip) != 1 || f.clip[0] != "s3://orders-intake/"+idXML {
		t.Fatalf("clipboard got %q", f.clip)
	}

	path := filepath.Join(dir, "out.xml")
	if err := os.WriteFile(path, []byte("keep me"), 0o644); err != nil {
		t.Fatal(err)
	}
	f.keys("x")
	f.send(tea.KeyPressMsg{Code: 'u', Mod: tea.ModCtrl}) // clear the suggested name
	f.typeText(path)
	f.keys("enter")
	if b, _ := os.ReadFile(path); string(b) != "keep me" {
		t.Fatal("an existing file was overwritten without asking")
	}
	if !strings.Contains(plainView(f), "Overwrite it?") {
		t.Fatalf("no overwrite question:\n%s", plainView(f))
	}
	f.keys("y")
	b, _ := os.ReadFile(path)
	if !bytes.Equal(b, f.objects.bodies[idXML]) {
		t.Fatalf("saved %q", b)
	}
	fresh := filepath.Join(dir, "fresh.xml")
	f.keys("x")
	f.send(tea.KeyPressMsg{Code: 'u', Mod: tea.ModCtrl})
	f.typeText(fresh)
	f.keys("enter")
	if fi, err := os.Stat(fresh); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("saved file: %v %v", fi, err)
	}

	// The pager command is built; the program would run it and then remove the file.
	before, _ := os.ReadDir(dir)
	var ready tempReadyMsg
	for _, msg := range run(f.m.openExternal(false)) {
		ready = msg.(tempReadyMsg)
	}
	if ready.err != nil {
		t.Fatal(ready.err)
	}
	if fi, err := os.Stat(ready.path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("temp file: %v %v", fi, err)
	}
	f.send(execDoneMsg{path: ready.path})
	after, _ := os.ReadDir(dir)
	if len(after) != len(before) {
		t.Fatal("the temp file was not removed")
	}
}

func TestEnvironmentSwitch(t *testing.T) {
	other := newFakeObjects()
	other.put(awsclient.Object{Key: "prod-1", RequestID: "prod-1", LastModified: testNow}, []byte("{}"))
	var opened []string
	f := newFixture(t, seedRequests, func(o *Options) {
		o.EnvNames = []string{"staging", "production"}
		o.OpenEnv = func(_ context.Context, name string) (Session, error) {
			opened = append(opened, name)
			if name != "production" {
				return Session{}, errors.New("unexpected")
			}
			env := testEnv()
			env.Name, env.Production, env.ReadOnly = "production", true, true
			return Session{Env: env, Objects: other, Statuses: newFakeStatuses()}, nil
		}
	})
	f.keys("e", "down", "enter")
	if len(opened) != 1 || f.m.all.Len() != 1 || !f.m.all.Has("prod-1") {
		t.Fatalf("after switching: opened %v, %d rows", opened, f.m.all.Len())
	}
	v := plainView(f)
	if !strings.Contains(v, "production · PRODUCTION") || !strings.Contains(v, "READ-ONLY") {
		t.Fatalf("header does not show the production env:\n%s", v)
	}
}

func TestMouse(t *testing.T) {
	f := newFixture(t, seedRequests)
	l := f.m.layout()
	f.send(tea.MouseClickMsg{X: 5, Y: l.bodyY + 1 + 2, Button: tea.MouseLeft})
	if f.m.cursor != 2 {
		t.Fatalf("click selected row %d", f.m.cursor)
	}
	f.send(tea.MouseClickMsg{X: 5, Y: l.bodyY + 1 + 2, Button: tea.MouseLeft})
	if f.m.mode != modeDetail {
		t.Fatal("a click on the selected row did not open it")
	}
	f.send(tea.MouseWheelMsg{X: 5, Y: l.bodyY + 5, Button: tea.MouseWheelDown})
}

func TestHelpRowsCoverTheKeyMap(t *testing.T) {
	rows := HelpRows(DefaultKeyMap())
	if len(rows) < 20 {
		t.Fatalf("only %d documented keys", len(rows))
	}
	seen := map[string]bool{}
	for _, r := range rows {
		if r.Key == "" || r.Description == "" {
			t.Errorf("undocumented binding %+v", r)
		}
		// One key may act in two places (y copies, and answers yes in a dialog), but
		// never twice with the same words.
		if seen[r.Key+"\x00"+r.Description] {
			t.Errorf("key %q documented twice as %q", r.Key, r.Description)
		}
		seen[r.Key+"\x00"+r.Description] = true
	}
}

func TestLineEdit(t *testing.T) {
	var e lineEdit
	for _, r := range "hello world" {
		e.update(tea.KeyPressMsg{Code: r, Text: string(r)})
	}
	e.update(tea.KeyPressMsg{Code: 'w', Mod: tea.ModCtrl})
	if e.Value() != "hello " {
		t.Fatalf("ctrl+w: %q", e.Value())
	}
	e.update(tea.PasteMsg{Content: "a\nb\x1b[2J"})
	if e.Value() != "hello a b\x1b[2J" {
		t.Fatalf("paste: %q", e.Value())
	}
	if v := e.view(NewStyles(true), 40); strings.Contains(v, "\x1b[2J") {
		t.Fatal("a pasted escape sequence reached the screen")
	}
}

// failingBody is an object store whose downloads break off after a few bytes.
type failingBody struct{ *fakeObjects }

func (f failingBody) Get(ctx context.Context, key string, pin awsclient.Pin) (io.ReadCloser, awsclient.Object, error) {
	r := io.MultiReader(strings.NewReader("<partial"), iotest.ErrReader(errors.New("connection reset by peer")))
	return io.NopCloser(r), awsclient.Object{Key: key}, nil
}

// TestSaveNeverDamagesAFile: a download that fails (before or midway) leaves the file it
// was to replace as it was, and no partial or temporary file behind.
func TestSaveNeverDamagesAFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "out.xml")
	if err := os.WriteFile(path, []byte("keep me"), 0o644); err != nil {
		t.Fatal(err)
	}
	objects := newFakeObjects()
	seedRequests(objects, newFakeStatuses())
	check := func(what string) {
		t.Helper()
		if b, _ := os.ReadFile(path); string(b) != "keep me" {
			t.Fatalf("%s: the existing file now holds %q", what, b)
		}
		if ents, _ := os.ReadDir(dir); len(ents) != 1 {
			t.Fatalf("%s: left behind %v", what, ents)
		}
	}
	// The object changed since it was previewed: the pinned Get fails.
	if _, err := saveObject(context.Background(), objects, idXML, awsclient.Pin{ETag: "stale"}, path, true); err == nil {
		t.Fatal("a changed object was saved")
	}
	check("pinned Get failed")
	// The connection breaks midway.
	_, err := saveObject(context.Background(), failingBody{objects}, idXML, awsclient.Pin{}, path, true)
	if err == nil || !strings.Contains(err.Error(), "nothing was written to") {
		t.Fatalf("a cut download: %v", err)
	}
	check("download cut")
	fresh := filepath.Join(dir, "fresh.xml")
	if _, err := saveObject(context.Background(), failingBody{objects}, idXML, awsclient.Pin{}, fresh, false); err == nil {
		t.Fatal("a cut download was saved")
	}
	if _, err := os.Stat(fresh); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("a cut download left %s: %v", fresh, err)
	}
	check("new file, download cut")
	// Without overwrite an existing file is refused before anything is fetched.
	if _, err := saveObject(context.Background(), objects, idXML, awsclient.Pin{}, path, false); !errors.Is(err, fs.ErrExist) {
		t.Fatalf("no overwrite: %v", err)
	}
	check("no overwrite")
	// A good download replaces it whole, 0600.
	if _, err := saveObject(context.Background(), objects, idXML, awsclient.Pin{}, path, true); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(path); !bytes.Equal(b, objects.bodies[idXML]) {
		t.Fatalf("saved %q", b)
	}
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o600 {
		t.Fatalf("saved with mode %v", fi.Mode())
	}
}

// TestStatusFilterTypedState: f offers any state, typed with the line editor.
func TestStatusFilterTypedState(t *testing.T) {
	f := newFixture(t, seedRequests)
	f.keys("f", "t")
	f.typeText("PROCESSING")
	f.keys("enter")
	if f.m.src != sourceStatus || f.m.stateFilter != "PROCESSING" {
		t.Fatalf("view %v state %q", f.m.src, f.m.stateFilter)
	}
	if n := f.m.active().Len(); n != 1 || f.m.active().At(0).ID != "4fad5a6c-8e97-4b5c-9a7d-b14d7dcf6e55" {
		t.Fatalf("%d rows in PROCESSING", n)
	}
	if v := plainView(f); !strings.Contains(v, "view PROCESSING 1") {
		t.Fatalf("header:\n%s", v)
	}
	f.keys("f", "t", "enter")
	if f.m.stateFilter != "PROCESSING" || !strings.Contains(f.m.note.text, "no state given") {
		t.Fatalf("an empty state changed the view: %q, note %q", f.m.stateFilter, f.m.note.text)
	}
}

// TestJumpWithoutAnID: words with no request ID in them are not tried as a key; the
// parser's message shows, sanitized.
func TestJumpWithoutAnID(t *testing.T) {
	f := newFixture(t, seedRequests)
	calls := len(f.objects.calls)
	f.keys(":")
	f.send(tea.PasteMsg{Content: "payment failed for customer \x1b[31mAda"})
	f.keys("enter")
	if f.m.mode != modeList || f.m.detail != nil && f.m.detail.fromJump {
		t.Fatal("the words were opened as a request")
	}
	for _, c := range f.objects.calls[calls:] {
		if strings.HasPrefix(c, "head ") {
			t.Fatalf("the words were tried as a key: %s", c)
		}
	}
	v := f.view()
	assertInert(t, v)
	if !strings.Contains(ansi.Strip(v), "no request ID found") {
		t.Fatalf("no explanation in the status line:\n%s", ansi.Strip(v))
	}
}

// TestPrettyOnMalformedSaysWhy: p on a malformed payload says it cannot pretty-print
// and where; the marker shows in the raw and the pretty preference alike.
func TestPrettyOnMalformedSaysWhy(t *testing.T) {
	f := newFixture(t, seedRequests)
	f.openRow(idMalformed)
	for range 2 {
		v := plainView(f)
		if !strings.Contains(v, "malformed at line 1, column 37") || !strings.Contains(v, "^ invalid character") {
			t.Fatalf("no marker:\n%s", v)
		}
		f.keys("p")
		if !strings.Contains(plainView(f), "cannot pretty-print: malformed at 1:37") {
			t.Fatalf("p said nothing:\n%s", plainView(f))
		}
		// Open it again with the raw preference.
		f.m.prefs.raw = !f.m.prefs.raw
		f.keys("r")
	}
}

// TestEnvironmentPickerMarksProduction: the e picker shows which environments are
// production and read-only.
func TestEnvironmentPickerMarksProduction(t *testing.T) {
	f := newFixture(t, seedRequests, func(o *Options) {
		o.EnvNames = []string{"staging", "prod-eu", "audit"}
		o.EnvBadges = map[string]EnvBadge{"prod-eu": {Production: true}, "audit": {ReadOnly: true}}
		o.OpenEnv = func(context.Context, string) (Session, error) { return Session{}, errors.New("not here") }
	})
	f.keys("e")
	lines := strings.Split(plainView(f), "\n")
	find := func(name string) string {
		for _, l := range lines {
			if strings.Contains(l, " "+name+" ") {
				return l
			}
		}
		t.Fatalf("%s is not in the picker:\n%s", name, strings.Join(lines, "\n"))
		return ""
	}
	if l := find("prod-eu"); !strings.Contains(l, "PRODUCTION") {
		t.Errorf("prod-eu not marked: %q", l)
	}
	if l := find("audit"); !strings.Contains(l, "READ-ONLY") || strings.Contains(l, "PRODUCTION") {
		t.Errorf("audit: %q", l)
	}
	if l := find("staging"); strings.Contains(l, "PRODUCTION") || strings.Contains(l, "READ-ONLY") {
		t.Errorf("staging marked: %q", l)
	}
	if !strings.Contains(f.view(), NewStyles(true).Production.Render("PRODUCTION")) {
		t.Error("production is not in its red badge")
	}
}

// TestJumpToAListedKeyWithSpaces: words with no request ID still open a loaded row whose
// key they are (keys chosen by callers may contain spaces), without asking S3 about
// anything else.
func TestJumpToAListedKeyWithSpaces(t *testing.T) {
	const key = "partner uploads/acme corp/feed 17.json"
	f := newFixture(t, func(o *fakeObjects, s *fakeStatuses) {
		seedRequests(o, s)
		o.put(awsclient.Object{Key: key, RequestID: key, LastModified: testNow.Add(-time.Hour),
			ContentType: "application/json"}, []byte(`{"feed":17}`))
	})
	f.keys(":")
	f.send(tea.PasteMsg{Content: key})
	f.keys("enter")
	if f.m.mode != modeDetail || f.m.detail == nil || f.m.detail.key != key {
		t.Fatalf("the listed key with spaces was not opened (mode %v)", f.m.mode)
	}
}

// TestHeaderSaysWhenCountsArePartial: statuses are read lazily for what is on screen, so
// with more rows than that the counts say how many rows they cover.
func TestHeaderSaysWhenCountsArePartial(t *testing.T) {
	f := newFixture(t, func(o *fakeObjects, s *fakeStatuses) {
		for i := range 400 {
			id := fmt.Sprintf("%08d-0000-4000-8000-000000000000", i)
			o.put(awsclient.Object{Key: id, RequestID: id, LastModified: testNow.Add(-time.Duration(i) * time.Minute),
				ContentType: "application/json"}, []byte(`{}`))
			s.put(awsclient.Status{RequestID: id, State: "PROCESSED", Attempts: 1})
		}
	})
	header := strings.SplitN(plainView(f), "\n", 3)[1]
	if !strings.Contains(header, "PROCESSED") || !strings.Contains(header, "checked)") {
		t.Fatalf("partial counts are not marked as such: %q", header)
	}
}
