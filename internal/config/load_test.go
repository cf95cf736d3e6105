package config

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const minimal = `environments:
  prod:
    storage:
      bucket: acme-requests
    status:
      table: acme-status
`

func mustParse(t *testing.T, yaml string) *File {
	t.Helper()
	f, err := Parse("config.yaml", []byte(yaml))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	return f
}

// parseProblems parses yaml that must fail and returns its problems.
func parseProblems(t *testing.T, yaml string) []Problem {
	t.Helper()
	_, err := Parse("config.yaml", []byte(yaml))
	var ce *Error
	if !errors.As(err, &ce) {
		t.Fatalf("Parse error = %v (%T), want *config.Error", err, err)
	}
	return ce.Problems
}

func TestLoadAppliesDefaults(t *testing.T) {
	f := mustParse(t, minimal)
	e := f.Environments["prod"]
	if e.Name != "prod" {
		t.Errorf("Name = %q, want prod", e.Name)
	}
	s, g := e.Status, e.Gateway
	for _, c := range []struct{ field, got, want string }{
		{"KeyAttr", s.KeyAttr, "requestId"},
		{"StatusAttr", s.StatusAttr, "status"},
		{"ErrorAttr", s.ErrorAttr, "error"},
		{"AttemptsAttr", s.AttemptsAttr, "attempts"},
		{"UpdatedAtAttr", s.UpdatedAtAttr, "updatedAt"},
		{"Auth", g.Auth, "none"},
		{"Reupload", g.Routes.Reupload, "PUT /product"},
		{"Inplace", g.Routes.Inplace, "PUT /product/{bucket}/{key}"},
		{"OriginalIDHeader", g.OriginalIDHeader, "X-Stowage-Original-Request-Id"},
		{"RedriveIDHeader", g.RedriveIDHeader, "X-Stowage-Redrive-Id"},
	} {
		if c.got != c.want {
			t.Errorf("%s = %q, want %q", c.field, c.got, c.want)
		}
	}
	if len(s.TerminalStates) != 1 || s.TerminalStates[0] != "PROCESSED" {
		t.Errorf("TerminalStates = %q, want [PROCESSED]", s.TerminalStates)
	}
	if s.LostAfter.Duration != 15*time.Minute {
		t.Errorf("LostAfter = %v, want 15m", s.LostAfter)
	}
	if e.Rate != DefaultRate {
		t.Errorf("Rate = %v, want %v", e.Rate, DefaultRate)
	}
	if ps := f.Validate(); len(ps) != 0 {
		t.Errorf("minimal config has problems: %v", ps)
	}
}

func TestLoadStripPrefixDefaultsToPrefix(t *testing.T) {
	f := mustParse(t, `environments:
  a: {storage: {bucket: bkt, prefix: in/}, status: {table: tbl}}
  b: {storage: {bucket: bkt, prefix: in/, strip_prefix: ""}, status: {table: tbl}}
  c: {storage: {bucket: bkt, prefix: in/2024/, strip_prefix: in/}, status: {table: tbl}}
`)
	for name, want := range map[string]string{"a": "in/", "b": "", "c": "in/"} {
		if got := f.Environments[name].Storage.StripPrefix; got != want {
			t.Errorf("%s: StripPrefix = %q, want %q", name, got, want)
		}
	}
}

func TestLoadKeepsExplicitZeroForValidate(t *testing.T) {
	f := mustParse(t, `environments:
  prod:
    storage: {bucket: bkt}
    status: {table: tbl, lost_after: 0s, terminal_states: []}
    rate: 0
`)
	e := f.Environments["prod"]
	if e.Rate != 0 || e.Status.LostAfter.Duration != 0 || len(e.Status.TerminalStates) != 0 {
		t.Fatalf("explicit zeros were defaulted: rate=%v lost_after=%v terminal=%q", e.Rate, e.Status.LostAfter, e.Status.TerminalStates)
	}
	fields := map[string]bool{}
	for _, p := range Errors(f.Validate()) {
		fields[p.Field] = true
	}
	for _, want := range []string{"environments.prod.rate", "environments.prod.status.lost_after", "environments.prod.status.terminal_states"} {
		if !fields[want] {
			t.Errorf("no error for %s; got %v", want, fields)
		}
	}
}

func TestLoadNullValuesTakeDefaults(t *testing.T) {
	f := mustParse(t, `environments:
  prod:
    storage: {bucket: bkt}
    status: {table: tbl, lost_after: ~, terminal_states: null}
    rate:
  empty:
`)
	e := f.Environments["prod"]
	if e.Rate != DefaultRate || e.Status.LostAfter.Duration != DefaultLostAfter || len(e.Status.TerminalStates) != 1 {
		t.Errorf("null values did not take defaults: %+v", e.Status)
	}
	empty := f.Environments["empty"]
	if empty == nil || empty.Name != "empty" || empty.Status.KeyAttr != DefaultKeyAttr {
		t.Fatalf("an environment with nothing under it should be an empty, defaulted Env; got %+v", empty)
	}
	var missing []string
	for _, p := range Errors(f.Validate()) {
		if p.Env == "empty" {
			missing = append(missing, p.Field)
		}
	}
	if strings.Join(missing, ",") != "environments.empty.storage.bucket,environments.empty.status.table" {
		t.Errorf("empty environment problems = %q, want bucket and table required", missing)
	}
}

func TestLoadStrictShape(t *testing.T) {
	cases := []struct {
		name      string
		yaml      string
		wantLine  int
		wantField string
		wantMsg   string
	}{
		{"unknown field with suggestion", minimal + "    gateway:\n      auht: iam\n", 8, "environments.prod.gateway.auht", `unknown field (did you mean auth?); expected one of url, auth,`},
		{"unknown top-level field", "environment:\n  prod: {}\n", 1, "environment", "did you mean environments?"},
		{"unknown env field", minimal + "    regoin: eu-west-1\n", 7, "environments.prod.regoin", "did you mean region?"},
		{"bool", minimal + "    read_only: maybe\n", 7, "environments.prod.read_only", `expected true or false, found "maybe"`},
		{"number", minimal + "    rate: fast\n", 7, "environments.prod.rate", `expected a number, found "fast"`},
		{"duration without unit", minimal + "      lost_after: 15\n", 7, "environments.prod.status.lost_after", "add a unit"},
		{"duration with an unknown unit", minimal + "      lost_after: 1y\n", 7, "environments.prod.status.lost_after", "2d or 1w"},
		{"list expected", minimal + "      terminal_states: PROCESSED\n", 7, "environments.prod.status.terminal_states", "expected a list"},
		{"scalar expected", minimal + "    region: [eu-west-1]\n", 7, "environments.prod.region", "expected a single value, found a list"},
		{"mapping expected", minimal + "    gateway: https://x\n", 7, "environments.prod.gateway", "expected a mapping of url, auth,"},
		{"environments not a mapping", "environments: [prod]\n", 1, "environments", "expected a mapping of environment names"},
		{"top level not a mapping", "- prod\n", 1, "", "expected a mapping with default_env and environments"},
		{"duplicate field", minimal + "      table: other\n", 7, "environments.prod.status.table", "set twice (first on line 6)"},
		{"duplicate environment", minimal + "  prod: {}\n", 7, "environments.prod", "environment declared twice (first on line 2)"},
		{"two documents", minimal + "---\nenvironments: {}\n", 7, "", "more than one YAML document"},
		{"syntax in a second document", minimal + "---\n[\n", 8, "", "not valid YAML"},
		{"syntax", "environments:\n  prod: {storage: [\n", 2, "", "not valid YAML"},
		{"alias cycle", "environments:\n  prod: &a\n    <<: *a\n", 3, "environments.prod", "refers to the value that contains it"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ps := parseProblems(t, c.yaml)
			for _, p := range ps {
				if p.Field == c.wantField && strings.Contains(p.Message, c.wantMsg) {
					if p.Line != c.wantLine {
						t.Errorf("line = %d, want %d (%s)", p.Line, c.wantLine, p)
					}
					if p.File != "config.yaml" || !strings.HasPrefix(p.String(), "config.yaml:") {
						t.Errorf("problem does not name the file: %s", p)
					}
					if p.Warning {
						t.Errorf("shape problems are errors, got a warning: %s", p)
					}
					return
				}
			}
			t.Errorf("no problem for %q containing %q; got:\n%v", c.wantField, c.wantMsg, (&Error{Problems: ps}).Error())
		})
	}
}

// The strict route parser runs at load time, and its refusals name file, line and field.
func TestLoadRefusesARouteTheGatewayCouldNotSendAsWritten(t *testing.T) {
	cases := []struct {
		name      string
		yaml      string
		wantLine  int
		wantField string
		wantMsg   string
	}{
		{"escaped literal", minimal + "    gateway:\n      url: https://x.example.com\n      routes:\n        inplace: PUT /p/%41/{key}\n",
			10, "environments.prod.gateway.routes.inplace", `holds "%"`},
		{"unknown placeholder", minimal + "    gateway:\n      url: https://x.example.com\n      routes:\n        reupload: PUT /p/{id}\n",
			10, "environments.prod.gateway.routes.reupload", `unknown placeholder "{id}"`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ps := Errors(mustParse(t, c.yaml).Validate())
			for _, p := range ps {
				if p.Field == c.wantField && strings.Contains(p.Message, c.wantMsg) {
					if p.Line != c.wantLine || !strings.HasPrefix(p.String(), "config.yaml:") {
						t.Errorf("line = %d, want %d, and the file named (%s)", p.Line, c.wantLine, p)
					}
					return
				}
			}
			t.Errorf("no problem for %q containing %q; got:\n%v", c.wantField, c.wantMsg, (&Error{Problems: ps}).Error())
		})
	}
}

func TestLoadReportsEveryShapeProblemAtOnce(t *testing.T) {
	ps := parseProblems(t, minimal+"    regoin: x\n    rate: fast\n    storagee: {}\n")
	if len(ps) != 3 {
		t.Errorf("got %d problems, want 3:\n%v", len(ps), (&Error{Problems: ps}).Error())
	}
}

func TestLoadAnchorsAndMerges(t *testing.T) {
	// stowage rejects unknown top-level keys, so shared settings are anchored on one
	// environment and merged into the next.
	f := mustParse(t, `environments:
  a: &common
    region: eu-west-1
    storage: {bucket: bucket-a}
    status: {table: shared-status}
  b:
    <<: *common
    storage: {bucket: bucket-b}
    region: us-east-1
`)
	a, b := f.Environments["a"], f.Environments["b"]
	if b.Status.Table != "shared-status" || b.Storage.Bucket != "bucket-b" || b.Region != "us-east-1" || a.Region != "eu-west-1" {
		t.Errorf("merge: a=%+v b=%+v", a, b)
	}
	if ps := f.Validate(); len(ps) != 0 {
		t.Errorf("problems: %v", ps)
	}
}

func TestLoadEmptyFile(t *testing.T) {
	for _, data := range []string{"", "# only a comment\n", "---\n"} {
		f := mustParse(t, data)
		ps := Errors(f.Validate())
		if len(ps) != 1 || ps[0].Field != "environments" || !strings.Contains(ps[0].Message, "add at least one") {
			t.Errorf("%q: problems = %v, want one saying to add an environment", data, ps)
		}
	}
}

func TestLoadMissingFileSaysHowToCreateOne(t *testing.T) {
	path := filepath.Join(t.TempDir(), "stowage", "config.yaml")
	_, err := Load(path)
	var nf *NotFoundError
	if !errors.As(err, &nf) || !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("err = %v (%T), want *NotFoundError wrapping fs.ErrNotExist", err, err)
	}
	if want := "stowage config example > " + path; !strings.Contains(err.Error(), want) {
		t.Errorf("error %q does not contain %q", err, want)
	}
	if want := "mkdir -p " + filepath.Dir(path); !strings.Contains(err.Error(), want) {
		t.Errorf("error %q does not contain %q", err, want)
	}
}

func TestLoadRejectsDirectoryAndHugeFile(t *testing.T) {
	dir := t.TempDir()
	if _, err := Load(dir); err == nil || !strings.Contains(err.Error(), "directory") {
		t.Errorf("Load(dir) = %v, want a directory error", err)
	}
	big := filepath.Join(dir, "big.yaml")
	if err := os.WriteFile(big, []byte(strings.Repeat("# x\n", maxFileSize/4+1)), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(big); err == nil || !strings.Contains(err.Error(), "right file") {
		t.Errorf("Load(big) = %v, want a size error", err)
	}
}

func TestLoadSetsPathAndPerm(t *testing.T) {
	path := writeFile(t, minimal, 0o640)
	f, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if f.Path != path || !f.permKnown || f.perm != 0o640 {
		t.Errorf("Path=%q permKnown=%v perm=%o", f.Path, f.permKnown, f.perm)
	}
}

func TestAliasBombIsAnError(t *testing.T) {
	// Each environment merges the previous one ten times: expanded, e6 alone would be a
	// million mappings. The walk must stop at maxNodes rather than hang.
	var b strings.Builder
	b.WriteString("environments:\n  e0: &e0 {storage: {bucket: bkt}, status: {table: tbl}}\n")
	for i := 1; i <= 6; i++ {
		prev := fmt.Sprintf("*e%d", i-1)
		fmt.Fprintf(&b, "  e%d: &e%d {<<: [%s]}\n", i, i, strings.TrimSuffix(strings.Repeat(prev+", ", 10), ", "))
	}
	_, err := Parse("config.yaml", []byte(b.String()))
	if err == nil || !strings.Contains(err.Error(), "too many YAML nodes") {
		t.Fatalf("err = %v, want a too-many-nodes error", err)
	}
}

func writeFile(t *testing.T, content string, perm os.FileMode) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(path, []byte(content), perm); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, perm); err != nil { // WriteFile's perm is masked by umask
		t.Fatal(err)
	}
	return path
}

func fsMode(perm uint32) os.FileMode { return os.FileMode(perm) }

func TestParseErrorsNeverQuoteTheAPIKey(t *testing.T) {
	const secret = "s3cr3t-k3y-value"
	for _, yaml := range []string{
		minimal + "    gateway:\n      api_key: " + secret + "\n      api_key: " + secret + "\n",
		minimal + "    gateway:\n      api_key: " + secret + "\n     bad: indent\n",
		minimal + "    gateway:\n      api_key: [" + secret + "]\n",
		minimal + "    gateway:\n      api_key: {" + secret + ": 1}\n",
		minimal + "    gateway:\n      api_key: " + secret + "\n      rate: x\n",
		minimal + "    gateway:\n      api_key: \"" + secret + "\n",
		minimal + "    gateway:\n      api_key: !!int " + secret + "\n",
		minimal + "    gateway:\n      api_key: !!binary " + secret + "\n",
	} {
		_, err := Parse("config.yaml", []byte(yaml))
		if err == nil {
			t.Errorf("no error for\n%s", yaml)
			continue
		}
		if strings.Contains(err.Error(), secret) {
			t.Errorf("the key leaked into %q", err)
		}
	}
}

func TestProblemsAreSafeForTheTerminal(t *testing.T) {
	ps := parseProblems(t, "environments:\n  \"p\\e[2J\":\n    \"x\\e]0;owned\\a\": 1\n    region: \"\\e[31m\"\n")
	for _, p := range ps {
		if strings.ContainsAny(p.String(), "\x1b\x07") {
			t.Errorf("raw escape in %q", p)
		}
	}
	f := mustParse(t, "environments:\n  prod:\n    storage: {bucket: acme-requests}\n    status: {table: acme-status}\n    region: \"\\e[31mred\"\n")
	ps = f.Validate()
	if len(ps) != 1 || strings.ContainsAny(ps[0].String(), "\x1b") || !strings.Contains(ps[0].String(), `\x1b[31mred`) {
		t.Errorf("problems = %q", ps)
	}
}

// The reviewer's file: shape problems and field problems in two environments. Every one is
// reported, and a field that could not be read is not reported again as its default.
func TestParsePartialReportsEveryProblem(t *testing.T) {
	const yaml = `default_env: prod
environments:
  prod:
    regoin: eu-west-1
    rate: fast
    storage: {bucket: x}
    status:
      table: acme-status
      lost_after: 1y
      terminal_states: PROCESSED
    gateway: {auth: apikey}
  dev:
    storage: [a]
    status: {table: t}
    color: purple
`
	if _, err := Parse("config.yaml", []byte(yaml)); err == nil {
		t.Fatal("Parse accepted a file with shape problems")
	}
	f, err := ParsePartial("config.yaml", []byte(yaml))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, p := range f.Validate() {
		got = append(got, fmt.Sprintf("%d %s %s", p.Line, p.Env, p.Field))
	}
	want := []string{
		"4 prod environments.prod.regoin",
		"5 prod environments.prod.rate",
		"6 prod environments.prod.storage.bucket",
		"9 prod environments.prod.status.lost_after",
		"10 prod environments.prod.status.terminal_states",
		"11 prod environments.prod.gateway.auth",
		"13 dev environments.dev.storage",
		"14 dev environments.dev.status.table",
		"15 dev environments.dev.color",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("problems:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	// What could be read was read; what could not took its default.
	prod := f.Environments["prod"]
	if prod.Status.Table != "acme-status" || prod.Rate != DefaultRate || prod.Status.LostAfter.Duration != DefaultLostAfter {
		t.Errorf("prod = %+v", prod)
	}
}

// A value shared through an anchor is a problem of every environment that uses it, so
// none of them is used with a default in its place.
func TestParsePartialReportsAnchoredProblemsEverywhere(t *testing.T) {
	f, err := ParsePartial("config.yaml", []byte(`environments:
  dev:
    storage: {bucket: acme-dev}
    status: {table: acme-status}
    rate: &r fast
  prod:
    storage: {bucket: acme-prod}
    status: {table: acme-status}
    rate: *r
  ok:
    storage: {bucket: acme-ok}
    status: {table: acme-status}
`))
	if err != nil {
		t.Fatal(err)
	}
	byEnv := map[string][]string{}
	for _, p := range Errors(f.Validate()) {
		byEnv[p.Env] = append(byEnv[p.Env], p.Field)
	}
	for _, env := range []string{"dev", "prod"} {
		if len(byEnv[env]) != 1 || byEnv[env][0] != "environments."+env+".rate" {
			t.Errorf("%s: errors %v, want one for its rate", env, byEnv[env])
		}
	}
	if len(byEnv["ok"]) != 0 {
		t.Errorf("ok: errors %v", byEnv["ok"])
	}
}

func TestLoadPartialNeedsAReadableFile(t *testing.T) {
	if _, err := LoadPartial(writeFile(t, "environments:\n  prod: {storage: [\n", 0o600)); err == nil {
		t.Error("a syntax error gave a file")
	}
	f, err := LoadPartial(writeFile(t, minimal+"    regoin: x\n", 0o640))
	if err != nil || !f.permKnown || len(Errors(f.Validate())) != 1 {
		t.Fatalf("LoadPartial = %v, %v", f, err)
	}
	if _, err := Load(writeFile(t, minimal+"    regoin: x\n", 0o600)); err == nil {
		t.Error("Load accepted an unknown field")
	}
}
