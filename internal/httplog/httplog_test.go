package httplog

import (
	"bytes"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"
)

// stepClock advances by step on every call.
func stepClock(step time.Duration) func() time.Time {
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	return func() time.Time { at = at.Add(step); return at }
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func TestRedactURL(t *testing.T) {
	cases := []struct{ in, want string }{
		{"https://b.s3.amazonaws.com/k?list-type=2&prefix=a", "https://b.s3.amazonaws.com/k?list-type=2&prefix=a"},
		{"https://b.s3.amazonaws.com/k?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIDEXAMPLE%2F20260102%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Signature=abc123&X-Amz-Security-Token=tok%2Bsecret",
			"https://b.s3.amazonaws.com/k?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=REDACTED&X-Amz-Signature=REDACTED&X-Amz-Security-Token=REDACTED"},
		{"https://b.s3.amazonaws.com/k?AWSAccessKeyId=AKID&Signature=sig&Expires=1", "https://b.s3.amazonaws.com/k?AWSAccessKeyId=REDACTED&Signature=REDACTED&Expires=1"},
		{"https://api.example.com/prod/product?x-api-key=k3y&api_key=k&token=t", "https://api.example.com/prod/product?x-api-key=REDACTED&api_key=REDACTED&token=REDACTED"},
		{"https://user:pa55@proxy.example.com/p", "https://REDACTED@proxy.example.com/p"},
		{"https://h/x?x%2Damz%2Dsignature=s", "https://h/x?x%2Damz%2Dsignature=REDACTED"},
		{"http://h/key%1b%5B31m", `http://h/key%1b%5B31m`},
	}
	for _, c := range cases {
		u, err := url.Parse(c.in)
		if err != nil {
			t.Fatal(err)
		}
		if got := RedactURL(u); got != c.want {
			t.Errorf("RedactURL(%s)\n = %s\nwant %s", c.in, got, c.want)
		}
	}
}

func TestParseAttempt(t *testing.T) {
	cases := []struct {
		in           string
		attempt, max int
		ok           bool
	}{
		{"attempt=1; max=3", 1, 3, true},
		{"attempt=3;max=3", 3, 3, true},
		{"max=5; attempt=2; ttl=20260102T030405Z", 2, 5, true},
		{"", 0, 0, false},
		{"attempt=x; max=3", 0, 0, false},
		{"attempt=4; max=3", 0, 0, false},
		{"attempt=-1; max=3", 0, 0, false},
	}
	for _, c := range cases {
		a, m, ok := ParseAttempt(c.in)
		if a != c.attempt || m != c.max || ok != c.ok {
			t.Errorf("ParseAttempt(%q) = %d, %d, %v; want %d, %d, %v", c.in, a, m, ok, c.attempt, c.max, c.ok)
		}
	}
}

// A request through a real server: the line names method, redacted URL, status, time,
// attempt and request ID, and none of the secrets the request carried.
func TestTransportLogsOneLinePerAttemptWithoutSecrets(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Amz-Request-Id", "REQ123")
		w.WriteHeader(http.StatusForbidden)
		w.Write([]byte(`<Error><Message>body-secret</Message></Error>`))
	}))
	defer srv.Close()

	var log bytes.Buffer
	client := &http.Client{Transport: Wrap(&log, stepClock(1500*time.Microsecond))(http.DefaultTransport)}
	req, _ := http.NewRequest(http.MethodPut, srv.URL+"/bucket/key?X-Amz-Signature=sigsecret&partNumber=1", strings.NewReader("payload-secret"))
	req.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=AKIDSECRET/x, Signature=authsig")
	req.Header.Set("X-Api-Key", "apikeysecret")
	req.Header.Set("X-Amz-Security-Token", "sessionsecret")
	req.Header.Set("Amz-Sdk-Request", "attempt=2; max=3")
	req.Header.Set("X-Amz-Target", "DynamoDB_20120810.BatchGetItem")
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()

	want := "stowage: debug: PUT " + srv.URL + "/bucket/key?X-Amz-Signature=REDACTED&partNumber=1 (DynamoDB_20120810.BatchGetItem) 403 2ms attempt 2/3 request-id REQ123\n"
	if log.String() != want {
		t.Errorf("log\n %q\nwant\n %q", log.String(), want)
	}
	for _, secret := range []string{"sigsecret", "AKIDSECRET", "authsig", "apikeysecret", "sessionsecret", "payload-secret", "body-secret"} {
		if strings.Contains(log.String(), secret) {
			t.Errorf("the log carries %q: %s", secret, log.String())
		}
	}
}

func TestTransportLogsErrorsRedactedAndSanitized(t *testing.T) {
	var log bytes.Buffer
	next := roundTripFunc(func(r *http.Request) (*http.Response, error) {
		return nil, &url.Error{Op: "Get", URL: r.URL.String(), Err: errors.New("dial tcp: refused \x1b[31m")}
	})
	client := &http.Client{Transport: Wrap(&log, stepClock(time.Second))(next)}
	_, err := client.Get("http://user:pw@127.0.0.1:1/x?X-Amz-Credential=credsecret&X-Amz-Signature=sigsecret")
	if err == nil {
		t.Fatal("no error")
	}
	line := log.String()
	for _, secret := range []string{"credsecret", "sigsecret", "pw@", "\x1b"} {
		if strings.Contains(line, secret) {
			t.Errorf("the log carries %q: %q", secret, line)
		}
	}
	if !strings.HasPrefix(line, "stowage: debug: GET http://REDACTED@127.0.0.1:1/x?X-Amz-Credential=REDACTED&X-Amz-Signature=REDACTED error: ") ||
		!strings.HasSuffix(line, " 1s\n") {
		t.Errorf("line %q", line)
	}
}

func FuzzParseAttempt(f *testing.F) {
	for _, s := range []string{"attempt=1; max=3", "", "max=5; attempt=2; ttl=x", "attempt==;;"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		a, m, ok := ParseAttempt(s)
		if ok && (a < 1 || m < a) {
			t.Errorf("%q: attempt %d of %d", s, a, m)
		}
	})
}

func FuzzRedactURL(f *testing.F) {
	f.Add("https://h/k?X-Amz-Signature=secretvalue&a=b")
	f.Add("https://u:secretvalue@h/?token=secretvalue")
	f.Fuzz(func(t *testing.T, raw string) {
		u, err := url.Parse(raw)
		if err != nil {
			return
		}
		out := RedactURL(u)
		for name, values := range u.Query() {
			if !secretQuery[strings.ToLower(name)] {
				continue
			}
			for _, v := range values {
				if len(v) >= 8 && strings.Contains(out, url.QueryEscape(v)) && !strings.Contains(raw, v+v) {
					// Only a value that also appears elsewhere in the URL may survive.
					rest := strings.Replace(raw, v, "", 1)
					if !strings.Contains(rest, v) && !strings.Contains(rest, url.QueryEscape(v)) {
						t.Errorf("%q: value %q of %s survives in %q", raw, v, name, out)
					}
				}
			}
		}
	})
}
