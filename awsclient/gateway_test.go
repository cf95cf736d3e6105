package awsclient_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/stowage-cli/stowage/awsclient"
	"github.com/stowage-cli/stowage/internal/testenv"
)

var inplace = awsclient.Route{Method: "PUT", Path: "/product/{bucket}/{key}"}

func newGateway(t *testing.T, opts awsclient.GatewayOptions) *awsclient.Gateway {
	t.Helper()
	g, err := awsclient.NewGateway(opts)
	if err != nil {
		t.Fatal(err)
	}
	return g
}

// bytesPayload is a payload over b that counts how often it is opened.
func bytesPayload(b []byte, opens *atomic.Int32) awsclient.Payload {
	return awsclient.Payload{
		Open: func() (io.ReadCloser, error) {
			if opens != nil {
				opens.Add(1)
			}
			return io.NopCloser(bytes.NewReader(b)), nil
		},
		Size:        int64(len(b)),
		ContentType: "application/json",
	}
}

// received is what a test server saw.
type received struct {
	method, escapedPath, contentType, contentEncoding, apiKey, idem string
	segments                                                        []string
	body                                                            []byte
}

func recordingServer(t *testing.T, status int, answer string) (*httptest.Server, chan received) {
	got := make(chan received, 16)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		var segs []string
		for _, s := range strings.Split(r.URL.EscapedPath(), "/") {
			dec, err := url.PathUnescape(s)
			if err != nil {
				dec = "!bad escape " + s
			}
			segs = append(segs, dec)
		}
		got <- received{method: r.Method, escapedPath: r.URL.EscapedPath(), segments: segs, body: body,
			contentType: r.Header.Get("Content-Type"), contentEncoding: r.Header.Get("Content-Encoding"),
			apiKey: r.Header.Get("x-api-key"), idem: r.Header.Get("X-Stowage-Redrive-Id")}
		w.Header().Set("x-amzn-RequestId", "new-request-id")
		w.WriteHeader(status)
		io.WriteString(w, answer)
	}))
	t.Cleanup(srv.Close)
	return srv, got
}

// escapeCases pin how one {key} value is put on the wire.
var escapeCases = []struct{ key, raw string }{
	{"plain-key_1.json", "plain-key_1.json"},
	{"a/b/c", "a%2Fb%2Fc"},
	{"with space", "with%20space"},
	{"plus+sign", "plus%2Bsign"},
	{"100%", "100%25"},
	{"%41", "%2541"},
	{"hash#frag", "hash%23frag"},
	{"q?x=1&y", "q%3Fx%3D1%26y"},
	{"日本", "%E6%97%A5%E6%9C%AC"},
	{"é", "%C3%A9"},
	{"..", "%2E%2E"},
	{".", "%2E"},
	{"a..b", "a..b"},
	{"tilde~", "tilde~"},
	{"semi;colon", "semi%3Bcolon"},
}

func TestSendEscapesEachPlaceholderAsOneSegment(t *testing.T) {
	srv, got := recordingServer(t, 200, `{"ok":true}`)
	g := newGateway(t, awsclient.GatewayOptions{BaseURL: srv.URL + "/prod"})
	for _, tc := range escapeCases {
		t.Run(tc.key, func(t *testing.T) {
			resp, err := g.Send(context.Background(), inplace, awsclient.RouteVars{Bucket: "my-bucket", Key: tc.key},
				bytesPayload([]byte("{}"), nil))
			if err != nil {
				t.Fatal(err)
			}
			r := <-got
			if want := "/prod/product/my-bucket/" + tc.raw; r.escapedPath != want {
				t.Errorf("path on the wire = %q, want %q", r.escapedPath, want)
			}
			if len(r.segments) != 5 || r.segments[4] != tc.key {
				t.Errorf("server decoded %q, want the key %q as the last segment", r.segments, tc.key)
			}
			if resp.StatusCode != 200 || resp.RequestID != "new-request-id" || string(resp.Body) != `{"ok":true}` {
				t.Errorf("response = %+v", resp)
			}
		})
	}
}

func TestSendHeadersAndAPIKey(t *testing.T) {
	srv, got := recordingServer(t, 200, "")
	g := newGateway(t, awsclient.GatewayOptions{BaseURL: srv.URL, Auth: awsclient.AuthAPIKey, APIKey: "key-123"})
	p := bytesPayload([]byte(`<a/>`), nil)
	p.ContentType, p.ContentEncoding = "application/xml", "gzip"
	p.Headers = map[string]string{"X-Stowage-Redrive-Id": "rd-1"}
	if _, err := g.Send(context.Background(), awsclient.Route{Method: "PUT", Path: "/product"}, awsclient.RouteVars{}, p); err != nil {
		t.Fatal(err)
	}
	r := <-got
	if r.method != "PUT" || r.escapedPath != "/product" || string(r.body) != `<a/>` || r.contentType != "application/xml" ||
		r.contentEncoding != "gzip" || r.apiKey != "key-123" || r.idem != "rd-1" {
		t.Fatalf("server saw %+v", r)
	}
}

func TestSendResolvesAPIKeyOnceAndLazily(t *testing.T) {
	srv, got := recordingServer(t, 200, "")
	var calls atomic.Int32
	g := newGateway(t, awsclient.GatewayOptions{BaseURL: srv.URL, Auth: awsclient.AuthAPIKey,
		APIKeyFunc: func(context.Context) (string, error) { calls.Add(1); return "lazy-key", nil }})
	if calls.Load() != 0 {
		t.Fatal("key resolved before any Send")
	}
	for range 3 {
		if _, err := g.Send(context.Background(), inplace, awsclient.RouteVars{Bucket: "b", Key: "k"}, bytesPayload([]byte("x"), nil)); err != nil {
			t.Fatal(err)
		}
		if r := <-got; r.apiKey != "lazy-key" {
			t.Fatalf("api key = %q", r.apiKey)
		}
	}
	if calls.Load() != 1 {
		t.Fatalf("resolved %d times, want once", calls.Load())
	}
}

func TestSendMapsStatusesToKinds(t *testing.T) {
	tests := []struct {
		status  int
		body    string
		kind    awsclient.Kind
		message string
		unknown bool
	}{
		{429, `{"message":"Too Many Requests"}`, awsclient.KindThrottled, "Too Many Requests", false},
		{413, `{"message":"Request Too Long"}`, awsclient.KindTooLarge, "Request Too Long", false},
		{403, `{"message":"Missing Authentication Token"}`, awsclient.KindAccessDenied, "Missing Authentication Token", false},
		{403, `{"Message":"User is not authorized to access this resource"}`, awsclient.KindAccessDenied, "User is not authorized", false},
		{504, `{"message": "Endpoint request timed out"}`, awsclient.KindTimeout, "Endpoint request timed out", true},
		{500, `{"message":"Internal server error"}`, awsclient.KindServer, "Internal server error", false},
		{502, `not json`, awsclient.KindServer, "Bad Gateway", false},
		{400, `{"message":"Invalid request body"}`, awsclient.KindInvalid, "Invalid request body", false},
		{404, ``, awsclient.KindInvalid, "Not Found", false},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.status, tt.kind), func(t *testing.T) {
			srv, _ := recordingServer(t, tt.status, tt.body)
			g := newGateway(t, awsclient.GatewayOptions{BaseURL: srv.URL, Auth: awsclient.AuthAPIKey, APIKey: "secret-key-xyz"})
			resp, err := g.Send(context.Background(), inplace, awsclient.RouteVars{Bucket: "b", Key: "k"}, bytesPayload([]byte("x"), nil))
			var e *awsclient.Error
			if !errors.As(err, &e) {
				t.Fatalf("err = %v", err)
			}
			if e.Kind != tt.kind || !strings.Contains(e.Message, tt.message) || e.Code != fmt.Sprint(tt.status) {
				t.Errorf("err = %+v, want kind %v with message %q", e, tt.kind, tt.message)
			}
			if awsclient.DeliveryUnknown(err) != tt.unknown {
				t.Errorf("delivery unknown = %v, want %v", awsclient.DeliveryUnknown(err), tt.unknown)
			}
			if resp.StatusCode != tt.status || resp.RequestID != "new-request-id" || string(resp.Body) != tt.body {
				t.Errorf("response = %+v", resp)
			}
			if e.Remedy == "" {
				t.Error("no remedy")
			}
			if strings.Contains(fmt.Sprintf("%v %+v", err, e), "secret-key-xyz") {
				t.Error("the API key leaked into the error")
			}
		})
	}
}

func TestSendTruncatesTheAnswer(t *testing.T) {
	for _, n := range []int{0, 100, awsclient.MaxGatewayBody, awsclient.MaxGatewayBody + 1, 1 << 20} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			srv, _ := recordingServer(t, 200, strings.Repeat("a", n))
			g := newGateway(t, awsclient.GatewayOptions{BaseURL: srv.URL})
			resp, err := g.Send(context.Background(), inplace, awsclient.RouteVars{Bucket: "b", Key: "k"}, bytesPayload([]byte("x"), nil))
			if err != nil {
				t.Fatal(err)
			}
			wantLen := min(n, awsclient.MaxGatewayBody)
			if len(resp.Body) != wantLen || resp.BodyTruncated != (n > awsclient.MaxGatewayBody) {
				t.Fatalf("body %d bytes, truncated %v", len(resp.Body), resp.BodyTruncated)
			}
		})
	}
}

// gatedReader hands out first, then blocks until released, then hands out the rest.
type gatedReader struct {
	first, rest []byte
	release     chan struct{}
	read        atomic.Int64
}

func (r *gatedReader) Read(p []byte) (int, error) {
	if len(r.first) > 0 {
		n := copy(p, r.first)
		r.first = r.first[n:]
		r.read.Add(int64(n))
		return n, nil
	}
	<-r.release
	if len(r.rest) == 0 {
		return 0, io.EOF
	}
	n := copy(p, r.rest)
	r.rest = r.rest[n:]
	r.read.Add(int64(n))
	return n, nil
}

func (r *gatedReader) Close() error { return nil }

func TestSendStreamsTheBody(t *testing.T) {
	const head, tail = 64 << 10, 4 << 20
	body := &gatedReader{first: bytes.Repeat([]byte("h"), head), rest: bytes.Repeat([]byte("t"), tail), release: make(chan struct{})}
	var serverGot atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// The first part arrives while the reader still holds back the rest: nothing
		// read the whole body before sending.
		if _, err := io.ReadFull(r.Body, make([]byte, head)); err != nil {
			w.WriteHeader(400)
			return
		}
		close(body.release)
		n, _ := io.Copy(io.Discard, r.Body)
		serverGot.Store(head + n)
		w.WriteHeader(200)
	}))
	t.Cleanup(srv.Close)
	var opens atomic.Int32
	g := newGateway(t, awsclient.GatewayOptions{BaseURL: srv.URL, Auth: awsclient.AuthAPIKey, APIKey: "k"})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_, err := g.Send(ctx, inplace, awsclient.RouteVars{Bucket: "b", Key: "k"}, awsclient.Payload{
		Open: func() (io.ReadCloser, error) { opens.Add(1); return body, nil },
		Size: head + tail,
	})
	if err != nil {
		t.Fatalf("send: %v (a body buffered before sending deadlocks here)", err)
	}
	if serverGot.Load() != head+tail || opens.Load() != 1 {
		t.Fatalf("server got %d bytes, Open called %d times", serverGot.Load(), opens.Load())
	}
}

// sigV4Server accepts only requests whose signature it can recompute with the SDK signer
// from what arrived: the method, the escaped path, the signed headers and the body.
func sigV4Server(t *testing.T, creds aws.Credentials, region string) (*httptest.Server, chan received) {
	got := make(chan received, 16)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if err := testenv.VerifySigV4(r, body, creds, region); err != nil {
			w.WriteHeader(http.StatusForbidden)
			fmt.Fprintf(w, `{"message":%q}`, err.Error())
			return
		}
		seg := strings.Split(r.URL.EscapedPath(), "/")
		key, _ := url.PathUnescape(seg[len(seg)-1])
		got <- received{escapedPath: r.URL.EscapedPath(), body: body, segments: []string{key}}
		w.WriteHeader(200)
	}))
	t.Cleanup(srv.Close)
	return srv, got
}

func TestSendSignsWithSigV4(t *testing.T) {
	creds := aws.Credentials{AccessKeyID: "AKIDEXAMPLE", SecretAccessKey: "wJalrXUtnFEMI/K7MDENG", SessionToken: "session-token"}
	srv, got := sigV4Server(t, creds, "eu-west-1")
	g := newGateway(t, awsclient.GatewayOptions{BaseURL: srv.URL + "/prod", Auth: awsclient.AuthIAM, Region: "eu-west-1",
		Credentials: credentials.NewStaticCredentialsProvider(creds.AccessKeyID, creds.SecretAccessKey, creds.SessionToken)})
	body := []byte(`{"order":42}`)

	for _, tc := range escapeCases {
		t.Run("key "+tc.key, func(t *testing.T) {
			var opens atomic.Int32
			p := bytesPayload(body, &opens)
			p.Headers = map[string]string{"X-Stowage-Original-Request-Id": "orig-1"}
			if _, err := g.Send(context.Background(), inplace, awsclient.RouteVars{Bucket: "b", Key: tc.key}, p); err != nil {
				t.Fatal(err)
			}
			r := <-got
			if r.segments[0] != tc.key || string(r.body) != string(body) {
				t.Fatalf("server saw key %q body %q", r.segments[0], r.body)
			}
			if opens.Load() != 2 {
				t.Errorf("Open called %d times, want 2 (hash, then send)", opens.Load())
			}
		})
	}

	t.Run("given hash", func(t *testing.T) {
		var opens atomic.Int32
		p := bytesPayload(body, &opens)
		sum := sha256.Sum256(body)
		p.SHA256 = hex.EncodeToString(sum[:])
		if _, err := g.Send(context.Background(), inplace, awsclient.RouteVars{Bucket: "b", Key: "k"}, p); err != nil {
			t.Fatal(err)
		}
		<-got
		if opens.Load() != 1 {
			t.Errorf("Open called %d times, want 1", opens.Load())
		}
	})

	t.Run("wrong hash is refused", func(t *testing.T) {
		p := bytesPayload(body, nil)
		p.SHA256 = strings.Repeat("0", 64)
		_, err := g.Send(context.Background(), inplace, awsclient.RouteVars{Bucket: "b", Key: "k"}, p)
		if awsclient.KindOf(err) != awsclient.KindAccessDenied {
			t.Fatalf("err = %v, want access denied", err)
		}
	})

	t.Run("wrong secret is refused", func(t *testing.T) {
		bad := newGateway(t, awsclient.GatewayOptions{BaseURL: srv.URL, Auth: awsclient.AuthIAM, Region: "eu-west-1",
			Credentials: credentials.NewStaticCredentialsProvider(creds.AccessKeyID, "other", creds.SessionToken)})
		_, err := bad.Send(context.Background(), inplace, awsclient.RouteVars{Bucket: "b", Key: "k"}, bytesPayload(body, nil))
		if awsclient.KindOf(err) != awsclient.KindAccessDenied || !strings.Contains(err.Error(), "signature mismatch") {
			t.Fatalf("err = %v, want access denied with the gateway's message", err)
		}
	})

	t.Run("size mismatch is not sent", func(t *testing.T) {
		p := bytesPayload(body, nil)
		p.Size++
		_, err := g.Send(context.Background(), inplace, awsclient.RouteVars{Bucket: "b", Key: "k"}, p)
		if awsclient.KindOf(err) != awsclient.KindInvalid || !errors.Is(err, awsclient.ErrNotSent) {
			t.Fatalf("err = %v, want invalid, not sent", err)
		}
	})
}

func TestSendNetworkFailures(t *testing.T) {
	payload := bytesPayload([]byte(`{"a":1}`), nil)
	vars := awsclient.RouteVars{Bucket: "b", Key: "k"}

	t.Run("refused before sending", func(t *testing.T) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := ln.Addr().String()
		ln.Close()
		g := newGateway(t, awsclient.GatewayOptions{BaseURL: "http://" + addr, Auth: awsclient.AuthAPIKey, APIKey: "secret-key-xyz"})
		_, err = g.Send(context.Background(), inplace, vars, payload)
		if awsclient.KindOf(err) != awsclient.KindNetwork || !errors.Is(err, awsclient.ErrNotSent) || awsclient.DeliveryUnknown(err) {
			t.Fatalf("err = %v, want network, not sent", err)
		}
		if strings.Contains(err.Error(), "secret-key-xyz") {
			t.Fatal("the API key leaked into the error")
		}
	})

	t.Run("lost after sending", func(t *testing.T) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { ln.Close() })
		go func() {
			for {
				conn, err := ln.Accept()
				if err != nil {
					return
				}
				// Read the whole request, then hang up without answering.
				req, err := http.ReadRequest(bufio.NewReader(conn))
				if err == nil {
					io.Copy(io.Discard, req.Body)
				}
				conn.Close()
			}
		}()
		g := newGateway(t, awsclient.GatewayOptions{BaseURL: "http://" + ln.Addr().String()})
		_, err = g.Send(context.Background(), inplace, vars, payload)
		if awsclient.KindOf(err) != awsclient.KindNetwork || !awsclient.DeliveryUnknown(err) || errors.Is(err, awsclient.ErrNotSent) {
			t.Fatalf("err = %v (kind %v), want network, delivery unknown", err, awsclient.KindOf(err))
		}
	})

	t.Run("timed out waiting", func(t *testing.T) {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			io.Copy(io.Discard, r.Body)
			<-r.Context().Done()
		}))
		t.Cleanup(srv.Close)
		g := newGateway(t, awsclient.GatewayOptions{BaseURL: srv.URL})
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		defer cancel()
		_, err := g.Send(ctx, inplace, vars, payload)
		if awsclient.KindOf(err) != awsclient.KindTimeout || !awsclient.DeliveryUnknown(err) {
			t.Fatalf("err = %v (kind %v), want timeout, delivery unknown", err, awsclient.KindOf(err))
		}
	})

	t.Run("body stream fails midway", func(t *testing.T) {
		srv, _ := recordingServer(t, 200, "")
		g := newGateway(t, awsclient.GatewayOptions{BaseURL: srv.URL})
		streamErr := &awsclient.Error{Kind: awsclient.KindNetwork, Op: "get", Resource: "s3://b/k", Err: io.ErrUnexpectedEOF}
		p := awsclient.Payload{Size: 10, Open: func() (io.ReadCloser, error) {
			return io.NopCloser(io.MultiReader(strings.NewReader("abc"), iotestErrReader{streamErr})), nil
		}}
		_, err := g.Send(context.Background(), inplace, vars, p)
		var e *awsclient.Error
		if !errors.As(err, &e) || e.Op != "send" || e.Kind != awsclient.KindNetwork || !awsclient.DeliveryUnknown(err) {
			t.Fatalf("err = %v, want a send network error with delivery unknown", err)
		}
	})

	t.Run("canceled before sending", func(t *testing.T) {
		srv, _ := recordingServer(t, 200, "")
		g := newGateway(t, awsclient.GatewayOptions{BaseURL: srv.URL})
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		_, err := g.Send(ctx, inplace, vars, payload)
		if awsclient.KindOf(err) != awsclient.KindCanceled || !errors.Is(err, awsclient.ErrNotSent) {
			t.Fatalf("err = %v (kind %v), want canceled, not sent", err, awsclient.KindOf(err))
		}
	})
}

func TestSendRefusals(t *testing.T) {
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hits.Add(1) }))
	t.Cleanup(srv.Close)
	vars := awsclient.RouteVars{Bucket: "b", Key: "k"}

	ro := newGateway(t, awsclient.GatewayOptions{BaseURL: srv.URL, ReadOnly: true})
	_, err := ro.Send(context.Background(), inplace, vars, bytesPayload([]byte("x"), nil))
	if awsclient.KindOf(err) != awsclient.KindReadOnly || !errors.Is(err, awsclient.ErrReadOnly) || !errors.Is(err, awsclient.ErrNotSent) {
		t.Errorf("read-only: err = %v", err)
	}

	g := newGateway(t, awsclient.GatewayOptions{BaseURL: srv.URL})
	_, err = g.Send(context.Background(), inplace, awsclient.RouteVars{Bucket: "b"}, bytesPayload([]byte("x"), nil))
	if awsclient.KindOf(err) != awsclient.KindInvalid || !strings.Contains(err.Error(), "{key} is empty") {
		t.Errorf("empty key: err = %v", err)
	}
	big := awsclient.Payload{Open: func() (io.ReadCloser, error) { return nil, errors.New("must not open") },
		Size: awsclient.MaxGatewayPayload + 1}
	_, err = g.Send(context.Background(), inplace, vars, big)
	if awsclient.KindOf(err) != awsclient.KindTooLarge || !errors.Is(err, awsclient.ErrNotSent) {
		t.Errorf("too large: err = %v", err)
	}
	failing := newGateway(t, awsclient.GatewayOptions{BaseURL: srv.URL, Auth: awsclient.AuthAPIKey,
		APIKeyFunc: func(context.Context) (string, error) { return "", errors.New("parameter /x not found") }})
	_, err = failing.Send(context.Background(), inplace, vars, bytesPayload([]byte("x"), nil))
	if !errors.Is(err, awsclient.ErrNotSent) || !strings.Contains(err.Error(), "api_key") {
		t.Errorf("no key: err = %v", err)
	}
	if hits.Load() != 0 {
		t.Fatalf("%d requests reached the server", hits.Load())
	}
}

func TestNewGatewayChecksOptions(t *testing.T) {
	bad := []awsclient.GatewayOptions{
		{BaseURL: ""},
		{BaseURL: "ftp://host"},
		{BaseURL: "/relative"},
		{BaseURL: "https://h", Auth: "oauth"},
		{BaseURL: "https://h", Auth: awsclient.AuthAPIKey},
		{BaseURL: "https://h", Auth: awsclient.AuthIAM},
	}
	for _, o := range bad {
		if _, err := awsclient.NewGateway(o); err == nil {
			t.Errorf("%+v accepted", o)
		}
	}
}

func TestSendNeverFollowsRedirects(t *testing.T) {
	elsewhere, got := recordingServer(t, 200, "")
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		http.Redirect(w, r, elsewhere.URL+"/steal", http.StatusTemporaryRedirect)
	}))
	t.Cleanup(srv.Close)
	g := newGateway(t, awsclient.GatewayOptions{BaseURL: srv.URL, Auth: awsclient.AuthAPIKey, APIKey: "k",
		HTTPClient: &http.Client{}})
	resp, err := g.Send(context.Background(), inplace, awsclient.RouteVars{Bucket: "b", Key: "k"}, bytesPayload([]byte("x"), nil))
	if awsclient.KindOf(err) != awsclient.KindInvalid || resp.StatusCode != http.StatusTemporaryRedirect {
		t.Fatalf("err = %v, status %d; want the redirect reported", err, resp.StatusCode)
	}
	select {
	case r := <-got:
		t.Fatalf("the redirect was followed, carrying %+v", r)
	default:
	}
}

type iotestErrReader struct{ err error }

func (r iotestErrReader) Read([]byte) (int, error) { return 0, r.err }

// ProbeAuth reads API Gateway's answers; anything else is garbage, never "cannot reach".
func TestProbeAuthVerdicts(t *testing.T) {
	route := awsclient.Route{Method: http.MethodPut, Path: "/product/{bucket}/{key}"}
	cases := []struct {
		name   string
		status int
		reqID  bool
		ctype  string
		body   string
		want   awsclient.KeyProbe
	}{
		{"integration refused the key", 400, true, "application/xml", "<Error><Code>KeyTooLongError</Code></Error>", awsclient.ProbeAccepted},
		{"integration failed", 500, true, "application/json", `{"message":"Internal server error"}`, awsclient.ProbeAccepted},
		{"wrong key", 403, true, "application/json", `{"message":"Forbidden"}`, awsclient.ProbeKeyRefused},
		{"no route", 403, true, "application/json", `{"message":"Missing Authentication Token"}`, awsclient.ProbeNoRoute},
		{"iam", 403, true, "application/json", `{"message":"User: anonymous is not authorized to perform: execute-api:Invoke"}`, awsclient.ProbeDenied},
		{"throttled", 429, true, "application/json", `{"message":"Too Many Requests"}`, awsclient.ProbeThrottled},
		{"stored", 200, true, "application/json", ``, awsclient.ProbeStored},
		{"html portal", 200, false, "text/html", "<!DOCTYPE html><html><body>Sign in to the Wi-Fi</body></html>", awsclient.ProbeGarbage},
		{"html with a request id", 403, true, "text/html", "<html>denied</html>", awsclient.ProbeGarbage},
		{"no request id", 400, false, "application/json", `{"message":"Bad"}`, awsclient.ProbeGarbage},
		{"403 not json", 403, true, "text/plain", "nope", awsclient.ProbeGarbage},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var path string
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				path = r.URL.EscapedPath()
				if r.Header.Get("x-api-key") != "k" || r.ContentLength != 0 {
					t.Errorf("probe sent key %q and %d bytes", r.Header.Get("x-api-key"), r.ContentLength)
				}
				if c.reqID {
					w.Header().Set("x-amzn-RequestId", "0b1c2d3e-0000-4000-8000-000000000000")
				}
				w.Header().Set("Content-Type", c.ctype)
				w.WriteHeader(c.status)
				io.WriteString(w, c.body)
			}))
			defer srv.Close()
			g := newGateway(t, awsclient.GatewayOptions{BaseURL: srv.URL + "/prod", Auth: awsclient.AuthAPIKey, APIKey: "k"})
			res, err := g.ProbeAuth(context.Background(), route)
			if err != nil {
				t.Fatal(err)
			}
			if res.Verdict != c.want || res.Status != c.status {
				t.Fatalf("verdict %q (%d), want %q", res.Verdict, res.Status, c.want)
			}
			if !strings.Contains(path, "/stowage-doctor-probe..invalid/stowage-doctor-probe-xxx") || len(path) < 1100 {
				t.Errorf("probe path %q", path)
			}
		})
	}
}

func TestProbeAuthSendsNothingItCannotProve(t *testing.T) {
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hits.Add(1) }))
	defer srv.Close()
	ro := newGateway(t, awsclient.GatewayOptions{BaseURL: srv.URL, Auth: awsclient.AuthAPIKey, APIKey: "k", ReadOnly: true})
	if _, err := ro.ProbeAuth(context.Background(), awsclient.Route{Method: "PUT", Path: "/product/{bucket}/{key}"}); !errors.Is(err, awsclient.ErrReadOnly) {
		t.Errorf("read-only probe: %v", err)
	}
	rw := newGateway(t, awsclient.GatewayOptions{BaseURL: srv.URL, Auth: awsclient.AuthAPIKey, APIKey: "k"})
	if _, err := rw.ProbeAuth(context.Background(), awsclient.Route{Method: "PUT", Path: "/product"}); awsclient.KindOf(err) != awsclient.KindInvalid {
		t.Errorf("probe of a route without {key}: %v", err)
	}
	if hits.Load() != 0 {
		t.Fatalf("%d requests reached the server", hits.Load())
	}
}
