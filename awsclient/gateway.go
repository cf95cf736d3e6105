package awsclient

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"github.com/stowage-cli/stowage/internal/config"
)

// AuthMode is how requests to the gateway authenticate; the values are the config's.
type AuthMode string

const (
	AuthNone   AuthMode = "none"
	AuthAPIKey AuthMode = "api-key"
	AuthIAM    AuthMode = "iam"
)

// APIKeyHeader carries the API key.
const APIKeyHeader = "x-api-key"

// GatewayOptions configure a Gateway.
type GatewayOptions struct {
	BaseURL string // https://abc.execute-api.eu-west-1.amazonaws.com/prod
	Auth    AuthMode
	// APIKey is the key for AuthAPIKey; APIKeyFunc, when set instead, resolves it on the
	// first Send (so browsing never needs it) and is asked again only after a failure.
	APIKey     string
	APIKeyFunc func(ctx context.Context) (string, error)
	// Credentials and Region sign requests with SigV4 (service execute-api) for AuthIAM.
	Credentials aws.CredentialsProvider
	Region      string
	HTTPClient  *http.Client // a plain client when nil; redirects are never followed
	ReadOnly    bool         // refuse every Send before anything is sent
	Profile     string       // named in credential remedies
	SSOProfile  bool         // Profile signs in through IAM Identity Center (remedies say aws sso login)
}

// Gateway sends request bodies through the storage-first API. It never retries: the
// caller owns retries, because only it knows whether a resend is safe.
type Gateway struct {
	opts   GatewayOptions
	base   *url.URL
	signer *v4.Signer
	now    func() time.Time

	keyMu sync.Mutex
	key   string
}

// NewGateway checks opts and returns a Gateway.
func NewGateway(opts GatewayOptions) (*Gateway, error) {
	if opts.Auth == "" {
		opts.Auth = AuthNone
	}
	base, err := url.Parse(opts.BaseURL)
	if err != nil || (base.Scheme != "http" && base.Scheme != "https") || base.Host == "" {
		return nil, fmt.Errorf("gateway URL %q: want an absolute http(s) URL like https://abc.execute-api.eu-west-1.amazonaws.com/prod", opts.BaseURL)
	}
	switch opts.Auth {
	case AuthNone:
	case AuthAPIKey:
		if opts.APIKey == "" && opts.APIKeyFunc == nil {
			return nil, errors.New("gateway auth api-key: no API key source")
		}
	case AuthIAM:
		if opts.Credentials == nil || opts.Region == "" {
			return nil, errors.New("gateway auth iam: credentials and a region are needed to sign requests")
		}
	default:
		return nil, fmt.Errorf("gateway auth %q: want api-key, iam or none", opts.Auth)
	}
	client := http.Client{}
	if opts.HTTPClient != nil {
		client = *opts.HTTPClient
	}
	// Never follow redirects: a resent body is a second delivery, and Go would carry the
	// x-api-key header to whatever host the redirect names.
	client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	opts.HTTPClient = &client
	return &Gateway{opts: opts, base: base, signer: v4.NewSigner(), now: time.Now, key: opts.APIKey}, nil
}

// BaseURL is the gateway's base URL.
func (g *Gateway) BaseURL() string { return g.base.String() }

// Auth is the gateway's auth mode.
func (g *Gateway) Auth() AuthMode { return g.opts.Auth }

// ReadOnly reports whether Send is refused.
func (g *Gateway) ReadOnly() bool { return g.opts.ReadOnly }

// URL is where Send would send route with vars.
func (g *Gateway) URL(route Route, vars RouteVars) (string, error) {
	u, err := routeURL(g.base, route, vars)
	if err != nil {
		return "", err
	}
	return u.String(), nil
}

// Send sends p once on route. Every answer comes back as a GatewayResponse; a non-2xx
// answer comes back with an *Error as well (429 throttled, 413 too large, 403 access
// denied with the gateway's message, 504 timeout, other 5xx server, other 4xx invalid).
// A failure without an answer wraps ErrNotSent or ErrDeliveryUnknown.
func (g *Gateway) Send(ctx context.Context, route Route, vars RouteVars, p Payload) (GatewayResponse, error) {
	u, uerr := routeURL(g.base, route, vars)
	resource := route.Method + " " + g.base.String() + route.Path
	if uerr == nil {
		resource = route.Method + " " + u.String()
	}
	c := call{Op: "send", Resource: resource, Profile: g.opts.Profile, SSO: g.opts.SSOProfile}
	if g.opts.ReadOnly {
		return GatewayResponse{}, notSent(readOnlyError(c.Op, c.Resource))
	}
	if uerr != nil {
		return GatewayResponse{}, notSent(invalid(c.Op, c.Resource, uerr.Error()))
	}
	if p.Size < 0 || (p.Size > 0 && p.Open == nil) {
		return GatewayResponse{}, notSent(invalid(c.Op, c.Resource, fmt.Sprintf("bad payload: size %d", p.Size)))
	}
	if p.Size > MaxGatewayPayload {
		return GatewayResponse{}, notSent(&Error{Kind: KindTooLarge, Op: c.Op, Resource: c.Resource,
			Message: fmt.Sprintf("the body is %d bytes; the gateway accepts at most %d", p.Size, MaxGatewayPayload),
			Remedy:  remedyTooLarge})
	}

	req, err := http.NewRequestWithContext(ctx, route.Method, u.String(), nil)
	if err != nil {
		return GatewayResponse{}, notSent(invalid(c.Op, c.Resource, err.Error()))
	}
	req.URL = u // keep our escaping: NewRequest would re-parse it
	req.ContentLength = p.Size
	req.Body = http.NoBody
	if p.ContentType != "" {
		req.Header.Set("Content-Type", p.ContentType)
	}
	if p.ContentEncoding != "" {
		req.Header.Set("Content-Encoding", p.ContentEncoding)
	}
	for k, v := range p.Headers {
		req.Header.Set(k, v)
	}
	if err := g.authorize(ctx, req, p, c); err != nil {
		return GatewayResponse{}, notSent(err)
	}
	if p.Size > 0 {
		// Opened after hashing, so the body is read as a stream, never held whole.
		body, err := p.Open()
		if err != nil {
			return GatewayResponse{}, notSent(&Error{Kind: KindInvalid, Op: c.Op, Resource: c.Resource,
				Message: "open the body: " + err.Error(), Err: err})
		}
		req.Body = body
		// Lets the transport resend when a reused connection died before anything was written.
		req.GetBody = p.Open
	}

	var wrote atomic.Bool
	trace := &httptrace.ClientTrace{WroteHeaders: func() { wrote.Store(true) }}
	req = req.WithContext(httptrace.WithClientTrace(req.Context(), trace))

	start := g.now()
	resp, err := g.opts.HTTPClient.Do(req)
	if err != nil {
		e := newError(err, c)
		if e.Kind == KindUnknown {
			e.Kind, e.Message, e.Remedy = KindNetwork, networkMessage(err, false, g.base.Host), remedyNetwork
		}
		if wrote.Load() {
			e.Err = fmt.Errorf("%w: %w", ErrDeliveryUnknown, err)
			e.Remedy = "it is unknown whether the gateway stored the request; check before sending it again"
		} else {
			e.Err = fmt.Errorf("%w: %w", ErrNotSent, err)
		}
		return GatewayResponse{}, e
	}
	defer resp.Body.Close()
	out := GatewayResponse{StatusCode: resp.StatusCode, RequestID: resp.Header.Get("x-amzn-RequestId")}
	out.Body, out.BodyTruncated, err = readCapped(resp.Body, MaxGatewayBody)
	out.Duration = g.now().Sub(start)
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		if err != nil {
			// The gateway said yes; a body cut short does not undo that.
			out.BodyTruncated = true
		}
		return out, nil
	}
	return out, responseError(resp, out, c)
}

// authorize adds the API key or the SigV4 signature.
func (g *Gateway) authorize(ctx context.Context, req *http.Request, p Payload, c call) error {
	switch g.opts.Auth {
	case AuthAPIKey:
		key, err := g.apiKey(ctx)
		if err != nil {
			var e *Error
			if errors.As(err, &e) {
				return err
			}
			return &Error{Kind: KindInvalid, Op: c.Op, Resource: c.Resource,
				Message: "resolve the API key: " + err.Error(), Err: err,
				Remedy: "check gateway.api_key_env, api_key_ssm or api_key_secret in the config"}
		}
		req.Header.Set(APIKeyHeader, key)
	case AuthIAM:
		hash := strings.ToLower(p.SHA256)
		if hash == "" {
			var err error
			if hash, err = hashPayload(p); err != nil {
				return &Error{Kind: KindInvalid, Op: c.Op, Resource: c.Resource, Message: "hash the body: " + err.Error(), Err: err}
			}
		}
		creds, err := g.opts.Credentials.Retrieve(ctx)
		if err != nil {
			c.Action = "execute-api:Invoke"
			return classify(err, c)
		}
		if err := g.signer.SignHTTP(ctx, creds, req, hash, "execute-api", g.opts.Region, g.now()); err != nil {
			return &Error{Kind: KindInvalid, Op: c.Op, Resource: c.Resource, Message: "sign: " + err.Error(), Err: err}
		}
	}
	return nil
}

// apiKey is the API key, resolved on first use and kept.
func (g *Gateway) apiKey(ctx context.Context) (string, error) {
	g.keyMu.Lock()
	defer g.keyMu.Unlock()
	if g.key != "" {
		return g.key, nil
	}
	if g.opts.APIKeyFunc == nil {
		return "", errors.New("no API key")
	}
	key, err := g.opts.APIKeyFunc(ctx)
	if err != nil {
		return "", err
	}
	if key == "" {
		return "", errors.New("the API key is empty")
	}
	g.key = key
	return key, nil
}

// hashPayload reads the body once for its SHA-256, checking it is Size bytes long.
func hashPayload(p Payload) (string, error) {
	h := sha256.New()
	if p.Size == 0 || p.Open == nil {
		return hex.EncodeToString(h.Sum(nil)), nil
	}
	r, err := p.Open()
	if err != nil {
		return "", err
	}
	defer r.Close()
	n, err := io.Copy(h, r)
	if err != nil {
		return "", err
	}
	if n != p.Size {
		return "", fmt.Errorf("the body is %d bytes, not %d", n, p.Size)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// readCapped keeps the first max bytes of r and drains a little more so the connection
// can be reused.
func readCapped(r io.Reader, max int) ([]byte, bool, error) {
	var buf bytes.Buffer
	n, err := io.Copy(&buf, io.LimitReader(r, int64(max)+1))
	truncated := n > int64(max)
	body := buf.Bytes()
	if truncated {
		body = body[:max]
		_, _ = io.Copy(io.Discard, io.LimitReader(r, 64<<10))
	}
	return body, truncated, err
}

// responseError classifies a non-2xx answer.
func responseError(resp *http.Response, out GatewayResponse, c call) error {
	e := &Error{
		Op:       c.Op,
		Resource: c.Resource,
		Code:     strconv.Itoa(resp.StatusCode),
		Message:  gatewayMessage(resp, out.Body),
	}
	switch status := resp.StatusCode; {
	case status == 429:
		e.Kind, e.Remedy = KindThrottled, remedyThrottled
	case status == 413:
		e.Kind, e.Remedy = KindTooLarge, remedyTooLarge
	case status == 401 || status == 403:
		e.Kind = KindAccessDenied
		e.Remedy = "the gateway refused the request: check gateway.auth, the API key or the IAM policy (execute-api:Invoke)"
	case status == 504:
		// API Gateway gives up waiting for S3 after 29 s; the object may have been stored.
		e.Kind, e.Err = KindTimeout, ErrDeliveryUnknown
		e.Remedy = "the gateway timed out; it is unknown whether the request was stored: check before sending it again"
	case status >= 500:
		e.Kind, e.Remedy = KindServer, remedyServer
	default: // other 4xx, and 1xx/3xx answers that did not take the request
		e.Kind = KindInvalid
		e.Remedy = "the gateway rejected the request: check gateway.routes and the payload"
	}
	return e
}

// gatewayMessage reads API Gateway's {"message": "..."} or falls back to the status text.
func gatewayMessage(resp *http.Response, body []byte) string {
	var m struct {
		Message  string `json:"message"`
		Message2 string `json:"Message"`
	}
	msg := ""
	if json.Unmarshal(body, &m) == nil {
		msg = m.Message
		if msg == "" {
			msg = m.Message2
		}
	}
	if msg == "" {
		if t := resp.Header.Get("x-amzn-ErrorType"); t != "" {
			msg = strings.SplitN(t, ":", 2)[0]
		}
	}
	if msg == "" {
		msg = http.StatusText(resp.StatusCode)
	}
	if len(msg) > 300 {
		msg = strings.ToValidUTF8(msg[:300], "") + "…"
	}
	return msg
}

// notSent marks an error as raised before anything was sent.
func notSent(err error) error {
	var e *Error
	if errors.As(err, &e) {
		if e.Err == nil {
			e.Err = ErrNotSent
		} else if !errors.Is(e.Err, ErrNotSent) {
			e.Err = fmt.Errorf("%w: %w", ErrNotSent, e.Err)
		}
	}
	return err
}

// KeyProbe is what an authenticated probe of the gateway proved.
type KeyProbe string

const (
	// ProbeAccepted: API Gateway let the request past its route match and key (or IAM)
	// check and the integration answered; S3 refused the probe's key, as expected.
	ProbeAccepted KeyProbe = "accepted"
	// ProbeKeyRefused: 403 Forbidden on a route that exists: the key is wrong, or not in
	// a usage plan of this stage (or a WAF or resource policy refused the caller).
	ProbeKeyRefused KeyProbe = "key refused"
	// ProbeNoRoute: 403 Missing Authentication Token: the method and path are not a route
	// of this stage. API Gateway says so before it looks at the key, so the key is unproved.
	ProbeNoRoute KeyProbe = "no route"
	// ProbeDenied: another 403 (IAM, a Lambda authorizer, a resource policy).
	ProbeDenied KeyProbe = "denied"
	// ProbeThrottled: 429; usage-plan throttling comes after the key check, so the key
	// was accepted.
	ProbeThrottled KeyProbe = "throttled"
	// ProbeStored: a 2xx answer to a key S3 must refuse: the integration does not store
	// under {key} as stowage assumes, and may have stored the probe.
	ProbeStored KeyProbe = "stored"
	// ProbeGarbage: the answer is not API Gateway's (no x-amzn-RequestId, HTML, or a 403
	// without its JSON message): a proxy, a captive portal or the wrong URL.
	ProbeGarbage KeyProbe = "garbage"
)

// ProbeKey is the key the probe asks the integration to store under: longer than the
// 1024 bytes S3 accepts, so S3 refuses it and nothing is stored.
var ProbeKey = "stowage-doctor-probe-" + strings.Repeat("x", 1100)

// ProbeBucket is the probe's {bucket}: ".." makes it an invalid name for every S3
// region, a second reason for S3 to store nothing when the route maps {bucket}.
const ProbeBucket = "stowage-doctor-probe..invalid"

// KeyProbeResult is the outcome of ProbeAuth.
type KeyProbeResult struct {
	Verdict KeyProbe
	Status  int
	// Message is the gateway's message or the start of its body (from outside: sanitize).
	Message string
	URL     string
}

// ProbeAuth sends an empty PUT with the configured authentication on route (the
// in-place route) for ProbeBucket/ProbeKey. API Gateway matches the route first
// (Missing Authentication Token), then checks the key (Forbidden), then runs the
// integration, which S3 refuses for the key's length: so a wrong key, a missing route and
// a good key are told apart, and nothing is stored. Read-only refuses it like any PUT.
func (g *Gateway) ProbeAuth(ctx context.Context, route Route) (KeyProbeResult, error) {
	vars := RouteVars{Bucket: ProbeBucket, Key: ProbeKey, RequestID: ProbeKey}
	res := KeyProbeResult{}
	if u, err := g.URL(route, vars); err == nil {
		res.URL = u
	}
	if !strings.Contains(route.Path, config.PlaceholderKey) {
		return res, invalid("probe", route.Method+" "+g.base.String()+route.Path,
			"the route has no {key}: a probe on it could store a request")
	}
	resp, err := g.Send(ctx, route, vars, Payload{ContentType: "application/json"})
	if resp.StatusCode == 0 {
		return res, err
	}
	res.Status = resp.StatusCode
	msg, isJSON := probeMessage(resp.Body)
	res.Message = msg
	switch {
	case resp.RequestID == "" || looksLikeHTML(resp.Body):
		res.Verdict = ProbeGarbage
	case resp.StatusCode == http.StatusForbidden && !isJSON:
		res.Verdict = ProbeGarbage
	case resp.StatusCode == http.StatusForbidden && msg == "Missing Authentication Token":
		res.Verdict = ProbeNoRoute
	case resp.StatusCode == http.StatusForbidden && msg == "Forbidden":
		res.Verdict = ProbeKeyRefused
	case resp.StatusCode == http.StatusForbidden:
		res.Verdict = ProbeDenied
	case resp.StatusCode == http.StatusTooManyRequests:
		res.Verdict = ProbeThrottled
	case resp.StatusCode >= 200 && resp.StatusCode < 300:
		res.Verdict = ProbeStored
	default:
		res.Verdict = ProbeAccepted
	}
	return res, nil
}

// probeMessage is API Gateway's {"message": "..."} and whether the body had that shape,
// else the start of the body.
func probeMessage(body []byte) (string, bool) {
	var m struct {
		Message *string `json:"message"`
	}
	if json.Unmarshal(body, &m) == nil && m.Message != nil {
		return *m.Message, true
	}
	s := strings.ToValidUTF8(string(body), "")
	if len(s) > 120 {
		s = strings.ToValidUTF8(s[:120], "") + "…"
	}
	return s, false
}

func looksLikeHTML(body []byte) bool {
	b := strings.ToLower(strings.TrimSpace(string(body[:min(len(body), 64)])))
	return strings.HasPrefix(b, "<!doctype html") || strings.HasPrefix(b, "<html")
}
