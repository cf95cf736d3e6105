package redrive

import (
	"context"
	"time"

	"github.com/stowage-cli/stowage/awsclient"
)

// NotRefiredReason is the failure of an s3-copy whose copy changed nothing S3 fires on.
const NotRefiredReason = "not re-fired (the copy did not change LastModified or the version, so S3 sent no event)"

// maxSecondWait bounds the wait for the next second before a copy; LastModified has one
// second's resolution, and a planned object is at most that young.
const maxSecondWait = 2 * time.Second

// secondMargin allows for a little skew between this clock and the server's.
const secondMargin = 50 * time.Millisecond

// waitNextSecond waits, before a copy, until the clock has left the second of the
// planned LastModified: a real copy made in that same second would show the same
// LastModified and be judged not re-fired. ok is false when ctx ended.
func (r *Run) waitNextSecond(ctx context.Context, it Item) bool {
	if it.LastModified.IsZero() {
		return true
	}
	next := it.LastModified.Truncate(time.Second).Add(time.Second + secondMargin)
	return sleepCtx(ctx, min(next.Sub(r.now()), maxSecondWait))
}

// copyTookEffect reports whether an in-place copy wrote a new object: a new version, or a
// LastModified in a later second than planned. Some servers (versitygw) copy in place
// without either, and fire no event.
func copyTookEffect(it Item, obj awsclient.Object) bool {
	if obj.VersionID != "" && obj.VersionID != it.VersionID {
		return true
	}
	return obj.LastModified.Truncate(time.Second).After(it.LastModified.Truncate(time.Second))
}
