package main

import (
	"bytes"
	"compress/gzip"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// releaseAssets runs the generator into a new directory and returns it.
func releaseAssets(t *testing.T, sourceDate string, args ...string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "assets")
	var errOut bytes.Buffer
	if err := run(append([]string{"--out", dir}, args...), sourceDate, &errOut); err != nil {
		t.Fatalf("assets: %v\n%s", err, errOut.String())
	}
	return dir
}

func TestReleaseAssetsShipEveryShellAndAManPagePerCommand(t *testing.T) {
	t.Parallel()
	dir := releaseAssets(t, "", "--date", "1767225600")
	for _, name := range []string{"stowage.bash", "_stowage", "stowage.fish", "stowage.ps1"} {
		if fi, err := os.Stat(filepath.Join(dir, "completions", name)); err != nil || fi.Size() == 0 {
			t.Errorf("completions/%s: %v", name, err)
		}
	}
	entries, err := os.ReadDir(filepath.Join(dir, "manpages"))
	if err != nil {
		t.Fatal(err)
	}
	var pages []string
	for _, e := range entries {
		pages = append(pages, e.Name())
	}
	for _, want := range []string{"stowage.1.gz", "stowage-ls.1.gz", "stowage-redrive.1.gz", "stowage-config-validate.1.gz"} {
		if !slices.Contains(pages, want) {
			t.Errorf("no %s among %v", want, pages)
		}
	}
	for _, page := range pages {
		if strings.Contains(page, "release-assets") || strings.HasPrefix(page, "stowage-help") {
			t.Errorf("a page for a command the help does not list: %s", page)
		}
	}

	f, err := os.Open(filepath.Join(dir, "manpages", "stowage.1.gz"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	if !zr.ModTime.IsZero() || zr.Name != "" {
		t.Errorf("gzip header carries time %v, name %q", zr.ModTime, zr.Name)
	}
	page, _ := io.ReadAll(zr)
	for _, want := range []string{`.TH "STOWAGE" "1" "Jan 2026"`, "--debug", "--version"} {
		if !bytes.Contains(page, []byte(want)) {
			t.Errorf("stowage.1 lacks %q:\n%s", want, page)
		}
	}
	if bytes.Contains(page, []byte("Auto generated")) {
		t.Errorf("stowage.1 carries cobra's generation date")
	}
}

func TestReleaseAssetsAreTheSameOnEveryRun(t *testing.T) {
	a := releaseAssets(t, "", "--date", "1767225600")
	t.Setenv("HOME", t.TempDir())
	t.Setenv("XDG_CONFIG_HOME", t.TempDir())
	b := releaseAssets(t, "1767225600")
	err := filepath.WalkDir(a, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(a, path)
		x, _ := os.ReadFile(path)
		y, err := os.ReadFile(filepath.Join(b, rel))
		if err != nil || !bytes.Equal(x, y) {
			t.Errorf("%s differs between two runs (%v)", rel, err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestReleaseAssetsNeedTheCommitTime(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{
		{"--out", t.TempDir()},
		{"--out", t.TempDir(), "--date", "2026-01-01"},
		{"--date", "1767225600"},
		{"--out", t.TempDir(), "--bogus"},
		{"--out", t.TempDir(), "--date", "1767225600", "extra"},
	} {
		err := run(args, "", io.Discard)
		if !errors.As(err, new(usageError)) || !strings.Contains(err.Error(), "release-assets") {
			t.Errorf("%v: %v, want a usage error", args, err)
		}
	}
}

func FuzzParseReleaseDate(f *testing.F) {
	for _, s := range []string{"1767225600", "", "-1", "2026-01-01", "99999999999999999999"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		when, err := parseReleaseDate(s)
		if err == nil && when.Location() != time.UTC {
			t.Errorf("%q: %v not in UTC", s, when)
		}
	})
}
