// Package atomicfile is stowage's one way to write a file that must never be seen half
// written: reports, saved payloads, the demo's state. Every write goes to a temporary file
// beside the target, is fsynced, moved into place, and the directory is synced, so after a
// crash the path holds either the old content or the whole new content.
//
// It is written here rather than taken from github.com/google/renameio/v2 because that
// package does not build on Windows (its maybe fallback is not atomic there), and it has no
// no-clobber placement, which saving a payload needs. It must not import any other stowage
// package.
package atomicfile

import (
	"bytes"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
)

// Options adjust Write.
type Options struct {
	// Perm is the new file's mode (0600 when zero).
	Perm fs.FileMode
	// NoReplace refuses an existing path with an error matching fs.ErrExist, checked at
	// the moment the file is placed, not only before the write.
	NoReplace bool
}

// Write streams fill's output into a temporary file beside path and moves it into place.
// If fill fails, nothing is placed and the temporary file is removed.
func Write(path string, opts Options, fill func(w io.Writer) error) (err error) {
	if opts.Perm == 0 {
		opts.Perm = 0o600
	}
	if opts.NoReplace {
		if _, err := os.Lstat(path); err == nil {
			return &fs.PathError{Op: "write", Path: path, Err: fs.ErrExist}
		}
	}
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".part-*")
	if err != nil {
		return err
	}
	tmp, placed := f.Name(), false
	defer func() {
		if !placed {
			f.Close()
			os.Remove(tmp)
		}
	}()
	if err := fill(f); err != nil {
		return err
	}
	if err := f.Chmod(opts.Perm); err != nil && !errors.Is(err, errors.ErrUnsupported) {
		// Windows cannot chmod an open file the POSIX way; the mode is advisory there.
		if !isWindows {
			return err
		}
	}
	if err := f.Sync(); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := place(tmp, path, opts.NoReplace); err != nil {
		return err
	}
	placed = true
	SyncDir(dir)
	return nil
}

// WriteFile writes data to path atomically with mode perm (0600 when zero).
func WriteFile(path string, data []byte, perm fs.FileMode) error {
	return Write(path, Options{Perm: perm}, func(w io.Writer) error {
		_, err := io.Copy(w, bytes.NewReader(data))
		return err
	})
}

// place moves tmp to path. Without replace, a hard link places the file only if the name
// is still free; file systems without hard links fall back to a check and a rename.
func place(tmp, path string, noReplace bool) error {
	if !noReplace {
		return os.Rename(tmp, path)
	}
	err := os.Link(tmp, path)
	if err == nil {
		os.Remove(tmp)
		return nil
	}
	if errors.Is(err, fs.ErrExist) {
		return &fs.PathError{Op: "write", Path: path, Err: fs.ErrExist}
	}
	if _, serr := os.Lstat(path); serr == nil {
		return &fs.PathError{Op: "write", Path: path, Err: fs.ErrExist}
	}
	return os.Rename(tmp, path)
}

// SyncDir makes a rename or a new file in dir durable. A file system that cannot sync a
// directory (Windows) loses nothing but that guarantee.
func SyncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		d.Close()
	}
}
