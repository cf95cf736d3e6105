package awsclient_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stowage-cli/stowage/awsclient"
	"github.com/stowage-cli/stowage/internal/config"
)

// More calls in flight than the SDK's 10 idle connections per host reuse their
// connections: a second wave of 32 concurrent GETs dials nothing new (with the SDK's
// default, 22 of them dialled again).
func TestConnectionsAreKeptForConcurrentCalls(t *testing.T) {
	isolateAWS(t)
	const wave = 32
	var dials atomic.Int64
	var arrived sync.WaitGroup
	var release atomic.Pointer[chan struct{}]
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		arrived.Done()
		<-*release.Load() // every call of the wave is in flight at once
		w.Header().Set("ETag", `"e"`)
		io.WriteString(w, "{}")
	}))
	srv.Config.ConnState = func(_ net.Conn, st http.ConnState) {
		if st == http.StateNew {
			dials.Add(1)
		}
	}
	srv.Start()
	t.Cleanup(srv.Close)
	env := &config.Env{Name: "conns", Endpoints: config.Endpoints{S3: srv.URL, DynamoDB: srv.URL},
		Storage: config.Storage{Bucket: "b"}, Status: config.Status{Table: "t"}}
	env.ApplyDefaults()
	c, err := awsclient.Open(context.Background(), env, awsclient.WithStaticCredentials("AKIDTEST", "secret"))
	if err != nil {
		t.Fatal(err)
	}
	runWave := func() {
		ch := make(chan struct{})
		release.Store(&ch)
		arrived.Add(wave)
		var done sync.WaitGroup
		for i := range wave {
			done.Add(1)
			go func() {
				defer done.Done()
				rc, _, err := c.Objects.Get(context.Background(), fmt.Sprintf("k%d", i), awsclient.Pin{})
				if err != nil {
					t.Error(err)
					return
				}
				io.Copy(io.Discard, rc)
				rc.Close()
			}()
		}
		arrived.Wait()
		close(ch)
		done.Wait()
	}
	runWave()
	first := dials.Load()
	runWave()
	if again := dials.Load() - first; again != 0 {
		t.Fatalf("the first wave of %d calls dialled %d connections, the second %d more: idle connections were dropped", wave, first, again)
	}
}

// BenchmarkRedriveCalls measures the client's own cost of the AWS calls a redrive makes
// for each item (the lease claim, the pinned GetObject read to the end, the lease finish),
// against a loopback server that answers each with a canned response, so that almost all
// of the CPU counted is the SDK's and stowage's:
//
//	go test ./awsclient -run '^$' -bench RedriveCalls -benchmem -cpuprofile /tmp/cpu.prof
func BenchmarkRedriveCalls(b *testing.B) {
	for _, v := range []string{"AWS_PROFILE", "AWS_REGION", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY",
		"AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL_DYNAMODB"} {
		b.Setenv(v, "")
	}
	b.Setenv("AWS_CONFIG_FILE", "/dev/null")
	b.Setenv("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
	b.Setenv("AWS_EC2_METADATA_DISABLED", "true")

	body := bytes.Repeat([]byte(`{"sku":"ABC-123","qty":1}`+"\n"), 10<<10/26)
	modified := time.Date(2026, 12, 7, 3, 0, 0, 0, time.UTC).Format(http.TimeFormat)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		if strings.HasPrefix(r.Header.Get("X-Amz-Target"), "DynamoDB_20120810.") {
			w.Header().Set("Content-Type", "application/x-amz-json-1.0")
			io.WriteString(w, `{}`)
			return
		}
		w.Header().Set("ETag", `"0123456789abcdef0123456789abcdef"`)
		w.Header().Set("Last-Modified", modified)
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Content-Length", strconv.Itoa(len(body)))
		w.Write(body)
	}))
	b.Cleanup(srv.Close)

	env := &config.Env{
		Name:      "bench",
		Endpoints: config.Endpoints{S3: srv.URL, DynamoDB: srv.URL},
		Storage:   config.Storage{Bucket: "bench"},
		Status:    config.Status{Table: "status"},
		Redrive:   config.Redrive{LeaseTable: "leases"},
	}
	env.ApplyDefaults()
	c, err := awsclient.Open(context.Background(), env, awsclient.WithStaticCredentials("AKIDBENCH", "secret"))
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	now := time.Now()
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			id := "3f2a9c1e-8b7d-4e6f-9a1b-2c3d4e5f6a7b"
			if _, err := c.Leases.Claim(ctx, awsclient.ClaimRequest{RequestID: id, RunID: "run", Operator: "op", Env: "bench",
				Now: now, TTL: time.Minute}); err != nil {
				b.Error(err)
				return
			}
			rc, _, err := c.Objects.Get(ctx, id, awsclient.Pin{ETag: "0123456789abcdef0123456789abcdef"})
			if err != nil {
				b.Error(err)
				return
			}
			if _, err := io.Copy(io.Discard, rc); err != nil {
				b.Error(err)
			}
			rc.Close()
			if err := c.Leases.Finish(ctx, awsclient.ClaimFinish{RequestID: id, RunID: "run", Outcome: "delivered",
				At: now, Sent: true}); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// The SDK closes a request's body as soon as the transport returns the response, while
// net/http may still be finishing the request (after the declared length it reads what is
// left of the body through WriteTo). A closed SDK body answered WriteTo with an error, the
// transport closed the connection, and the response being read broke off: `ls --status
// PROCESSED` on the 100k demo failed with "use of closed network connection" once three
// attempts of one Query page had. The transport here finishes each request only after the
// SDK has started reading the response (and closed the request body), every time.
func TestLateRequestWriteKeepsTheResponse(t *testing.T) {
	isolateAWS(t)
	// Larger than the transport's read buffer, so that most of it is still on the
	// connection when the request's write ends.
	item := fmt.Sprintf(`{"Item":{"requestId":{"S":"r1"},"status":{"S":"FAILED"},"error":{"S":%q}}}`, strings.Repeat("x", 64<<10))
	connClosed := make(chan struct{}, 64)
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/x-amz-json-1.0")
		io.WriteString(w, item)
	}))
	srv.Config.ConnState = func(_ net.Conn, st http.ConnState) {
		if st == http.StateClosed {
			connClosed <- struct{}{}
		}
	}
	srv.Start()
	t.Cleanup(srv.Close)
	env := &config.Env{Name: "late", Endpoints: config.Endpoints{S3: srv.URL, DynamoDB: srv.URL},
		Storage: config.Storage{Bucket: "b"}, Status: config.Status{Table: "t"}}
	env.ApplyDefaults()
	c, err := awsclient.Open(context.Background(), env, awsclient.WithStaticCredentials("AKIDTEST", "secret"),
		awsclient.WithHTTPWrap(func(base http.RoundTripper) http.RoundTripper {
			return lateWriteTransport{base: base, connClosed: connClosed}
		}))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for i := range 3 {
		st, found, err := c.Statuses.Get(ctx, "r1")
		if err != nil {
			t.Fatalf("call %d: %v", i, err)
		}
		if !found || st.State != "FAILED" || len(st.Error) < 64<<10 {
			t.Fatalf("call %d: found %v, state %q, error of %d bytes", i, found, st.State, len(st.Error))
		}
	}
}

// lateWriteTransport holds the end of each request's write (the transport's WriteTo of
// the body, after the declared length) until the caller reads the response; when that
// write failed, the read waits until the server saw the connection close, as it would on
// a loaded machine.
type lateWriteTransport struct {
	base       http.RoundTripper
	connClosed <-chan struct{}
}

func (l lateWriteTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Body == nil {
		return l.base.RoundTrip(r)
	}
	reading := make(chan struct{})
	wrote := make(chan error, 1)
	r = r.Clone(r.Context())
	r.Body = &lateTail{ReadCloser: r.Body, reading: reading, wrote: wrote}
	resp, err := l.base.RoundTrip(r)
	if err != nil {
		return nil, err
	}
	resp.Body = &firstReadWaits{ReadCloser: resp.Body, reading: reading, wrote: wrote, connClosed: l.connClosed}
	return resp, nil
}

type lateTail struct {
	io.ReadCloser
	reading <-chan struct{}
	wrote   chan<- error
}

func (b *lateTail) WriteTo(w io.Writer) (int64, error) {
	select {
	case <-b.reading:
	case <-time.After(5 * time.Second):
	}
	var n int64
	var err error
	if wt, ok := b.ReadCloser.(io.WriterTo); ok {
		n, err = wt.WriteTo(w)
	} else {
		n, err = io.Copy(w, struct{ io.Reader }{b.ReadCloser})
	}
	b.wrote <- err
	return n, err
}

type firstReadWaits struct {
	io.ReadCloser
	once       sync.Once
	reading    chan<- struct{}
	wrote      <-chan error
	connClosed <-chan struct{}
}

func (b *firstReadWaits) Read(p []byte) (int, error) {
	b.once.Do(func() {
		close(b.reading)
		var err error
		select {
		case err = <-b.wrote:
		case <-time.After(5 * time.Second):
		}
		if err != nil {
			select {
			case <-b.connClosed:
			case <-time.After(5 * time.Second):
			}
		}
	})
	return b.ReadCloser.Read(p)
}
