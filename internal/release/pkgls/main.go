// Command pkgls prints the files in a release archive or Linux package, one absolute path
// a line, so that internal/release/verify-dist.sh can check what dist/ ships without
// rpm, dpkg or unzip on the machine. It reads .tar.gz, .zip, .deb (ar with a gzipped
// data.tar), .rpm (gzipped cpio payload) and .apk (gzipped tar segments).
//
// It is a release tool: it must not import any stowage package.
package main

import (
	"archive/tar"
	"archive/zip"
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"strconv"
	"strings"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: pkgls FILE.{tar.gz,zip,deb,rpm,apk}")
		os.Exit(2)
	}
	data, err := os.ReadFile(os.Args[1])
	if err == nil {
		var names []string
		names, err = list(os.Args[1], data)
		for _, n := range names {
			fmt.Println(n)
		}
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "pkgls: %s: %v\n", os.Args[1], err)
		os.Exit(1)
	}
}

// list returns the regular files and symlinks in the archive or package named name.
func list(name string, data []byte) ([]string, error) {
	switch {
	case strings.HasSuffix(name, ".tar.gz"):
		return listTarGz(bytes.NewReader(data))
	case strings.HasSuffix(name, ".zip"):
		return listZip(data)
	case strings.HasSuffix(name, ".deb"):
		return listDeb(data)
	case strings.HasSuffix(name, ".rpm"):
		return listRPM(data)
	case strings.HasSuffix(name, ".apk"):
		return listAPK(data)
	}
	return nil, errors.New("unknown kind: want .tar.gz, .zip, .deb, .rpm or .apk")
}

// clean makes every listed name absolute: "./usr/bin/x" and "usr/bin/x" are "/usr/bin/x".
func clean(name string) string { return path.Clean("/" + strings.TrimPrefix(name, "./")) }

func listTar(r io.Reader, skipDot bool) ([]string, error) {
	var names []string
	tr := tar.NewReader(r)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return names, nil
		}
		if err != nil {
			return names, err
		}
		if skipDot && strings.HasPrefix(h.Name, ".") && !strings.HasPrefix(h.Name, "./") {
			continue // apk metadata: .PKGINFO, .SIGN.*
		}
		if h.Typeflag == tar.TypeReg || h.Typeflag == tar.TypeSymlink {
			names = append(names, clean(h.Name))
		}
	}
}

func listTarGz(r io.Reader) ([]string, error) {
	zr, err := gzip.NewReader(r)
	if err != nil {
		return nil, err
	}
	return listTar(zr, false)
}

func listZip(data []byte) ([]string, error) {
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		return nil, err
	}
	var names []string
	for _, f := range zr.File {
		if !f.FileInfo().IsDir() {
			names = append(names, clean(f.Name))
		}
	}
	return names, nil
}

// listDeb finds data.tar.gz in the deb's ar archive.
func listDeb(data []byte) ([]string, error) {
	const magic = "!<arch>\n"
	if !bytes.HasPrefix(data, []byte(magic)) {
		return nil, errors.New("not an ar archive")
	}
	for off := len(magic); off+60 <= len(data); {
		h := data[off : off+60]
		name := strings.TrimRight(strings.TrimSpace(string(h[:16])), "/")
		size, err := strconv.ParseInt(strings.TrimSpace(string(h[48:58])), 10, 64)
		if err != nil || size < 0 || int64(off+60)+size > int64(len(data)) {
			return nil, fmt.Errorf("bad ar member header at %d", off)
		}
		body := data[off+60 : off+60+int(size)]
		if strings.HasPrefix(name, "data.tar") {
			if name != "data.tar.gz" {
				return nil, fmt.Errorf("%s: only gzip is read (set deb.compression: gzip)", name)
			}
			return listTarGz(bytes.NewReader(body))
		}
		off += 60 + int(size) + int(size)%2
	}
	return nil, errors.New("no data.tar.gz member")
}

// listRPM skips the lead and both headers and reads the gzipped cpio (newc) payload.
func listRPM(data []byte) ([]string, error) {
	if len(data) < 96 || !bytes.HasPrefix(data, []byte{0xed, 0xab, 0xee, 0xdb}) {
		return nil, errors.New("not an rpm")
	}
	off := 96
	for i := 0; i < 2; i++ { // the signature header, then the main header
		if off+16 > len(data) || !bytes.HasPrefix(data[off:], []byte{0x8e, 0xad, 0xe8, 0x01}) {
			return nil, fmt.Errorf("bad rpm header at %d", off)
		}
		n := int64(binary.BigEndian.Uint32(data[off+8:]))
		size := int64(binary.BigEndian.Uint32(data[off+12:]))
		end := int64(off) + 16 + 16*n + size
		if end > int64(len(data)) {
			return nil, fmt.Errorf("rpm header at %d runs past the end", off)
		}
		off = int(end)
		if i == 0 {
			off = (off + 7) &^ 7 // the signature is padded to 8 bytes
		}
	}
	if off > len(data) {
		return nil, errors.New("rpm has no payload")
	}
	zr, err := gzip.NewReader(bytes.NewReader(data[off:]))
	if err != nil {
		return nil, fmt.Errorf("payload: %w (only gzip is read: set rpm.compression: gzip)", err)
	}
	return listCpio(bufio.NewReader(zr))
}

// listCpio reads a newc ("070701") cpio stream up to its TRAILER!!! entry.
func listCpio(r io.Reader) ([]string, error) {
	var names []string
	var read int64
	skip := func(n int64) error {
		m, err := io.CopyN(io.Discard, r, n)
		read += m
		return err
	}
	for {
		h := make([]byte, 110)
		if _, err := io.ReadFull(r, h); err != nil {
			return names, fmt.Errorf("cpio header: %w", err)
		}
		read += 110
		if string(h[:6]) != "070701" {
			return names, errors.New("not a newc cpio payload")
		}
		field := func(i int) (int64, error) { return strconv.ParseInt(string(h[6+8*i:14+8*i]), 16, 64) }
		mode, err1 := field(1)
		size, err2 := field(6)
		nameSize, err3 := field(11)
		if err := errors.Join(err1, err2, err3); err != nil || nameSize < 1 || nameSize > 1<<16 || size < 0 {
			return names, errors.New("bad cpio header")
		}
		nb := make([]byte, nameSize)
		if _, err := io.ReadFull(r, nb); err != nil {
			return names, err
		}
		read += nameSize
		name := string(bytes.TrimRight(nb, "\x00"))
		if name == "TRAILER!!!" {
			return names, nil
		}
		if err := skip((4 - read%4) % 4); err != nil {
			return names, err
		}
		if t := mode & 0o170000; t == 0o100000 || t == 0o120000 {
			names = append(names, clean(name))
		}
		if err := skip(size); err != nil {
			return names, err
		}
		if err := skip((4 - read%4) % 4); err != nil {
			return names, err
		}
	}
}

// listAPK reads each gzip member (signature, control, data) as its own tar segment.
func listAPK(data []byte) ([]string, error) {
	br := bufio.NewReader(bytes.NewReader(data))
	zr, err := gzip.NewReader(br)
	if err != nil {
		return nil, err
	}
	var names []string
	for {
		zr.Multistream(false)
		got, err := listTar(zr, true)
		names = append(names, got...)
		if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) {
			return names, err
		}
		// A segment without the tar end marker ends at its gzip member's end.
		if _, err := io.Copy(io.Discard, zr); err != nil {
			return names, err
		}
		if err := zr.Reset(br); errors.Is(err, io.EOF) {
			return names, nil
		} else if err != nil {
			return names, err
		}
	}
}
