package payload

import (
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
)

// DefaultGunzipLimit bounds decompression when the caller gives no limit.
const DefaultGunzipLimit = 64 << 20

// Gunzip decompresses r, keeping at most limit bytes so a gzip bomb cannot exhaust
// memory (limit <= 0 means DefaultGunzipLimit). truncated is true when there was more.
// On a damaged or cut stream it returns what was decompressed before the problem with
// the error; a cut stream (a ranged GET of a large object) matches io.ErrUnexpectedEOF.
func Gunzip(r io.Reader, limit int64) (data []byte, truncated bool, err error) {
	if limit <= 0 {
		limit = DefaultGunzipLimit
	}
	zr, err := gzip.NewReader(r)
	if err != nil {
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF // the gzip header itself was cut
		}
		return nil, false, fmt.Errorf("gunzip: %w", err)
	}
	defer zr.Close()
	var buf bytes.Buffer
	n, err := buf.ReadFrom(io.LimitReader(zr, limit+1))
	data = buf.Bytes()
	if n > limit {
		return data[:limit], true, nil
	}
	if err != nil {
		return data, false, fmt.Errorf("gunzip after %d bytes: %w", n, err)
	}
	return data, false, nil
}

// Body is a payload ready for NewDocument: decompressed when it was gzip, with its kind.
type Body struct {
	Bytes   []byte
	Kind    Kind
	Gzipped bool // Bytes were decompressed from gzip
	Partial bool // Bytes are only the start of the payload
	// Capped is true when the expansion went on past the limit given to Decode: Bytes are
	// its first limit bytes.
	Capped bool
	Err    error // decompression stopped on damaged data; Bytes hold what came out
}

// Decode detects what raw is and decompresses gzip (at most limit bytes). partial says
// raw is only the start of the object; a gzip stream cut by that is not an error. When
// nothing could be decompressed, Bytes are raw shown as Binary, with Err saying why.
func Decode(contentType, contentEncoding string, raw []byte, partial bool, limit int64) Body {
	kind := Detect(contentType, contentEncoding, raw)
	if kind != Gzip {
		return Body{Bytes: raw, Kind: kind, Partial: partial}
	}
	data, truncated, err := Gunzip(bytes.NewReader(raw), limit)
	cut := partial && errors.Is(err, io.ErrUnexpectedEOF)
	if err != nil && len(data) == 0 && !cut {
		return Body{Bytes: raw, Kind: Binary, Partial: partial, Err: err}
	}
	if cut {
		err = nil
	}
	return Body{
		Bytes:   data,
		Kind:    Detect(contentType, "", data),
		Gzipped: true,
		Partial: partial || truncated || err != nil,
		Capped:  truncated,
		Err:     err,
	}
}
