package devstack

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"strconv"

	"github.com/stowage-cli/stowage/internal/atomicfile"
)

// A table on disk (with DataDir) is a snapshot of every item in the compact form, written
// whole and atomically, plus a log of the items changed since, appended and synced by each
// save. So a save costs in proportion to what changed, not to the table (a million seeded
// items are about 500 MB); the snapshot is rewritten only when the log outgrows half of
// it. The snapshot names its generation G and only the log of generation G applies to
// it, so a crash between writing a new snapshot and removing the old log loses nothing.
// A crash can tear the log's last record: load stops at the first record whose checksum
// fails. A deleted item (a transaction's Delete) is logged as its key with an empty item.

// tableFiles are where one table lives in the DataDir.
type tableFiles struct {
	dir, name string
}

func (f tableFiles) snapshot() string { return filepath.Join(f.dir, f.name+".snapshot") }
func (f tableFiles) log(gen uint64) string {
	return filepath.Join(f.dir, f.name+".log."+strconv.FormatUint(gen, 10))
}

// legacy is the JSON file earlier versions rewrote whole on every save; load reads it when
// there is no snapshot yet.
func (f tableFiles) legacy() string { return filepath.Join(f.dir, f.name+".json") }

const snapshotMagic = "stowage-devstack-table 1\n"

// persisted is a table's state on disk. Guarded by the table's mu.
type persisted struct {
	gen       uint64 // of the snapshot on disk; 0 when there is none
	changed   map[string]bool
	logBytes  int64
	snapBytes int64
}

func appendRecord(b []byte, key string, enc []byte) []byte {
	start := len(b)
	b = binary.AppendUvarint(b, uint64(len(key)))
	b = append(b, key...)
	b = binary.AppendUvarint(b, uint64(len(enc)))
	b = append(b, enc...)
	return binary.LittleEndian.AppendUint32(b, crc32.ChecksumIEEE(b[start:]))
}

// readRecord reads one record; io.EOF at a clean end, errCorrupt for a torn or bad one.
func readRecord(r *bufio.Reader) (key string, enc []byte, err error) {
	var raw bytes.Buffer
	field := func() ([]byte, error) {
		n, err := binary.ReadUvarint(r)
		if err != nil {
			return nil, err
		}
		if n > 1<<20 { // an item is at most 400 KB, a key 2 KB
			return nil, errCorrupt
		}
		raw.Write(binary.AppendUvarint(nil, n))
		b := make([]byte, n)
		if _, err := io.ReadFull(r, b); err != nil {
			return nil, errCorrupt
		}
		raw.Write(b)
		return b, nil
	}
	k, err := field()
	if err != nil {
		if err == io.EOF {
			return "", nil, io.EOF
		}
		return "", nil, errCorrupt
	}
	enc, err = field()
	if err != nil {
		return "", nil, errCorrupt
	}
	var sum [4]byte
	if _, err := io.ReadFull(r, sum[:]); err != nil || binary.LittleEndian.Uint32(sum[:]) != crc32.ChecksumIEEE(raw.Bytes()) {
		return "", nil, errCorrupt
	}
	return string(k), enc, nil
}

// save makes the table durable: it appends the items changed since the last save to the
// log, or writes a new snapshot when there is none yet or the log has grown past half
// of it.
func (t *statusTable) save(f tableFiles) error {
	t.mu.Lock()
	full := t.disk.gen == 0 || t.disk.logBytes > t.disk.snapBytes/2
	var keys []string
	var entries []*entry
	if full {
		entries = make([]*entry, 0, len(t.items))
		for k, e := range t.items {
			keys, entries = append(keys, k), append(entries, e)
		}
	} else {
		for k := range t.disk.changed {
			// A deleted item's record is a tombstone: its key with no item.
			keys, entries = append(keys, k), append(entries, t.items[k])
		}
	}
	changed := t.disk.changed
	t.disk.changed = nil
	gen := t.disk.gen
	strs := t.dict.strs
	t.mu.Unlock()
	// Entries are replaced on write, never changed: safe to read without the lock.
	var err error
	var written int64
	if full {
		written, err = writeSnapshot(f, gen+1, keys, entries, strs)
	} else if len(entries) > 0 {
		written, err = appendLog(f.log(gen), keys, entries, strs)
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if err != nil {
		// Keep what was not saved for the next try.
		if t.disk.changed == nil {
			t.disk.changed = map[string]bool{}
		}
		for k := range changed {
			t.disk.changed[k] = true
		}
		return err
	}
	if full {
		t.disk.gen, t.disk.snapBytes, t.disk.logBytes = gen+1, written, 0
		if gen > 0 {
			os.Remove(f.log(gen))
		}
		os.Remove(f.legacy())
	} else {
		if t.disk.logBytes == 0 && written > 0 {
			atomicfile.SyncDir(f.dir) // the log is new: make its name durable too
		}
		t.disk.logBytes += written
	}
	return nil
}

// Files hold each item in the plain compact form: the dictionary is the running table's.
func writeSnapshot(f tableFiles, gen uint64, keys []string, entries []*entry, strs []string) (int64, error) {
	var n int64
	err := atomicfile.Write(f.snapshot(), atomicfile.Options{Perm: 0o600}, func(w io.Writer) error {
		bw := bufio.NewWriterSize(w, 1<<20)
		fmt.Fprintf(bw, "%s%d\n", snapshotMagic, gen)
		var rec []byte
		for i, e := range entries {
			rec = appendRecord(rec[:0], keys[i], encodeItem(e.decode(strs)))
			n += int64(len(rec))
			if _, err := bw.Write(rec); err != nil {
				return err
			}
		}
		return bw.Flush()
	})
	if err != nil {
		return 0, fmt.Errorf("write %s: %w; check the disk of --data", f.snapshot(), err)
	}
	return n, nil
}

// appendLog appends a record for each entry; a nil entry (a deleted item) is a tombstone,
// a record with an empty item.
func appendLog(path string, keys []string, entries []*entry, strs []string) (int64, error) {
	var buf []byte
	for i, e := range entries {
		var enc []byte
		if e != nil {
			enc = encodeItem(e.decode(strs))
		}
		buf = appendRecord(buf, keys[i], enc)
	}
	lf, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err == nil {
		_, err = lf.Write(buf)
		if err == nil {
			err = lf.Sync()
		}
		if cerr := lf.Close(); err == nil {
			err = cerr
		}
	}
	if err != nil {
		return 0, fmt.Errorf("append to %s: %w; check the disk of --data", path, err)
	}
	return int64(len(buf)), nil
}

// load reads the snapshot and replays its log, or reads the legacy JSON file. What it
// read is on disk already: it does not count as changed.
func (t *statusTable) load(f tableFiles) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	defer func() { t.disk.changed = nil }()
	sf, err := os.Open(f.snapshot())
	if errors.Is(err, os.ErrNotExist) {
		return t.loadLegacy(f.legacy())
	}
	if err != nil {
		return err
	}
	defer sf.Close()
	r := bufio.NewReaderSize(sf, 1<<20)
	head, err := r.ReadString('\n')
	if err != nil || head != snapshotMagic {
		return fmt.Errorf("read %s: not a devstack table snapshot; delete the --data directory to start again", filepath.Base(f.snapshot()))
	}
	line, err := r.ReadString('\n')
	gen, perr := strconv.ParseUint(string(bytes.TrimSpace([]byte(line))), 10, 64)
	if err != nil || perr != nil || gen == 0 {
		return fmt.Errorf("read %s: bad generation; delete the --data directory to start again", filepath.Base(f.snapshot()))
	}
	n, err := t.replay(r, false)
	if err != nil {
		return fmt.Errorf("read %s: %w; delete the --data directory to start again", filepath.Base(f.snapshot()), err)
	}
	t.disk.gen, t.disk.snapBytes = gen, n
	lf, err := os.Open(f.log(gen))
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	defer lf.Close()
	if t.disk.logBytes, err = t.replay(bufio.NewReader(lf), true); err != nil {
		return err
	}
	// The log may end in a torn record: a new snapshot starts a clean log.
	t.disk.logBytes = t.disk.snapBytes + 1
	t.dirty.Store(true)
	return nil
}

// replay puts every record of r; torn (the log's tail) stops quietly at a bad record.
func (t *statusTable) replay(r *bufio.Reader, torn bool) (int64, error) {
	var n int64
	for {
		key, enc, err := readRecord(r)
		if err == io.EOF || (err != nil && torn) {
			return n, nil
		}
		if err != nil {
			return n, err
		}
		if len(enc) == 0 { // a tombstone (an encoded item is at least its count)
			if e, ok := t.items[key]; ok {
				t.remove(key, e)
			}
			n += int64(len(key) + 8)
			continue
		}
		it, err := decodeItem(enc)
		if err != nil {
			if torn {
				return n, nil
			}
			return n, err
		}
		t.put(key, t.items[key], it)
		n += int64(len(key) + len(enc) + 8)
	}
}

func (t *statusTable) loadLegacy(path string) error {
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	items := map[string]item{}
	if err := json.Unmarshal(data, &items); err != nil {
		return fmt.Errorf("read status table %s: %w; delete the file to start with an empty table", filepath.Base(path), err)
	}
	for k, it := range items {
		t.put(k, t.items[k], it)
	}
	t.dirty.Store(true) // the first save writes a snapshot and removes this file
	return nil
}
