package main

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"fmt"
	"slices"
	"testing"
)

// tarGz builds a gzipped tar of files (and, when end is false, no end-of-archive
// marker, as apk segments are written).
func tarGz(t testing.TB, end bool, files ...string) []byte {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	for _, f := range files {
		if err := tw.WriteHeader(&tar.Header{Name: f, Mode: 0o644, Size: 1, Typeflag: tar.TypeReg}); err != nil {
			t.Fatal(err)
		}
		tw.Write([]byte("x"))
	}
	if end {
		tw.Close()
	} else {
		tw.Flush()
	}
	zw.Close()
	return buf.Bytes()
}

func TestListAPKReadsEverySegment(t *testing.T) {
	apk := append(tarGz(t, false, ".PKGINFO"), tarGz(t, true, "usr/bin/stowage", "usr/share/man/man1/stowage.1.gz")...)
	got, err := list("x.apk", apk)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"/usr/bin/stowage", "/usr/share/man/man1/stowage.1.gz"}; !slices.Equal(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
}

func TestListDebFindsTheDataMember(t *testing.T) {
	data := tarGz(t, true, "./usr/bin/stowage")
	var deb bytes.Buffer
	deb.WriteString("!<arch>\n")
	member := func(name string, body []byte) {
		fmt.Fprintf(&deb, "%-16s%-12d%-6d%-6d%-8s%-10d`\n", name, 0, 0, 0, "100644", len(body))
		deb.Write(body)
		if len(body)%2 == 1 {
			deb.WriteByte('\n')
		}
	}
	member("debian-binary", []byte("2.0\n"))
	member("control.tar.gz", tarGz(t, true, "./control"))
	member("data.tar.gz", data)
	got, err := list("x.deb", deb.Bytes())
	if err != nil || !slices.Equal(got, []string{"/usr/bin/stowage"}) {
		t.Errorf("got %v, %v", got, err)
	}
}

func TestListCpio(t *testing.T) {
	var c bytes.Buffer
	entry := func(name string, mode int, body string) {
		fmt.Fprintf(&c, "070701%08x%08x%08x%08x%08x%08x%08x%08x%08x%08x%08x%08x%08x", 1, mode, 0, 0, 1, 0, len(body), 0, 0, 0, 0, len(name)+1, 0)
		c.WriteString(name + "\x00")
		for c.Len()%4 != 0 {
			c.WriteByte(0)
		}
		c.WriteString(body)
		for c.Len()%4 != 0 {
			c.WriteByte(0)
		}
	}
	entry("./usr/bin", 0o40755, "")
	entry("./usr/bin/stowage", 0o100755, "binary")
	entry("TRAILER!!!", 0, "")
	got, err := listCpio(&c)
	if err != nil || !slices.Equal(got, []string{"/usr/bin/stowage"}) {
		t.Errorf("got %v, %v", got, err)
	}
}

func FuzzList(f *testing.F) {
	f.Add("x.apk", tarGz(f, true, "usr/bin/stowage"))
	f.Add("x.deb", []byte("!<arch>\ndata.tar.gz     0           0     0     100644  4         `\nabcd"))
	f.Add("x.rpm", append([]byte{0xed, 0xab, 0xee, 0xdb}, make([]byte, 200)...))
	f.Add("x.zip", []byte("PK\x05\x06"))
	f.Fuzz(func(t *testing.T, name string, data []byte) {
		_, _ = list(name, data) // must not panic or hang on any input
	})
}
