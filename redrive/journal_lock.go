package redrive

import (
	"errors"
	"fmt"

	"github.com/gofrs/flock"
)

// lockJournal takes an exclusive lock for the journal at path without waiting, so two
// stowage processes never append to one journal, on every platform. The lock is held on a
// file beside the journal (path + ".lock"), not on the journal: Windows locks are
// mandatory and would stop the journal itself from being read. The lock file is left in
// place, since removing it would let a third process lock a new file while a second waits
// on the old one.
func lockJournal(path string) (func(), error) {
	l := flock.New(path+".lock", flock.SetPermissions(0o600))
	ok, err := l.TryLock()
	if err != nil {
		return nil, fmt.Errorf("lock %s: %w", l.Path(), err)
	}
	if !ok {
		return nil, errors.New("locked by another stowage process")
	}
	return func() { _ = l.Unlock() }, nil
}
