package redrive

import (
	"context"
	"io"

	"github.com/stowage-cli/stowage/awsclient"
)

// MaxGatewayPayload is API Gateway's request size limit; gateway modes refuse larger
// objects before sending anything.
const MaxGatewayPayload = awsclient.MaxGatewayPayload

// Sender sends one payload through the gateway. awsclient's Gateway implements it.
type Sender interface {
	Send(ctx context.Context, route awsclient.Route, vars awsclient.RouteVars, p awsclient.Payload) (awsclient.GatewayResponse, error)
}

// ObjectSource reads the stored bodies a run sends, pinned to the planned version, and
// re-fires their events for s3-copy. awsclient's ObjectStore implements it.
type ObjectSource interface {
	Get(ctx context.Context, key string, pin awsclient.Pin) (io.ReadCloser, awsclient.Object, error)
	CopyInPlace(ctx context.Context, key string, pin awsclient.Pin) (awsclient.Object, error)
}

// StatusChecker reads one request's processing status just before it is sent. found is
// false when the table has no item. awsclient's StatusStore implements it.
type StatusChecker interface {
	Get(ctx context.Context, requestID string) (st awsclient.Status, found bool, err error)
}

// StatusBatchReader reads many status items at once (BatchGetItem, up to 100 keys a
// call). A run given one reads its pre-send checks in batches ahead of the dispatcher,
// instead of one GetItem per item. awsclient's StatusStore implements it.
type StatusBatchReader interface {
	BatchGet(ctx context.Context, ids []string) (map[string]awsclient.Status, error)
}

// Claimer holds requests across machines: a run claims each request just before it
// sends it, and records how it finished. awsclient's LeaseStore implements it.
type Claimer interface {
	Claim(ctx context.Context, req awsclient.ClaimRequest) (awsclient.ClaimResult, error)
	Finish(ctx context.Context, f awsclient.ClaimFinish) error
}

// LeaseBatcher claims and finishes many requests in one call, each with the answer Claim
// or Finish would give it alone (results and errors by index), except that a claim the
// batch grants has no Holder (it reads no old item; it never grants a takeover, the one
// grant whose Holder a run reads). A run whose Claimer also
// implements it gathers its claims and finishes into batches. awsclient's LeaseStore
// implements it (TransactWriteItems, or single calls where the server has none).
type LeaseBatcher interface {
	ClaimBatch(ctx context.Context, reqs []awsclient.ClaimRequest) ([]awsclient.ClaimResult, []error)
	FinishBatch(ctx context.Context, fs []awsclient.ClaimFinish) []error
}

// EventSender sends synthesized S3 events to the processor's trigger (the event modes).
// awsclient's EventSender implements it. Each result is one entry's outcome, in order;
// the error is the failure of a whole call (its entries' results carry it too).
type EventSender interface {
	SendSQS(ctx context.Context, queueURL string, entries []awsclient.EventEntry) ([]awsclient.EntryResult, error)
	Invoke(ctx context.Context, function, qualifier string, payload []byte) (awsclient.EntryResult, error)
	PutEvents(ctx context.Context, bus string, entries []awsclient.EventEntry) ([]awsclient.EntryResult, error)
	// Region is the clients' region: the events' awsRegion when the plan names none.
	Region() string
}

// ObjectHeader reads an object's current description without its body: the event modes
// check the stored object is still the planned one and describe it in the event.
// awsclient's ObjectStore implements it; an ObjectSource without it is read with Get.
type ObjectHeader interface {
	Head(ctx context.Context, key string) (awsclient.Object, error)
}
