package devstack

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	lambdatypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"
)

// Lambda's answers through the SDK's client: async 202, sync 200 with the result and the
// executed version, qualifiers, and the documented errors.
func TestLambdaInvoke(t *testing.T) {
	t.Parallel()
	st := startStack(t, Options{Requests: 200, Seed: 7, Trigger: TriggerLambda})
	c := lambdaClient(st.LambdaURL)
	ctx := context.Background()
	key := transientFailure(t, st)

	out, err := c.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String(DemoFunction), Qualifier: aws.String("live"),
		Payload: []byte(s3RecordJSON(st.Bucket, key))})
	if err != nil || out.StatusCode != 200 || aws.ToString(out.ExecutedVersion) != "1" || out.FunctionError != nil {
		t.Fatalf("sync invoke: %v %+v", err, out)
	}
	var res struct {
		Results []struct{ Key, Status string }
	}
	if err := json.Unmarshal(out.Payload, &res); err != nil || len(res.Results) != 1 || res.Results[0].Key != key || res.Results[0].Status != StateProcessed {
		t.Fatalf("result %s: %v", out.Payload, err)
	}

	arn := "arn:aws:lambda:us-east-1:000000000000:function:" + DemoFunction + ":$LATEST"
	if out, err := c.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String(arn), InvocationType: lambdatypes.InvocationTypeEvent,
		Payload: []byte(`{"Records":[]}`)}); err != nil || out.StatusCode != 202 {
		t.Fatalf("async invoke by ARN: %v %+v", err, out)
	}
	if out, err := c.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String(DemoFunction), Payload: []byte(`{"hello":1}`)}); err != nil || aws.ToString(out.FunctionError) != "Unhandled" {
		t.Fatalf("a payload the function cannot read: %v %+v", err, out)
	}

	var notFound *lambdatypes.ResourceNotFoundException
	for _, in := range []*lambda.InvokeInput{
		{FunctionName: aws.String("no-such-function")},
		{FunctionName: aws.String(DemoFunction), Qualifier: aws.String("bogus")},
	} {
		_, err := c.Invoke(ctx, in)
		if code, status := eventAPIError(t, err); !errors.As(err, &notFound) || status != 404 || code != "ResourceNotFoundException" {
			t.Errorf("%s:%s: %v", aws.ToString(in.FunctionName), aws.ToString(in.Qualifier), err)
		}
	}

	big := []byte(`{"pad":"` + strings.Repeat("x", 256<<10) + `"}`)
	_, err = c.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String(DemoFunction), InvocationType: lambdatypes.InvocationTypeEvent, Payload: big})
	var tooLarge *lambdatypes.RequestTooLargeException
	if _, status := eventAPIError(t, err); !errors.As(err, &tooLarge) || status != 413 {
		t.Fatalf("async over 256 KiB: %v", err)
	}

	st.SetEventFaults(EventFaults{ThrottleLambda: 1})
	_, err = c.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String(DemoFunction), InvocationType: lambdatypes.InvocationTypeEvent, Payload: []byte(`{}`)})
	var throttled *lambdatypes.TooManyRequestsException
	if _, status := eventAPIError(t, err); !errors.As(err, &throttled) || status != 429 || aws.ToString(throttled.RetryAfterSeconds) != "1" {
		t.Fatalf("throttled: %v", err)
	}

	st.SetEventFaults(EventFaults{Deny: []string{"lambda:GetFunction"}})
	_, err = c.GetFunction(ctx, &lambda.GetFunctionInput{FunctionName: aws.String(DemoFunction)})
	if code, status := eventAPIError(t, err); code != "AccessDeniedException" || status != 403 || !strings.Contains(err.Error(), "lambda:GetFunction") {
		t.Fatalf("denied GetFunction: %v", err)
	}
	st.SetEventFaults(EventFaults{})
	fn, err := c.GetFunction(ctx, &lambda.GetFunctionInput{FunctionName: aws.String(DemoFunction), Qualifier: aws.String("live")})
	if err != nil || aws.ToString(fn.Configuration.FunctionName) != DemoFunction || aws.ToString(fn.Configuration.Version) != "1" ||
		fn.Configuration.State != lambdatypes.StateActive {
		t.Fatalf("GetFunction: %v %+v", err, fn)
	}
	if n := st.EventStats().InvokedKeys[key]; n != 1 {
		t.Errorf("invocations carrying the key = %d, want 1", n)
	}
}

func TestParseFunctionName(t *testing.T) {
	for in, want := range map[string][2]string{
		"product-ingest":                       {"product-ingest", ""},
		"product-ingest:live":                  {"product-ingest", "live"},
		"000000000000:function:product-ingest": {"product-ingest", ""},
		"arn:aws:lambda:us-east-1:000000000000:function:product-ingest:1": {"product-ingest", "1"},
		"bad name":        {"", ""},
		"a:b:c:d":         {"", ""},
		"product-ingest:": {"", ""},
	} {
		n, q, ok := parseFunctionName(in)
		if n != want[0] || q != want[1] || ok != (want[0] != "") {
			t.Errorf("%q: %q %q %v", in, n, q, ok)
		}
	}
}

func FuzzParseFunctionName(f *testing.F) {
	f.Add("arn:aws:lambda:us-east-1:000000000000:function:product-ingest:live")
	f.Add("000000000000:function:x")
	f.Fuzz(func(t *testing.T, s string) {
		n, _, ok := parseFunctionName(s)
		if ok && (n == "" || len(n) > 64 || strings.ContainsAny(n, ":/ ")) {
			t.Fatalf("%q gave name %q", s, n)
		}
	})
}
