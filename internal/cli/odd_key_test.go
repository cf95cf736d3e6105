package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// Keys that hold control characters, or look like a URI or a log line, are addressed
// byte for byte with --key: show --raw writes exactly the stored bytes, status finds the
// object, and neither parses the key into something else.
func TestOddKeysAreAddressableByteForByte(t *testing.T) {
	d := startDemo(t)
	decoy := d.firstOfKind(t, "product-xml") // the ID the log-line key names: must not be shown instead
	for _, c := range []struct{ name, key string }{
		{"LogLine", "2026-03-02T09:00:00Z ERROR requestId=" + decoy + " parse failed"},
		{"URI", "s3://another-bucket/" + decoy},
		{"ControlCharacters", "evil\x1b]52;c;cHduZWQ=\x07\x1b[2J\r\n\tkey\u202e"},
		{"Spaces", "  leading and trailing  "},
	} {
		t.Run(c.name, func(t *testing.T) {
			body := []byte("<stored exactly=\"" + c.name + "\">\x00\x01\xff</stored>\n")
			if _, err := d.s3(t).PutObject(context.Background(), &s3.PutObjectInput{
				Bucket: aws.String(d.stack.Bucket), Key: aws.String(c.key), Body: bytes.NewReader(body),
			}); err != nil {
				t.Fatal(err)
			}
			if err := d.stack.Settle(context.Background()); err != nil { // the processor writes its item
				t.Fatal(err)
			}
			if !bytes.Equal(d.storedBytes(t, c.key), body) {
				t.Fatal("the stack did not store the key as given")
			}

			var out, errb bytes.Buffer
			r := d.onTerminal(100, &out).runTo(t, &out, &errb, "", "show", "--key", c.key, "--raw").must(t, ExitOK)
			if r.stdout != string(body) {
				t.Fatalf("show --key --raw wrote %q, want the stored %q", r.stdout, body)
			}

			r = d.run(t, "", "status", "--key", c.key, "-o", "json").must(t, ExitOK)
			rows := jsonLines(t, r.stdout)
			if len(rows) != 1 || rows[0]["key"] != c.key || rows[0]["size"] == nil || rows[0]["status"] == nil {
				t.Fatalf("status --key: %v (stderr %q)", rows, r.stderr)
			}
			terminalSafe(t, r.stderr)

			// redrive plans the object under exactly that key.
			r = d.run(t, "", "redrive", "--dry-run", "--key", c.key, "-o", "json").must(t, ExitOK)
			if !planNamesKey(t, r.stdout, c.key) {
				t.Fatalf("redrive --dry-run --key did not plan the key %q:\n%s", c.key, r.stdout)
			}
			terminalSafe(t, r.stderr)

			r = d.run(t, "", "show", "--key", c.key, "--meta").must(t, ExitOK)
			var meta struct{ Key string }
			if err := json.Unmarshal([]byte(r.stdout), &meta); err != nil || meta.Key != c.key {
				t.Fatalf("show --key --meta: %v %s", err, r.stdout)
			}
		})
	}
	t.Run("KeyAndArgumentAreOneOrTheOther", func(t *testing.T) {
		r := d.run(t, "", "show", "--key", "k", decoy).must(t, ExitUsage)
		if !bytes.Contains([]byte(r.stderr), []byte("--key or a request")) {
			t.Fatalf("stderr %q", r.stderr)
		}
	})
}

// planNamesKey reports whether a dry run's JSON output plans an item stored under key.
func planNamesKey(t *testing.T, out, key string) bool {
	t.Helper()
	var found bool
	var walk func(v any)
	walk = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			if v["key"] == key {
				found = true
			}
			for _, x := range v {
				walk(x)
			}
		case []any:
			for _, x := range v {
				walk(x)
			}
		}
	}
	dec := json.NewDecoder(bytes.NewReader([]byte(out)))
	for dec.More() {
		var v any
		if err := dec.Decode(&v); err != nil {
			t.Fatalf("dry run output is not JSON: %v\n%s", err, out)
		}
		walk(v)
	}
	return found
}
