package bundle

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"testing/fstest"

	"github.com/runj-go/runj-go/bundle/imagespec"
	"github.com/runj-go/runj-go/bundle/imagetest"
)

const hex64 = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

func TestBlobPath(t *testing.T) {
	tests := []struct {
		digest, want, err string
	}{
		{digest: "sha256:" + hex64, want: "blobs/sha256/" + hex64},
		{digest: "sha512:" + hex64 + hex64, want: "blobs/sha512/" + hex64 + hex64},
		{digest: hex64, err: "is not ALGORITHM:HEX"},
		{digest: "md5:" + hex64[:32], err: `algorithm "md5" is not sha256 or sha512`},
		{digest: "sha256:" + strings.ToUpper(hex64), err: "sha256 wants 64 lowercase hex digits"},
		{digest: "sha256:" + hex64[:63], err: "sha256 wants 64 lowercase hex digits"},
		{digest: "sha256:" + hex64 + "0", err: "sha256 wants 64 lowercase hex digits"},
		{digest: "sha256:../../../../etc/passwd", err: "sha256 wants 64 lowercase hex digits"},
		{digest: "sha256:" + hex64[:61] + "/..", err: "sha256 wants 64 lowercase hex digits"},
		{digest: "../sha256:" + hex64, err: `algorithm "../sha256" is not sha256 or sha512`},
		{digest: "sha256:" + hex64 + "\x00", err: "sha256 wants 64 lowercase hex digits"},
		{digest: "", err: "is not ALGORITHM:HEX"},
	}
	for _, tt := range tests {
		got, err := blobPath(tt.digest)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("blobPath(%q) = %q, %v; want error %q", tt.digest, got, err, tt.err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("blobPath(%q) = %q, %v; want %q", tt.digest, got, err, tt.want)
		}
	}
}

// oneByteReader hands out content one byte per Read, so that a verifier
// sees the end of the content separately from the last bytes.
type oneByteReader struct{ r io.Reader }

func (o oneByteReader) Read(p []byte) (int, error) { return o.r.Read(p[:min(1, len(p))]) }

func TestVerifier(t *testing.T) {
	content := []byte("the content of a blob")
	digest := imagetest.Digest(content)
	tests := []struct {
		name    string
		content []byte
		size    int64
		is      error
		want    string
	}{
		{name: "matching content reads to EOF", content: content, size: int64(len(content))},
		{name: "empty content of size 0 verifies", content: nil, size: 0},
		{name: "longer content stops at the size", content: append(content, 'x'), size: int64(len(content)), is: ErrSizeMismatch, want: "is longer than its descriptor's size 21"},
		{name: "shorter content is reported at its end", content: content[:20], size: int64(len(content)), is: ErrSizeMismatch, want: "is 20 bytes, its descriptor says 21"},
		{name: "changed content is reported at its end", content: bytes.ToUpper(content), size: int64(len(content)), is: ErrDigestMismatch, want: "its content has digest sha256:"},
	}
	for _, tt := range tests {
		for _, oneByte := range []bool{false, true} {
			t.Run(tt.name, func(t *testing.T) {
				d := digest
				if tt.content == nil {
					d = imagetest.Digest(nil)
				}
				var r io.Reader = bytes.NewReader(tt.content)
				if oneByte {
					r = oneByteReader{r}
				}
				v := newVerifier(io.NopCloser(r), d, tt.size)
				got, err := io.ReadAll(v)
				if int64(len(got)) > tt.size {
					t.Errorf("read %d bytes, more than the size %d", len(got), tt.size)
				}
				if tt.is == nil {
					if err != nil || !bytes.Equal(got, tt.content) {
						t.Fatalf("ReadAll = %q, %v", got, err)
					}
					if err := v.verified(); err != nil {
						t.Errorf("verified: %v", err)
					}
					return
				}
				if !errors.Is(err, tt.is) || !strings.Contains(err.Error(), tt.want) {
					t.Fatalf("ReadAll error %v, want %v with %q", err, tt.is, tt.want)
				}
				if err2 := v.verified(); err2 != err {
					t.Errorf("verified = %v, want the same error", err2)
				}
			})
		}
	}
}

func TestVerifier_verified_reads_what_is_left(t *testing.T) {
	content := []byte("0123456789")
	v := newVerifier(io.NopCloser(bytes.NewReader(content)), imagetest.Digest(content), 10)
	if _, err := v.Read(make([]byte, 3)); err != nil {
		t.Fatal(err)
	}
	if err := v.verified(); err != nil {
		t.Errorf("verified after a partial read: %v", err)
	}
	bad := newVerifier(io.NopCloser(bytes.NewReader([]byte("012345678X"))), imagetest.Digest(content), 10)
	bad.Read(make([]byte, 3))
	if err := bad.verified(); !errors.Is(err, ErrDigestMismatch) {
		t.Errorf("verified of changed content after a partial read: %v", err)
	}
}

func TestOpenBlob_refuses_what_is_not_a_regular_file(t *testing.T) {
	dir := t.TempDir()
	l := imagetest.New(t, dir)
	blob := l.Blob("application/octet-stream", []byte("data"))

	fifo := imagespec.Descriptor{Digest: "sha256:" + hex64, Size: 0}
	if err := syscall.Mkfifo(l.BlobPath(fifo.Digest), 0o644); err != nil {
		t.Fatal(err)
	}
	subdir := imagespec.Descriptor{Digest: "sha256:" + strings.Repeat("1", 64), Size: 0}
	os.Mkdir(l.BlobPath(subdir.Digest), 0o755)
	linked := imagespec.Descriptor{Digest: "sha256:" + strings.Repeat("2", 64), Size: 4}
	os.Symlink(l.BlobPath(blob.Digest), l.BlobPath(linked.Digest))

	fsys := os.DirFS(dir)
	for _, d := range []imagespec.Descriptor{fifo, subdir} {
		if _, err := openBlob(fsys, d); err == nil || !strings.HasSuffix(err.Error(), "is not a regular file") {
			t.Errorf("openBlob(%s): %v, want is not a regular file", d.Digest, err)
		}
	}
	// A link to a regular file is opened; its content must still match.
	v, err := openBlob(fsys, linked)
	if err != nil {
		t.Fatalf("openBlob of a link: %v", err)
	}
	defer v.Close()
	if err := v.verified(); !errors.Is(err, ErrDigestMismatch) {
		t.Errorf("verified: %v, want a digest mismatch", err)
	}
	v2, err := openBlob(fsys, blob)
	if err != nil {
		t.Fatal(err)
	}
	defer v2.Close()
	if err := v2.verified(); err != nil {
		t.Errorf("verified: %v", err)
	}
}

func TestOpenBlob_checks_the_size_before_reading(t *testing.T) {
	fsys := fstest.MapFS{filepath.Join("blobs", "sha256", hex64): {Data: []byte("four")}}
	for _, size := range []int64{3, 5, -1} {
		_, err := openBlob(fsys, imagespec.Descriptor{Digest: "sha256:" + hex64, Size: size})
		if size < 0 {
			if err == nil || !strings.Contains(err.Error(), "negative size -1") {
				t.Errorf("size -1: %v", err)
			}
			continue
		}
		if !errors.Is(err, ErrSizeMismatch) {
			t.Errorf("size %d: %v, want ErrSizeMismatch", size, err)
		}
	}
}
