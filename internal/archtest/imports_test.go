package archtest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

const mod = "github.com/stowage-cli/stowage"

// pkg is what `go list -json` says of one package.
type pkg struct {
	ImportPath string
	Imports    []string // direct
	Deps       []string // transitive
	Module     *struct{ Path string }
}

// rule forbids imports to the packages it names. Forbidden entries are module-relative
// ("tui", "internal/cli") or full paths of other modules; a trailing "/..." matches a
// prefix. Direct rules look at the package's own imports, others at every dependency.
type rule struct {
	pkg    string
	direct bool
	forbid []string
	why    string
}

var sdk = []string{"github.com/aws/aws-sdk-go-v2/...", "github.com/aws/smithy-go/..."}
var terminal = []string{"charm.land/...", "github.com/charmbracelet/...", "github.com/alecthomas/chroma/v2/..."}

// rules are the package docs' "must not import" sentences, one place.
var rules = []rule{
	{pkg: "awsclient", forbid: []string{"tui/...", "redrive/...", "internal/cli/...", "internal/inventory/...", "internal/devstack/..."},
		why: "awsclient is the bottom layer: it returns stowage's own types and knows nothing of its callers"},
	{pkg: "internal/inventory", forbid: []string{"tui/...", "redrive/...", "internal/cli/...", "internal/devstack/..."},
		why: "inventory is shared by the CLI, the TUI and redrive planning"},
	{pkg: "redrive", forbid: []string{"tui/...", "internal/cli/...", "internal/devstack/..."},
		why: "the engine is driven the same way by the CLI and the TUI"},
	{pkg: "tui", forbid: []string{"internal/cli/...", "internal/devstack/..."}, why: "the CLI builds the TUI, not the other way round"},
	{pkg: "internal/config", forbid: []string{"awsclient/...", "tui/...", "redrive/...", "internal/cli/...", "internal/inventory/...",
		"internal/devstack/...", "internal/payload/...", "internal/reqid/..."}, why: "config is read by everything; of stowage it uses only sanitize"},
	{pkg: "internal/sanitize", forbid: append([]string{"..."}, terminal...), why: "the one sanitizer depends on nothing of stowage and no terminal library"},
	{pkg: "internal/atomicfile", forbid: []string{"..."}, why: "the atomic writer depends on nothing of stowage"},
	{pkg: "internal/reqid", forbid: append(append([]string{"tui/...", "internal/cli/...", "awsclient/...", "redrive/..."}, sdk...), terminal...),
		why: "request references are pure parsing"},
	{pkg: "internal/payload", forbid: append([]string{"tui/...", "internal/cli/...", "awsclient/...", "redrive/...", "charm.land/...", "github.com/charmbracelet/bubbletea/..."}, sdk...),
		why: "payload rendering is pure: bytes in, sanitized text out"},
	{pkg: "internal/devstack", forbid: []string{"tui/...", "redrive/...", "internal/cli/...", "awsclient/..."},
		why: "the demo stack is a server; stowage reaches it over HTTP like real AWS"},
	{pkg: "internal/failclass", forbid: append(append([]string{"tui/...", "redrive/...", "internal/cli/...", "internal/inventory/...", "awsclient/...", "internal/devstack/..."}, sdk...), terminal...),
		why: "failure classes are pure: error text in, classes out (of stowage only config)"},
	{pkg: "internal/jsonstr", forbid: append(append([]string{"..."}, sdk...), terminal...),
		why: "quoting a JSON string is pure: it depends on nothing of stowage, the SDK or a terminal library"},
	{pkg: "internal/s3event", forbid: append(append([]string{"..."}, sdk...), terminal...),
		why: "the S3 event record is built the same way by redrive and the demo, which share nothing else"},
	{pkg: "internal/trace", forbid: []string{"tui/...", "internal/cli/...", "internal/devstack/..."},
		why: "the timeline is built once for the CLI and the TUI, from awsclient's types (the SDK stays in awsclient)"},
}

// onlyImportedBy: packages that only the listed importers may import (tests aside).
var onlyImportedBy = map[string][]string{
	"internal/testenv":  {"internal/testenv/cmd/..."},
	"internal/docs":     {},
	"internal/archtest": {},
}

// sdkAllowed may import the AWS SDK directly; every other package of ours may not.
var sdkAllowed = []string{"awsclient/...", "internal/testenv/..."}

func TestImportRules(t *testing.T) {
	if _, err := exec.LookPath("go"); err != nil {
		t.Fatal("the go command is needed to read the import graph: " + err.Error())
	}
	cmd := exec.Command("go", "list", "-deps", "-json", mod+"/...")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, stderr.String())
	}
	pkgs, err := decode(bytes.NewReader(out))
	if err != nil {
		t.Fatal(err)
	}
	if len(pkgs) < 10 {
		t.Fatalf("go list found %d packages of %s: the graph is not being read", len(pkgs), mod)
	}
	for _, v := range check(pkgs) {
		t.Error(v)
	}
}

// TestCheckCatchesViolations proves the checker fails on each kind of broken rule.
func TestCheckCatchesViolations(t *testing.T) {
	p := func(path string, imports, deps []string) pkg {
		return pkg{ImportPath: mod + "/" + path, Imports: full(imports), Deps: full(deps)}
	}
	cases := []struct {
		name string
		pkg  pkg
		want string
	}{
		{"layer", p("awsclient", nil, []string{"tui"}), "awsclient imports " + mod + "/tui"},
		{"transitive", p("redrive", []string{"awsclient"}, []string{"awsclient", "internal/cli"}), "redrive imports " + mod + "/internal/cli"},
		{"sdk outside awsclient", p("tui", []string{"github.com/aws/aws-sdk-go-v2/service/s3"}, nil), "tui imports github.com/aws/aws-sdk-go-v2/service/s3"},
		{"sdk in a new package", p("internal/newthing", []string{"github.com/aws/smithy-go"}, nil), "the AWS SDK stays inside awsclient"},
		{"sanitize stays alone", p("internal/sanitize", nil, []string{"internal/config"}), "internal/sanitize imports"},
		{"test-only package", p("redrive", []string{"internal/testenv"}, []string{"internal/testenv"}), "only for tests"},
		{"nobody imports docs", p("tui", []string{"internal/docs"}, []string{"internal/docs"}), "internal/docs"},
		{"trace below the TUI", p("internal/trace", []string{"redrive"}, []string{"redrive", "tui"}), "internal/trace imports " + mod + "/tui"},
		{"trace without the CLI", p("internal/trace", []string{"internal/cli"}, []string{"internal/cli"}), "internal/trace imports " + mod + "/internal/cli"},
		{"trace without the demo", p("internal/trace", nil, []string{"internal/devstack"}), "internal/trace imports " + mod + "/internal/devstack"},
		{"trace without the SDK", p("internal/trace", []string{"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"}, nil), "internal/trace imports github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			vs := check([]pkg{c.pkg})
			if len(vs) == 0 || !strings.Contains(strings.Join(vs, "\n"), c.want) {
				t.Fatalf("violations %q, want one containing %q", vs, c.want)
			}
		})
	}
	if vs := check([]pkg{p("tui", []string{"awsclient", "charm.land/bubbletea/v2"}, []string{"awsclient", "redrive"}),
		p("internal/trace", []string{"awsclient", "redrive"}, []string{"awsclient", "redrive", "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"})}); len(vs) != 0 {
		t.Fatalf("a legal package was refused: %q", vs)
	}
}

func full(paths []string) []string {
	out := make([]string, len(paths))
	for i, p := range paths {
		if strings.Contains(p, ".") && strings.Contains(strings.SplitN(p, "/", 2)[0], ".") {
			out[i] = p
		} else {
			out[i] = mod + "/" + p
		}
	}
	return out
}

func decode(r io.Reader) ([]pkg, error) {
	var pkgs []pkg
	dec := json.NewDecoder(r)
	for dec.More() {
		var p pkg
		if err := dec.Decode(&p); err != nil {
			return nil, fmt.Errorf("decode go list output: %w", err)
		}
		if p.ImportPath == mod || strings.HasPrefix(p.ImportPath, mod+"/") {
			pkgs = append(pkgs, p)
		}
	}
	return pkgs, nil
}

// match reports whether path (full) matches pattern (module-relative or full, with an
// optional "/..." suffix; "..." alone matches every package of the module).
func match(pattern, path string) bool {
	if pattern == "..." {
		return strings.HasPrefix(path, mod+"/")
	}
	if !strings.Contains(strings.SplitN(pattern, "/", 2)[0], ".") {
		pattern = mod + "/" + pattern
	}
	if base, ok := strings.CutSuffix(pattern, "/..."); ok {
		return path == base || strings.HasPrefix(path, base+"/")
	}
	return path == pattern
}

func matchAny(patterns []string, path string) bool {
	return slices.ContainsFunc(patterns, func(p string) bool { return match(p, path) })
}

func check(pkgs []pkg) []string {
	var vs []string
	for _, p := range pkgs {
		self := strings.TrimPrefix(p.ImportPath, mod+"/")
		for _, r := range rules {
			if !match(r.pkg+"/...", p.ImportPath) {
				continue
			}
			list := p.Deps
			if r.direct {
				list = p.Imports
			}
			for _, d := range list {
				if match(r.pkg+"/...", d) {
					continue // a package's own subpackages are its own
				}
				if matchAny(r.forbid, d) {
					vs = append(vs, fmt.Sprintf("%s imports %s: %s", self, d, r.why))
				}
			}
		}
		if !matchAny(sdkAllowed, p.ImportPath) {
			for _, d := range p.Imports {
				if matchAny(sdk, d) {
					vs = append(vs, fmt.Sprintf("%s imports %s: the AWS SDK stays inside awsclient", self, d))
				}
			}
		}
		for only, importers := range onlyImportedBy {
			if match(only+"/...", p.ImportPath) || matchAny(importers, p.ImportPath) {
				continue
			}
			for _, d := range p.Imports {
				if match(only, d) {
					vs = append(vs, fmt.Sprintf("%s imports %s: that package is only for tests and test tools", self, d))
				}
			}
		}
	}
	return vs
}
