package awsclient

import (
	"fmt"
	"net/url"
	"strings"
)

// Route placeholders.
const (
	PlaceholderBucket    = "{bucket}"
	PlaceholderKey       = "{key}"
	PlaceholderRequestID = "{requestId}"
)

// ParseRoute reads "METHOD /path/{bucket}/{key}". The path must start with "/", may hold
// only the {bucket}, {key} and {requestId} placeholders, and no query or fragment.
func ParseRoute(s string) (Route, error) {
	fields := strings.Fields(s)
	if len(fields) != 2 {
		return Route{}, fmt.Errorf("route %q: want \"METHOD /path\", e.g. \"PUT /product/{bucket}/{key}\"", s)
	}
	method, path := strings.ToUpper(fields[0]), fields[1]
	for _, c := range method {
		if c < 'A' || c > 'Z' {
			return Route{}, fmt.Errorf("route %q: method %q is not a word like PUT or POST", s, fields[0])
		}
	}
	if !strings.HasPrefix(path, "/") {
		return Route{}, fmt.Errorf("route %q: the path must start with /", s)
	}
	for rest := path; rest != ""; {
		open := strings.IndexAny(rest, "{}")
		if open < 0 {
			if err := checkLiteral(rest); err != nil {
				return Route{}, fmt.Errorf("route %q: %v", s, err)
			}
			break
		}
		if err := checkLiteral(rest[:open]); err != nil {
			return Route{}, fmt.Errorf("route %q: %v", s, err)
		}
		if rest[open] == '}' {
			return Route{}, fmt.Errorf("route %q: unmatched }", s)
		}
		end := strings.IndexByte(rest[open:], '}')
		if end < 0 {
			return Route{}, fmt.Errorf("route %q: unclosed {", s)
		}
		name := rest[open : open+end+1]
		switch name {
		case PlaceholderBucket, PlaceholderKey, PlaceholderRequestID:
		default:
			return Route{}, fmt.Errorf("route %q: unknown placeholder %s (want {bucket}, {key} or {requestId})", s, name)
		}
		rest = rest[open+end+1:]
	}
	return Route{Method: method, Path: path}, nil
}

// checkLiteral refuses template text that would need escaping or change the URL's shape.
func checkLiteral(s string) error {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if isUnreserved(c) || strings.IndexByte("/!$&'()*+,;=:@", c) >= 0 {
			continue
		}
		return fmt.Errorf("character %q is not allowed in a path template", c)
	}
	return nil
}

// String is the route as written in the config.
func (r Route) String() string { return r.Method + " " + r.Path }

// Placeholders lists the placeholders the route uses, in order.
func (r Route) Placeholders() []string {
	var out []string
	for _, p := range []string{PlaceholderBucket, PlaceholderKey, PlaceholderRequestID} {
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
	values := map[string]string{PlaceholderBucket: v.Bucket, PlaceholderKey: v.Key, PlaceholderRequestID: v.RequestID}
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
