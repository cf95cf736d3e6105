package devstack

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

func settle(t *testing.T, st *Stack) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := st.Settle(ctx); err != nil {
		t.Fatal(err)
	}
}

// Arrive stores requests through the gateway and the processor fails them as asked; a
// transient one succeeds when redriven and a permanent one fails again.
func TestArriveForcesFailureClasses(t *testing.T) {
	st := startStack(t, Options{Seed: 5, Requests: -1})
	cases := []struct {
		fail, state, errHas string
	}{
		{FailNone, StateProcessed, ""},
		{FailParse, StateFailed, "at line "},
		{FailValidation, StateFailed, "validation failed"},
		{FailTransient, StateFailed, "inventory-service"},
		{FailOutage, StateFailed, OutageService + " unavailable: 503 Service Unavailable"},
		{FailLost, "", ""},
	}
	got := map[string]SeedRequest{}
	for _, c := range cases {
		rs, err := st.Arrive(context.Background(), 1, c.fail)
		if err != nil || len(rs) != 1 {
			t.Fatalf("Arrive(%q): %v %v", c.fail, rs, err)
		}
		got[c.fail] = rs[0]
	}
	settle(t, st)
	rec := st.Received()
	for _, c := range cases {
		r := got[c.fail]
		if rec.Stored[r.Key] != 1 {
			t.Errorf("%s: the gateway stored it %d times", c.fail, rec.Stored[r.Key])
		}
		s, ok := st.Status(r.Key)
		if c.state == "" {
			if ok {
				t.Errorf("lost arrival has a status %+v", s)
			}
			continue
		}
		if !ok || s.State != c.state || !strings.Contains(s.Error, c.errHas) || s.Attempts != 1 || !s.UpdatedAt.Equal(testNow) {
			t.Errorf("%q arrival: %+v %v, want %s with %q at %v", c.fail, s, ok, c.state, c.errHas, testNow)
		}
	}
	for _, fail := range []string{FailTransient, FailOutage, FailLost} {
		redriveInPlace(t, st, got[fail])
		if s, _ := st.Status(got[fail].Key); s.State != StateProcessed {
			t.Errorf("%s arrival redriven: %+v, want PROCESSED", fail, s)
		}
	}
	for _, fail := range []string{FailParse, FailValidation} {
		first, _ := st.Status(got[fail].Key)
		redriveInPlace(t, st, got[fail])
		if s, _ := st.Status(got[fail].Key); s.State != StateFailed || s.Error != first.Error || s.Attempts != 2 {
			t.Errorf("%s arrival redriven: %+v, want FAILED again", fail, s)
		}
	}
	if _, err := st.Arrive(context.Background(), 1, "sometimes"); err == nil {
		t.Error("Arrive accepted an unknown failure class")
	}
}

// Live arrivals are the same requests on every run of a seed.
func TestArriveIsReproducible(t *testing.T) {
	keys := func() []string {
		st := startStack(t, Options{Seed: 8, Requests: -1})
		rs, err := st.Arrive(context.Background(), 5, FailNatural)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, r := range rs {
			out = append(out, r.Key+" "+r.Kind)
		}
		return out
	}
	a, b := keys(), keys()
	if strings.Join(a, ",") != strings.Join(b, ",") {
		t.Errorf("two stacks of one seed received\n%v\n%v", a, b)
	}
}

// Live keeps requests arriving, turns the outage on and off on its schedule (in
// arrivals), and returns with the outage over when its ticks end; everything it stored
// is processed.
func TestLiveOutageStartsAndStops(t *testing.T) {
	st := startStack(t, Options{Seed: 6, Requests: -1, LostRatio: -1, TransientRatio: -1})
	ticks := make(chan time.Time)
	arrived := make(chan SeedRequest)
	var outages []bool
	done := make(chan error, 1)
	go func() {
		done <- st.Live(context.Background(), LiveOptions{Rate: 1, OutageAfter: 3 * time.Second, OutageFor: 4 * time.Second,
			OutageEvery: 10 * time.Second, Ticks: ticks,
			OnOutage: func(on bool) { outages = append(outages, on) },
			OnArrive: func(r SeedRequest, err error) {
				if err != nil {
					t.Errorf("arrival: %v", err)
				}
				arrived <- r
			}})
	}()
	var rs []SeedRequest
	for range 15 {
		ticks <- testNow
		rs = append(rs, <-arrived)
		settle(t, st) // the outage is decided when the processor runs
	}
	close(ticks)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	// Down for arrivals 3-6 and 13-16; Live ends it on return.
	if got := fmt.Sprint(outages); got != "[true false true false]" {
		t.Errorf("outage transitions %s, want on at 3, off at 7, on at 13 and off at the end", got)
	}
	if st.proc.liveOutage.Load() {
		t.Error("the outage is still on after Live returned")
	}
	for i, r := range rs {
		s, ok := st.Status(r.Key)
		if !ok {
			t.Errorf("arrival %d (%s) has no status", i, r.Key)
			continue
		}
		down := (i >= 3 && i < 7) || i >= 13
		outage := strings.HasPrefix(s.Error, OutageService)
		valid := r.Kind == KindProductXML || r.Kind == KindProfileJSON
		if valid && outage != down {
			t.Errorf("arrival %d: %+v, outage %v", i, s, down)
		}
	}
}

// Live stops when its context ends, even without a tick.
func TestLiveStopsWithItsContext(t *testing.T) {
	st := startStack(t, Options{Seed: 6, Requests: -1})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- st.Live(ctx, LiveOptions{Ticks: make(chan time.Time)}) }()
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Live did not return after its context ended")
	}
}

// InjectFailure flips a processed request to FAILED now: the status index shows it as a
// new failure, and a redrive processes it again.
func TestInjectFailure(t *testing.T) {
	st := startStack(t, Options{Seed: 2, Requests: -1})
	rs, err := st.Arrive(context.Background(), 1, FailNone)
	if err != nil {
		t.Fatal(err)
	}
	settle(t, st)
	id := rs[0].Key
	msg := "downstream timeout: tax-service did not answer within 5000 ms\x1b[2J"
	if err := st.InjectFailure(id, msg); err != nil {
		t.Fatal(err)
	}
	s, _ := st.Status(id)
	if s.State != StateFailed || s.Error != `downstream timeout: tax-service did not answer within 5000 ms\u001b[2J` || s.Attempts != 2 || !s.UpdatedAt.Equal(testNow) {
		t.Errorf("after InjectFailure: %+v", s)
	}
	// The GSI, as auto-refresh and tail read it.
	out, err := dynamoClient(st.DynamoDBURL).Query(context.Background(), &dynamodb.QueryInput{
		TableName: aws.String(st.Table), IndexName: aws.String(st.Index),
		KeyConditionExpression:   aws.String("#s = :s AND #u >= :u"),
		ExpressionAttributeNames: map[string]string{"#s": "status", "#u": "updatedAt"},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":s": &types.AttributeValueMemberS{Value: StateFailed},
			":u": &types.AttributeValueMemberS{Value: testNow.Format(updatedAtLayout)},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Items) != 1 || out.Items[0]["requestId"].(*types.AttributeValueMemberS).Value != id {
		t.Errorf("the index's new failures: %v, want %s", out.Items, id)
	}
	redriveInPlace(t, st, rs[0])
	if s, _ := st.Status(id); s.State != StateProcessed || s.Attempts != 3 {
		t.Errorf("injected failure redriven: %+v, want PROCESSED", s)
	}
	if err := st.InjectFailure("no-such-request", "x"); err == nil {
		t.Error("InjectFailure into a request that is not stored succeeded")
	}
}

// What Live stored before it returned is processed by Close: nothing is lost by
// stopping.
func TestLiveStopsWithNothingLost(t *testing.T) {
	st := startStack(t, Options{Seed: 9, Requests: -1, LostRatio: -1})
	ticks := make(chan time.Time)
	var rs []SeedRequest
	done := make(chan error, 1)
	go func() {
		done <- st.Live(context.Background(), LiveOptions{Ticks: ticks, OnArrive: func(r SeedRequest, err error) {
			if err != nil {
				t.Errorf("arrival: %v", err)
			}
			rs = append(rs, r)
		}})
	}()
	for range 30 {
		ticks <- testNow
	}
	close(ticks)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	if len(rs) != 30 {
		t.Fatalf("%d arrivals for 30 ticks", len(rs))
	}
	for _, r := range rs {
		if _, ok := st.Status(r.Key); !ok {
			t.Errorf("%s was stored but never processed", r.Key)
		}
	}
}

// A request the gateway stores but answers 504 is still processed as Arrive was asked:
// the forced class outlives the error.
func TestArriveForcedClassSurvivesAStoredTimeout(t *testing.T) {
	st := startStack(t, Options{Seed: 5, Requests: -1, Gateway: GatewayFaults{StoreThen504Ratio: 1}})
	if _, err := st.Arrive(context.Background(), 1, FailTransient); err == nil || !strings.Contains(err.Error(), "504") {
		t.Fatalf("Arrive through a gateway that times out: %v, want the 504", err)
	}
	settle(t, st)
	rec := st.Received()
	if len(rec.Requests) != 1 || rec.Requests[0].Key == "" {
		t.Fatalf("received %+v, want one stored request", rec.Requests)
	}
	s, ok := st.Status(rec.Requests[0].Key)
	if !ok || s.State != StateFailed || !strings.Contains(s.Error, "inventory-service") {
		t.Errorf("stored-then-504 arrival: %+v %v, want the forced transient failure", s, ok)
	}
}
