package docs

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/spf13/cobra"

	"github.com/stowage-cli/stowage/internal/cli"
	"github.com/stowage-cli/stowage/internal/config"
	"github.com/stowage-cli/stowage/internal/devstack"
	"github.com/stowage-cli/stowage/tui"
)

var update = flag.Bool("update", false, "rewrite README.md's generated key bindings table")

const readmePath = "../../README.md"

// Markers around the generated parts of README.md.
const (
	keysStart   = "<!-- keys:start -->"
	keysEnd     = "<!-- keys:end -->"
	demoStart   = "<!-- demo:start -->"
	demoEnd     = "<!-- demo:end -->"
	configStart = "<!-- config:start -->"
	configEnd   = "<!-- config:end -->"
)

// The demo walkthrough's first block starts the demo; the test starts the same stack in
// process instead and points every other line's config path at it.
const (
	demoServeLine  = "./stowage demo --serve --config-out /tmp/stowage-demo.yaml"
	demoConfigPath = "/tmp/stowage-demo.yaml"
)

func readReadme(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(readmePath)
	if err != nil {
		t.Fatalf("read README: %v", err)
	}
	return string(b)
}

// between returns the text between the start and end markers, and its offsets.
func between(t *testing.T, text, start, end string) (inner string, from, to int) {
	t.Helper()
	i := strings.Index(text, start)
	j := strings.Index(text, end)
	if i < 0 || j < 0 || j < i {
		t.Fatalf("README.md needs the markers %s and %s, in that order", start, end)
	}
	if strings.Count(text, start) != 1 || strings.Count(text, end) != 1 {
		t.Fatalf("README.md has more than one %s or %s", start, end)
	}
	from = i + len(start)
	return text[from:j], from, j
}

// keyTable renders the key bindings as a Markdown table.
func keyTable(rows []tui.HelpRow) string {
	cell := func(s string) string { return strings.ReplaceAll(s, "|", `\|`) }
	code := func(s string) string {
		if strings.Contains(s, "`") {
			return "`` " + s + " ``"
		}
		return "`" + s + "`"
	}
	var b strings.Builder
	// Blank lines around the table keep it apart from the marker comments in Markdown.
	b.WriteString("\n\n| Key | Action |\n| --- | --- |\n")
	for _, r := range rows {
		fmt.Fprintf(&b, "| %s | %s |\n", cell(code(r.Key)), cell(r.Description))
	}
	b.WriteString("\n")
	return b.String()
}

func TestReadmeKeyTableMatchesKeyMap(t *testing.T) {
	readme := readReadme(t)
	got, from, to := between(t, readme, keysStart, keysEnd)
	want := keyTable(tui.HelpRows(tui.DefaultKeyMap()))
	if got == want {
		return
	}
	if *update {
		out := readme[:from] + want + readme[to:]
		if err := os.WriteFile(readmePath, []byte(out), 0o644); err != nil {
			t.Fatalf("rewrite README: %v", err)
		}
		t.Logf("rewrote the key table in README.md")
		return
	}
	t.Errorf("README.md's key table differs from tui.DefaultKeyMap(); run go test ./internal/docs -update\n%s", lineDiff(got, want))
}

// lineDiff lists the lines only in got (-) and only in want (+).
func lineDiff(got, want string) string {
	g, w := strings.Split(got, "\n"), strings.Split(want, "\n")
	var b strings.Builder
	for _, l := range g {
		if !slices.Contains(w, l) {
			b.WriteString("- " + l + "\n")
		}
	}
	for _, l := range w {
		if !slices.Contains(g, l) {
			b.WriteString("+ " + l + "\n")
		}
	}
	if b.Len() == 0 {
		return "(the same lines, in another order)"
	}
	return b.String()
}

func TestKeyTableEscapesMarkdown(t *testing.T) {
	got := keyTable([]tui.HelpRow{{Key: "|", Description: "a | b"}, {Key: "`", Description: "tick"}})
	for _, want := range []string{"| `\\|` | a \\| b |", "| `` ` `` | tick |"} {
		if !strings.Contains(got, want) {
			t.Errorf("keyTable() = %q, want a line %q", got, want)
		}
	}
}

// ---- command lines ----

// codeBlock is one fenced code block of shell.
type codeBlock struct {
	line  int // line number of its first line in README.md
	lines []string
}

// shellBlocks returns README's ```sh blocks, with backslash continuations joined.
func shellBlocks(text string, firstLine int) []codeBlock {
	var blocks []codeBlock
	var cur *codeBlock
	pending := ""
	for i, l := range strings.Split(text, "\n") {
		trimmed := strings.TrimSpace(l)
		switch {
		case cur == nil && (trimmed == "```sh" || trimmed == "```shell" || trimmed == "```bash"):
			cur = &codeBlock{line: firstLine + i + 1}
		case cur != nil && trimmed == "```":
			blocks = append(blocks, *cur)
			cur, pending = nil, ""
		case cur != nil:
			if strings.HasSuffix(l, `\`) {
				pending += strings.TrimSuffix(l, `\`) + " "
				continue
			}
			cur.lines = append(cur.lines, pending+l)
			pending = ""
		}
	}
	return blocks
}

// token is a shell word or an operator.
type token struct {
	text string
	op   bool
}

// tokenize splits a line of shell into words and operators: enough shell for README
// examples (quotes, comments, pipes, lists, redirections, $(...)).
func tokenize(line string) ([]token, error) {
	var toks []token
	var w strings.Builder
	inWord := false
	flush := func() {
		if inWord {
			toks = append(toks, token{text: w.String()})
			w.Reset()
			inWord = false
		}
	}
	for i := 0; i < len(line); i++ {
		c := line[i]
		switch {
		case c == ' ' || c == '\t':
			flush()
		case c == '#' && !inWord:
			flush()
			return toks, nil
		case c == '\'':
			j := strings.IndexByte(line[i+1:], '\'')
			if j < 0 {
				return nil, fmt.Errorf("unterminated ' in %q", line)
			}
			w.WriteString(line[i+1 : i+1+j])
			inWord = true
			i += j + 1
		case c == '"':
			i++
			for ; i < len(line) && line[i] != '"'; i++ {
				if line[i] == '\\' && i+1 < len(line) && strings.IndexByte("\"\\$`", line[i+1]) >= 0 {
					i++
				}
				w.WriteByte(line[i])
			}
			if i >= len(line) {
				return nil, fmt.Errorf("unterminated \" in %q", line)
			}
			inWord = true
		case c == '\\' && i+1 < len(line):
			i++
			w.WriteByte(line[i])
			inWord = true
		case (c == '$' || c == '<' || c == '>') && i+1 < len(line) && line[i+1] == '(':
			// $(...) and the process substitutions <(...) and >(...) are one word.
			depth := 0
			j := i
			for ; j < len(line); j++ {
				if line[j] == '(' {
					depth++
				} else if line[j] == ')' {
					depth--
					if depth == 0 {
						break
					}
				}
			}
			if j >= len(line) {
				return nil, fmt.Errorf("unterminated $( in %q", line)
			}
			w.WriteString(line[i : j+1])
			inWord = true
			i = j
		case strings.IndexByte("|&;<>", c) >= 0:
			// A digit right before > or < is a file descriptor (2>).
			if (c == '>' || c == '<') && inWord && w.Len() == 1 && w.String() >= "0" && w.String() <= "9" {
				w.Reset()
				inWord = false
			}
			flush()
			op := string(c)
			for i+1 < len(line) && strings.IndexByte("|&<>", line[i+1]) >= 0 && len(op) < 2 {
				i++
				op += string(line[i])
			}
			toks = append(toks, token{text: op, op: true})
		default:
			w.WriteByte(c)
			inWord = true
		}
	}
	flush()
	return toks, nil
}

// pipeline is one list element of a shell line: its commands, connected by pipes.
type pipeline [][]string

// parseLine splits a line into pipelines of commands, dropping redirections.
func parseLine(line string) ([]pipeline, error) {
	toks, err := tokenize(line)
	if err != nil {
		return nil, err
	}
	var out []pipeline
	var p pipeline
	var cmd []string
	endCmd := func() {
		if len(cmd) > 0 {
			p = append(p, cmd)
		}
		cmd = nil
	}
	endPipeline := func() {
		endCmd()
		if len(p) > 0 {
			out = append(out, p)
		}
		p = nil
	}
	for i := 0; i < len(toks); i++ {
		t := toks[i]
		if !t.op {
			cmd = append(cmd, t.text)
			continue
		}
		switch {
		case t.text == "|":
			endCmd()
		case t.text == "||" || t.text == "&&" || t.text == ";" || t.text == "&":
			endPipeline()
		case strings.HasPrefix(t.text, ">") || strings.HasPrefix(t.text, "<") || t.text == "&>":
			if strings.HasSuffix(t.text, "&") { // 2>&1: the target is a descriptor
				if i+1 < len(toks) && !toks[i+1].op {
					i++
				}
				continue
			}
			if i+1 >= len(toks) || toks[i+1].op {
				return nil, fmt.Errorf("redirection %s without a target in %q", t.text, line)
			}
			i++
		default:
			return nil, fmt.Errorf("unexpected %q in %q", t.text, line)
		}
	}
	endPipeline()
	return out, nil
}

// stowageArgs returns the arguments of a stowage command line, skipping environment
// assignments; ok is false for any other program.
func stowageArgs(words []string) (args []string, ok bool) {
	for len(words) > 0 && strings.Contains(words[0], "=") && !strings.HasPrefix(words[0], "-") {
		words = words[1:]
	}
	switch {
	case len(words) >= 1 && (words[0] == "stowage" || words[0] == "./stowage"):
		return words[1:], true
	case len(words) >= 3 && words[0] == "go" && words[1] == "run" && words[2] == "./cmd/stowage":
		return words[3:], true
	}
	return nil, false
}

func TestParseLine(t *testing.T) {
	tests := []struct {
		line string
		want []pipeline
	}{
		{`stowage ls --status FAILED`, []pipeline{{{"stowage", "ls", "--status", "FAILED"}}}},
		{`stowage show 'ERROR requestId=x parse' --raw > body.xml  # save`, []pipeline{{{"stowage", "show", "ERROR requestId=x parse", "--raw"}}}},
		{`a -o json | jq -r .id | b --from-file - 2>/dev/null`, []pipeline{{{"a", "-o", "json"}, {"jq", "-r", ".id"}, {"b", "--from-file", "-"}}}},
		{`make build && ./stowage version`, []pipeline{{{"make", "build"}}, {{"./stowage", "version"}}}},
		{`x "a \"b\" $HOME" 2>&1 | y`, []pipeline{{{"x", `a "b" $HOME`}, {"y"}}}},
		{`source <(stowage completion bash)`, []pipeline{{{"source", "<(stowage completion bash)"}}}},
		{`echo $(date) done`, []pipeline{{{"echo", "$(date)", "done"}}}},
	}
	for _, tt := range tests {
		got, err := parseLine(tt.line)
		if err != nil {
			t.Errorf("parseLine(%q): %v", tt.line, err)
			continue
		}
		if fmt.Sprint(got) != fmt.Sprint(tt.want) {
			t.Errorf("parseLine(%q) = %q, want %q", tt.line, got, tt.want)
		}
	}
	if _, err := parseLine(`stowage show 'unterminated`); err == nil {
		t.Error("parseLine accepted an unterminated quote")
	}
}

// readmeCommand is one stowage command line found in README.md.
type readmeCommand struct {
	line int
	args []string
}

// readmeCommands finds every stowage command in README's shell blocks, including those in
// process substitutions such as <(stowage completion bash).
func readmeCommands(t *testing.T, readme string) []readmeCommand {
	t.Helper()
	var cmds []readmeCommand
	for _, b := range shellBlocks(readme, 1) {
		for i, l := range b.lines {
			pipes, err := parseLine(l)
			if err != nil {
				t.Errorf("README.md:%d: %v", b.line+i, err)
				continue
			}
			for _, p := range pipes {
				for _, words := range p {
					for _, w := range words { // <(stowage ...) and $(stowage ...)
						for _, pre := range []string{"<(", "$("} {
							if strings.HasPrefix(w, pre) && strings.HasSuffix(w, ")") {
								inner, err := parseLine(w[2 : len(w)-1])
								if err == nil && len(inner) == 1 && len(inner[0]) == 1 {
									if args, ok := stowageArgs(inner[0][0]); ok {
										cmds = append(cmds, readmeCommand{b.line + i, args})
									}
								}
							}
						}
					}
					if args, ok := stowageArgs(words); ok {
						cmds = append(cmds, readmeCommand{b.line + i, args})
					}
				}
			}
		}
	}
	if len(cmds) == 0 {
		t.Fatal("found no stowage command in README.md's ```sh blocks")
	}
	return cmds
}

func newRoot() *cobra.Command {
	g := &cli.Globals{Stdin: strings.NewReader(""), Stdout: io.Discard, Stderr: io.Discard}
	root := cli.NewRoot(g)
	root.InitDefaultHelpCmd()
	return root
}

// resolve finds the command args name and parses its flags and arguments as cobra would.
func resolve(args []string) (*cobra.Command, error) {
	root := newRoot()
	cmd, rest, err := root.Find(args)
	if err != nil {
		return nil, err
	}
	if err := cmd.ParseFlags(rest); err != nil {
		return nil, fmt.Errorf("%s: %w", cmd.CommandPath(), err)
	}
	pos := cmd.Flags().Args()
	if cmd == root && len(pos) > 0 {
		return nil, fmt.Errorf("unknown command %q", pos[0])
	}
	if err := cmd.ValidateArgs(pos); err != nil {
		return nil, fmt.Errorf("%s: %w", cmd.CommandPath(), err)
	}
	return cmd, nil
}

func TestResolveRejectsWhatStowageRejects(t *testing.T) {
	for _, args := range [][]string{
		{"lss"},
		{"ls", "--no-such-flag"},
		{"--env", "prod", "ls", "--status"},
		{"version", "extra"},
	} {
		if _, err := resolve(args); err == nil {
			t.Errorf("resolve(%q) accepted it", args)
		}
	}
	if _, err := resolve([]string{"--env", "prod", "ls", "--status", "FAILED", "-o", "json"}); err != nil {
		t.Errorf("resolve rejected a valid line: %v", err)
	}
}

func TestReadmeCommandLinesParse(t *testing.T) {
	for _, c := range readmeCommands(t, readReadme(t)) {
		if _, err := resolve(c.args); err != nil {
			t.Errorf("README.md:%d: stowage %s: %v", c.line, strings.Join(c.args, " "), err)
		}
	}
}

func TestReadmeShowsEveryCommand(t *testing.T) {
	shown := map[string]bool{}
	for _, c := range readmeCommands(t, readReadme(t)) {
		if cmd, err := resolve(c.args); err == nil {
			for ; cmd != nil && cmd.HasParent(); cmd = cmd.Parent() {
				if !cmd.Parent().HasParent() {
					shown[cmd.Name()] = true
				}
			}
		}
	}
	for _, cmd := range newRoot().Commands() {
		if cmd.Hidden || cmd.Name() == "help" {
			continue
		}
		if !shown[cmd.Name()] {
			t.Errorf("README.md shows no example of stowage %s: add one to the CLI reference", cmd.Name())
		}
	}
}

// ---- the demo walkthrough, run for real ----

func TestReadmeDemoWalkthroughRuns(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the demo stack")
	}
	readme := readReadme(t)
	section, from, _ := between(t, readme, demoStart, demoEnd)
	blocks := shellBlocks(section, strings.Count(readme[:from], "\n")+1)
	if len(blocks) < 2 {
		t.Fatalf("the demo walkthrough needs a block that starts the demo and one with commands; found %d blocks", len(blocks))
	}
	serve := strings.Join(blocks[0].lines, "\n")
	if strings.TrimSpace(serve) != demoServeLine {
		t.Fatalf("README.md:%d: the walkthrough's first block must be exactly %q (the test starts that stack in process); it is %q",
			blocks[0].line, demoServeLine, serve)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	dir := t.TempDir()
	t.Setenv("XDG_STATE_HOME", filepath.Join(dir, "state"))
	t.Setenv("XDG_CONFIG_HOME", filepath.Join(dir, "config"))
	t.Setenv("NO_COLOR", "1")
	// What `stowage demo` starts: seed 1, the default number of requests.
	st, err := devstack.Start(ctx, devstack.Options{Seed: 1})
	if err != nil {
		t.Fatalf("start the demo stack: %v", err)
	}
	defer st.Close()
	cfg := filepath.Join(dir, "demo.yaml")
	if err := st.WriteConfig(cfg); err != nil {
		t.Fatal(err)
	}

	ran := 0
	for _, b := range blocks[1:] {
		for i, l := range b.lines {
			where := fmt.Sprintf("README.md:%d", b.line+i)
			pipes, err := parseLine(l)
			if err != nil {
				t.Fatalf("%s: %v", where, err)
			}
			for _, p := range pipes {
				if len(p) == 1 && slices.Equal(p[0], []string{"make", "build"}) {
					continue // the test runs the commands in process
				}
				var stdin io.Reader = strings.NewReader("")
				for _, words := range p {
					args, ok := stowageArgs(words)
					if !ok {
						t.Fatalf("%s: the walkthrough may only run stowage (and make build), so that this test can run it; found %q", where, words)
					}
					args = slices.Clone(args)
					for k, a := range args {
						args[k] = strings.ReplaceAll(a, demoConfigPath, cfg)
					}
					var stdout, stderr bytes.Buffer
					code := cli.Run(ctx, args, stdin, &stdout, &stderr)
					ran++
					if code != cli.ExitOK {
						t.Errorf("%s: stowage %s exited %d\nstdout:\n%s\nstderr:\n%s", where, strings.Join(args, " "), code, stdout.String(), stderr.String())
					}
					if stdout.Len() == 0 {
						t.Errorf("%s: stowage %s printed nothing", where, strings.Join(args, " "))
					}
					stdin = &stdout
				}
			}
		}
	}
	if ran < 3 {
		t.Errorf("the demo walkthrough ran only %d stowage commands; it should show the CLI", ran)
	}
}

// ---- the config examples ----

// yamlBlocks returns README's ```yaml blocks and their first line numbers.
func yamlBlocks(readme string) (blocks []string, lines []int) {
	in := false
	var cur strings.Builder
	for i, l := range strings.Split(readme, "\n") {
		switch t := strings.TrimSpace(l); {
		case !in && (t == "```yaml" || t == "```yml"):
			in = true
			cur.Reset()
			lines = append(lines, i+2)
		case in && t == "```":
			in = false
			blocks = append(blocks, cur.String())
		case in:
			cur.WriteString(l + "\n")
		}
	}
	return blocks, lines
}

func TestReadmeConfigsValidate(t *testing.T) {
	readme := readReadme(t)
	blocks, lines := yamlBlocks(readme)
	if len(blocks) == 0 {
		t.Fatal("README.md shows no ```yaml config")
	}
	main, _, _ := between(t, readme, configStart, configEnd)
	for i, b := range blocks {
		f, err := config.Parse("README.md", []byte(b))
		if err != nil {
			t.Errorf("README.md:%d: the config does not parse: %v", lines[i], err)
			continue
		}
		for _, p := range f.Validate() {
			// The main example must be spotless; the others may only warn.
			if !p.Warning || strings.Contains(main, b) {
				t.Errorf("README.md:%d: %s", lines[i], p)
			}
		}
	}
}

// ---- pictures ----

func TestReadmeImagesExist(t *testing.T) {
	readme := readReadme(t)
	n := 0
	for rest := readme; ; {
		i := strings.Index(rest, "](screenshots/")
		if i < 0 {
			break
		}
		rest = rest[i+2:]
		j := strings.IndexByte(rest, ')')
		if j < 0 {
			t.Fatalf("README.md: unterminated image link %q", rest[:min(len(rest), 40)])
		}
		path := rest[:j]
		n++
		info, err := os.Stat(filepath.Join("../..", path))
		if err != nil || info.Size() == 0 {
			t.Errorf("README.md shows %s, which does not exist: run make screenshots", path)
		}
	}
	if n == 0 {
		t.Error("README.md shows no screenshot")
	}
}

// ---- make targets ----

func TestReadmeMakeTargetsExist(t *testing.T) {
	mk, err := os.ReadFile("../../Makefile")
	if err != nil {
		t.Fatal(err)
	}
	targets := map[string]bool{}
	for _, l := range strings.Split(string(mk), "\n") {
		if i := strings.Index(l, ":"); i > 0 && !strings.ContainsAny(l[:i], " \t=$#") && !strings.HasPrefix(l[i:], ":=") {
			targets[l[:i]] = true
		}
	}
	readme := readReadme(t)
	n := 0
	for _, b := range shellBlocks(readme, 1) {
		for i, l := range b.lines {
			pipes, err := parseLine(l)
			if err != nil {
				continue // reported by TestReadmeCommandLinesParse
			}
			for _, p := range pipes {
				for _, words := range p {
					if len(words) < 2 || words[0] != "make" {
						continue
					}
					n++
					for _, target := range words[1:] {
						if !strings.Contains(target, "=") && !targets[target] {
							t.Errorf("README.md:%d: make %s: the Makefile has no such target", b.line+i, target)
						}
					}
				}
			}
		}
	}
	if n == 0 {
		t.Error("README.md shows no make command; it should show make test")
	}
}
