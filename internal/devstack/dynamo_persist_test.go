package devstack

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

func persistTable() *statusTable {
	t := newStatusTable(tableSchema{Name: "t", KeyAttr: "requestId", IndexName: "i",
		IndexHash: "status", IndexSort: "updatedAt", Region: Region}, testNow)
	t.persist = true
	return t
}

func statusItem(id, status string) item {
	return item{"requestId": stringValue(id), "status": stringValue(status), "updatedAt": stringValue("2026-03-01T00:00:00.000Z")}
}

func sameTable(t *testing.T, got, want *statusTable) {
	t.Helper()
	if got.len() != want.len() || got.size != want.size || got.indexCount != want.indexCount {
		t.Fatalf("table of %d items (%d bytes, %d indexed), want %d (%d, %d)", got.len(), got.size, got.indexCount, want.len(), want.size, want.indexCount)
	}
	for k := range want.items {
		a, _ := got.get(k)
		b, _ := want.get(k)
		ja, _ := json.Marshal(a)
		jb, _ := json.Marshal(b)
		if string(ja) != string(jb) {
			t.Errorf("%s = %s, want %s", k, ja, jb)
		}
	}
}

// A save after a few changes appends those items to the log, not the whole table; a
// load replays the log over the snapshot, and ignores a record torn by a crash.
func TestTableSaveAppendsChangesAndLoadReplaysThem(t *testing.T) {
	dir := t.TempDir()
	files := tableFiles{dir, "status-table"}
	tb := persistTable()
	for i := range 1000 {
		tb.update(fmt.Sprintf("req-%04d", i), func(item, bool) (item, error) { return statusItem(fmt.Sprintf("req-%04d", i), "FAILED"), nil })
	}
	if err := tb.save(files); err != nil {
		t.Fatal(err)
	}
	snap, err := os.Stat(files.snapshot())
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"req-0007", "new-1"} {
		tb.update(id, func(item, bool) (item, error) { return statusItem(id, "PROCESSED"), nil })
	}
	if err := tb.save(files); err != nil {
		t.Fatal(err)
	}
	log, err := os.Stat(files.log(1))
	if err != nil {
		t.Fatal(err)
	}
	if log.Size() > snap.Size()/100 {
		t.Errorf("a save of 2 changed items appended %d bytes (the snapshot of 1000 is %d)", log.Size(), snap.Size())
	}
	if err := tb.save(files); err != nil { // nothing changed: nothing appended
		t.Fatal(err)
	}
	if again, _ := os.Stat(files.log(1)); again.Size() != log.Size() {
		t.Errorf("a save without changes appended %d bytes", again.Size()-log.Size())
	}

	loaded := persistTable()
	if err := loaded.load(files); err != nil {
		t.Fatal(err)
	}
	sameTable(t, loaded, tb)

	// A crash tore the last record of the log.
	f, err := os.OpenFile(files.log(1), os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.Write(appendRecord(nil, "req-0001", encodeItem(statusItem("req-0001", "PROCESSED")))[:20])
	f.Close()
	torn := persistTable()
	if err := torn.load(files); err != nil {
		t.Fatal(err)
	}
	sameTable(t, torn, tb)
	// The next save starts a new snapshot (generation 2) and drops the torn log.
	if err := torn.save(files); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(files.log(1)); !os.IsNotExist(err) {
		t.Errorf("log of generation 1 still there: %v", err)
	}
	final := persistTable()
	if err := final.load(files); err != nil {
		t.Fatal(err)
	}
	sameTable(t, final, tb)
	if final.disk.gen != 2 {
		t.Errorf("generation %d, want 2", final.disk.gen)
	}
}

// A DataDir written by an earlier version (one JSON file) loads, and the first save
// replaces it with a snapshot.
func TestTableLoadsLegacyJSON(t *testing.T) {
	dir := t.TempDir()
	files := tableFiles{dir, "status-table"}
	legacy := map[string]item{"a": statusItem("a", "FAILED"), "b": statusItem("b", "PROCESSED")}
	data, _ := json.Marshal(legacy)
	if err := os.WriteFile(files.legacy(), data, 0o600); err != nil {
		t.Fatal(err)
	}
	tb := persistTable()
	if err := tb.load(files); err != nil {
		t.Fatal(err)
	}
	if tb.len() != 2 || tb.indexCount != 2 {
		t.Fatalf("loaded %d items, %d indexed", tb.len(), tb.indexCount)
	}
	if err := tb.save(files); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(files.legacy()); !os.IsNotExist(err) {
		t.Errorf("legacy file still there: %v", err)
	}
	again := persistTable()
	if err := again.load(files); err != nil {
		t.Fatal(err)
	}
	sameTable(t, again, tb)
	if entries, _ := os.ReadDir(dir); len(entries) != 1 || entries[0].Name() != filepath.Base(files.snapshot()) {
		t.Errorf("files left: %v", entries)
	}
}

// FuzzReadRecord: no byte string makes the record reader panic or read out of bounds.
func FuzzReadRecord(f *testing.F) {
	f.Add(appendRecord(nil, "req-1", encodeItem(statusItem("req-1", "FAILED"))))
	f.Add([]byte{0xff, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, data []byte) {
		tb := persistTable()
		tb.replay(bufio.NewReader(bytes.NewReader(data)), true)
	})
}
