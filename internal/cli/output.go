package cli

// The output contract shared by ls, lost, status and show:
//
//   - -o table on a terminal, -o json (JSON Lines) otherwise; -o overrides.
//   - JSON Lines carry exactly id, key, size, lastModified (RFC 3339), receivedAt,
//     contentType, status, attempts, error, updatedAt, with null for what is not known.
//   - Colour only on a terminal, never with NO_COLOR or --no-color.
//   - Table cells pass through internal/sanitize (keys and errors come from outside) and
//     are measured with x/ansi.
//   - Errors go to stderr with the remedy on its own line; exit codes by exitForAWS.

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/charmbracelet/x/ansi"
	"github.com/spf13/cobra"

	"github.com/stowage-cli/stowage/awsclient"
	"github.com/stowage-cli/stowage/internal/config"
	"github.com/stowage-cli/stowage/internal/inventory"
	"github.com/stowage-cli/stowage/internal/jsonstr"
	"github.com/stowage-cli/stowage/internal/payload"
	"github.com/stowage-cli/stowage/internal/sanitize"
)

// Output formats.
const (
	outputTable = "table"
	outputJSON  = "json"
)

// outputHelp documents -o for every command that lists requests.
const outputHelp = "output format: table or json (JSON Lines); default table on a terminal, json when stdout is not a terminal"

// exitCodesHelp is appended to the long help of the listing commands.
const exitCodesHelp = `
Exit codes:
  0  ok
  1  not found, or nothing matched what was asked for
  2  usage or configuration error
  3  AWS access error (credentials, permissions, missing bucket or table, network)`

// jsonFieldsHelp documents the JSON Lines contract.
const jsonFieldsHelp = `
With -o json (the default when stdout is not a terminal) each request is one JSON object
per line with exactly these fields, null when unknown:
  id, key, size, lastModified (RFC 3339), receivedAt, contentType, status, attempts, error,
  updatedAt
receivedAt is the request's original arrival: a redrive in place rewrites the object, so
lastModified becomes the redrive's time, and receivedAt is then taken from
status.received_attr, else the oldest object version (storage.received_from_versions),
else this machine's redrive journals; --since filters on it. status is the status item's
state; null means the table has no item for the request (LOST once it is older than
status.lost_after). contentType is known only where the object was read with HEAD
(status, ls --status); a listing does not return it.`

// addOutputFlag adds -o/--output bound to g.Output.
func addOutputFlag(cmd *cobra.Command, g *Globals) {
	cmd.Flags().StringVarP(&g.Output, "output", "o", "", outputHelp)
	_ = cmd.RegisterFlagCompletionFunc("output", func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
		return []string{outputTable, outputJSON}, cobra.ShellCompDirectiveNoFileComp
	})
}

// outputFormat is the format to write stdout in: -o when given, else table on a terminal
// and JSON Lines otherwise.
func (g *Globals) outputFormat() (string, error) {
	switch strings.ToLower(g.Output) {
	case "":
		if g.isTerminal(g.Stdout) {
			return outputTable, nil
		}
		return outputJSON, nil
	case outputTable:
		return outputTable, nil
	case outputJSON, "jsonl", "ndjson":
		return outputJSON, nil
	}
	return "", exitf(ExitUsage, "-o %s: want table or json", sanitize.Line(g.Output))
}

// color reports whether to colour w: a terminal, no --no-color and no NO_COLOR.
func (g *Globals) color(w io.Writer) bool {
	return !g.NoColor && os.Getenv("NO_COLOR") == "" && g.isTerminal(w)
}

// jsonRow is one request in JSON Lines. The field order is the contract's.
type jsonRow struct {
	ID           string  `json:"id"`
	Key          string  `json:"key"`
	Size         *int64  `json:"size"`
	LastModified *string `json:"lastModified"`
	ReceivedAt   *string `json:"receivedAt"`
	ContentType  *string `json:"contentType"`
	Status       *string `json:"status"`
	Attempts     *int    `json:"attempts"`
	Error        *string `json:"error"`
	UpdatedAt    *string `json:"updatedAt"`
}

// toJSONRow is r in the JSON contract. attemptsAttr is the status item's attempts
// attribute (status.attempts_attr): an item without it has attempts null, not 0.
func toJSONRow(r inventory.Row, attemptsAttr string) jsonRow {
	j := jsonRow{ID: r.ID(), Key: r.Object.Key}
	if !r.NoObject {
		size := r.Object.Size
		j.Size = &size
		j.LastModified = rfc3339(r.Object.LastModified)
		j.ReceivedAt = rfc3339(r.ReceivedAt())
		if r.Object.ContentType != "" {
			ct := r.Object.ContentType
			j.ContentType = &ct
		}
	}
	if s := r.Status; s != nil {
		state := s.State
		j.Status, j.Attempts = &state, knownAttempts(s, attemptsAttr)
		if s.Error != "" {
			e := s.Error
			j.Error = &e
		}
		j.UpdatedAt = rfc3339(s.UpdatedAt)
	}
	return j
}

// knownAttempts is the status item's attempt count, or nil when the item does not have
// the attribute: absent is not the same as zero attempts. A Status without its Item
// (built by hand, not read from the table) is taken at its word.
func knownAttempts(s *awsclient.Status, attr string) *int {
	if s.Item != nil {
		if attr == "" {
			attr = config.DefaultAttemptsAttr
		}
		if v, ok := s.Item[attr]; !ok || v == nil {
			return nil
		}
	}
	n := s.Attempts
	return &n
}

func rfc3339(t time.Time) *string {
	if t.IsZero() {
		return nil
	}
	s := t.UTC().Format(time.RFC3339)
	return &s
}

// rowWriter writes request rows as they stream in.
type rowWriter interface {
	// Write writes rows and flushes them, so a reader of a pipe sees them at once.
	Write(rows []inventory.Row) error
	// Count is how many rows were written.
	Count() int
}

// newRowWriter builds the writer for format on w. lostAfter decides which rows without a
// status item show as LOST in a table; env says what the states mean (inventory.Classify)
// and which attribute holds the attempts, so that an item without one shows no attempts.
func (g *Globals) newRowWriter(format string, w io.Writer, env *config.Env, lostAfter time.Duration) rowWriter {
	attemptsAttr := ""
	if env != nil {
		attemptsAttr = env.Status.AttemptsAttr
	}
	if format == outputJSON {
		return &jsonRowWriter{w: bufio.NewWriter(w), attemptsAttr: attemptsAttr}
	}
	return &tableRowWriter{w: bufio.NewWriter(w), color: g.color(w), width: g.terminalWidth(w),
		env: env, lostAfter: lostAfter, now: g.now(), attemptsAttr: attemptsAttr}
}

type jsonRowWriter struct {
	w            *bufio.Writer
	attemptsAttr string
	n            int
	buf          []byte
}

func (j *jsonRowWriter) Write(rows []inventory.Row) error {
	for _, r := range rows {
		j.buf = toJSONRow(r, j.attemptsAttr).appendJSON(j.buf[:0])
		if _, err := j.w.Write(j.buf); err != nil {
			return err
		}
		j.n++
	}
	return j.w.Flush()
}

// appendJSON is what a json.Encoder with SetEscapeHTML(false) writes for r, newline
// included (TestJSONRowAppendIsTheEncoders, FuzzJSONRowAppend), without reflection: at
// 100k rows the encoder was a tenth of ls's CPU.
func (r jsonRow) appendJSON(b []byte) []byte {
	b = append(b, `{"id":`...)
	b = appendJSONString(b, r.ID)
	b = append(b, `,"key":`...)
	b = appendJSONString(b, r.Key)
	b = append(b, `,"size":`...)
	if r.Size == nil {
		b = append(b, "null"...)
	} else {
		b = strconv.AppendInt(b, *r.Size, 10)
	}
	for _, f := range []struct {
		name string
		v    *string
	}{{`,"lastModified":`, r.LastModified}, {`,"receivedAt":`, r.ReceivedAt}, {`,"contentType":`, r.ContentType}, {`,"status":`, r.Status}} {
		b = append(b, f.name...)
		b = appendJSONStringPtr(b, f.v)
	}
	b = append(b, `,"attempts":`...)
	if r.Attempts == nil {
		b = append(b, "null"...)
	} else {
		b = strconv.AppendInt(b, int64(*r.Attempts), 10)
	}
	b = append(b, `,"error":`...)
	b = appendJSONStringPtr(b, r.Error)
	b = append(b, `,"updatedAt":`...)
	b = appendJSONStringPtr(b, r.UpdatedAt)
	return append(b, "}\n"...)
}

func appendJSONStringPtr(b []byte, s *string) []byte {
	if s == nil {
		return append(b, "null"...)
	}
	return appendJSONString(b, *s)
}

// appendJSONString quotes s as encoding/json does without HTML escaping.
func appendJSONString(b []byte, s string) []byte { return jsonstr.Append(b, s, jsonstr.Options{}) }

func (j *jsonRowWriter) Count() int { return j.n }

// tableRowWriter writes a table with fixed-width columns, so it can stream: the header
// first, then each batch as it comes. On a terminal the layout is chosen once from its
// width: columns give way (the absolute time, then TRIES, then SIZE) until ERROR, the last
// column, has room, and ERROR is cut to what is left (clipOutside). Request IDs are never
// cut, since operators copy them; -o json keeps every value whole.
type tableRowWriter struct {
	w            *bufio.Writer
	color        bool
	width        int // 0: do not cut
	env          *config.Env
	lostAfter    time.Duration
	now          time.Time
	attemptsAttr string
	n            int
	header       bool
	hide         tableHidden
}

// Table columns: RECEIVED, AGE, STATUS, SIZE and TRIES have fixed widths; ID is padded to
// a UUID's width.
const (
	colReceived = 20
	colAge      = 6
	colStatus   = 10
	colSize     = 9
	colTries    = 5
	colID       = 36
	colGap      = 2
	// minErrorCells is the room ERROR should have before columns stop giving way: enough
	// to tell "downstream timeout" from "XML syntax error".
	minErrorCells = 30
)

// tableHidden are the columns a narrow terminal drops.
type tableHidden struct{ received, tries, size bool }

// layoutFor drops columns, in the order they matter least at 3 a.m., until ERROR has
// minErrorCells on a width-cell terminal (0: unknown, keep all).
func layoutFor(width int) tableHidden {
	var h tableHidden
	if width <= 0 {
		return h
	}
	fixed := colReceived + colAge + colStatus + colSize + colTries + colID + 6*colGap
	for _, drop := range []struct {
		hide  *bool
		cells int
	}{{&h.received, colReceived + colGap}, {&h.tries, colTries + colGap}, {&h.size, colSize + colGap}} {
		if width-fixed >= minErrorCells {
			break
		}
		*drop.hide = true
		fixed -= drop.cells
	}
	return h
}

func (t *tableRowWriter) Write(rows []inventory.Row) error {
	if !t.header {
		t.header = true
		t.hide = layoutFor(t.width)
		t.line("RECEIVED", "AGE", "STATUS", "SIZE", "TRIES", "ID", "ERROR", "")
	}
	for _, r := range rows {
		received, age, size := "-", "-", "-"
		if at := r.ReceivedAt(); !r.NoObject && !at.IsZero() {
			received = at.UTC().Format("2006-01-02 15:04:05Z")
			age = shortAge(t.now.Sub(at))
		}
		if !r.NoObject {
			size = payload.Human(r.Object.Size)
		} else {
			size = "gone"
		}
		state := r.State(t.lostAfter, t.now)
		tries, errText := "", ""
		if r.Status != nil {
			if n := knownAttempts(r.Status, t.attemptsAttr); n != nil {
				tries = strconv.Itoa(*n)
			}
			errText = r.Status.Error
		}
		if !r.NoObject && r.Redriven() {
			// RECEIVED is the original arrival; say that the object was stored again since.
			note := "redriven " + shortAge(t.now.Sub(r.Object.LastModified)) + " ago"
			if errText == "" {
				errText = note
			} else {
				errText = note + ": " + errText
			}
		}
		shown := state
		if shown == "" {
			shown = "pending"
		}
		t.line(received, age, clipOutside(shown, maxTableText), size, tries, clipOutside(r.ID(), maxTableID),
			errText, statusColor(inventory.Classify(state, t.env), t.color))
		t.n++
	}
	return t.w.Flush()
}

func (t *tableRowWriter) Count() int { return t.n }

// line writes one table line. Cells are already safe for the terminal (clipOutside), but
// errText, which line cuts to the room left, is raw.
func (t *tableRowWriter) line(received, age, status, size, tries, id, errText, sgr string) {
	var b strings.Builder
	gap := strings.Repeat(" ", colGap)
	if !t.hide.received {
		b.WriteString(pad(received, colReceived) + gap)
	}
	b.WriteString(pad(age, colAge) + gap)
	st := pad(status, colStatus)
	if sgr != "" {
		st = sgr + st + sgrReset
	}
	b.WriteString(st + gap)
	if !t.hide.size {
		b.WriteString(padLeft(size, colSize) + gap)
	}
	if !t.hide.tries {
		b.WriteString(padLeft(tries, colTries) + gap)
	}
	if errText == "" {
		b.WriteString(id)
	} else {
		b.WriteString(pad(id, colID) + gap)
		limit := maxTableText
		if t.width > 0 {
			// The error gets what the terminal has left; -o json has all of it.
			limit = min(limit, max(t.width-ansi.StringWidth(b.String()), 0))
		}
		if limit > 0 {
			b.WriteString(clipOutside(errText, limit))
		}
	}
	t.w.WriteString(strings.TrimRight(b.String(), " "))
	t.w.WriteByte('\n')
}

const sgrReset = "\x1b[0m"

// Bounds for values from outside stowage in tables and messages. A real ID is at most an
// S3 key (1,024 bytes), so maxTableID never cuts one; -o json always has the whole value.
const (
	maxTableText = 300  // an error attribute, a state: a table cell before the terminal's cut
	maxTableID   = 1100 // an ID in a table, which operators copy
	maxEchoed    = 200  // an ID, key or URI echoed in a message on stderr
	maxMessage   = 1000 // a whole error line from AWS on stderr
)

// clipOutside is the one way a value from outside (an ID, a key, a DynamoDB attribute, an
// error text) becomes a table cell: sanitized to one line and, past limit cells, cut with
// an ellipsis and a hint that -o json has the rest. The result is at most limit cells.
func clipOutside(s string, limit int) string { return clipWithHint(s, limit, " -o json") }

// clipEchoed is clipOutside for a value echoed in a message on stderr, where there is no
// JSON to point to.
func clipEchoed(s string, limit int) string { return clipWithHint(s, limit, "") }

func clipWithHint(s string, limit int, where string) string {
	s = sanitize.Line(s)
	full := ansi.StringWidth(s)
	if full <= limit {
		return s
	}
	hint := func(cut int) string { return fmt.Sprintf("…[%d more chars%s]", cut, where) }
	room := limit - ansi.StringWidth(hint(full))
	if room < ansi.StringWidth(hint(full)) {
		// The hint would take more room than the text it explains: the ellipsis alone
		// says it was cut.
		return ansi.Truncate(s, max(limit, 1), "…")
	}
	kept := ansi.Truncate(s, room, "")
	return kept + hint(full-ansi.StringWidth(kept))
}

// statusColor is the SGR sequence for what a state means (inventory.Classify, which
// knows status.terminal_states), or "" without colour.
func statusColor(c inventory.Class, color bool) string {
	if !color {
		return ""
	}
	switch c {
	case inventory.ClassFailed, inventory.ClassLost:
		return "\x1b[31m" // red
	case inventory.ClassDone:
		return "\x1b[32m" // green
	}
	return "\x1b[33m" // yellow: pending or in progress
}

// pad pads s with spaces to width cells.
func pad(s string, width int) string {
	if w := ansi.StringWidth(s); w < width {
		return s + strings.Repeat(" ", width-w)
	}
	return s
}

func padLeft(s string, width int) string {
	if w := ansi.StringWidth(s); w < width {
		return strings.Repeat(" ", width-w) + s
	}
	return s
}

// shortAge is an age for a narrow column: 45s, 12m, 3h12m, 2d4h.
func shortAge(d time.Duration) string {
	if d < 0 {
		d = 0
	}
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%dm", int(d.Minutes()))
	case d < 24*time.Hour:
		h := int(d.Hours())
		return fmt.Sprintf("%dh%dm", h, int(d.Minutes())-60*h)
	}
	days := int(d.Hours()) / 24
	return fmt.Sprintf("%dd%dh", days, int(d.Hours())-24*days)
}

// operatorError is an error already worded for the operator: sanitized, with the remedy
// on its own line. It unwraps to the original error.
type operatorError struct {
	msg string
	err error
}

func (e *operatorError) Error() string { return e.msg }
func (e *operatorError) Unwrap() error { return e.err }

// exitForAWS maps an error from awsclient (or inventory) to the documented exit code and
// words it for stderr: what failed, sanitized, and "to fix:" with the remedy. A missing
// request (no such key) is 1; a missing bucket or table, denied access, expired
// credentials, throttling or the network is 3; a request stowage built wrong, a read-only
// refusal or an API key that cannot be found is 2; cancellation is 130. nil stays nil and
// an *ExitError passes through.
func exitForAWS(err error) error {
	if err == nil {
		return nil
	}
	var ee *ExitError
	if errors.As(err, &ee) {
		return err
	}
	var ae *awsclient.Error
	if !errors.As(err, &ae) {
		if errors.Is(err, context.Canceled) {
			return &ExitError{Code: ExitCancelled, Err: errors.New("cancelled")}
		}
		return err
	}
	code := ExitAWS
	switch ae.Kind {
	case awsclient.KindNotFound:
		switch {
		case inventory.IsMissingObject(err) && (ae.Op == "head" || ae.Op == "get"):
			code = ExitNotFound
		case ae.Op == "api-key" || ae.Op == "open":
			code = ExitUsage
		}
	case awsclient.KindInvalid, awsclient.KindReadOnly:
		code = ExitUsage
	case awsclient.KindCanceled:
		code = ExitCancelled
	}
	return &ExitError{Code: code, Err: &operatorError{msg: awsMessage(ae), err: err}}
}

// awsMessage is an *awsclient.Error for the terminal: one sanitized line saying what
// failed, then the remedy.
func awsMessage(e *awsclient.Error) string {
	plain := *e
	plain.Remedy = ""
	msg := clipEchoed(plain.Error(), maxMessage)
	if e.Remedy != "" {
		msg += "\n  to fix: " + sanitize.Line(e.Remedy)
	}
	return msg
}
