package cli

import (
	"bytes"
	"strings"
	"testing"

	"github.com/stowage-cli/stowage/internal/config"
)

func TestCompletion(t *testing.T) {
	t.Parallel()
	for shell, marker := range map[string]string{
		"bash":       "__start_stowage",
		"zsh":        "#compdef stowage",
		"fish":       "complete -c stowage",
		"powershell": "Register-ArgumentCompleter",
	} {
		var out, errb bytes.Buffer
		if code := Run(t.Context(), []string{"completion", shell}, strings.NewReader(""), &out, &errb); code != ExitOK {
			t.Fatalf("%s: exit %d: %s", shell, code, errb.String())
		}
		if !strings.Contains(out.String(), marker) {
			t.Fatalf("%s: the script lacks %q", shell, marker)
		}
	}
	var out, errb bytes.Buffer
	if code := Run(t.Context(), []string{"completion", "powershell-ish"}, strings.NewReader(""), &out, &errb); code != ExitUsage {
		t.Fatalf("an unknown shell: exit %d", code)
	}
	if code := Run(t.Context(), []string{"completion"}, strings.NewReader(""), &out, &errb); code != ExitUsage {
		t.Fatalf("no shell: exit %d", code)
	}
}

// TestCompletionOfFlagValues asks cobra's hidden completion command what it offers.
func TestCompletionOfFlagValues(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		args []string
		want []string
	}{
		{[]string{"__complete", "ls", "--sort", ""}, []string{"time", "size", "status"}},
		{[]string{"__complete", "ls", "-o", ""}, []string{"table", "json"}},
		{[]string{"__complete", "ls", "--status", ""}, []string{"FAILED", "PROCESSED", "LOST"}},
		{[]string{"__complete", "completion", ""}, []string{"bash", "zsh", "fish"}},
	} {
		var out, errb bytes.Buffer
		Run(t.Context(), c.args, strings.NewReader(""), &out, &errb)
		for _, w := range c.want {
			if !strings.Contains(out.String(), w+"\n") {
				t.Errorf("%v: %q not offered:\n%s", c.args, w, out.String())
			}
		}
	}
}

// TestCompletionAndEveryListingCommandHaveExamples keeps the runbook examples in the help.
func TestCompletionAndEveryListingCommandHaveExamples(t *testing.T) {
	t.Parallel()
	root := NewRoot(&Globals{})
	for _, name := range []string{"ls", "show", "status", "lost", "doctor", "completion"} {
		cmd, _, err := root.Find([]string{name})
		if err != nil || cmd.Name() != name {
			t.Fatalf("%s is not registered", name)
		}
		if !strings.Contains(cmd.Example, "  stowage "+name) && !strings.Contains(cmd.Example, " "+name+" ") {
			t.Errorf("%s has no examples", name)
		}
		if name != "completion" && !strings.Contains(cmd.Long, "Exit codes:") {
			t.Errorf("%s does not document its exit codes", name)
		}
	}
}

// TestCompletionOfEnvNamesTheConfigFileEnvironments: --env completes from the config file
// (the one --config names, or the default), and offers nothing when there is none.
func TestCompletionOfEnvNamesTheConfigFileEnvironments(t *testing.T) {
	path := writeConfig(t, config.Example(), 0o600)
	for _, args := range [][]string{
		{"__complete", "--config", path, "--env", ""},
		{"__complete", "--config", path, "ls", "--env", ""},
	} {
		var out, errb bytes.Buffer
		Run(t.Context(), args, strings.NewReader(""), &out, &errb)
		if !strings.HasPrefix(out.String(), "prod\nstaging\n:4\n") {
			t.Errorf("%v offers:\n%s", args, out.String())
		}
	}
	isolateConfigHome(t)
	var out, errb bytes.Buffer
	Run(t.Context(), []string{"__complete", "--env", ""}, strings.NewReader(""), &out, &errb)
	if got := out.String(); !strings.HasPrefix(got, ":4\n") {
		t.Errorf("without a config file --env offers:\n%s", got)
	}
}
