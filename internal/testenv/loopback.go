package testenv

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"testing"
	"time"
)

// LoopbackOnlyTransport returns an HTTP transport that dials only this machine (localhost,
// 127.0.0.0/8, ::1). Any other dial fails the test and the request, before DNS: a test
// that must prove nothing leaves a local stack sends through it (awsclient.WithHTTPWrap).
// Proxies from the environment are not used, since they would hide the real destination.
func LoopbackOnlyTransport(t testing.TB) *http.Transport {
	d := &net.Dialer{Timeout: 10 * time.Second}
	return &http.Transport{
		Proxy: nil,
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			host, _, err := net.SplitHostPort(addr)
			if err != nil {
				host = addr
			}
			if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
				t.Errorf("a request left loopback: dial %s %s", network, addr)
				return nil, fmt.Errorf("testenv: dial %s refused: not on loopback", addr)
			}
			return d.DialContext(ctx, network, addr)
		},
		ForceAttemptHTTP2: false,
	}
}
