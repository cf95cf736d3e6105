package redrive

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/stowage-cli/stowage/internal/atomicfile"
)

// RecordType is the kind of a journal record.
type RecordType string

// Journal record types. A run writes a header, then for each attempt "sending" before the
// request goes out and one outcome after it; "end" closes a run that was not killed.
const (
	RecHeader  RecordType = "header"  // the frozen manifest and its hash; first line
	RecResumed RecordType = "resumed" // a later process continued the run
	RecSending RecordType = "sending" // written and fsynced before each request
	// RecRetrying: the attempt failed in a way that is safe to retry (throttled, a server
	// error, or a failure before the request left); another attempt follows.
	RecRetrying  RecordType = "retrying"
	RecUnknown   RecordType = "unknown"   // the connection was lost after sending: may have been delivered
	RecDelivered RecordType = "delivered" // final
	RecFailed    RecordType = "failed"    // final, with a reason
	RecSkipped   RecordType = "skipped"   // final: already processed, nothing sent
	RecEnd       RecordType = "end"       // the run stopped; outcome and counts
)

// Record is one line of a journal. Journals never hold credentials, headers or bodies.
type Record struct {
	Type RecordType `json:"type"`
	// Seq is the record's line number, from 1 (the header). A gap proves lost records.
	// 0 only in journals written before sequence numbers existed.
	Seq          uint64    `json:"seq,omitempty"`
	At           time.Time `json:"at"`
	ID           string    `json:"id,omitempty"`
	Attempt      int       `json:"attempt,omitempty"`
	HTTPStatus   int       `json:"httpStatus,omitempty"`
	NewRequestID string    `json:"newRequestId,omitempty"`
	// GatewayRequestID is the gateway's x-amzn-RequestId of the call (every mode).
	GatewayRequestID string  `json:"gatewayRequestId,omitempty"`
	Reason           string  `json:"reason,omitempty"`
	DurationMS       float64 `json:"durationMs,omitempty"`
	// PreSend (sending only) is the status read just before the request left: any change
	// of it later proves the request reached the processor.
	PreSend *StatusRead `json:"preSend,omitempty"`

	// Header only.
	Manifest     *Manifest `json:"manifest,omitempty"`
	ManifestHash string    `json:"manifestHash,omitempty"`
	// End only.
	Outcome Outcome `json:"outcome,omitempty"`
	Counts  *Counts `json:"counts,omitempty"`

	// Sum is the CRC-32C of the record's line without it; Append writes it last.
	Sum string `json:"sum,omitempty"`
}

// Journal is an append-only JSON Lines file (mode 0600). Every Append is on disk (fsynced)
// before it returns, so a kill -9 at any moment loses nothing that was journaled. Appends
// from concurrent workers share fsyncs (group commit: one fsync covers every record
// written before it started). An item's outcome is written with write, which does not
// wait: the next sending record's fsync, or the item's own Sync before it ends, makes it
// durable. The file is a sequence of lines written in order, so whatever a crash leaves
// on disk is a prefix of it: a durable sending record means every outcome before it is.
type Journal struct {
	path   string
	f      *os.File
	unlock func()

	mu      sync.Mutex // guards the writes, written, seq, lastByID, buf and err
	written uint64
	seq     uint64            // the last record's sequence number
	byID    map[string]uint64 // request ID → sequence number of its last record
	buf     []byte            // the line being written, reused
	err     error             // sticky: after a failed write nothing more is written

	syncMu sync.Mutex // one fsync at a time; guards synced
	synced uint64
}

// fsyncFile is how the records written are put on disk (a seam for tests of a disk
// that fails).
var fsyncFile = (*os.File).Sync

// Path is where the journal is.
func (j *Journal) Path() string { return j.path }

// CreateJournal creates a new journal at path (its directory with mode 0700 if missing)
// and writes the header. It refuses an existing file: continuing a run is --resume.
func CreateJournal(path string, m *Manifest) (*Journal, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("create journal directory: %w", err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL|os.O_APPEND, 0o600)
	if errors.Is(err, os.ErrExist) {
		return nil, fmt.Errorf("journal %s already exists: continue it with --resume %s, or choose another --journal", path, path)
	}
	if err != nil {
		return nil, fmt.Errorf("create journal: %w", err)
	}
	unlock, err := lockJournal(path)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("lock journal %s: %w", path, err)
	}
	j := &Journal{path: path, f: f, unlock: unlock, byID: map[string]uint64{}}
	if err := j.Append(Record{Type: RecHeader, At: time.Now().UTC(), Manifest: m, ManifestHash: m.Hash()}); err != nil {
		j.Close()
		return nil, err
	}
	atomicfile.SyncDir(filepath.Dir(path))
	return j, nil
}

// openJournalForAppend locks an existing journal, checks it still holds exactly the
// records st was read from, cuts off a torn last line (a write a kill interrupted), and
// opens it for appending.
func openJournalForAppend(st *JournalState) (*Journal, error) {
	f, err := os.OpenFile(st.Path, os.O_RDWR, 0)
	if err != nil {
		return nil, fmt.Errorf("open journal: %w", err)
	}
	unlock, err := lockJournal(st.Path)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("journal %s is in use by another stowage (%v); wait for it to finish", st.Path, err)
	}
	fail := func(err error) (*Journal, error) {
		unlock()
		f.Close()
		return nil, err
	}
	again, err := ReadJournal(f)
	if err != nil {
		return fail(fmt.Errorf("journal %s: %w", st.Path, err))
	}
	if again.Size != st.Size || again.Records != st.Records {
		return fail(fmt.Errorf("journal %s changed since it was read; run --resume again", st.Path))
	}
	if err := f.Truncate(st.Size); err != nil {
		return fail(fmt.Errorf("journal %s: cut torn last line: %w", st.Path, err))
	}
	if _, err := f.Seek(0, io.SeekEnd); err != nil {
		return fail(fmt.Errorf("journal %s: %w", st.Path, err))
	}
	if err := f.Sync(); err != nil {
		return fail(fmt.Errorf("journal %s: %w", st.Path, err))
	}
	byID := make(map[string]uint64, len(st.Items))
	for id, t := range st.Items {
		byID[id] = t.Seq
	}
	// Records continue the line numbering, so a legacy journal gains sequence numbers too.
	return &Journal{path: st.Path, f: f, unlock: unlock, seq: uint64(st.Records), byID: byID}, nil
}

// Append writes one record and returns once it is on disk. After a failed write every
// later Append fails too: a run must stop rather than send what it cannot journal.
func (j *Journal) Append(r Record) error {
	n, err := j.write(&r)
	if err != nil {
		return err
	}
	return j.syncThrough(n)
}

// write writes one record without waiting for it to reach the disk, and returns how many
// records were written through it (for syncThrough).
func (j *Journal) write(r *Record) (uint64, error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.err != nil {
		return 0, j.err
	}
	// Numbered under the lock, so the sequence follows the order of the lines.
	r.Seq = j.seq + 1
	line, err := appendSealed(j.buf[:0], r)
	if err != nil {
		return 0, fmt.Errorf("journal %s: encode record: %w", j.path, err)
	}
	if cap(line) <= 64<<10 {
		j.buf = line // a header's manifest is not kept
	}
	if _, err := j.f.Write(line); err != nil {
		j.err = fmt.Errorf("write journal %s: %w", j.path, err)
		return 0, j.err
	}
	j.written++
	j.seq = r.Seq
	if r.ID != "" {
		j.byID[r.ID] = r.Seq
	}
	return j.written, nil
}

// Sync returns once every record written so far is on disk.
func (j *Journal) Sync() error {
	j.mu.Lock()
	n := j.written
	j.mu.Unlock()
	return j.syncThrough(n)
}

// syncThrough returns once record seq is on disk; one fsync covers every record written
// before it started, so concurrent appends share it.
func (j *Journal) syncThrough(seq uint64) error {
	j.syncMu.Lock()
	defer j.syncMu.Unlock()
	if j.synced >= seq {
		return nil
	}
	j.mu.Lock()
	target, err := j.written, j.err
	j.mu.Unlock()
	if err != nil {
		return err
	}
	if err := fsyncFile(j.f); err != nil {
		j.mu.Lock()
		j.err = fmt.Errorf("sync journal %s: %w", j.path, err)
		err = j.err
		j.mu.Unlock()
		return err
	}
	j.synced = target
	return nil
}

// LastSeq is the sequence number of the last record written.
func (j *Journal) LastSeq() uint64 {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.seq
}

// SeqOf is the sequence number of the last record about request id (0: none).
func (j *Journal) SeqOf(id string) uint64 {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.byID[id]
}

// Close releases the journal.
func (j *Journal) Close() error {
	if j.unlock != nil {
		j.unlock()
		j.unlock = nil
	}
	return j.f.Close()
}

// ItemState is where one item of a run stands.
type ItemState string

const (
	StatePending   ItemState = "pending"  // nothing sent yet
	StateSending   ItemState = "sending"  // a request is (or was, if the run died) in flight
	StateRetrying  ItemState = "retrying" // the last attempt failed safely; another follows
	StateUnknown   ItemState = "unknown"  // the last attempt may have been delivered
	StateDelivered ItemState = "delivered"
	StateFailed    ItemState = "failed"
	StateSkipped   ItemState = "skipped"
)

// States lists every state in display order.
var States = []ItemState{StatePending, StateSending, StateRetrying, StateUnknown, StateDelivered, StateFailed, StateSkipped}

// Final reports whether nothing more will be done for an item in this state.
func (s ItemState) Final() bool {
	return s == StateDelivered || s == StateFailed || s == StateSkipped
}

// MaybeSent reports whether a request may have reached the server and its outcome is
// not known, so the status must be re-checked before sending again.
func (s ItemState) MaybeSent() bool {
	return s == StateSending || s == StateUnknown || s == StateRetrying
}

// ItemTrack is what the journal says about one item.
type ItemTrack struct {
	State            ItemState
	Attempts         int
	HTTPStatus       int
	NewRequestID     string
	GatewayRequestID string
	Reason           string
	Duration         time.Duration
	// PreSend is the status read before the latest send (nil in older journals).
	PreSend *StatusRead
	// EverUnknown is set once any attempt was journaled unknown or left in flight: the
	// gateway may have received the item more than once.
	EverUnknown bool
	// Seq is the sequence number of the item's last record (0: none, or a legacy journal).
	Seq uint64
	// At is when the item's last record was written (zero: none): a resumed settle wait
	// for an item left sending or unknown starts there.
	At time.Time
}

// JournalState is a journal read back: the manifest and where each item stands.
type JournalState struct {
	Path     string
	Manifest *Manifest
	Hash     string
	Items    map[string]*ItemTrack // by request ID; every manifest item has one
	// Ended is set when the last run of the journal wrote its end record.
	Ended   bool
	Outcome Outcome
	// Size is the length of the complete records; a torn last line after it is ignored.
	Size    int64
	Records int
	// LastSeq is the last record's sequence number; Legacy is set for a journal written
	// before records had sequence numbers and checksums, whose losses cannot be detected.
	LastSeq uint64
	Legacy  bool
	// Torn is set when a torn last line (a write cut by a kill) was ignored.
	Torn bool
}

// Remaining lists the manifest items not in a final state, in manifest order.
func (s *JournalState) Remaining() []Item {
	var out []Item
	for _, it := range s.Manifest.Items {
		if !s.Items[it.RequestID].State.Final() {
			out = append(out, it)
		}
	}
	return out
}

// Counts tallies the items by state.
func (s *JournalState) Counts() Counts {
	var c Counts
	for _, it := range s.Manifest.Items {
		c.add(s.Items[it.RequestID].State, 1)
	}
	return c
}

// LoadJournal reads the journal at path and checks it against what the run's saved report
// (ReportPath) and the audit log's entries say it holds: a journal that lost records
// those prove it wrote is refused with an *IntegrityError saying how to recover.
func LoadJournal(path string) (*JournalState, error) {
	st, err := readJournalFile(path)
	if err != nil {
		return nil, err
	}
	auditPath, _ := AuditPath() // no state directory: no audit log to compare with
	if err := VerifyJournal(st, ReportPath(path), auditPath); err != nil {
		return nil, err
	}
	return st, nil
}

// readJournalFile reads the journal at path, checking only the journal itself.
func readJournalFile(path string) (*JournalState, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open journal: %w", err)
	}
	defer f.Close()
	st, err := ReadJournal(f)
	if err != nil {
		var ie *IntegrityError
		if errors.As(err, &ie) {
			ie.Path, ie.Report = path, existingReport(path)
			return nil, ie
		}
		return nil, fmt.Errorf("journal %s: %w", path, err)
	}
	st.Path = path
	return st, nil
}

// maxJournalLine bounds one record; the header holds the whole manifest.
const maxJournalLine = 1 << 30

// ReadJournal parses a journal. The first line must be a header whose manifest matches its
// hash. Every record must carry its line number as sequence number and a checksum that
// matches; a legacy journal (a header without them) is read as before, and Legacy says so.
// A last line without its newline (a write cut short by a kill) is ignored; any other
// malformed line is an error, since a journal that cannot be trusted must not drive a resend.
func ReadJournal(r io.Reader) (*JournalState, error) {
	br := bufio.NewReaderSize(r, 64<<10)
	st := &JournalState{Items: map[string]*ItemTrack{}}
	var offset int64
	for lineNo := 1; ; lineNo++ {
		line, err := br.ReadBytes('\n')
		if err == io.EOF {
			// No newline: a torn write (or an empty file). Ignore it.
			st.Torn = len(line) > 0
			break
		}
		if err != nil {
			return nil, fmt.Errorf("read: %w", err)
		}
		if len(line) > maxJournalLine {
			return nil, fmt.Errorf("line %d is too long", lineNo)
		}
		var rec Record
		if err := json.Unmarshal(line, &rec); err != nil {
			return nil, integrityf("line %d is not a journal record (%v): it was damaged, or a write was cut short before later records", lineNo, err)
		}
		if err := st.checkSeal(line, rec, lineNo); err != nil {
			return nil, err
		}
		if err := st.apply(rec, lineNo); err != nil {
			return nil, err
		}
		offset += int64(len(line))
		st.Records++
	}
	if st.Manifest == nil {
		return nil, errors.New("no header: this is not a stowage redrive journal, or it is empty")
	}
	for _, t := range st.Items {
		if t.State == StateSending {
			t.EverUnknown = true // in flight when the run died
		}
	}
	st.Size = offset
	return st, nil
}

func (st *JournalState) apply(rec Record, lineNo int) error {
	if lineNo == 1 {
		if rec.Type != RecHeader || rec.Manifest == nil {
			return errors.New("line 1 is not a journal header: this is not a stowage redrive journal")
		}
		if rec.Manifest.Version != ManifestVersion {
			return fmt.Errorf("journal version %d is not supported (this stowage reads version %d)", rec.Manifest.Version, ManifestVersion)
		}
		if h := rec.Manifest.Hash(); h != rec.ManifestHash {
			return fmt.Errorf("the manifest does not match its hash (%s, recorded %s): the journal was altered", h, rec.ManifestHash)
		}
		st.Manifest, st.Hash = rec.Manifest, rec.ManifestHash
		for _, it := range rec.Manifest.Items {
			if _, dup := st.Items[it.RequestID]; dup {
				return fmt.Errorf("the manifest lists request %s twice", it.RequestID)
			}
			st.Items[it.RequestID] = &ItemTrack{State: StatePending}
		}
		return nil
	}
	switch rec.Type {
	case RecHeader:
		return fmt.Errorf("line %d: a second header", lineNo)
	case RecResumed:
		st.Ended = false
		return nil
	case RecEnd:
		if rec.Counts != nil {
			if now := st.Counts(); rec.Counts.Done() > now.Done() {
				return integrityf("line %d: the run ended with %d requests finished, but the journal records %d", lineNo, rec.Counts.Done(), now.Done())
			}
		}
		st.Ended, st.Outcome = true, rec.Outcome
		return nil
	}
	t, ok := st.Items[rec.ID]
	if !ok {
		return fmt.Errorf("line %d: request %q is not in the manifest", lineNo, rec.ID)
	}
	if t.State.Final() {
		return fmt.Errorf("line %d: request %s already ended %s", lineNo, rec.ID, t.State)
	}
	t.Seq, t.At = rec.Seq, rec.At
	switch rec.Type {
	case RecSending:
		if t.State == StateSending {
			t.EverUnknown = true // the previous attempt was in flight when the run died
		}
		t.State = StateSending
		t.Attempts = max(t.Attempts, rec.Attempt)
		if rec.PreSend != nil {
			t.PreSend = rec.PreSend
		}
	case RecRetrying:
		t.State = StateRetrying
	case RecUnknown:
		t.State, t.EverUnknown = StateUnknown, true
	case RecDelivered:
		t.State = StateDelivered
	case RecFailed:
		t.State = StateFailed
	case RecSkipped:
		t.State = StateSkipped
	default:
		return fmt.Errorf("line %d: unknown record type %q", lineNo, rec.Type)
	}
	if rec.Type != RecSending {
		t.HTTPStatus, t.Reason = rec.HTTPStatus, rec.Reason
		if rec.NewRequestID != "" {
			t.NewRequestID = rec.NewRequestID
		}
		if rec.GatewayRequestID != "" {
			t.GatewayRequestID = rec.GatewayRequestID
		}
		if rec.DurationMS > 0 {
			t.Duration = time.Duration(rec.DurationMS * float64(time.Millisecond))
		}
	}
	return nil
}
