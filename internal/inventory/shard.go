package inventory

import (
	"context"
	"fmt"
	"sync"

	"github.com/stowage-cli/stowage/awsclient"
)

// listObjects streams every object under prefix to fn, page by page, in key order. With
// parallel > 1 and an Objects that can list from a key onward, the key space is split
// into contiguous ranges listed concurrently and concatenated in order.
func listObjects(ctx context.Context, objs Objects, prefix string, parallel int, pageSize int32, fn func([]awsclient.Object) error) error {
	if rl, ok := objs.(RangeLister); ok && parallel > 1 {
		return listSharded(ctx, rl, prefix, parallel, pageSize, fn)
	}
	token := ""
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		page, err := objs.ListPage(ctx, prefix, token, pageSize)
		if err != nil {
			return err
		}
		if len(page.Objects) > 0 {
			if err := fn(page.Objects); err != nil {
				return err
			}
		}
		if page.NextToken == "" {
			return nil
		}
		if page.NextToken == token {
			return stalled(prefix)
		}
		token = page.NextToken
	}
}

// CanShard reports whether objs supports sharded listing (--parallel).
func CanShard(objs Objects) bool {
	_, ok := objs.(RangeLister)
	return ok
}

func stalled(prefix string) error {
	return &awsclient.Error{Kind: awsclient.KindServer, Op: "list", Resource: prefix,
		Message: "the listing did not advance", Remedy: "the S3 endpoint returned the same continuation token twice; retry later"}
}

// shardBounds splits the key space under prefix into n contiguous ranges. Request IDs are
// UUIDs, so the bounds are spread evenly over the first two hex digits: bound i is
// prefix + hex(i*256/n). Range 0 is every key ≤ bound 1 (it also catches keys below "0"),
// range i is bound i < key ≤ bound i+1, and the last range is every key > its bound (it
// also catches keys above "f", e.g. upper case or unicode). Together they cover every key
// exactly once, hex or not.
func shardBounds(prefix string, n int) []string {
	if n < 2 {
		return nil
	}
	if n > 256 {
		n = 256
	}
	bounds := make([]string, 0, n-1)
	for i := 1; i < n; i++ {
		bounds = append(bounds, prefix+fmt.Sprintf("%02x", i*256/n))
	}
	return bounds
}

// shardPages is how many pages the shards may hold ahead of the one being written out.
// The ranges are concatenated in order, so a later shard buffers while an earlier one
// finishes; 256 pages of 1000 keys is a few tens of MiB.
const shardPages = 256

// listSharded lists the ranges of shardBounds concurrently and hands their pages to fn in
// key order.
func listSharded(ctx context.Context, rl RangeLister, prefix string, n int, pageSize int32, fn func([]awsclient.Object) error) error {
	bounds := shardBounds(prefix, n)
	n = len(bounds) + 1
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	// No shard goroutine outlives the call, whatever way it returns.
	defer func() { cancel(); wg.Wait() }()

	type shard struct {
		pages chan []awsclient.Object
		err   error // set before pages is closed
	}
	shards := make([]*shard, n)
	buf := max(4, shardPages/n)
	for i := range shards {
		sh := &shard{pages: make(chan []awsclient.Object, buf)}
		shards[i] = sh
		after, upTo := "", ""
		if i > 0 {
			after = bounds[i-1]
		}
		if i < n-1 {
			upTo = bounds[i]
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer close(sh.pages)
			sh.err = listRange(ctx, rl, prefix, after, upTo, pageSize, sh.pages)
		}()
	}

	for _, sh := range shards {
		for objs := range sh.pages {
			if err := fn(objs); err != nil {
				return err
			}
		}
		if sh.err != nil {
			return sh.err
		}
	}
	return nil
}

// listRange lists the keys k under prefix with after < k ≤ upTo ("" after: from the
// start; "" upTo: to the end) and sends non-empty pages to out.
func listRange(ctx context.Context, rl RangeLister, prefix, after, upTo string, pageSize int32, out chan<- []awsclient.Object) error {
	token := ""
	for {
		page, err := rl.ListPageAfter(ctx, prefix, after, token, pageSize)
		if err != nil {
			return err
		}
		objs := page.Objects
		done := page.NextToken == ""
		if upTo != "" {
			for i, o := range objs {
				if o.Key > upTo {
					objs, done = objs[:i], true
					break
				}
			}
		}
		if len(objs) > 0 {
			select {
			case out <- objs:
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		if done {
			return nil
		}
		if page.NextToken == token {
			return stalled(prefix)
		}
		token = page.NextToken
	}
}
