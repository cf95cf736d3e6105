package tui

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/stowage-cli/stowage/awsclient"
	"github.com/stowage-cli/stowage/internal/config"
)

// fakeObjects is an in-memory bucket.
type fakeObjects struct {
	mu      sync.Mutex
	objs    map[string]awsclient.Object
	bodies  map[string][]byte
	listErr error
	headErr error
	calls   []string
}

func newFakeObjects() *fakeObjects {
	return &fakeObjects{objs: map[string]awsclient.Object{}, bodies: map[string][]byte{}}
}

func (f *fakeObjects) put(o awsclient.Object, body []byte) {
	f.mu.Lock()
	defer f.mu.Unlock()
	o.Size = int64(len(body))
	if o.ETag == "" {
		o.ETag = fmt.Sprintf("%x", len(body)*7919+len(o.Key))
	}
	f.objs[o.Key] = o
	f.bodies[o.Key] = body
}

func (f *fakeObjects) ListPage(ctx context.Context, prefix, token string, max int32) (awsclient.Page, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, "list "+token)
	if f.listErr != nil {
		return awsclient.Page{}, f.listErr
	}
	return f.pageOf(func(string) bool { return true }, token, max), nil
}

// pageOf is the page at token (an offset) of the keys keep keeps, in key order. The
// caller holds f.mu.
func (f *fakeObjects) pageOf(keep func(key string) bool, token string, max int32) awsclient.Page {
	keys := make([]string, 0, len(f.objs))
	for k := range f.objs {
		if keep(k) {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	start := 0
	if token != "" {
		start, _ = strconv.Atoi(token)
	}
	end := min(len(keys), start+int(max))
	var p awsclient.Page
	for _, k := range keys[start:end] {
		o := f.objs[k]
		// A listing knows no content type or metadata.
		p.Objects = append(p.Objects, awsclient.Object{Key: o.Key, RequestID: o.RequestID, Size: o.Size, LastModified: o.LastModified, ETag: o.ETag})
	}
	if end < len(keys) {
		p.NextToken = strconv.Itoa(end)
	}
	return p
}

func (f *fakeObjects) Head(ctx context.Context, key string) (awsclient.Object, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, "head "+key)
	if f.headErr != nil {
		return awsclient.Object{}, f.headErr
	}
	o, ok := f.objs[key]
	if !ok {
		return awsclient.Object{}, &awsclient.Error{Kind: awsclient.KindNotFound, Op: "head", Resource: "s3://bucket/" + key, Code: "NotFound"}
	}
	return o, nil
}

func (f *fakeObjects) GetRange(ctx context.Context, key string, offset, length int64) ([]byte, awsclient.Object, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, fmt.Sprintf("get %s %d-%d", key, offset, offset+length))
	o, ok := f.objs[key]
	if !ok {
		return nil, awsclient.Object{}, &awsclient.Error{Kind: awsclient.KindNotFound, Op: "get", Resource: "s3://bucket/" + key, Code: "NoSuchKey"}
	}
	b := f.bodies[key]
	if offset >= int64(len(b)) {
		return []byte{}, o, nil
	}
	end := min(int64(len(b)), offset+length)
	return bytes.Clone(b[offset:end]), o, nil
}

func (f *fakeObjects) Get(ctx context.Context, key string, pin awsclient.Pin) (io.ReadCloser, awsclient.Object, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	o, ok := f.objs[key]
	if !ok {
		return nil, awsclient.Object{}, &awsclient.Error{Kind: awsclient.KindNotFound, Op: "get", Resource: "s3://bucket/" + key, Code: "NoSuchKey"}
	}
	if pin.ETag != "" && pin.ETag != o.ETag {
		return nil, awsclient.Object{}, &awsclient.Error{Kind: awsclient.KindChanged, Op: "get", Resource: "s3://bucket/" + key}
	}
	return io.NopCloser(bytes.NewReader(f.bodies[key])), o, nil
}

// fakeStatuses is an in-memory status table.
type fakeStatuses struct {
	mu    sync.Mutex
	items map[string]awsclient.Status
	err   error
	calls int
}

func newFakeStatuses() *fakeStatuses { return &fakeStatuses{items: map[string]awsclient.Status{}} }

func (f *fakeStatuses) put(st awsclient.Status) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if st.Item == nil {
		st.Item = map[string]any{"requestId": st.RequestID, "status": st.State}
		if st.Error != "" {
			st.Item["error"] = st.Error
		}
		if st.Attempts > 0 {
			st.Item["attempts"] = float64(st.Attempts)
		}
		if !st.UpdatedAt.IsZero() {
			st.Item["updatedAt"] = st.UpdatedAt.Format(time.RFC3339)
		}
	}
	f.items[st.RequestID] = st
}

func (f *fakeStatuses) Get(ctx context.Context, id string) (awsclient.Status, bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	if f.err != nil {
		return awsclient.Status{}, false, f.err
	}
	st, ok := f.items[id]
	return st, ok, nil
}

func (f *fakeStatuses) BatchGet(ctx context.Context, ids []string) (map[string]awsclient.Status, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	if f.err != nil {
		return nil, f.err
	}
	out := map[string]awsclient.Status{}
	for _, id := range ids {
		if st, ok := f.items[id]; ok {
			out[id] = st
		}
	}
	return out, nil
}

func (f *fakeStatuses) ListByStatus(ctx context.Context, state, token string, max int32) (awsclient.StatusPage, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	if f.err != nil {
		return awsclient.StatusPage{}, f.err
	}
	var ids []string
	for id, st := range f.items {
		if st.State == state {
			ids = append(ids, id)
		}
	}
	sort.Strings(ids)
	var p awsclient.StatusPage
	for _, id := range ids {
		p.Items = append(p.Items, f.items[id])
	}
	return p, nil
}

// testEnv is the environment the unit tests run in.
func testEnv() *config.Env {
	e := &config.Env{Name: "staging", Profile: "ops", Region: "eu-west-1",
		Storage: config.Storage{Bucket: "orders-intake"},
		Status:  config.Status{Table: "order-status"}}
	e.ApplyDefaults()
	return e
}
