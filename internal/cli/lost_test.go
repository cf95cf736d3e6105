package cli

import (
	"bytes"
	"fmt"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/charmbracelet/x/exp/golden"
)

func TestLost(t *testing.T) {
	d := startDemo(t)
	// The truth, from the stack itself: stored more than 15 minutes ago, no status item.
	var want []string
	seen := map[string]bool{}
	for _, s := range d.stack.Seeded() {
		if seen[s.Key] {
			continue
		}
		seen[s.Key] = true
		if _, ok := d.stack.Status(s.Key); !ok && s.Created.Before(demoNow.Add(-15*time.Minute)) {
			want = append(want, s.Key)
		}
	}
	sort.Strings(want)
	if len(want) == 0 {
		t.Fatal("the demo has no lost requests")
	}

	t.Run("JSON", func(t *testing.T) {
		r := d.run(t, "", "lost").must(t, ExitOK)
		if got := ids(t, r.stdout); !slices.Equal(got, want) {
			t.Fatalf("lost %v\nwant %v", got, want)
		}
		for _, m := range jsonLines(t, r.stdout) {
			if m["status"] != nil || m["attempts"] != nil || m["updatedAt"] != nil {
				t.Fatalf("a lost request has no status item: %v", m)
			}
		}
		golden.RequireEqual(t, r.stdout)
	})
	t.Run("Table", func(t *testing.T) {
		r := d.run(t, "", "lost", "-o", "table").must(t, ExitOK)
		if strings.Count(r.stdout, " LOST ") != len(want) {
			t.Fatalf("every row says LOST:\n%s", r.stdout)
		}
		golden.RequireEqual(t, r.stdout)
	})
	t.Run("SameAsLsLost", func(t *testing.T) {
		a := d.run(t, "", "lost").must(t, ExitOK)
		b := d.run(t, "", "ls", "--lost").must(t, ExitOK)
		c := d.run(t, "", "ls", "--status", "LOST", "--parallel", "4").must(t, ExitOK)
		if a.stdout != b.stdout || a.stdout != c.stdout {
			t.Fatal("lost, ls --lost and ls --status LOST differ")
		}
	})
	t.Run("OlderThanAndSince", func(t *testing.T) {
		r := d.run(t, "", "lost", "--older-than", "72h").must(t, ExitOK)
		for _, m := range jsonLines(t, r.stdout) {
			lm, _ := time.Parse(time.RFC3339, m["lastModified"].(string))
			if lm.After(demoNow.Add(-72 * time.Hour)) {
				t.Fatalf("younger than 72h: %v", m)
			}
		}
		if n := len(ids(t, r.stdout)); n == 0 || n >= len(want) {
			t.Fatalf("--older-than 72h: %d of %d", n, len(want))
		}
		r = d.run(t, "", "lost", "--since", "2026-03-02T09:00:00Z").must(t, ExitNotFound)
		if r.stdout != "" || !strings.Contains(r.stderr, "no lost requests under s3://stowage-demo-requests/ since 2026-03-02T09:00:00Z") {
			t.Fatalf("stdout %q stderr %q", r.stdout, r.stderr)
		}
	})
	t.Run("ProgressOnATerminalStderr", func(t *testing.T) {
		var out, errb bytes.Buffer
		r := d.onTerminal(100, &bytes.Buffer{}, &errb).runTo(t, &out, &errb, "", "lost").must(t, ExitOK)
		progress := withoutWarnings(r.stderr)
		if !strings.HasPrefix(progress, "\r\x1b[K") || !strings.Contains(progress, "listed ") ||
			!strings.HasSuffix(progress, fmt.Sprintf("\r\x1b[Kstowage: %d lost requests of %d objects listed\n", len(want), len(seen))) {
			t.Fatalf("progress on stderr, cleared, then the true count: %q", r.stderr)
		}
		if len(ids(t, r.stdout)) != len(want) {
			t.Fatal("progress must not change the output")
		}
		plain := d.run(t, "", "lost").must(t, ExitOK)
		if strings.Contains(plain.stderr, "listed") {
			t.Fatalf("no progress when stderr is not a terminal: %q", plain.stderr)
		}
	})
	t.Run("SharedTerminalShowsCleanRows", func(t *testing.T) {
		// stdout and stderr on one screen, as at a shell: the progress line is cleared
		// before the first row, so the header starts its own line and no count lies.
		var screen bytes.Buffer
		r := d.onTerminal(100, &screen, &screen).runTo(t, &screen, &screen, "", "lost").must(t, ExitOK)
		lines := renderTerminal(r.stdout)
		if len(lines) == 0 || !strings.HasPrefix(lines[0], "AGE ") {
			t.Fatalf("the first line on screen is not the header: %q", lines)
		}
		rows := 0
		for _, l := range lines[1:] {
			if strings.Contains(l, " LOST ") {
				rows++
			}
		}
		last := lines[len(lines)-1]
		if rows != len(want) || last != fmt.Sprintf("stowage: %d lost requests of %d objects listed", len(want), len(seen)) {
			t.Fatalf("%d LOST rows, want %d; last line %q", rows, len(want), last)
		}
	})
	t.Run("ZeroOlderThanCountsYoungRequests", func(t *testing.T) {
		all := d.run(t, "", "lost", "--older-than", "0").must(t, ExitOK)
		if n := len(ids(t, all.stdout)); n < len(want) {
			t.Fatalf("--older-than 0 finds %d, fewer than the %d older ones", n, len(want))
		}
	})
}

// renderTerminal is what a terminal shows for s: \r returns to the start of the line,
// ESC [K erases to its end, other SGR sequences take no room.
func renderTerminal(s string) []string {
	var lines []string
	var cur []rune
	col := 0
	for i := 0; i < len(s); {
		switch {
		case s[i] == '\n':
			lines = append(lines, strings.TrimRight(string(cur), " "))
			cur, col = nil, 0
			i++
		case s[i] == '\r':
			col = 0
			i++
		case strings.HasPrefix(s[i:], "\x1b[K"):
			cur = cur[:col]
			i += 3
		case s[i] == '\x1b':
			j := strings.IndexAny(s[i:], "mK")
			if j < 0 {
				return lines
			}
			i += j + 1
		default:
			r := []rune(s[i:])[0]
			if col < len(cur) {
				cur[col] = r
			} else {
				cur = append(cur, r)
			}
			col++
			i += len(string(r))
		}
	}
	if len(cur) > 0 {
		lines = append(lines, string(cur))
	}
	return lines
}
