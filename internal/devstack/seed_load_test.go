package devstack

import (
	"bytes"
	"fmt"
	"io"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/johannesboyne/gofakes3"
)

// replaySeed seeds ref, an empty stack, the slow way the bulk seed replaces: each seeded
// request stored through the gateway's integration at its time and handled by the live
// processor (handle) after its latency, then the redeliveries, each one a store of the
// same body with the redrive's metadata. The processor's lines go to the returned sink.
func replaySeed(t *testing.T, ref *Stack, n int) *captureSink {
	t.Helper()
	sink := &captureSink{}
	ref.proc.logs = sink
	live := ref.backend.onCreate
	ref.backend.onCreate = nil
	defer func() { ref.backend.onCreate = live; ref.clock.pin(time.Time{}) }()
	now := ref.opts.Now()
	deliver := func(at time.Time, r seedRequest, meta map[string]string) {
		ref.clock.pin(at)
		if err := ref.storeRequest(r.Key, r.body, meta); err != nil {
			t.Fatal(err)
		}
		ref.proc.handle(objectEvent{Bucket: ref.Bucket, Key: r.Key, At: ref.clock.Now()}, at.Add(seedLatency(ref.opts.Seed, r.Key)))
	}
	type redo struct {
		r  seedRequest
		at time.Time
	}
	var redos []redo
	for g := newSeedGen(ref.opts.Seed, n, now); ; {
		r, ok := g.next()
		if !ok {
			break
		}
		deliver(r.Created, r, r.meta)
		if it, ok := ref.table.get(r.Key); ok {
			o := outcome{state: it[attrStatus].str, kind: it["errorKind"].str}
			if at, ok := seedRedriveAt(ref.opts.Seed, r.SeedRequest, o, now); ok {
				redos = append(redos, redo{r, at})
			}
		}
	}
	for _, d := range redos {
		meta := map[string]string{metaRedrivenAt: d.at.UTC().Format(time.RFC3339)}
		for k, v := range d.r.meta {
			meta[k] = v
		}
		deliver(d.at, d.r, meta)
	}
	return sink
}

// The bulk seed leaves exactly what storing and processing each request on the live path
// leaves: the same objects (bytes, metadata, times, listing), the same status items in
// the same scan and index order, and the same processor lines, derived on demand.
func TestBulkSeedIsTheLivePath(t *testing.T) {
	for _, spill := range []bool{false, true} {
		t.Run(fmt.Sprintf("spill=%t", spill), func(t *testing.T) {
			t.Parallel()
			bulkSeedIsTheLivePath(t, spill)
		})
	}
}

func bulkSeedIsTheLivePath(t *testing.T, spill bool) {
	const n = 400
	st := startStack(t, Options{Seed: 9, Requests: n, spillBodies: spill})
	ref := startStack(t, Options{Seed: 9, Requests: -1, spillBodies: spill})
	sink := replaySeed(t, ref, n)

	list := func(s *Stack) []string {
		l, err := s.backend.ListBucket(s.Bucket, nil, gofakes3.ListBucketPage{})
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, c := range l.Contents {
			out = append(out, c.Key+" "+c.ETag+" "+c.LastModified.Format(time.RFC3339Nano))
		}
		return out
	}
	if a, b := list(st), list(ref); !slices.Equal(a, b) || len(a) != len(st.Seeded()) {
		t.Fatalf("listing: %d objects, the live path's %d", len(a), len(b))
	}
	var redriven int
	for _, r := range st.Seeded() {
		if !r.Redriven.IsZero() {
			redriven++
		}
		a, err1 := st.backend.GetObject(st.Bucket, r.Key, nil)
		b, err2 := ref.backend.GetObject(ref.Bucket, r.Key, nil)
		if err1 != nil || err2 != nil {
			t.Fatal(err1, err2)
		}
		ab, _ := io.ReadAll(a.Contents)
		bb, _ := io.ReadAll(b.Contents)
		if !bytes.Equal(ab, bb) || !reflect.DeepEqual(a.Metadata, b.Metadata) || !bytes.Equal(a.Hash, b.Hash) {
			t.Errorf("%s: object %v %x, the live path's %v %x", r.Key, a.Metadata, a.Hash, b.Metadata, b.Hash)
		}
		x, ok1 := st.table.get(r.Key)
		y, ok2 := ref.table.get(r.Key)
		if ok1 != ok2 || !reflect.DeepEqual(x, y) {
			t.Errorf("%s: status %v, the live path's %v", r.Key, x, y)
		}
	}
	if redriven == 0 {
		t.Fatal("the seed redrove nothing: the test needs redeliveries")
	}
	for _, read := range []string{
		`{"TableName":"` + st.Table + `"}`,
		`{"TableName":"` + st.Table + `","IndexName":"` + st.Index + `"}`,
	} {
		a, err1 := st.dynamo.dispatch("Scan", []byte(read))
		b, err2 := ref.dynamo.dispatch("Scan", []byte(read))
		if err1 != nil || err2 != nil || !reflect.DeepEqual(a, b) {
			t.Errorf("Scan %s differs from the live path's (%v, %v)", read, err1, err2)
		}
	}
	a, _ := st.dynamo.dispatch("DescribeTable", []byte(`{"TableName":"`+st.Table+`"}`))
	b, _ := ref.dynamo.dispatch("DescribeTable", []byte(`{"TableName":"`+st.Table+`"}`))
	ta, tb := a.(map[string]any)["Table"].(map[string]any), b.(map[string]any)["Table"].(map[string]any)
	delete(ta, "TableId")
	delete(tb, "TableId")
	delete(ta, "CreationDateTime")
	delete(tb, "CreationDateTime")
	if !reflect.DeepEqual(ta, tb) {
		t.Errorf("DescribeTable %v, the live path's %v", ta, tb)
	}

	var derived []logLine
	st.logs().seeded.each(ProcessorLogGroup, 0, 1<<62, cwPos{}, nil, nil, func(e cwEvent) bool {
		derived = append(derived, logLine{ProcessorLogGroup, time.UnixMilli(e.at), e.msg})
		return true
	})
	want := slices.Clone(sink.lines)
	slices.SortStableFunc(want, func(a, b logLine) int { return a.at.Compare(b.at) })
	if len(derived) != len(want) {
		t.Fatalf("%d derived lines, the live path wrote %d", len(derived), len(want))
	}
	for i := range want {
		if !derived[i].at.Equal(want[i].at) || derived[i].msg != want[i].msg || derived[i].group != want[i].group {
			t.Fatalf("line %d: derived %v %s\nthe live path's %v %s", i, derived[i].at, derived[i].msg, want[i].at, want[i].msg)
		}
	}
}

// The results the generator knows without parsing are the parser's own: the seed takes
// them instead of parsing nine requests in ten.
func TestKnownResultsAreTheParsersOwn(t *testing.T) {
	n := 0
	for g := newSeedGen(11, 3000, testNow); ; {
		r, ok := g.next()
		if !ok {
			break
		}
		if r.known == nil {
			continue
		}
		n++
		res, kind, err := checkPayload(storedContentType(r.ContentType), r.ContentEncoding, r.body)
		if err != nil || kind != "" || !reflect.DeepEqual(res, r.known) {
			t.Fatalf("%s (%s): known %v, the parser finds %v %q %v", r.Key, r.Kind, r.known, res, kind, err)
		}
	}
	if n < 2000 {
		t.Fatalf("only %d of 3000 requests had a known result", n)
	}
}
