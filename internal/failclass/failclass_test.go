package failclass

import (
	"fmt"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/stowage-cli/stowage/internal/config"
)

func TestNormalize(t *testing.T) {
	cases := []struct{ in, want string }{
		{"XML syntax error at line 11, column 7: unexpected EOF", "XML syntax error at line <n>, column <n>: unexpected EOF"},
		{"XML syntax error at line 5, column 2: unexpected EOF", "XML syntax error at line <n>, column <n>: unexpected EOF"},
		{"order 3f2b8c1e-9d4a-4b7e-8c3f-0a1b2c3d4e5f not found", "order <uuid> not found"},
		{"req-3f2b8c1e-9d4a-4b7e-8c3f-0a1b2c3d4e5f: gone", "req-<uuid>: gone"},
		{`strconv.ParseInt: parsing "abc": invalid syntax`, `strconv.ParseInt: parsing "<v>": invalid syntax`},
		{`field 'price' must be a number`, `field '<v>' must be a number`},
		{"can't reach 'x'", "can't reach '<v>'"},
		{"dial tcp 10.0.3.7:443: i/o timeout", "dial tcp <host>: i/o timeout"},
		{"Get https://inventory.internal:8443/items: context deadline exceeded", "Get https://<host>/items: context deadline exceeded"},
		{"lookup payments.example.com: no such host", "lookup <host>: no such host"},
		{"field order.items.sku is required", "field order.items.sku is required"},
		{"failed at 2026-12-07T14:00:00.123Z after 3 attempts", "failed at <time> after <n> attempts"},
		{"at 2026-12-07 14:00:00.5 +0000 UTC", "at <time> <time> +<n> UTC"},
		{"upstream returned status 503 after 100 ms", "upstream returned status 503 after <n> ms"},
		{"HTTP/1.1 429 Too Many Requests", "HTTP/<n>.<n> 429 Too Many Requests"},
		{"line 503", "line <n>"},
		{"trace 1-5f84c7a2-4a1b2c3d4e5f60718293a4b5", "trace <n>-<hex>-<hex>"},
		{"too   many\tspaces\nand\x1b[31mcolour ", "too many spaces and [<n>mcolour"},
		{"", ""},
		// One cause, one class: the code point is a number whatever its hex digits.
		{"XML syntax error at line 4, column 113: illegal character code U+001B", "XML syntax error at line <n>, column <n>: illegal character code U+<n>"},
		{"XML syntax error at line 4, column 9: illegal character code U+0000", "XML syntax error at line <n>, column <n>: illegal character code U+<n>"},
		{"bad byte 0x1f in header", "bad byte <n> in header"},
		{"bad byte 0x20 in header", "bad byte <n> in header"},
		{"retry in 1d", "retry in <n>d"},
	}
	for _, c := range cases {
		if got := Normalize(c.in); got != c.want {
			t.Errorf("Normalize(%q)\n got %q\nwant %q", c.in, got, c.want)
		}
		if again := Normalize(Normalize(c.in)); again != Normalize(c.in) {
			t.Errorf("Normalize not idempotent on %q: %q then %q", c.in, Normalize(c.in), again)
		}
	}
}

func TestNormalizeBoundsTheKey(t *testing.T) {
	long := strings.Repeat("é", 5000)
	got := Normalize(long)
	if len(got) > maxKey+len("…") || !utf8.ValidString(got) || !strings.HasSuffix(got, "…") {
		t.Fatalf("key of a 10 KB message: %d bytes, valid %v", len(got), utf8.ValidString(got))
	}
	if Normalize(got) != got {
		t.Fatal("a cut key normalizes to something else")
	}
}

func TestDefaultKinds(t *testing.T) {
	cases := []struct {
		msg  string
		want Kind
	}{
		// parse, validation and schema errors are permanent
		{"XML syntax error at line 11, column 7: unexpected EOF", Permanent},
		{"json: cannot unmarshal string into Go value of type int", Permanent},
		{"parse error: invalid character 'x' looking for beginning of value", Permanent},
		{"validation failed: price must be positive", Permanent},
		{"ValidationException: customerId is required", Permanent},
		{"payload does not match schema order-v3", Permanent},
		{"malformed payload from caller acme", Permanent},
		{`unsupported content type "text/csv": the processor reads XML or JSON`, Permanent},
		{"empty payload: the request body has 0 bytes", Permanent},
		// timeouts, throttling, 5xx and "unavailable" are transient
		{"dial tcp 10.0.3.7:443: i/o timeout", Transient},
		{"context deadline exceeded", Transient},
		{"request timed out after 30s", Transient},
		{"ThrottlingException: Rate exceeded", Transient},
		{"ProvisionedThroughputExceededException", Transient},
		{"HTTP 429 Too Many Requests", Transient},
		{"upstream returned status 503", Transient},
		{"502 Bad Gateway", Transient},
		{"500 Internal Server Error", Transient},
		{"inventory service unavailable", Transient},
		{"connection refused", Transient},
		// both: transient wins (leaving a fixable request out is the worse mistake)
		{"schema registry unavailable", Transient},
		// neither
		{"customer account closed", Unknown},
		{"", Unknown},
		{"line 503: unexpected token", Unknown},
	}
	r := DefaultRules()
	for _, c := range cases {
		if got := r.Kind(c.msg); got != c.want {
			t.Errorf("Kind(%q) = %s, want %s", c.msg, got, c.want)
		}
	}
}

func TestRulesForConfiguredFirst(t *testing.T) {
	env := &config.Env{}
	env.Status.PermanentErrors = []string{`account closed`, `tax service 503`}
	env.Status.TransientErrors = []string{`lock held`}
	r, err := RulesFor(env)
	if err != nil {
		t.Fatal(err)
	}
	for msg, want := range map[string]Kind{
		"customer account closed":   Permanent, // configured
		"tax service 503":           Permanent, // configured before the default 5xx
		"lock held by run 7":        Transient,
		"XML syntax error":          Permanent, // the defaults still apply after
		"ACCOUNT CLOSED since 2020": Permanent, // case-insensitive
	} {
		if got := r.Kind(msg); got != want {
			t.Errorf("Kind(%q) = %s, want %s", msg, got, want)
		}
	}
	env.Status.TransientErrors = []string{`ok`, `(unclosed`}
	if _, err := RulesFor(env); err == nil || !strings.Contains(err.Error(), "status.transient_errors[1]") {
		t.Fatalf("invalid pattern: %v, want an error naming status.transient_errors[1]", err)
	}
	if r, err := RulesFor(nil); err != nil || r != DefaultRules() {
		t.Fatalf("RulesFor(nil) = %v, %v", r, err)
	}
}

func TestGroup(t *testing.T) {
	t0 := time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)
	at := func(m int) time.Time { return t0.Add(time.Duration(m) * time.Minute) }
	fs := []Failure{
		{"a", "XML syntax error at line 11, column 7: unexpected EOF", at(0)},
		{"b", "dial tcp 10.0.3.7:443: i/o timeout", at(5)},
		{"c", "XML syntax error at line 5, column 2: unexpected EOF", at(10)},
		{"d", "XML syntax error at line 9, column 1: unexpected EOF", at(59)},
		{"e", "dial tcp 10.0.3.9:443: i/o timeout", at(30)},
		{"f", "customer account closed", at(90)}, // outside the window
	}
	cs := Group(fs, nil, t0, t0.Add(time.Hour), 6)
	if len(cs) != 3 {
		t.Fatalf("%d classes, want 3: %+v", len(cs), cs)
	}
	x := cs[0]
	if x.Key != "XML syntax error at line <n>, column <n>: unexpected EOF" || x.Count != 3 || x.Kind != Permanent {
		t.Fatalf("first class %+v", x)
	}
	if x.SampleID != "d" || !x.First.Equal(at(0)) || !x.Last.Equal(at(59)) || x.Share != 0.5 {
		t.Fatalf("sample %s first %v last %v share %v", x.SampleID, x.First, x.Last, x.Share)
	}
	if fmt.Sprint(x.Spark) != "[1 1 0 0 0 1]" || fmt.Sprint(x.IDs) != "[a c d]" {
		t.Fatalf("spark %v ids %v", x.Spark, x.IDs)
	}
	if cs[1].Kind != Transient || cs[1].Count != 2 || fmt.Sprint(cs[1].Spark) != "[1 0 0 1 0 0]" {
		t.Fatalf("second class %+v", cs[1])
	}
	if cs[2].Kind != Unknown || fmt.Sprint(cs[2].Spark) != "[0 0 0 0 0 0]" {
		t.Fatalf("outside the window: %+v", cs[2])
	}
	// Open ends take the failures' own span; the last failure is in the last bucket.
	open := Group(fs, nil, time.Time{}, time.Time{}, 3)
	total := 0
	for _, c := range open {
		for _, n := range c.Spark {
			total += n
		}
	}
	if total != len(fs) {
		t.Fatalf("open window counts %d of %d", total, len(fs))
	}
	if Group(nil, nil, time.Time{}, time.Time{}, 10) != nil && len(Group(nil, nil, time.Time{}, time.Time{}, 10)) != 0 {
		t.Fatal("no failures, some classes")
	}
}

func TestSparkline(t *testing.T) {
	for _, c := range []struct {
		in   []int
		want string
	}{
		{[]int{0, 1, 2, 4, 8}, " ▁▂▄█"},
		{[]int{0, 0}, "  "},
		{[]int{1, 1000}, "▁█"},
		{[]int{7}, "█"},
		{nil, ""},
	} {
		if got := Sparkline(c.in); got != c.want {
			t.Errorf("Sparkline(%v) = %q, want %q", c.in, got, c.want)
		}
	}
}

func FuzzNormalize(f *testing.F) {
	for _, s := range []string{
		"XML syntax error at line 11, column 7: unexpected EOF",
		`parsing "abc": invalid syntax`, "can't 'x' `y`", "10.0.0.1:80", "a.b.com",
		"2026-12-07T14:00:00Z", "status 503", "<n> <uuid> \"<v>\"", "\xff\x00é\u2028",
		"3f2b8c1e-9d4a-4b7e-8c3f-0a1b2c3d4e5f", strings.Repeat("x", 2000),
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := Normalize(s)
		if !utf8.ValidString(got) {
			t.Fatalf("invalid UTF-8 from %q: %q", s, got)
		}
		if len(got) > maxKey+len("…") {
			t.Fatalf("key of %d bytes", len(got))
		}
		for _, r := range got {
			if r < ' ' || r == 0x7f || (r >= 0x80 && r < 0xa0) || r == 0x2028 || r == 0x2029 {
				t.Fatalf("control %U in %q", r, got)
			}
		}
		if again := Normalize(got); again != got {
			t.Fatalf("not idempotent:\n in   %q\n once %q\n twice %q", s, got, again)
		}
	})
}
