package cli

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

// TestUsageErrorsSayWhatToDo: cobra's own messages ("unknown flag", "accepts 1 arg(s)")
// reach the operator with the remedy and exit 2.
func TestUsageErrorsSayWhatToDo(t *testing.T) {
	isolateConfigHome(t)
	for _, c := range []struct {
		args []string
		says []string
	}{
		{[]string{"ls", "--bogus"}, []string{"unknown flag: --bogus", "see stowage ls --help"}},
		{[]string{"--bogus"}, []string{"unknown flag: --bogus", "see stowage --help"}},
		{[]string{"ls", "--limit", "many"}, []string{`invalid argument "many" for "--limit"`, "see stowage ls --help"}},
		{[]string{"show", "--range"}, []string{"flag needs an argument: --range", "see stowage show --help"}},
		{[]string{"ls", "extra"}, []string{`unknown command "extra" for "stowage ls"`, "see stowage ls --help"}},
		{[]string{"lost", "extra"}, []string{"see stowage lost --help"}},
		{[]string{"doctor", "extra"}, []string{"see stowage doctor --help"}},
		{[]string{"show"}, []string{"show needs a request: a request ID, an s3:// URI, a console URL or a log line", "see stowage show --help"}},
		{[]string{"show", "a", "b"}, []string{"show takes one request, got 2 arguments; quote a pasted log line", "see stowage show --help"}},
		{[]string{"completion"}, []string{"completion needs one shell: bash, zsh, fish or powershell", "see stowage completion --help"}},
		{[]string{"ls", "--bogus\x1b[2J"}, []string{"unknown flag: --bogus␛[2J"}},
	} {
		var out, errb bytes.Buffer
		code := Run(t.Context(), c.args, strings.NewReader(""), &out, &errb)
		if code != ExitUsage {
			t.Errorf("%q: exit %d, want %d; stderr %q", c.args, code, ExitUsage, errb.String())
		}
		for _, s := range c.says {
			if !strings.Contains(errb.String(), s) {
				t.Errorf("%q: stderr %q does not say %q", c.args, errb.String(), s)
			}
		}
		if strings.Contains(errb.String(), "\x1b") {
			t.Errorf("%q: a raw escape reached stderr: %q", c.args, errb.String())
		}
		if out.Len() != 0 {
			t.Errorf("%q: a usage error printed to stdout: %q", c.args, out.String())
		}
	}
}

// TestHelpMatchesBehaviour pins help text that once said something the code did not do.
func TestHelpMatchesBehaviour(t *testing.T) {
	t.Parallel()
	help := func(args ...string) string {
		var out, errb bytes.Buffer
		if code := Run(t.Context(), append(args, "--help"), strings.NewReader(""), &out, &errb); code != ExitOK {
			t.Fatalf("%v --help: exit %d: %s", args, code, errb.String())
		}
		return out.String()
	}
	show := help("show")
	if strings.Contains(show, "gzip payloads are shown as a hex dump") || !strings.Contains(show, "gzip payloads are decompressed") {
		t.Errorf("show --help misdescribes gzip payloads:\n%s", show)
	}
	for _, cmd := range []string{"ls", "lost"} {
		if h := help(cmd); !strings.Contains(h, "1 to 64") || strings.Contains(h, "2-64") {
			t.Errorf("%s --help does not give --parallel's range as checked (1 to 64):\n%s", cmd, h)
		}
	}
	if h := help("lost"); strings.Contains(h, "with --lost") {
		t.Errorf("lost --help refers to --lost, which lost does not have:\n%s", h)
	}
	if h := help("ls"); !strings.Contains(h, "with --lost: the age after which") {
		t.Errorf("ls --help does not tie --older-than to --lost:\n%s", h)
	}
	var out, errb bytes.Buffer
	if Run(t.Context(), []string{"ls", "--parallel", "65"}, strings.NewReader(""), &out, &errb) != ExitUsage ||
		!strings.Contains(errb.String(), "want 1 to 64") {
		t.Errorf("--parallel 65: %s", errb.String())
	}
}

// NewRoot lists every command once; none is registered from an init function.
func TestNewRootAddsEachCommandOnce(t *testing.T) {
	t.Parallel()
	seen := map[string]int{}
	for _, c := range NewRoot(&Globals{}).Commands() {
		seen[c.Name()]++
	}
	for _, name := range []string{"audit", "completion", "config", "demo", "doctor", "lost", "ls", "redrive", "show", "status", "version"} {
		if seen[name] != 1 {
			t.Errorf("%s is added %d times, want once", name, seen[name])
		}
	}
}

// stowage without a command opens the terminal UI; with --version or an unknown word it
// does not.
func TestNoCommandOpensTheTUI(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		args  []string
		opens bool
		code  int
	}{
		{[]string{}, true, ExitOK}, {[]string{"--version"}, false, ExitOK}, {[]string{"bogus"}, false, ExitUsage},
	} {
		opened := false
		var out, errb bytes.Buffer
		g := &Globals{Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errb, seams: seams{runTUI: func(context.Context, *Globals) error {
			opened = true
			return nil
		}}}
		if code := run(t.Context(), g, c.args); code != c.code || opened != c.opens {
			t.Errorf("%q: exit %d, opened the TUI %v; want exit %d, %v (stderr %q)", c.args, code, opened, c.code, c.opens, errb.String())
		}
	}
}
