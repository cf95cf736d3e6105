package payload

import (
	"bytes"
	"compress/gzip"
	"errors"
	"io"
	"testing"
)

func gzipped(t testing.TB, data []byte) []byte {
	t.Helper()
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	if _, err := zw.Write(data); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func TestGunzip(t *testing.T) {
	plain := []byte(`{"sku":"A-1"}`)
	got, truncated, err := Gunzip(bytes.NewReader(gzipped(t, plain)), 1<<20)
	if err != nil || truncated || !bytes.Equal(got, plain) {
		t.Fatalf("Gunzip = %q, %v, %v; want %q", got, truncated, err, plain)
	}
}

func TestGunzipBombIsBounded(t *testing.T) {
	bomb := gzipped(t, make([]byte, 64<<20)) // 64 MiB of zeros, about 64 KiB compressed
	got, truncated, err := Gunzip(bytes.NewReader(bomb), 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	if !truncated || len(got) != 1<<20 {
		t.Errorf("Gunzip of a bomb gave %d bytes, truncated %v; want exactly the 1 MiB limit, truncated", len(got), truncated)
	}
}

func TestGunzipCutStream(t *testing.T) {
	plain := bytes.Repeat([]byte("line of text that compresses\n"), 5000)
	z := gzipped(t, plain)
	got, _, err := Gunzip(bytes.NewReader(z[:len(z)/2]), 1<<20)
	if !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("error = %v, want io.ErrUnexpectedEOF", err)
	}
	if len(got) == 0 || !bytes.HasPrefix(plain, got) {
		t.Errorf("Gunzip of a cut stream returned %d bytes that are not a prefix of the input", len(got))
	}
	if _, _, err := Gunzip(bytes.NewReader(z[:5]), 1<<20); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("cut header: error = %v, want io.ErrUnexpectedEOF", err)
	}
}

func TestGunzipCorrupt(t *testing.T) {
	if _, _, err := Gunzip(bytes.NewReader([]byte("\x1f\x8bnot really gzip")), 1<<20); err == nil {
		t.Error("Gunzip of garbage returned no error")
	}
}

func TestDecode(t *testing.T) {
	json := []byte(`{"a":[1,2,3]}`)
	z := gzipped(t, bytes.Repeat(json, 1000))

	body := Decode("application/json", "gzip", z, false, 1<<20)
	if body.Err != nil || !body.Gzipped || body.Kind != JSON || body.Partial || body.Capped || len(body.Bytes) != 1000*len(json) {
		t.Errorf("whole gzip: %+v", body.summary())
	}

	body = Decode("application/json", "gzip", z[:len(z)/2], true, 1<<20)
	if body.Err != nil || !body.Gzipped || body.Kind != JSON || !body.Partial {
		t.Errorf("first part of a gzip object: %+v", body.summary())
	}

	body = Decode("application/json", "gzip", z[:len(z)/2], false, 1<<20)
	if body.Err == nil || !body.Partial {
		t.Errorf("gzip object cut although it was fetched whole: %+v", body.summary())
	}

	body = Decode("application/json", "gzip", z, false, 100)
	if body.Err != nil || !body.Partial || !body.Capped || len(body.Bytes) != 100 {
		t.Errorf("gzip over the limit: %+v", body.summary())
	}

	body = Decode("", "", []byte("\x1f\x8b\x08garbage"), false, 1<<20)
	if body.Err == nil || body.Kind != Binary || body.Gzipped {
		t.Errorf("corrupt gzip: %+v", body.summary())
	}

	body = Decode("text/plain", "", []byte("hi"), true, 1<<20)
	if body.Kind != Text || !body.Partial || body.Gzipped || string(body.Bytes) != "hi" {
		t.Errorf("plain: %+v", body.summary())
	}
}

func (b Body) summary() map[string]any {
	return map[string]any{"len": len(b.Bytes), "kind": b.Kind.String(), "gzipped": b.Gzipped, "partial": b.Partial, "capped": b.Capped, "err": b.Err}
}
