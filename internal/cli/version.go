package cli

import (
	"fmt"
	"io"
	"runtime"
	"runtime/debug"

	"github.com/spf13/cobra"
)

// Version, Commit and Date are injected at build time, e.g. by goreleaser:
//
//	go build -ldflags "-X github.com/stowage-cli/stowage/internal/cli.Version=v1.2.3
//	  -X github.com/stowage-cli/stowage/internal/cli.Commit=abc1234
//	  -X github.com/stowage-cli/stowage/internal/cli.Date=2026-01-02T03:04:05Z" ./cmd/stowage
//
// Date is the commit's date, not the build's: goreleaser passes {{ .CommitDate }} and the
// Makefile git log -1 --format=%cI, so a rebuild of the same commit prints the same
// version. When they are empty, BuildVersion falls back to what the Go toolchain recorded.
var Version, Commit, Date string

// BuildInfo describes the running binary.
type BuildInfo struct {
	Version    string // "dev" when unknown
	Commit     string // "unknown" when unknown
	CommitDate string // the commit's date (RFC 3339); "unknown" when unknown
	Modified   bool   // built from a tree with uncommitted changes
	GoVersion  string
	Platform   string // GOOS/GOARCH
}

// BuildVersion returns the injected version information, falling back to
// debug.ReadBuildInfo (the module version for go install, vcs.* settings for builds
// inside a git checkout).
func BuildVersion() BuildInfo {
	info, ok := debug.ReadBuildInfo()
	return buildVersion(info, ok)
}

// buildVersion is BuildVersion over the toolchain's record info (ok false when there is
// none). Only the module version and the vcs.revision, vcs.time and vcs.modified settings
// are read: the other settings (build flags, paths) are not printed.
func buildVersion(info *debug.BuildInfo, ok bool) BuildInfo {
	bi := BuildInfo{
		Version: Version, Commit: Commit, CommitDate: Date,
		GoVersion: runtime.Version(), Platform: runtime.GOOS + "/" + runtime.GOARCH,
	}
	if ok && info != nil {
		if bi.Version == "" && info.Main.Version != "" && info.Main.Version != "(devel)" {
			bi.Version = info.Main.Version
		}
		for _, s := range info.Settings {
			switch s.Key {
			case "vcs.revision":
				if bi.Commit == "" {
					bi.Commit = s.Value
				}
			case "vcs.time": // the commit's time, like the injected Date
				if bi.CommitDate == "" {
					bi.CommitDate = s.Value
				}
			case "vcs.modified":
				// Only meaningful for the revision the toolchain recorded.
				bi.Modified = Commit == "" && s.Value == "true"
			}
		}
	}
	if bi.Version == "" {
		bi.Version = "dev"
	}
	if bi.Commit == "" {
		bi.Commit = "unknown"
	}
	if bi.CommitDate == "" {
		bi.CommitDate = "unknown"
	}
	return bi
}

func writeVersion(w io.Writer, bi BuildInfo) error {
	commit := bi.Commit
	if bi.Modified {
		commit += " (modified)"
	}
	_, err := fmt.Fprintf(w, "stowage %s\ncommit:      %s\ncommit date: %s\ngo:          %s\nplatform:    %s\n",
		bi.Version, commit, bi.CommitDate, bi.GoVersion, bi.Platform)
	return err
}

func newVersionCmd(g *Globals) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print stowage's version, commit, commit date, Go version and platform",
		Args:  cobra.NoArgs,
		RunE:  func(cmd *cobra.Command, _ []string) error { return printVersion(cmd) },
	}
}

// printVersion is what both stowage version and stowage --version print.
func printVersion(cmd *cobra.Command) error {
	return writeVersion(cmd.OutOrStdout(), BuildVersion())
}
