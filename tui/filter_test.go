package tui

import (
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/stowage-cli/stowage/awsclient"
)

func TestParseFilter(t *testing.T) {
	cases := []struct {
		q, text string
		want    bool
	}{
		{"", "anything", true},
		{"time", "upstream timeout", true},
		{"TIME", "upstream timeout", true}, // case-insensitive
		{"!time", "upstream timeout", false},
		{"!time", "schema validation", true},
		{"!", "anything", true}, // a lone ! is no filter yet
		{"/time.?out/", "upstream timeout", true},
		{"/^failed$/", "key\nfailed\nerr", true}, // ^ and $ anchor each column
		{"/^failed$/", "key\nfailed again", false},
		{"!/^processed$/", "key\nprocessed", false},
		{"a/b", "a/b/c", true},         // a slash inside is literal
		{"/", "a/b", true},             // a lone slash is text
		{`\!x`, "say !x", true},        // an escaped ! is text
		{"/TIMEOUT/", "timeout", true}, // the regexp is case-insensitive too
	}
	for _, tc := range cases {
		f, err := parseFilter(tc.q)
		if err != nil {
			t.Errorf("parseFilter(%q): %v", tc.q, err)
			continue
		}
		if got := f.matches(strings.ToLower(tc.text)); got != tc.want {
			t.Errorf("%q on %q = %v, want %v", tc.q, tc.text, got, tc.want)
		}
	}
	for _, bad := range []string{"/(time/", "!/[a-/", "/*x/"} {
		_, err := parseFilter(bad)
		if err == nil {
			t.Errorf("parseFilter(%q) accepted an invalid regexp", bad)
			continue
		}
		if msg := filterMessage(err); !strings.Contains(msg, "bad regexp") || !strings.Contains(msg, "drop the slashes") {
			t.Errorf("message for %q does not say what to do: %q", bad, msg)
		}
	}
}

// FuzzParseFilter: any text typed at / parses or fails with a message that fits one
// prompt line, never panics, and a parsed filter can be matched.
func FuzzParseFilter(f *testing.F) {
	for _, s := range []string{"", "!", "/", "//", "!//", "/(/", "/a|b/", `\!x`, "!/^x$/", "a/b/", "/[[:alpha:]]+/", "/\\p{Greek}/", "/(?s).*/"} {
		f.Add(s, "key\nfailed\nupstream timeout")
	}
	f.Fuzz(func(t *testing.T, q, text string) {
		if !utf8.ValidString(q) {
			return // the line editor keeps only valid UTF-8
		}
		expr, err := parseFilter(q)
		if err != nil {
			if msg := filterMessage(err); msg == "" || strings.ContainsAny(msg, "\n\r") {
				t.Fatalf("message for %q: %q", q, msg)
			}
			return
		}
		hit := expr.matches(strings.ToLower(text))
		if expr.all() && !hit && !expr.negate {
			t.Fatalf("the empty filter %q dropped %q", q, text)
		}
	})
}

const (
	idTimeout = "7a000000-0000-4000-8000-000000000007"
)

// seedWithTimeout is seedRequests plus a FAILED request whose error says timeout.
func seedWithTimeout(o *fakeObjects, s *fakeStatuses) {
	seedRequests(o, s)
	addRequest(o, s, idTimeout, 12*60, "application/json", `{"orderId":"A-1007"}`, "FAILED", "upstream timeout after 30s")
}

func TestFilterMatchesEveryColumn(t *testing.T) {
	f := newFixture(t, seedWithTimeout)
	shown := func() []string {
		var ids []string
		for i := range f.m.active().ViewLen() {
			ids = append(ids, f.m.active().At(i).ID)
		}
		return ids
	}
	for _, tc := range []struct {
		q    string
		want []string
	}{
		{"timeout", []string{idTimeout}},    // the error column
		{"missing total", []string{idXML}},  // the error column, with a space
		{"processing", []string{idEscapes}}, // the status column
		{"xml", []string{idXML}},            // the type column
		{"2d8b", []string{idMalformed}},     // the id
		{"/^failed$/", []string{idXML, idMalformed, idTimeout}},
		{"!/^(failed|processed|processing)$/", []string{idBinary, idOldLost}},
	} {
		f.keys("/")
		f.typeText(tc.q)
		f.keys("enter")
		got := shown()
		if strings.Join(got, ",") != strings.Join(tc.want, ",") {
			t.Errorf("/%s shows %v, want %v", tc.q, got, tc.want)
		}
		f.keys("esc") // clears the filter
	}
}

func TestFilterInvalidRegexpSaysSoInThePrompt(t *testing.T) {
	f := newFixture(t, seedRequests)
	f.send(sizeMsg(80, 24)) // the whole message fits the smallest screen
	f.keys("/")
	f.typeText("/(fail/")
	v := plainView(f)
	if !strings.Contains(v, "bad regexp (missing closing )): fix it or drop the slashes") {
		t.Fatalf("no message for an invalid regexp:\n%s", v)
	}
	f.keys("enter") // stays open on what to fix
	if !f.m.input.active() {
		t.Fatal("enter closed the prompt on an invalid regexp")
	}
	f.keys("backspace")
	f.typeText(")/")
	if strings.Contains(plainView(f), "bad regexp") {
		t.Errorf("the message outlived the fix")
	}
	f.keys("enter")
	if f.m.input.active() || f.m.active().ViewLen() != 2 {
		t.Errorf("/(fail)/ shows %d rows, want the 2 FAILED", f.m.active().ViewLen())
	}
}

// TestFilterEmptyStateNamesWhatWasFiltered: f F then /timeout said "no requests in state
// FAILED" when there were 2 FAILED requests, none matching.
func TestFilterEmptyStateNamesWhatWasFiltered(t *testing.T) {
	f := newFixture(t, seedRequests)
	f.keys("f", "F", "/")
	f.typeText("timeout")
	f.keys("enter")
	v := plainView(f)
	if !strings.Contains(v, "0 of 2 FAILED match /timeout") || strings.Contains(v, "no requests in state") {
		t.Fatalf("the empty state does not name what was filtered:\n%s", v)
	}
}

// addRequest stores one request ageSec seconds old, with a status item when state is set.
func addRequest(o *fakeObjects, s *fakeStatuses, id string, ageSec int, ct, body, state, errText string) {
	at := testNow.Add(-time.Duration(ageSec) * time.Second)
	o.put(awsclient.Object{Key: id, RequestID: id, LastModified: at, ContentType: ct}, []byte(body))
	if state != "" {
		s.put(awsclient.Status{RequestID: id, State: state, Error: errText, Attempts: 1, UpdatedAt: at})
	}
}

// TestRecheckMatchesAFullFilter: as statuses arrive, Recheck moves only their rows in or
// out of the view; the view must be what filtering every row again gives.
func TestRecheckMatchesAFullFilter(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	rows := millionRows(3000)
	text := map[string]string{}
	s := newRowSet(nil)
	s.text = func(r *row) string { return text[r.ID] }
	s.Add(rows)
	for _, q := range []string{"timeout", "!timeout", "/^time/"} {
		if err := s.SetQuery(q); err != nil {
			t.Fatal(err)
		}
		for round := range 20 {
			var ids []string
			for range 50 {
				id := rows[rng.IntN(len(rows))].ID
				if rng.IntN(2) == 0 {
					text[id] = "timeout after 30s"
				} else {
					text[id] = "parse error"
				}
				ids = append(ids, id)
			}
			s.Recheck(ids)
			if want := s.filterRows(s.order); !slices.Equal(s.view, want) {
				t.Fatalf("%s, round %d: the view differs from a full filter (%d rows, want %d)", q, round, len(s.view), len(want))
			}
		}
	}
}

// TestFilterOnThePartlyJoinedListingSaysSo: statuses are read for the rows on screen, so
// a filter on the error column over the whole listing can only find rows already read.
func TestFilterOnThePartlyJoinedListingSaysSo(t *testing.T) {
	f := newFixture(t, seedMany(400))
	f.keys("/")
	f.typeText("failed")
	f.keys("enter")
	known := f.m.statuses.listedKnown()
	if known >= 400 {
		t.Skipf("every status was read (%d)", known)
	}
	if v := plainView(f); !strings.Contains(v, "(status read for "+commas(known)+")") {
		t.Fatalf("the header does not say the match is over %d statuses:\n%s", known, v)
	}
}
