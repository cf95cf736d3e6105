package config

import (
	"strings"
	"testing"
)

func TestParseRoute(t *testing.T) {
	cases := []struct {
		in, method, path, err string
	}{
		{"PUT /product", "PUT", "/product", ""},
		{"PUT /product/{bucket}/{key}", "PUT", "/product/{bucket}/{key}", ""},
		{"  post   /v1/{requestId}  ", "POST", "/v1/{requestId}", ""},
		{"PATCH /a/{key}/b", "PATCH", "/a/{key}/b", ""},
		{"", "", "", "expected a method and a path"},
		{"/product", "", "", "expected a method and a path"},
		{"PUT /a /b", "", "", "expected a method and a path"},
		{"GET /product", "", "", "cannot carry a request body"},
		{"DELETE /product/{key}", "", "", "cannot carry a request body"},
		{"PUT product", "", "", "must start with /"},
		{"PUT /p?x=1", "", "", "query or fragment"},
		{"PUT /p#x", "", "", "query or fragment"},
		{"PUT /p/{id}", "", "", `unknown placeholder "{id}"`},
		{"PUT /p/{Key}", "", "", `unknown placeholder "{Key}"`},
		{"PUT /p/{key+}", "", "", `unknown placeholder "{key+}"`},
		{"PUT /p/{key", "", "", "{ without its }"},
		{"PUT /p/{{key}}", "", "", "{ without its }"},
		{"PUT /p/key}", "", "", "} without its {"},
		{"PUT /p/{}", "", "", `unknown placeholder "{}"`},
	}
	for _, c := range cases {
		method, path, err := ParseRoute(c.in)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("ParseRoute(%q) err = %v, want %q", c.in, err, c.err)
			}
			continue
		}
		if err != nil || method != c.method || path != c.path {
			t.Errorf("ParseRoute(%q) = %q, %q, %v; want %q, %q", c.in, method, path, err, c.method, c.path)
		}
	}
}

func FuzzParseRoute(f *testing.F) {
	for _, s := range []string{"PUT /product", "PUT /product/{bucket}/{key}", "POST /{requestId}", "PUT /{", "x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		method, path, err := ParseRoute(s)
		if err != nil {
			return
		}
		if !strings.HasPrefix(path, "/") || strings.ContainsAny(path, " \t\n?#") {
			t.Errorf("ParseRoute(%q) accepted path %q", s, path)
		}
		if method != "PUT" && method != "POST" && method != "PATCH" {
			t.Errorf("ParseRoute(%q) accepted method %q", s, method)
		}
		// Everything between braces is a known placeholder.
		rest := strings.NewReplacer(PlaceholderBucket, "", PlaceholderKey, "", PlaceholderRequestID, "").Replace(path)
		if strings.ContainsAny(rest, "{}") {
			t.Errorf("ParseRoute(%q) accepted %q with unknown braces", s, path)
		}
	})
}
