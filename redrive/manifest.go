package redrive

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"
)

// ManifestVersion is the version of the manifest and journal format.
const ManifestVersion = 1

// Item is one request in a frozen manifest: what will be sent. A run sends it only while
// the stored object is still the planned one (same ETag; same version where there is no
// ETag); VersionID is kept for the record.
type Item struct {
	RequestID       string    `json:"id"`
	Key             string    `json:"key"`
	Size            int64     `json:"size"`
	ETag            string    `json:"etag,omitempty"`
	VersionID       string    `json:"versionId,omitempty"`
	ContentType     string    `json:"contentType,omitempty"`
	ContentEncoding string    `json:"contentEncoding,omitempty"`
	LastModified    time.Time `json:"lastModified,omitzero"`
	// Status is the processing state at planning time; "" means the table had no item
	// (a LOST request).
	Status string `json:"status"`
	// Planned is the status item as planned (nil in manifests from before it was kept):
	// a run skips a request whose status changed since, unless forced.
	Planned *StatusRead `json:"planned,omitempty"`
}

// Target is where a run sends: the gateway route, or the bucket for s3-copy.
type Target struct {
	Method string `json:"method"` // PUT, POST, ... or CopyObject
	// URL is the gateway base URL joined with the route's path template
	// ("https://api.example.com/product/{bucket}/{key}"), or "s3://bucket" for s3-copy.
	URL string `json:"url"`
	// Path is the route's path template, "" for s3-copy.
	Path string `json:"path,omitempty"`
}

func (t Target) String() string { return t.Method + " " + t.URL }

// Selection is what the operator asked for, kept for the audit trail.
type Selection struct {
	IDs    []string  `json:"ids,omitempty"`
	Status string    `json:"status,omitempty"` // every request in this state
	Lost   bool      `json:"lost,omitempty"`   // every stored request with no status item after lost_after
	Since  time.Time `json:"since,omitzero"`   // only requests since then (Status and Lost)
	// Source says where the IDs came from: "args", "file F", "report F (failed)", "tui".
	Source string `json:"source,omitempty"`
}

// Empty reports whether the selection asks for nothing.
func (s Selection) Empty() bool { return len(s.IDs) == 0 && s.Status == "" && !s.Lost }

// Describe is a one-line account of the selection for summaries and the audit log.
func (s Selection) Describe() string {
	var parts []string
	if n := len(s.IDs); n > 0 {
		p := fmt.Sprintf("%d ID", n)
		if n != 1 {
			p += "s"
		}
		if n <= 3 {
			p += " (" + strings.Join(s.IDs, ", ") + ")"
		}
		if s.Source != "" {
			p += " from " + s.Source
		}
		parts = append(parts, p)
	}
	if s.Status != "" {
		parts = append(parts, "status "+s.Status)
	}
	if s.Lost {
		parts = append(parts, "lost")
	}
	d := strings.Join(parts, " + ")
	if !s.Since.IsZero() && (s.Status != "" || s.Lost) {
		d += " since " + s.Since.UTC().Format(time.RFC3339)
	}
	if d == "" {
		return "nothing"
	}
	return d
}

// Manifest is a frozen plan: the exact objects a run will send, and how. Once planned it
// does not change; its Hash identifies it in the journal and the audit log.
type Manifest struct {
	Version    int    `json:"version"`
	RunID      string `json:"runId"` // also the redrive-ID header value
	Env        string `json:"env"`
	Production bool   `json:"production,omitempty"`
	Mode       Mode   `json:"mode"`
	Bucket     string `json:"bucket"`
	Target     Target `json:"target"`
	// Event is the event modes' target and event settings (nil for the other modes), so
	// that a resume sends the same events to the same place.
	Event *EventSpec `json:"event,omitempty"`
	// Rate (requests per second, 0 = unlimited) and Concurrency are the values the
	// operator confirmed; a run may change them while it runs.
	Rate        float64 `json:"rate"`
	Concurrency int     `json:"concurrency"`
	// SuccessStates are the processing states that mean done: an item found in one just
	// before sending is skipped unless forced.
	SuccessStates []string  `json:"successStates"`
	Selection     Selection `json:"selection"`
	PlannedAt     time.Time `json:"plannedAt"`
	Items         []Item    `json:"items"`
	// Missing are requested IDs that have no stored object; they are not in Items.
	Missing []string `json:"missing,omitempty"`
}

// Hash is the hex SHA-256 of the manifest's canonical JSON (encoding/json's output: struct
// fields in declaration order, no indentation).
func (m *Manifest) Hash() string {
	b, err := json.Marshal(m)
	if err != nil {
		// A Manifest holds only strings, numbers and times: this cannot happen.
		panic("redrive: manifest does not marshal: " + err.Error())
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// IsSuccess reports whether state is one of the manifest's success states (case-insensitive,
// as the config compares them).
func (m *Manifest) IsSuccess(state string) bool {
	for _, s := range m.SuccessStates {
		if strings.EqualFold(s, state) {
			return true
		}
	}
	return false
}

// TooLarge reports whether it is an item the manifest's mode cannot send.
func (m *Manifest) TooLarge(it Item) bool {
	return m.Mode.UsesGateway() && it.Size > MaxGatewayPayload
}

// TotalBytes is the sum of the item sizes.
func (m *Manifest) TotalBytes() int64 {
	var n int64
	for _, it := range m.Items {
		n += it.Size
	}
	return n
}

// SampleSize is how many rows a Summary shows.
const SampleSize = 5

// Summary is what the operator confirms: how many, how big, how, where, how fast.
type Summary struct {
	RunID       string
	Env         string
	Production  bool
	Mode        Mode
	Target      string
	Selection   string
	Count       int
	TotalBytes  int64
	Rate        float64
	Concurrency int
	// ETA is Count/Rate; 0 when the rate is unlimited (unknown until the run measures it).
	ETA time.Duration
	// ByStatus counts items by their state at planning time ("" = no status item).
	ByStatus map[string]int
	// AlreadyDone counts items in a success state at planning; they will be skipped
	// unless forced.
	AlreadyDone int
	// TooLarge counts items over the gateway limit; gateway modes refuse them unsent.
	TooLarge int
	Missing  []string
	Samples  []Item
	Hash     string
}

// Summary describes the manifest for confirmation.
func (m *Manifest) Summary() Summary {
	s := Summary{
		RunID: m.RunID, Env: m.Env, Production: m.Production, Mode: m.Mode,
		Target: m.Target.String(), Selection: m.Selection.Describe(),
		Count: len(m.Items), TotalBytes: m.TotalBytes(), Rate: m.Rate, Concurrency: m.Concurrency,
		ByStatus: map[string]int{}, Missing: m.Missing, Hash: m.Hash(),
	}
	if m.Rate > 0 {
		s.ETA = time.Duration(float64(len(m.Items)) / m.Rate * float64(time.Second))
	}
	for _, it := range m.Items {
		s.ByStatus[it.Status]++
		if m.IsSuccess(it.Status) {
			s.AlreadyDone++
		}
		if m.TooLarge(it) {
			s.TooLarge++
		}
	}
	n := min(SampleSize, len(m.Items))
	s.Samples = append([]Item(nil), m.Items[:n]...)
	return s
}

// StatusCounts returns ByStatus as "FAILED 3, (none) 2" sorted by state, for one-line
// display.
func (s Summary) StatusCounts() string {
	states := make([]string, 0, len(s.ByStatus))
	for st := range s.ByStatus {
		states = append(states, st)
	}
	sort.Strings(states)
	parts := make([]string, 0, len(states))
	for _, st := range states {
		name := st
		if name == "" {
			name = "(no status)"
		}
		parts = append(parts, fmt.Sprintf("%s %d", name, s.ByStatus[st]))
	}
	return strings.Join(parts, ", ")
}

// Confirmation is the kind of confirmation a manifest needs before it runs.
type Confirmation int

const (
	// ConfirmYesNo: a y/n question.
	ConfirmYesNo Confirmation = iota
	// ConfirmTypeEnv: the operator types the environment's name.
	ConfirmTypeEnv
)

// BulkThreshold is the count above which a run needs the environment name typed.
const BulkThreshold = 10

// ConfirmationFor says how the operator must confirm a run of count items: a single
// request needs y/n; a bulk run on a production environment, or any run of more than
// BulkThreshold requests, needs the environment name typed.
func ConfirmationFor(count int, production bool) Confirmation {
	if count > BulkThreshold || (production && count > 1) {
		return ConfirmTypeEnv
	}
	return ConfirmYesNo
}
