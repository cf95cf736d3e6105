package cli

import (
	"bytes"
	"context"
	"runtime"
	"runtime/debug"
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

// setInjected sets the ldflags variables for one test.
func setInjected(t *testing.T, version, commit, date string) {
	saved := [3]string{Version, Commit, Date}
	t.Cleanup(func() { Version, Commit, Date = saved[0], saved[1], saved[2] })
	Version, Commit, Date = version, commit, date
}

func TestVersionPrintsInjectedValues(t *testing.T) {
	setInjected(t, "v1.2.3", "abc1234", "2026-01-02T03:04:05Z")

	code, out, errOut := execStowage(t, "version")
	if code != ExitOK || errOut != "" {
		t.Fatalf("exit %d, stderr %q", code, errOut)
	}
	want := "stowage v1.2.3\ncommit:      abc1234\ncommit date: 2026-01-02T03:04:05Z\n" +
		"go:          " + runtime.Version() + "\nplatform:    " + runtime.GOOS + "/" + runtime.GOARCH + "\n"
	if out != want {
		t.Errorf("output\n%s\nwant\n%s", out, want)
	}
}

func TestBuildVersion(t *testing.T) {
	vcs := func(rev, time, modified string) []debug.BuildSetting {
		return []debug.BuildSetting{
			{Key: "-ldflags", Value: "-X main.token=do-not-print-me"},
			{Key: "vcs", Value: "git"},
			{Key: "vcs.revision", Value: rev},
			{Key: "vcs.time", Value: time},
			{Key: "vcs.modified", Value: modified},
		}
	}
	const rev, when = "0123456789abcdef0123456789abcdef01234567", "2026-02-03T04:05:06Z"
	cases := []struct {
		name     string
		injected [3]string
		info     *debug.BuildInfo
		ok       bool
		want     BuildInfo
	}{
		{
			name: "git checkout build", info: &debug.BuildInfo{Main: debug.Module{Version: "(devel)"}, Settings: vcs(rev, when, "false")}, ok: true,
			want: BuildInfo{Version: "dev", Commit: rev, CommitDate: when},
		},
		{
			name: "uncommitted changes", info: &debug.BuildInfo{Main: debug.Module{Version: "(devel)"}, Settings: vcs(rev, when, "true")}, ok: true,
			want: BuildInfo{Version: "dev", Commit: rev, CommitDate: when, Modified: true},
		},
		{
			name: "go install of a tag", info: &debug.BuildInfo{Main: debug.Module{Version: "v1.4.0"}}, ok: true,
			want: BuildInfo{Version: "v1.4.0", Commit: "unknown", CommitDate: "unknown"},
		},
		{
			name:     "injected values win; modified is about the recorded revision only",
			injected: [3]string{"v2.0.0", "feedbeef", "2026-05-06T07:08:09Z"},
			info:     &debug.BuildInfo{Main: debug.Module{Version: "v1.4.0"}, Settings: vcs(rev, when, "true")}, ok: true,
			want: BuildInfo{Version: "v2.0.0", Commit: "feedbeef", CommitDate: "2026-05-06T07:08:09Z"},
		},
		{
			name: "no build info", ok: false,
			want: BuildInfo{Version: "dev", Commit: "unknown", CommitDate: "unknown"},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			setInjected(t, c.injected[0], c.injected[1], c.injected[2])
			got := buildVersion(c.info, c.ok)
			c.want.GoVersion, c.want.Platform = runtime.Version(), runtime.GOOS+"/"+runtime.GOARCH
			if got != c.want {
				t.Errorf("buildVersion =\n %+v, want\n %+v", got, c.want)
			}
			var out bytes.Buffer
			if err := writeVersion(&out, got); err != nil {
				t.Fatal(err)
			}
			if strings.Contains(out.String(), "do-not-print-me") || strings.Contains(out.String(), "ldflags") {
				t.Errorf("build settings printed:\n%s", out.String())
			}
			if got.Modified != strings.Contains(out.String(), got.Commit+" (modified)\n") {
				t.Errorf("modified not shown as such:\n%s", out.String())
			}
		})
	}
}

func TestBuildVersionOfThisBinary(t *testing.T) {
	setInjected(t, "", "", "")
	bi := BuildVersion()
	// A test binary has no module version and, built with -buildvcs=false, no vcs stamp.
	if bi.Version == "" || bi.Commit == "" || bi.CommitDate == "" || bi.GoVersion != runtime.Version() {
		t.Errorf("BuildVersion = %+v", bi)
	}
}

func TestVersionRejectsArguments(t *testing.T) {
	t.Parallel()
	if code, _, errOut := execStowage(t, "version", "extra"); code != ExitUsage || !strings.Contains(errOut, "unknown command") && !strings.Contains(errOut, "accepts 0 arg") {
		t.Errorf("exit %d, stderr %q", code, errOut)
	}
}

func TestVersionFlagPrintsWhatVersionPrints(t *testing.T) {
	setInjected(t, "v1.2.3", "abc1234", "2026-01-02T03:04:05Z")
	_, want, _ := execStowage(t, "version")
	code, out, errOut := execStowage(t, "--version")
	if code != ExitOK || errOut != "" {
		t.Fatalf("exit %d, stderr %q", code, errOut)
	}
	if out != want || !strings.HasPrefix(out, "stowage v1.2.3\n") {
		t.Errorf("stowage --version printed\n%s\nstowage version printed\n%s", out, want)
	}
	if code, _, _ := execStowage(t, "ls", "--version"); code != ExitUsage {
		t.Errorf("--version on a subcommand: exit %d, want a usage error", code)
	}
}
