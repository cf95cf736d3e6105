package tui

import (
	"context"
	"strconv"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/stowage-cli/stowage/awsclient"
	"github.com/stowage-cli/stowage/internal/inventory"
)

// The bucket listing streams in the background through inventory.List, the listing `ls`
// uses: inventory.DefaultParallel key ranges listed at once when the store can list from a
// key onward (hex-prefix bounds for UUID keys; the ranges still cover every other key), one
// stream otherwise. A goroutine started by a command feeds a channel; each listChunkMsg
// carries what arrived since the last, and asks for the next. Quitting, a refresh and an
// environment switch cancel it.

// listChunk is what the listing goroutine hands over: objects, or its end.
type listChunk struct {
	objs []awsclient.Object
	err  error
	done bool
}

// listChunkMsg is every chunk that was waiting when the command read the channel.
type listChunkMsg struct {
	gen, seq int
	objs     []awsclient.Object
	err      error
	done     bool
}

// listStream is the listing running in the background.
type listStream struct {
	ch     <-chan listChunk
	cancel context.CancelFunc
	shards int // key ranges listed at once (1: one stream)
}

// stop cancels the listing, if one runs.
func (s *listStream) stop() {
	if s != nil && s.cancel != nil {
		s.cancel()
	}
}

// listChunkRows bounds how many objects one message carries, so that one Update never
// absorbs more than a few milliseconds of work.
const listChunkRows = 5000

// startListing lists the bucket in the background; rows join the table as they arrive.
// After an error it lists again from the start: rows already listed stay (Add skips them).
func (m *Model) startListing() tea.Cmd {
	if m.sess.Objects == nil || m.list.loading || m.list.done {
		return nil
	}
	m.list.stream.stop()
	m.list.seq++
	m.list.loading = true
	m.list.err = nil
	ctx, cancel := context.WithCancel(m.ctx)
	objs := listObjectsOf(m.sess.Objects, m.opts.CallTimeout)
	shards := 1
	if inventory.CanShard(objs) {
		shards = inventory.DefaultParallel
	}
	ch := make(chan listChunk, 64)
	m.list.stream = &listStream{ch: ch, cancel: cancel, shards: shards}
	src := inventory.Source{Objects: objs, Statuses: noStatuses{}, Prefix: m.prefix()}
	opts := inventory.Options{Parallel: shards, PageSize: m.opts.PageSize}
	gen, seq := m.gen, m.list.seq
	return func() tea.Msg {
		go produceListing(ctx, src, opts, ch)
		return nextListChunk(gen, seq, ch)
	}
}

// produceListing runs the listing and closes ch once it has said how it ended.
func produceListing(ctx context.Context, src inventory.Source, opts inventory.Options, ch chan<- listChunk) {
	defer close(ch)
	send := func(c listChunk) error {
		select {
		case ch <- c:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	err := inventory.List(ctx, src, opts, func(rows []inventory.Row) error {
		objs := make([]awsclient.Object, len(rows))
		for i := range rows {
			objs[i] = rows[i].Object
		}
		return send(listChunk{objs: objs})
	})
	if ctx.Err() != nil {
		return // cancelled: nobody reads any more
	}
	_ = send(listChunk{err: err, done: true})
}

// nextListChunk waits for the next chunk and takes whatever else is already waiting.
func nextListChunk(gen, seq int, ch <-chan listChunk) tea.Msg {
	msg := listChunkMsg{gen: gen, seq: seq}
	c, ok := <-ch
	for {
		if !ok {
			// Closed without an end: cancelled.
			msg.done, msg.err = true, context.Canceled
			return msg
		}
		msg.objs = append(msg.objs, c.objs...)
		if c.done {
			msg.done, msg.err = true, c.err
			return msg
		}
		if len(msg.objs) >= listChunkRows {
			return msg
		}
		select {
		case c, ok = <-ch:
		default:
			return msg
		}
	}
}

func (m *Model) waitListChunk() tea.Cmd {
	s := m.list.stream
	if s == nil {
		return nil
	}
	gen, seq, ch := m.gen, m.list.seq, s.ch
	return func() tea.Msg { return nextListChunk(gen, seq, ch) }
}

// noStatuses is the status table of the TUI's listing: none. The listing brings objects
// only; statuses are read for the rows on screen (joinVisible), not for every row.
type noStatuses struct{}

func (noStatuses) BatchGet(context.Context, []string) (map[string]awsclient.Status, error) {
	return nil, nil
}

func (noStatuses) ListByStatus(context.Context, string, string, int32) (awsclient.StatusPage, error) {
	return awsclient.StatusPage{}, nil
}

// listObjectsOf bounds each listing call of objs by timeout, and keeps its ability to list
// from a key onward (which sharding needs).
func listObjectsOf(objs ObjectStore, timeout time.Duration) inventory.Objects {
	t := timedObjects{objs: objs, timeout: timeout}
	if rl, ok := objs.(inventory.RangeLister); ok {
		return timedRangeObjects{timedObjects: t, rl: rl}
	}
	return t
}

type timedObjects struct {
	objs    ObjectStore
	timeout time.Duration
}

func (t timedObjects) ListPage(ctx context.Context, prefix, token string, max int32) (awsclient.Page, error) {
	ctx, cancel := context.WithTimeout(ctx, t.timeout)
	defer cancel()
	return t.objs.ListPage(ctx, prefix, token, max)
}

func (t timedObjects) Head(ctx context.Context, key string) (awsclient.Object, error) {
	ctx, cancel := context.WithTimeout(ctx, t.timeout)
	defer cancel()
	return t.objs.Head(ctx, key)
}

type timedRangeObjects struct {
	timedObjects
	rl inventory.RangeLister
}

func (t timedRangeObjects) ListPageAfter(ctx context.Context, prefix, after, token string, max int32) (awsclient.Page, error) {
	ctx, cancel := context.WithTimeout(ctx, t.timeout)
	defer cancel()
	return t.rl.ListPageAfter(ctx, prefix, after, token, max)
}

// listedShare estimates how far through the key space an in-order listing is, from the
// last key listed: the two hex digits after the prefix, as the shards split it. ok is
// false for a key that does not start with them.
func listedShare(prefix, last string) (share float64, ok bool) {
	if len(last) < len(prefix)+2 || last[:len(prefix)] != prefix {
		return 0, false
	}
	hi, ok1 := hexDigit(last[len(prefix)])
	lo, ok2 := hexDigit(last[len(prefix)+1])
	if !ok1 || !ok2 {
		return 0, false
	}
	return float64(hi<<4|lo) / 256, true
}

func hexDigit(c byte) (int, bool) {
	switch {
	case c >= '0' && c <= '9':
		return int(c - '0'), true
	case c >= 'a' && c <= 'f':
		return int(c-'a') + 10, true
	}
	return 0, false
}

// listingProgress is the footer's word on a listing under way: how many objects so far,
// how many key ranges at once, and how far through the key space when the keys are
// UUIDs (the ranges are concatenated in key order).
func (m *Model) listingProgress() string {
	text := "listing: " + commas(m.all.Len()) + " objects"
	if s := m.list.stream; s != nil && s.shards > 1 {
		text += " · " + strconv.Itoa(s.shards) + " key ranges at once"
	}
	if share, ok := listedShare(m.prefix(), m.list.last); ok {
		text += " · ~" + strconv.Itoa(int(share*100)) + "% of the key space"
	}
	return text + "…"
}
