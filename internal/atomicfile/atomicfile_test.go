package atomicfile

import (
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
)

func TestWriteFileReplaces(t *testing.T) {
	p := filepath.Join(t.TempDir(), "r.json")
	if err := WriteFile(p, []byte("old"), 0); err != nil {
		t.Fatal(err)
	}
	if err := WriteFile(p, []byte("new"), 0o644); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(p)
	if string(b) != "new" {
		t.Fatalf("content %q, want new", b)
	}
	if fi, _ := os.Stat(p); fi.Mode().Perm() != 0o644 && !isWindows {
		t.Fatalf("mode %v, want 0644", fi.Mode().Perm())
	}
}

func TestFailedFillLeavesOldContentAndNoTemp(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "r.json")
	if err := WriteFile(p, []byte("old"), 0); err != nil {
		t.Fatal(err)
	}
	boom := errors.New("cut")
	err := Write(p, Options{}, func(w io.Writer) error {
		io.WriteString(w, "partial")
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("err %v, want the fill's error", err)
	}
	b, _ := os.ReadFile(p)
	if string(b) != "old" {
		t.Fatalf("content %q, want old", b)
	}
	ents, _ := os.ReadDir(dir)
	if len(ents) != 1 {
		t.Fatalf("%d entries left in the directory, want only the target", len(ents))
	}
}

func TestNoReplaceRefusesExisting(t *testing.T) {
	p := filepath.Join(t.TempDir(), "x")
	if err := WriteFile(p, []byte("mine"), 0); err != nil {
		t.Fatal(err)
	}
	err := Write(p, Options{NoReplace: true}, func(w io.Writer) error { _, err := io.WriteString(w, "theirs"); return err })
	if !errors.Is(err, fs.ErrExist) {
		t.Fatalf("err %v, want fs.ErrExist", err)
	}
	// The name is taken between the first check and placing the file.
	q := filepath.Join(t.TempDir(), "y")
	err = Write(q, Options{NoReplace: true}, func(w io.Writer) error {
		if err := os.WriteFile(q, []byte("raced"), 0o600); err != nil {
			return err
		}
		_, err := io.WriteString(w, "late")
		return err
	})
	if !errors.Is(err, fs.ErrExist) {
		t.Fatalf("err %v, want fs.ErrExist for a name taken during the write", err)
	}
	if b, _ := os.ReadFile(q); string(b) != "raced" {
		t.Fatalf("content %q: the racing file was replaced", b)
	}
}
