package redrive

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/stowage-cli/stowage/awsclient"
)

// SessionConfig is what a session records about a run beyond its manifest and options.
type SessionConfig struct {
	// Who names the operator in the audit log and the lease table (Operator's answer,
	// or a fixed name such as "demo"). Options.Operator defaults to it.
	Who string
	// Now stamps the audit entries (time.Now when nil).
	Now func() time.Time
	// Rate and Concurrency, when set, replace the manifest's before the run starts (a
	// resume with --rate or --concurrency): the run is started with them, not tuned.
	Rate        *float64
	Concurrency *int
	// Account is the AWS account the credentials resolved to ("" on a local stack), and
	// AllowOverlap records --allow-overlap: both go into every audit entry of the run.
	Account      string
	AllowOverlap bool
}

func (c SessionConfig) auditContext(force, resumed bool) AuditContext {
	at := time.Now
	if c.Now != nil {
		at = c.Now
	}
	return AuditContext{Who: c.Who, Account: c.Account, AllowOverlap: c.AllowOverlap, Force: force, Resumed: resumed, At: at()}
}

// Session is one run with its audit trail: Start (or ResumeSession) writes the started
// entry before anything is sent, Finish saves the report and writes the final entry. The
// CLI and the TUI both drive runs through it, so both record the same things.
type Session struct {
	run     *Run
	m       *Manifest
	cfg     SessionConfig
	resumed bool

	once sync.Once
	rep  *Report
	fin  FinishResult
	err  error
}

// FinishResult is what Finish wrote. A failed write is a warning: the journal still holds
// the run.
type FinishResult struct {
	// ReportPath is where the report was saved ("" when it could not be: ReportErr says why).
	ReportPath string
	ReportErr  error
	// AuditPath is the audit log the final entry went to; AuditErr is why it did not.
	AuditPath string
	AuditErr  error
}

// Start prepares a new run of m (New), writes its started audit entry, and starts it.
// When it fails nothing was sent, and the refusal is in the audit log (best effort).
func Start(ctx context.Context, deps Deps, m *Manifest, opts Options, sc SessionConfig) (*Session, error) {
	if opts.Operator == "" {
		opts.Operator = sc.Who
	}
	run, err := New(deps, m, opts)
	if err != nil {
		return nil, refuse(m, err, sc, opts.Force, false)
	}
	return start(ctx, run, m, sc, opts.Force, false)
}

// ResumeSession continues the run journaled in st as Start begins a new one.
func ResumeSession(ctx context.Context, deps Deps, st *JournalState, opts Options, sc SessionConfig) (*Session, error) {
	if opts.Operator == "" {
		opts.Operator = sc.Who
	}
	run, err := Resume(deps, st, opts)
	if err != nil {
		if st == nil || st.Manifest == nil {
			return nil, err
		}
		return nil, refuse(st.Manifest, err, sc, opts.Force, true)
	}
	return start(ctx, run, st.Manifest, sc, opts.Force, true)
}

func start(ctx context.Context, run *Run, m *Manifest, sc SessionConfig, force, resumed bool) (*Session, error) {
	if sc.Rate != nil {
		run.SetRate(*sc.Rate)
	}
	if sc.Concurrency != nil {
		run.SetConcurrency(*sc.Concurrency)
	}
	// A run that cannot be audited does not run: a kill -9 later must still leave a record.
	if _, err := AppendStarted(m, run.JournalPath(), sc.auditContext(force, resumed)); err != nil {
		return nil, fmt.Errorf("%w; nothing was sent", err)
	}
	if err := run.Start(ctx); err != nil {
		return nil, refuse(m, err, sc, force, resumed)
	}
	return &Session{run: run, m: m, cfg: sc, resumed: resumed}, nil
}

// refuse records a run refused before it sent anything, and returns err (with the audit
// log's failure, if any, appended).
func refuse(m *Manifest, err error, sc SessionConfig, force, resumed bool) error {
	e := AuditDecision(m, OutcomeRefused, err.Error(), sc.auditContext(force, resumed))
	path, perr := AuditPath()
	if perr == nil {
		perr = AppendAudit(path, e)
	}
	if perr != nil {
		return fmt.Errorf("%w (the audit log could not record the refusal: %v)", err, perr)
	}
	return err
}

// Run is the running run: progress, SetRate, SetConcurrency, Cancel, Abort.
func (s *Session) Run() *Run { return s.run }

// Resumed reports whether the session continues a journaled run.
func (s *Session) Resumed() bool { return s.resumed }

// Finish waits for the run to stop, saves its report beside the journal (ReportPath) and
// appends the final audit entry. It does this once; later calls return the same answer,
// so the TUI may call it both from its command and on exit. The error is non-nil only
// when the final audit entry could not be written: the run is then recorded by its
// started entry and its journal alone, and a caller must not say all is well.
func (s *Session) Finish() (*Report, FinishResult, error) {
	s.once.Do(func() {
		rep := s.run.Wait()
		fin := FinishResult{ReportPath: ReportPath(s.run.JournalPath())}
		if err := rep.SaveJSONLines(fin.ReportPath); err != nil {
			fin.ReportPath, fin.ReportErr = "", err
		}
		e := AuditRun(s.m, rep, fin.ReportPath, s.cfg.auditContext(s.run.opts.Force, s.resumed))
		fin.AuditPath, fin.AuditErr = AuditPath()
		if fin.AuditErr == nil {
			fin.AuditErr = AppendAudit(fin.AuditPath, e)
		}
		s.rep, s.fin = rep, fin
		if fin.AuditErr != nil {
			s.err = fmt.Errorf("the run finished but its audit entry could not be written (%v); its started entry and the journal %s record it; fix the state directory (XDG_STATE_HOME)",
				fin.AuditErr, s.run.JournalPath())
		}
	})
	return s.rep, s.fin, s.err
}

// IdentityTimeout bounds the identity lookup of Operator.
const IdentityTimeout = 5 * time.Second

// Operator names who runs a redrive, for the audit log and the lease table: what
// identity answers (the STS caller ARN), "unknown" without one, or "unknown (...)" naming
// the kind of failure (never its text, which may quote credentials).
func Operator(ctx context.Context, identity func(context.Context) (string, error)) string {
	if identity == nil {
		return "unknown"
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), IdentityTimeout)
	defer cancel()
	arn, err := identity(ctx)
	if err != nil {
		return "unknown (sts:GetCallerIdentity failed: " + awsclient.KindOf(err).String() + ")"
	}
	if arn == "" {
		return "unknown"
	}
	return arn
}
