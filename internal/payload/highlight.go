package payload

import (
	"image/color"
	"strings"
	"sync"

	"github.com/alecthomas/chroma/v2"
	"github.com/alecthomas/chroma/v2/lexers"
	"github.com/alecthomas/chroma/v2/styles"
	"github.com/charmbracelet/x/ansi"

	"github.com/stowage-cli/stowage/internal/sanitize"
)

// Chroma styles for each terminal background.
const (
	LightStyle = "github"
	DarkStyle  = "github-dark"
)

// Highlighter colours JSON and XML lines for the terminal with a chroma style picked
// for the background. Styles and lexers are resolved once and each token type's SGR
// sequence is computed once; a Highlighter is safe for concurrent use.
//
// It highlights only the lines it is given: the caller passes the visible window (plus
// a margin), never the whole payload. The window is lexed as one piece so a tag or
// comment spanning a few visible lines is coloured right; a window that starts inside
// a multi-line construct (a long XML comment, a line cut at MaxLineBytes) is lexed from
// the wrong state and may be coloured wrongly until the construct ends. That costs
// colour only, never content.
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
		highlighters[i] = &Highlighter{dark: isDark, style: styles.Get(name), sgr: map[chroma.TokenType]string{}}
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
		jsonLexer = chroma.Coalesce(lexers.Get("json"))
		xmlLexer = chroma.Coalesce(lexers.Get("xml"))
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
func (h *Highlighter) Lines(kind Kind, lines []string, from, to int) []string {
	from = max(0, min(from, len(lines)))
	to = max(from, min(to, len(lines)))
	window := make([]string, to-from)
	for i, l := range lines[from:to] {
		window[i] = sanitize.Line(l)
	}
	return h.highlight(kind, window)
}

// Window highlights display lines [from, to) of d, reading only those lines.
func (h *Highlighter) Window(d *Document, from, to int) []string {
	from = max(0, min(from, d.Lines()))
	to = max(from, min(to, d.Lines()))
	window := make([]string, to-from)
	for i := range window {
		window[i] = d.Line(from + i)
	}
	kind := d.Kind()
	if d.Hex() {
		kind = Binary
	}
	return h.highlight(kind, window)
}

// highlight colours clean lines in place and returns them.
func (h *Highlighter) highlight(kind Kind, lines []string) []string {
	lexer := lexerFor(kind)
	if lexer == nil || len(lines) == 0 {
		return lines
	}
	it, err := lexer.Tokenise(nil, strings.Join(lines, "\n")+"\n")
	if err != nil {
		return lines // uncoloured is still correct
	}
	out := make([]string, 0, len(lines))
	var b strings.Builder
	for tok := it(); tok != chroma.EOF; tok = it() {
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
		return lines // the lexer lost or added text; do not show something different
	}
	return out
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
	h.sgr[t] = s
	h.mu.Unlock()
	return s
}
