package payload

import (
	"math"
	"reflect"
	"testing"
)

func TestHexDump(t *testing.T) {
	in := []byte("\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03hello, world\x1b[2J\xff")
	want := []string{
		"00000000  1f 8b 08 00 00 00 00 00  00 03 68 65 6c 6c 6f 2c  |..........hello,|",
		"00000010  20 77 6f 72 6c 64 1b 5b  32 4a ff                 | world.[2J.|",
	}
	if got := HexDump(in, 0); !reflect.DeepEqual(got, want) {
		t.Errorf("HexDump =\n%q\nwant\n%q", got, want)
	}
	if got := HexDump([]byte("A"), 0x1_0000_0000); got[0] != "100000000  41                                                |A|" {
		t.Errorf("HexDump at a large offset = %q", got[0])
	}
	if got := HexDump(nil, 0); len(got) != 0 {
		t.Errorf("HexDump(nil) = %q", got)
	}
}

func TestHuman(t *testing.T) {
	tests := []struct {
		n    int64
		want string
	}{
		{0, "0 B"},
		{512, "512 B"},
		{1023, "1023 B"},
		{1024, "1.0 KiB"},
		{1 << 20, "1.0 MiB"},
		{48*(1<<20) + 300*(1<<10), "48.3 MiB"},
		{1<<20 - 1, "1.0 MiB"},
		{5 << 30, "5.0 GiB"},
		{-2048, "-2.0 KiB"},
		{math.MinInt64, "-8.0 EiB"},
		{math.MaxInt64, "8.0 EiB"},
	}
	for _, tt := range tests {
		if got := Human(tt.n); got != tt.want {
			t.Errorf("Human(%d) = %q, want %q", tt.n, got, tt.want)
		}
	}
}
