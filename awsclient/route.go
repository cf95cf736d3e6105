package awsclient

import (
	"fmt"
	"net/url"
	"strconv"
	"strings"

	"github.com/stowage-cli/stowage/internal/config"
)

// ParseRoute reads "METHOD /path/{bucket}/{key}" with config.ParseRoute, the one route
// parser (config validates routes at load time and must not import awsclient).
func ParseRoute(s string) (Route, error) {
	method, path, err := config.ParseRoute(s)
	if err != nil {
		return Route{}, fmt.Errorf("route %s: %w", strconv.Quote(s), err)
	}
	return Route{Method: method, Path: path}, nil
}

// String is the route as written in the config.
func (r Route) String() string { return r.Method + " " + r.Path }

// Placeholders lists the placeholders the route uses, in order.
func (r Route) Placeholders() []string {
	var out []string
	for _, p := range []string{config.PlaceholderBucket, config.PlaceholderKey, config.PlaceholderRequestID} {
		if strings.Contains(r.Path, p) {
			out = append(out, p)
		}
	}
	return out
}

// BuildPath fills the placeholders, each value escaped as exactly one path segment: "/"
// becomes %2F and everything but RFC 3986 unreserved characters is percent-encoded, so the
// gateway decodes the original value back. It returns the decoded and the escaped path.
func (r Route) BuildPath(v RouteVars) (path, rawPath string, err error) {
	values := map[string]string{config.PlaceholderBucket: v.Bucket, config.PlaceholderKey: v.Key, config.PlaceholderRequestID: v.RequestID}
	var dec, raw strings.Builder
	for rest := r.Path; rest != ""; {
		open := strings.IndexByte(rest, '{')
		if open < 0 {
			dec.WriteString(rest)
			raw.WriteString(rest)
			break
		}
		dec.WriteString(rest[:open])
		raw.WriteString(rest[:open])
		end := strings.IndexByte(rest[open:], '}')
		if end < 0 {
			return "", "", fmt.Errorf("route %s: unclosed {", r)
		}
		name := rest[open : open+end+1]
		value, known := values[name]
		if !known {
			return "", "", fmt.Errorf("route %s: unknown placeholder %s", r, name)
		}
		if value == "" {
			return "", "", fmt.Errorf("route %s: %s is empty", r, name)
		}
		dec.WriteString(value)
		raw.WriteString(EscapeSegment(value))
		rest = rest[open+end+1:]
	}
	return dec.String(), raw.String(), nil
}

// EscapeSegment percent-encodes s as one path segment: every byte but RFC 3986 unreserved
// characters, and the dots of a "." or ".." segment, which servers would otherwise resolve.
func EscapeSegment(s string) string {
	if s == "." || s == ".." {
		return strings.Repeat("%2E", len(s))
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if isUnreserved(c) {
			b.WriteByte(c)
			continue
		}
		fmt.Fprintf(&b, "%%%02X", c)
	}
	return b.String()
}

// routeURL joins base and the route's path, keeping the escaping exactly as built.
func routeURL(base *url.URL, r Route, v RouteVars) (*url.URL, error) {
	path, raw, err := r.BuildPath(v)
	if err != nil {
		return nil, err
	}
	u := *base
	basePath := strings.TrimSuffix(base.Path, "/")
	baseRaw := strings.TrimSuffix(base.EscapedPath(), "/")
	u.Path = basePath + path
	u.RawPath = baseRaw + raw
	u.RawQuery = ""
	u.Fragment = ""
	return &u, nil
}
