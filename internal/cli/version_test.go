package cli

import (
	"bytes"
	"context"
	"runtime"
	"strings"
	"testing"
)

// execStowage runs the CLI in-process and returns its exit code, stdout and stderr.
func execStowage(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := Run(context.Background(), args, strings.NewReader(""), &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

func TestVersionPrintsInjectedValues(t *testing.T) {
	saved := [3]string{Version, Commit, Date}
	t.Cleanup(func() { Version, Commit, Date = saved[0], saved[1], saved[2] })
	Version, Commit, Date = "v1.2.3", "abc1234", "2026-01-02T03:04:05Z"

	code, out, errOut := execStowage(t, "version")
	if code != ExitOK || errOut != "" {
		t.Fatalf("exit %d, stderr %q", code, errOut)
	}
	for _, want := range []string{
		"stowage v1.2.3\n", "commit:   abc1234\n", "built:    2026-01-02T03:04:05Z\n",
		"go:       " + runtime.Version() + "\n", "platform: " + runtime.GOOS + "/" + runtime.GOARCH + "\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "(modified)") {
		t.Errorf("an injected commit is never marked modified:\n%s", out)
	}
}

func TestVersionFallsBackWhenNotInjected(t *testing.T) {
	saved := [3]string{Version, Commit, Date}
	t.Cleanup(func() { Version, Commit, Date = saved[0], saved[1], saved[2] })
	Version, Commit, Date = "", "", ""

	bi := BuildVersion()
	// A test binary has no module version and, built with -buildvcs=false, no vcs stamp.
	if bi.Version == "" || bi.Commit == "" || bi.Date == "" {
		t.Errorf("BuildVersion left a field empty: %+v", bi)
	}
	if bi.Version != "dev" && !strings.HasPrefix(bi.Version, "v") {
		t.Errorf("Version = %q, want dev or a module version", bi.Version)
	}
	if bi.GoVersion != runtime.Version() {
		t.Errorf("GoVersion = %q", bi.GoVersion)
	}
}

func TestVersionRejectsArguments(t *testing.T) {
	if code, _, errOut := execStowage(t, "version", "extra"); code != ExitUsage || !strings.Contains(errOut, "unknown command") && !strings.Contains(errOut, "accepts 0 arg") {
		t.Errorf("exit %d, stderr %q", code, errOut)
	}
}
