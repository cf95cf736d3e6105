// Package config loads, defaults and validates stowage's configuration file: named
// environments, each describing one storage-first stack (bucket, status table, gateway).
// It must not import awsclient, tui or redrive; of stowage's own packages it uses only sanitize.
package config

import (
	"io/fs"
	"time"
)

// File is the whole configuration file.
type File struct {
	// Path is where the file was read from ("" for a config built in memory).
	Path         string          `yaml:"-"`
	DefaultEnv   string          `yaml:"default_env"`
	Environments map[string]*Env `yaml:"environments"`

	// perm is the file's permission bits, for the 0600 rule on literal API keys;
	// permKnown is false for a config parsed from memory.
	perm      fs.FileMode
	permKnown bool
	// lines maps a dotted field path (environments.prod.gateway.auth) to its line, and
	// explicit records which fields were given a non-null value, so that an explicit
	// "lost_after: 0" is an error rather than silently defaulted.
	lines    map[string]int
	explicit map[string]bool
	// shape holds the problems found while reading (unknown fields, wrong types), which
	// Validate reports first; broken lists the dotted paths they left out (LoadPartial).
	shape  []Problem
	broken []string
}

// Env is one named environment. Zero values are replaced by defaults in Load.
type Env struct {
	// Name is the map key the environment was declared under.
	Name string `yaml:"-"`

	Profile   string    `yaml:"profile,omitempty"`
	Region    string    `yaml:"region,omitempty"`
	Endpoints Endpoints `yaml:"endpoints,omitempty"`

	Storage  Storage `yaml:"storage"`
	Status   Status  `yaml:"status"`
	Gateway  Gateway `yaml:"gateway"`
	ReadOnly bool    `yaml:"read_only,omitempty"`
	// Production asks for stricter confirmations and a red banner.
	Production bool    `yaml:"production,omitempty"`
	Rate       float64 `yaml:"rate,omitempty"` // default redrive requests per second
	// LocalCredentials are fixed keys for a local stack (the demo, LocalStack). They are
	// refused unless every AWS endpoint of the environment is on loopback.
	LocalCredentials *LocalCredentials `yaml:"local_credentials,omitempty"`
	// Color of the environment name in the header (a lipgloss colour, e.g. "#00aa88"); optional.
	Color string `yaml:"color,omitempty"`
	// PreviewBytes is how much of a payload the TUI fetches at first and per "load more"
	// (default 1 MiB).
	PreviewBytes int64 `yaml:"preview_bytes,omitempty"`
	// Redrive configures what runs on different machines share.
	Redrive Redrive `yaml:"redrive,omitempty"`
	// Refresh is how often the TUI re-reads statuses on its own (ctrl+r toggles it); see
	// triage.go for its default and range. ReadBudget caps what the auto-refresh reads.
	Refresh    Duration `yaml:"refresh,omitempty"`
	ReadBudget float64  `yaml:"read_budget,omitempty"`
	// Events names the processor's trigger targets for the event redrive modes (events.go).
	Events Events `yaml:"events,omitempty"`
	// Logs names the CloudWatch Logs groups that trace reads (logs.go).
	Logs Logs `yaml:"logs,omitempty"`
	// BatchOps configures redrive --engine batch-ops (batchops.go).
	BatchOps BatchOps `yaml:"batch_ops,omitempty"`
}

// Redrive configures the lease that keeps two runs, on any machines, from sending the
// same request.
type Redrive struct {
	// LeaseTable is a DynamoDB table keyed by requestId (S) in which each run claims a
	// request before sending it; "" means no lease table, so only this machine's runs
	// are seen.
	LeaseTable string `yaml:"lease_table,omitempty"`
	// LeaseTTL is how long a claim holds without being finished before another run may
	// take it over (default 15m).
	LeaseTTL Duration `yaml:"lease_ttl,omitempty"`
}

// LocalCredentials are static keys for servers on this machine.
type LocalCredentials struct {
	AccessKeyID     string `yaml:"access_key_id"`
	SecretAccessKey string `yaml:"secret_access_key"`
}

// String keeps the secret out of %v and %+v.
func (c LocalCredentials) String() string {
	return "{AccessKeyID:" + c.AccessKeyID + " SecretAccessKey:REDACTED}"
}

// GoString keeps the secret out of %#v.
func (c LocalCredentials) GoString() string { return c.String() }

// Endpoints overrides service endpoints (LocalStack, the demo stack, VPC endpoints).
type Endpoints struct {
	S3       string `yaml:"s3,omitempty"`
	DynamoDB string `yaml:"dynamodb,omitempty"`
	Gateway  string `yaml:"gateway,omitempty"` // alias of Gateway.URL when that is empty
	STS      string `yaml:"sts,omitempty"`
	// SSM and SecretsManager are where api_key_ssm and api_key_secret are read from.
	SSM            string `yaml:"ssm,omitempty"`
	SecretsManager string `yaml:"secretsmanager,omitempty"`
	// The event redrive modes, trace and the batch-ops engine.
	SQS         string `yaml:"sqs,omitempty"`
	Lambda      string `yaml:"lambda,omitempty"`
	EventBridge string `yaml:"eventbridge,omitempty"`
	Logs        string `yaml:"logs,omitempty"`
	S3Control   string `yaml:"s3control,omitempty"`
}

// Storage says where the request bodies are stored and how a key maps to a request ID.
type Storage struct {
	Bucket string `yaml:"bucket"`
	Prefix string `yaml:"prefix,omitempty"`
	// StripPrefix and StripSuffix are removed from a key to get the request ID
	// (StripPrefix defaults to Prefix).
	StripPrefix string `yaml:"strip_prefix,omitempty"`
	StripSuffix string `yaml:"strip_suffix,omitempty"`
	// ReceivedFromVersions: the bucket is versioned, and a request's original arrival (after
	// a redrive in place rewrote it) may be read from its oldest version, at the cost of
	// one ListObjectVersions call per listed request.
	ReceivedFromVersions bool `yaml:"received_from_versions,omitempty"`
}

// Status describes the DynamoDB table in which the processor records progress.
type Status struct {
	Table          string   `yaml:"table"`
	KeyAttr        string   `yaml:"key_attr,omitempty"`        // default requestId
	StatusAttr     string   `yaml:"status_attr,omitempty"`     // default status
	ErrorAttr      string   `yaml:"error_attr,omitempty"`      // default error
	AttemptsAttr   string   `yaml:"attempts_attr,omitempty"`   // default attempts
	UpdatedAtAttr  string   `yaml:"updated_at_attr,omitempty"` // default updatedAt
	Index          string   `yaml:"index,omitempty"`           // optional GSI: hash = status attr, range = updated-at attr
	TerminalStates []string `yaml:"terminal_states,omitempty"` // default [PROCESSED]
	LostAfter      Duration `yaml:"lost_after,omitempty"`      // default 15m
	// ReceivedAttr is an attribute in which the processor records when a request first
	// arrived; it survives a redrive in place, which moves the object's LastModified.
	ReceivedAttr string `yaml:"received_attr,omitempty"`
	// PermanentErrors and TransientErrors are patterns that say whether a failure class
	// will fail again when redriven (triage.go has the defaults).
	PermanentErrors []string `yaml:"permanent_errors,omitempty"`
	TransientErrors []string `yaml:"transient_errors,omitempty"`
}

// Gateway describes the storage-first API in front of the bucket.
type Gateway struct {
	URL  string `yaml:"url,omitempty"`
	Auth string `yaml:"auth,omitempty"` // api-key | iam | none (default none)
	// Exactly one source of the API key when Auth is api-key.
	APIKeyEnv    string `yaml:"api_key_env,omitempty"`
	APIKeySSM    string `yaml:"api_key_ssm,omitempty"`
	APIKeySecret string `yaml:"api_key_secret,omitempty"` // Secrets Manager secret id
	APIKey       string `yaml:"api_key,omitempty"`        // literal: warns; file must be 0600
	Routes       Routes `yaml:"routes,omitempty"`
	// Header names for idempotency, so processors can deduplicate.
	OriginalIDHeader string `yaml:"original_id_header,omitempty"` // default X-Stowage-Original-Request-Id
	RedriveIDHeader  string `yaml:"redrive_id_header,omitempty"`  // default X-Stowage-Redrive-Id
}

// Routes are "METHOD /path/{bucket}/{key}" templates.
type Routes struct {
	Reupload string `yaml:"reupload,omitempty"` // default "PUT /product"
	Inplace  string `yaml:"inplace,omitempty"`  // default "PUT /product/{bucket}/{key}"
}

// Duration is a time.Duration that reads "15m" style strings from YAML.
type Duration struct{ time.Duration }

// Overrides are command-line flags that win over the file.
type Overrides struct {
	Profile     string
	Region      string
	EndpointURL string // all services
	ReadOnly    bool
}
