package awsclient

import (
	"time"

	"github.com/aws/aws-sdk-go-v2/aws/retry"
)

// Backoff says how long to wait before retry number attempt (0-based) after err. It is the
// SDK's retry.BackoffDelayer, named here so that packages which must not import the SDK
// (redrive) can hold one and tests can pass a fixed one.
type Backoff = retry.BackoffDelayer

// BackoffFunc adapts a function to Backoff (tests: no wait, or a fixed one).
type BackoffFunc = retry.BackoffDelayerFunc

// NewBackoff is stowage's one retry backoff: the SDK's exponential backoff with full jitter,
// a random wait up to min(max, 1s·2^attempt). Past the attempt at which 1s·2^attempt reaches
// max it waits max exactly.
func NewBackoff(max time.Duration) Backoff { return retry.NewExponentialJitterBackoff(max) }
