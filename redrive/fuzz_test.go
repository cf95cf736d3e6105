package redrive

import (
	"bytes"
	"strings"
	"testing"
)

func FuzzParseIDList(f *testing.F) {
	f.Add(`{"id":"a"}` + "\nplain\n2024 requestId=11111111-2222-3333-4444-555555555555\n")
	f.Add("# c\n\n{\"request_id\":\"x\"}\n")
	f.Fuzz(func(t *testing.T, in string) {
		ids, err := ParseIDList(strings.NewReader(in))
		if err != nil {
			return
		}
		seen := map[string]bool{}
		for _, id := range ids {
			if id == "" || seen[id] {
				t.Fatalf("empty or duplicate id %q in %q", id, ids)
			}
			seen[id] = true
		}
	})
}

func FuzzReadJournal(f *testing.F) {
	m := &Manifest{Version: ManifestVersion, RunID: "r", Mode: ModeReupload, Items: []Item{{RequestID: "a", Key: "a"}, {RequestID: "b", Key: "b"}}}
	var buf bytes.Buffer
	buf.WriteString(`{"type":"header","at":"2024-01-01T00:00:00Z","manifest":`)
	mb, _ := jsonMarshal(m)
	buf.Write(mb)
	buf.WriteString(`,"manifestHash":"` + m.Hash() + "\"}\n")
	buf.WriteString(`{"type":"sending","at":"2024-01-01T00:00:00Z","id":"a","attempt":1}` + "\n")
	buf.WriteString(`{"type":"delivered","at":"2024-01-01T00:00:00Z","id":"a","attempt":1}` + "\n")
	buf.WriteString(`{"type":"sending","id":"b"`)
	f.Add(buf.Bytes())
	f.Add([]byte("garbage\n"))
	// A sealed journal: sequence numbers and checksums, a torn final record.
	var sealed []byte
	for i, r := range []Record{{Type: RecHeader, Manifest: m, ManifestHash: m.Hash()},
		{Type: RecSending, ID: "a", Attempt: 1}, {Type: RecDelivered, ID: "a", Attempt: 1},
		{Type: RecEnd, Outcome: OutcomeFailed, Counts: &Counts{Delivered: 1, Pending: 1}}} {
		r.Seq = uint64(i + 1)
		line, _ := sealRecord(r)
		sealed = append(sealed, line...)
	}
	f.Add(sealed)
	f.Add(append(append([]byte{}, sealed...), `{"type":"sending","seq":5`...))
	f.Fuzz(func(t *testing.T, data []byte) {
		st, err := ReadJournal(bytes.NewReader(data))
		if err != nil {
			return
		}
		if st.Size > int64(len(data)) {
			t.Fatalf("size %d past the end %d", st.Size, len(data))
		}
		// Every manifest item has a state and the counts add up.
		if st.Counts().Total() != len(st.Manifest.Items) {
			t.Fatalf("counts %+v for %d items", st.Counts(), len(st.Manifest.Items))
		}
		// Reading only the complete records gives the same state.
		again, err := ReadJournal(bytes.NewReader(data[:st.Size]))
		if err != nil || again.Records != st.Records {
			t.Fatalf("re-read of the complete records: %v", err)
		}
		// A sealed journal's records are numbered by line, with no gap.
		if !st.Legacy && st.LastSeq != uint64(st.Records) {
			t.Fatalf("last sequence number %d after %d records", st.LastSeq, st.Records)
		}
	})
}

func FuzzReadReport(f *testing.F) {
	f.Add("{\"id\":\"a\",\"state\":\"failed\",\"durationMs\":3}\n")
	f.Add("REQUEST ID\n")
	f.Fuzz(func(t *testing.T, in string) {
		items, err := ReadReport(strings.NewReader(in))
		if err != nil {
			return
		}
		for _, it := range items {
			if it.RequestID == "" || it.State == "" {
				t.Fatalf("accepted an item without id or state: %+v", it)
			}
		}
	})
}

func FuzzReadAudit(f *testing.F) {
	f.Add("{\"runId\":\"r\",\"outcome\":\"delivered\"}\nnot json\n")
	f.Fuzz(func(t *testing.T, in string) {
		entries, _, err := ReadAudit(strings.NewReader(in))
		if err != nil {
			t.Fatalf("ReadAudit of a string failed: %v", err)
		}
		for _, e := range entries {
			if e.RunID == "" {
				t.Fatal("accepted an entry without runId")
			}
		}
	})
}
