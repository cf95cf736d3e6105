package config

import (
	"fmt"
	"strings"
)

// Route placeholders: the one list, used by validation here and by the gateway client
// (awsclient), which fills them.
const (
	PlaceholderBucket    = "{bucket}"
	PlaceholderKey       = "{key}"
	PlaceholderRequestID = "{requestId}"
)

// routeMethods are the methods that carry a body, which a redrive always sends.
var routeMethods = []string{"PUT", "POST", "PATCH"}

// routeLiteral are the bytes a path template may hold outside placeholders: RFC 3986
// unreserved characters, sub-delimiters, ':', '@' and '/'. Anything else would need
// escaping or change the URL's shape, so the path sent would not be the path written.
const routeLiteral = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~!$&'()*+,;=:@/"

// ParseRoute splits a route like "PUT /product/{bucket}/{key}" into its method (upper-cased)
// and path template. It is stowage's one route parser: config validation reports its
// errors with the file, line and field, and the gateway client sends what it accepts.
func ParseRoute(s string) (method, path string, err error) {
	fields := strings.Fields(s)
	if len(fields) != 2 {
		return "", "", fmt.Errorf("%s is not a route; expected a method and a path, e.g. %q", quote(s), DefaultInplaceRoute)
	}
	method, path = strings.ToUpper(fields[0]), fields[1]
	known := false
	for _, m := range routeMethods {
		known = known || m == method
	}
	if !known {
		return "", "", fmt.Errorf("method %s cannot carry a request body; expected one of %s", quote(fields[0]), strings.Join(routeMethods, ", "))
	}
	if !strings.HasPrefix(path, "/") {
		return "", "", fmt.Errorf("path %s must start with /", quote(path))
	}
	if strings.ContainsAny(path, "?#") {
		return "", "", fmt.Errorf("path %s must not hold a query or fragment; routes are paths only", quote(path))
	}
	rest := path
	for rest != "" {
		open := strings.IndexAny(rest, "{}")
		lit := rest
		if open >= 0 {
			lit = rest[:open]
		}
		if i := strings.IndexFunc(lit, func(r rune) bool { return !strings.ContainsRune(routeLiteral, r) }); i >= 0 {
			return "", "", fmt.Errorf("path %s holds %s, which a path template may not; write it percent-encoded or drop it", quote(path), quote(string([]rune(lit[i:])[0])))
		}
		if open < 0 {
			break
		}
		if rest[open] == '}' {
			return "", "", fmt.Errorf("path %s has a } without its {", quote(path))
		}
		end := strings.IndexAny(rest[open+1:], "{}")
		if end < 0 || rest[open+1+end] == '{' {
			return "", "", fmt.Errorf("path %s has a { without its }", quote(path))
		}
		ph := rest[open : open+1+end+1]
		switch ph {
		case PlaceholderBucket, PlaceholderKey, PlaceholderRequestID:
		default:
			return "", "", fmt.Errorf("unknown placeholder %s; expected %s, %s or %s", quote(ph), PlaceholderBucket, PlaceholderKey, PlaceholderRequestID)
		}
		rest = rest[open+1+end+1:]
	}
	return method, path, nil
}
