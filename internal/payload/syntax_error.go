package payload

import (
	"bytes"
	"errors"
	"fmt"
	"unicode/utf8"
)

// ErrTruncated is matched (errors.Is) by a *SyntaxError whose only problem is that the
// input ended before the document did, as it does when only the first MiB of a large
// object was fetched.
var ErrTruncated = errors.New("document is cut short")

// SyntaxError locates a malformed JSON or XML document.
type SyntaxError struct {
	Line   int   // 1-based
	Column int   // 1-based, in runes (each invalid UTF-8 byte counts as one)
	Offset int64 // 0-based byte offset of the offending byte; len(input) at the end
	Msg    string
	// Truncated is true when the input ended inside the document: the document may be
	// fine and merely cut. Unwrap then returns ErrTruncated.
	Truncated bool
}

func (e *SyntaxError) Error() string {
	return fmt.Sprintf("line %d, column %d: %s", e.Line, e.Column, e.Msg)
}

func (e *SyntaxError) Unwrap() error {
	if e.Truncated {
		return ErrTruncated
	}
	return nil
}

// newSyntaxError fills in the line and column of offset in src.
func newSyntaxError(src []byte, offset int, msg string) *SyntaxError {
	offset = max(0, min(offset, len(src)))
	line, col := position(src, offset)
	return &SyntaxError{Line: line, Column: col, Offset: int64(offset), Msg: msg, Truncated: offset == len(src)}
}

// position returns the 1-based line and rune column of src[offset].
func position(src []byte, offset int) (line, col int) {
	before := src[:offset]
	line = 1 + bytes.Count(before, []byte{'\n'})
	lineStart := bytes.LastIndexByte(before, '\n') + 1
	return line, 1 + utf8.RuneCount(before[lineStart:])
}

// runeStart moves n back to the start of the valid rune it falls inside, if any, so an
// offset that points into a multi-byte character points at the character.
func runeStart[T string | []byte](s T, n int) int {
	if n <= 0 || n >= len(s) || utf8.RuneStart(s[n]) {
		return n
	}
	for back := 1; back < utf8.UTFMax && n-back >= 0; back++ {
		if utf8.RuneStart(s[n-back]) {
			r, size := utf8.DecodeRuneInString(string(s[n-back : min(len(s), n-back+utf8.UTFMax)]))
			if r != utf8.RuneError && size > back {
				return n - back
			}
			break
		}
	}
	return n
}
