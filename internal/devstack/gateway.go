package devstack

import (
	"crypto/subtle"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
)

// The gateway emulator behaves like the storage-first API: an API Gateway REST API whose
// routes store the request body straight into S3.
//
//	PUT {stage}/product                 stores the body under a new request ID (a UUID)
//	PUT {stage}/product/{bucket}/{key}  stores the body under key (URL-decoded)
//
// The integration maps these request headers onto the object, so the processor (and an
// operator) can tell a redrive from a first delivery:
//
//	Content-Type, Content-Encoding      -> the object's own headers
//	X-Stowage-Original-Request-Id       -> x-amz-meta-original-request-id
//	X-Stowage-Redrive-Id                -> x-amz-meta-redrive-id
//
// Its answers follow real API Gateway's order of checks: first the method and resource
// must match a route, else 403 {"message":"Missing Authentication Token"}
// (MissingAuthenticationTokenException) whatever the key; then the API key, else 403
// {"message":"Forbidden"} (ForbiddenException); then the body size, throttling and the S3
// integration, whose refusals (AccessDenied for another bucket, KeyTooLongError for a key
// over S3's 1024 bytes) come back as 400 with S3's XML and store nothing. Every answer
// carries x-amzn-RequestId, as API Gateway's do.

// GatewayStage is the stage prefix of the emulated API, as in
// https://abc123.execute-api.eu-west-1.amazonaws.com/demo.
const GatewayStage = "/demo"

// MaxGatewayPayload is API Gateway's request body limit.
const MaxGatewayPayload = 10485760

// Idempotency headers stowage sends on redrive.
const (
	HeaderOriginalID = "X-Stowage-Original-Request-Id"
	HeaderRedriveID  = "X-Stowage-Redrive-Id"
)

// GatewayFaults are the knobs that make the gateway misbehave, for tests and demos.
type GatewayFaults struct {
	// ThrottleRPS > 0 answers 429 Too Many Requests to requests beyond this rate (a token
	// bucket with a burst of one second's worth).
	ThrottleRPS float64
	// Error5xxRatio is the share of requests answered 504 (integration timeout) or 500,
	// without storing anything. It is drawn before StoreThen504Ratio.
	Error5xxRatio float64
	// Latency is added before every answer.
	Latency time.Duration
	// StoreBeforeLatency stores the body first and then waits Latency before answering,
	// as real API Gateway does (the S3 integration runs whether or not the client is
	// still there): a client that gives up during the wait leaves a stored request it
	// was never told about. Without it a client that leaves during Latency stores nothing.
	StoreBeforeLatency bool
	// Garbage answers every request 200 with an HTML page and no x-amzn-RequestId, as a
	// captive portal or a misrouted proxy does, and stores nothing.
	Garbage bool
	// StoreThen504Ratio is the share of requests whose body S3 stores before API Gateway
	// answers 504 (the integration answered after the 29 s timeout): the dangerous case
	// in which a client that retries delivers twice. Received records them with
	// StoredThen504.
	StoreThen504Ratio float64
}

// ReceivedRequest is one request the gateway received, whatever it answered.
type ReceivedRequest struct {
	Method      string
	Path        string // as sent, still escaped, stage included
	Status      int
	RequestID   string // x-amzn-RequestId answered
	Key         string // the object key stored ("" when nothing was stored)
	Size        int64  // body bytes stored
	ContentType string
	OriginalID  string // X-Stowage-Original-Request-Id
	RedriveID   string // X-Stowage-Redrive-Id
	// StoredThen504 is true when the body was stored (Key names it) but the answer was
	// 504, as set up by GatewayFaults.StoreThen504Ratio.
	StoredThen504 bool
	// ClientGone is true when the client left before the answer (Status 499); with
	// GatewayFaults.StoreBeforeLatency the body may still have been stored (Key).
	ClientGone bool
	Header     http.Header
	At         time.Time
}

// Received is a snapshot of what the gateway received, so tests can assert that each
// redriven request arrived exactly once.
type Received struct {
	// Requests lists the requests in arrival order (the last 100000 at most).
	Requests []ReceivedRequest
	// Stored counts stored bodies per object key (a request's delivery count: 1 means
	// exactly once); ByOriginalID per original request ID.
	Stored       map[string]int
	ByOriginalID map[string]int
	// Bytes is the total size of the stored bodies.
	Bytes int64
	// StoredThen504 counts the requests stored but answered 504.
	StoredThen504 int
}

type gateway struct {
	bucket string
	apiKey string
	store  func(key string, body []byte, meta map[string]string) error
	log    func(format string, args ...any)
	// access receives one access-log line per request (AccessLogGroup), timed by now
	// (the stack's clock once the stack sets it).
	access logSink
	now    func() time.Time

	mu     sync.Mutex
	faults GatewayFaults
	rng    *rand.Rand
	tokens float64
	last   time.Time
	rec    Received
	sends  int64 // requests with a method that can carry a body
}

// writes is how many sends the gateway received and how many bodies it stored.
func (g *gateway) writes() (sends, deliveries int64) {
	g.mu.Lock()
	defer g.mu.Unlock()
	for _, n := range g.rec.Stored {
		deliveries += int64(n)
	}
	return g.sends, deliveries
}

func newGateway(bucket, apiKey string, seed int64, faults GatewayFaults,
	store func(string, []byte, map[string]string) error, log func(string, ...any)) *gateway {
	return &gateway{
		bucket: bucket, apiKey: apiKey, store: store, log: log, faults: faults, access: nopSink{}, now: time.Now,
		rng: rand.New(rand.NewPCG(uint64(seed), 0x9e3779b97f4a7c15)),
		rec: Received{Stored: map[string]int{}, ByOriginalID: map[string]int{}},
	}
}

func (g *gateway) setFaults(f GatewayFaults) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.faults = f
	g.tokens, g.last = 0, time.Time{}
}

func (g *gateway) received() Received {
	g.mu.Lock()
	defer g.mu.Unlock()
	out := Received{
		Requests:      append([]ReceivedRequest(nil), g.rec.Requests...),
		Stored:        make(map[string]int, len(g.rec.Stored)),
		ByOriginalID:  make(map[string]int, len(g.rec.ByOriginalID)),
		Bytes:         g.rec.Bytes,
		StoredThen504: g.rec.StoredThen504,
	}
	for k, v := range g.rec.Stored {
		out.Stored[k] = v
	}
	for k, v := range g.rec.ByOriginalID {
		out.ByOriginalID[k] = v
	}
	return out
}

// maxRecords bounds the request log of a long-running demo; the counts stay exact.
const maxRecords = 100000

func (g *gateway) record(r ReceivedRequest) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if len(g.rec.Requests) >= maxRecords {
		g.rec.Requests = append(g.rec.Requests[:0:0], g.rec.Requests[maxRecords/10:]...)
	}
	g.rec.Requests = append(g.rec.Requests, r)
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		g.sends++
	}
	if r.Key != "" {
		g.rec.Stored[r.Key]++
		g.rec.Bytes += r.Size
		if r.OriginalID != "" {
			g.rec.ByOriginalID[r.OriginalID]++
		}
	}
	if r.StoredThen504 {
		g.rec.StoredThen504++
	}
}

// allow takes a token from the throttle bucket.
func (g *gateway) allow(now time.Time) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	rps := g.faults.ThrottleRPS
	if rps <= 0 {
		return true
	}
	burst := max(rps, 1)
	if g.last.IsZero() {
		g.tokens = burst
	} else {
		g.tokens = min(burst, g.tokens+now.Sub(g.last).Seconds()*rps)
	}
	g.last = now
	if g.tokens < 1 {
		return false
	}
	g.tokens--
	return true
}

// fault decides whether to fail this request with a 5xx: 0 for no.
func (g *gateway) fault() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.faults.Error5xxRatio <= 0 || g.rng.Float64() >= g.faults.Error5xxRatio {
		return 0
	}
	if g.rng.IntN(2) == 0 {
		return http.StatusGatewayTimeout
	}
	return http.StatusInternalServerError
}

// timeoutAfterStore decides whether to answer 504 although the body was stored.
func (g *gateway) timeoutAfterStore() bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.faults.StoreThen504Ratio > 0 && g.rng.Float64() < g.faults.StoreThen504Ratio
}

func (g *gateway) garbage() bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.faults.Garbage
}

func (g *gateway) latency() (time.Duration, bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.faults.Latency, g.faults.StoreBeforeLatency
}

// wait sleeps d unless the client leaves first; it reports whether the client is still there.
func wait(r *http.Request, d time.Duration) bool {
	if d <= 0 {
		return true
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-r.Context().Done():
		return false
	}
}

func (g *gateway) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	requestID := uuid.NewString()
	rec := ReceivedRequest{
		Method: r.Method, Path: r.URL.EscapedPath(), RequestID: requestID, At: time.Now(),
		ContentType: r.Header.Get("Content-Type"), OriginalID: r.Header.Get(HeaderOriginalID),
		RedriveID: r.Header.Get(HeaderRedriveID), Header: r.Header.Clone(),
	}
	if rec.Header.Get("X-Api-Key") != "" {
		rec.Header.Set("X-Api-Key", "REDACTED") // secrets never land in a record or a log
	}
	if rec.Header.Get("Authorization") != "" {
		rec.Header.Set("Authorization", "REDACTED")
	}
	status := g.serve(w, r, requestID, &rec)
	rec.Status = status
	g.record(rec)
	g.accessLog(r, rec)
	if rec.StoredThen504 {
		g.log("gateway: %s %s -> %d %s (stored before the timeout)", r.Method, rec.Path, status, rec.Key)
		return
	}
	g.log("gateway: %s %s -> %d %s", r.Method, rec.Path, status, rec.Key)
}

// accessLog writes the request's access-log line, as a stage whose access log format is
// $context JSON writes it (values are strings, as API Gateway's templates quote them),
// plus the stored key.
func (g *gateway) accessLog(r *http.Request, rec ReceivedRequest) {
	if _, off := g.access.(nopSink); off {
		return
	}
	ip, _, _ := strings.Cut(r.RemoteAddr, ":")
	at := g.now()
	g.access.put(AccessLogGroup, at, accessLogLine(rec.RequestID, ip, at, rec.Method, rec.Path, rec.Status, rec.Key))
}

// accessLogLine is the access-log line of a request to path (escaped, stage included)
// answered status at time at: the live gateway's and the seeded requests' (seeded_logs.go).
func accessLogLine(requestID, ip string, at time.Time, method, path string, status int, key string) string {
	resource := path
	if rest, ok := strings.CutPrefix(path, GatewayStage); ok {
		resource = rest
		if strings.HasPrefix(rest, "/product/") {
			resource = "/product/{bucket}/{key}"
		}
	}
	line, _ := json.Marshal(accessLine{
		RequestID: requestID, IP: ip, RequestTime: at.UTC().Format("02/Jan/2006:15:04:05 -0700"),
		HTTPMethod: method, ResourcePath: resource, Status: strconv.Itoa(status),
		ResponseLength: "0", Key: key,
	})
	return string(line)
}

// accessLine is one access-log line.
type accessLine struct {
	RequestID      string `json:"requestId"`
	IP             string `json:"ip"`
	RequestTime    string `json:"requestTime"`
	HTTPMethod     string `json:"httpMethod"`
	ResourcePath   string `json:"resourcePath"`
	Status         string `json:"status"`
	ResponseLength string `json:"responseLength"`
	Key            string `json:"key,omitempty"`
}

func (g *gateway) serve(w http.ResponseWriter, r *http.Request, requestID string, rec *ReceivedRequest) int {
	h := w.Header()
	if g.garbage() {
		h.Set("Content-Type", "text/html")
		w.WriteHeader(http.StatusOK)
		io.WriteString(w, "<!DOCTYPE html><html><body><h1>Sign in to the hotel Wi-Fi</h1></body></html>")
		return http.StatusOK
	}
	h.Set("x-amzn-RequestId", requestID)
	h.Set("x-amz-apigw-id", strings.ReplaceAll(requestID[:13], "-", "")+"=")

	bucket, key, ok := g.route(r)
	if !ok {
		return writeAPIError(w, http.StatusForbidden, "MissingAuthenticationTokenException", "Missing Authentication Token")
	}
	if subtle.ConstantTimeCompare([]byte(r.Header.Get("X-Api-Key")), []byte(g.apiKey)) != 1 {
		return writeAPIError(w, http.StatusForbidden, "ForbiddenException", "Forbidden")
	}
	if r.ContentLength > MaxGatewayPayload {
		return writeTooLarge(w)
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, MaxGatewayPayload+1))
	if err != nil {
		return writeAPIError(w, http.StatusBadRequest, "BadRequestException", "Could not read the request body")
	}
	if len(body) > MaxGatewayPayload {
		return writeTooLarge(w)
	}
	if !g.allow(time.Now()) {
		return writeAPIError(w, http.StatusTooManyRequests, "TooManyRequestsException", "Too Many Requests")
	}
	delay, storeFirst := g.latency()
	if !storeFirst && !wait(r, delay) {
		rec.ClientGone = true
		return 499 // the client went away; nothing stored
	}
	switch g.fault() {
	case http.StatusGatewayTimeout:
		return writeAPIError(w, http.StatusGatewayTimeout, "IntegrationTimeout", "Endpoint request timed out")
	case http.StatusInternalServerError:
		return writeAPIError(w, http.StatusInternalServerError, "InternalServerErrorException", "Internal server error")
	}
	if key == "" {
		key = requestID // PUT /product: the key is the API Gateway request ID
	}
	if len(key) > maxS3Key {
		// S3 refuses the key before storing anything; doctor's key probe relies on it.
		return writeIntegrationError(w, requestID, "KeyTooLongError", "Your key is too long")
	}
	if bucket != g.bucket {
		// The S3 integration answers AccessDenied; the API maps every 4xx to a 400.
		return writeIntegrationError(w, requestID, "AccessDenied", "Access Denied")
	}
	// API Gateway assumes application/json for a request without a Content-Type.
	meta := map[string]string{"Content-Type": orJSON(r.Header.Get("Content-Type"))}
	if v := r.Header.Get("Content-Encoding"); v != "" {
		meta["Content-Encoding"] = v
	}
	if rec.OriginalID != "" {
		meta[metaOriginalID] = rec.OriginalID
	}
	if rec.RedriveID != "" {
		meta[metaRedriveID] = rec.RedriveID
	}
	if err := g.store(key, body, meta); err != nil {
		g.log("gateway: store %s: %v", key, err)
		return writeAPIError(w, http.StatusInternalServerError, "InternalServerErrorException", "Internal server error")
	}
	rec.Key, rec.Size = key, int64(len(body))
	if storeFirst && !wait(r, delay) {
		rec.ClientGone = true
		return 499 // stored, but the client never heard
	}
	if g.timeoutAfterStore() {
		rec.StoredThen504 = true
		return writeAPIError(w, http.StatusGatewayTimeout, "IntegrationTimeout", "Endpoint request timed out")
	}
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", "0")
	w.WriteHeader(http.StatusOK)
	return http.StatusOK
}

// route matches the two routes on the escaped path, so that %2F inside {key} stays part of
// the key while a bare / would make a path the API does not have.
func (g *gateway) route(r *http.Request) (bucket, key string, ok bool) {
	if r.Method != http.MethodPut {
		return "", "", false
	}
	rest, ok := strings.CutPrefix(r.URL.EscapedPath(), GatewayStage+"/product")
	if !ok {
		return "", "", false
	}
	if rest == "" {
		return g.bucket, "", true
	}
	rawBucket, rawKey, ok := strings.Cut(strings.TrimPrefix(rest, "/"), "/")
	if !strings.HasPrefix(rest, "/") || !ok || rawBucket == "" || rawKey == "" || strings.Contains(rawKey, "/") {
		return "", "", false
	}
	b, err1 := url.PathUnescape(rawBucket)
	k, err2 := url.PathUnescape(rawKey)
	if err1 != nil || err2 != nil || k == "" {
		return "", "", false
	}
	return b, k, true
}

func orJSON(contentType string) string {
	if contentType == "" {
		return "application/json"
	}
	return contentType
}

func writeAPIError(w http.ResponseWriter, status int, errType, message string) int {
	body := []byte(`{"message":` + strconv.Quote(message) + `}`)
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("x-amzn-ErrorType", errType)
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	w.Write(body)
	return status
}

// maxS3Key is S3's limit on an object key, in bytes.
const maxS3Key = 1024

// writeIntegrationError answers as the API does when its S3 integration fails: the integration
// response maps every 4xx to a 400 and passes S3's XML through.
func writeIntegrationError(w http.ResponseWriter, requestID, code, message string) int {
	w.Header().Set("Content-Type", "application/xml")
	w.WriteHeader(http.StatusBadRequest)
	fmt.Fprintf(w, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>%s</Code><Message>%s</Message><RequestId>%s</RequestId></Error>",
		code, message, strings.ToUpper(strings.ReplaceAll(requestID, "-", ""))[:16])
	return http.StatusBadRequest
}

func writeTooLarge(w http.ResponseWriter) int {
	body := []byte("HTTP content length exceeded 10485760 bytes.")
	h := w.Header()
	h.Set("Content-Type", "text/plain")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	h.Set("Connection", "close") // the rest of the body is not read
	w.WriteHeader(http.StatusRequestEntityTooLarge)
	w.Write(body)
	return http.StatusRequestEntityTooLarge
}
