// Package devstack runs a whole storage-first stack in process, on loopback, in pure Go:
// an S3 server (gofakes3), a DynamoDB status table and a redrive lease table served
// through the DynamoDB JSON protocol, an API Gateway emulator and the processor that an S3 event would trigger,
// seeded with a week of realistic requests. It backs `stowage demo` and is the fixture of
// the TUI, redrive and benchmark tests. It starts no external program and listens on
// loopback only. It must not import tui, redrive or the CLI.
package devstack

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3bolt"
	bolt "go.etcd.io/bbolt"
	"gopkg.in/yaml.v3"

	"github.com/stowage-cli/stowage/internal/atomicfile"
	"github.com/stowage-cli/stowage/internal/config"
	"github.com/stowage-cli/stowage/internal/sanitize"
)

// Names and credentials of the demo stack. Its servers accept any credentials; these are
// what the demo prints and what plain AWS clients are told to use.
const (
	DefaultBucket = "stowage-demo-requests"
	DefaultTable  = "stowage-demo-status"
	DefaultIndex  = "status-updatedAt-index"
	// DefaultLeaseTable is where redrive runs claim requests (key requestId, S).
	DefaultLeaseTable = "stowage-demo-leases"
	Region            = "us-east-1"
	AccessKey         = "STOWAGEDEMOACCESSKEY"
	SecretKey         = "stowage-demo-secret-key-accepts-anything"
	EnvName           = "demo"
)

// Defaults of Options.
const (
	DefaultRequests       = 500
	DefaultLostRatio      = 0.03
	DefaultTransientRatio = 0.06
)

// Options configure Start. The zero value is a seeded demo stack on ephemeral ports.
type Options struct {
	// Addr is the S3 listener's loopback address (default 127.0.0.1:0). With a fixed port
	// P the gateway listens on P+1 and DynamoDB on P+2; with port 0 all three are ephemeral.
	Addr string
	// DataDir keeps the objects (bolt) and the status table across restarts; "" keeps
	// everything in memory.
	DataDir string
	// Seed makes the seeded requests, keys, bytes and processor decisions reproducible.
	Seed int64
	// Requests is how many requests to seed (default 500), the partner's burst and the
	// flash-sale hour included (from 100 requests); negative seeds none. A stack
	// whose DataDir already holds objects is not seeded again.
	Requests int
	// LostRatio is the share of first deliveries that never get a status item, as if the
	// processor had crashed (default 0.03; negative for none).
	LostRatio float64
	// TransientRatio is the share of first deliveries that fail with a transient error
	// (the trickle of inventory-service timeouts and throttling) and succeed when redriven
	// (default 0.06; negative for none). Besides it, every delivery that parses fails with
	// a transient pricing-service 503 during the seeded outage hour (SeededOutage) or a
	// live outage (SetOutage, Live); a negative ratio also removes the seeded outage.
	TransientRatio float64
	// Gateway sets the gateway's fault knobs; SetGatewayFaults changes them later.
	Gateway GatewayFaults
	// ProcessDelay is how long the processor takes per live event (default none).
	ProcessDelay time.Duration
	// Now is the time source (default time.Now); seeded requests spread over the week
	// before it.
	Now func() time.Time
	// Logger receives one line per gateway request and processed event (default discard).
	Logger io.Writer
	// Bucket, Table, Index and LeaseTable name the resources (defaults DefaultBucket,
	// DefaultTable, DefaultIndex, DefaultLeaseTable).
	Bucket, Table, Index, LeaseTable string
	// APIKey is the gateway's key (default derived from Seed).
	APIKey string
	// Trigger is how an ObjectCreated event reaches the processor: "" or "s3" (a direct
	// S3 notification), "sqs", "lambda" or "eventbridge" (events_stack.go).
	Trigger string

	// spillBodies keeps the bodies in a temporary file even for a small seed (tests).
	spillBodies bool
}

// spillFrom is the seed size from which a stack without DataDir keeps the bodies in a
// temporary file rather than in memory (about 650 bytes each).
const spillFrom = 20000

// Stack is a running devstack. Its fields are read-only.
type Stack struct {
	S3URL       string // http://127.0.0.1:port
	DynamoDBURL string
	GatewayURL  string // includes the stage: http://127.0.0.1:port/demo
	Region      string
	Bucket      string
	Table       string
	Index       string // the status GSI: hash status, range updatedAt
	LeaseTable  string // redrive claims: hash requestId
	// The extra services (extras.go); "" when the stack does not serve them.
	SQSURL, LambdaURL, EventBridgeURL, LogsURL, S3ControlURL string
	AccessKey                                                string
	SecretKey                                                string
	APIKey                                                   string

	opts    Options
	clock   *clock
	backend *s3Backend
	db      *bolt.DB
	mem     *memStore // without DataDir
	table   *statusTable
	leases  *statusTable
	dynamo  *dynamoServer
	s3      *s3Handler
	proc    *processor
	gw      *gateway
	servers []*http.Server
	conns   connTracker
	seeded  seededList

	procStarted bool
	stopSaver   chan struct{} // closed to stop saveTable
	saverDone   chan struct{}
	logMu       sync.Mutex

	// cwl is the CloudWatch Logs emulator (logs_stack.go), made on first use.
	cwl *cwLogs
	// onClose runs after the listeners stop and before the processor drains (extras).
	onClose []func()

	closeOnce sync.Once
	closeErr  error
}

// Start builds, seeds and starts a stack. It returns once every listener accepts
// connections; Close stops it.
func Start(ctx context.Context, opts Options) (st *Stack, err error) {
	if opts.Addr == "" {
		opts.Addr = "127.0.0.1:0"
	}
	if opts.Requests == 0 {
		opts.Requests = DefaultRequests
	}
	opts.LostRatio = ratio(opts.LostRatio, DefaultLostRatio)
	opts.TransientRatio = ratio(opts.TransientRatio, DefaultTransientRatio)
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = io.Discard
	}
	if opts.Bucket == "" {
		opts.Bucket = DefaultBucket
	}
	if opts.Table == "" {
		opts.Table = DefaultTable
	}
	if opts.Index == "" {
		opts.Index = DefaultIndex
	}
	if opts.LeaseTable == "" {
		opts.LeaseTable = DefaultLeaseTable
	}
	if opts.APIKey == "" {
		sum := sha256.Sum256([]byte("stowage-demo-api-key/" + strconv.FormatInt(opts.Seed, 10)))
		opts.APIKey = "demo-" + hex.EncodeToString(sum[:12])
	}
	host, port, err := loopbackAddr(opts.Addr)
	if err != nil {
		return nil, err
	}
	if err := CheckTrigger(opts.Trigger); err != nil {
		return nil, err
	}

	s := &Stack{
		Region: Region, Bucket: opts.Bucket, Table: opts.Table, Index: opts.Index, LeaseTable: opts.LeaseTable,
		AccessKey: AccessKey, SecretKey: SecretKey, APIKey: opts.APIKey,
		opts: opts, clock: &clock{now: opts.Now},
	}
	defer func() {
		if err != nil {
			s.Close()
			s = nil
		}
	}()

	var inner gofakes3.Backend
	if opts.DataDir != "" {
		if err := os.MkdirAll(opts.DataDir, 0o700); err != nil {
			return nil, fmt.Errorf("devstack: data directory: %w", err)
		}
		path := filepath.Join(opts.DataDir, "objects.bolt")
		s.db, err = bolt.Open(path, 0o600, &bolt.Options{Timeout: time.Second})
		if err != nil {
			return nil, fmt.Errorf("devstack: open %s: %w (is another stowage demo using --data %s?)", path, err, opts.DataDir)
		}
		inner = s3bolt.New(s.db, s3bolt.WithTimeSource(s.clock))
	} else {
		s.mem = newMemStore(s.clock, opts.spillBodies || opts.Requests >= spillFrom)
		inner = s.mem
	}
	s.backend = &s3Backend{Backend: inner, clock: s.clock}
	if err := inner.CreateBucket(opts.Bucket); err != nil && !gofakes3.HasErrorCode(err, gofakes3.ErrBucketAlreadyExists) {
		return nil, fmt.Errorf("devstack: create bucket: %w", err)
	}

	s.table = newStatusTable(tableSchema{Name: opts.Table, KeyAttr: attrKey, IndexName: opts.Index,
		IndexHash: attrStatus, IndexSort: attrUpdatedAt, Region: Region}, opts.Now())
	s.leases = newStatusTable(tableSchema{Name: opts.LeaseTable, KeyAttr: attrKey, Region: Region}, opts.Now())
	if opts.DataDir != "" {
		s.table.persist, s.leases.persist = true, true
		if err := s.table.load(s.tableFiles()); err != nil {
			return nil, fmt.Errorf("devstack: %w", err)
		}
		if err := s.leases.load(s.leaseFiles()); err != nil {
			return nil, fmt.Errorf("devstack: %w", err)
		}
	}
	s.dynamo = &dynamoServer{table: s.table, more: []*statusTable{s.leases}}
	s.proc = newProcessor(&processor{
		table: s.table, store: s.backend, bucket: opts.Bucket, seed: opts.Seed,
		lost: opts.LostRatio, transient: opts.TransientRatio, delay: opts.ProcessDelay,
		now: s.clock.Now, log: s.logf,
	})
	s.gw = newGateway(opts.Bucket, opts.APIKey, opts.Seed, opts.Gateway, s.storeRequest, s.logf)
	sink := s.logSink()
	s.proc.logs, s.gw.access = sink, sink

	if opts.Requests > 0 {
		empty, err := s.bucketEmpty()
		if err != nil {
			return nil, err
		}
		if empty {
			if err := s.seedStore(ctx, opts.Requests); err != nil {
				return nil, err
			}
		}
	}
	if len(s.seeded.recs) > 0 {
		// The seeded week's log lines are derived from the records (seeded_logs.go); their
		// indexes are sorted in the background, or by the first read that needs them.
		l := s.logs()
		l.seeded = newSeededLogs(&s.seeded, s.proc, opts.Bucket)
		go l.seeded.index()
	}
	s.backend.onCreate = s.trigger()
	go s.proc.run()
	s.procStarted = true
	if opts.DataDir != "" {
		s.saverDone = make(chan struct{})
		s.stopSaver = make(chan struct{})
		go s.saveTable()
	}

	// Listen on all of them before serving any, so a failure leaves nothing half started.
	aux := s.auxServices()
	ports := make([]int, 3+len(aux))
	if port != 0 {
		for i := range ports {
			ports[i] = port + i
		}
	}
	var lns []net.Listener
	for _, p := range ports {
		ln, err := net.Listen("tcp", net.JoinHostPort(host, strconv.Itoa(p)))
		if err != nil {
			for _, l := range lns {
				l.Close()
			}
			return nil, fmt.Errorf("devstack: listen: %w; pick another --addr port", err)
		}
		lns = append(lns, ln)
	}
	fake := gofakes3.New(s.backend,
		gofakes3.WithTimeSource(s.clock),
		gofakes3.WithTimeSkewLimit(0), // the clock may be a test's fixed time
		gofakes3.WithoutVersioning(),
		gofakes3.WithLogger(gofakes3.DiscardLog()),
	)
	s.s3 = &s3Handler{next: fake.Server(), backend: s.backend}
	handlers := []http.Handler{
		s.s3,
		s.gw,
		s.dynamo,
	}
	urls := []*string{&s.S3URL, &s.GatewayURL, &s.DynamoDBURL}
	for _, a := range aux {
		handlers = append(handlers, a.handler)
		urls = append(urls, a.url)
	}
	for i, ln := range lns {
		srv := &http.Server{Handler: handlers[i], ReadHeaderTimeout: 10 * time.Second, ConnState: s.conns.track}
		s.servers = append(s.servers, srv)
		*urls[i] = "http://" + ln.Addr().String()
		go srv.Serve(ln)
	}
	s.GatewayURL += GatewayStage
	return s, ctx.Err()
}

func ratio(v, def float64) float64 {
	switch {
	case v == 0:
		return def
	case v < 0:
		return 0
	}
	return min(v, 1)
}

// loopbackAddr checks that addr is a loopback host and a port.
func loopbackAddr(addr string) (string, int, error) {
	host, portText, err := net.SplitHostPort(addr)
	if err != nil {
		return "", 0, fmt.Errorf("devstack: address %q: %w; expected host:port such as 127.0.0.1:0", addr, err)
	}
	ip := net.ParseIP(host)
	if host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return "", 0, fmt.Errorf("devstack: address %q is not loopback; the demo stack listens on 127.0.0.1 or ::1 only", addr)
	}
	if host == "localhost" {
		host = "127.0.0.1"
	}
	port, err := strconv.Atoi(portText)
	if err != nil || port < 0 || port > 65533 {
		return "", 0, fmt.Errorf("devstack: address %q: bad port; expected 0 (any) or 1-65533", addr)
	}
	return host, port, nil
}

// saveTable writes the status table to DataDir every few seconds while it changes, so a
// demo killed without Close loses at most that much.
func (s *Stack) saveTable() {
	defer close(s.saverDone)
	t := time.NewTicker(2 * time.Second)
	defer t.Stop()
	for {
		select {
		case <-s.stopSaver:
			return
		case <-t.C:
			if s.table.dirty.Swap(false) {
				if err := s.table.save(s.tableFiles()); err != nil {
					s.logf("devstack: save status table: %v", err)
				}
			}
			if s.leases.dirty.Swap(false) {
				if err := s.leases.save(s.leaseFiles()); err != nil {
					s.logf("devstack: save lease table: %v", err)
				}
			}
		}
	}
}

func (s *Stack) tableFiles() tableFiles { return tableFiles{s.opts.DataDir, "status-table"} }
func (s *Stack) leaseFiles() tableFiles { return tableFiles{s.opts.DataDir, "lease-table"} }

// logf writes one log line. Its arguments are keys, paths and errors from outside and
// the log is usually a terminal (demo --verbose), so the whole line is sanitized here,
// once, and only the final newline is a real one.
func (s *Stack) logf(format string, args ...any) {
	line := sanitize.Line(fmt.Sprintf(format, args...)) + "\n"
	s.logMu.Lock()
	defer s.logMu.Unlock()
	io.WriteString(s.opts.Logger, line)
}

func (s *Stack) bucketEmpty() (bool, error) {
	list, err := s.backend.Backend.ListBucket(s.opts.Bucket, nil, gofakes3.ListBucketPage{MaxKeys: 1})
	if err != nil {
		return false, fmt.Errorf("devstack: list bucket: %w", err)
	}
	return len(list.Contents) == 0, nil
}

// storeRequest is the gateway's S3 integration: it stores body under key.
func (s *Stack) storeRequest(key string, body []byte, meta map[string]string) error {
	_, err := s.backend.PutObject(s.opts.Bucket, key, meta, bytes.NewReader(body), int64(len(body)), nil)
	return err
}

// seedStore seeds n requests. Into a DataDir it writes the objects without an fsync each
// (bolt would sync every put: 10k took 13 s instead of 2) and syncs once at the end. A
// machine crash while seeding may leave objects.bolt damaged; a crash there already
// left a half-seeded demo, and the remedy is the same: delete the --data directory.
// An interrupted seed (ctx) stops within a batch and says what it leaves behind.
func (s *Stack) seedStore(ctx context.Context, n int) error {
	err := s.seed(ctx, n)
	if s.db != nil {
		s.db.NoSync = false
	}
	if err != nil && ctx.Err() != nil {
		err = fmt.Errorf("devstack: seeding interrupted after %d of %d requests: %w", len(s.seeded.recs), n, ctx.Err())
		if s.opts.DataDir != "" {
			err = fmt.Errorf("%w; %s now holds a part of the seed: delete it before starting the demo on it again", err, s.opts.DataDir)
		}
	}
	if err != nil || s.db == nil {
		return err
	}
	if err := s.db.Sync(); err != nil {
		return fmt.Errorf("devstack: seed: sync %s: %w; check the disk of --data", s.db.Path(), err)
	}
	return nil
}

// Seeded lists the seeded requests in creation order (empty when the stack was not
// seeded, for example on restart with a DataDir).
func (s *Stack) Seeded() []SeedRequest { return s.seeded.list() }

// SeededCount is len(Seeded()) without building the list (136 MB for a million).
func (s *Stack) SeededCount() int { return len(s.seeded.recs) }

// StatusItem is the status the processor recorded for a request.
type StatusItem struct {
	State     string
	Error     string
	Attempts  int
	UpdatedAt time.Time
}

// LeaseItem is a redrive claim as stored in the lease table (see awsclient.LeaseStore).
type LeaseItem struct {
	RunID, Operator, Outcome string
	Sent                     bool
	// SentBy is the latest run that sent the request; "" when none did.
	SentBy string
}

// Lease reads the lease item of requestID straight from the lease table, so tests can
// see which run claimed a request and how it ended.
func (s *Stack) Lease(requestID string) (LeaseItem, bool) {
	it, ok := s.leases.get(requestID)
	if !ok {
		return LeaseItem{}, false
	}
	return LeaseItem{RunID: it["runId"].str, Operator: it["operator"].str, Outcome: it["outcome"].str,
		Sent: it["sent"].kind == "BOOL" && it["sent"].bool, SentBy: it["sentBy"].str}, true
}

// Status reads the status item of requestID straight from the table.
func (s *Stack) Status(requestID string) (StatusItem, bool) {
	it, ok := s.table.get(requestID)
	if !ok {
		return StatusItem{}, false
	}
	st := StatusItem{State: it[attrStatus].str, Error: it[attrError].str}
	st.Attempts, _ = strconv.Atoi(it[attrAttempts].str)
	st.UpdatedAt, _ = time.Parse(updatedAtLayout, it[attrUpdatedAt].str)
	return st, true
}

// Settle waits until the processor has handled every object created so far, including
// the events still on their way through the trigger (a queue, a bus).
func (s *Stack) Settle(ctx context.Context) error { return s.SettleEvents(ctx) }

// Received is a snapshot of what the gateway received.
func (s *Stack) Received() Received { return s.gw.received() }

// Writes counts the write requests each service of the stack received from clients,
// whatever their answer: a read-only run must leave every count unchanged. The seed and
// the processor's own writes are not counted.
type Writes struct {
	S3Puts    int64 // requests to S3 other than GET, HEAD, copies and deletes
	S3Copies  int64 // PUT with x-amz-copy-source
	S3Deletes int64
	DynamoDB  int64 // every DynamoDB operation but the reads (GetItem, BatchGetItem, Query, Scan, Describe*, List*)
	// GatewaySends are requests to the gateway other than GET and HEAD; GatewayDeliveries
	// are the bodies it stored (Received().Stored per key).
	GatewaySends      int64
	GatewayDeliveries int64
}

// Total is every write request received, deliveries aside (each is a send already).
func (w Writes) Total() int64 {
	return w.S3Puts + w.S3Copies + w.S3Deletes + w.DynamoDB + w.GatewaySends
}

// Writes is the stack's write counts so far; the one place tests read them.
func (s *Stack) Writes() Writes {
	w := Writes{
		S3Puts: s.s3.puts.Load(), S3Copies: s.s3.copies.Load(), S3Deletes: s.s3.deletes.Load(),
		DynamoDB: s.dynamo.writes.Load(),
	}
	w.GatewaySends, w.GatewayDeliveries = s.gw.writes()
	return w
}

// SetGatewayFaults changes the gateway's fault knobs.
func (s *Stack) SetGatewayFaults(f GatewayFaults) { s.gw.setFaults(f) }

// Close stops the listeners, lets the processor finish what was accepted, saves the
// status table when there is a DataDir and closes the store. It is safe to call twice.
func (s *Stack) Close() error {
	s.closeOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		var errs []error
		// A connection that never sent a request would hold Shutdown for 5 s.
		s.conns.closeUnused()
		for _, srv := range s.servers {
			if err := srv.Shutdown(ctx); err != nil {
				srv.Close()
			}
		}
		for _, f := range s.onClose {
			f()
		}
		if s.procStarted {
			s.proc.close()
		}
		if s.stopSaver != nil {
			close(s.stopSaver)
			<-s.saverDone
		}
		if s.opts.DataDir != "" && s.table != nil {
			if err := s.table.save(s.tableFiles()); err != nil {
				errs = append(errs, fmt.Errorf("devstack: save status table: %w", err))
			}
		}
		if s.opts.DataDir != "" && s.leases != nil {
			if err := s.leases.save(s.leaseFiles()); err != nil {
				errs = append(errs, fmt.Errorf("devstack: save lease table: %w", err))
			}
		}
		if s.mem != nil {
			if err := s.mem.Close(); err != nil {
				errs = append(errs, fmt.Errorf("devstack: close objects: %w", err))
			}
		}
		if s.db != nil {
			if err := s.db.Close(); err != nil {
				errs = append(errs, fmt.Errorf("devstack: close objects: %w", err))
			}
		}
		s.closeErr = errors.Join(errs...)
	})
	return s.closeErr
}

// Config is a complete stowage configuration whose environment "demo" (the default)
// points at this stack. The gateway's API key is in the file (gateway.api_key), so
// WriteConfig writes it with mode 0600.
func (s *Stack) Config() *config.File {
	env := &config.Env{
		Name:   EnvName,
		Region: Region,
		Endpoints: config.Endpoints{
			S3:       s.S3URL,
			DynamoDB: s.DynamoDBURL,
		},
		Storage: config.Storage{Bucket: s.Bucket},
		Status: config.Status{
			Table:          s.Table,
			KeyAttr:        attrKey,
			StatusAttr:     attrStatus,
			ErrorAttr:      attrError,
			AttemptsAttr:   attrAttempts,
			UpdatedAtAttr:  attrUpdatedAt,
			Index:          s.Index,
			TerminalStates: []string{StateProcessed},
			LostAfter:      config.Duration{Duration: 15 * time.Minute},
		},
		Gateway: config.Gateway{
			URL:    s.GatewayURL,
			Auth:   "api-key",
			APIKey: s.APIKey,
			Routes: config.Routes{Reupload: "PUT /product", Inplace: "PUT /product/{bucket}/{key}"},
		},
		LocalCredentials: &config.LocalCredentials{AccessKeyID: s.AccessKey, SecretAccessKey: s.SecretKey},
		Rate:             20,
		Color:            "#00aa88",
		Redrive:          config.Redrive{LeaseTable: s.LeaseTable, LeaseTTL: config.Duration{Duration: config.DefaultLeaseTTL}},
	}
	s.configExtras(env)
	return &config.File{DefaultEnv: EnvName, Environments: map[string]*config.Env{EnvName: env}}
}

// WriteConfig writes Config to path with mode 0600 (it holds the demo's API key).
func (s *Stack) WriteConfig(path string) error {
	data, err := yaml.Marshal(s.Config())
	if err != nil {
		return fmt.Errorf("devstack: config: %w", err)
	}
	header := fmt.Sprintf(`# stowage configuration for the demo stack, written by "stowage demo --serve".
# It is valid while that stack runs. Its S3 and DynamoDB accept any credentials
# (local_credentials below are used by stowage; a plain AWS client may use them too):
#   stowage --config %s --env %s ls
`, path, EnvName)
	return writeFileAtomic(path, append([]byte(header), data...), 0o600)
}

func writeFileAtomic(path string, data []byte, perm os.FileMode) error {
	if err := atomicfile.WriteFile(path, data, perm); err != nil {
		return fmt.Errorf("devstack: write %s: %w", path, err)
	}
	return nil
}

// connTracker remembers connections that have not sent a request yet, so that Close can
// drop them: net/http's Shutdown waits up to 5 s for such a connection.
type connTracker struct {
	mu     sync.Mutex
	fresh  map[net.Conn]bool
	closed bool // after closeUnused: a connection accepted late is dropped on arrival
	// dropped counts the unused connections closed, for tests.
	dropped int
}

func (c *connTracker) track(conn net.Conn, state http.ConnState) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.fresh == nil {
		c.fresh = map[net.Conn]bool{}
	}
	switch {
	case state == http.StateNew && c.closed:
		// Accepted between closeUnused and the listener closing.
		conn.Close()
		c.dropped++
	case state == http.StateNew:
		c.fresh[conn] = true
	default:
		delete(c.fresh, conn)
	}
}

func (c *connTracker) closeUnused() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for conn := range c.fresh {
		conn.Close()
		c.dropped++
	}
	c.fresh = nil
	c.closed = true
}

// counts reports the connections waiting for their first request and those dropped.
func (c *connTracker) counts() (fresh, dropped int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.fresh), c.dropped
}
