package cli

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/charmbracelet/x/ansi"
	"github.com/spf13/cobra"

	"github.com/stowage-cli/stowage/awsclient"
	"github.com/stowage-cli/stowage/internal/config"
	"github.com/stowage-cli/stowage/internal/inventory"
	"github.com/stowage-cli/stowage/internal/payload"
	"github.com/stowage-cli/stowage/internal/reqid"
	"github.com/stowage-cli/stowage/internal/sanitize"
	"github.com/stowage-cli/stowage/redrive"
)

type showFlags struct {
	raw  bool
	rng  string
	meta bool
	key  string
	// noPager writes to the terminal even when the payload is taller than the screen.
	noPager bool
	// history prints the request's redrive runs from this machine's journals instead.
	history bool
}

// showLimit is how much of an object is read to pretty-print it on a terminal; the rest
// is left to --raw. API Gateway stores at most 10 MiB, so this is every real payload.
const showLimit = 16 << 20

func newShowCmd(g *Globals) *cobra.Command {
	var f showFlags
	cmd := &cobra.Command{
		Use:   "show ID|s3-URI|log-line | --key KEY",
		Short: "Print a stored request's payload, or its metadata and status",
		Long: `Print the payload of one stored request. The request is named by request ID, s3:// URI,
S3 console URL, key, or a log line that holds a request ID.

On a terminal JSON and XML are pretty-printed, and every byte that could act on the
terminal (escape sequences, control characters, bidi overrides) is shown visibly instead;
gzip payloads are decompressed (the first preview_bytes of the expansion, 1 MiB unless
the environment says otherwise) and then shown like any other; binary payloads are
shown as a hex dump. A malformed JSON or XML payload is shown as stored,
after a note on stderr saying where it is malformed. When stdout is not a terminal, or
with --raw, the exact stored bytes are written, unchanged.

On a terminal, pretty output taller than the screen goes through a pager:
$STOWAGE_PAGER, else $PAGER, else "less -R" (LESS=FRX unless LESS is set). Set either
to "" or "cat", or pass --no-pager, to write straight to the terminal. If the pager
cannot start, the payload is written straight to the terminal.

  --range START-END  only bytes START to END (inclusive, 0-based); START- reads to the end.
                     START must be inside the object (exit 2 otherwise); END is clamped
                     to the last byte.
  --meta             the S3 metadata and the status item, as JSON, instead of the payload
  --key KEY          the object key, byte for byte, read as nothing else: for a key that
                     holds control characters or looks like a URI or a log line (copy it
                     from the "key" field of ls -o json)
  --history          the request's redrive runs from every journal on this machine (the
                     state directory's redrives and journals the audit log names
                     elsewhere), oldest first: when, run, mode, outcome, attempts, operator
                     and error. It reads no AWS service. With -o json, one JSON object
                     per run: runId, env, mode, outcome, attempts, operator, error,
                     newRequestId, started, at and journal.
` + exitCodesHelp + `
  show exits 1 when the request does not exist, and also when its status item exists but
  its object is gone (it says so on stderr).`,
		Example: `  # Pretty-print a request pasted from a log line
  stowage --env prod show 'ERROR requestId=0b7c1b9e-4d6f-4c3a-9a57-2f1f0c8e7d11 parse failed'

  # Save the exact bytes
  stowage --env prod show 0b7c1b9e-4d6f-4c3a-9a57-2f1f0c8e7d11 --raw > body.xml

  # Metadata and status item, for a ticket
  stowage --env prod show s3://prod-requests/0b7c1b9e-4d6f-4c3a-9a57-2f1f0c8e7d11 --meta

  # A key that looks like a log line, exactly as stored
  stowage --env prod show --key $'2026-03-02 ERROR requestId=0b7c1b9e-4d6f-4c3a-9a57-2f1f0c8e7d11\tretry' --raw

  # Was it redriven before, by whom, and what came of it?
  stowage --env prod show 0b7c1b9e-4d6f-4c3a-9a57-2f1f0c8e7d11 --history

  # The first KiB of a large payload
  stowage --env prod show 0b7c1b9e-4d6f-4c3a-9a57-2f1f0c8e7d11 --range 0-1023 --raw | xxd`,
		Args: func(cmd *cobra.Command, args []string) error {
			if cmd.Flags().Changed("key") {
				if len(args) > 0 {
					return exitf(ExitUsage, "show takes --key or a request, not both; see %s --help", cmd.CommandPath())
				}
				return nil
			}
			return oneRequest(cmd, args)
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			arg := ""
			if len(args) == 1 {
				arg = args[0]
			}
			return runShow(cmd.Context(), g, arg, cmd.Flags().Changed("key"), f)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.key, "key", "", "the object `KEY`, byte for byte (not parsed as an ID, URI or log line)")
	fl.BoolVar(&f.raw, "raw", false, "write the exact stored bytes, even on a terminal")
	fl.StringVar(&f.rng, "range", "", "only bytes START-END (inclusive) or START- (to the end)")
	fl.BoolVar(&f.noPager, "no-pager", false, "do not page output taller than the screen")
	fl.BoolVar(&f.meta, "meta", false, "print the S3 metadata and the status item as JSON")
	fl.BoolVar(&f.history, "history", false, "print the request's redrive runs from every journal on this machine")
	fl.StringVarP(&g.Output, "output", "o", "", "with --history: table (the default) or json (JSON Lines)")
	_ = cmd.RegisterFlagCompletionFunc("output", func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
		return []string{outputTable, outputJSON}, cobra.ShellCompDirectiveNoFileComp
	})
	return cmd
}

// oneRequest checks that the command (show, trace) was given exactly one request.
func oneRequest(cmd *cobra.Command, args []string) error {
	switch {
	case len(args) == 0:
		return exitf(ExitUsage, "%s needs a request: a request ID, an s3:// URI, a console URL or a log line with a request ID; see %s --help", cmd.Name(), cmd.CommandPath())
	case len(args) > 1:
		return exitf(ExitUsage, "%s takes one request, got %d arguments; quote a pasted log line so it is one argument ('…'); see %s --help", cmd.Name(), len(args), cmd.CommandPath())
	}
	return nil
}

// byteRange is a --range: bytes Start to End inclusive; End -1 reads to the end.
type byteRange struct {
	Start, End int64
}

func (r byteRange) String() string {
	if r.End < 0 {
		return fmt.Sprintf("%d-", r.Start)
	}
	return fmt.Sprintf("%d-%d", r.Start, r.End)
}

// parseByteRange reads "START-END" (inclusive) or "START-".
func parseByteRange(s string) (byteRange, error) {
	bad := func(why string) (byteRange, error) {
		return byteRange{}, fmt.Errorf("--range %s: %s; want START-END (inclusive, like 0-1023) or START- (to the end)", sanitize.Line(s), why)
	}
	a, b, ok := strings.Cut(strings.TrimSpace(s), "-")
	if !ok {
		return bad("no '-'")
	}
	start, err := strconv.ParseInt(a, 10, 64)
	if err != nil || start < 0 {
		return bad("START is not a byte offset")
	}
	if b == "" {
		return byteRange{Start: start, End: -1}, nil
	}
	end, err := strconv.ParseInt(b, 10, 64)
	if err != nil || end < 0 {
		return bad("END is not a byte offset")
	}
	if end < start {
		return bad("END is before START")
	}
	if end == 1<<63-1 {
		return bad("END is too large")
	}
	return byteRange{Start: start, End: end}, nil
}

func runShow(ctx context.Context, g *Globals, arg string, byKey bool, f showFlags) error {
	var rng *byteRange
	if f.rng != "" {
		if f.meta {
			return exitf(ExitUsage, "--range and --meta do not go together: --meta prints no payload")
		}
		r, err := parseByteRange(f.rng)
		if err != nil {
			return &ExitError{Code: ExitUsage, Err: err}
		}
		rng = &r
	}
	if f.history && (f.raw || f.rng != "" || f.meta) {
		return exitf(ExitUsage, "--history prints the redrive runs, not the payload: leave out --raw, --range and --meta")
	}
	if g.Output != "" && !f.history {
		return exitf(ExitUsage, "-o is for --history: the payload is written as stored (--raw) or pretty, and --meta is JSON already")
	}
	var ref reqid.Ref
	var words *reqid.WordsError
	if byKey {
		if f.key == "" {
			return exitf(ExitUsage, "--key is empty; give the object key as stored (the \"key\" field of ls -o json)")
		}
	} else {
		var err error
		if ref, words, err = parseRef(arg); err != nil {
			return err
		}
	}
	if f.history {
		return runHistory(g, ref, byKey, f.key)
	}
	s, err := g.openSession(ctx)
	if err != nil {
		return err
	}
	var t target
	if byKey {
		t = s.keyTarget(f.key)
	} else if t, err = s.resolve(ref); err != nil {
		return err
	}
	t.words = words
	if f.meta {
		return s.showMeta(ctx, g, t)
	}
	terminal := g.isTerminal(g.Stdout)
	raw := f.raw || !terminal

	var body io.ReadCloser
	var obj awsclient.Object
	if rng != nil {
		var data []byte
		data, obj, err = s.readRange(ctx, t.key, *rng)
		body = io.NopCloser(bytes.NewReader(data))
	} else {
		body, obj, err = s.clients.Objects.Get(ctx, t.key, awsclient.Pin{})
	}
	if err != nil {
		if inventory.IsMissingObject(err) {
			return s.missingObject(ctx, t)
		}
		return exitForAWS(err)
	}
	defer body.Close()

	if raw {
		w := bufio.NewWriterSize(g.Stdout, 64<<10)
		if _, err := io.Copy(w, body); err != nil {
			return exitForAWS(err)
		}
		return w.Flush()
	}
	return g.showPretty(body, obj, rng != nil, t.key, s.env.PreviewBytes, f.noPager)
}

// readRange reads the bytes of r. It asks HEAD for the size first: a range that starts
// past the end is the operator's mistake and must not look like an empty payload.
func (s *session) readRange(ctx context.Context, key string, r byteRange) ([]byte, awsclient.Object, error) {
	obj, err := s.clients.Objects.Head(ctx, key)
	if err != nil {
		return nil, awsclient.Object{}, err
	}
	if obj.Size == 0 && r.Start == 0 {
		return []byte{}, obj, nil // the whole of an empty object
	}
	if r.Start >= obj.Size {
		return nil, obj, exitf(ExitUsage, "--range %s: the range starts past the end of the object (%s); the last byte is %d",
			r, payload.Human(obj.Size), obj.Size-1)
	}
	end := obj.Size - 1
	if r.End >= 0 {
		end = min(r.End, end)
	}
	return s.clients.Objects.GetRange(ctx, key, r.Start, end-r.Start+1)
}

// showPretty writes a payload for a terminal: pretty-printed and sanitized, binary as hex.
// A compressed payload shows at most previewBytes of its expansion: a gzip bomb must not
// flood the terminal (or memory) of an operator who only wanted a look.
func (g *Globals) showPretty(body io.Reader, obj awsclient.Object, ranged bool, key string, previewBytes int64, noPager bool) error {
	data, err := io.ReadAll(io.LimitReader(body, showLimit+1))
	if err != nil {
		return exitForAWS(err)
	}
	partial := ranged || len(data) > showLimit
	if len(data) > showLimit {
		data = data[:showLimit]
	}
	if previewBytes <= 0 {
		previewBytes = config.DefaultPreviewBytes
	}
	decoded := payload.Decode(obj.ContentType, obj.ContentEncoding, data, partial, previewBytes)
	doc := payload.NewDocument(decoded.Bytes, decoded.Kind, true, decoded.Partial)
	// Notes about what follows come first: after a long payload they would scroll by
	// unread, or be taken for part of it.
	switch {
	case decoded.Err != nil:
		g.printErr("stowage: note: the gzip payload is damaged (%s); shown as far as it could be read\n", clipEchoed(decoded.Err.Error(), maxMessage))
	case doc.ParseErr() != nil:
		g.printErr("stowage: note: malformed %s at %s; shown as stored\n", decoded.Kind, clipEchoed(doc.ParseErr().Error(), maxMessage))
	}
	if decoded.Capped {
		g.printErr("stowage: note: showing the first %s of the decompressed payload (preview_bytes); all of it: stowage show --raw %s | gunzip\n",
			payload.Human(previewBytes), clipEchoed(key, maxEchoed))
	}
	// One buffered writer for the whole render (small writes are what make a terminal
	// slow), to the pager when the text is taller than the screen.
	var w *bufio.Writer
	var pg *pager
	if !noPager && g.tallerThanScreen(doc) {
		pg = g.startPager()
	}
	if pg != nil {
		w = pg.Writer
	} else {
		w = bufio.NewWriterSize(g.Stdout, 64<<10)
	}
	err = writeDoc(w, doc, g.color(g.Stdout))
	if pg != nil {
		err = errors.Join(err, pg.Close())
		if isBrokenPipe(err) {
			err = nil // the operator quit the pager before the end
		}
	} else if err == nil {
		err = w.Flush()
	}
	if err != nil {
		return err
	}
	if len(data) >= showLimit && !ranged {
		g.printErr("stowage: note: showing the first %s of %s; use --raw for all of it\n", payload.Human(showLimit), payload.Human(obj.Size))
	}
	return nil
}

// writeDoc renders doc to w, highlighted when color, and stops at the first failed write
// (a pager the operator quit).
func writeDoc(w *bufio.Writer, doc *payload.Document, color bool) error {
	if !color {
		for i := range doc.Lines() {
			w.WriteString(doc.Line(i))
			if err := w.WriteByte('\n'); err != nil {
				return err
			}
		}
		return nil
	}
	// Lines come from the sanitizer; the highlighter adds only its own SGR codes.
	return writeHighlighted(w, doc, payload.NewHighlighter(darkBackground()), runtime.GOMAXPROCS(0))
}

// writeHighlighted colours doc's windows on up to workers goroutines and writes them in
// order: lexing is nearly all of the cost, and each window is lexed on its own anyway.
// At most 2×workers windows are held at once.
func writeHighlighted(w *bufio.Writer, doc *payload.Document, h *payload.Highlighter, workers int) error {
	workers = max(1, workers)
	ahead := make(chan chan []string, 2*workers)
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		defer close(ahead)
		busy := make(chan struct{}, workers)
		for from := 0; from < doc.Lines(); from += highlightWindow {
			done := make(chan []string, 1)
			select {
			case ahead <- done:
			case <-stop:
				return
			}
			busy <- struct{}{}
			go func() {
				done <- h.Window(doc, from, from+highlightWindow)
				<-busy
			}()
		}
	}()
	for done := range ahead {
		for _, line := range <-done {
			w.WriteString(line)
			w.WriteByte('\n')
		}
		if err := w.Flush(); err != nil {
			return err // stop closes; the windows in flight finish into their own buffers
		}
	}
	return nil
}

// tallerThanScreen reports whether doc, shown on stdout, would not fit on the screen.
// Unknown height (not a terminal) is never taller: there is nothing to page.
func (g *Globals) tallerThanScreen(doc *payload.Document) bool {
	rows := g.terminalRows(g.Stdout)
	if rows <= 0 || !g.isTerminal(g.Stdout) {
		return false
	}
	width := g.terminalWidth(g.Stdout)
	return tallerThan(doc.Lines(), func(i int) int { return ansi.StringWidth(doc.Line(i)) }, width, rows)
}

// highlightWindow is how many lines are lexed at once: enough that a tag or comment
// spanning a few lines is rarely cut, small enough to bound the lexer's work.
const highlightWindow = 512

// darkBackground guesses the terminal background from COLORFGBG ("15;0" is light text on
// black), assuming dark, the common case, when it is unset. Asking the terminal would
// mean reading stdin, which a pipeline may own.
func darkBackground() bool {
	v := os.Getenv("COLORFGBG")
	i := strings.LastIndexByte(v, ';')
	if i < 0 {
		return true
	}
	bg, err := strconv.Atoi(v[i+1:])
	return err != nil || !(bg == 7 || bg >= 9 && bg <= 15)
}

// missingObject explains a request whose object is not in the bucket: gone while its
// status item remains, or never there.
func (s *session) missingObject(ctx context.Context, t target) error {
	uri := clipEchoed(reqid.S3URI(s.env.Storage.Bucket, t.key), maxEchoed)
	st, found, err := s.alongsideStatus(ctx, t.id, func() error { return s.checkBucket(ctx, t.key) })
	if err != nil {
		return err
	}
	if !found && t.words != nil {
		return wordsError(t.words)
	}
	if !found {
		return exitf(ExitNotFound, "no request %s: no object at %s and no status item; check the ID and --env", clipEchoed(t.id, maxEchoed), uri)
	}
	return exitf(ExitNotFound, "request %s has a status item (%s) but no object at %s: the body was deleted or expired by a lifecycle rule, so it cannot be shown or redriven in place",
		clipEchoed(t.id, maxEchoed), describeStatus(st), uri)
}

// alongsideStatus reads the status item of id while first runs: one round trip, not two.
// first's error comes first; a failed read of the item is an AWS error.
func (s *session) alongsideStatus(ctx context.Context, id string, first func() error) (awsclient.Status, bool, error) {
	var (
		st    awsclient.Status
		found bool
		stErr error
		wg    sync.WaitGroup
	)
	wg.Add(1)
	go func() {
		defer wg.Done()
		st, found, stErr = s.clients.Statuses.Get(ctx, id)
	}()
	err := first()
	wg.Wait()
	if err != nil {
		return st, found, err
	}
	if stErr != nil {
		return st, found, exitForAWS(stErr)
	}
	return st, found, nil
}

// checkBucket lists one key to tell a missing bucket from a missing key: a HEAD of
// either is a bare 404. Called only once something was not found.
func (s *session) checkBucket(ctx context.Context, key string) error {
	if _, err := s.clients.Objects.ListPage(ctx, key, "", 1); err != nil {
		return exitForAWS(err)
	}
	return nil
}

// describeStatus is a status item in a few words, sanitized.
func describeStatus(st awsclient.Status) string {
	parts := []string{clipEchoed(st.State, maxEchoed)}
	switch {
	case st.Attempts == 1:
		parts = append(parts, "1 attempt")
	case st.Attempts > 1:
		parts = append(parts, fmt.Sprintf("%d attempts", st.Attempts))
	}
	if !st.UpdatedAt.IsZero() {
		parts = append(parts, "updated "+st.UpdatedAt.UTC().Format(time.RFC3339))
	}
	return strings.Join(parts, ", ")
}

// metaDoc is what --meta prints.
type metaDoc struct {
	ID     string         `json:"id"`
	Bucket string         `json:"bucket"`
	Key    string         `json:"key"`
	Object *metaObject    `json:"object"`
	Status map[string]any `json:"status"`
}

// metaObject is the object's metadata. Every field is always present; what S3 did not
// report is null, as in ls -o json.
type metaObject struct {
	Size            int64             `json:"size"`
	LastModified    *string           `json:"lastModified"`
	ETag            *string           `json:"etag"`
	ContentType     *string           `json:"contentType"`
	ContentEncoding *string           `json:"contentEncoding"`
	VersionID       *string           `json:"versionId"`
	StorageClass    *string           `json:"storageClass"`
	Metadata        map[string]string `json:"metadata"`
}

// nullable is s, or nil (null) when it is empty.
func nullable(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// showMeta prints the S3 metadata and the status item as JSON.
func (s *session) showMeta(ctx context.Context, g *Globals, t target) error {
	doc := metaDoc{ID: t.id, Bucket: s.env.Storage.Bucket, Key: t.key}
	// The HEAD and the status item at once, as the detail reads them.
	st, found, err := s.alongsideStatus(ctx, t.id, func() error {
		obj, err := s.clients.Objects.Head(ctx, t.key)
		switch {
		case err == nil:
			meta := obj.Metadata
			if meta == nil {
				meta = map[string]string{}
			}
			doc.Object = &metaObject{Size: obj.Size, LastModified: rfc3339(obj.LastModified), ETag: nullable(obj.ETag),
				ContentType: nullable(obj.ContentType), ContentEncoding: nullable(obj.ContentEncoding),
				VersionID: nullable(obj.VersionID), StorageClass: nullable(obj.StorageClass), Metadata: meta}
			return nil
		case !inventory.IsMissingObject(err):
			return exitForAWS(err)
		}
		return s.checkBucket(ctx, t.key)
	})
	if err != nil {
		return err
	}
	if found {
		doc.Status = st.Item
		if doc.Status == nil {
			doc.Status = map[string]any{}
		}
	}
	if doc.Object == nil && !found && t.words != nil {
		return wordsError(t.words)
	}
	if doc.Object == nil && !found {
		return exitf(ExitNotFound, "no request %s: no object at %s and no status item; check the ID and --env",
			clipEchoed(t.id, maxEchoed), clipEchoed(reqid.S3URI(doc.Bucket, t.key), maxEchoed))
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(doc); err != nil {
		return fmt.Errorf("encode the metadata: %w", err)
	}
	out := buf.String()
	if g.isTerminal(g.Stdout) {
		// JSON escapes control characters but not bidi overrides or other format
		// characters, which could still reorder what the operator reads.
		out = sanitize.Block(out)
	}
	if _, err := io.WriteString(g.Stdout, out); err != nil {
		return err
	}
	if doc.Object == nil {
		return exitf(ExitNotFound, "request %s has a status item (%s) but no object at %s: the body was deleted or expired by a lifecycle rule",
			clipEchoed(t.id, maxEchoed), describeStatus(st), clipEchoed(reqid.S3URI(doc.Bucket, t.key), maxEchoed))
	}
	return nil
}

// runHistory is show --history: the request's redrive runs from this machine's journals.
// It opens no AWS client: the journals are local.
func runHistory(g *Globals, ref reqid.Ref, byKey bool, key string) error {
	env, _, err := g.LoadEnv()
	if err != nil {
		return err
	}
	s := &session{env: env}
	var t target
	if byKey {
		t = s.keyTarget(key)
	} else if t, err = s.resolve(ref); err != nil {
		return err
	}
	state, err := redrive.StateDir()
	if err != nil {
		return exitf(ExitUsage, "%v", err)
	}
	dir := filepath.Join(state, "redrives")
	runs, err := redrive.RequestHistory(dir, env.Name, t.id)
	if err != nil {
		return exitf(ExitUsage, "read the redrive journals in %s: %s", dir, sanitize.Line(err.Error()))
	}
	if len(runs) == 0 {
		g.printErr("stowage: %s was not redriven from this machine in %s (journals in %s)\n", sanitize.Line(t.id), env.Name, dir)
		return nil
	}
	// The table unless -o json is asked for (also when piped: what --history printed
	// before -o existed).
	format := outputTable
	if g.Output != "" {
		if format, err = g.outputFormat(); err != nil {
			return err
		}
	}
	if format == outputJSON {
		return writeHistoryJSON(g.Stdout, runs)
	}
	if w := g.terminalWidth(g.Stdout); w > 0 && w < historyTableWidth {
		return writeHistoryBlocks(g.Stdout, runs, g.color(g.Stdout), w)
	}
	return writeHistory(g.Stdout, runs, g.color(g.Stdout))
}

// historyTableWidth is what the history table needs before RESULT; on a narrower
// terminal each run is a short block instead (the table wrapped every row at 80).
const historyTableWidth = 20 + 2 + 36 + 2 + 8 + 2 + 9 + 2 + 5 + 2 + 20 + 2 + 10

// writeHistoryBlocks prints each run as a few lines that fit width:
//
//	run 8973d608-f7fb-415d-a638-f93b58275bff  inplace  delivered  1 try
//	  started 2026-12-07T15:11:54Z by alice
//	  result  the run's reason, when it has one
func writeHistoryBlocks(w io.Writer, runs []redrive.HistoryRun, color bool, width int) error {
	bw := bufio.NewWriter(w)
	for i, r := range runs {
		if i > 0 {
			fmt.Fprintln(bw)
		}
		tries := "tries"
		if r.Attempts == 1 {
			tries = "try"
		}
		fmt.Fprintf(bw, "run %s  %s  %s  %d %s\n", sanitize.Line(r.RunID), sanitize.Line(r.Mode), historyOutcome(r.Outcome, color, 0), r.Attempts, tries)
		started := "  started " + r.Started.UTC().Format(time.RFC3339)
		if r.Operator != "" {
			started += " by " + clipOutside(sanitize.Line(r.Operator), max(width-len(started)-4, 12))
		}
		fmt.Fprintln(bw, started)
		if res := historyResult(r); res != "" {
			fmt.Fprintf(bw, "  result  %s\n", clipOutside(sanitize.Line(res), max(width-10, 12)))
		}
	}
	return bw.Flush()
}

// historyOutcome is a run's outcome for the request, padded to pad cells and coloured.
func historyOutcome(o string, color bool, n int) string {
	outcome := sanitize.Line(o)
	if n > 0 {
		outcome = pad(outcome, n)
	}
	if color {
		switch redrive.ItemState(o) {
		case redrive.StateDelivered:
			outcome = "\x1b[32m" + outcome + "\x1b[0m"
		case redrive.StateFailed, redrive.StateUnknown, redrive.StateSending:
			outcome = "\x1b[31m" + outcome + "\x1b[0m"
		}
	}
	return outcome
}

// historyResult is what came of the run for the request: its reason, and a reupload's
// new request.
func historyResult(r redrive.HistoryRun) string {
	if r.NewRequestID != "" {
		return strings.TrimSpace("new request " + r.NewRequestID + " " + r.Error)
	}
	return r.Error
}

// historyJSON is one run in show --history -o json.
type historyJSON struct {
	RunID        string  `json:"runId"`
	Env          string  `json:"env"`
	Mode         string  `json:"mode"`
	Outcome      string  `json:"outcome"`
	Attempts     int     `json:"attempts"`
	Operator     *string `json:"operator"`
	Error        *string `json:"error"`
	NewRequestID *string `json:"newRequestId"`
	Started      *string `json:"started"`
	At           *string `json:"at"`
	Journal      string  `json:"journal"`
}

func writeHistoryJSON(w io.Writer, runs []redrive.HistoryRun) error {
	bw := bufio.NewWriter(w)
	enc := json.NewEncoder(bw)
	enc.SetEscapeHTML(false)
	opt := func(s string) *string {
		if s == "" {
			return nil
		}
		return &s
	}
	for _, r := range runs {
		if err := enc.Encode(historyJSON{RunID: r.RunID, Env: r.Env, Mode: r.Mode, Outcome: r.Outcome, Attempts: r.Attempts,
			Operator: opt(r.Operator), Error: opt(r.Error), NewRequestID: opt(r.NewRequestID),
			Started: rfc3339(r.Started), At: rfc3339(r.At), Journal: r.Journal}); err != nil {
			return err
		}
	}
	return bw.Flush()
}

func writeHistory(w io.Writer, runs []redrive.HistoryRun, color bool) error {
	bw := bufio.NewWriter(w)
	fmt.Fprintf(bw, "%-20s  %-36s  %-8s  %-9s  %5s  %-20s  %s\n", "STARTED", "RUN", "MODE", "OUTCOME", "TRIES", "OPERATOR", "RESULT")
	for _, r := range runs {
		outcome := historyOutcome(r.Outcome, color, 9)
		result := historyResult(r)
		who := r.Operator
		if who == "" {
			who = "-"
		}
		fmt.Fprintf(bw, "%-20s  %-36s  %-8s  %s  %5d  %-20s  %s\n", r.Started.UTC().Format(time.RFC3339), sanitize.Line(r.RunID),
			sanitize.Line(r.Mode), outcome, r.Attempts, clipOutside(sanitize.Line(who), 20), clipOutside(sanitize.Line(result), 80))
	}
	return bw.Flush()
}
