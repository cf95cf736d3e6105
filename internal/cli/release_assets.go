package cli

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/cobra/doc"

	"github.com/stowage-cli/stowage/internal/atomicfile"
)

// completionFiles names the script of each shell as the packages install it: bash and
// fish look the command's name up, zsh wants _name on $fpath.
var completionFiles = map[string]string{
	"bash":       "stowage.bash",
	"zsh":        "_stowage",
	"fish":       "stowage.fish",
	"powershell": "stowage.ps1",
}

// newReleaseAssetsCmd is the hidden command goreleaser's before hook runs to write the
// completion scripts and man pages that every archive and package ships.
func newReleaseAssetsCmd(g *Globals) *cobra.Command {
	var out, date string
	cmd := &cobra.Command{
		Use:    "release-assets --out DIR --date UNIX_SECONDS",
		Short:  "Write the completion scripts and man pages for a release (used by goreleaser)",
		Hidden: true,
		Args:   cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if out == "" {
				return exitf(ExitUsage, "release-assets needs --out DIR")
			}
			if date == "" {
				date = os.Getenv("SOURCE_DATE_EPOCH")
			}
			when, err := parseReleaseDate(date)
			if err != nil {
				return err
			}
			return writeReleaseAssets(cmd.Root(), out, when)
		},
	}
	cmd.Flags().StringVar(&out, "out", "", "directory to write completions/ and manpages/ into (replaced)")
	cmd.Flags().StringVar(&date, "date", "", "the commit's time in Unix seconds, for the man pages (default $SOURCE_DATE_EPOCH)")
	return cmd
}

// parseReleaseDate reads the man pages' date: the commit's, never the clock's, so that
// two builds of one commit are identical.
func parseReleaseDate(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, exitf(ExitUsage, "release-assets needs the commit time: pass --date $(git log -1 --format=%%ct) or set SOURCE_DATE_EPOCH")
	}
	sec, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return time.Time{}, exitf(ExitUsage, "release-assets --date %q: want Unix seconds, as git log -1 --format=%%ct prints", s)
	}
	return time.Unix(sec, 0).UTC(), nil
}

// writeReleaseAssets replaces dir with completions/ (one script per shell) and manpages/
// (stowage.1.gz and one page per command, gzipped without a name or time in the header).
func writeReleaseAssets(root *cobra.Command, dir string, date time.Time) error {
	if err := os.RemoveAll(dir); err != nil {
		return fmt.Errorf("release-assets: %w", err)
	}
	for _, sub := range []string{"completions", "manpages"} {
		if err := os.MkdirAll(filepath.Join(dir, sub), 0o755); err != nil {
			return fmt.Errorf("release-assets: %w", err)
		}
	}
	for _, shell := range completionShells {
		var buf bytes.Buffer
		if err := writeCompletion(root, shell, &buf); err != nil {
			return err
		}
		if err := atomicfile.WriteFile(filepath.Join(dir, "completions", completionFiles[shell]), buf.Bytes(), 0o644); err != nil {
			return fmt.Errorf("release-assets: %w", err)
		}
	}
	// The pages must not depend on when or where they were generated.
	root.DisableAutoGenTag = true
	header := &doc.GenManHeader{
		Section: "1",
		Date:    &date,
		Source:  "stowage " + BuildVersion().Version,
		Manual:  "stowage manual",
	}
	return writeManTree(root, header, filepath.Join(dir, "manpages"))
}

// writeManTree writes the gzipped man page of c and of every command below it that the
// help lists (hidden commands and help topics have none), as cobra's doc.GenManTree does.
func writeManTree(c *cobra.Command, header *doc.GenManHeader, dir string) error {
	if !c.IsAvailableCommand() && c.HasParent() || c.IsAdditionalHelpTopicCommand() {
		return nil
	}
	for _, sub := range c.Commands() {
		if err := writeManTree(sub, header, dir); err != nil {
			return err
		}
	}
	h := *header // GenMan fills in the title per command
	var page bytes.Buffer
	if err := doc.GenMan(c, &h, &page); err != nil {
		return fmt.Errorf("release-assets: man page of %s: %w", c.CommandPath(), err)
	}
	name := strings.ReplaceAll(c.CommandPath(), " ", "-") + ".1.gz"
	return atomicfile.Write(filepath.Join(dir, name), atomicfile.Options{Perm: 0o644}, func(w io.Writer) error {
		zw, err := gzip.NewWriterLevel(w, gzip.BestCompression)
		if err != nil {
			return err
		}
		// gzip.Header's zero ModTime and Name keep the file the same on every build.
		if _, err := zw.Write(page.Bytes()); err != nil {
			return err
		}
		return zw.Close()
	})
}
