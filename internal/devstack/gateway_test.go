package devstack

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/stowage-cli/stowage/awsclient"
)

type gatewayCall struct {
	method, path, apiKey, contentType string
	body                              []byte
	header                            map[string]string
}

func (c gatewayCall) do(t *testing.T, st *Stack) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(c.method, strings.TrimSuffix(st.GatewayURL, GatewayStage)+c.path, bytes.NewReader(c.body))
	if err != nil {
		t.Fatal(err)
	}
	if c.apiKey != "" {
		req.Header.Set("x-api-key", c.apiKey)
	}
	if c.contentType != "" {
		req.Header.Set("Content-Type", c.contentType)
	}
	for k, v := range c.header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp, string(body)
}

func TestGatewayAnswersLikeAPIGateway(t *testing.T) {
	st := startStack(t, Options{Requests: -1})
	key := st.APIKey
	stage := GatewayStage
	cases := []struct {
		name       string
		call       gatewayCall
		status     int
		body       string
		errType    string
		storedKey  string // "" none, "*" the request ID
		storedBody string
	}{
		{"reupload stores under the request ID", gatewayCall{"PUT", stage + "/product", key, "application/json", []byte(`{"a":1}`), nil},
			200, "", "", "*", `{"a":1}`},
		{"inplace stores under the decoded key", gatewayCall{"PUT", stage + "/product/" + st.Bucket + "/a%2Fb%20c%2Bd%25e%23f%3Fg%C3%A9", key, "application/xml", []byte("<x/>"), nil},
			200, "", "", "a/b c+d%e#f?gé", "<x/>"},
		{"empty body is stored", gatewayCall{"PUT", stage + "/product", key, "application/json", nil, nil},
			200, "", "", "*", ""},
		{"missing api key", gatewayCall{"PUT", stage + "/product", "", "application/json", []byte("{}"), nil},
			403, `{"message":"Forbidden"}`, "ForbiddenException", "", ""},
		{"wrong api key", gatewayCall{"PUT", stage + "/product", key + "x", "application/json", []byte("{}"), nil},
			403, `{"message":"Forbidden"}`, "ForbiddenException", "", ""},
		{"unknown path", gatewayCall{"PUT", stage + "/products", key, "", []byte("{}"), nil},
			403, `{"message":"Missing Authentication Token"}`, "MissingAuthenticationTokenException", "", ""},
		{"no stage", gatewayCall{"PUT", "/product", key, "", []byte("{}"), nil},
			403, `{"message":"Missing Authentication Token"}`, "MissingAuthenticationTokenException", "", ""},
		{"unknown method", gatewayCall{"POST", stage + "/product", key, "", []byte("{}"), nil},
			403, `{"message":"Missing Authentication Token"}`, "MissingAuthenticationTokenException", "", ""},
		{"GET is not a route", gatewayCall{"GET", stage + "/product/" + st.Bucket + "/k", key, "", nil, nil},
			403, `{"message":"Missing Authentication Token"}`, "MissingAuthenticationTokenException", "", ""},
		{"unescaped slash in key is another path", gatewayCall{"PUT", stage + "/product/" + st.Bucket + "/a/b", key, "", []byte("{}"), nil},
			403, `{"message":"Missing Authentication Token"}`, "MissingAuthenticationTokenException", "", ""},
		{"another bucket", gatewayCall{"PUT", stage + "/product/other-bucket/k", key, "", []byte("{}"), nil},
			400, "<Code>AccessDenied</Code>", "", "", ""},
		{"key longer than S3 allows", gatewayCall{"PUT", stage + "/product/" + st.Bucket + "/" + strings.Repeat("k", 1025), key, "", nil, nil},
			400, "<Code>KeyTooLongError</Code>", "", "", ""},
		{"wrong api key is checked before the integration", gatewayCall{"PUT", stage + "/product/" + st.Bucket + "/" + strings.Repeat("k", 1025), key + "x", "", nil, nil},
			403, `{"message":"Forbidden"}`, "ForbiddenException", "", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := tc.call.do(t, st)
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d, want %d (body %q)", resp.StatusCode, tc.status, body)
			}
			if !strings.Contains(body, tc.body) || (tc.body == "" && body != "") {
				t.Errorf("body %q, want %q", body, tc.body)
			}
			rid := resp.Header.Get("x-amzn-RequestId")
			if _, err := uuid.Parse(rid); err != nil {
				t.Errorf("x-amzn-RequestId %q is not a UUID", rid)
			}
			if got := resp.Header.Get("x-amzn-ErrorType"); got != tc.errType {
				t.Errorf("x-amzn-ErrorType %q, want %q", got, tc.errType)
			}
			want := tc.storedKey
			if want == "*" {
				want = rid
			}
			if want == "" {
				return
			}
			obj, err := st.backend.GetObject(st.Bucket, want, nil)
			if err != nil {
				t.Fatalf("object %q not stored: %v", want, err)
			}
			got, _ := io.ReadAll(obj.Contents)
			if string(got) != tc.storedBody || obj.Metadata["Content-Type"] != orDefault(tc.call.contentType, "binary/octet-stream") {
				t.Errorf("stored %q as %q, want %q as %q", got, obj.Metadata["Content-Type"], tc.storedBody, tc.call.contentType)
			}
		})
	}
}

// Real API Gateway runs the S3 integration whether or not the client is still there: with
// StoreBeforeLatency a client that gives up during the latency leaves a stored request.
func TestGatewayStoresBeforeLatency(t *testing.T) {
	st := startStack(t, Options{Requests: -1, Gateway: GatewayFaults{Latency: time.Hour, StoreBeforeLatency: true}})
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "PUT", st.GatewayURL+"/product/"+st.Bucket+"/gone-1", strings.NewReader(`{"n":1}`))
	req.Header.Set("x-api-key", st.APIKey)
	if resp, err := http.DefaultClient.Do(req); err == nil {
		resp.Body.Close()
		t.Fatalf("answered %d despite an hour of latency", resp.StatusCode)
	}
	st.SetGatewayFaults(GatewayFaults{})
	if err := st.Close(); err != nil { // waits for the handler to see the client leave
		t.Fatal(err)
	}
	rec := st.Received()
	if rec.Stored["gone-1"] != 1 {
		t.Fatalf("delivery count of gone-1 = %d, want 1 (stored before the latency)", rec.Stored["gone-1"])
	}
	last := rec.Requests[len(rec.Requests)-1]
	if !last.ClientGone || last.Status != 499 || last.Key != "gone-1" {
		t.Errorf("record = %+v", last)
	}
	if _, err := st.backend.GetObject(st.Bucket, "gone-1", nil); err != nil {
		t.Errorf("the object is not in the bucket: %v", err)
	}
}

func TestGatewayKeyProbeStoresNothing(t *testing.T) {
	st := startStack(t, Options{Requests: -1})
	for _, k := range []string{st.APIKey, st.APIKey + "x"} {
		gatewayCall{"PUT", GatewayStage + "/product/" + st.Bucket + "/" + strings.Repeat("p", 1100), k, "", nil, nil}.do(t, st)
	}
	if rec := st.Received(); len(rec.Stored) != 0 || len(rec.Requests) != 2 {
		t.Fatalf("stored %v from %d requests", rec.Stored, len(rec.Requests))
	}
}

func TestGatewayGarbageIsNotAPIGateway(t *testing.T) {
	st := startStack(t, Options{Requests: -1, Gateway: GatewayFaults{Garbage: true}})
	resp, body := gatewayCall{"PUT", GatewayStage + "/product", st.APIKey, "application/json", []byte("{}"), nil}.do(t, st)
	if resp.StatusCode != 200 || resp.Header.Get("x-amzn-RequestId") != "" || !strings.HasPrefix(body, "<!DOCTYPE html>") {
		t.Fatalf("%d %v %q", resp.StatusCode, resp.Header, body)
	}
	if rec := st.Received(); len(rec.Stored) != 0 {
		t.Fatalf("garbage mode stored %v", rec.Stored)
	}
}

func orDefault(s, d string) string {
	if s == "" {
		return d
	}
	return s
}

func TestGatewayRefusesBodiesOver10MiB(t *testing.T) {
	st := startStack(t, Options{Requests: -1})
	at := bytes.Repeat([]byte("a"), MaxGatewayPayload)
	resp, body := gatewayCall{"PUT", GatewayStage + "/product/" + st.Bucket + "/exactly-10MiB", st.APIKey, "text/plain", at, nil}.do(t, st)
	if resp.StatusCode != 200 {
		t.Fatalf("10485760 bytes: %d %q, want 200", resp.StatusCode, body)
	}
	over := append(at, 'b')
	resp, body = gatewayCall{"PUT", GatewayStage + "/product/" + st.Bucket + "/over", st.APIKey, "text/plain", over, nil}.do(t, st)
	if resp.StatusCode != 413 || body != "HTTP content length exceeded 10485760 bytes." {
		t.Fatalf("10485761 bytes: %d %q, want 413 HTTP content length exceeded 10485760 bytes.", resp.StatusCode, body)
	}
	if _, err := st.backend.HeadObject(st.Bucket, "over"); err == nil {
		t.Error("the refused body was stored")
	}
	// Without a Content-Length (chunked) the limit still holds.
	req, _ := http.NewRequest("PUT", st.GatewayURL+"/product", io.MultiReader(bytes.NewReader(over)))
	req.Header.Set("x-api-key", st.APIKey)
	r2, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	r2.Body.Close()
	if r2.StatusCode != 413 {
		t.Errorf("chunked body over the limit: %d, want 413", r2.StatusCode)
	}
	rec := st.Received()
	if rec.Stored["exactly-10MiB"] != 1 || rec.Stored["over"] != 0 || rec.Bytes != MaxGatewayPayload {
		t.Errorf("received: stored %v, %d bytes", rec.Stored, rec.Bytes)
	}
}

func TestGatewayFaults(t *testing.T) {
	st := startStack(t, Options{Requests: -1})
	call := gatewayCall{"PUT", GatewayStage + "/product", st.APIKey, "application/json", []byte("{}"), nil}

	st.SetGatewayFaults(GatewayFaults{Error5xxRatio: 1})
	seen := map[int]string{}
	for range 40 {
		resp, body := call.do(t, st)
		seen[resp.StatusCode] = body
	}
	if seen[504] != `{"message":"Endpoint request timed out"}` || seen[500] != `{"message":"Internal server error"}` || len(seen) != 2 {
		t.Errorf("5xx ratio 1 answered %v, want 504 Endpoint request timed out and 500", seen)
	}
	if rec := st.Received(); len(rec.Stored) != 0 {
		t.Errorf("failed requests stored %v", rec.Stored)
	}

	st.SetGatewayFaults(GatewayFaults{ThrottleRPS: 0.001})
	resp, _ := call.do(t, st) // the burst allows one
	if resp.StatusCode != 200 {
		t.Fatalf("first request under throttle: %d", resp.StatusCode)
	}
	resp, body := call.do(t, st)
	if resp.StatusCode != 429 || body != `{"message":"Too Many Requests"}` {
		t.Errorf("second request under throttle: %d %q, want 429 Too Many Requests", resp.StatusCode, body)
	}

	// Latency: a client that gives up first sees a timeout and nothing is stored.
	st.SetGatewayFaults(GatewayFaults{Latency: time.Hour})
	before := len(st.Received().Stored)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "PUT", st.GatewayURL+"/product", strings.NewReader("{}"))
	req.Header.Set("x-api-key", st.APIKey)
	if resp, err := http.DefaultClient.Do(req); err == nil {
		resp.Body.Close()
		t.Errorf("answered %d despite an hour of latency", resp.StatusCode)
	}
	st.SetGatewayFaults(GatewayFaults{})
	if err := st.Close(); err != nil { // waits for the handler to see the client leave
		t.Fatal(err)
	}
	if after := len(st.Received().Stored); after != before {
		t.Errorf("a request the client abandoned was stored")
	}
}

// Through stowage's own gateway client: every escaping-sensitive key round-trips and the
// records show each redrive arrived exactly once.
func TestGatewayWithAwsclientDeliversExactlyOnce(t *testing.T) {
	st := startStack(t, Options{Requests: -1, LostRatio: -1, TransientRatio: -1})
	ctx := context.Background()
	gw, err := awsclient.NewGateway(awsclient.GatewayOptions{BaseURL: st.GatewayURL, Auth: awsclient.AuthAPIKey, APIKey: st.APIKey})
	if err != nil {
		t.Fatal(err)
	}
	inplace, _ := awsclient.ParseRoute("PUT /product/{bucket}/{key}")
	reupload, _ := awsclient.ParseRoute("PUT /product")
	payload := func(body, id string) awsclient.Payload {
		return awsclient.Payload{
			Open: func() (io.ReadCloser, error) { return io.NopCloser(strings.NewReader(body)), nil },
			Size: int64(len(body)), ContentType: "application/json",
			Headers: map[string]string{HeaderOriginalID: id},
		}
	}
	for i, key := range append(append([]string(nil), callerKeys...), ".", "..", "%2F", "sp ace", "new\nline") {
		resp, err := gw.Send(ctx, inplace, awsclient.RouteVars{Bucket: st.Bucket, Key: key}, payload(`{"sku":"A"}`, fmt.Sprint("id-", i)))
		if err != nil {
			t.Errorf("send %q: %v", key, err)
			continue
		}
		if resp.StatusCode != 200 {
			t.Errorf("send %q: %d", key, resp.StatusCode)
		}
		if _, err := st.backend.HeadObject(st.Bucket, key); err != nil {
			t.Errorf("key %q did not round-trip: %v", key, err)
		}
	}
	resp, err := gw.Send(ctx, reupload, awsclient.RouteVars{}, payload(`{"sku":"B"}`, "orig-1"))
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Settle(ctx); err != nil {
		t.Fatal(err)
	}
	rec := st.Received()
	for i, key := range callerKeys {
		if id := fmt.Sprint("id-", i); rec.Stored[key] != 1 || rec.ByOriginalID[id] != 1 {
			t.Errorf("%q stored %d times (by original id %d), want exactly once", key, rec.Stored[key], rec.ByOriginalID[id])
		}
	}
	if rec.Stored[resp.RequestID] != 1 || rec.ByOriginalID["orig-1"] != 1 {
		t.Errorf("reupload: stored %d under its request ID %s", rec.Stored[resp.RequestID], resp.RequestID)
	}
	if s, ok := st.Status(resp.RequestID); !ok || s.State != StateProcessed {
		t.Errorf("status of the reupload: %+v %v, want PROCESSED", s, ok)
	}
	obj, _ := st.backend.HeadObject(st.Bucket, resp.RequestID)
	if obj.Metadata[metaOriginalID] != "orig-1" {
		t.Errorf("original request id not mapped onto the object: %v", obj.Metadata)
	}
	for _, r := range rec.Requests {
		if v := r.Header.Get("X-Api-Key"); v != "" && v != "REDACTED" {
			t.Errorf("the API key is in the record: %q", v)
		}
	}

	bad, _ := awsclient.NewGateway(awsclient.GatewayOptions{BaseURL: st.GatewayURL, Auth: awsclient.AuthAPIKey, APIKey: "wrong"})
	if _, err := bad.Send(ctx, reupload, awsclient.RouteVars{}, payload("{}", "x")); awsclient.KindOf(err) != awsclient.KindAccessDenied {
		t.Errorf("wrong key: %v, want access denied", err)
	}
	big := strings.Repeat("x", MaxGatewayPayload+1)
	p := payload(big, "big")
	if _, err := gw.Send(ctx, reupload, awsclient.RouteVars{}, p); awsclient.KindOf(err) != awsclient.KindTooLarge {
		t.Errorf("too large: %v", err)
	}
}

// Keys, paths and errors in the log come from outside: --verbose writes them to the
// operator's terminal, so they must arrive there inert.
func TestLogSanitizesOutsideBytes(t *testing.T) {
	var log bytes.Buffer
	st := startStack(t, Options{Requests: -1, LostRatio: -1, TransientRatio: -1, Logger: &log})
	evil := "evil%1B%5B2J%1B%5D0%3Bpwned%07%0Anext%C2%9B"
	resp, body := gatewayCall{"PUT", GatewayStage + "/product/" + st.Bucket + "/" + evil, st.APIKey, "application/json", []byte(`{"a":1}`), nil}.do(t, st)
	if resp.StatusCode != 200 {
		t.Fatalf("PUT: %d %q", resp.StatusCode, body)
	}
	if err := st.Settle(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := st.Close(); err != nil { // no more log lines after this
		t.Fatal(err)
	}
	out := log.String()
	if !strings.Contains(out, "␛[2J") || !strings.Contains(out, "processor: evil") {
		t.Errorf("the log does not show the key visibly:\n%s", out)
	}
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	if len(lines) != 2 { // one gateway line, one processor line: the key's newline stays inside
		t.Errorf("%d log lines, want 2 (gateway and processor):\n%q", len(lines), out)
	}
	for i, l := range lines {
		for _, r := range l {
			if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) {
				t.Errorf("log line %d carries control %U: %q", i, r, l)
			}
		}
	}
}

// The dangerous real case: S3 stored the body, then API Gateway answered 504. A client
// that retries delivers twice; the record shows the first one was stored.
func TestGatewayStoreThen504(t *testing.T) {
	st := startStack(t, Options{Requests: -1, LostRatio: -1, TransientRatio: -1, Gateway: GatewayFaults{StoreThen504Ratio: 1}})
	for _, tc := range []struct{ name, path string }{
		{"inplace", GatewayStage + "/product/" + st.Bucket + "/stored%20then%20504"},
		{"reupload", GatewayStage + "/product"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := gatewayCall{"PUT", tc.path, st.APIKey, "application/xml", []byte("<a/>"), nil}.do(t, st)
			if resp.StatusCode != 504 || body != `{"message":"Endpoint request timed out"}` {
				t.Fatalf("answered %d %q, want 504 Endpoint request timed out", resp.StatusCode, body)
			}
			rec := st.Received()
			last := rec.Requests[len(rec.Requests)-1]
			want := "stored then 504"
			if tc.name == "reupload" {
				want = resp.Header.Get("x-amzn-RequestId")
			}
			if last.Status != 504 || !last.StoredThen504 || last.Key != want || last.Size != 4 {
				t.Errorf("recorded %+v, want status 504, StoredThen504, key %q, 4 bytes", last, want)
			}
			if rec.Stored[want] != 1 || rec.StoredThen504 != len(rec.Requests) {
				t.Errorf("received: stored %v, StoredThen504 %d of %d", rec.Stored, rec.StoredThen504, len(rec.Requests))
			}
			obj, err := st.backend.GetObject(st.Bucket, want, nil)
			if err != nil {
				t.Fatalf("the body answered 504 was not stored: %v", err)
			}
			got, _ := io.ReadAll(obj.Contents)
			if string(got) != "<a/>" {
				t.Errorf("stored %q, want <a/>", got)
			}
		})
	}
	// A plain 5xx fault still stores nothing, and the knob off means 200 again.
	st.SetGatewayFaults(GatewayFaults{})
	resp, _ := gatewayCall{"PUT", GatewayStage + "/product", st.APIKey, "", []byte("{}"), nil}.do(t, st)
	if resp.StatusCode != 200 {
		t.Errorf("without the knob: %d, want 200", resp.StatusCode)
	}
	if n := st.Received().StoredThen504; n != 2 {
		t.Errorf("StoredThen504 %d after a 200, want still 2", n)
	}
}

// The router parses paths from outside. It must not panic, and a routed key must route
// to itself again once escaped the way stowage escapes it.
func FuzzGatewayRoute(f *testing.F) {
	for _, p := range []string{"/demo/product", "/demo/product/b/k", "/demo/product/b/a%2Fb", "/demo/product/b/%", "/demo/product//k",
		"/demo/product/b/k/", "/demo/productx", "/demo/product/%E2%80%AEb/%00", "/demo/product/b/%ZZ"} {
		f.Add("PUT", p)
	}
	f.Add("GET", "/demo/product")
	g := newGateway("b", "key", 1, GatewayFaults{}, nil, nil)
	f.Fuzz(func(t *testing.T, method, rawPath string) {
		u, err := url.Parse("http://127.0.0.1" + rawPath)
		if err != nil || u.Host != "127.0.0.1" {
			return
		}
		r := &http.Request{Method: method, URL: u}
		bucket, key, ok := g.route(r)
		if !ok {
			if bucket != "" || key != "" {
				t.Fatalf("refused %q but returned %q %q", rawPath, bucket, key)
			}
			return
		}
		if method != http.MethodPut {
			t.Fatalf("routed method %q", method)
		}
		if key == "" {
			if bucket != g.bucket {
				t.Fatalf("PUT /product routed to bucket %q", bucket)
			}
			return
		}
		again := &http.Request{Method: http.MethodPut, URL: &url.URL{Path: GatewayStage + "/product/" + bucket + "/" + key,
			RawPath: GatewayStage + "/product/" + url.PathEscape(bucket) + "/" + url.PathEscape(key)}}
		b2, k2, ok := g.route(again)
		if !ok || b2 != bucket || k2 != key {
			t.Fatalf("%q routed to %q %q, escaped again to %q %q %v", rawPath, bucket, key, b2, k2, ok)
		}
	})
}

// doctor's key probe against the emulated gateway: a right key, a wrong key and a missing
// route are told apart, and nothing is stored.
func TestGatewayKeyProbeThroughAwsclient(t *testing.T) {
	st := startStack(t, Options{Requests: -1})
	inplace := awsclient.Route{Method: "PUT", Path: "/product/{bucket}/{key}"}
	for _, c := range []struct {
		name  string
		key   string
		route awsclient.Route
		want  awsclient.KeyProbe
	}{
		{"right key", st.APIKey, inplace, awsclient.ProbeAccepted},
		{"wrong key", st.APIKey + "x", inplace, awsclient.ProbeKeyRefused},
		{"missing route", st.APIKey, awsclient.Route{Method: "PUT", Path: "/upload/{key}"}, awsclient.ProbeNoRoute},
	} {
		g, err := awsclient.NewGateway(awsclient.GatewayOptions{BaseURL: st.GatewayURL, Auth: awsclient.AuthAPIKey, APIKey: c.key})
		if err != nil {
			t.Fatal(err)
		}
		res, err := g.ProbeAuth(context.Background(), c.route)
		if err != nil || res.Verdict != c.want {
			t.Errorf("%s: verdict %q (%d %q), err %v; want %q", c.name, res.Verdict, res.Status, res.Message, err, c.want)
		}
	}
	if rec := st.Received(); len(rec.Stored) != 0 {
		t.Fatalf("the probes stored %v", rec.Stored)
	}
}
