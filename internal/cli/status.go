package cli

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"

	"github.com/spf13/cobra"

	"github.com/stowage-cli/stowage/awsclient"
	"github.com/stowage-cli/stowage/internal/inventory"
	"github.com/stowage-cli/stowage/internal/reqid"
	"github.com/stowage-cli/stowage/internal/sanitize"
)

func init() { commands = append(commands, newStatusCmd) }

func newStatusCmd(g *Globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "status [ID|s3-URI|log-line ...]",
		Short: "Print the status items of requests",
		Long: `Print the status item of each request named, beside its object. Requests are named by
request ID, s3:// URI, console URL, key, or a log line holding a request ID. With no
arguments, or "-", they are read from stdin, one a line: plain IDs, log lines, or the
JSON Lines of stowage ls -o json (the "id" field, and "key" when present).

A request with no status item is printed with status null and reported on stderr.
` + jsonFieldsHelp + "\n" + exitCodesHelp + `
  status exits 1 when any request named has no status item, or does not exist.`,
		Example: `  # One request, pasted from a log line
  stowage --env prod status 'ERROR requestId=0b7c1b9e-4d6f-4c3a-9a57-2f1f0c8e7d11 parse failed'

  # The status of everything that ls found
  stowage --env prod ls --since 1h -o json | stowage --env prod status -o table

  # IDs from a file
  stowage --env prod status - < ids.txt`,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runStatus(cmd.Context(), g, args)
		},
	}
	addOutputFlag(cmd, g)
	return cmd
}

// maxInputLine bounds one line of ID input: a JSON row of ls is well under 8 KiB.
const maxInputLine = 1 << 20

// readRefs reads request references from r, one a line: a JSON object with an "id" (and
// optionally a "key") field, or anything reqid.Parse understands. Blank lines and lines
// starting with # are skipped. An unreadable line is an error naming its number.
func readRefs(r io.Reader) ([]reqid.Ref, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), maxInputLine)
	var refs []reqid.Ref
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if strings.HasPrefix(line, "{") {
			var row struct {
				ID  *string `json:"id"`
				Key *string `json:"key"`
			}
			if err := json.Unmarshal([]byte(line), &row); err != nil {
				return nil, fmt.Errorf("stdin line %d: not valid JSON (%v); expected the output of stowage ls -o json", n, err)
			}
			switch {
			case row.Key != nil && *row.Key != "":
				id := ""
				if row.ID != nil {
					id = *row.ID
				}
				refs = append(refs, reqid.Ref{Kind: reqid.KindKey, Key: *row.Key, RequestID: id})
			case row.ID != nil && strings.TrimSpace(*row.ID) != "":
				refs = append(refs, reqid.Ref{Kind: reqid.KindID, RequestID: strings.TrimSpace(*row.ID)})
			default:
				return nil, fmt.Errorf("stdin line %d: the JSON object has no \"id\" field", n)
			}
			continue
		}
		ref, err := reqid.Parse(line)
		if err != nil {
			return nil, fmt.Errorf("stdin line %d: %s", n, sanitize.Line(err.Error()))
		}
		refs = append(refs, ref)
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return nil, fmt.Errorf("read stdin: a line is longer than %d KiB; expected one request per line", maxInputLine>>10)
		}
		return nil, fmt.Errorf("read stdin: %w", err)
	}
	return refs, nil
}

// target is a request to look at: its ID in the status table and its key in the bucket.
type target struct {
	id  string
	key string
}

// resolve maps what the operator named to a target in this environment.
func (s *session) resolve(ref reqid.Ref) (target, error) {
	env := s.env
	if ref.Bucket != "" && ref.Bucket != env.Storage.Bucket {
		return target{}, exitf(ExitUsage, "%s is in bucket %s, but environment %s uses %s; pass --env for the environment of that bucket",
			sanitize.Line(reqid.S3URI(ref.Bucket, ref.Key)), sanitize.Line(ref.Bucket), env.Name, env.Storage.Bucket)
	}
	if ref.Key != "" {
		// A bare name without the environment's prefix is an ID, not a key.
		if ref.Kind == reqid.KindKey && env.Storage.StripPrefix != "" && !strings.HasPrefix(ref.Key, env.Storage.StripPrefix) {
			return target{id: ref.Key, key: env.Key(ref.Key)}, nil
		}
		id := env.RequestID(ref.Key)
		if id == "" {
			id = ref.RequestID
		}
		return target{id: id, key: ref.Key}, nil
	}
	if ref.RequestID == "" {
		return target{}, exitf(ExitUsage, "no request ID found")
	}
	return target{id: ref.RequestID, key: env.Key(ref.RequestID)}, nil
}

func runStatus(ctx context.Context, g *Globals, args []string) error {
	format, err := g.outputFormat()
	if err != nil {
		return err
	}
	var refs []reqid.Ref
	if len(args) == 0 || len(args) == 1 && args[0] == "-" {
		if len(args) == 0 && isTerminal(g.Stdin) {
			return exitf(ExitUsage, "give request IDs as arguments, or pipe them in (one a line, or stowage ls -o json)")
		}
		if g.Stdin == nil {
			return exitf(ExitUsage, "no request IDs: give them as arguments or on stdin")
		}
		if refs, err = readRefs(g.Stdin); err != nil {
			return &ExitError{Code: ExitUsage, Err: err}
		}
	} else {
		for _, a := range args {
			ref, err := reqid.Parse(a)
			if err != nil {
				return exitf(ExitUsage, "%s", sanitize.Line(err.Error()))
			}
			refs = append(refs, ref)
		}
	}
	if len(refs) == 0 {
		return exitf(ExitUsage, "no request IDs on stdin")
	}

	s, err := g.openSession(ctx)
	if err != nil {
		return err
	}
	var targets []target
	seen := map[string]bool{}
	for _, ref := range refs {
		t, err := s.resolve(ref)
		if err != nil {
			return err
		}
		if !seen[t.key] {
			seen[t.key] = true
			targets = append(targets, t)
		}
	}

	rows, err := s.lookup(ctx, targets)
	if err != nil {
		return exitForAWS(err)
	}
	for i, r := range rows {
		if r.NoObject {
			if err := s.checkBucket(ctx, targets[i].key); err != nil {
				return err
			}
			break
		}
	}
	out := g.newRowWriter(format, g.Stdout, s.env.Status.LostAfter.Duration)
	var printed []inventory.Row
	noItem, missing := 0, 0
	for i, r := range rows {
		switch {
		case r.NoObject && r.Status == nil:
			missing++
			g.printErr("stowage: no request %s: no object at %s and no status item\n",
				sanitize.Line(targets[i].id), sanitize.Line(reqid.S3URI(s.env.Storage.Bucket, targets[i].key)))
			continue
		case r.NoObject:
			g.printErr("stowage: note: %s has a status item but no object at %s (deleted or expired)\n",
				sanitize.Line(targets[i].id), sanitize.Line(reqid.S3URI(s.env.Storage.Bucket, targets[i].key)))
		case r.Status == nil:
			noItem++
			what := "the processor may still be working on it"
			if inventory.IsLost(r.Object, s.env.Status.LostAfter.Duration, cliClock()) {
				what = "LOST: stored " + shortAge(cliClock().Sub(r.Object.LastModified)) + " ago and never processed"
			}
			g.printErr("stowage: %s has no status item (%s)\n", sanitize.Line(targets[i].id), what)
		}
		printed = append(printed, r)
	}
	if err := out.Write(printed); err != nil {
		return err
	}
	if noItem+missing > 0 {
		return exitf(ExitNotFound, "%d of %d requests have no status item", noItem+missing, len(rows))
	}
	return nil
}

// lookup reads the status items of targets with BatchGet and their objects with HEAD
// (inventory.DefaultConcurrency at a time), in the targets' order. A target with neither
// comes back as a NoObject row without status.
func (s *session) lookup(ctx context.Context, targets []target) ([]inventory.Row, error) {
	ids := make([]string, len(targets))
	for i, t := range targets {
		ids[i] = t.id
	}
	items, err := s.clients.Statuses.BatchGet(ctx, ids)
	if err != nil {
		return nil, err
	}
	rows := make([]inventory.Row, len(targets))
	errs := make([]error, len(targets))
	sem := make(chan struct{}, inventory.DefaultConcurrency)
	var wg sync.WaitGroup
	for i, t := range targets {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			var st *awsclient.Status
			if item, ok := items[t.id]; ok {
				st = &item
			}
			obj, err := s.clients.Objects.Head(ctx, t.key)
			switch {
			case err == nil:
				obj.RequestID = t.id
				rows[i] = inventory.Row{Object: obj, Status: st}
			case inventory.IsMissingObject(err):
				rows[i] = inventory.Row{Object: awsclient.Object{Key: t.key, RequestID: t.id}, Status: st, NoObject: true}
			default:
				errs[i] = err
			}
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	return rows, nil
}
