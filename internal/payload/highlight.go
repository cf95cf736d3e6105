package payload

import (
	"embed"
	"image/color"
	"strings"
	"sync"

	"github.com/alecthomas/chroma/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/stowage-cli/stowage/internal/sanitize"
)

// Chroma styles for each terminal background.
const (
	LightStyle = "github"
	DarkStyle  = "github-dark"
)

// chromaFiles are the only lexers and styles stowage uses, copied from chroma (MIT,
// chroma/COPYING). Importing chroma's lexers or styles package would parse all of its
// hundreds of definitions at start-up (about 40 ms of CPU before the first request);
// these are parsed on first use.
//
//go:embed chroma/*.xml
var chromaFiles embed.FS

// chromaStyle parses the embedded style name; a broken embedded file is a build defect.
func chromaStyle(name string) *chroma.Style {
	f, err := chromaFiles.Open("chroma/" + name + ".xml")
	if err != nil {
		panic("payload: no embedded chroma style " + name + ": " + err.Error())
	}
	defer f.Close()
	return chroma.MustNewXMLStyle(f)
}

// Highlighter colours JSON and XML lines for the terminal with a chroma style picked
// for the background. Styles and lexers are resolved once and each token type's SGR
// sequence is computed once; a Highlighter is safe for concurrent use.
//
// It highlights only the lines it is given: the caller passes the visible window (plus
// a margin), never the whole payload. Window starts the lexer in the state the first
// line begins in, found from the window itself and a bounded stretch before it; when
// that is not enough (a construct longer than the stretch) colours may be wrong until
// the construct ends, which costs colour only, never content. Text the lexer cannot
// place is drawn plain, never in the style's error colour: a payload's real parse error
// is marked separately, with the parser's message.
//
// Input lines are sanitized again here (free for the already-clean lines Document
// returns), so the output carries no bytes but the text's own printable characters and
// the highlighter's SGR sequences. Each output line stands alone: every styled token is
// closed with a reset, so lines can be cut and padded independently.
type Highlighter struct {
	dark  bool
	style *chroma.Style
	mu    sync.RWMutex
	sgr   map[chroma.TokenType]string // opening SGR per token type, "" for plain
}

var (
	highlighterOnce [2]sync.Once
	highlighters    [2]*Highlighter
)

// NewHighlighter returns the highlighter for a dark or light background. It is
// memoized: call it as often as convenient.
func NewHighlighter(isDark bool) *Highlighter {
	i := 0
	if isDark {
		i = 1
	}
	highlighterOnce[i].Do(func() {
		name := LightStyle
		if isDark {
			name = DarkStyle
		}
		highlighters[i] = &Highlighter{dark: isDark, style: chromaStyle(name), sgr: map[chroma.TokenType]string{}}
	})
	return highlighters[i]
}

// IsDark reports which background the highlighter is for.
func (h *Highlighter) IsDark() bool { return h.dark }

var (
	lexerOnce sync.Once
	jsonLexer chroma.Lexer
	xmlLexer  chroma.Lexer
)

func lexerFor(kind Kind) chroma.Lexer {
	lexerOnce.Do(func() {
		jsonLexer = chroma.Coalesce(chroma.MustNewXMLLexer(chromaFiles, "chroma/json.xml"))
		xmlLexer = chroma.Coalesce(chroma.MustNewXMLLexer(chromaFiles, "chroma/xml.xml"))
	})
	switch kind {
	case JSON:
		return jsonLexer
	case XML:
		return xmlLexer
	}
	return nil
}

// Lines highlights lines[from:to] as kind and returns exactly that many lines. Kinds
// other than JSON and XML come back sanitized but uncoloured. from and to are clamped.
// The lines are lexed from the lexer's initial state; Window knows more.
func (h *Highlighter) Lines(kind Kind, lines []string, from, to int) []string {
	from = max(0, min(from, len(lines)))
	to = max(from, min(to, len(lines)))
	window := make([]string, to-from)
	for i, l := range lines[from:to] {
		window[i] = sanitize.Line(l)
	}
	return h.highlight(kind, window, lexContext{})
}

// Window highlights display lines [from, to) of d, reading only those lines and a
// bounded stretch before them. The lexer is started in the state line from begins in
// (inside an object or array, an XML comment, CDATA section or tag), so a window that
// starts in the middle of a document is coloured as if it had been lexed from the top.
func (h *Highlighter) Window(d *Document, from, to int) []string {
	from = max(0, min(from, d.Lines()))
	to = max(from, min(to, d.Lines()))
	kind := d.Kind()
	if d.Hex() {
		kind = Binary
	}
	if kind == JSON && d.pretty && d.err == nil && d.srcLine == nil {
		// Well-formed, re-indented by PrettyJSON, no line cut: each token is whole on
		// its line, so no context is needed and no regular expression either.
		window := make([]string, to-from)
		for i := range window {
			window[i] = d.Line(from + i)
		}
		if out, ok := h.prettyJSONLines(window); ok {
			return out
		}
	}
	var ctx lexContext
	if kind == JSON || kind == XML {
		ctx = d.lexContext(from, to)
	}
	window := make([]string, to-from+ctx.lead)
	for i := range window {
		window[i] = d.Line(from - ctx.lead + i)
	}
	return h.highlight(kind, window, ctx)
}

// highlight colours clean lines and returns them, without the ctx.lead lines at the
// start that were lexed only to reach the right state.
func (h *Highlighter) highlight(kind Kind, lines []string, ctx lexContext) []string {
	lexer := lexerFor(kind)
	if lexer == nil || len(lines) == 0 {
		return lines[min(ctx.lead, len(lines)):]
	}
	tokens, ok := lexBody(lexer, kind, ctx, strings.Join(lines, "\n")+"\n")
	if !ok {
		return lines[min(ctx.lead, len(lines)):] // uncoloured
	}
	out := make([]string, 0, len(lines))
	var b strings.Builder
	for tok := range tokens {
		open := h.open(tok.Type)
		for piece, rest := range splitLines(tok.Value) {
			if piece != "" {
				if open != "" && strings.Trim(piece, " ") != "" {
					b.WriteString(open)
					b.WriteString(piece)
					b.WriteString(ansi.ResetStyle)
				} else {
					b.WriteString(piece)
				}
			}
			if rest {
				out = append(out, b.String())
				b.Reset()
			}
		}
	}
	if b.Len() > 0 {
		out = append(out, b.String())
	}
	if len(out) != len(lines) {
		out = lines // the lexer lost or added text; do not show something different
	}
	return out[min(ctx.lead, len(out)):]
}

// lexBody returns the tokens of body lexed as kind in ctx, or ok false when lexing it
// would cost far more than its length (see entityScanCost) and it is better shown
// uncoloured.
func lexBody(lexer chroma.Lexer, kind Kind, ctx lexContext, body string) (tokens func(yield func(chroma.Token) bool), ok bool) {
	switch {
	case kind == JSON && jsonStringOpen(body):
		// chroma's string pattern backtracks exponentially over the backslashes of a
		// string that never closes (a line cut at the window's end, or a malformed one):
		// close it after the window.
		ctx.suffix = `"`
	case kind == XML && entityScanCost(body) > maxEntityScanCost:
		return nil, false
	}
	return lexTokens(lexer, ctx, body), true
}

// lexTokens lexes ctx.prefix+body+ctx.suffix and yields the tokens of body alone, cut at
// its edges.
func lexTokens(lexer chroma.Lexer, ctx lexContext, body string) func(yield func(chroma.Token) bool) {
	return func(yield func(chroma.Token) bool) {
		it, err := lexer.Tokenise(nil, ctx.prefix+body+ctx.suffix)
		if err != nil {
			yield(chroma.Token{Type: chroma.Text, Value: body}) // uncoloured is still correct
			return
		}
		start, end := len(ctx.prefix), len(ctx.prefix)+len(body)
		pos := 0
		for tok := it(); tok != chroma.EOF; tok = it() {
			tokStart := pos
			pos += len(tok.Value)
			if pos <= start || tokStart >= end {
				continue
			}
			tok.Value = tok.Value[max(start, tokStart)-tokStart : min(end, pos)-tokStart]
			if !yield(tok) {
				return
			}
		}
	}
}

// jsonStringOpen reports whether text ends inside a string as chroma's JSON lexer reads
// it: quotes pair up across lines, a backslash escapes the next byte, and // outside a
// string starts a comment to the end of the line.
func jsonStringOpen(text string) bool {
	in := false
	for i := 0; i < len(text); i++ {
		switch c := text[i]; {
		case in && c == '\\':
			i++
		case c == '"':
			in = !in
		case !in && c == '/' && strings.HasPrefix(text[i:], "//"):
			nl := strings.IndexByte(text[i:], '\n')
			if nl < 0 {
				return false
			}
			i += nl
		}
	}
	return in
}

// maxEntityScanCost bounds entityScanCost for a window that is coloured: about 10 ms.
const maxEntityScanCost = 1 << 19

// entityScanCost is how many bytes chroma's XML lexer reads trying to match entity
// references in text: for each '&' it reads up to the next ';' or white space, so a run
// of '&' without ';' (hostile or malformed) costs the square of its length. Well-formed
// text costs a few bytes per reference.
func entityScanCost(text string) int {
	cost, amps, ampSum := 0, 0, 0 // '&' since the last stop, and the sum of their offsets
	for i := 0; i < len(text); i++ {
		switch text[i] {
		case '&':
			amps++
			ampSum += i
		case ';', ' ', '\t', '\n', '\r', '\f', '\v':
			cost += amps*i - ampSum
			amps, ampSum = 0, 0
		}
	}
	return cost + amps*len(text) - ampSum
}

// splitLines yields the pieces of s between newlines, each with whether a newline
// followed it.
func splitLines(s string) func(yield func(string, bool) bool) {
	return func(yield func(string, bool) bool) {
		for {
			i := strings.IndexByte(s, '\n')
			if i < 0 {
				yield(s, false)
				return
			}
			if !yield(s[:i], true) {
				return
			}
			s = s[i+1:]
		}
	}
}

// open returns the SGR sequence that starts a token of type t, computed once per type.
func (h *Highlighter) open(t chroma.TokenType) string {
	h.mu.RLock()
	s, ok := h.sgr[t]
	h.mu.RUnlock()
	if ok {
		return s
	}
	key := t
	if t == chroma.Error {
		// The lexer calls text it cannot place an error. Real parse errors have their own
		// marker with the parser's message; the lexer's guess must not paint valid text red.
		t = chroma.Text
	}
	e := h.style.Get(t)
	var st ansi.Style
	if e.Colour.IsSet() {
		st = st.ForegroundColor(color.RGBA{R: e.Colour.Red(), G: e.Colour.Green(), B: e.Colour.Blue(), A: 0xff})
	}
	if e.Bold == chroma.Yes {
		st = st.Bold()
	}
	if e.Italic == chroma.Yes {
		st = st.Italic(true)
	}
	if e.Underline == chroma.Yes {
		st = st.Underline(true)
	}
	if len(st) > 0 {
		s = st.String()
	}
	h.mu.Lock()
	h.sgr[key] = s
	h.mu.Unlock()
	return s
}
