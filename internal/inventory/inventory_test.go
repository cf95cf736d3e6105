package inventory

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stowage-cli/stowage/awsclient"
)

// oddKeys are keys that do not start with a lower-case hex digit, or sit exactly on a
// shard bound: a sharded listing must still return each of them once.
var oddKeys = []string{
	"", "!bang", " space first", "-dash", ".dot", "/slash", "0", "00", "1", "10", "10/", "3f", "40", "7",
	"7f", "80", "9zz", ":colon", "A0", "ABC", "Z", "_under", "`tick", "f", "ff", "fg", "g", "zzz",
	"~tilde", "é-accent", "日本", "\U0010FFFF",
}

func randomKeys(r *rand.Rand, n int) []string {
	keys := make([]string, 0, n+len(oddKeys))
	for range n {
		var b [16]byte
		for i := range b {
			b[i] = byte(r.UintN(256))
		}
		keys = append(keys, uuid.UUID(b).String())
	}
	for _, k := range oddKeys {
		if k != "" {
			keys = append(keys, k)
		}
	}
	return keys
}

func TestShardedListingEqualsSingleStream(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, prefix := range []string{"", "req/"} {
		var objs []awsclient.Object
		for _, k := range randomKeys(r, 500) {
			objs = append(objs, obj(prefix+k, time.Hour))
			objs = append(objs, obj("other/"+k, time.Hour)) // outside the prefix
		}
		b := newFakeBucket(objs...)
		var want []string
		if err := listObjects(context.Background(), plainBucket{b}, prefix, 1, 7, func(os []awsclient.Object) error {
			for _, o := range os {
				want = append(want, o.Key)
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		if !slices.IsSorted(want) || len(want) < 500 {
			t.Fatalf("single stream: %d keys, sorted %v", len(want), slices.IsSorted(want))
		}
		for _, n := range []int{2, 3, 5, 7, 16, 17, 64, 256} {
			t.Run(fmt.Sprintf("prefix=%q/n=%d", prefix, n), func(t *testing.T) {
				var got []string
				err := listObjects(context.Background(), b, prefix, n, 7, func(os []awsclient.Object) error {
					for _, o := range os {
						got = append(got, o.Key)
					}
					return nil
				})
				if err != nil {
					t.Fatal(err)
				}
				if !slices.Equal(got, want) {
					t.Fatalf("sharded listing differs from the single stream: %d vs %d keys\nfirst difference: %s",
						len(got), len(want), firstDiff(got, want))
				}
			})
		}
	}
}

func firstDiff(a, b []string) string {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return fmt.Sprintf("at %d: %q vs %q", i, a[i], b[i])
		}
	}
	return fmt.Sprintf("one is a prefix of the other (%d vs %d)", len(a), len(b))
}

func TestShardBoundsAreOrderedAndUnderPrefix(t *testing.T) {
	for _, n := range []int{2, 16, 64, 256, 1000} {
		b := shardBounds("p/", n)
		if len(b) != min(n, 256)-1 || !slices.IsSorted(b) || slices.Compact(slices.Clone(b)) == nil {
			t.Fatalf("n=%d: bounds %v", n, b)
		}
		for _, x := range b {
			if !strings.HasPrefix(x, "p/") || len(x) != 4 {
				t.Fatalf("n=%d: bound %q", n, x)
			}
		}
	}
	if shardBounds("", 1) != nil {
		t.Fatal("one shard needs no bounds")
	}
}

func TestShardedListingStopsOnErrorAndOnCallerError(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	var objs []awsclient.Object
	for _, k := range randomKeys(r, 300) {
		objs = append(objs, obj(k, time.Hour))
	}
	b := newFakeBucket(objs...)
	b.failAt = b.keys[200]
	err := listObjects(context.Background(), b, "", 8, 10, func([]awsclient.Object) error { return nil })
	if awsclient.KindOf(err) != awsclient.KindNetwork {
		t.Fatalf("a failing page must fail the listing, got %v", err)
	}
	b.failAt = ""
	stop := errors.New("stop")
	calls := 0
	err = listObjects(context.Background(), b, "", 8, 10, func([]awsclient.Object) error {
		calls++
		if calls == 3 {
			return stop
		}
		return nil
	})
	if !errors.Is(err, stop) || calls != 3 {
		t.Fatalf("the caller's error must stop the listing at once: err %v after %d pages", err, calls)
	}
}

func testSource(b Objects, tb *fakeTable) Source {
	return Source{Objects: b, Statuses: tb, Scanner: tb, Size: func(context.Context) (TableSize, error) { return tb.size, nil }}
}

func TestListJoinsStatusesInKeyOrder(t *testing.T) {
	b := newFakeBucket(obj("a1", time.Hour), obj("b2", 2*time.Hour), obj("c3", 3*time.Hour), obj("d4", 10*time.Minute))
	tb := newFakeTable(status("a1", "PROCESSED", time.Hour), status("c3", "FAILED", time.Hour))
	rows, err := collect(func(fn func([]Row) error) error {
		return List(context.Background(), testSource(b, tb), Options{PageSize: 2}, fn)
	})
	if err != nil {
		t.Fatal(err)
	}
	got := ""
	for _, r := range rows {
		got += r.Object.Key + "=" + r.State(15*time.Minute, t0) + " "
	}
	if want := "a1=PROCESSED b2=LOST c3=FAILED d4= "; got != want {
		t.Fatalf("got %q, want %q", got, want)
	}
}

func TestListSinceLimitAndPrefix(t *testing.T) {
	var objs []awsclient.Object
	for i := range 50 {
		objs = append(objs, obj(fmt.Sprintf("k%02d", i), time.Duration(i)*time.Minute))
	}
	b := newFakeBucket(objs...)
	tb := newFakeTable()
	src := testSource(b, tb)
	ctx := context.Background()

	rows, err := collect(func(fn func([]Row) error) error {
		return List(ctx, src, Options{Since: t0.Add(-10 * time.Minute), PageSize: 4}, fn)
	})
	if err != nil || len(rows) != 11 {
		t.Fatalf("since 10m: %d rows, %v", len(rows), err)
	}
	for _, par := range []int{1, 4} {
		rows, err = collect(func(fn func([]Row) error) error {
			return List(ctx, src, Options{Limit: 5, PageSize: 3, Parallel: par}, fn)
		})
		if err != nil || !slices.Equal(keysOf(rows), []string{"k00", "k01", "k02", "k03", "k04"}) {
			t.Fatalf("limit 5, parallel %d: %v, %v", par, keysOf(rows), err)
		}
	}
	rows, err = collect(func(fn func([]Row) error) error {
		return List(ctx, src, Options{Prefix: "k1"}, fn)
	})
	if err != nil || len(rows) != 10 {
		t.Fatalf("prefix k1: %v, %v", keysOf(rows), err)
	}
}

func TestListBatchesLookupsAndStopsOnTheirErrors(t *testing.T) {
	var objs []awsclient.Object
	for i := range 1000 {
		objs = append(objs, obj(fmt.Sprintf("k%04d", i), time.Hour))
	}
	b := newFakeBucket(objs...)
	tb := newFakeTable()
	rows, err := collect(func(fn func([]Row) error) error {
		return List(context.Background(), testSource(b, tb), Options{PageSize: 250}, fn)
	})
	if err != nil || len(rows) != 1000 {
		t.Fatal(len(rows), err)
	}
	if n := tb.batchGets.Load(); n != 12 { // pages of 250: 100+100+50 each
		t.Fatalf("%d BatchGet calls for 1000 objects in pages of 250, want 12", n)
	}
	if m := tb.maxBatch.Load(); m > 100 {
		t.Fatalf("a BatchGet asked for %d keys", m)
	}

	failing := &failingTable{fakeTable: tb, failAfter: 3}
	_, err = collect(func(fn func([]Row) error) error {
		return List(context.Background(), Source{Objects: b, Statuses: failing}, Options{PageSize: 250}, fn)
	})
	if awsclient.KindOf(err) != awsclient.KindThrottled {
		t.Fatalf("a failing BatchGet must fail the listing, got %v", err)
	}
}

type failingTable struct {
	*fakeTable
	failAfter int64
	calls     int64
}

func (f *failingTable) BatchGet(ctx context.Context, ids []string) (map[string]awsclient.Status, error) {
	if n := f.batchGets.Add(1); n > f.failAfter {
		return nil, &awsclient.Error{Kind: awsclient.KindThrottled, Op: "batch-get", Resource: "dynamodb://fake"}
	}
	return f.fakeTable.BatchGet(ctx, ids)
}

func TestListByStatus(t *testing.T) {
	b := newFakeBucket(obj("a", time.Hour), obj("b", 2*time.Hour), obj("c", 3*time.Hour), obj("p/d", 4*time.Hour))
	tb := newFakeTable(
		status("a", "FAILED", 50*time.Minute), status("b", "PROCESSED", time.Hour), status("c", "FAILED", 2*time.Hour),
		status("gone", "FAILED", 30*time.Minute), status("p/d", "FAILED", 3*time.Hour))
	src := testSource(b, tb)
	for _, budget := range []int{1000, 0} {
		t.Run(fmt.Sprintf("headBudget=%d", budget), func(t *testing.T) {
			defer func(old int) { headBudget = old }(headBudget)
			headBudget = budget
			rows, err := collect(func(fn func([]Row) error) error {
				return List(context.Background(), src, Options{Status: "FAILED"}, fn)
			})
			if err != nil {
				t.Fatal(err)
			}
			got := ""
			for _, r := range rows {
				got += fmt.Sprintf("%s:%s:%v ", r.Object.Key, r.Status.State, r.NoObject)
			}
			want := "gone:FAILED:true a:FAILED:false c:FAILED:false p/d:FAILED:false "
			if budget == 0 { // the listing join: key order, then the rows without object
				want = "a:FAILED:false c:FAILED:false p/d:FAILED:false gone:FAILED:true "
			}
			if got != want {
				t.Fatalf("got  %q\nwant %q", got, want)
			}

			rows, err = collect(func(fn func([]Row) error) error {
				return List(context.Background(), src, Options{Status: "FAILED", Since: t0.Add(-150 * time.Minute), Prefix: "p/"}, fn)
			})
			if err != nil || len(rows) != 0 {
				t.Fatalf("p/d is older than the bound: %v %v", keysOf(rows), err)
			}
			rows, err = collect(func(fn func([]Row) error) error {
				return List(context.Background(), src, Options{Status: "FAILED", Limit: 2}, fn)
			})
			if err != nil || len(rows) != 2 {
				t.Fatalf("limit 2: %v %v", keysOf(rows), err)
			}
		})
	}
}

// A negative HeadBudget joins every match of a status listing by the bucket listing: no
// HEAD at all (a redrive plan needs every row anyway), the same rows as the listing join.
func TestListByStatusWithoutHeads(t *testing.T) {
	b := newFakeBucket(obj("a", time.Hour), obj("b", 2*time.Hour), obj("c", 3*time.Hour))
	tb := newFakeTable(status("a", "FAILED", 50*time.Minute), status("b", "PROCESSED", time.Hour),
		status("c", "FAILED", 2*time.Hour), status("gone", "FAILED", 30*time.Minute))
	for _, tc := range []struct {
		budget int
		heads  int64
	}{{0, 3}, {-1, 0}} {
		b.heads.Store(0)
		rows, err := collect(func(fn func([]Row) error) error {
			return List(context.Background(), testSource(b, tb), Options{Status: "FAILED", HeadBudget: tc.budget}, fn)
		})
		if err != nil {
			t.Fatal(err)
		}
		if got := b.heads.Load(); got != tc.heads {
			t.Errorf("HeadBudget %d: %d HEADs, want %d", tc.budget, got, tc.heads)
		}
		if got := keysOf(rows); len(got) != 3 {
			t.Errorf("HeadBudget %d: rows %v, want a, c and gone", tc.budget, got)
		}
	}
}

func TestLostPlansAgreeAndBatch(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	var objs []awsclient.Object
	var items []awsclient.Status
	wantLost := map[string]bool{}
	for i, k := range randomKeys(r, 2000) {
		age := time.Duration(i%120) * time.Minute
		objs = append(objs, obj(k, age))
		switch {
		case i%10 == 0 && age > 15*time.Minute:
			wantLost[k] = true // old enough, no item
		case i%10 == 0: // too young to be lost
		default:
			items = append(items, status(k, "PROCESSED", age))
		}
	}
	items = append(items, status("orphan-item", "FAILED", time.Hour))
	b := newFakeBucket(objs...)
	for _, plan := range []Plan{PlanBatchGet, PlanScan} {
		t.Run(plan.String(), func(t *testing.T) {
			tb := newFakeTable(items...)
			var last Progress
			rows, err := collect(func(fn func([]Row) error) error {
				return Lost(context.Background(), testSource(b, tb), LostOptions{
					Options: Options{PageSize: 500}, OlderThan: 15 * time.Minute, Now: t0, Plan: plan,
					Progress: func(p Progress) { last = p },
				}, fn)
			})
			if err != nil {
				t.Fatal(err)
			}
			got := map[string]bool{}
			for _, r := range rows {
				if r.Status != nil {
					t.Fatalf("%s has a status item but was reported lost", r.Object.Key)
				}
				got[r.Object.Key] = true
			}
			if len(got) != len(wantLost) || len(rows) != len(wantLost) {
				t.Fatalf("%d lost, want %d", len(rows), len(wantLost))
			}
			for k := range wantLost {
				if !got[k] {
					t.Fatalf("%q is lost but was not reported", k)
				}
			}
			if !slices.IsSortedFunc(rows, func(a, b Row) int { return strings.Compare(a.Object.Key, b.Object.Key) }) {
				t.Fatal("lost rows are not in key order")
			}
			calls := tb.batchGets.Load()
			switch plan {
			case PlanBatchGet:
				if max := int64(len(objs)/100 + 5); calls > max {
					t.Fatalf("%d BatchGet calls for %d objects, want at most %d", calls, len(objs), max)
				}
			case PlanScan:
				if max := int64(len(wantLost)/100 + 5); calls > max {
					t.Fatalf("%d confirming BatchGet calls for %d lost, want at most %d", calls, len(wantLost), max)
				}
				if last.TableIDs != len(items) {
					t.Fatalf("progress: %d IDs scanned, want %d", last.TableIDs, len(items))
				}
			}
			if last.Plan != plan || last.Listed != len(objs) || last.Lost != len(wantLost) {
				t.Fatalf("progress %+v", last)
			}
		})
	}
}

func TestLostScanConfirmsWhatTheScanMissed(t *testing.T) {
	b := newFakeBucket(obj("a", time.Hour), obj("b", time.Hour), obj("c", time.Hour))
	tb := newFakeTable(status("a", "PROCESSED", time.Minute), status("b", "PROCESSED", time.Minute))
	tb.hideInScan = map[string]bool{"b": true} // written while the scan ran
	rows, err := collect(func(fn func([]Row) error) error {
		return Lost(context.Background(), testSource(b, tb), LostOptions{OlderThan: 15 * time.Minute, Now: t0, Plan: PlanScan}, fn)
	})
	if err != nil || !slices.Equal(keysOf(rows), []string{"c"}) {
		t.Fatalf("got %v, %v; b has an item and must not be reported lost", keysOf(rows), err)
	}
}

// scanAfter is a scanner that starts only once wait is closed (or fails with err).
type scanAfter struct {
	IDScanner
	wait <-chan struct{}
	err  error
}

func (s scanAfter) ScanIDs(ctx context.Context, segments int, fn func([]string) error) error {
	select {
	case <-s.wait:
	case <-ctx.Done():
		return ctx.Err()
	}
	if s.err != nil {
		return s.err
	}
	return s.IDScanner.ScanIDs(ctx, segments, fn)
}

// PlanScan lists the bucket while the table is scanned: here the scan cannot start before
// the whole bucket was listed (Lost used to scan first, and would wait forever), and the
// result is the same.
func TestLostScanOverlapsTheListing(t *testing.T) {
	var objs []awsclient.Object
	var items []awsclient.Status
	for i, k := range randomKeys(rand.New(rand.NewPCG(7, 8)), 1500) {
		objs = append(objs, obj(k, time.Hour))
		if i%7 != 0 {
			items = append(items, status(k, "PROCESSED", time.Minute))
		}
	}
	tb := newFakeTable(items...)
	listedAll := make(chan struct{})
	var once sync.Once
	src := testSource(newFakeBucket(objs...), tb)
	src.Scanner = scanAfter{IDScanner: tb, wait: listedAll}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute) // the old order: a deadlock
	defer cancel()
	var last Progress
	rows, err := collect(func(fn func([]Row) error) error {
		return Lost(ctx, src, LostOptions{
			Options: Options{PageSize: 100, Parallel: 4}, OlderThan: 15 * time.Minute, Now: t0, Plan: PlanScan,
			Progress: func(p Progress) {
				last = p
				if p.Listed == len(objs) {
					once.Do(func() { close(listedAll) })
				}
			},
		}, fn)
	})
	if err != nil {
		t.Fatal(err)
	}
	if want := (len(objs) + 6) / 7; len(rows) != want {
		t.Fatalf("%d lost, want %d", len(rows), want)
	}
	if !slices.IsSortedFunc(rows, func(a, b Row) int { return strings.Compare(a.Object.Key, b.Object.Key) }) {
		t.Fatal("lost rows are not in key order")
	}
	if last.Candidates != len(rows) {
		t.Fatalf("%d objects looked up for %d lost: the held pages were not checked against the scan", last.Candidates, len(rows))
	}
}

// A scan that fails ends Lost with its error, not with the listing's cancellation.
func TestLostScanErrorWins(t *testing.T) {
	tb := newFakeTable(status("a", "PROCESSED", time.Minute))
	src := testSource(newFakeBucket(obj("a", time.Hour), obj("b", time.Hour)), tb)
	ready := make(chan struct{})
	close(ready)
	boom := &awsclient.Error{Kind: awsclient.KindAccessDenied, Op: "scan", Resource: "dynamodb://fake"}
	src.Scanner = scanAfter{IDScanner: tb, wait: ready, err: boom}
	_, err := collect(func(fn func([]Row) error) error {
		return Lost(context.Background(), src, LostOptions{OlderThan: 15 * time.Minute, Now: t0, Plan: PlanScan}, fn)
	})
	if !errors.Is(err, boom) {
		t.Fatalf("got %v, want the scan's error", err)
	}
}

func TestChoosePlan(t *testing.T) {
	tb := newFakeTable()
	src := testSource(newFakeBucket(), tb)
	ctx := context.Background()
	cases := []struct {
		name string
		size TableSize
		opts Options
		want Plan
	}{
		{"small items: scan", TableSize{Items: 100_000, Bytes: 100_000 * 200}, Options{}, PlanScan},
		{"big items: batch", TableSize{Items: 100_000, Bytes: 100_000 * 20_000}, Options{}, PlanBatchGet},
		{"narrowed by since", TableSize{Items: 100_000, Bytes: 100_000 * 200}, Options{Since: t0}, PlanBatchGet},
		{"narrowed by prefix", TableSize{Items: 100_000, Bytes: 100_000 * 200}, Options{Prefix: "ab"}, PlanBatchGet},
		{"too many items", TableSize{Items: MaxScanItems + 1, Bytes: 100}, Options{}, PlanBatchGet},
		{"unknown size", TableSize{}, Options{}, PlanBatchGet},
	}
	for _, c := range cases {
		tb.size = c.size
		if got := choosePlan(ctx, src, c.opts); got != c.want {
			t.Errorf("%s: %v, want %v", c.name, got, c.want)
		}
	}
	if got := choosePlan(ctx, Source{Objects: src.Objects, Statuses: tb}, Options{}); got != PlanBatchGet {
		t.Errorf("without a scanner: %v", got)
	}
}

func TestResolvePrefix(t *testing.T) {
	for _, c := range [][3]string{{"", "", ""}, {"req/", "", "req/"}, {"req/", "3f", "req/3f"}, {"req/", "req/3f", "req/3f"}, {"", "x", "x"}} {
		if got := ResolvePrefix(c[0], c[1]); got != c[2] {
			t.Errorf("ResolvePrefix(%q, %q) = %q, want %q", c[0], c[1], got, c[2])
		}
	}
}

func TestRowState(t *testing.T) {
	young := Row{Object: obj("y", time.Minute)}
	old := Row{Object: obj("o", time.Hour)}
	failed := Row{Object: obj("f", time.Hour), Status: &awsclient.Status{State: "FAILED"}}
	gone := Row{Object: awsclient.Object{Key: "g"}, NoObject: true}
	for _, c := range []struct {
		r    Row
		want string
	}{{young, ""}, {old, StateLost}, {failed, "FAILED"}, {gone, ""}} {
		if got := c.r.State(15*time.Minute, t0); got != c.want {
			t.Errorf("%s: %q, want %q", c.r.Object.Key, got, c.want)
		}
	}
}

// gatedBucket holds every listing page after the first until release is closed.
type gatedBucket struct {
	*fakeBucket
	release chan struct{}
	pages   atomic.Int64
}

func (g *gatedBucket) ListPage(ctx context.Context, prefix, token string, max int32) (awsclient.Page, error) {
	if g.pages.Add(1) > 1 {
		select {
		case <-g.release:
		case <-ctx.Done():
			return awsclient.Page{}, ctx.Err()
		}
	}
	return g.fakeBucket.ListPage(ctx, prefix, token, max)
}

func TestListStreamsBeforeTheListingEnds(t *testing.T) {
	var objs []awsclient.Object
	for i := range 30 {
		objs = append(objs, obj(fmt.Sprintf("k%02d", i), time.Hour))
	}
	b := &gatedBucket{fakeBucket: newFakeBucket(objs...), release: make(chan struct{})}
	tb := newFakeTable()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	first := true
	n := 0
	err := List(ctx, Source{Objects: b, Statuses: tb}, Options{PageSize: 10}, func(rows []Row) error {
		if first {
			// The listing of page 2 waits for this: rows of page 1 arrived first.
			first = false
			close(b.release)
		}
		n += len(rows)
		return nil
	})
	if err != nil || n != 30 {
		t.Fatalf("%d rows, %v (a listing that waited for the end before emitting would time out)", n, err)
	}
}

// TestLookupKeepsOrderAndMarksWhatIsMissing: Lookup pairs each ref with its object and
// status item in the refs' order; a missing object is a NoObject row that keeps its item,
// and a ref with neither has no status.
func TestLookupKeepsOrderAndMarksWhatIsMissing(t *testing.T) {
	src := Source{
		Objects:  newFakeBucket(obj("a", time.Hour), obj("c", time.Hour)),
		Statuses: newFakeTable(status("a", "FAILED", time.Hour), status("b", "PROCESSED", time.Hour)),
	}
	rows, err := Lookup(context.Background(), src, []Ref{{ID: "c", Key: "c"}, {ID: "b", Key: "b"}, {ID: "a", Key: "a"}, {ID: "z", Key: "z"}}, 2)
	if err != nil {
		t.Fatal(err)
	}
	type got struct {
		id       string
		state    string
		noObject bool
	}
	var have []got
	for _, r := range rows {
		g := got{id: r.Object.RequestID, noObject: r.NoObject}
		if r.Status != nil {
			g.state = r.Status.State
		}
		have = append(have, g)
	}
	want := []got{{"c", "", false}, {"b", "PROCESSED", true}, {"a", "FAILED", false}, {"z", "", true}}
	if !reflect.DeepEqual(have, want) {
		t.Fatalf("rows %+v, want %+v", have, want)
	}
}
