package tui

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/charmbracelet/x/ansi"
)

// TestPlainGoldensMatchStyled keeps a plain-text twin beside every styled golden,
// including those a test writes with golden.RequireEqual instead of requireGolden: the
// twin is the styled golden with its ANSI stripped. It runs after the tests that write
// goldens (this file sorts after them), so one -update run rewrites both.
func TestPlainGoldensMatchStyled(t *testing.T) {
	n := 0
	err := filepath.WalkDir("testdata", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".golden") {
			return err
		}
		styled, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		n++
		plain := ansi.Strip(strings.ReplaceAll(string(styled), "\r\n", "\n"))
		requirePlainGolden(t, strings.TrimSuffix(path, ".golden")+".txt", plain)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n == 0 {
		t.Fatal("no styled goldens found under testdata")
	}
}
