package cli

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/charmbracelet/x/exp/golden"

	"github.com/stowage-cli/stowage/internal/reqid"
	"github.com/stowage-cli/stowage/internal/testenv"
)

func TestStatus(t *testing.T) {
	d := startDemo(t)
	const (
		failed    = "758c5d83-670c-44a8-bc2c-e34cb438ace8"
		processed = "00a3bfdd-1a04-4c03-897f-73722c25b795"
		missing   = "00000000-0000-4000-8000-000000000000"
	)
	lost := ids(t, d.run(t, "", "lost", "--limit", "1").must(t, ExitOK).stdout)[0]
	for _, id := range []string{failed, processed} {
		if _, ok := d.stack.Status(id); !ok {
			t.Fatalf("the demo seed changed: %s has no status item; pick other IDs", id)
		}
	}

	t.Run("JSON", func(t *testing.T) {
		r := d.run(t, "", "status", failed, processed).must(t, ExitOK)
		rows := jsonLines(t, r.stdout)
		if len(rows) != 2 || rows[0]["status"] != "FAILED" || rows[1]["status"] != "PROCESSED" {
			t.Fatalf("rows in argument order with their states: %v", rows)
		}
		if rows[0]["contentType"] == nil {
			t.Fatal("status reads the object with HEAD: contentType is known")
		}
		golden.RequireEqual(t, r.stdout)
	})
	t.Run("Table", func(t *testing.T) {
		r := d.run(t, "", "status", "-o", "table", failed, processed).must(t, ExitOK)
		golden.RequireEqual(t, r.stdout)
	})
	t.Run("StdinJSONLinesFromLs", func(t *testing.T) {
		ls := d.run(t, "", "ls", "--limit", "20").must(t, ExitOK)
		r := d.run(t, ls.stdout, "status").must(t, ExitOK)
		if r.stdout != ls.stdout {
			// Same contract, same rows; only contentType is filled in by status's HEAD.
			lsRows, stRows := jsonLines(t, ls.stdout), jsonLines(t, r.stdout)
			if len(lsRows) != len(stRows) {
				t.Fatalf("%d rows in, %d out", len(lsRows), len(stRows))
			}
			for i := range lsRows {
				for _, f := range contractFields {
					if f != "contentType" && lsRows[i][f] != stRows[i][f] {
						t.Fatalf("row %d field %s: ls %v, status %v", i, f, lsRows[i][f], stRows[i][f])
					}
				}
			}
		}
	})
	t.Run("StdinPlainIDsLogLinesAndURIs", func(t *testing.T) {
		in := strings.Join([]string{
			"# a comment, then a blank line",
			"",
			failed,
			"2026-03-02T08:33:46Z ERROR processor requestId=" + processed + " done",
			reqid.S3URI(d.stack.Bucket, failed), // a duplicate: printed once
		}, "\n")
		r := d.run(t, in, "status", "-").must(t, ExitOK)
		if got := ids(t, r.stdout); len(got) != 2 || got[0] != failed || got[1] != processed {
			t.Fatalf("got %v", got)
		}
	})
	t.Run("NoStatusItemOrNoRequest", func(t *testing.T) {
		r := d.run(t, "", "status", processed, lost, missing).must(t, ExitNotFound)
		rows := jsonLines(t, r.stdout)
		if len(rows) != 2 || rows[1]["id"] != lost || rows[1]["status"] != nil {
			t.Fatalf("the lost request is printed with status null, the missing one not at all: %v", rows)
		}
		if !strings.Contains(r.stderr, lost+" has no status item (LOST: stored") ||
			!strings.Contains(r.stderr, "no request "+missing+": no object at s3://stowage-demo-requests/"+missing+" and no status item") {
			t.Fatalf("stderr %q", r.stderr)
		}
		if !strings.HasSuffix(r.stderr, "stowage: 1 of 3 requests has no status item; 1 of 3 requests does not exist (no object and no status item)\n") {
			t.Errorf("the last line must count the lost and the missing request apart: %q", lastLines(r.stderr, 1))
		}
		golden.RequireEqual(t, lastLines(r.stderr, 3))
	})
	t.Run("UsageErrors", func(t *testing.T) {
		for _, c := range []struct {
			stdin string
			args  []string
			says  string
		}{
			{"{not json\n", []string{"status"}, "stdin line 1: not valid JSON"},
			{`{"key2":"x"}` + "\n", []string{"status"}, `stdin line 1: the JSON object has no "id" field`},
			{"", []string{"status"}, "no request IDs on stdin: pipe `stowage ls -o json` in, or pass IDs as arguments"},
			{"# only a comment\n\n", []string{"status", "-"}, "no request IDs on stdin"},
			{"", []string{"status", "s3://other-bucket/" + failed}, "is in bucket other-bucket, but environment demo uses stowage-demo-requests"},
			{"", []string{"status", "   "}, "the input is empty"},
		} {
			r := d.run(t, c.stdin, c.args...).must(t, ExitUsage)
			if !strings.Contains(r.stderr, c.says) {
				t.Errorf("%v: stderr %q, want %q", c.args, r.stderr, c.says)
			}
		}
	})
}

// TestStatusStreams feeds status through a pipe: the first request is printed while the
// input is still open, as "ls | status" needs.
func TestStatusStreams(t *testing.T) {
	d := startDemo(t)
	const first, second = "758c5d83-670c-44a8-bc2c-e34cb438ace8", "00a3bfdd-1a04-4c03-897f-73722c25b795"
	pr, pw := io.Pipe()
	out, errb := &syncBuffer{}, &syncBuffer{}
	done := make(chan int, 1)
	go func() { done <- Run(t.Context(), []string{"--config", d.config, "status"}, pr, out, errb) }()
	if _, err := io.WriteString(pw, first+"\n"); err != nil {
		t.Fatal(err)
	}
	// Not a timing assertion: the deadline only keeps a broken build from hanging.
	deadline := time.Now().Add(time.Minute)
	for !strings.Contains(out.String(), first) {
		select {
		case code := <-done:
			t.Fatalf("status ended (exit %d) before its input did: %s", code, errb.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatal("the first request was not printed while stdin stayed open")
		}
		time.Sleep(10 * time.Millisecond)
	}
	io.WriteString(pw, second+"\n")
	pw.Close()
	if code := <-done; code != ExitOK {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	if got := ids(t, out.String()); len(got) != 2 || got[0] != first || got[1] != second {
		t.Fatalf("got %v", got)
	}
}

// TestStatusInBatches looks up more requests than one BatchGetItem takes, and counts
// requests with no status item apart from requests that do not exist.
func TestStatusInBatches(t *testing.T) {
	d := startDemo(t)
	var in strings.Builder
	stored, noItem := map[string]bool{}, 0
	for _, s := range d.stack.Seeded() {
		if stored[s.Key] || strings.ContainsAny(s.Key, " /") {
			continue
		}
		stored[s.Key] = true
		if _, ok := d.stack.Status(s.Key); !ok {
			noItem++
		}
		in.WriteString(s.Key + "\n")
	}
	const missing = 2*statusBatch + 7
	for i := range missing {
		fmt.Fprintf(&in, "00000000-0000-4000-8000-%012d\n", i)
	}
	total := len(stored) + missing
	r := d.run(t, in.String(), "status").must(t, ExitNotFound)
	rows := jsonLines(t, r.stdout)
	if len(rows) != len(stored) {
		t.Fatalf("%d rows, want one per stored request (%d)", len(rows), len(stored))
	}
	for _, row := range rows {
		if !stored[row["id"].(string)] {
			t.Fatalf("printed a request that was not asked for, or twice: %v", row)
		}
		delete(stored, row["id"].(string))
	}
	var want []string
	if noItem > 0 {
		want = append(want, fmt.Sprintf("%d of %d requests %s no status item", noItem, total, plural(noItem, "has", "have")))
	}
	want = append(want, fmt.Sprintf("%d of %d requests do not exist (no object and no status item)", missing, total))
	if last := lastLines(r.stderr, 1); last != "stowage: "+strings.Join(want, "; ")+"\n" {
		t.Fatalf("last line %q, want the two counts apart: %q", last, want)
	}
}

// TestStatusWordsWithoutAnID: a pasted line with no request ID is said to be that, not a
// request missing from the bucket; a key with spaces still works.
func TestStatusWordsWithoutAnID(t *testing.T) {
	d := startDemo(t)
	r := d.run(t, "garbage text here\n", "status").must(t, ExitNotFound)
	if !strings.Contains(r.stderr, `no request ID found in what you pasted ("garbage text here")`) || strings.Contains(r.stderr, "no object at") {
		t.Fatalf("stderr %q", r.stderr)
	}
	for _, s := range d.stack.Seeded() {
		if strings.Contains(s.Key, " ") {
			r := d.run(t, "", "status", s.Key)
			if rows := jsonLines(t, r.stdout); len(rows) != 1 || rows[0]["key"] != s.Key {
				t.Fatalf("a key with spaces: %s\n%s", r.stdout, r.stderr)
			}
			return
		}
	}
	t.Fatal("the demo seeds no key with a space; the check above did not run")
}

// TestStatusAttemptsAbsentIsNull: a status item without the attempts attribute has
// attempts null in JSON and nothing in the table, never 0.
func TestStatusAttemptsAbsentIsNull(t *testing.T) {
	d := startDemo(t)
	lost := ids(t, d.run(t, "", "lost", "--limit", "1").must(t, ExitOK).stdout)[0]
	db := testenv.NewDynamoDBClient(t, testenv.Endpoint{URL: d.stack.DynamoDBURL, AccessKey: d.stack.AccessKey, SecretKey: d.stack.SecretKey, Region: d.stack.Region})
	if _, err := db.PutItem(t.Context(), &dynamodb.PutItemInput{TableName: aws.String(d.stack.Table), Item: map[string]ddbtypes.AttributeValue{
		"requestId": &ddbtypes.AttributeValueMemberS{Value: lost},
		"status":    &ddbtypes.AttributeValueMemberS{Value: "RECEIVED"},
	}}); err != nil {
		t.Fatal(err)
	}
	r := d.run(t, "", "status", lost).must(t, ExitOK)
	rows := jsonLines(t, r.stdout)
	if len(rows) != 1 || rows[0]["status"] != "RECEIVED" || rows[0]["attempts"] != nil || !strings.Contains(r.stdout, `"attempts":null`) {
		t.Fatalf("attempts of an item without the attribute: %s", r.stdout)
	}
	tbl := d.run(t, "", "status", "-o", "table", lost).must(t, ExitOK)
	if lines := strings.Split(strings.TrimSpace(tbl.stdout), "\n"); len(lines) != 2 || strings.Contains(lines[1], " 0  ") {
		t.Fatalf("the table shows attempts it does not know:\n%s", tbl.stdout)
	}
}

// TestStatusInterruptedWhileWaitingForInput: ctrl-c ends a status that waits on a pipe
// with nothing in it yet.
func TestStatusInterruptedWhileWaitingForInput(t *testing.T) {
	isolateConfigHome(t)
	pr, pw := io.Pipe()
	defer pw.Close()
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan int, 1)
	var out, errb syncBuffer
	go func() { done <- Run(ctx, []string{"status"}, pr, &out, &errb) }()
	cancel()
	if code := <-done; code != ExitCancelled {
		t.Fatalf("exit %d, want %d: %s", code, ExitCancelled, errb.String())
	}
}

// syncBuffer is a bytes.Buffer safe for the command's goroutine and the test's.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func FuzzStatusReadRefs(f *testing.F) {
	f.Add(`{"id":"a","key":"b"}` + "\n0b7c1b9e-4d6f-4c3a-9a57-2f1f0c8e7d11\n# c\n\ns3://b/k\n")
	f.Add("requestId=0b7c1b9e-4d6f-4c3a-9a57-2f1f0c8e7d11\n{\"id\":null}\n")
	f.Add("\x00\xff\n{\"id\":\"\\u001b[2J\"}")
	f.Fuzz(func(t *testing.T, in string) {
		refs, err := readRefs(strings.NewReader(in))
		if err != nil {
			if strings.ContainsAny(err.Error(), "\x1b\x00") {
				t.Fatalf("the error carries raw control bytes: %q", err)
			}
			return
		}
		for _, r := range refs {
			if r.RequestID == "" && r.Key == "" {
				t.Fatalf("a reference with neither ID nor key from %q", in)
			}
		}
	})
}
