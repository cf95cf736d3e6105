// Package httplog is stowage's --debug log of HTTP requests: one line per attempt on
// stderr with the method, the URL (signed and secret query values redacted), the status,
// the operation of JSON APIs (X-Amz-Target), the time to the response headers, the SDK's
// retry attempt and the server's request ID.
//
// It never logs a header other than those it names here, nor a body, so credentials,
// API keys, Authorization headers and signatures cannot reach the log. Everything it
// prints from outside (URLs, error messages, request IDs) goes through internal/sanitize.
// It must not import any other stowage package but sanitize.
package httplog

import (
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/stowage-cli/stowage/internal/sanitize"
)

// Redacted replaces every secret value in a logged URL.
const Redacted = "REDACTED"

// secretQuery names the query parameters whose values are credentials or signatures
// (presigned S3 URLs, SigV2 and SigV4 query auth, API keys and tokens), lowercased.
var secretQuery = map[string]bool{
	"x-amz-signature":      true,
	"x-amz-credential":     true,
	"x-amz-security-token": true,
	"signature":            true,
	"awsaccesskeyid":       true,
	"x-api-key":            true,
	"api_key":              true,
	"apikey":               true,
	"token":                true,
	"access_token":         true,
}

// requestIDHeaders carry the server's ID of a request, which AWS support asks for.
var requestIDHeaders = []string{"X-Amz-Request-Id", "X-Amzn-Requestid", "Apigw-Requestid"}

// Transport logs every round trip of Next to Out.
type Transport struct {
	Next http.RoundTripper
	Out  io.Writer
	Now  func() time.Time // the clock, injected by tests

	mu *sync.Mutex // one line at a time, shared by every Transport of one Wrap
}

// Wrap returns a wrapper for awsclient.WithHTTPWrap that logs to out. now is the clock
// (time.Now when nil).
func Wrap(out io.Writer, now func() time.Time) func(http.RoundTripper) http.RoundTripper {
	if now == nil {
		now = time.Now
	}
	mu := &sync.Mutex{}
	return func(next http.RoundTripper) http.RoundTripper {
		if next == nil {
			next = http.DefaultTransport
		}
		return &Transport{Next: next, Out: out, Now: now, mu: mu}
	}
}

// RoundTrip sends req with Next and logs one line about it.
func (t *Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	start := t.Now()
	resp, err := t.Next.RoundTrip(req)
	took := t.Now().Sub(start)

	var b strings.Builder
	b.WriteString("stowage: debug: ")
	b.WriteString(req.Method)
	b.WriteByte(' ')
	b.WriteString(RedactURL(req.URL))
	if target := req.Header.Get("X-Amz-Target"); target != "" {
		// JSON APIs (DynamoDB, SSM, Secrets Manager) all POST to /: the operation is here.
		b.WriteString(" (" + sanitize.Line(target) + ")")
	}
	if err != nil {
		b.WriteString(" error: ")
		b.WriteString(sanitize.Line(RedactText(err.Error(), req.URL)))
	} else {
		b.WriteByte(' ')
		b.WriteString(strconv.Itoa(resp.StatusCode))
	}
	fmt.Fprintf(&b, " %s", took.Round(time.Millisecond))
	if attempt, maxAttempts, ok := ParseAttempt(req.Header.Get("Amz-Sdk-Request")); ok {
		fmt.Fprintf(&b, " attempt %d/%d", attempt, maxAttempts)
	}
	if resp != nil {
		for _, h := range requestIDHeaders {
			if id := resp.Header.Get(h); id != "" {
				b.WriteString(" request-id ")
				b.WriteString(sanitize.Line(id))
				break
			}
		}
	}
	b.WriteByte('\n')
	if t.mu != nil {
		t.mu.Lock()
		defer t.mu.Unlock()
	}
	_, _ = io.WriteString(t.Out, b.String())
	return resp, err
}

// RedactURL returns u for the log: user info and the values of secret query parameters
// replaced with Redacted, control characters escaped.
func RedactURL(u *url.URL) string {
	if u == nil {
		return ""
	}
	c := *u
	if c.User != nil {
		c.User = url.User(Redacted)
	}
	if c.RawQuery != "" {
		parts := strings.Split(c.RawQuery, "&")
		for i, p := range parts {
			name, _, hasValue := strings.Cut(p, "=")
			if dec, err := url.QueryUnescape(name); err == nil {
				name = dec
			}
			if hasValue && secretQuery[strings.ToLower(name)] {
				parts[i] = p[:strings.IndexByte(p, '=')+1] + Redacted
			}
		}
		c.RawQuery = strings.Join(parts, "&")
	}
	return sanitize.Line(c.String())
}

// RedactText replaces in s (an error message, which net/http words with the URL) every
// occurrence of u's secret query values and user info.
func RedactText(s string, u *url.URL) string {
	if u == nil {
		return s
	}
	if u.User != nil {
		s = strings.ReplaceAll(s, u.User.String(), Redacted)
	}
	for name, values := range u.Query() {
		if !secretQuery[strings.ToLower(name)] {
			continue
		}
		for _, v := range values {
			if v != "" {
				s = strings.ReplaceAll(s, v, Redacted)
				s = strings.ReplaceAll(s, url.QueryEscape(v), Redacted)
			}
		}
	}
	return s
}

// ParseAttempt reads the AWS SDK's amz-sdk-request header, "attempt=N; max=M"; ok is
// false when the header is absent or malformed (gateway requests carry none).
func ParseAttempt(h string) (attempt, maxAttempts int, ok bool) {
	if h == "" {
		return 0, 0, false
	}
	for _, part := range strings.Split(h, ";") {
		k, v, found := strings.Cut(strings.TrimSpace(part), "=")
		k = strings.TrimSpace(k)
		if !found || k != "attempt" && k != "max" {
			continue // e.g. ttl=, which the SDK adds for clock skew
		}
		n, err := strconv.Atoi(strings.TrimSpace(v))
		if err != nil {
			return 0, 0, false
		}
		if k == "attempt" {
			attempt = n
		} else {
			maxAttempts = n
		}
	}
	if attempt < 1 || maxAttempts < attempt {
		return 0, 0, false
	}
	return attempt, maxAttempts, true
}
