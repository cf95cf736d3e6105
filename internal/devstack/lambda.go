package devstack

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
)

// The demo's Lambda: the processor as the function DemoFunction, served over Lambda's
// REST-JSON protocol. It models Invoke (POST /2015-03-31/functions/NAME/invocations:
// InvocationType Event → 202, RequestResponse → 200 with the function's result and
// X-Amz-Executed-Version, DryRun → 204; the Qualifier query parameter or a NAME:QUALIFIER;
// a name, partial ARN or ARN), GetFunction and GetFunctionConfiguration, and the error
// answers: ResourceNotFoundException 404 (unknown function or qualifier),
// TooManyRequestsException 429 with Retry-After, RequestTooLargeException 413 (over
// 256 KiB for Event, 6 MiB for RequestResponse), InvalidRequestContentException 400 (a
// payload that is not JSON) and AccessDeniedException 403. A function error
// (RequestResponse) is a 200 with X-Amz-Function-Error: Unhandled.
//
// The async limit is the 256 KiB the redrive's guard is written against; AWS raised it to
// 1 MB on 2026-01-29.

const (
	lambdaAsyncMax = 256 << 10
	lambdaSyncMax  = 6 << 20
	lambdaAccount  = sqsAccount
)

// The demo function's versions and aliases: $LATEST, version 1, alias live → 1.
var lambdaQualifiers = map[string]string{"": "$LATEST", "$LATEST": "$LATEST", "1": "1", "live": "1"}

// lambdaHandler runs the function on one payload; sync asks for its result. funcErr is
// the function's own failure (not an API error).
type lambdaHandler func(ctx context.Context, payload []byte, sync bool) (result []byte, funcErr error)

type lambdaServer struct {
	region  string
	faults  *eventFaults
	handler lambdaHandler

	mu          sync.Mutex
	invocations int
	keys        map[string]int
}

func newLambdaServer(region string, faults *eventFaults, h lambdaHandler) *lambdaServer {
	return &lambdaServer{region: region, faults: faults, handler: h, keys: map[string]int{}}
}

func (l *lambdaServer) functionARN(name, qualifier string) string {
	arn := "arn:aws:lambda:" + l.region + ":" + lambdaAccount + ":function:" + name
	if qualifier != "" {
		arn += ":" + qualifier
	}
	return arn
}

// parseFunctionName splits a function name, partial ARN or ARN into the name and the
// qualifier it carries.
func parseFunctionName(s string) (name, qualifier string, ok bool) {
	parts := strings.Split(s, ":")
	switch {
	case len(parts) >= 7 && parts[0] == "arn" && parts[2] == "lambda" && parts[5] == "function":
		parts = parts[6:]
	case len(parts) >= 3 && parts[1] == "function":
		parts = parts[2:]
	}
	switch len(parts) {
	case 1:
		name = parts[0]
	case 2:
		name, qualifier = parts[0], parts[1]
		if qualifier == "" {
			return "", "", false
		}
	default:
		return "", "", false
	}
	if name == "" || len(name) > 64 || strings.Trim(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_") != "" {
		return "", "", false
	}
	return name, qualifier, true
}

type lambdaErr struct {
	status int
	typ    string
	msg    string
	extra  map[string]string
}

func writeLambdaError(w http.ResponseWriter, e lambdaErr) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Amzn-Errortype", e.typ)
	w.Header().Set("X-Amzn-Requestid", newUUID())
	body := map[string]string{"Type": "User", "Message": e.msg}
	for k, v := range e.extra {
		if k == "Retry-After" {
			w.Header().Set(k, v)
			continue
		}
		body[k] = v
	}
	w.WriteHeader(e.status)
	b, _ := json.Marshal(body)
	w.Write(b)
}

func (l *lambdaServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rest, ok := strings.CutPrefix(r.URL.EscapedPath(), "/2015-03-31/functions/")
	if !ok {
		writeLambdaError(w, lambdaErr{status: 404, typ: "UnknownOperationException", msg: "Unknown operation"})
		return
	}
	segs := strings.Split(rest, "/")
	fn, err := url.PathUnescape(segs[0])
	if err != nil {
		fn = segs[0]
	}
	op := ""
	switch {
	case r.Method == http.MethodPost && len(segs) == 2 && segs[1] == "invocations":
		op = "InvokeFunction"
	case r.Method == http.MethodGet && len(segs) == 1:
		op = "GetFunction"
	case r.Method == http.MethodGet && len(segs) == 2 && segs[1] == "configuration":
		op = "GetFunctionConfiguration"
	default:
		writeLambdaError(w, lambdaErr{status: 404, typ: "UnknownOperationException", msg: "Unknown operation"})
		return
	}
	name, qual, ok := parseFunctionName(fn)
	if q := r.URL.Query().Get("Qualifier"); ok && q != "" {
		if qual != "" && qual != q {
			writeLambdaError(w, lambdaErr{status: 400, typ: "InvalidParameterValueException",
				msg: "The derived qualifier from the function name does not match the specified qualifier."})
			return
		}
		qual = q
	}
	if !ok {
		writeLambdaError(w, lambdaErr{status: 400, typ: "ValidationException",
			msg: "1 validation error detected: Value '" + fn + "' at 'functionName' failed to satisfy constraint: Member must satisfy regular expression pattern: (arn:(aws[a-zA-Z-]*)?:lambda:)?([a-z]{2}(-gov)?-[a-z]+-\\d{1}:)?(\\d{12}:)?(function:)?([a-zA-Z0-9-_\\.]+)(:(\\$LATEST|[a-zA-Z0-9-_]+))?"})
		return
	}
	if e := l.faults.before(r.Context(), "lambda", op, l.functionARN(name, qual)); e != nil {
		switch e.kind {
		case faultDenied:
			writeLambdaError(w, lambdaErr{status: 403, typ: "AccessDeniedException", msg: e.message})
		case faultThrottled:
			writeLambdaError(w, lambdaErr{status: 429, typ: "TooManyRequestsException", msg: "Rate Exceeded.",
				extra: map[string]string{"Reason": "CallerRateLimitExceeded", "Retry-After": "1"}})
		}
		return
	}
	version, known := lambdaQualifiers[qual]
	if name != DemoFunction || !known {
		writeLambdaError(w, lambdaErr{status: 404, typ: "ResourceNotFoundException",
			msg: "Function not found: " + l.functionARN(name, qual)})
		return
	}
	if op != "InvokeFunction" {
		l.writeFunction(w, op, name, qual, version)
		return
	}
	invType := r.Header.Get("X-Amz-Invocation-Type")
	if invType == "" {
		invType = "RequestResponse"
	}
	limit := lambdaSyncMax
	switch invType {
	case "Event":
		limit = lambdaAsyncMax
	case "RequestResponse", "DryRun":
	default:
		writeLambdaError(w, lambdaErr{status: 400, typ: "InvalidParameterValueException",
			msg: "Unsupported invocation type " + invType})
		return
	}
	payload, err := io.ReadAll(io.LimitReader(r.Body, int64(lambdaSyncMax)+1))
	if err != nil {
		return
	}
	if len(payload) > limit {
		op := "InvokeFunction"
		if invType == "Event" {
			op = "Event invocation type"
		}
		writeLambdaError(w, lambdaErr{status: 413, typ: "RequestTooLargeException",
			msg: "Request must be smaller than " + itoa(limit) + " bytes for the " + op})
		return
	}
	if len(payload) == 0 {
		payload = []byte("{}")
	}
	if !json.Valid(payload) {
		writeLambdaError(w, lambdaErr{status: 400, typ: "InvalidRequestContentException",
			msg: "Could not parse request body into json: Could not parse payload into json: Unexpected character: was expecting a JSON value"})
		return
	}
	if invType == "DryRun" {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	l.count(payload)
	w.Header().Set("X-Amzn-Requestid", newUUID())
	if invType == "Event" {
		// An async invocation's failure is the function's: its logs show it, not the caller.
		l.handler(r.Context(), payload, false)
		w.WriteHeader(http.StatusAccepted)
		return
	}
	res, ferr := l.handler(r.Context(), payload, true)
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Amz-Executed-Version", version)
	if ferr != nil {
		w.Header().Set("X-Amz-Function-Error", "Unhandled")
		res, _ = json.Marshal(map[string]any{"errorMessage": ferr.Error(), "errorType": "ProcessingError"})
	}
	w.WriteHeader(http.StatusOK)
	w.Write(res)
}

func itoa(n int) string {
	b, _ := json.Marshal(n)
	return string(b)
}

// invoke is an asynchronous invocation from inside the stack (S3's notification, the
// EventBridge rule): no faults, counted like any other.
func (l *lambdaServer) invoke(payload []byte) {
	l.count(payload)
	l.handler(context.Background(), payload, false)
}

func (l *lambdaServer) count(payload []byte) {
	keys := objectKeysOf(payload)
	l.mu.Lock()
	l.invocations++
	for _, k := range keys {
		l.keys[k]++
	}
	l.mu.Unlock()
}

func (l *lambdaServer) stats() (int, map[string]int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	keys := make(map[string]int, len(l.keys))
	for k, v := range l.keys {
		keys[k] = v
	}
	return l.invocations, keys
}

func (l *lambdaServer) writeFunction(w http.ResponseWriter, op, name, qual, version string) {
	arn := l.functionARN(name, "")
	if qual != "" {
		arn = l.functionARN(name, qual)
	}
	conf := map[string]any{
		"FunctionName": name, "FunctionArn": arn, "Runtime": "python3.12", "Handler": "app.handler",
		"Role":     "arn:aws:iam::" + lambdaAccount + ":role/product-ingest",
		"CodeSize": 48213, "Description": "Processes stored API requests (stowage demo)", "Timeout": 60, "MemorySize": 512,
		"LastModified": "2025-06-02T10:00:00.000+0000", "CodeSha256": "0Ojn7dYc3p6Yl8Yl0mZb5cXz2mG1y6vQm9m0ZC2pC1Q=",
		"Version": version, "State": "Active", "LastUpdateStatus": "Successful", "PackageType": "Zip",
		"Architectures": []string{"arm64"},
		"LoggingConfig": map[string]string{"LogFormat": "Text", "LogGroup": ProcessorLogGroup},
	}
	var out any = conf
	if op == "GetFunction" {
		out = map[string]any{"Configuration": conf,
			"Code": map[string]string{"RepositoryType": "S3", "Location": "https://awslambda-" + l.region + "-tasks.s3." + l.region + ".amazonaws.com/snapshots/" + lambdaAccount + "/" + name}}
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Amzn-Requestid", newUUID())
	b, _ := json.Marshal(out)
	w.Write(b)
}
