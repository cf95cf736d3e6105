package devstack

import (
	"encoding/base64"
	"fmt"
	"sort"
	"strconv"
	"unsafe"

	"github.com/stowage-cli/stowage/internal/jsonstr"
)

// The answers of the reads `stowage ls` and `stowage lost` make by the hundred thousand
// (BatchGetItem, Query, Scan) are written straight from the stored form of each item to
// JSON: no item map is decoded, and encoding/json does not walk one by reflection. The
// bytes are what encoding/json writes for the same answer (its string escaping, through
// internal/jsonstr, and map keys in sorted order): FuzzEntryJSON and
// TestReadAnswersAreWhatJSONWrites compare the two.

// rawAnswer is an answer already encoded; ServeHTTP writes it as it is.
type rawAnswer []byte

func (r rawAnswer) MarshalJSON() ([]byte, error) { return r, nil }

// appendJSONQuoted appends s as encoding/json writes a string (HTML characters escaped).
func appendJSONQuoted(b []byte, s string) []byte {
	return jsonstr.Append(b, s, jsonstr.Options{HTMLEscape: true})
}

// appendValueJSON appends v in the JSON protocol's {"S":"..."} form.
func appendValueJSON(b []byte, v attrValue) []byte {
	b = append(b, `{"`...)
	b = append(b, v.kind...)
	b = append(b, `":`...)
	switch v.kind {
	case "S", "N":
		b = appendJSONQuoted(b, v.str)
	case "B":
		b = appendBase64(b, v.str)
	case "BOOL":
		b = strconv.AppendBool(b, v.bool)
	case "NULL":
		b = append(b, "true"...)
	case "SS", "NS", "BS":
		b = append(b, '[')
		for i, s := range v.set {
			if i > 0 {
				b = append(b, ',')
			}
			if v.kind == "BS" {
				b = appendBase64(b, s)
			} else {
				b = appendJSONQuoted(b, s)
			}
		}
		b = append(b, ']')
	case "L":
		b = append(b, '[')
		for i, e := range v.list {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendValueJSON(b, e)
		}
		b = append(b, ']')
	case "M":
		b = appendItemJSON(b, v.m)
	}
	return append(b, '}')
}

func appendBase64(b []byte, raw string) []byte {
	b = append(b, '"')
	b = base64.StdEncoding.AppendEncode(b, []byte(raw))
	return append(b, '"')
}

// appendItemJSON appends it as a JSON object, its names in sorted order.
func appendItemJSON(b []byte, it map[string]attrValue) []byte {
	names := sortedNames(it)
	b = append(b, '{')
	for i, k := range names {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendJSONQuoted(b, k)
		b = append(b, ':')
		b = appendValueJSON(b, it[k])
	}
	return append(b, '}')
}

// entryJSON writes stored entries as JSON, straight from their encoded form.
type entryJSON struct {
	strs []string        // the table's dictionary, copied under its lock
	json [][]byte        // its JSON forms, copied with it
	proj map[string]bool // the projection's attributes; nil for all
}

func newEntryJSON(dict *dictionary, proj []string) *entryJSON {
	w := &entryJSON{strs: dict.strs, json: dict.json}
	if proj != nil {
		w.proj = make(map[string]bool, len(proj))
		for _, n := range proj {
			w.proj[n] = true
		}
	}
	return w
}

// appendEntry appends e's item, projected, as json.Marshal(project(e.decode(strs), proj))
// would. The bytes are the table's own: one that does not decode is a bug, as in decode.
func (w *entryJSON) appendEntry(b []byte, e *entry) []byte {
	d := &itemDecoder{b: e.enc}
	n := d.uvarint()
	b = append(b, '{')
	first := true
	for range n {
		if d.err != nil {
			break
		}
		var head []byte // the name, quoted, with its colon: the dictionary's when it has it
		if len(d.b) > 0 && d.b[0]&1 == 1 {
			if ref := d.uvarint64(); ref>>1 < uint64(len(w.json)) && d.err == nil {
				head = w.json[ref>>1]
				if w.proj != nil && !w.proj[w.strs[ref>>1]] {
					head = nil
				}
			} else {
				d.err = errCorrupt
				break
			}
		} else {
			name := d.sharedName(w.strs)
			if d.err != nil {
				break
			}
			if w.proj == nil || w.proj[name] {
				head = append(appendJSONQuoted(nil, name), ':')
			}
		}
		keep := head != nil
		if keep {
			if !first {
				b = append(b, ',')
			}
			first = false
			b = append(b, head...)
		}
		switch {
		case len(d.b) > 0 && d.b[0] == keyValueRef:
			d.b = d.b[1:]
			if keep {
				b = append(b, `{"S":`...)
				b = appendJSONQuoted(b, e.key)
				b = append(b, '}')
			}
		case len(d.b) > 0 && d.b[0] == dictValueRef:
			d.b = d.b[1:]
			id := d.uvarint64()
			if id >= uint64(len(w.json)) {
				d.err = errCorrupt
				break
			}
			if keep {
				b = append(b, w.json[id]...)
			}
		case keep:
			b = d.appendValueJSON(b)
		default:
			d.skipValue()
		}
	}
	if d.err == nil && len(d.b) != 0 {
		d.err = errCorrupt
	}
	if d.err != nil {
		panic(fmt.Sprintf("devstack: stored item %q does not decode: %v", e.key, d.err))
	}
	return append(b, '}')
}

// appendValueJSON appends the value appendValue wrote, as appendValueJSON would.
func (d *itemDecoder) appendValueJSON(b []byte) []byte {
	if len(d.b) == 0 || int(d.b[0]) >= len(kindCodes) {
		d.err, d.b = errCorrupt, nil
		return b
	}
	kind := kindCodes[d.b[0]]
	d.b = d.b[1:]
	b = append(b, `{"`...)
	b = append(b, kind...)
	b = append(b, `":`...)
	switch kind {
	case "S", "N":
		b = appendJSONQuoted(b, d.view())
	case "B":
		b = appendBase64(b, d.view())
	case "BOOL":
		if len(d.b) == 0 {
			d.err = errCorrupt
			return b
		}
		b = strconv.AppendBool(b, d.b[0] == 1)
		d.b = d.b[1:]
	case "NULL":
		b = append(b, "true"...)
	case "SS", "NS", "BS":
		n := d.uvarint()
		b = append(b, '[')
		for i := 0; i < n && d.err == nil; i++ {
			if i > 0 {
				b = append(b, ',')
			}
			if kind == "BS" {
				b = appendBase64(b, d.view())
			} else {
				b = appendJSONQuoted(b, d.view())
			}
		}
		b = append(b, ']')
	case "L":
		n := d.uvarint()
		b = append(b, '[')
		for i := 0; i < n && d.err == nil; i++ {
			if i > 0 {
				b = append(b, ',')
			}
			b = d.appendValueJSON(b)
		}
		b = append(b, ']')
	case "M":
		n := d.uvarint()
		b = append(b, '{')
		for i := 0; i < n && d.err == nil; i++ {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendJSONQuoted(b, d.view())
			b = append(b, ':')
			b = d.appendValueJSON(b)
		}
		b = append(b, '}')
	}
	return append(b, '}')
}

// view reads a string as string does, without copying it: the string shares the
// decoder's bytes, so it is only for what is written out at once (the answers), never
// kept. The bytes are a stored item's, which are never changed once written.
func (d *itemDecoder) view() string {
	n := d.uvarint()
	if n > len(d.b) {
		d.err, d.b = errCorrupt, nil
		return ""
	}
	if n == 0 {
		return ""
	}
	s := unsafe.String(&d.b[0], n)
	d.b = d.b[n:]
	return s
}

// skipValue passes over the value appendValue wrote.
func (d *itemDecoder) skipValue() {
	if len(d.b) == 0 || int(d.b[0]) >= len(kindCodes) {
		d.err, d.b = errCorrupt, nil
		return
	}
	kind := kindCodes[d.b[0]]
	d.b = d.b[1:]
	skip := func() {
		n := d.uvarint()
		if n > len(d.b) {
			d.err, d.b = errCorrupt, nil
			return
		}
		d.b = d.b[n:]
	}
	switch kind {
	case "S", "N", "B":
		skip()
	case "BOOL":
		if len(d.b) == 0 {
			d.err = errCorrupt
			return
		}
		d.b = d.b[1:]
	case "SS", "NS", "BS":
		n := d.uvarint()
		for i := 0; i < n && d.err == nil; i++ {
			skip()
		}
	case "L":
		n := d.uvarint()
		for i := 0; i < n && d.err == nil; i++ {
			d.skipValue()
		}
	case "M":
		n := d.uvarint()
		for i := 0; i < n && d.err == nil; i++ {
			skip()
			d.skipValue()
		}
	}
}

func sortedNames(it map[string]attrValue) []string {
	names := make([]string, 0, len(it))
	for k := range it {
		names = append(names, k)
	}
	sort.Strings(names)
	return names
}
