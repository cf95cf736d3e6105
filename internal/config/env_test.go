package config

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
)

func TestKeyMapping(t *testing.T) {
	cases := []struct {
		name         string
		storage      Storage
		key, id      string
		roundTripKey bool // Key(RequestID(key)) == key
	}{
		{"plain", Storage{}, "3f2b8c1e-0000-4000-8000-000000000001", "3f2b8c1e-0000-4000-8000-000000000001", true},
		{"prefix", Storage{StripPrefix: "incoming/"}, "incoming/abc", "abc", true},
		{"prefix and suffix", Storage{StripPrefix: "in/", StripSuffix: ".xml"}, "in/abc.xml", "abc", true},
		{"key without the prefix keeps it", Storage{StripPrefix: "in/"}, "other/abc", "other/abc", false},
		{"suffix only", Storage{StripSuffix: ".json"}, "abc.json", "abc", true},
		{"odd characters", Storage{StripPrefix: "in/"}, "in/a b+c%2F/ü#?", "a b+c%2F/ü#?", true},
		{"empty key", Storage{StripPrefix: "in/"}, "", "", false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := &Env{Storage: c.storage}
			if got := e.RequestID(c.key); got != c.id {
				t.Errorf("RequestID(%q) = %q, want %q", c.key, got, c.id)
			}
			if got := e.Key(c.id); (got == c.key) != c.roundTripKey {
				t.Errorf("Key(%q) = %q; round trip to %q = %v, want %v", c.id, got, c.key, got == c.key, c.roundTripKey)
			}
		})
	}
}

func TestKeyMappingDefaultsFromPrefix(t *testing.T) {
	f := mustParse(t, `environments:
  prod:
    storage: {bucket: acme, prefix: incoming/, strip_suffix: .xml}
    status: {table: acme-status}
`)
	e := f.Environments["prod"]
	if got := e.RequestID("incoming/abc.xml"); got != "abc" {
		t.Errorf("RequestID = %q, want abc", got)
	}
	if got := e.Key("abc"); got != "incoming/abc.xml" {
		t.Errorf("Key = %q, want incoming/abc.xml", got)
	}
}

func TestIsTerminal(t *testing.T) {
	e := &Env{Status: Status{TerminalStates: []string{"PROCESSED", "skipped"}}}
	for state, want := range map[string]bool{
		"PROCESSED": true, "processed": true, "SKIPPED": true, "FAILED": false, "": false, "PROCESSING": false,
	} {
		if got := e.IsTerminal(state); got != want {
			t.Errorf("IsTerminal(%q) = %v, want %v", state, got, want)
		}
	}
}

func TestGatewayURL(t *testing.T) {
	for _, c := range []struct{ url, endpoint, want string }{
		{"https://a/prod/", "", "https://a/prod"},
		{"", "http://127.0.0.1:9000/", "http://127.0.0.1:9000"},
		{"https://a", "https://b", "https://a"},
		{"", "", ""},
	} {
		e := &Env{Gateway: Gateway{URL: c.url}, Endpoints: Endpoints{Gateway: c.endpoint}}
		if got := e.GatewayURL(); got != c.want {
			t.Errorf("GatewayURL(url=%q, endpoint=%q) = %q, want %q", c.url, c.endpoint, got, c.want)
		}
	}
}

func TestSecretNeverPrinted(t *testing.T) {
	const secret = "hunter2-hunter2-hunter2"
	e := Env{Name: "prod", Gateway: Gateway{Auth: AuthAPIKey, APIKey: secret}}
	for _, verb := range []string{"%v", "%+v", "%#v", "%s"} {
		if out := fmt.Sprintf(verb, e); strings.Contains(out, secret) {
			t.Errorf("%s of Env prints the key: %s", verb, out)
		}
		if out := fmt.Sprintf(verb, &e); strings.Contains(out, secret) {
			t.Errorf("%s of *Env prints the key: %s", verb, out)
		}
		if out := fmt.Sprintf(verb, e.Gateway); strings.Contains(out, secret) {
			t.Errorf("%s of Gateway prints the key: %s", verb, out)
		}
	}
	r := e.Redacted()
	if r.Gateway.APIKey != "REDACTED" || e.Gateway.APIKey != secret {
		t.Errorf("Redacted: copy key %q, original key changed: %v", r.Gateway.APIKey, e.Gateway.APIKey != secret)
	}
	if out := fmt.Sprintf("%+v", e.Gateway); !strings.Contains(out, "APIKey:REDACTED") {
		t.Errorf("%%+v of Gateway = %s, want APIKey:REDACTED", out)
	}
}

func TestDefaultPath(t *testing.T) {
	home := t.TempDir()
	t.Setenv("HOME", home)
	t.Setenv("XDG_CONFIG_HOME", "/xdg")
	if got, want := DefaultPath(), filepath.Join("/xdg", "stowage", "config.yaml"); got != want {
		t.Errorf("with XDG_CONFIG_HOME: %q, want %q", got, want)
	}
	want := filepath.Join(home, ".config", "stowage", "config.yaml")
	t.Setenv("XDG_CONFIG_HOME", "")
	if got := DefaultPath(); got != want {
		t.Errorf("without XDG_CONFIG_HOME: %q, want %q", got, want)
	}
	t.Setenv("XDG_CONFIG_HOME", "relative/dir") // the XDG spec says to ignore it
	if got := DefaultPath(); got != want {
		t.Errorf("relative XDG_CONFIG_HOME: %q, want %q", got, want)
	}
}

func TestLocalCredentialsOnLoopbackAreValidAndRedacted(t *testing.T) {
	e := &Env{Name: "demo", Endpoints: Endpoints{S3: "http://127.0.0.1:9000", DynamoDB: "http://localhost:8000"},
		Storage: Storage{Bucket: "demo-bucket"}, Status: Status{Table: "demo-status"},
		LocalCredentials: &LocalCredentials{AccessKeyID: "AKIDEMO", SecretAccessKey: "very-secret-demo"}}
	e.ApplyDefaults()
	for _, p := range e.Validate() {
		if !p.Warning {
			t.Errorf("unexpected problem: %s", p)
		}
	}
	for _, s := range []string{fmt.Sprintf("%v", e), fmt.Sprintf("%+v", *e), fmt.Sprintf("%#v", *e), fmt.Sprintf("%v", e.Redacted())} {
		if strings.Contains(s, "very-secret-demo") {
			t.Fatalf("secret printed: %s", s)
		}
	}
	if c := e.clone(); c.LocalCredentials == e.LocalCredentials {
		t.Fatal("clone shares LocalCredentials")
	}
}
