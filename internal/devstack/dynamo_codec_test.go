package devstack

import (
	"encoding/json"
	"testing"
)

// FuzzItemCodec: any item a client can put survives the table's compact forms (plain,
// and with a table's dictionary) unchanged, and no byte string makes a decoder read out
// of bounds.
func FuzzItemCodec(f *testing.F) {
	for _, s := range []string{
		`{"requestId":{"S":"a"},"status":{"S":"FAILED"},"attempts":{"N":"2"}}`,
		`{"k":{"M":{"x":{"L":[{"NULL":true},{"BOOL":false},{"B":"AAE="}]},"y":{"SS":["a","b"]}}}}`,
		`{"n":{"NS":["1","2.5"]},"b":{"BS":["AA==","AQ=="]},"e":{"S":""},"l":{"L":[]},"m":{"M":{}}}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		decodeItem(data) // must not panic
		var it item
		if json.Unmarshal(data, &it) != nil || it == nil {
			return
		}
		back, err := decodeItem(encodeItem(it))
		if err != nil {
			t.Fatalf("decode of an encoded item: %v", err)
		}
		want, _ := json.Marshal(it)
		got, _ := json.Marshal(back)
		if string(got) != string(want) {
			t.Fatalf("round trip changed the item:\n got %s\nwant %s", got, want)
		}
		if back.size() != it.size() {
			t.Fatalf("size %d, want %d", back.size(), it.size())
		}
		// Through a table's dictionary, twice: first adding names and values, then
		// referring to them.
		d := newDictionary()
		key := ""
		for _, v := range it {
			if v.kind == "S" {
				key = v.str // some string of the item stands for the key
			}
		}
		for range 2 {
			shared, err := decodeShared(d.strs, key, d.encode(it, key))
			if err != nil {
				t.Fatalf("decode of a dictionary-encoded item: %v", err)
			}
			if got, _ := json.Marshal(shared); string(got) != string(want) {
				t.Fatalf("dictionary round trip changed the item:\n got %s\nwant %s", got, want)
			}
		}
		decodeShared(d.strs, key, data) // must not panic
	})
}
