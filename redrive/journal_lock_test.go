package redrive

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// A journal in use by one stowage process cannot be opened by another: the lock holds
// across processes (and on Windows, where it used to be a no-op).
func TestJournalLockRefusesASecondProcess(t *testing.T) {
	if path := os.Getenv("STOWAGE_TEST_LOCK_JOURNAL"); path != "" {
		_, err := lockJournal(path)
		if err != nil && strings.Contains(err.Error(), "another stowage") {
			os.Exit(3)
		}
		os.Exit(0)
	}
	f := newFixture(t, 2)
	path := filepath.Join(f.dir, "held.journal.jsonl")
	j, err := CreateJournal(path, f.plan(t, ModeInplace))
	if err != nil {
		t.Fatal(err)
	}
	second := func() int {
		cmd := exec.Command(os.Args[0], "-test.run=^TestJournalLockRefusesASecondProcess$")
		cmd.Env = append(os.Environ(), "STOWAGE_TEST_LOCK_JOURNAL="+path)
		err := cmd.Run()
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return ee.ExitCode()
		}
		if err != nil {
			t.Fatal(err)
		}
		return 0
	}
	if code := second(); code != 3 {
		t.Errorf("a second process locked a journal in use (exit %d)", code)
	}
	j.Close()
	if code := second(); code != 0 {
		t.Errorf("a second process could not lock a released journal (exit %d)", code)
	}
}

// Within one process too, a second opener of a journal in use is refused.
func TestJournalLockRefusesASecondOpener(t *testing.T) {
	t.Setenv("XDG_STATE_HOME", filepath.Join(t.TempDir(), "state"))
	f := newFixture(t, 2)
	path := filepath.Join(f.dir, "held.journal.jsonl")
	j, err := CreateJournal(path, f.plan(t, ModeInplace))
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	st, err := LoadJournal(path)
	if err != nil {
		t.Fatal(err)
	}
	r, _ := Resume(f.deps(), st, f.opts())
	if err := r.Start(context.Background()); err == nil || !strings.Contains(err.Error(), "in use by another stowage") {
		t.Errorf("second opener: %v", err)
	}
}
