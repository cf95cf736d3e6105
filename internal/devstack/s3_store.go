package devstack

import (
	"bytes"
	"crypto/md5"
	"fmt"
	"io"
	"net/http"
	"os"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/johannesboyne/gofakes3"
)

// memStore is the in-memory object store of a stack without DataDir: gofakes3's memory
// backend without versions, holding each object compactly (gofakes3's costs about 1 KB
// per object besides the body: a skip-list node, a metadata map, a version ID), so that
// the demo can hold a million requests. Listing walks a sorted index from the marker.
// It answers like the memory backend it replaces: s3_test.go runs each S3 behaviour on
// it and on the bolt store.
type memStore struct {
	clock *clock
	// spill holds the bodies when it is not nil: a million seeded bodies are about
	// 650 MB that the process then need not hold. Objects keep offsets into it; an
	// overwrite appends and leaves the old bytes behind (a demo's file, removed on Close).
	spill     *os.File
	spillEnd  atomic.Int64
	spillName string // still to remove on Close (where an open file cannot be removed)
	seedBuf   []byte // seedPut's batch of bodies, used again by the next batch

	mu      sync.RWMutex
	buckets map[string]*memBucket
	// metas shares the metadata lists that repeat (most objects have the same few).
	metas map[string][]string
}

var _ gofakes3.Backend = (*memStore)(nil)

type memBucket struct {
	created time.Time
	objects map[string]*memObject
	sorted  orderedList[*memObject]
}

type memObject struct {
	key      string
	body     []byte // when there is no spill file
	off      int64  // in the spill file
	size     int64
	hash     [md5.Size]byte
	modified int64    // UnixNano
	meta     []string // name, value, name, value...; shared, never changed
	// lastModified: the Last-Modified metadata is modified's, left out of meta (it would
	// make every object's list different).
	lastModified bool
}

func (o *memObject) modifiedAt() time.Time { return time.Unix(0, o.modified).In(gmt) }

func memObjectLess(a, b *memObject) bool { return a.key < b.key }

// newMemStore makes a store whose bodies stay in memory, or with spill go to a temporary
// file when one can be made.
func newMemStore(c *clock, spill bool) *memStore {
	m := &memStore{clock: c, buckets: map[string]*memBucket{}, metas: map[string][]string{}}
	if !spill {
		return m
	}
	f, err := os.CreateTemp("", "stowage-demo-bodies-*")
	if err != nil {
		return m
	}
	m.spill = f
	if os.Remove(f.Name()) != nil { // Windows: not while open
		m.spillName = f.Name()
	}
	return m
}

// Close releases the spill file; the bodies in it are gone then.
func (m *memStore) Close() error {
	if m.spill == nil {
		return nil
	}
	err := m.spill.Close()
	if m.spillName != "" {
		os.Remove(m.spillName)
	}
	return err
}

// read returns the bytes [start, start+n) of o's body.
func (m *memStore) read(o *memObject, start, n int64) ([]byte, error) {
	if o.body != nil || m.spill == nil {
		return o.body[start : start+n], nil
	}
	b := make([]byte, n)
	if _, err := m.spill.ReadAt(b, o.off+start); err != nil {
		return nil, fmt.Errorf("read the body of %s from %s: %w", o.key, m.spill.Name(), err)
	}
	return b, nil
}

// keep stores body for o: in the spill file when there is one.
func (m *memStore) keep(o *memObject, body []byte) error {
	o.size = int64(len(body))
	if m.spill == nil {
		o.body = body
		return nil
	}
	o.off = m.spillEnd.Add(o.size) - o.size
	if _, err := m.spill.WriteAt(body, o.off); err != nil {
		return fmt.Errorf("store the body of %s in %s: %w; free space in the temporary directory or seed fewer requests", o.key, m.spill.Name(), err)
	}
	return nil
}

func (m *memStore) ListBuckets() ([]gofakes3.BucketInfo, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	out := make([]gofakes3.BucketInfo, 0, len(m.buckets))
	for name, b := range m.buckets {
		out = append(out, gofakes3.BucketInfo{Name: name, CreationDate: gofakes3.NewContentTime(b.created)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

func (m *memStore) ListBucket(name string, prefix *gofakes3.Prefix, page gofakes3.ListBucketPage) (*gofakes3.ObjectList, error) {
	if prefix == nil {
		prefix = &gofakes3.Prefix{}
	}
	m.mu.RLock()
	defer m.mu.RUnlock()
	b := m.buckets[name]
	if b == nil {
		return nil, gofakes3.BucketNotFound(name)
	}
	out := gofakes3.NewObjectList()
	var cur *cursor[*memObject]
	if page.Marker != "" {
		cur = b.sorted.from(&[]*memObject{{key: page.Marker}}[0], false, false)
	} else {
		cur = b.sorted.from(nil, false, false)
	}
	var match gofakes3.PrefixMatch
	var lastPrefix string
	var count int64
	for {
		o, ok := cur.next()
		if !ok {
			break
		}
		if !prefix.Match(o.key, &match) {
			continue
		}
		if match.CommonPrefix {
			if match.MatchedPart == lastPrefix {
				continue // counted once
			}
			out.AddPrefix(match.MatchedPart)
			lastPrefix = match.MatchedPart
		} else {
			out.Add(&gofakes3.Content{Key: o.key, LastModified: gofakes3.NewContentTime(o.modifiedAt()),
				ETag: gofakes3.FormatETag(o.hash[:]), Size: o.size})
		}
		count++
		if page.MaxKeys > 0 && count >= page.MaxKeys {
			out.NextMarker = o.key
			_, more := cur.next()
			out.IsTruncated = more
			break
		}
	}
	return out, nil
}

func (m *memStore) CreateBucket(name string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.buckets[name] != nil {
		return gofakes3.ResourceError(gofakes3.ErrBucketAlreadyExists, name)
	}
	m.buckets[name] = &memBucket{created: m.clock.Now(), objects: map[string]*memObject{},
		sorted: orderedList[*memObject]{less: memObjectLess}}
	return nil
}

func (m *memStore) BucketExists(name string) (bool, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return m.buckets[name] != nil, nil
}

func (m *memStore) DeleteBucket(name string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	b := m.buckets[name]
	if b == nil {
		return gofakes3.ErrNoSuchBucket
	}
	if len(b.objects) > 0 {
		return gofakes3.ResourceError(gofakes3.ErrBucketNotEmpty, name)
	}
	delete(m.buckets, name)
	return nil
}

func (m *memStore) ForceDeleteBucket(name string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.buckets[name] == nil {
		return gofakes3.ErrNoSuchBucket
	}
	delete(m.buckets, name)
	return nil
}

func (m *memStore) object(bucket, key string) (*memObject, error) {
	b := m.buckets[bucket]
	if b == nil {
		return nil, gofakes3.BucketNotFound(bucket)
	}
	o := b.objects[key]
	if o == nil {
		return nil, gofakes3.KeyNotFound(key)
	}
	return o, nil
}

// toObject builds what gofakes3 serves; the body is shared, never copied: a stored
// object is replaced on write, never changed.
func (m *memStore) toObject(o *memObject, rng *gofakes3.ObjectRangeRequest, withBody bool) (*gofakes3.Object, error) {
	meta := make(map[string]string, len(o.meta)/2+1)
	for i := 0; i+1 < len(o.meta); i += 2 {
		meta[o.meta[i]] = o.meta[i+1]
	}
	if o.lastModified {
		meta["Last-Modified"] = o.modifiedAt().Format(http.TimeFormat)
	}
	obj := &gofakes3.Object{Name: o.key, Hash: o.hash[:], Metadata: meta, Size: o.size,
		Contents: io.NopCloser(bytes.NewReader(nil))}
	if withBody {
		r, err := rng.Range(obj.Size)
		if err != nil {
			return nil, err
		}
		start, n := int64(0), o.size
		if r != nil {
			start, n = r.Start, r.Length
		}
		data, err := m.read(o, start, n)
		if err != nil {
			return nil, err
		}
		obj.Range = r
		obj.Contents = io.NopCloser(bytes.NewReader(data))
	}
	return obj, nil
}

func (m *memStore) HeadObject(bucket, key string) (*gofakes3.Object, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	o, err := m.object(bucket, key)
	if err != nil {
		return nil, err
	}
	return m.toObject(o, nil, false)
}

func (m *memStore) GetObject(bucket, key string, rng *gofakes3.ObjectRangeRequest) (*gofakes3.Object, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	o, err := m.object(bucket, key)
	if err != nil {
		return nil, err
	}
	return m.toObject(o, rng, true)
}

func (m *memStore) PutObject(bucket, key string, meta map[string]string, input io.Reader, size int64, cond *gofakes3.PutConditions) (gofakes3.PutObjectResult, error) {
	var res gofakes3.PutObjectResult
	body, err := gofakes3.ReadAll(input, size)
	if err != nil {
		return res, err
	}
	if err := gofakes3.MergeMetadata(m, bucket, key, meta); err != nil {
		return res, err
	}
	now := m.clock.Now()
	o := &memObject{key: key, hash: md5.Sum(body), modified: now.UnixNano()}
	if t, err := http.ParseTime(meta["Last-Modified"]); err == nil && t.Format(http.TimeFormat) != now.Format(http.TimeFormat) {
		// The backend moved LastModified past the previous write's (a frozen clock).
		o.modified = t.UnixNano()
	}
	if err := m.keep(o, body); err != nil {
		return res, err
	}
	o.lastModified = meta["Last-Modified"] == o.modifiedAt().Format(http.TimeFormat)
	skip := ""
	if o.lastModified {
		skip = "Last-Modified"
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	o.meta = m.sharedMeta(meta, skip)
	b := m.buckets[bucket]
	if b == nil {
		return res, gofakes3.BucketNotFound(bucket)
	}
	old := b.objects[key]
	if cond != nil {
		info := &gofakes3.ConditionalObjectInfo{Exists: old != nil}
		if old != nil {
			info.Hash = old.hash[:]
		}
		if err := gofakes3.CheckPutConditions(cond, info); err != nil {
			return res, err
		}
	}
	if old != nil {
		// Same key, same place in the order.
		ci, i := b.sorted.search(old)
		b.sorted.chunks[ci][i] = o
	} else {
		b.sorted.insert(o)
	}
	b.objects[key] = o
	return res, nil
}

func (m *memStore) CopyObject(srcBucket, srcKey, dstBucket, dstKey string, meta map[string]string) (gofakes3.CopyObjectResult, error) {
	return gofakes3.CopyObject(m, srcBucket, srcKey, dstBucket, dstKey, meta)
}

func (m *memStore) DeleteObject(bucket, key string) (gofakes3.ObjectDeleteResult, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return gofakes3.ObjectDeleteResult{}, m.remove(bucket, key)
}

// remove deletes key; a missing key is no error, as in S3.
func (m *memStore) remove(bucket, key string) error {
	b := m.buckets[bucket]
	if b == nil {
		return gofakes3.BucketNotFound(bucket)
	}
	if o := b.objects[key]; o != nil {
		b.sorted.remove(o)
		delete(b.objects, key)
	}
	return nil
}

func (m *memStore) DeleteMulti(bucket string, keys ...string) (gofakes3.MultiDeleteResult, error) {
	var res gofakes3.MultiDeleteResult
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.buckets[bucket] == nil {
		return res, gofakes3.BucketNotFound(bucket)
	}
	for _, k := range keys {
		if err := m.remove(bucket, k); err != nil {
			res.Error = append(res.Error, gofakes3.ErrorResultFromError(err))
			continue
		}
		res.Deleted = append(res.Deleted, gofakes3.ObjectID{Key: k})
	}
	return res, nil
}

// seedObject is one seeded object for seedPut: the body, its MD5 and when it was stored.
type seedObject struct {
	key      string
	body     []byte
	hash     [md5.Size]byte
	modified time.Time
	meta     map[string]string // without Last-Modified, which is modified's
}

// seedPut stores objects as PutObject of a new key at their time would, without keeping
// the listing order (seedDone builds it once, sorted): the bodies of the batch go to the
// spill file in one write. The bucket must not be listed in between (the seed runs before
// any server).
func (m *memStore) seedPut(bucket string, objs []seedObject) error {
	var all []byte
	offs := make([]int64, len(objs))
	if m.spill != nil {
		total := 0
		for _, o := range objs {
			total += len(o.body)
		}
		all = m.seedBuf[:0]
		base := m.spillEnd.Add(int64(total)) - int64(total)
		for i, o := range objs {
			offs[i] = base + int64(len(all))
			all = append(all, o.body...)
		}
		if _, err := m.spill.WriteAt(all, base); err != nil {
			return fmt.Errorf("store the seeded bodies in %s: %w; free space in the temporary directory or seed fewer requests", m.spill.Name(), err)
		}
		m.seedBuf = all // the next batch writes from it again
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	b := m.buckets[bucket]
	if b == nil {
		return gofakes3.BucketNotFound(bucket)
	}
	for i, s := range objs {
		o := &memObject{key: s.key, hash: s.hash, modified: s.modified.UnixNano(), size: int64(len(s.body)),
			off: offs[i], lastModified: true, meta: m.sharedMeta(s.meta, "")}
		if m.spill == nil {
			o.body = s.body
		}
		b.objects[s.key] = o
	}
	return nil
}

// seedRestore stores key again at modified with meta and the same body, as a copy in
// place does: the body is not written twice.
func (m *memStore) seedRestore(bucket, key string, meta map[string]string, modified time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	o, err := m.object(bucket, key)
	if err != nil {
		return err
	}
	n := *o
	n.modified, n.meta, n.lastModified = modified.UnixNano(), m.sharedMeta(meta, ""), true
	m.buckets[bucket].objects[key] = &n
	return nil
}

// sharedMeta is meta as sorted name, value pairs, shared with every object that has the
// same, leaving skip out. The caller holds mu.
func (m *memStore) sharedMeta(meta map[string]string, skip string) []string {
	names := make([]string, 0, len(meta))
	for k := range meta {
		if k != skip {
			names = append(names, k)
		}
	}
	sort.Strings(names)
	pairs := make([]string, 0, 2*len(names))
	for _, k := range names {
		pairs = append(pairs, k, meta[k])
	}
	id := strings.Join(pairs, "\x00")
	if shared, ok := m.metas[id]; ok {
		return shared
	}
	m.metas[id] = pairs
	return pairs
}

// seedDone builds bucket's listing order from its objects, sorted once.
func (m *memStore) seedDone(bucket string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	b := m.buckets[bucket]
	if b == nil {
		return
	}
	all := make([]*memObject, 0, len(b.objects))
	for _, o := range b.objects {
		all = append(all, o)
	}
	sort.Slice(all, func(i, j int) bool { return all[i].key < all[j].key })
	b.sorted = orderedList[*memObject]{less: memObjectLess, chunks: chunked(all)}
}
