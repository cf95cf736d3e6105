package inventory

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/stowage-cli/stowage/awsclient"
)

// fakeBucket is an in-memory bucket with S3's listing semantics (sorted keys, opaque
// continuation tokens, StartAfter ignored once a token is given).
type fakeBucket struct {
	keys    []string // sorted
	objects map[string]awsclient.Object
	lists   atomic.Int64
	heads   atomic.Int64
	failAt  string // a listing page that would contain this key fails
}

func newFakeBucket(objs ...awsclient.Object) *fakeBucket {
	b := &fakeBucket{objects: map[string]awsclient.Object{}}
	for _, o := range objs {
		if o.RequestID == "" {
			o.RequestID = o.Key
		}
		b.objects[o.Key] = o
		b.keys = append(b.keys, o.Key)
	}
	sort.Strings(b.keys)
	return b
}

func (b *fakeBucket) ListPage(ctx context.Context, prefix, token string, max int32) (awsclient.Page, error) {
	return b.ListPageAfter(ctx, prefix, "", token, max)
}

func (b *fakeBucket) ListPageAfter(ctx context.Context, prefix, after, token string, max int32) (awsclient.Page, error) {
	b.lists.Add(1)
	if err := ctx.Err(); err != nil {
		return awsclient.Page{}, err
	}
	start := after
	if token != "" {
		start = strings.TrimPrefix(token, "tok:")
	}
	i := sort.SearchStrings(b.keys, start)
	if i < len(b.keys) && b.keys[i] == start && (token != "" || after != "") {
		i++
	}
	var page awsclient.Page
	for ; i < len(b.keys); i++ {
		k := b.keys[i]
		if !strings.HasPrefix(k, prefix) {
			continue
		}
		if k == b.failAt {
			return awsclient.Page{}, &awsclient.Error{Kind: awsclient.KindNetwork, Op: "list", Resource: "s3://fake/" + prefix}
		}
		if int32(len(page.Objects)) == max {
			page.NextToken = "tok:" + page.Objects[len(page.Objects)-1].Key
			break
		}
		page.Objects = append(page.Objects, b.objects[k])
	}
	return page, nil
}

func (b *fakeBucket) Head(ctx context.Context, key string) (awsclient.Object, error) {
	b.heads.Add(1)
	o, ok := b.objects[key]
	if !ok {
		return awsclient.Object{}, &awsclient.Error{Kind: awsclient.KindNotFound, Op: "head", Resource: "s3://fake/" + key, Code: "NotFound"}
	}
	o.ContentType = "application/json"
	return o, nil
}

// plainBucket hides ListPageAfter, like an object store that cannot shard.
type plainBucket struct{ b *fakeBucket }

func (p plainBucket) ListPage(ctx context.Context, prefix, token string, max int32) (awsclient.Page, error) {
	return p.b.ListPage(ctx, prefix, token, max)
}
func (p plainBucket) Head(ctx context.Context, key string) (awsclient.Object, error) {
	return p.b.Head(ctx, key)
}

// fakeTable is an in-memory status table counting its calls.
type fakeTable struct {
	mu         sync.Mutex
	items      map[string]awsclient.Status
	batchGets  atomic.Int64
	maxBatch   atomic.Int64
	listCalls  atomic.Int64
	scanCalls  atomic.Int64
	hideInScan map[string]bool // items the scan does not see (written while it ran)
	limits     []int32         // the limit of each ListByStatus call
	size       TableSize
}

func newFakeTable(items ...awsclient.Status) *fakeTable {
	t := &fakeTable{items: map[string]awsclient.Status{}}
	for _, s := range items {
		t.items[s.RequestID] = s
	}
	return t
}

func (t *fakeTable) BatchGet(ctx context.Context, ids []string) (map[string]awsclient.Status, error) {
	t.batchGets.Add(1)
	for {
		m := t.maxBatch.Load()
		if int64(len(ids)) <= m || t.maxBatch.CompareAndSwap(m, int64(len(ids))) {
			break
		}
	}
	if len(ids) > 100 {
		return nil, fmt.Errorf("BatchGet of %d keys: DynamoDB allows 100", len(ids))
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	out := map[string]awsclient.Status{}
	for _, id := range ids {
		if s, ok := t.items[id]; ok {
			out[id] = s
		}
	}
	return out, nil
}

// ListByStatus pages newest first, at most 7 items a page (and an empty page first), as
// a GSI query or a filtered Scan would.
func (t *fakeTable) ListByStatus(ctx context.Context, state, next string, limit int32) (awsclient.StatusPage, error) {
	t.listCalls.Add(1)
	t.mu.Lock()
	t.limits = append(t.limits, limit)
	var match []awsclient.Status
	for _, s := range t.items {
		if s.State == state {
			match = append(match, s)
		}
	}
	t.mu.Unlock()
	slices.SortFunc(match, func(a, b awsclient.Status) int {
		if c := b.UpdatedAt.Compare(a.UpdatedAt); c != 0 {
			return c
		}
		return strings.Compare(a.RequestID, b.RequestID)
	})
	if next == "" {
		return awsclient.StatusPage{NextToken: "0"}, nil
	}
	start, _ := strconv.Atoi(next)
	end := min(start+min(7, int(limit)), len(match))
	page := awsclient.StatusPage{Items: match[start:end]}
	if end < len(match) {
		page.NextToken = strconv.Itoa(end)
	}
	return page, nil
}

func (t *fakeTable) ScanIDs(ctx context.Context, segments int, fn func([]string) error) error {
	t.mu.Lock()
	var ids []string
	for id := range t.items {
		if !t.hideInScan[id] {
			ids = append(ids, id)
		}
	}
	t.mu.Unlock()
	var wg sync.WaitGroup
	errs := make([]error, segments)
	for seg := range segments {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var part []string
			for i := seg; i < len(ids); i += segments {
				part = append(part, ids[i])
			}
			t.scanCalls.Add(1)
			errs[seg] = fn(part)
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func obj(key string, age time.Duration) awsclient.Object {
	return awsclient.Object{Key: key, RequestID: key, Size: int64(len(key)), LastModified: t0.Add(-age)}
}

func status(id, state string, age time.Duration) awsclient.Status {
	return awsclient.Status{RequestID: id, State: state, UpdatedAt: t0.Add(-age), Attempts: 1}
}

func collect(run func(fn func([]Row) error) error) ([]Row, error) {
	var out []Row
	err := run(func(rows []Row) error {
		out = append(out, rows...)
		return nil
	})
	return out, err
}

func keysOf(rows []Row) []string {
	out := make([]string, len(rows))
	for i, r := range rows {
		out[i] = r.Object.Key
	}
	return out
}
