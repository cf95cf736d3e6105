package devstack

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	ebtypes "github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
)

func objectCreated(bucket, key string) ebtypes.PutEventsRequestEntry {
	return ebtypes.PutEventsRequestEntry{Source: aws.String(DemoEventSource), DetailType: aws.String("Object Created"),
		Detail: aws.String(fmt.Sprintf(`{"bucket":{"name":%s},"object":{"key":%s}}`, jsonq(bucket), jsonq(key)))}
}

// PutEvents answers per entry (FailedEntryCount), refuses more than 10 entries and aws.
// sources from callers; DescribeEventBus knows the default bus only; and the faults.
func TestEventBridgeAnswers(t *testing.T) {
	t.Parallel()
	st := startStack(t, Options{Requests: -1, Trigger: TriggerEventBridge})
	c := busClient(st.EventBridgeURL)
	ctx := context.Background()

	out, err := c.PutEvents(ctx, &eventbridge.PutEventsInput{Entries: []ebtypes.PutEventsRequestEntry{
		objectCreated(st.Bucket, "k1"),
		{Source: aws.String("aws.s3"), DetailType: aws.String("Object Created"), Detail: aws.String(`{}`)},
		{Source: aws.String(DemoEventSource), DetailType: aws.String("Object Created"), Detail: aws.String(`not json`)},
		{Source: aws.String(DemoEventSource), Detail: aws.String(`{}`)},
	}})
	if err != nil || out.FailedEntryCount != 3 || len(out.Entries) != 4 || out.Entries[0].EventId == nil {
		t.Fatalf("put: %v %+v", err, out)
	}
	for i, want := range []string{"", "NotAuthorizedForSourceException", "MalformedDetail", "InvalidArgument"} {
		if got := aws.ToString(out.Entries[i].ErrorCode); got != want {
			t.Errorf("entry %d: %q, want %q", i, got, want)
		}
	}

	var eleven []ebtypes.PutEventsRequestEntry
	for i := range 11 {
		eleven = append(eleven, objectCreated(st.Bucket, fmt.Sprint("e", i)))
	}
	_, err = c.PutEvents(ctx, &eventbridge.PutEventsInput{Entries: eleven})
	if code, _ := eventAPIError(t, err); code != "ValidationException" {
		t.Fatalf("11 entries: %v", err)
	}
	big := objectCreated(st.Bucket, strings.Repeat("k", 256<<10))
	if _, err = c.PutEvents(ctx, &eventbridge.PutEventsInput{Entries: []ebtypes.PutEventsRequestEntry{big}}); err == nil {
		t.Fatal("an entry over 256 KiB was accepted")
	}

	st.SetEventFaults(EventFaults{FailEventBridgeEntries: 2})
	out, err = c.PutEvents(ctx, &eventbridge.PutEventsInput{Entries: eleven[:5]})
	if err != nil || out.FailedEntryCount != 2 || aws.ToString(out.Entries[4].ErrorCode) != "ThrottlingException" {
		t.Fatalf("2 failing entries: %v %+v", err, out)
	}
	st.SetEventFaults(EventFaults{ThrottleEventBridge: 1})
	_, err = c.PutEvents(ctx, &eventbridge.PutEventsInput{Entries: eleven[:1]})
	if code, _ := eventAPIError(t, err); code != "ThrottlingException" {
		t.Fatalf("throttled: %v", err)
	}
	st.SetEventFaults(EventFaults{Deny: []string{"events:DescribeEventBus"}})
	_, err = c.DescribeEventBus(ctx, &eventbridge.DescribeEventBusInput{})
	if code, _ := eventAPIError(t, err); code != "AccessDeniedException" || !strings.Contains(err.Error(), "events:DescribeEventBus") {
		t.Fatalf("denied: %v", err)
	}
	st.SetEventFaults(EventFaults{})
	bus, err := c.DescribeEventBus(ctx, &eventbridge.DescribeEventBusInput{Name: aws.String("default")})
	if err != nil || aws.ToString(bus.Arn) != "arn:aws:events:us-east-1:000000000000:event-bus/default" {
		t.Fatalf("describe: %v %+v", err, bus)
	}
	_, err = c.DescribeEventBus(ctx, &eventbridge.DescribeEventBusInput{Name: aws.String("nope")})
	var nf *ebtypes.ResourceNotFoundException
	if !errors.As(err, &nf) {
		t.Fatalf("unknown bus: %v", err)
	}
	// As AWS: events put on a bus that does not exist are answered as taken, and dropped.
	lost := objectCreated(st.Bucket, "lost")
	lost.EventBusName = aws.String("nope")
	out, err = c.PutEvents(ctx, &eventbridge.PutEventsInput{Entries: []ebtypes.PutEventsRequestEntry{lost}})
	if err != nil || out.FailedEntryCount != 0 || len(out.Entries) != 1 || out.Entries[0].EventId == nil {
		t.Fatalf("put on a bus that does not exist: %v %+v", err, out)
	}
	settleEvents(t, st)
	if ev := st.EventStats(); ev.EventKeys["k1"] != 1 || ev.EventKeys["e0"] != 1 || ev.EventKeys["e4"] != 0 || ev.EventKeys["lost"] != 0 {
		t.Errorf("events by key: %v", ev.EventKeys)
	}
}
