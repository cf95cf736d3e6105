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

// decode returns the item stored in e. The bytes were encoded by the table itself, so a
// failure is a bug in the codec, not bad input. The caller holds the table's lock, or
// passes strs copied under it.
func (e *entry) decode(strs []string) item {
	it, err := decodeShared(strs, e.key, e.enc)
	if err != nil {
		panic(fmt.Sprintf("devstack: stored item %q does not decode: %v", e.key, err))
	}
	return it
}

// dictionary shares what repeats between the items of one table: attribute names, and
// the values of attributes that have taken few distinct values so far (status, bucket,
// contentType, the processor map). An attribute that shows more than dictMaxValues
// distinct values stops being shared: IDs, times and ETags stay inline. Entries are
// only ever appended, so a copy of strs taken under the table's lock decodes every item
// that existed then, without the lock.
type dictionary struct {
	strs []string // id -> attribute name, or an encoded value
	// json is each of strs as the answers write it (dynamo_json.go): a name quoted, with
	// its colon; a value as JSON. Appended with strs, read the same way.
	json  [][]byte
	names map[string]uint32
	attrs map[string]*attrValues
	// buf and scratch are encode's working buffers, used again by the next encode (under
	// the table's lock): a million seeded items made a buffer each.
	buf, scratch []byte
}

type attrValues struct {
	ids    map[string]uint32 // encoded value -> id
	closed bool
}

const (
	dictMaxNames  = 4096
	dictMaxValues = 256
	dictMaxValue  = 64 // bytes of an encoded value worth sharing
	dictValueRef  = 0xfe
	// keyValueRef stands for a string value equal to the item's key (the status item
	// names its request ID twice, as requestId and objectKey: 74 bytes an item).
	keyValueRef = 0xfd
)

func newDictionary() *dictionary {
	return &dictionary{names: map[string]uint32{}, attrs: map[string]*attrValues{}}
}

func (d *dictionary) add(s string, json []byte) uint32 {
	d.strs = append(d.strs, s)
	d.json = append(d.json, json)
	return uint32(len(d.strs) - 1)
}

// encode is appendItem with names and low-cardinality values as dictionary references.
// The caller holds the table's write lock.
//
// item  = uvarint(count) { name value }
// name  = uvarint(id<<1 | 1) | uvarint(len<<1) bytes
// value = 0xfe uvarint(id) | 0xfd (the string key) | value as in appendValue
func (d *dictionary) encode(it item, key string) []byte {
	names := make([]string, 0, len(it))
	for k := range it {
		names = append(names, k)
	}
	sort.Strings(names)
	b := binary.AppendUvarint(d.buf[:0], uint64(len(names)))
	scratch := d.scratch
	for _, k := range names {
		id, ok := d.names[k]
		if !ok && len(d.names) < dictMaxNames && len(k) <= dictMaxValue {
			id, ok = d.add(k, append(appendJSONQuoted(nil, k), ':')), true
			d.names[k] = id
		}
		if ok {
			b = binary.AppendUvarint(b, uint64(id)<<1|1)
		} else {
			b = binary.AppendUvarint(b, uint64(len(k))<<1)
			b = append(b, k...)
		}
		if v := it[k]; key != "" && v.kind == "S" && v.str == key {
			b = append(b, keyValueRef)
			continue
		}
		scratch = appendValue(scratch[:0], it[k])
		if id, ok := d.value(k, scratch); ok {
			b = append(b, dictValueRef)
			b = binary.AppendUvarint(b, uint64(id))
		} else {
			b = append(b, scratch...)
		}
	}
	d.buf, d.scratch = b, scratch
	return append(make([]byte, 0, len(b)), b...) // exact size: a million of these stay
}

func (d *dictionary) value(attr string, enc []byte) (uint32, bool) {
	if len(enc) > dictMaxValue {
		return 0, false
	}
	a := d.attrs[attr]
	if a == nil {
		a = &attrValues{ids: map[string]uint32{}}
		d.attrs[attr] = a
	}
	if a.closed {
		return 0, false
	}
	if id, ok := a.ids[string(enc)]; ok {
		return id, true
	}
	if len(a.ids) >= dictMaxValues {
		a.closed = true
		return 0, false
	}
	sub := &itemDecoder{b: enc}
	js := sub.appendValueJSON(nil)
	if sub.err != nil || len(sub.b) != 0 {
		panic("devstack: a value the dictionary encoded does not decode")
	}
	id := d.add(string(enc), js)
	a.ids[string(enc)] = id
	return id, true
}

// decodeShared reads what dictionary.encode wrote for key, with strs from that dictionary.
func decodeShared(strs []string, key string, b []byte) (item, error) {
	d := &itemDecoder{b: b}
	n := d.uvarint()
	it := make(item, n)
	for range n {
		if d.err != nil {
			break
		}
		name := d.sharedName(strs)
		if d.err != nil {
			break
		}
		if len(d.b) > 0 && d.b[0] == keyValueRef {
			d.b = d.b[1:]
			it[name] = stringValue(key)
			continue
		}
		if len(d.b) > 0 && d.b[0] == dictValueRef {
			d.b = d.b[1:]
			id := d.uvarint64()
			if id >= uint64(len(strs)) {
				d.err = errCorrupt
				break
			}
			sub := &itemDecoder{b: []byte(strs[id])}
			it[name] = sub.value()
			if sub.err != nil {
				d.err = sub.err
			}
			continue
		}
		it[name] = d.value()
	}
	if d.err == nil && len(d.b) != 0 {
		d.err = errCorrupt
	}
	return it, d.err
}

// sharedName reads an attribute name dictionary.encode wrote: a reference into strs or
// the name itself.
func (d *itemDecoder) sharedName(strs []string) string {
	ref := d.uvarint64()
	if ref&1 == 1 {
		if ref>>1 >= uint64(len(strs)) {
			d.err, d.b = errCorrupt, nil
			return ""
		}
		return strs[ref>>1]
	}
	l := ref >> 1
	if l > uint64(len(d.b)) {
		d.err, d.b = errCorrupt, nil
		return ""
	}
	name := string(d.b[:l])
	d.b = d.b[l:]
	return name
}

func (d *itemDecoder) uvarint64() uint64 {
	n, w := binary.Uvarint(d.b)
	if w <= 0 {
		d.err, d.b = errCorrupt, nil
		return 0
	}
	d.b = d.b[w:]
	return n
}
