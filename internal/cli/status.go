package cli

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"iter"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/stowage-cli/stowage/internal/inventory"
	"github.com/stowage-cli/stowage/internal/reqid"
)

func newStatusCmd(g *Globals) *cobra.Command {
	var keys []string
	cmd := &cobra.Command{
		Use:   "status [ID|s3-URI|log-line ...] [--key KEY ...]",
		Short: "Print the status items of requests",
		Long: `Print the status item of each request named, beside its object. Requests are named by
request ID, s3:// URI, console URL, key, or a log line holding a request ID. With no
arguments, or "-", they are read from stdin, one a line: plain IDs, log lines, or the
JSON Lines of stowage ls -o json (the "id" field, and "key" when present).

--key KEY names an object key byte for byte, read as nothing else: a key that holds
control characters, or looks like a URI or a log line, is looked up exactly. It may be
repeated, and given beside requests named as arguments.

Requests are looked up 100 at a time and each batch is printed as soon as it is read, so
a pipe from ls streams. A request with no status item is printed with status null and
reported on stderr; one with neither object nor status item is reported on stderr only.
` + jsonFieldsHelp + "\n" + exitCodesHelp + `
  status exits 1 when any request named has no status item, or does not exist; the last
  line on stderr counts the two apart.`,
		Example: `  # One request, pasted from a log line
  stowage --env prod status 'ERROR requestId=0b7c1b9e-4d6f-4c3a-9a57-2f1f0c8e7d11 parse failed'

  # The status of everything that ls found
  stowage --env prod ls --since 1h -o json | stowage --env prod status -o table

  # IDs from a file
  stowage --env prod status - < ids.txt`,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runStatus(cmd.Context(), g, args, keys)
		},
	}
	cmd.Flags().StringArrayVar(&keys, "key", nil, "an object `KEY`, byte for byte (not parsed as an ID, URI or log line); repeatable")
	addOutputFlag(cmd, g)
	return cmd
}

// maxInputLine bounds one line of ID input: a JSON row of ls is well under 8 KiB.
const maxInputLine = 1 << 20

// readRefs reads every request reference from r; see refsFrom.
func readRefs(r io.Reader) ([]namedRef, error) {
	var refs []namedRef
	for ref, err := range refsFrom(r) {
		if err != nil {
			return nil, err
		}
		refs = append(refs, ref)
	}
	return refs, nil
}

// refsFrom yields request references from r as its lines arrive, one a line: a JSON
// object with an "id" (and optionally a "key") field, or anything reqid.Parse
// understands. Blank lines and lines starting with # are skipped. An unreadable line
// ends the sequence with an error naming its number.
func refsFrom(r io.Reader) iter.Seq2[namedRef, error] {
	return func(yield func(namedRef, error) bool) {
		sc := bufio.NewScanner(r)
		sc.Buffer(make([]byte, 0, 64<<10), maxInputLine)
		for n := 1; sc.Scan(); n++ {
			line := strings.TrimSpace(sc.Text())
			if line == "" || strings.HasPrefix(line, "#") {
				continue
			}
			ref, err := parseRefLine(line, n)
			if !yield(ref, err) || err != nil {
				return
			}
		}
		if err := sc.Err(); err != nil {
			if errors.Is(err, bufio.ErrTooLong) {
				err = fmt.Errorf("read stdin: a line is longer than %d KiB; expected one request per line", maxInputLine>>10)
			} else {
				err = fmt.Errorf("read stdin: %w", err)
			}
			yield(namedRef{}, err)
		}
	}
}

// parseRefLine reads line n of the input.
func parseRefLine(line string, n int) (namedRef, error) {
	if !strings.HasPrefix(line, "{") {
		ref, err := reqid.Parse(line)
		var words *reqid.WordsError
		switch {
		case errors.As(err, &words):
			return namedRef{Ref: reqid.Ref{Kind: reqid.KindKey, Key: words.Text}, words: words}, nil
		case err != nil:
			return namedRef{}, fmt.Errorf("stdin line %d: %s", n, clipEchoed(err.Error(), maxMessage))
		}
		return namedRef{Ref: ref}, nil
	}
	var row struct {
		ID  *string `json:"id"`
		Key *string `json:"key"`
	}
	if err := json.Unmarshal([]byte(line), &row); err != nil {
		return namedRef{}, fmt.Errorf("stdin line %d: not valid JSON (%v); expected the output of stowage ls -o json", n, err)
	}
	switch {
	case row.Key != nil && *row.Key != "":
		id := ""
		if row.ID != nil {
			id = *row.ID
		}
		return namedRef{Ref: reqid.Ref{Kind: reqid.KindKey, Key: *row.Key, RequestID: id}}, nil
	case row.ID != nil && strings.TrimSpace(*row.ID) != "":
		return namedRef{Ref: reqid.Ref{Kind: reqid.KindID, RequestID: strings.TrimSpace(*row.ID)}}, nil
	}
	return namedRef{}, fmt.Errorf("stdin line %d: the JSON object has no \"id\" field", n)
}

// target is a request to look at: its ID in the status table and its key in the bucket.
type target struct {
	id  string
	key string
	// words is set when the operator gave words with no request ID in them, and key is
	// only a guess that they name a key with spaces: if it does not exist, the error is
	// that nothing was named, not that a request is missing.
	words *reqid.WordsError
}

// parseRef reads a request reference given as an argument. Words with no request ID are
// returned as a key to try, with the error to report when there is no such key.
func parseRef(arg string) (reqid.Ref, *reqid.WordsError, error) {
	ref, err := reqid.Parse(arg)
	var words *reqid.WordsError
	switch {
	case errors.As(err, &words):
		return reqid.Ref{Kind: reqid.KindKey, Key: words.Text}, words, nil
	case err != nil:
		return reqid.Ref{}, nil, exitf(ExitUsage, "%s", clipEchoed(err.Error(), maxMessage))
	}
	return ref, nil, nil
}

// wordsError reports words that named neither a request ID nor an existing key.
func wordsError(w *reqid.WordsError) error {
	return exitf(ExitUsage, "%s", clipEchoed(w.Error(), maxMessage))
}

// resolve maps what the operator named to a target in this environment.
func (s *session) resolve(ref reqid.Ref) (target, error) {
	env := s.env
	if ref.Bucket != "" && ref.Bucket != env.Storage.Bucket {
		return target{}, exitf(ExitUsage, "%s is in bucket %s, but environment %s uses %s; pass --env for the environment of that bucket",
			clipEchoed(reqid.S3URI(ref.Bucket, ref.Key), maxEchoed), clipEchoed(ref.Bucket, maxEchoed), env.Name, env.Storage.Bucket)
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

// Status lookups go in batches: one BatchGetItem (DynamoDB takes 100 keys) and its HEADs,
// printed before the next batch is read, so "ls | status" streams.
const (
	statusBatch = 100
	// statusBatchWait is how long a batch waits for more input once it has some: a
	// slow pipe still streams, a fast one fills whole batches.
	statusBatchWait = 50 * time.Millisecond
)

func runStatus(ctx context.Context, g *Globals, args, keys []string) error {
	format, err := g.outputFormat()
	if err != nil {
		return err
	}
	for _, k := range keys {
		if k == "" {
			return exitf(ExitUsage, "--key is empty; give the object key as stored (the \"key\" field of ls -o json)")
		}
	}
	var refs iter.Seq2[namedRef, error]
	if len(keys) > 0 && len(args) == 0 {
		refs = func(func(namedRef, error) bool) {} // only --key: stdin is not read
	} else if len(args) == 0 || len(args) == 1 && args[0] == "-" {
		if len(args) == 0 && g.isTerminal(g.Stdin) {
			return exitf(ExitUsage, "give request IDs as arguments, or pipe them in (one a line, or stowage ls -o json); see stowage status --help")
		}
		if g.Stdin == nil {
			return exitf(ExitUsage, "no request IDs: give them as arguments or on stdin")
		}
		refs = refsFrom(g.Stdin)
	} else {
		parsed := make([]namedRef, 0, len(args))
		for _, a := range args {
			ref, words, err := parseRef(a)
			if err != nil {
				return err
			}
			parsed = append(parsed, namedRef{Ref: ref, words: words})
		}
		refs = func(yield func(namedRef, error) bool) {
			for _, ref := range parsed {
				if !yield(ref, nil) {
					return
				}
			}
		}
	}

	if len(keys) > 0 {
		named := refs
		refs = func(yield func(namedRef, error) bool) {
			for _, k := range keys {
				if !yield(namedRef{Ref: reqid.Ref{Kind: reqid.KindKey, Key: k}, verbatim: true}, nil) {
					return
				}
			}
			named(yield)
		}
	}

	ctx, cancel := context.WithCancel(ctx)
	defer cancel() // stops the reader
	input := streamRefs(ctx, refs)
	batch, more := nextBatch(ctx, input)
	if err := ctx.Err(); err != nil {
		return exitForAWS(err) // interrupted while waiting for input
	}
	if len(batch) == 0 {
		return exitf(ExitUsage, "no request IDs on stdin: pipe `stowage ls -o json` in, or pass IDs as arguments; see stowage status --help")
	}
	if batch[0].err != nil {
		return &ExitError{Code: ExitUsage, Err: batch[0].err}
	}
	s, err := g.openSession(ctx)
	if err != nil {
		return err
	}
	p := statusPrinter{g: g, s: s, out: g.newRowWriter(format, g.Stdout, s.env, inventory.LostAfter(s.env)),
		seen: map[string]bool{}}
	for {
		var targets []target
		for _, in := range batch {
			if in.err != nil {
				return &ExitError{Code: ExitUsage, Err: in.err}
			}
			t, err := s.resolveNamed(in.ref)
			if err != nil {
				return err
			}
			t.words = in.ref.words
			if !p.seen[t.key] {
				p.seen[t.key] = true
				targets = append(targets, t)
			}
		}
		if err := p.print(ctx, targets); err != nil {
			return err
		}
		if !more {
			break
		}
		batch, more = nextBatch(ctx, input)
	}
	if err := ctx.Err(); err != nil {
		return exitForAWS(err)
	}
	return p.result()
}

// namedRef is a request reference as the operator gave it; see parseRef.
type namedRef struct {
	reqid.Ref
	words *reqid.WordsError
	// verbatim: Ref.Key is an object key given with --key, taken byte for byte.
	verbatim bool
}

// resolveNamed is resolve, except that a --key is the key exactly as given.
func (s *session) resolveNamed(ref namedRef) (target, error) {
	if ref.verbatim {
		return s.keyTarget(ref.Key), nil
	}
	return s.resolve(ref.Ref)
}

// keyTarget is the request stored under key, taken byte for byte: no prefix is added and
// nothing is parsed out of it. Its ID is what the environment derives from a key.
func (s *session) keyTarget(key string) target {
	return target{id: s.env.RequestID(key), key: key}
}

// refInput is one reference read, or the error that ended the input.
type refInput struct {
	ref namedRef
	err error
}

// streamRefs reads refs on its own goroutine, so that a batch can take what has arrived
// without waiting for more. The channel closes after the input ends, after an error, or
// when ctx is done.
func streamRefs(ctx context.Context, refs iter.Seq2[namedRef, error]) <-chan refInput {
	ch := make(chan refInput, statusBatch)
	go func() {
		defer close(ch)
		for ref, err := range refs {
			select {
			case ch <- refInput{ref, err}:
			case <-ctx.Done():
				return
			}
			if err != nil {
				return
			}
		}
	}()
	return ch
}

// nextBatch waits for the next reference, then takes up to statusBatch of those that
// arrive within statusBatchWait. more is false once the input has ended or ctx is done.
func nextBatch(ctx context.Context, input <-chan refInput) (batch []refInput, more bool) {
	var first refInput
	select {
	case in, ok := <-input:
		if !ok {
			return nil, false
		}
		first = in
	case <-ctx.Done():
		return nil, false
	}
	batch = append(batch, first)
	if first.err != nil {
		return batch, false
	}
	timer := time.NewTimer(statusBatchWait)
	defer timer.Stop()
	for len(batch) < statusBatch {
		select {
		case in, ok := <-input:
			if !ok {
				return batch, false
			}
			batch = append(batch, in)
			if in.err != nil {
				return batch, false
			}
		case <-timer.C:
			return batch, true
		}
	}
	return batch, true
}

// statusPrinter prints the statuses of batches of requests and counts what was missing.
type statusPrinter struct {
	g             *Globals
	s             *session
	out           rowWriter
	seen          map[string]bool // keys already printed
	bucketChecked bool
	total         int // requests looked up
	noItem        int // stored, but no status item
	missing       int // neither stored nor in the status table
}

// print looks targets up and prints them, with a note on stderr for each one that lacks
// its object or its status item.
func (p *statusPrinter) print(ctx context.Context, targets []target) error {
	if len(targets) == 0 {
		return nil
	}
	g, s := p.g, p.s
	rows, err := s.lookup(ctx, targets)
	if err != nil {
		return exitForAWS(err)
	}
	for i, r := range rows {
		if r.NoObject && !p.bucketChecked {
			// A missing bucket looks like missing objects: tell them apart once.
			if err := s.checkBucket(ctx, targets[i].key); err != nil {
				return err
			}
			p.bucketChecked = true
		}
	}
	var printed []inventory.Row
	for i, r := range rows {
		p.total++
		switch {
		case r.NoObject && r.Status == nil && targets[i].words != nil:
			p.missing++
			g.printErr("stowage: %s\n", clipEchoed(targets[i].words.Error(), maxMessage))
			continue
		case r.NoObject && r.Status == nil:
			p.missing++
			g.printErr("stowage: no request %s: no object at %s and no status item\n",
				clipEchoed(targets[i].id, maxEchoed), clipEchoed(reqid.S3URI(s.env.Storage.Bucket, targets[i].key), maxEchoed))
			continue
		case r.NoObject:
			g.printErr("stowage: note: %s has a status item but no object at %s (deleted or expired)\n",
				clipEchoed(targets[i].id, maxEchoed), clipEchoed(reqid.S3URI(s.env.Storage.Bucket, targets[i].key), maxEchoed))
		case r.Status == nil:
			p.noItem++
			what := "the processor may still be working on it"
			if now := g.now(); inventory.IsLost(r.Object, inventory.LostAfter(s.env), now) {
				what = "LOST: stored " + shortAge(now.Sub(r.Object.LastModified)) + " ago and never processed"
			}
			g.printErr("stowage: %s has no status item (%s)\n", clipEchoed(targets[i].id, maxEchoed), what)
		}
		printed = append(printed, r)
	}
	return p.out.Write(printed)
}

// result is the command's outcome: exit 1 when any request lacked its status item or did
// not exist at all, counting the two apart.
func (p *statusPrinter) result() error {
	var parts []string
	if p.noItem > 0 {
		parts = append(parts, fmt.Sprintf("%d of %d requests %s no status item", p.noItem, p.total, plural(p.noItem, "has", "have")))
	}
	if p.missing > 0 {
		parts = append(parts, fmt.Sprintf("%d of %d requests %s (no object and no status item)", p.missing, p.total, plural(p.missing, "does not exist", "do not exist")))
	}
	if len(parts) > 0 {
		return exitf(ExitNotFound, "%s", strings.Join(parts, "; "))
	}
	return nil
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// lookup reads the status items of targets with BatchGet and their objects with HEAD
// (inventory.DefaultConcurrency at a time), in the targets' order. A target with neither
// comes back as a NoObject row without status.
func (s *session) lookup(ctx context.Context, targets []target) ([]inventory.Row, error) {
	refs := make([]inventory.Ref, len(targets))
	for i, t := range targets {
		refs[i] = inventory.Ref{ID: t.id, Key: t.key}
	}
	rows, err := inventory.Lookup(ctx, s.src, refs, inventory.DefaultConcurrency)
	if err != nil {
		return nil, err
	}
	return rows, s.arrivals.Resolve(ctx, rows)
}
