// Command assets writes the completion scripts and man pages that every release archive
// and package ships; goreleaser's before hook runs it:
//
//	go run ./internal/release/assets --out internal/release/generated --date UNIX_SECONDS
//
// It lives outside the stowage binary so that cobra's man page generator (cobra/doc, with
// go-md2man, blackfriday and a second YAML library) is not linked into it: every stowage
// command paid for their package initialisation before its first request (#13).
package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
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
	"github.com/stowage-cli/stowage/internal/cli"
)

// completionFiles names the script of each shell as the packages install it: bash and
// fish look the command's name up, zsh wants _name on $fpath.
var completionFiles = map[string]string{
	"bash":       "stowage.bash",
	"zsh":        "_stowage",
	"fish":       "stowage.fish",
	"powershell": "stowage.ps1",
}

// usageError is a mistake in how the command was called (exit 2, as stowage's own).
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

func main() {
	err := run(os.Args[1:], os.Getenv("SOURCE_DATE_EPOCH"), os.Stderr)
	if err == nil {
		return
	}
	fmt.Fprintln(os.Stderr, "assets:", err)
	if errors.As(err, new(usageError)) {
		os.Exit(cli.ExitUsage)
	}
	os.Exit(1)
}

// run parses args (--out DIR, --date UNIX_SECONDS; the date defaults to sourceDate) and
// writes the assets.
func run(args []string, sourceDate string, stderr io.Writer) error {
	var out, date string
	cmd := &cobra.Command{
		Use:   "assets --out DIR --date UNIX_SECONDS",
		Short: "Write the completion scripts and man pages for a release (used by goreleaser)",
		Args: func(_ *cobra.Command, args []string) error {
			if len(args) > 0 {
				return usageError{fmt.Sprintf("release-assets takes no arguments, got %q", args)}
			}
			return nil
		},
		SilenceUsage:  true,
		SilenceErrors: true,
		RunE: func(*cobra.Command, []string) error {
			if out == "" {
				return usageError{"release-assets needs --out DIR"}
			}
			if date == "" {
				date = sourceDate
			}
			when, err := parseReleaseDate(date)
			if err != nil {
				return err
			}
			return writeReleaseAssets(out, when)
		},
	}
	cmd.Flags().StringVar(&out, "out", "", "directory to write completions/ and manpages/ into (replaced)")
	cmd.Flags().StringVar(&date, "date", "", "the commit's time in Unix seconds, for the man pages (default $SOURCE_DATE_EPOCH)")
	cmd.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError{"release-assets: " + err.Error()} })
	cmd.SetArgs(args)
	cmd.SetOut(stderr)
	cmd.SetErr(stderr)
	return cmd.Execute()
}

// parseReleaseDate reads the man pages' date: the commit's, never the clock's, so that
// two builds of one commit are identical.
func parseReleaseDate(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, usageError{"release-assets needs the commit time: pass --date $(git log -1 --format=%ct) or set SOURCE_DATE_EPOCH"}
	}
	sec, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return time.Time{}, usageError{fmt.Sprintf("release-assets --date %q: want Unix seconds, as git log -1 --format=%%ct prints", s)}
	}
	return time.Unix(sec, 0).UTC(), nil
}

// writeReleaseAssets replaces dir with completions/ (one script per shell, what
// `stowage completion SHELL` prints) and manpages/ (stowage.1.gz and one page per
// command, gzipped without a name or time in the header).
func writeReleaseAssets(dir string, date time.Time) error {
	if err := os.RemoveAll(dir); err != nil {
		return fmt.Errorf("release-assets: %w", err)
	}
	for _, sub := range []string{"completions", "manpages"} {
		if err := os.MkdirAll(filepath.Join(dir, sub), 0o755); err != nil {
			return fmt.Errorf("release-assets: %w", err)
		}
	}
	for _, shell := range cli.CompletionShells() {
		var script, errOut bytes.Buffer
		if code := cli.Run(context.Background(), []string{"completion", shell}, strings.NewReader(""), &script, &errOut); code != cli.ExitOK {
			return fmt.Errorf("release-assets: completion %s: exit %d: %s", shell, code, strings.TrimSpace(errOut.String()))
		}
		if err := atomicfile.WriteFile(filepath.Join(dir, "completions", completionFiles[shell]), script.Bytes(), 0o644); err != nil {
			return fmt.Errorf("release-assets: %w", err)
		}
	}
	root := cli.NewRoot(&cli.Globals{Stdin: strings.NewReader(""), Stdout: io.Discard, Stderr: io.Discard})
	// The pages must not depend on when or where they were generated.
	root.DisableAutoGenTag = true
	header := &doc.GenManHeader{
		Section: "1",
		Date:    &date,
		Source:  "stowage " + cli.BuildVersion().Version,
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
