package redrive_test

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	toxiproxy "github.com/Shopify/toxiproxy/v2"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/google/uuid"
	"github.com/rs/zerolog"

	"github.com/stowage-cli/stowage/awsclient"
	"github.com/stowage-cli/stowage/internal/config"
	"github.com/stowage-cli/stowage/internal/devstack"
	"github.com/stowage-cli/stowage/internal/testenv"
	"github.com/stowage-cli/stowage/redrive"
)

// Every mode takes requests that failed with a transient error to PROCESSED: inplace and
// s3-copy under the same request ID, reupload under the new ID the gateway assigned.
func TestEachModeTurnsTransientFailuresProcessed(t *testing.T) {
	for _, mode := range redrive.Modes {
		t.Run(string(mode), func(t *testing.T) {
			// An event mode runs in the demo topology whose trigger is its target.
			d := startDev(t, devOptions{stack: devstack.Options{Seed: 7, Requests: 80, TransientRatio: 0.4, LostRatio: -1, Trigger: triggerOf[mode]}})
			ids := d.failed(t, "transient", 5)
			if len(ids) < 3 {
				t.Fatalf("the seeded stack has only %d transient failures", len(ids))
			}
			m := d.plan(t, mode, redrive.Selection{IDs: ids})
			if len(m.Items) != len(ids) || len(m.Missing) != 0 {
				t.Fatalf("planned %d items, %d missing", len(m.Items), len(m.Missing))
			}
			rep := d.run(t, m, d.options("run"))
			if rep.Outcome != redrive.OutcomeDelivered {
				t.Fatalf("outcome %s: %+v", rep.Outcome, rep.Items)
			}
			d.settle(t)
			got := d.st.Received()
			for _, it := range rep.Items {
				processedAs := it.RequestID
				if mode == redrive.ModeReupload {
					processedAs = it.NewRequestID
					if processedAs == "" || processedAs == it.RequestID {
						t.Errorf("%s: reupload reported new request ID %q", it.RequestID, processedAs)
					}
				}
				if s := d.state(processedAs); s != devstack.StateProcessed {
					t.Errorf("%s: status %q after %s, want PROCESSED", processedAs, s, mode)
				}
				if mode.UsesGateway() && got.ByOriginalID[it.RequestID] != 1 {
					t.Errorf("%s reached the gateway %d times, want 1", it.RequestID, got.ByOriginalID[it.RequestID])
				}
			}
			if mode == redrive.ModeS3Copy && len(got.Requests) != 0 {
				t.Errorf("s3-copy sent %d requests to the gateway", len(got.Requests))
			}
		})
	}
}

// toxicGateway puts a toxiproxy (in process, v2.12.0) between the client and the gateway
// and returns the proxy, so that toxics can reset connections.
func toxicGateway(t testing.TB, gatewayURL string) (*toxiproxy.Proxy, string) {
	t.Helper()
	u, err := url.Parse(gatewayURL)
	if err != nil {
		t.Fatal(err)
	}
	srv := toxiproxy.NewServer(toxiproxy.NewMetricsContainer(nil), zerolog.Nop())
	p := toxiproxy.NewProxy(srv, "gateway", "127.0.0.1:0", u.Host)
	if err := p.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Stop)
	return p, "http://" + p.Listen + u.Path
}

func addToxic(t testing.TB, p *toxiproxy.Proxy, spec string) {
	t.Helper()
	if _, err := p.Toxics.AddToxicJson(strings.NewReader(spec)); err != nil {
		t.Fatalf("toxic %s: %v", spec, err)
	}
}

func readJournal(t testing.TB, path string) []redrive.Record {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []redrive.Record
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<28)
	for sc.Scan() {
		var rec redrive.Record
		if err := json.Unmarshal(sc.Bytes(), &rec); err != nil {
			t.Fatal(err)
		}
		out = append(out, rec)
	}
	return out
}

// journalFacts reads a journal: the last record type per request, and the requests
// that had an attempt journaled unknown (or left in flight).
func journalFacts(t testing.TB, path string) (last map[string]redrive.RecordType, maybe map[string]bool) {
	t.Helper()
	st, err := redrive.LoadJournal(path)
	if err != nil {
		t.Fatal(err)
	}
	last, maybe = map[string]redrive.RecordType{}, map[string]bool{}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<28)
	for sc.Scan() {
		var rec redrive.Record
		if err := json.Unmarshal(sc.Bytes(), &rec); err != nil {
			t.Fatal(err)
		}
		if rec.ID != "" {
			last[rec.ID] = rec.Type
		}
	}
	for id, tr := range st.Items {
		maybe[id] = tr.EverUnknown
	}
	return last, maybe
}

// 429 bursts, 5xx answers and latency from the gateway's knobs, and connection resets
// from toxiproxy: every item still ends delivered or failed, and the gateway stored each
// delivered item exactly once, except items with an attempt journaled unknown.
func TestFaultsEveryItemEndsDeliveredOrFailedAndArrivesOnce(t *testing.T) {
	// The throttle is well below what the client sends even on a loaded CI machine with
	// -race (about 18 requests/s measured), so 429s happen whatever the machine's speed.
	st := startDev(t, devOptions{stack: devstack.Options{Seed: 11, Requests: 300, TransientRatio: 1, LostRatio: -1,
		Gateway: devstack.GatewayFaults{ThrottleRPS: 10, Error5xxRatio: 0.1, Latency: 3 * time.Millisecond}}}).st
	proxy, proxied := toxicGateway(t, st.GatewayURL)
	// A connection per request: toxiproxy resets a share of connections, and the client
	// keeps its connections for the next requests (one reset would be all a run saw). The
	// shares below are per request, then: about what they were when the gateway client
	// kept only two idle connections and dialled for every other request.
	oneShot := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	d := attachDev(t, st, devOptions{edit: func(env *config.Env) { env.Gateway.URL = proxied },
		open: []awsclient.OpenOption{awsclient.WithGatewayHTTPClient(oneShot)}})
	// A share of connections is reset right after the answer starts (the gateway stored
	// the request, the client cannot know), another before the request gets through.
	addToxic(t, proxy, `{"name":"reset_after","type":"reset_peer","stream":"downstream","toxicity":0.06,"attributes":{"timeout":0}}`)
	addToxic(t, proxy, `{"name":"reset_before","type":"reset_peer","stream":"upstream","toxicity":0.025,"attributes":{"timeout":0}}`)

	ids := d.failed(t, "", 120)
	m := d.plan(t, redrive.ModeInplace, redrive.Selection{IDs: ids})
	o := d.options("faults")
	// 40 attempts: against the throttle a fast client spends 20 on 429s now and then.
	o.MaxAttempts, o.BackoffMax, o.MaxFailureRatio = 40, 400*time.Millisecond, 1
	rep := d.run(t, m, o)
	d.settle(t)

	last, maybe := journalFacts(t, o.JournalPath)
	resets := 0
	for _, rec := range readJournal(t, o.JournalPath) {
		if (rec.Type == redrive.RecUnknown || rec.Type == redrive.RecRetrying) && !strings.Contains(rec.Reason, "504") && rec.HTTPStatus == 0 {
			resets++
			if resets <= 3 {
				t.Logf("reset: %s %s", rec.Type, rec.Reason)
			}
		}
	}
	if resets == 0 {
		t.Error("no connection was reset: toxiproxy did not act")
	}
	got := d.st.Received()
	var delivered, unknown int
	for _, it := range m.Items {
		id := it.RequestID
		n := got.ByOriginalID[id]
		switch last[id] {
		case redrive.RecDelivered:
			delivered++
			if maybe[id] {
				unknown++
				if n < 1 {
					t.Errorf("%s journaled delivered (after an unknown attempt) but never stored", id)
				}
			} else if n != 1 {
				t.Errorf("%s journaled delivered, stored %d times; want exactly once", id, n)
			}
		case redrive.RecFailed:
			if !maybe[id] && n != 0 {
				t.Errorf("%s journaled failed with no unknown attempt, yet stored %d times", id, n)
			}
		default:
			t.Errorf("%s ends %q in the journal; want delivered or failed", id, last[id])
		}
	}
	statuses := map[int]int{}
	for _, r := range got.Requests {
		statuses[r.Status]++
	}
	t.Logf("%d items: %d delivered, %d with an unknown attempt; gateway answers %v; report %s", len(m.Items), delivered, unknown, statuses, rep.Counts)
	if statuses[429] == 0 || statuses[500]+statuses[504] == 0 {
		t.Errorf("the faults did not happen: gateway answers %v", statuses)
	}
	if unknown == 0 {
		t.Error("no attempt was journaled unknown: the resets did not happen")
	}
	if delivered < len(m.Items)*9/10 {
		t.Errorf("only %d of %d delivered despite %d attempts each", delivered, len(m.Items), o.MaxAttempts)
	}
}

// Read-only blocks every write at both layers: redrive refuses up front, and clients
// opened read-only refuse in the client layer even if redrive were asked to send. Not a
// single write reaches the gateway, S3 or DynamoDB.
func TestReadOnlySendsNoWrites(t *testing.T) {
	st := startDev(t, devOptions{stack: devstack.Options{Seed: 3, Requests: 60, TransientRatio: 0.5, LostRatio: -1}}).st
	before := st.Writes() // the devstack counts client writes per service
	d := attachDev(t, st, devOptions{edit: func(env *config.Env) { env.ReadOnly = true }})
	ids := d.failed(t, "", 10)
	for _, mode := range redrive.Modes {
		if ok, _ := mode.Available(d.env); !ok {
			continue // an event mode whose target this topology does not name
		}
		m := d.plan(t, mode, redrive.Selection{IDs: ids})
		o := d.options("ro-" + string(mode))
		if _, err := redrive.New(redrive.DepsFor(d.clients), m, o); !errors.Is(err, redrive.ErrRefusedReadOnly) {
			t.Fatalf("%s: New on a read-only environment: %v", mode, err)
		}
		// Bypass the engine's refusal: the client layer must still refuse.
		o.ReadOnly = false
		rep := d.run(t, m, o)
		for _, it := range rep.Items {
			if it.State != redrive.StateFailed || !strings.Contains(it.Error, "read-only") {
				t.Errorf("%s %s: %s %q; want failed, read-only", mode, it.RequestID, it.State, it.Error)
			}
		}
	}
	if w := st.Writes(); w != before {
		t.Errorf("write requests reached the stack: %+v, before %+v", w, before)
	}
	if got := st.Received(); len(got.Requests) != 0 {
		t.Errorf("the gateway received %d requests", len(got.Requests))
	}
}

// sigV4Gateway is a gateway that verifies each request's SigV4 signature with the SDK's
// signer and rejects mismatches with 403, as API Gateway with IAM auth does.
type sigV4Gateway struct {
	mu       sync.Mutex
	bodies   map[string][]byte // by X-Stowage-Original-Request-Id
	rejected int
}

func newSigV4Gateway(t testing.TB, creds aws.Credentials, region string) (*sigV4Gateway, string) {
	g := &sigV4Gateway{bodies: map[string][]byte{}}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if err := testenv.VerifySigV4(r, body, creds, region); err != nil {
			g.mu.Lock()
			g.rejected++
			g.mu.Unlock()
			http.Error(w, `{"message":"The request signature we calculated does not match"}`, http.StatusForbidden)
			return
		}
		g.mu.Lock()
		g.bodies[r.Header.Get(redrive.DefaultOriginalIDHeader)] = body
		g.mu.Unlock()
		w.Header().Set("x-amzn-RequestId", uuid.NewString())
		w.WriteHeader(http.StatusOK)
	}))
	t.Cleanup(srv.Close)
	return g, srv.URL + "/prod"
}

// A SigV4-signed run: the body is hashed first (one pinned read) and then streamed (a
// second), and a server that recomputes every signature accepts them all, keys with odd
// characters included.
func TestSigV4SignedRunIsAcceptedByAVerifyingServer(t *testing.T) {
	st := startDev(t, devOptions{stack: devstack.Options{Seed: 5, Requests: 40, TransientRatio: 0.5, LostRatio: -1}}).st
	creds := aws.Credentials{AccessKeyID: st.AccessKey, SecretAccessKey: st.SecretKey}
	gw, gwURL := newSigV4Gateway(t, creds, devstack.Region)
	d := attachDev(t, st, devOptions{edit: func(env *config.Env) {
		env.Gateway.URL, env.Gateway.Auth, env.Gateway.APIKey = gwURL, config.AuthIAM, ""
	}})
	oddKey := "signed/a b+c%d?e#f/ünï.json"
	if _, err := d.clients.Objects.Put(context.Background(), oddKey, strings.NewReader(`{"odd":true}`), 12, "application/json", "", nil); err != nil {
		t.Fatal(err)
	}
	ids := append(d.failed(t, "", 8), oddKey)
	for _, mode := range []redrive.Mode{redrive.ModeInplace, redrive.ModeReupload} {
		m := d.plan(t, mode, redrive.Selection{IDs: ids})
		o := d.options("sigv4-" + string(mode))
		o.Force = true
		rep := d.run(t, m, o)
		if rep.Outcome != redrive.OutcomeDelivered {
			t.Fatalf("%s: outcome %s, rejected %d: %+v", mode, rep.Outcome, gw.rejected, rep.Items)
		}
	}
	for _, id := range ids {
		rc, _, err := d.clients.Objects.Get(context.Background(), id, awsclient.Pin{})
		if err != nil {
			t.Fatal(err)
		}
		want, _ := io.ReadAll(rc)
		rc.Close()
		if got := gw.bodies[id]; !bytes.Equal(got, want) {
			t.Errorf("%s: the gateway got %q, stored %q", id, got, want)
		}
	}
	if gw.rejected != 0 {
		t.Errorf("%d requests failed signature verification", gw.rejected)
	}
}

// Objects over API Gateway's 10 MiB limit are refused before anything is sent, with a
// message pointing at s3-copy, which then takes them.
func TestOversizedObjectsAreRefusedUnsentAndS3CopyTakesThem(t *testing.T) {
	d := startDev(t, devOptions{stack: devstack.Options{Seed: 9, Requests: -1}})
	big := bytes.Repeat([]byte("<a>0123456789</a>"), redrive.MaxGatewayPayload/16+10)
	if _, err := d.clients.Objects.Put(context.Background(), "big.xml", bytes.NewReader(big), int64(len(big)), "application/xml", "", nil); err != nil {
		t.Fatal(err)
	}
	d.settle(t)
	m := d.plan(t, redrive.ModeInplace, redrive.Selection{IDs: []string{"big.xml"}})
	if s := m.Summary(); s.TooLarge != 1 {
		t.Fatalf("summary TooLarge %d", s.TooLarge)
	}
	rep := d.run(t, m, d.options("big"))
	it := rep.Items[0]
	if it.State != redrive.StateFailed || it.Attempts != 0 || !strings.Contains(it.Error, "--mode s3-copy") {
		t.Errorf("%+v: want failed without an attempt, suggesting s3-copy", it)
	}
	if n := len(d.st.Received().Requests); n != 0 {
		t.Errorf("the gateway received %d requests", n)
	}
	m = d.plan(t, redrive.ModeS3Copy, redrive.Selection{IDs: []string{"big.xml"}})
	if rep := d.run(t, m, d.options("big-copy")); rep.Outcome != redrive.OutcomeDelivered {
		t.Errorf("s3-copy of the big object: %s %+v", rep.Outcome, rep.Items)
	}
	d.settle(t)
	if s, ok := d.st.Status("big.xml"); !ok || s.Attempts < 2 {
		t.Errorf("the copy did not reach the processor again: %+v", s)
	}
}

// Keys with /, spaces, %, +, #, ? and unicode go through the inplace route and are stored
// again under exactly the same key.
func TestOddKeysRoundTripThroughTheInplaceRoute(t *testing.T) {
	d := startDev(t, devOptions{stack: devstack.Options{Seed: 4, Requests: -1}})
	keys := []string{
		"orders/2026/ORD 1.json",
		"percent%20not-a-space%2F.json",
		"plus+sign.json",
		"hash#fragment.json",
		"question?mark=1.json",
		"ünïcødé/日本語/ключ.json",
		"a/b/c/d/e.json",
		"mixed /%+#?ü.json",
	}
	bodies := map[string][]byte{}
	for i, k := range keys {
		body := []byte(fmt.Sprintf(`{"n":%d}`, i))
		encoding := ""
		if i%2 == 1 { // stored compressed: sent compressed, never decoded on the way
			var zb bytes.Buffer
			zw := gzip.NewWriter(&zb)
			zw.Write(body)
			zw.Close()
			body, encoding = zb.Bytes(), "gzip"
		}
		bodies[k] = body
		if _, err := d.clients.Objects.Put(context.Background(), k, bytes.NewReader(body), int64(len(body)), "application/json", encoding, nil); err != nil {
			t.Fatalf("put %q: %v", k, err)
		}
	}
	d.settle(t)
	before := map[string]int{}
	for _, k := range keys {
		s, _ := d.st.Status(k)
		before[k] = s.Attempts
	}
	m := d.plan(t, redrive.ModeInplace, redrive.Selection{IDs: keys})
	o := d.options("keys")
	o.Force = true
	rep := d.run(t, m, o)
	if rep.Outcome != redrive.OutcomeDelivered {
		t.Fatalf("outcome %s: %+v", rep.Outcome, rep.Items)
	}
	d.settle(t)
	got := d.st.Received()
	for _, req := range got.Requests {
		want := ""
		if bytes.HasPrefix(bodies[req.Key], []byte{0x1f, 0x8b}) {
			want = "gzip"
		}
		if req.ContentType != "application/json" || req.Header.Get("Content-Encoding") != want || req.Size != int64(len(bodies[req.Key])) {
			t.Errorf("%q arrived as %s, encoding %q, %d bytes; want application/json, %q, %d",
				req.Key, req.ContentType, req.Header.Get("Content-Encoding"), req.Size, want, len(bodies[req.Key]))
		}
	}
	for _, k := range keys {
		rc, _, err := d.clients.Objects.Get(context.Background(), k, awsclient.Pin{})
		if err != nil {
			t.Fatal(err)
		}
		after, _ := io.ReadAll(rc)
		rc.Close()
		if !bytes.Equal(after, bodies[k]) {
			t.Errorf("%q holds %q after the redrive, want the exact stored bytes %q", k, after, bodies[k])
		}
		if got.Stored[k] != 1 {
			t.Errorf("%q stored %d times by the gateway (stored keys %v)", k, got.Stored[k], got.Stored)
		}
		if s, _ := d.st.Status(k); s.Attempts != before[k]+1 {
			t.Errorf("%q: processed %d times after the redrive, %d before", k, s.Attempts, before[k])
		}
	}
}

// A hung gateway holds each attempt only AttemptTimeout (--timeout), not a fixed two
// minutes: the run ends with every request failed as possibly delivered, never stuck.
func TestAHungGatewayEndsEachAttemptAtTheTimeout(t *testing.T) {
	d := startDev(t, devOptions{stack: devstack.Options{Seed: 51, Requests: 40, TransientRatio: 1, LostRatio: -1,
		Gateway: devstack.GatewayFaults{Latency: 10 * time.Minute}}})
	ids := d.failed(t, "transient", 2)
	m := d.plan(t, redrive.ModeInplace, redrive.Selection{IDs: ids})
	o := d.options("hung")
	o.AttemptTimeout, o.MaxAttempts = 200*time.Millisecond, 2
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	r, err := redrive.New(redrive.DepsFor(d.clients), m, o)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Start(ctx); err != nil {
		t.Fatal(err)
	}
	rep := r.Wait()
	if ctx.Err() != nil {
		t.Fatal("the run outlived its attempts' timeout")
	}
	for _, it := range rep.Items {
		if it.State != redrive.StateFailed || it.Attempts != 2 || !strings.Contains(it.Error, "may have been delivered") {
			t.Errorf("%s: %s after %d attempts: %s", it.RequestID, it.State, it.Attempts, it.Error)
		}
	}
}
