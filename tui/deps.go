package tui

import (
	"context"
	"io"
	"time"

	"github.com/stowage-cli/stowage/awsclient"
	"github.com/stowage-cli/stowage/internal/config"
	"github.com/stowage-cli/stowage/internal/inventory"
	"github.com/stowage-cli/stowage/internal/trace"
	"github.com/stowage-cli/stowage/redrive"
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
	// Account is the AWS account ID shown beside the profile (as 1234-5678-9012), "" when
	// unknown; Identity fills it when it is not given.
	Account string
	// Identity returns the caller's ARN, asked once in the background to fill Account;
	// nil skips it. A redrive asks it again for the audit log's "who".
	Identity func(ctx context.Context) (string, error)
	// AccountID returns the account ID from the same cached STS call as Identity
	// (awsclient.Clients.Account), "" on a local stack; nil: it is read from Identity's ARN.
	AccountID func(ctx context.Context) (string, error)
	// Redrive is what R plans and sends with; a zero Redrive (no Run.Objects) disables R.
	Redrive RedriveDeps
	// Operator names who redrives in the audit log when that is known without asking STS
	// ("demo" on the demo stack); "" asks Identity.
	Operator string
	// Logs finds the request's log lines for the timeline tab (awsclient.Clients.Logs);
	// nil when the environment has no logs: section.
	Logs trace.Logs
	// Arrivals dates rows by their original arrival where a redrive in place stored them
	// again (status.received_attr, the redrive history); nil: by LastModified.
	Arrivals *inventory.Arrivals
}

// RedriveDeps are the engine's dependencies in one environment: redrive.PlanDepsFor and
// redrive.DepsFor build them from its clients. Plan.Source may be left zero: the plan then
// reads through the session's own stores.
type RedriveDeps struct {
	Plan redrive.PlanDeps
	Run  redrive.Deps
	// Batch is what the batch-ops engine calls (redrive.BatchDepsFor); a nil Batch.Jobs,
	// or an environment without batch_ops, leaves the engine out of the dialog.
	Batch redrive.BatchDeps
}

func (d RedriveDeps) enabled() bool { return d.Run.Objects != nil && d.Run.Status != nil }

// RedriveOptions tune the redrives started from the TUI. The zero value is what the CLI
// does by default.
type RedriveOptions struct {
	// Run tunes the engine (retries, backoff, jitter source, progress interval). The
	// journal path, force, read-only and the idempotency headers are set by the TUI and
	// the environment; whatever is set here for them is ignored.
	Run redrive.Options
	// RunID names each planned run; a new UUID when nil (tests fix it).
	RunID func() string
	// WatchTimeout is how long the redriven requests' statuses are watched after a run
	// (2m when 0); WatchInterval is the first wait between reads (1s when 0), growing
	// to WatchMaxInterval (10s when 0).
	WatchTimeout     time.Duration
	WatchInterval    time.Duration
	WatchMaxInterval time.Duration
	// BatchPoll is how often a batch-ops job is described while it prepares and runs
	// (redrive's 2s when 0).
	BatchPoll time.Duration
	// CommandPrefix is how the resume and retry hints run stowage again, up to the
	// environment ("stowage --config /path/config.yaml"), already shell-quoted; "stowage"
	// when "". The hints add --env with the environment open at the time, since e
	// switches it.
	CommandPrefix string
}

// Options configure a Model.
type Options struct {
	Session
	// Context bounds every call the TUI makes; cancel it to stop them.
	Context context.Context
	// EnvNames are the environments e can switch to, in display order.
	EnvNames []string
	// EnvBadges marks the environments of EnvNames that are production or read-only, for
	// the e picker; a name it does not hold is shown plain.
	EnvBadges map[string]EnvBadge
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
	// Redrive tunes R's runs.
	Redrive RedriveOptions
	// Refresh overrides the environment's auto-refresh interval (refresh, 5s by default);
	// negative turns the auto-refresh off (tests that drive the model step by step).
	Refresh time.Duration
}

// EnvBadge is how an environment is marked in the e picker.
type EnvBadge struct {
	Production bool // red, as in the header
	ReadOnly   bool
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
	r := &o.Redrive
	if r.WatchTimeout <= 0 {
		r.WatchTimeout = 2 * time.Minute
	}
	if r.WatchInterval <= 0 {
		r.WatchInterval = time.Second
	}
	if r.WatchMaxInterval <= 0 {
		r.WatchMaxInterval = 10 * time.Second
	}
	r.WatchMaxInterval = max(r.WatchMaxInterval, r.WatchInterval)
}
