package tui

import (
	"context"
	"io"
	"time"

	"github.com/stowage-cli/stowage/awsclient"
	"github.com/stowage-cli/stowage/internal/config"
)

// ObjectStore is what the TUI reads from the bucket. *awsclient.ObjectStore implements it.
type ObjectStore interface {
	ListPage(ctx context.Context, prefix, token string, max int32) (awsclient.Page, error)
	Head(ctx context.Context, key string) (awsclient.Object, error)
	GetRange(ctx context.Context, key string, offset, length int64) ([]byte, awsclient.Object, error)
	Get(ctx context.Context, key string, pin awsclient.Pin) (io.ReadCloser, awsclient.Object, error)
}

// StatusStore is what the TUI reads from the status table. *awsclient.StatusStore
// implements it.
type StatusStore interface {
	Get(ctx context.Context, requestID string) (awsclient.Status, bool, error)
	BatchGet(ctx context.Context, requestIDs []string) (map[string]awsclient.Status, error)
	ListByStatus(ctx context.Context, state, token string, max int32) (awsclient.StatusPage, error)
}

// Session is one opened environment: its configuration and its clients.
type Session struct {
	Env      *config.Env
	Objects  ObjectStore
	Statuses StatusStore
	// Account is the AWS account or caller shown beside the profile, "" when unknown.
	Account string
	// Identity returns the caller's ARN, asked once in the background to fill Account;
	// nil skips it.
	Identity func(ctx context.Context) (string, error)
}

// Options configure a Model.
type Options struct {
	Session
	// Context bounds every call the TUI makes; cancel it to stop them.
	Context context.Context
	// EnvNames are the environments e can switch to, in display order.
	EnvNames []string
	// OpenEnv opens another environment; nil disables e.
	OpenEnv func(ctx context.Context, name string) (Session, error)
	// Now is the clock for "received 3m ago" and LOST ages; time.Now when nil. View never
	// reads the wall clock itself: Update stores Now() in the model on every tick.
	Now func() time.Time
	// PreviewBytes is how much of a payload the preview fetches at first and per
	// "load more"; 1 MiB when 0.
	PreviewBytes int64
	// PageSize is the listing page size; 1000 when 0.
	PageSize int32
	// CallTimeout bounds every AWS call; 30s when 0.
	CallTimeout time.Duration
	// Dark fixes the background instead of asking the terminal (tests, NO_COLOR setups).
	Dark *bool
	// TempDir is where payloads opened in $PAGER/$EDITOR are written; os.TempDir when "".
	TempDir string
	// Getenv reads $PAGER and $EDITOR; os.Getenv when nil.
	Getenv func(string) string
	// PreviewDelay is how long the selection must rest before the preview pane loads it;
	// 120ms when 0, none when negative.
	PreviewDelay time.Duration
	// ClockTick is how often the clock is read again so "3m ago" stays true while
	// nothing else happens; 15s when 0, never when negative (tests).
	ClockTick time.Duration
}

func (o *Options) defaults() {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.PreviewBytes <= 0 {
		o.PreviewBytes = 1 << 20
	}
	if o.PageSize <= 0 {
		o.PageSize = 1000
	}
	if o.CallTimeout <= 0 {
		o.CallTimeout = 30 * time.Second
	}
	if o.ClockTick == 0 {
		o.ClockTick = 15 * time.Second
	}
	if o.PreviewDelay == 0 {
		o.PreviewDelay = 120 * time.Millisecond
	}
}
