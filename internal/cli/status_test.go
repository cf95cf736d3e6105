package cli

import (
	"strings"
	"testing"

	"github.com/charmbracelet/x/exp/golden"

	"github.com/stowage-cli/stowage/internal/reqid"
)

func TestStatus(t *testing.T) {
	d := startDemo(t)
	const (
		failed    = "93cabc68-4f3e-4340-8d51-ea9dcbe935b6"
		processed = "0116512c-f827-4f0c-bcc7-32053a3e3073"
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
			{"", []string{"status"}, "no request IDs on stdin"},
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
