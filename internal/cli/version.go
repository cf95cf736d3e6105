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
// When they are empty, BuildVersion falls back to what the Go toolchain recorded.
var Version, Commit, Date string

// BuildInfo describes the running binary.
type BuildInfo struct {
	Version   string // "dev" when unknown
	Commit    string // "unknown" when unknown
	Date      string // "unknown" when unknown
	Modified  bool   // built from a tree with uncommitted changes
	GoVersion string
	Platform  string // GOOS/GOARCH
}

// BuildVersion returns the injected version information, falling back to
// debug.ReadBuildInfo (the module version for go install, vcs.* settings for builds
// inside a git checkout).
func BuildVersion() BuildInfo {
	bi := BuildInfo{
		Version: Version, Commit: Commit, Date: Date,
		GoVersion: runtime.Version(), Platform: runtime.GOOS + "/" + runtime.GOARCH,
	}
	if info, ok := debug.ReadBuildInfo(); ok {
		if bi.Version == "" && info.Main.Version != "" && info.Main.Version != "(devel)" {
			bi.Version = info.Main.Version
		}
		for _, s := range info.Settings {
			switch s.Key {
			case "vcs.revision":
				if bi.Commit == "" {
					bi.Commit = s.Value
				}
			case "vcs.time":
				if bi.Date == "" {
					bi.Date = s.Value
				}
			case "vcs.modified":
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
	if bi.Date == "" {
		bi.Date = "unknown"
	}
	return bi
}

func writeVersion(w io.Writer, bi BuildInfo) error {
	commit := bi.Commit
	if bi.Modified {
		commit += " (modified)"
	}
	_, err := fmt.Fprintf(w, "stowage %s\ncommit:   %s\nbuilt:    %s\ngo:       %s\nplatform: %s\n",
		bi.Version, commit, bi.Date, bi.GoVersion, bi.Platform)
	return err
}

func newVersionCmd(g *Globals) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print stowage's version, commit, build date, Go version and platform",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return writeVersion(cmd.OutOrStdout(), BuildVersion())
		},
	}
}

func init() { commands = append(commands, newVersionCmd) }
