package config

import "time"

// Defaults applied by Load (and ApplyDefaults) to fields left empty.
const (
	DefaultKeyAttr          = "requestId"
	DefaultStatusAttr       = "status"
	DefaultErrorAttr        = "error"
	DefaultAttemptsAttr     = "attempts"
	DefaultUpdatedAtAttr    = "updatedAt"
	DefaultTerminalState    = "PROCESSED"
	DefaultLostAfter        = 15 * time.Minute
	DefaultReuploadRoute    = "PUT /product"
	DefaultInplaceRoute     = "PUT /product/{bucket}/{key}"
	DefaultAuth             = AuthNone
	DefaultOriginalIDHeader = "X-Stowage-Original-Request-Id"
	DefaultRedriveIDHeader  = "X-Stowage-Redrive-Id"
	// DefaultPreviewBytes is the first slice of a payload the TUI fetches; the rest on demand.
	DefaultPreviewBytes = 1 << 20
	// MinPreviewBytes and MaxPreviewBytes bound preview_bytes.
	MinPreviewBytes = 4 << 10
	MaxPreviewBytes = 64 << 20
	// DefaultRate is gentle on purpose: a redrive should not become the next incident.
	DefaultRate = 10.0
	// DefaultLeaseTTL outlasts many attempts of one request (each at most --timeout) with
	// their backoff; a crashed run's claims free up after it.
	DefaultLeaseTTL = 15 * time.Minute
	// MinLeaseTTL and MaxLeaseTTL bound redrive.lease_ttl: shorter than a minute lets a
	// slow attempt outlive its claim; a crashed run should not lock requests for days.
	MinLeaseTTL = time.Minute
	MaxLeaseTTL = 24 * time.Hour
)

// Gateway auth modes.
const (
	AuthAPIKey = "api-key"
	AuthIAM    = "iam"
	AuthNone   = "none"
)

// ApplyDefaults fills every empty field with its default. It is for environments built in
// memory (tests, the demo stack); Load applies the same defaults but keeps an explicit
// "rate: 0", "lost_after: 0" or "terminal_states: []" so that Validate can reject it.
func (e *Env) ApplyDefaults() { e.applyDefaults(func(string) bool { return false }) }

// applyDefaults fills empty fields unless explicit(field) says the file set them.
func (e *Env) applyDefaults(explicit func(field string) bool) {
	setString := func(p *string, v string) {
		if *p == "" {
			*p = v
		}
	}
	s := &e.Status
	setString(&s.KeyAttr, DefaultKeyAttr)
	setString(&s.StatusAttr, DefaultStatusAttr)
	setString(&s.ErrorAttr, DefaultErrorAttr)
	setString(&s.AttemptsAttr, DefaultAttemptsAttr)
	setString(&s.UpdatedAtAttr, DefaultUpdatedAtAttr)
	if len(s.TerminalStates) == 0 && !explicit("status.terminal_states") {
		s.TerminalStates = []string{DefaultTerminalState}
	}
	if s.LostAfter.Duration == 0 && !explicit("status.lost_after") {
		s.LostAfter.Duration = DefaultLostAfter
	}

	g := &e.Gateway
	setString(&g.Auth, DefaultAuth)
	setString(&g.Routes.Reupload, DefaultReuploadRoute)
	setString(&g.Routes.Inplace, DefaultInplaceRoute)
	setString(&g.OriginalIDHeader, DefaultOriginalIDHeader)
	setString(&g.RedriveIDHeader, DefaultRedriveIDHeader)

	// An explicit strip_prefix: "" keeps the prefix in request IDs.
	if e.Storage.StripPrefix == "" && !explicit("storage.strip_prefix") {
		e.Storage.StripPrefix = e.Storage.Prefix
	}
	defaultTriage(e, explicit)
	defaultEvents(e, explicit)
	defaultLogs(e, explicit)
	defaultBatchOps(e, explicit)

	if e.Rate == 0 && !explicit("rate") {
		e.Rate = DefaultRate
	}
	if e.Redrive.LeaseTTL.Duration == 0 && !explicit("redrive.lease_ttl") {
		e.Redrive.LeaseTTL.Duration = DefaultLeaseTTL
	}
	if e.PreviewBytes == 0 && !explicit("preview_bytes") {
		e.PreviewBytes = DefaultPreviewBytes
	}
}
