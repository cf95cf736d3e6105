package devstack

import (
	"bytes"
	"compress/gzip"
	"context"
	"math/rand/v2"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestCheckPayload(t *testing.T) {
	gz := func(s string) []byte {
		var b bytes.Buffer
		w := gzip.NewWriter(&b)
		w.Write([]byte(s))
		w.Close()
		return b.Bytes()
	}
	cases := []struct {
		name, contentType, encoding string
		body                        []byte
		kind                        string // "" for success
		errHas                      string
	}{
		{"product xml", "application/xml", "", []byte("<Product>\n  <SKU>A-1</SKU>\n  <AssetCrossReference Type=\"Primary Image\"/>\n</Product>"), "", ""},
		{"json profile", "application/json; charset=utf-8", "", []byte(`{"clientId":"C-1","holdings":[{},{}]}`), "", ""},
		{"sniffed json", "", "", []byte(` {"sku":"x"}`), "", ""},
		{"gzip json", "application/json", "gzip", gz(`{"clientId":"C"}`), "", ""},
		{"mismatched tag", "application/xml", "", []byte("<Product>\n  <SKU>A</SKU>\n  <Brand>x</Brnad>\n</Product>"), "parse", "line 3, column 19"},
		{"truncated xml", "text/xml", "", []byte("<Product>\n  <SKU>A"), "parse", "line 2, column 9"},
		{"trailing comma", "application/json", "", []byte("{\n  \"a\": [1,\n  ]\n}"), "parse", "line 3, column 3"},
		{"single quotes", "application/json", "", []byte("{\n 'a': 1}"), "parse", "line 2, column 2"},
		{"truncated json", "application/json", "", []byte("{\"a\": [1, 2"), "parse", "line 1, column 12"},
		{"escape bytes in xml", "application/xml", "", []byte("<Product>\n<Name>\x1b[2J</Name></Product>"), "parse", "line 2"},
		{"empty", "application/json", "", nil, "validation", "empty payload"},
		{"binary", "application/octet-stream", "", []byte{0x89, 'P', 'N', 'G', 0, 1, 2}, "unsupported", `unsupported content type "application/octet-stream"`},
		{"bad gzip", "application/json", "gzip", []byte("not gzip"), "parse", "not valid gzip"},
		{"product without sku", "application/xml", "", []byte("<Product><Name>x</Name></Product>"), "validation", "no <SKU>"},
		{"risk score out of range", "application/json", "", []byte(`{"clientId":"C","riskProfile":{"score":14}}`), "validation", "between 1 and 10, got 14"},
		{"two roots", "application/xml", "", []byte("<Product><SKU>a</SKU></Product><Product/>"), "parse", "more than one root"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			res, kind, err := checkPayload(tc.contentType, tc.encoding, tc.body)
			if tc.kind == "" {
				if err != nil || res == nil {
					t.Fatalf("want success, got %v", err)
				}
				return
			}
			if err == nil || kind != tc.kind || !strings.Contains(err.Error(), tc.errHas) {
				t.Fatalf("got kind %q error %v; want kind %q with %q", kind, err, tc.kind, tc.errHas)
			}
			if strings.ContainsRune(err.Error(), 0x1b) {
				t.Errorf("error message carries a raw escape byte: %q", err)
			}
		})
	}
}

func FuzzCheckPayload(f *testing.F) {
	g := &payloads{rng: newTestRand(1)}
	for _, k := range []string{KindProductXML, KindProfileJSON, KindMalformedXML, KindMalformedJSON, KindGzip, KindEscapes} {
		b, ct, ce := g.make(k)
		f.Add(ct, ce, b)
	}
	f.Fuzz(func(t *testing.T, contentType, encoding string, body []byte) {
		_, kind, err := checkPayload(contentType, encoding, body)
		if err != nil {
			if kind == "" {
				t.Fatalf("error without a kind: %v", err)
			}
			// Errors end up in the status table and on operators' screens.
			msg := err.Error()
			if !utf8.ValidString(msg) {
				t.Fatalf("invalid UTF-8 in a %s error: %q", kind, msg)
			}
			for _, r := range msg {
				if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) {
					t.Fatalf("control character %U in a %s error: %q", r, kind, msg)
				}
			}
			if kind == "parse" && strings.Contains(err.Error(), "syntax error at") && !strings.Contains(err.Error(), "line ") {
				t.Fatalf("parse error without a position: %v", err)
			}
		}
	})
}

// findSeeded returns a seeded request whose status matches.
func findSeeded(t *testing.T, st *Stack, match func(SeedRequest, StatusItem, bool) bool) SeedRequest {
	t.Helper()
	for _, r := range st.Seeded() {
		s, ok := st.Status(r.Key)
		if match(r, s, ok) {
			return r
		}
	}
	t.Fatal("no seeded request matches")
	return SeedRequest{}
}

// redriveInPlace sends the stored body again on the in-place route, like stowage does.
func redriveInPlace(t *testing.T, st *Stack, r SeedRequest) {
	t.Helper()
	obj, err := st.backend.GetObject(st.Bucket, r.Key, nil)
	if err != nil {
		t.Fatal(err)
	}
	var body bytes.Buffer
	body.ReadFrom(obj.Contents)
	call := gatewayCall{"PUT", GatewayStage + "/product/" + st.Bucket + "/" + escapeSegment(r.Key), st.APIKey, r.ContentType, body.Bytes(),
		map[string]string{HeaderRedriveID: "redrive-1", "Content-Encoding": r.ContentEncoding}}
	if resp, b := call.do(t, st); resp.StatusCode != 200 {
		t.Fatalf("redrive %s: %d %s", r.Key, resp.StatusCode, b)
	}
	if err := st.Settle(context.Background()); err != nil {
		t.Fatal(err)
	}
}

func escapeSegment(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.' || c == '~' {
			b.WriteByte(c)
		} else {
			b.WriteString("%" + strings.ToUpper(string("0123456789abcdef"[c>>4])+string("0123456789abcdef"[c&15])))
		}
	}
	return b.String()
}

func TestRedriveMarksTransientFailuresProcessed(t *testing.T) {
	st := startStack(t, Options{Seed: 21, Requests: 200})
	r := findSeeded(t, st, func(r SeedRequest, s StatusItem, ok bool) bool {
		return ok && s.State == StateFailed && s.Attempts == 1 && strings.Contains(s.Error, "inventory")
	})
	redriveInPlace(t, st, r)
	s, ok := st.Status(r.Key)
	if !ok || s.State != StateProcessed || s.Attempts != 2 || s.Error != "" {
		t.Errorf("after redrive: %+v, want PROCESSED with 2 attempts and no error", s)
	}
	if !s.UpdatedAt.Equal(testNow) {
		t.Errorf("updatedAt %v, want the stack's clock %v", s.UpdatedAt, testNow)
	}
}

func TestRedriveFailsParseErrorsAgain(t *testing.T) {
	st := startStack(t, Options{Seed: 21, Requests: 200})
	r := findSeeded(t, st, func(r SeedRequest, s StatusItem, ok bool) bool {
		return ok && s.State == StateFailed && strings.Contains(s.Error, "line ")
	})
	first, _ := st.Status(r.Key)
	for i := 1; i <= 2; i++ {
		redriveInPlace(t, st, r)
		s, _ := st.Status(r.Key)
		if s.State != StateFailed || s.Error != first.Error || s.Attempts != first.Attempts+i {
			t.Errorf("redrive %d: %+v, want FAILED %q with attempts %d", i, s, first.Error, first.Attempts+i)
		}
	}
}

func TestLostRequestsGetAStatusWhenRedriven(t *testing.T) {
	st := startStack(t, Options{Seed: 21, Requests: 200})
	r := findSeeded(t, st, func(r SeedRequest, s StatusItem, ok bool) bool {
		return !ok && (r.Kind == KindProductXML || r.Kind == KindProfileJSON)
	})
	redriveInPlace(t, st, r)
	if s, ok := st.Status(r.Key); !ok || s.State != StateProcessed || s.Attempts != 1 {
		t.Errorf("lost request after redrive: %+v %v, want PROCESSED", s, ok)
	}
}

func TestSeededStatusesMatchTheLiveProcessor(t *testing.T) {
	// Every seeded status must be what the processor says about the stored bytes.
	st := startStack(t, Options{Seed: 9, Requests: 150})
	for _, r := range st.Seeded() {
		s, ok := st.Status(r.Key)
		if !ok {
			if chance(st.opts.Seed, r.Key, "lost") >= st.opts.LostRatio {
				t.Errorf("%s has no status but was not lost", r.Key)
			}
			continue
		}
		obj, err := st.backend.GetObject(st.Bucket, r.Key, nil)
		if err != nil {
			t.Fatal(err)
		}
		var body bytes.Buffer
		body.ReadFrom(obj.Contents)
		_, _, err = checkPayload(obj.Metadata["Content-Type"], obj.Metadata["Content-Encoding"], body.Bytes())
		switch {
		case err != nil && (s.State != StateFailed || s.Error != err.Error()):
			t.Errorf("%s: status %+v, processor says %v", r.Key, s, err)
		case err == nil && s.State == StateFailed && !strings.Contains(s.Error, "inventory"):
			t.Errorf("%s: status %+v for a valid payload", r.Key, s)
		}
	}
}

func newTestRand(seed uint64) *rand.Rand { return rand.New(rand.NewPCG(seed, seed)) }

// KindInvalid payloads are well-formed: they fail validation, not parsing.
func TestInvalidSeedsFailValidation(t *testing.T) {
	g := &payloads{rng: newTestRand(2)}
	for i := range 20 {
		body, ct, ce := g.make(KindInvalid)
		if _, kind, err := checkPayload(ct, ce, body); kind != "validation" {
			t.Fatalf("invalid payload %d: kind %q (%v), want a validation failure", i, kind, err)
		}
	}
}
