package cli

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/stowage-cli/stowage/internal/devstack"
)

func TestPagerCommand(t *testing.T) {
	for _, tc := range []struct {
		env  map[string]string
		want []string
	}{
		{nil, []string{"less", "-R"}},
		{map[string]string{"PAGER": "more"}, []string{"more"}},
		{map[string]string{"PAGER": ""}, nil},
		{map[string]string{"PAGER": "cat"}, nil},
		{map[string]string{"PAGER": "  less  -S "}, []string{"less", "-S"}},
		{map[string]string{"PAGER": "more", "STOWAGE_PAGER": "less -R"}, []string{"less", "-R"}},
		{map[string]string{"PAGER": "more", "STOWAGE_PAGER": ""}, nil},
	} {
		got := pagerCommand(func(k string) (string, bool) { v, ok := tc.env[k]; return v, ok })
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%v: %q, want %q", tc.env, got, tc.want)
		}
	}
}

func TestPagerTallerThan(t *testing.T) {
	width := func(ws ...int) func(int) int { return func(i int) int { return ws[i] } }
	for _, tc := range []struct {
		name       string
		widths     []int
		cols, rows int
		want       bool
	}{
		{"fits", []int{10, 10}, 80, 24, false},
		{"one row for the prompt", make([]int, 23), 80, 24, false},
		{"as tall as the screen", make([]int, 24), 80, 24, true},
		{"long lines wrap", []int{800, 800, 800}, 80, 24, true},
		{"wrapped but fits", []int{160, 160}, 80, 24, false},
	} {
		if got := tallerThan(len(tc.widths), width(tc.widths...), tc.cols, tc.rows); got != tc.want {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
		}
	}
}

// tallTerminal is a fake terminal that reports its height.
type tallTerminal struct {
	bytes.Buffer
	rows int
}

func (t *tallTerminal) TerminalRows() int { return t.rows }

// TestShowPager: on a terminal, pretty output taller than the screen goes through the
// pager, already sanitized; --no-pager, a short payload, --raw and a pipe do not.
func TestShowPager(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("the fake pager is a shell script")
	}
	d := startDemo(t)
	dir := t.TempDir()
	paged := filepath.Join(dir, "paged")
	script := filepath.Join(dir, "pager.sh")
	if err := os.WriteFile(script, []byte("#!/bin/sh\ncat > \"$1\"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("STOWAGE_PAGER", script+" "+paged)
	t.Setenv("LESS", "")

	var errb bytes.Buffer
	run := func(t *testing.T, rows int, args ...string) (string, string) {
		t.Helper()
		os.Remove(paged)
		out := &tallTerminal{rows: rows}
		errb.Reset()
		c := *d
		c.seams = c.seams.onTerminal(100, out)
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if code := c.runIn(ctx, strings.NewReader(""), out, &errb, args...); code != ExitOK {
			t.Fatalf("%q: exit %d\n%s", args, code, errb.String())
		}
		got, err := os.ReadFile(paged)
		if err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
		return out.String(), string(got)
	}
	key := d.firstOfKind(t, devstack.KindEscapes)
	direct, none := run(t, 5, "show", "--no-pager", key)
	if none != "" || direct == "" {
		t.Fatalf("--no-pager went through the pager (%d bytes) or printed nothing", len(none))
	}
	terminalSafe(t, direct)

	stdout, viaPager := run(t, 5, "show", key)
	if stdout != "" || viaPager != direct {
		t.Fatalf("taller than 5 rows: %d bytes on stdout, the pager got %q, want %q", len(stdout), viaPager, direct)
	}
	if stdout, viaPager = run(t, 1000, "show", key); viaPager != "" || stdout != direct {
		t.Fatalf("it fits in 1000 rows: the pager got %d bytes", len(viaPager))
	}
	if stdout, viaPager = run(t, 5, "show", "--raw", key); viaPager != "" || stdout != string(d.storedBytes(t, key)) {
		t.Fatalf("--raw: the pager got %d bytes", len(viaPager))
	}
	if r := d.run(t, "", "show", key).must(t, ExitOK); r.stdout != string(d.storedBytes(t, key)) {
		t.Fatal("a pipe gets the stored bytes")
	}
	if _, err := os.Stat(paged); err == nil {
		t.Fatal("a pipe went through the pager")
	}

	t.Setenv("STOWAGE_PAGER", filepath.Join(dir, "no-such-pager"))
	if stdout, _ := run(t, 5, "show", key); stdout != direct || strings.Contains(withoutWarnings(errb.String()), "pager") {
		t.Fatalf("a pager that cannot start: the payload goes straight to the terminal, quietly; got %q, stderr %q", stdout, errb.String())
	}
}
