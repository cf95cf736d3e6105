package cli

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/charmbracelet/x/exp/golden"

	"github.com/stowage-cli/stowage/awsclient"
	"github.com/stowage-cli/stowage/internal/config"
	"github.com/stowage-cli/stowage/internal/devstack"
	"github.com/stowage-cli/stowage/internal/payload"
	"github.com/stowage-cli/stowage/internal/testenv"
)

// storedBytes reads an object with a plain S3 client, independent of stowage's.
func (d *demo) storedBytes(t *testing.T, key string) []byte {
	t.Helper()
	c := d.s3(t)
	out, err := c.GetObject(context.Background(), &s3.GetObjectInput{Bucket: aws.String(d.stack.Bucket), Key: aws.String(key)})
	if err != nil {
		t.Fatalf("get %s: %v", key, err)
	}
	defer out.Body.Close()
	b, err := io.ReadAll(out.Body)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func (d *demo) s3(t *testing.T) *s3.Client {
	return testenv.NewS3Client(t, testenv.Endpoint{URL: d.stack.S3URL, AccessKey: d.stack.AccessKey, SecretKey: d.stack.SecretKey, Region: d.stack.Region})
}

// firstOfKind is the first seeded request of a kind.
func (d *demo) firstOfKind(t *testing.T, kind string) string {
	t.Helper()
	for _, s := range d.stack.Seeded() {
		if s.Kind == kind {
			return s.Key
		}
	}
	t.Fatalf("the demo seeds no %s request", kind)
	return ""
}

// sgr matches colour sequences, the only escapes stowage itself writes.
var sgr = regexp.MustCompile(`\x1b\[[0-9;:]*m`)

// terminalSafe fails when s holds anything a terminal would act on, other than colour.
func terminalSafe(t *testing.T, s string) {
	t.Helper()
	s = sgr.ReplaceAllString(s, "")
	for i, r := range s {
		if (r < 0x20 && r != '\n') || r == 0x7f || (r >= 0x80 && r < 0xa0) || (r >= 0x202a && r <= 0x202e) || (r >= 0x2066 && r <= 0x2069) {
			t.Fatalf("byte %U at %d reached the terminal: %q", r, i, s[max(0, i-20):min(len(s), i+20)])
		}
	}
}

func TestShow(t *testing.T) {
	d := startDemo(t)
	kinds := []string{devstack.KindProductXML, devstack.KindProfileJSON, devstack.KindMalformedXML, devstack.KindMalformedJSON,
		devstack.KindGzip, devstack.KindBinary, devstack.KindEmpty, devstack.KindEscapes}

	t.Run("ExactBytesWhenNotATerminal", func(t *testing.T) {
		for _, kind := range append(kinds, devstack.KindLargeXML) {
			key := d.firstOfKind(t, kind)
			r := d.run(t, "", "show", key).must(t, ExitOK)
			if want := d.storedBytes(t, key); r.stdout != string(want) {
				t.Fatalf("%s: %d bytes written, %d stored", kind, len(r.stdout), len(want))
			}
		}
	})
	t.Run("PrettyOnATerminal", func(t *testing.T) {
		for _, kind := range kinds {
			t.Run(kind, func(t *testing.T) {
				key := d.firstOfKind(t, kind)
				var out, errb bytes.Buffer
				tty := d.onTerminal(100, &out)
				r := tty.runTo(t, &out, &errb, "", "show", key).must(t, ExitOK)
				terminalSafe(t, r.stdout)
				terminalSafe(t, r.stderr)
				golden.RequireEqual(t, r.stdout+"--- stderr\n"+withoutWarnings(r.stderr))

				out.Reset()
				plain := tty.runTo(t, &out, &errb, "", "--no-color", "show", key).must(t, ExitOK)
				if strings.Contains(plain.stdout, "\x1b") {
					t.Fatalf("--no-color: %q", plain.stdout)
				}
				if plain.stdout != sgr.ReplaceAllString(r.stdout, "") {
					t.Fatal("colour must not change the text")
				}
			})
		}
	})
	t.Run("RawOnATerminalIsExact", func(t *testing.T) {
		key := d.firstOfKind(t, devstack.KindEscapes)
		var out, errb bytes.Buffer
		r := d.onTerminal(100, &out).runTo(t, &out, &errb, "", "show", "--raw", key).must(t, ExitOK)
		want := d.storedBytes(t, key)
		if r.stdout != string(want) || !bytes.Contains(want, []byte{0x1b}) {
			t.Fatalf("--raw must pass the hostile payload through exactly (%d vs %d bytes)", len(r.stdout), len(want))
		}
	})
	t.Run("Range", func(t *testing.T) {
		key := d.firstOfKind(t, devstack.KindProductXML)
		all := d.storedBytes(t, key)
		if r := d.run(t, "", "show", "--range", "0-9", key).must(t, ExitOK); r.stdout != string(all[:10]) {
			t.Fatalf("0-9: %q", r.stdout)
		}
		if r := d.run(t, "", "show", "--range", "5-", key).must(t, ExitOK); r.stdout != string(all[5:]) {
			t.Fatalf("5-: %q", r.stdout)
		}
		if r := d.run(t, "", "show", "--range", "10-100000", key).must(t, ExitOK); r.stdout != string(all[10:]) {
			t.Fatalf("an END past the end is clamped: %q", r.stdout)
		}
		// A range past the end is a mistake, not an empty payload.
		size := fmt.Sprintf("(%d B)", len(all))
		for _, past := range []string{"100000000-", "5000-6000", fmt.Sprintf("%d-", len(all))} {
			r := d.run(t, "", "show", "--range", past, key).must(t, ExitUsage)
			if r.stdout != "" || !strings.Contains(r.stderr, "--range "+past+": the range starts past the end of the object "+size) {
				t.Fatalf("--range %s: stdout %q, stderr %q", past, r.stdout, r.stderr)
			}
		}
		if r := d.run(t, "", "show", "--range", fmt.Sprintf("%d-", len(all)-1), key).must(t, ExitOK); r.stdout != string(all[len(all)-1:]) {
			t.Fatalf("the last byte: %q", r.stdout)
		}
		for _, bad := range []string{"9-0", "a-b", "10", "-5", "1-x"} {
			r := d.run(t, "", "show", "--range", bad, key).must(t, ExitUsage)
			if !strings.Contains(r.stderr, "want START-END") {
				t.Fatalf("--range %s: %q", bad, r.stderr)
			}
		}
	})
	t.Run("Meta", func(t *testing.T) {
		r := d.run(t, "", "show", "--meta", "758c5d83-670c-44a8-bc2c-e34cb438ace8").must(t, ExitOK)
		// Like ls -o json, every field is there, null when S3 did not say.
		for _, field := range []string{`"contentEncoding": null`, `"versionId": null`, `"storageClass": `} {
			if !strings.Contains(r.stdout, field) {
				t.Errorf("--meta lacks %s:\n%s", field, r.stdout)
			}
		}
		golden.RequireEqual(t, r.stdout)
	})
	t.Run("MetaReadsTheObjectAndTheStatusAtOnce", func(t *testing.T) {
		// Each HEAD waits (a few seconds at most) for a GetItem to start: read one after
		// the other, as --meta did, they never meet.
		getItem, met := make(chan struct{}), &atomic.Bool{}
		var once sync.Once
		c := *d
		c.seams.openClients = func(ctx context.Context, env *config.Env, opts ...awsclient.OpenOption) (*awsclient.Clients, error) {
			opts = append(opts, awsclient.WithHTTPWrap(func(next http.RoundTripper) http.RoundTripper {
				return roundTripFunc(func(r *http.Request) (*http.Response, error) {
					if strings.HasSuffix(r.Header.Get("X-Amz-Target"), ".GetItem") {
						once.Do(func() { close(getItem) })
					}
					if r.Method == http.MethodHead {
						select {
						case <-getItem:
							met.Store(true)
						case <-time.After(5 * time.Second):
						}
					}
					return next.RoundTrip(r)
				})
			}))
			return awsclient.Open(ctx, env, opts...)
		}
		c.run(t, "", "show", "--meta", "758c5d83-670c-44a8-bc2c-e34cb438ace8").must(t, ExitOK)
		if !met.Load() {
			t.Error("the HEAD and the GetItem were read one after the other")
		}
	})
	t.Run("MalformedNoteComesBeforeThePayload", func(t *testing.T) {
		key := d.firstOfKind(t, devstack.KindMalformedXML)
		var both bytes.Buffer // stdout and stderr in the order they were written
		r := d.onTerminal(100, &both).runTo(t, &both, &both, "", "--no-color", "show", key).must(t, ExitOK)
		note := strings.Index(r.stdout, "stowage: note: malformed XML at line")
		payload := strings.Index(r.stdout, "<?xml")
		if note < 0 || payload < 0 || note > payload {
			t.Fatalf("the note must come first:\n%s", r.stdout)
		}
	})
	t.Run("WordsWithoutAnID", func(t *testing.T) {
		for _, args := range [][]string{{"show", "garbage text here"}, {"show", "--meta", "garbage text here"}, {"show", "--range", "0-9", "garbage text here"}} {
			r := d.run(t, "", args...).must(t, ExitUsage)
			if r.stdout != "" || !strings.Contains(r.stderr, `no request ID found in what you pasted ("garbage text here"); paste a request ID, an s3:// URI, a console URL or a log line containing a request ID`) ||
				strings.Contains(r.stderr, "not in the bucket") || strings.Contains(r.stderr, "no object at") {
				t.Fatalf("%q: stdout %q stderr %q", args, r.stdout, r.stderr)
			}
		}
		// A key with spaces is still a key.
		for _, s := range d.stack.Seeded() {
			if strings.Contains(s.Key, " ") {
				d.run(t, "", "show", s.Key).must(t, ExitOK)
				d.run(t, "", "show", "--meta", s.Key).must(t, ExitOK)
				return
			}
		}
		t.Fatal("the demo seeds no key with a space; the check above did not run")
	})
	t.Run("LogLineArgument", func(t *testing.T) {
		key := d.firstOfKind(t, devstack.KindProfileJSON)
		r := d.run(t, "", "show", "2026-03-02T08:33:46Z ERROR processor RequestId: "+key+" failed").must(t, ExitOK)
		if r.stdout != string(d.storedBytes(t, key)) {
			t.Fatal("a log line names the request")
		}
	})
	t.Run("ObjectGoneButStatusItemRemains", func(t *testing.T) {
		key := d.firstOfKind(t, devstack.KindProductXML)
		if _, err := d.s3(t).DeleteObject(context.Background(), &s3.DeleteObjectInput{Bucket: aws.String(d.stack.Bucket), Key: aws.String(key)}); err != nil {
			t.Fatal(err)
		}
		r := d.run(t, "", "show", key).must(t, ExitNotFound)
		if r.stdout != "" || !strings.Contains(r.stderr, "has a status item (PROCESSED") || !strings.Contains(r.stderr, "no object at s3://stowage-demo-requests/"+key) {
			t.Fatalf("stderr %q", r.stderr)
		}
		m := d.run(t, "", "show", "--meta", key).must(t, ExitNotFound)
		if !strings.Contains(m.stdout, `"object": null`) || !strings.Contains(m.stdout, `"status": {`) {
			t.Fatalf("--meta prints the status item and a null object: %s", m.stdout)
		}
		golden.RequireEqual(t, lastLines(r.stderr, 1)+m.stdout)

		st := d.run(t, "", "status", key).must(t, ExitOK)
		if rows := jsonLines(t, st.stdout); len(rows) != 1 || rows[0]["size"] != nil || rows[0]["status"] != "PROCESSED" ||
			!strings.Contains(st.stderr, "has a status item but no object") {
			t.Fatalf("status of a request whose object is gone: %s\n%s", st.stdout, st.stderr)
		}
	})
	t.Run("NoSuchRequest", func(t *testing.T) {
		r := d.run(t, "", "show", "00000000-0000-4000-8000-000000000000").must(t, ExitNotFound)
		if !strings.Contains(r.stderr, "no request 00000000-0000-4000-8000-000000000000: no object") {
			t.Fatalf("stderr %q", r.stderr)
		}
		d.run(t, "", "show", "--meta", "00000000-0000-4000-8000-000000000000").must(t, ExitNotFound)
	})
	t.Run("UsageErrors", func(t *testing.T) {
		if r := d.run(t, "", "show").must(t, ExitUsage); !strings.Contains(r.stderr, "see stowage show --help") {
			t.Errorf("no argument: %q", r.stderr)
		}
		d.run(t, "", "show", "s3://another-bucket/x").must(t, ExitUsage)
		d.run(t, "", "show", "--meta", "--range", "0-1", "x").must(t, ExitUsage)
	})
}

func FuzzShowParseByteRange(f *testing.F) {
	for _, s := range []string{"0-9", "5-", "9-0", "-5", "a-b", "1-9223372036854775807", " 3-4 ", "0-0"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r, err := parseByteRange(s)
		if err != nil {
			return
		}
		if r.Start < 0 || (r.End != -1 && r.End < r.Start) {
			t.Fatalf("%q parsed to %+v", s, r)
		}
		if r.End != -1 && r.End-r.Start+1 <= 0 {
			t.Fatalf("%q: the length overflows: %+v", s, r)
		}
	})
}

// TestShowGzipBombOnATerminal: a gzip payload that expands to 64 MiB shows only
// preview_bytes (1 MiB by default) of its expansion on a terminal, with a note saying how
// to get it all; a pipe and --raw still get the exact stored bytes.
func TestShowGzipBombOnATerminal(t *testing.T) {
	d := startDemo(t)
	line := append(bytes.Repeat([]byte("x"), 1023), '\n')
	var z bytes.Buffer
	zw := gzip.NewWriter(&z)
	for range 64 << 10 { // 64 MiB of text
		zw.Write(line)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	const key = "6f1c0e2a-0b0b-4000-8000-00000000b0b0"
	if _, err := d.s3(t).PutObject(context.Background(), &s3.PutObjectInput{Bucket: aws.String(d.stack.Bucket), Key: aws.String(key),
		Body: bytes.NewReader(z.Bytes()), ContentType: aws.String("text/plain"), ContentEncoding: aws.String("gzip")}); err != nil {
		t.Fatal(err)
	}

	var out, errb bytes.Buffer
	tty := d.onTerminal(100, &out)
	r := tty.runTo(t, &out, &errb, "", "--no-color", "show", key).must(t, ExitOK)
	const preview = 1 << 20
	if len(r.stdout) > preview+len(line) || len(r.stdout) < preview/2 {
		t.Fatalf("a terminal got %d bytes of the 64 MiB expansion; want at most preview_bytes (%d)", len(r.stdout), preview)
	}
	if !strings.Contains(r.stderr, "stowage: note: showing the first 1.0 MiB of the decompressed payload (preview_bytes); all of it: stowage show --raw "+key+" | gunzip") {
		t.Fatalf("no note on stderr: %q", r.stderr)
	}

	out.Reset()
	errb.Reset()
	raw := tty.runTo(t, &out, &errb, "", "show", "--raw", key).must(t, ExitOK)
	if raw.stdout != z.String() {
		t.Fatalf("--raw on a terminal: %d bytes, %d stored", len(raw.stdout), z.Len())
	}
	if pipe := d.run(t, "", "show", key).must(t, ExitOK); pipe.stdout != z.String() || strings.Contains(pipe.stderr, "decompressed") {
		t.Fatalf("a pipe: %d bytes, %d stored; stderr %q", len(pipe.stdout), z.Len(), pipe.stderr)
	}
}

// TestShowHighlightedInOrder: windows coloured on several goroutines come out exactly as
// one goroutine colours them in turn, and a failed write (a pager that quit) ends it.
func TestShowHighlightedInOrder(t *testing.T) {
	var b bytes.Buffer
	b.WriteString("[")
	for i := range 3000 {
		if i > 0 {
			b.WriteString(",")
		}
		fmt.Fprintf(&b, `{"id":%d,"name":"product \"%d\"","price":%d.5,"tags":["a",{"b":null}],"ok":true}`, i, i, i)
	}
	b.WriteString("]")
	doc := payload.NewDocument(b.Bytes(), payload.JSON, true, false)
	if doc.Lines() < 10*highlightWindow {
		t.Fatalf("only %d lines", doc.Lines())
	}
	h := payload.NewHighlighter(true)
	var want strings.Builder
	for from := 0; from < doc.Lines(); from += highlightWindow {
		for _, l := range h.Window(doc, from, from+highlightWindow) {
			want.WriteString(l + "\n")
		}
	}
	for _, workers := range []int{1, 2, 7} {
		var got bytes.Buffer
		w := bufio.NewWriter(&got)
		if err := writeHighlighted(w, doc, h, workers); err != nil {
			t.Fatal(err)
		}
		if got.String() != want.String() {
			t.Fatalf("%d workers: the output differs from one window after another", workers)
		}
	}
	w := bufio.NewWriterSize(failingWriter{}, 16)
	if err := writeHighlighted(w, doc, h, 4); err == nil {
		t.Fatal("a failed write must end the render with its error")
	}
}

type failingWriter struct{}

func (failingWriter) Write([]byte) (int, error) { return 0, io.ErrClosedPipe }

// roundTripFunc is an http.RoundTripper made of a func.
type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }
