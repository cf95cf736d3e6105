package inventory

import (
	"context"

	"github.com/stowage-cli/stowage/awsclient"
)

// Objects is what a listing needs from S3 (awsclient.ObjectStore).
type Objects interface {
	ListPage(ctx context.Context, prefix, continuation string, max int32) (awsclient.Page, error)
	Head(ctx context.Context, key string) (awsclient.Object, error)
}

// RangeLister lists from a key onward (ListObjectsV2 StartAfter). Sharded listing needs
// it: the shards are contiguous key ranges, so that keys that do not start with a hex
// digit are listed too.
type RangeLister interface {
	ListPageAfter(ctx context.Context, prefix, startAfter, continuation string, max int32) (awsclient.Page, error)
}

// Statuses is what a listing needs from the status table (awsclient.StatusStore).
type Statuses interface {
	// BatchGet returns the items of ids that exist, by request ID.
	BatchGet(ctx context.Context, ids []string) (map[string]awsclient.Status, error)
	// ListByStatus reads one page of the items in state (next: the previous page's
	// NextToken), through the status index when one is configured (newest first) and a
	// filtered Scan otherwise. A page may be empty and still have a NextToken.
	ListByStatus(ctx context.Context, state, next string, limit int32) (awsclient.StatusPage, error)
}

// IDScanner reads every request ID of the table with a parallel Scan projecting only the
// key (awsclient.StatusStore). fn is never called concurrently.
type IDScanner interface {
	ScanIDs(ctx context.Context, segments int, fn func(ids []string) error) error
}

// TableSize is DynamoDB's approximate size of the table (refreshed about every six hours).
type TableSize struct {
	Items int64
	Bytes int64 // 0: unknown; an average of assumedItemBytes per item is assumed
}

// Source is one environment's bucket and status table.
type Source struct {
	Objects  Objects
	Statuses Statuses
	// Prefix is the environment's key prefix (storage.prefix); listings stay under it.
	Prefix string
	// Key maps a request ID to its object key; nil means the ID is the key.
	Key func(id string) string

	// Scanner and Size are optional; with both, Lost may scan the table instead of
	// looking up each candidate (see Lost).
	Scanner IDScanner
	Size    func(ctx context.Context) (TableSize, error)
}

func (s Source) key(id string) string {
	if s.Key == nil {
		return id
	}
	return s.Key(id)
}

// awsclient implements what inventory consumes.
var (
	_ Objects   = (*awsclient.ObjectStore)(nil)
	_ Statuses  = (*awsclient.StatusStore)(nil)
	_ IDScanner = (*awsclient.StatusStore)(nil)
)
