package awsclient

import "time"

// Claim is one redrive run's hold on one request, kept as an item of the environment's
// lease table so that runs on different machines see each other. An item outlives its
// run: once finished it records the outcome, so a later run can tell that the request
// was already redriven.
type Claim struct {
	RequestID string
	RunID     string
	Operator  string // who started the run (user@host)
	Env       string
	ClaimedAt time.Time
	Expires   time.Time // a claim not finished by then may be taken over
	// Set when the run finished the item; "" while it is held.
	Outcome    string // delivered | failed | skipped | unknown | not-sent
	FinishedAt time.Time
	// Sent reports that something may have left for this claim (delivered, unknown, or
	// failed after sending): the request counts as redriven at FinishedAt.
	Sent bool
	// LastSentAt and LastSentRun are the latest send of any run, kept across later claims
	// so that a claim which sends nothing cannot hide an earlier redrive.
	LastSentAt  time.Time
	LastSentRun string
}

// Live reports whether the claim still holds the request at now.
func (c Claim) Live(now time.Time) bool { return c.Outcome == "" && now.Before(c.Expires) }

// ClaimRequest asks for one request.
type ClaimRequest struct {
	RequestID string
	RunID     string
	Operator  string
	Env       string
	Now       time.Time
	TTL       time.Duration
	// RedrivenSince refuses the claim when another run sent this request after this time
	// (the plan's time). Zero accepts any earlier redrive (--force).
	RedrivenSince time.Time
}

// ClaimRefusal says why a claim was not granted ("" when it was).
type ClaimRefusal string

const (
	ClaimGranted  ClaimRefusal = ""
	ClaimHeld     ClaimRefusal = "held"     // another run holds a live claim
	ClaimRedriven ClaimRefusal = "redriven" // another run sent it after RedrivenSince
)

// ClaimResult is the answer to a ClaimRequest.
type ClaimResult struct {
	Refused ClaimRefusal
	// Holder is the other run's claim when refused; when granted, the claim that was
	// replaced (zero if none).
	Holder Claim
	// TookOver reports a grant over another run's expired, unfinished claim: that run may
	// have sent the request.
	TookOver bool
}

// ClaimFinish records how a run finished a request it claimed.
type ClaimFinish struct {
	RequestID string
	RunID     string
	Outcome   string
	Sent      bool
	At        time.Time
}
