package redrive

import (
	"fmt"
	"strings"

	"github.com/stowage-cli/stowage/internal/config"
)

// Mode is how a stored request is sent through the pipeline again.
type Mode string

const (
	// ModeReupload sends the stored bytes to the reupload route (default PUT /product);
	// the gateway assigns a new request ID, recorded as old → new.
	ModeReupload Mode = "reupload"
	// ModeInplace sends the stored bytes to the {bucket}/{key} route, which stores them
	// under the same key: the request keeps its ID.
	ModeInplace Mode = "inplace"
	// ModeS3Copy copies the object onto itself so S3 fires ObjectCreated again, without
	// the gateway: for payloads over the gateway's 10 MiB limit, or a broken gateway.
	ModeS3Copy Mode = "s3-copy"
	// ModeSQS sends a synthesized S3 event notification for the stored object to the
	// processor's queue (SendMessageBatch, 10 a call): nothing is written to the bucket.
	ModeSQS Mode = "sqs"
	// ModeLambda invokes the processor's function asynchronously with the same event.
	ModeLambda Mode = "lambda"
	// ModeEventBridge puts the "Object Created" event S3 sends to EventBridge on the
	// processor's bus (PutEvents, 10 a call).
	ModeEventBridge Mode = "eventbridge"
)

// Modes lists every mode offered (help, completion, the TUI's dialog), in the order
// help text shows them.
var Modes = []Mode{ModeReupload, ModeInplace, ModeS3Copy, ModeSQS, ModeLambda, ModeEventBridge}

// EventModes are the modes that send a synthesized S3 event instead of writing; each is
// offered where the environment names its target (Mode.Available).
var EventModes = []Mode{ModeSQS, ModeLambda, ModeEventBridge}

// ParseMode reads a --mode value.
func ParseMode(s string) (Mode, error) {
	for _, m := range Modes {
		if strings.EqualFold(s, string(m)) {
			return m, nil
		}
	}
	names := make([]string, 0, len(Modes))
	for _, m := range Modes {
		names = append(names, string(m))
	}
	return "", fmt.Errorf("unknown mode %q; expected %s", s, strings.Join(names, ", "))
}

// UsesGateway reports whether the mode sends through API Gateway (and so is bound by its
// 10 MiB request limit).
func (m Mode) UsesGateway() bool { return m == ModeReupload || m == ModeInplace }

// IsEvent reports whether the mode sends a synthesized S3 event to the processor's
// trigger (a queue, a function or a bus) instead of writing the object.
func (m Mode) IsEvent() bool { return m == ModeSQS || m == ModeLambda || m == ModeEventBridge }

// Batched reports whether the mode sends up to EventBatchSize items in one call.
func (m Mode) Batched() bool { return m == ModeSQS || m == ModeEventBridge }

// Writes reports whether the mode writes to the bucket (a new LastModified, maybe a new
// version, replication, refused by Object Lock).
func (m Mode) Writes() bool { return !m.IsEvent() }

// Help is the mode's one-line description, for the CLI's help and the TUI's dialog.
func (m Mode) Help() string {
	switch m {
	case ModeReupload:
		return "PUT the stored bytes to the gateway's reupload route: a new request ID"
	case ModeInplace:
		return "PUT the stored bytes to the gateway's in-place route: same key, same request ID"
	case ModeS3Copy:
		return "copy the object onto itself so S3 fires ObjectCreated again (no gateway, no 10 MiB limit)"
	case ModeSQS:
		return "send the S3 event S3 would send to the processor's queue, 10 a call; the object is not written"
	case ModeLambda:
		return "invoke the processor's function asynchronously with the S3 event; the object is not written"
	case ModeEventBridge:
		return "put S3's Object Created event on the processor's bus, 10 a call; the object is not written"
	}
	return ""
}

// Available reports whether env can redrive in mode, and if not, why and what to set.
func (m Mode) Available(env *config.Env) (bool, string) {
	switch m {
	case ModeReupload, ModeInplace:
		if env.GatewayURL() == "" {
			return false, fmt.Sprintf("mode %s sends through the gateway: set gateway.url of environment %q", m, env.Name)
		}
	case ModeSQS:
		if env.Events.SQSQueueURL == "" {
			return false, fmt.Sprintf("mode sqs sends to the processor's queue: set events.sqs_queue_url of environment %q", env.Name)
		}
	case ModeLambda:
		if env.Events.LambdaFunction == "" {
			return false, fmt.Sprintf("mode lambda invokes the processor's function: set events.lambda_function of environment %q", env.Name)
		}
	case ModeEventBridge:
		if env.Events.EventBus == "" {
			return false, fmt.Sprintf("mode eventbridge puts events on the processor's bus: set events.event_bus of environment %q", env.Name)
		}
	case ModeS3Copy:
	default:
		return false, fmt.Sprintf("unknown mode %q", m)
	}
	return true, ""
}

func listed(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// ResumeNote says what a resume does with the n items that may have been delivered
// already (journaled sending, retrying or unknown), for the CLI and the TUI alike.
func (m Mode) ResumeNote(n int) string {
	switch {
	case n == 0:
		return ""
	case m == ModeReupload:
		return fmt.Sprintf("%d of them may have been delivered already under a new request ID: those in flight or unknown are not sent again, they end unknown for you to check.", n)
	case m.IsEvent():
		return fmt.Sprintf("%d of them may be with the target already: their status is re-checked, and those the processor has not written are not sent again "+
			"(a FIFO queue's within its deduplication window excepted); they end unknown for you to check.", n)
	}
	return fmt.Sprintf("%d of them may have been delivered already: their status is re-checked before anything is sent again.", n)
}

// UnknownAdvice says what to do with a run's n unknown items in an event mode ("" for the
// other modes, and when there are none). command is how to run stowage on the
// environment ("stowage --env prod"), reportPath the saved report.
func (m Mode) UnknownAdvice(n int, command, reportPath string) string {
	if n == 0 || !m.IsEvent() {
		return ""
	}
	return fmt.Sprintf("%d event(s) may be with the target but not yet consumed, so they were not sent again: check the queue (or the function's or the bus's deliveries) "+
		"and the processor, then send those still not processed with: %s redrive --from-report %s --only unknown --mode %s", n, command, reportPath, m)
}
