package devstack

import (
	"encoding/binary"
	"errors"
	"fmt"
	"sort"
)

// The table stores each item in this compact binary form rather than as a map of
// attribute values: a map costs about 4 KB per status item, this about 600 bytes, which
// is what lets the demo hold a million requests. A read decodes only the items it
// returns or evaluates.
//
// item  = uvarint(count) { string(name) value }   names in sorted order
// value = kind byte, then S N B: string; BOOL: byte; NULL: nothing;
//         SS NS BS: uvarint(count) { string }; L: uvarint(count) { value }; M: item
// string = uvarint(len) bytes

var kindCodes = []string{"S", "N", "B", "BOOL", "NULL", "SS", "NS", "BS", "L", "M"}

func kindCode(kind string) byte {
	for i, k := range kindCodes {
		if k == kind {
			return byte(i)
		}
	}
	panic("devstack: unknown attribute kind " + kind)
}

func encodeItem(it item) []byte {
	b := appendItem(make([]byte, 0, 1024), it)
	return append(make([]byte, 0, len(b)), b...) // exact size: a million of these stay
}

func appendItem(b []byte, it item) []byte {
	names := make([]string, 0, len(it))
	for k := range it {
		names = append(names, k)
	}
	sort.Strings(names)
	b = binary.AppendUvarint(b, uint64(len(names)))
	for _, k := range names {
		b = appendString(b, k)
		b = appendValue(b, it[k])
	}
	return b
}

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

func appendValue(b []byte, v attrValue) []byte {
	b = append(b, kindCode(v.kind))
	switch v.kind {
	case "S", "N", "B":
		b = appendString(b, v.str)
	case "BOOL":
		if v.bool {
			b = append(b, 1)
		} else {
			b = append(b, 0)
		}
	case "SS", "NS", "BS":
		b = binary.AppendUvarint(b, uint64(len(v.set)))
		for _, s := range v.set {
			b = appendString(b, s)
		}
	case "L":
		b = binary.AppendUvarint(b, uint64(len(v.list)))
		for _, e := range v.list {
			b = appendValue(b, e)
		}
	case "M":
		b = appendItem(b, v.m)
	}
	return b
}

var errCorrupt = errors.New("devstack: corrupt stored item")

// itemDecoder reads what appendItem wrote. The bytes are the table's own, so a failure
// is a bug; it still returns an error rather than reading out of bounds.
type itemDecoder struct {
	b   []byte
	err error
}

func decodeItem(b []byte) (item, error) {
	d := &itemDecoder{b: b}
	it := d.item()
	if d.err == nil && len(d.b) != 0 {
		d.err = errCorrupt
	}
	return it, d.err
}

func (d *itemDecoder) uvarint() int {
	n, w := binary.Uvarint(d.b)
	// Every counted element and every string byte takes at least one byte.
	if w <= 0 || n > uint64(len(d.b)-w) {
		d.err, d.b = errCorrupt, nil
		return 0
	}
	d.b = d.b[w:]
	return int(n)
}

func (d *itemDecoder) string() string {
	n := d.uvarint()
	if n > len(d.b) {
		d.err, d.b = errCorrupt, nil
		return ""
	}
	s := string(d.b[:n])
	d.b = d.b[n:]
	return s
}

func (d *itemDecoder) item() item {
	n := d.uvarint()
	it := make(item, n)
	for range n {
		if d.err != nil {
			return it
		}
		k := d.string()
		it[k] = d.value()
	}
	return it
}

func (d *itemDecoder) value() attrValue {
	if len(d.b) == 0 || int(d.b[0]) >= len(kindCodes) {
		d.err, d.b = errCorrupt, nil
		return attrValue{}
	}
	v := attrValue{kind: kindCodes[d.b[0]]}
	d.b = d.b[1:]
	switch v.kind {
	case "S", "N", "B":
		v.str = d.string()
	case "BOOL":
		if len(d.b) == 0 {
			d.err = errCorrupt
			return v
		}
		v.bool, d.b = d.b[0] == 1, d.b[1:]
	case "SS", "NS", "BS":
		n := d.uvarint()
		v.set = make([]string, 0, n)
		for range n {
			if d.err != nil {
				break
			}
			v.set = append(v.set, d.string())
		}
	case "L":
		n := d.uvarint()
		v.list = make([]attrValue, 0, n)
		for range n {
			if d.err != nil {
				break
			}
			v.list = append(v.list, d.value())
		}
	case "M":
		v.m = d.item()
	}
	return v
}

// item decodes the stored item. The bytes were encoded by the table itself, so a
// failure is a bug in the codec, not bad input.
func (e *entry) item() item {
	it, err := decodeItem(e.enc)
	if err != nil {
		panic(fmt.Sprintf("devstack: stored item %q does not decode: %v", e.key, err))
	}
	return it
}
