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
		{"PUT /a/{bucket}-{key}/x", "PUT", "/a/{bucket}-{key}/x", ""},
		{"PATCH /stage/product:redrive/{key}", "PATCH", "/stage/product:redrive/{key}", ""},
		// The strict literal rule: what is written is exactly what is sent.
		{"PUT /x/%41", "", "", `holds "%"`},
		{"PUT /x/ü/{key}", "", "", `holds "ü"`},
		{"PUT /x/a\\b", "", "", `holds "\\"`},
		{"PUT /x/\"q\"", "", "", `holds "\""`},
		{"P-T /x", "", "", "cannot carry a request body"},
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

// FuzzParseRoute fuzzes the one route parser that runs (config validation and every send):
// it never panics, what it accepts is a body-carrying method and a path of allowed bytes and
// known placeholders only, and it reads back unchanged.
func FuzzParseRoute(f *testing.F) {
	for _, s := range []string{"PUT /product", "PUT /product/{bucket}/{key}", "POST /{requestId}", "PUT /{", "x",
		"post /v1/{requestId}.json", "PUT /x/%41", "PUT /x/{{key}}", "GET /?"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		method, path, err := ParseRoute(s)
		if err != nil {
			return
		}
		if !strings.HasPrefix(path, "/") || strings.ContainsAny(path, " \t\n?#%") {
			t.Errorf("ParseRoute(%q) accepted path %q", s, path)
		}
		if method != "PUT" && method != "POST" && method != "PATCH" {
			t.Errorf("ParseRoute(%q) accepted method %q", s, method)
		}
		// Everything between braces is a known placeholder; everything else an allowed byte.
		rest := strings.NewReplacer(PlaceholderBucket, "", PlaceholderKey, "", PlaceholderRequestID, "").Replace(path)
		for i := 0; i < len(rest); i++ {
			if strings.IndexByte(routeLiteral, rest[i]) < 0 {
				t.Fatalf("ParseRoute(%q) accepted %q with byte %q", s, path, rest[i])
			}
		}
		m2, p2, err := ParseRoute(method + " " + path)
		if err != nil || m2 != method || p2 != path {
			t.Fatalf("%q parsed to %s %s, which reads back as %s %s, %v", s, method, path, m2, p2, err)
		}
	})
}
