package main

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// initChild makes the test binary exit as soon as its packages are initialised: the
// child TestInitAllocatesLittle runs to read their GODEBUG=inittrace=1 lines.
const initChild = "STOWAGE_TEST_INIT_CHILD"

func TestMain(m *testing.M) {
	if os.Getenv(initChild) == "1" {
		os.Exit(0)
	}
	os.Exit(m.Run())
}

const module = "github.com/stowage-cli/stowage/"

// Budgets of the bytes package initialisation allocates, before any command runs (#13).
// Every byte is paid by every command, `stowage version` and `show` included, in page
// faults and, past the collector's first 4 MB, in a collection during init. A table only
// some commands need belongs in a sync.OnceValue, not in a package variable.
const (
	// ourInitBudget bounds stowage's own packages together. About 9 KB now (the demo's
	// DynamoDB reserved words, 68 KB, are built on first use); 550 KB before #13.
	ourInitBudget = 32 << 10
	// allInitBudget bounds every package the binary links, the SDK included (5.8 MB now,
	// 5.4 MB of it the service packages' schemas and endpoint tables). Linking another
	// SDK service costs 0.1 to 1.4 MB here, and about 1 ms of CPU at every start per MB.
	allInitBudget = 6 << 20
)

// notLinked are packages whose initialisation the binary must not pay for: cobra's man
// page generator and its Markdown parser belong to internal/release/assets; chroma's
// lexer and style registries parse hundreds of definitions (internal/payload embeds the
// two of each it uses).
var notLinked = []string{
	"github.com/russross/blackfriday/v2",
	"github.com/cpuguy83/go-md2man/v2/md2man",
	"github.com/spf13/cobra/doc",
	"go.yaml.in/yaml/v3",
	"github.com/alecthomas/chroma/v2/lexers",
	"github.com/alecthomas/chroma/v2/styles",
}

// initCost is one GODEBUG=inittrace=1 line: init PKG @T ms, C ms clock, B bytes, A allocs.
type initCost struct {
	pkg    string
	bytes  int64
	allocs int64
}

// parseInitTrace reads the runtime's inittrace lines from out; other lines are skipped.
func parseInitTrace(out []byte) []initCost {
	var costs []initCost
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) != 11 || f[0] != "init" || f[8] != "bytes," || f[10] != "allocs" {
			continue
		}
		b, err1 := strconv.ParseInt(f[7], 10, 64)
		a, err2 := strconv.ParseInt(f[9], 10, 64)
		if err1 != nil || err2 != nil || b < 0 || a < 0 {
			continue
		}
		costs = append(costs, initCost{pkg: f[1], bytes: b, allocs: a})
	}
	return costs
}

// TestInitAllocatesLittle runs this test binary (which links every package stowage
// does, through internal/cli) with GODEBUG=inittrace=1, stopping it before any test,
// and bounds what package initialisation allocates. Bytes, not time: the count is the
// same on every machine and under any load.
func TestInitAllocatesLittle(t *testing.T) {
	t.Parallel()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), initChild+"=1", "GODEBUG=inittrace=1")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("the test binary with GODEBUG=inittrace=1: %v\n%s", err, stderr.String())
	}
	costs := parseInitTrace(stderr.Bytes())
	if !slices.ContainsFunc(costs, func(c initCost) bool { return c.pkg == module+"internal/cli" }) {
		t.Fatalf("no inittrace line for internal/cli in:\n%s", stderr.String())
	}
	slices.SortFunc(costs, func(a, b initCost) int { return int(b.bytes - a.bytes) })
	var ours, all int64
	var table strings.Builder
	for _, c := range costs {
		all += c.bytes
		if strings.HasPrefix(c.pkg, module) {
			ours += c.bytes
			fmt.Fprintf(&table, "  %8d bytes %5d allocs  %s\n", c.bytes, c.allocs, c.pkg)
		}
		if slices.Contains(notLinked, c.pkg) {
			t.Errorf("%s is linked and initialised at every start; keep it out of the stowage binary", c.pkg)
		}
	}
	if ours > ourInitBudget {
		t.Errorf("stowage's own packages allocate %d bytes at init, over the budget of %d: make the new table lazy (sync.OnceValue)\n%s",
			ours, ourInitBudget, table.String())
	}
	if all > allInitBudget {
		var top strings.Builder
		for _, c := range costs[:min(15, len(costs))] {
			fmt.Fprintf(&top, "  %8d bytes  %s\n", c.bytes, c.pkg)
		}
		t.Errorf("package initialisation allocates %d bytes in all, over the budget of %d (a new SDK service or library?)\n%s",
			all, allInitBudget, top.String())
	}
	t.Logf("init: stowage's packages %d bytes, all packages %d bytes\n%s", ours, all, table.String())
}

func TestParseInitTrace(t *testing.T) {
	t.Parallel()
	out := []byte("init internal/bytealg @0.003 ms, 0 ms clock, 0 bytes, 0 allocs\n" +
		"x\ninit github.com/a/b @1.2 ms, 0.05 ms clock, 1056 bytes, 6 allocs\n" +
		"init broken @1 ms, 0 ms clock, -1 bytes, 0 allocs\ninit short line\n")
	got := parseInitTrace(out)
	want := []initCost{{"internal/bytealg", 0, 0}, {"github.com/a/b", 1056, 6}}
	if !slices.Equal(got, want) {
		t.Errorf("parseInitTrace = %v, want %v", got, want)
	}
}

func FuzzParseInitTrace(f *testing.F) {
	f.Add([]byte("init github.com/a/b @1.2 ms, 0.05 ms clock, 1056 bytes, 6 allocs\n"))
	f.Fuzz(func(t *testing.T, out []byte) {
		for _, c := range parseInitTrace(out) {
			if c.bytes < 0 || c.allocs < 0 || c.pkg == "" {
				t.Errorf("%+v from %q", c, out)
			}
		}
	})
}
