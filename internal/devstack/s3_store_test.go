package devstack

import (
	"io"
	"strings"
	"testing"
	"time"

	"github.com/johannesboyne/gofakes3"
)

// The store answers the same with bodies in memory and in its spill file: whole reads,
// ranges, overwrites (the spill file appends; the object must read its new bytes),
// listing sizes and deletes.
func TestMemStoreBodies(t *testing.T) {
	for _, spill := range []bool{false, true} {
		m := newMemStore(&clock{now: func() time.Time { return testNow }}, spill)
		if spill && m.spill == nil {
			t.Fatal("no spill file")
		}
		if err := m.CreateBucket("b"); err != nil {
			t.Fatal(err)
		}
		put := func(key, body string) {
			t.Helper()
			if _, err := m.PutObject("b", key, map[string]string{"Content-Type": "text/plain"}, strings.NewReader(body), int64(len(body)), nil); err != nil {
				t.Fatal(err)
			}
		}
		get := func(key string, rng *gofakes3.ObjectRangeRequest) string {
			t.Helper()
			obj, err := m.GetObject("b", key, rng)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(obj.Contents)
			return string(b)
		}
		put("a", "first body")
		put("c", "")
		put("b", "second")
		put("a", "the new first body")
		if got := get("a", nil); got != "the new first body" {
			t.Errorf("spill %v: a = %q", spill, got)
		}
		if got := get("a", &gofakes3.ObjectRangeRequest{Start: 4, End: 6}); got != "new" {
			t.Errorf("spill %v: a[4:7] = %q", spill, got)
		}
		if got := get("c", nil); got != "" {
			t.Errorf("spill %v: c = %q", spill, got)
		}
		list, err := m.ListBucket("b", nil, gofakes3.ListBucketPage{})
		if err != nil {
			t.Fatal(err)
		}
		var keys []string
		for _, c := range list.Contents {
			keys = append(keys, c.Key+":"+strings.Repeat("x", int(c.Size)))
		}
		if got := strings.Join(keys, " "); got != "a:"+strings.Repeat("x", 18)+" b:xxxxxx c:" {
			t.Errorf("spill %v: listing %q", spill, got)
		}
		if _, err := m.DeleteObject("b", "a"); err != nil {
			t.Fatal(err)
		}
		if _, err := m.HeadObject("b", "a"); !gofakes3.HasErrorCode(err, gofakes3.ErrNoSuchKey) {
			t.Errorf("spill %v: head after delete: %v", spill, err)
		}
		if got := get("b", nil); got != "second" {
			t.Errorf("spill %v: b = %q", spill, got)
		}
		if err := m.Close(); err != nil {
			t.Fatal(err)
		}
	}
}
