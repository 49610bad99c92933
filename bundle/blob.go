package bundle

import (
	"crypto/sha256"
	"crypto/sha512"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"path"
	"strings"

	"github.com/runj-go/runj-go/bundle/imagespec"
)

// Errors of blob verification, for errors.Is.
var (
	ErrDigestMismatch = errors.New("content does not match its digest")
	ErrSizeMismatch   = errors.New("content does not match its size")
)

// digestAlgorithms are the registered algorithms of descriptor.md, with
// the length of their lowercase hex encoding. Only these name a blob: a
// digest that passes this check is safe to use as a path.
var digestAlgorithms = map[string]struct {
	hexLen int
	hash   func() hash.Hash
}{
	"sha256": {64, sha256.New},
	"sha512": {128, sha512.New},
}

// parseDigest splits "alg:hex" and checks it against the registered
// algorithms: lowercase hex of the algorithm's length, nothing else.
func parseDigest(d string) (alg, encoded string, err error) {
	alg, encoded, ok := strings.Cut(d, ":")
	if !ok {
		return "", "", fmt.Errorf("digest %q is not ALGORITHM:HEX", d)
	}
	a, known := digestAlgorithms[alg]
	if !known {
		return "", "", fmt.Errorf("digest %q: algorithm %q is not sha256 or sha512", d, alg)
	}
	if len(encoded) != a.hexLen || strings.Trim(encoded, "0123456789abcdef") != "" {
		return "", "", fmt.Errorf("digest %q: %s wants %d lowercase hex digits", d, alg, a.hexLen)
	}
	return alg, encoded, nil
}

// blobPath is the slash-separated path of a blob inside a layout
// (image-layout.md: blobs/<alg>/<encoded>).
func blobPath(d string) (string, error) {
	alg, encoded, err := parseDigest(d)
	if err != nil {
		return "", err
	}
	return path.Join(imagespec.BlobsDir, alg, encoded), nil
}

// newDigester returns a hash for the digest's algorithm; d must have passed
// parseDigest.
func newDigester(d string) hash.Hash {
	alg, _, _ := strings.Cut(d, ":")
	return digestAlgorithms[alg].hash()
}

// openBlob opens the blob desc names in layout and returns it as a reader
// that verifies size and digest while it is read: the last Read returns
// an error wrapping ErrSizeMismatch or ErrDigestMismatch instead of io.EOF
// when the content is not what desc says. A blob that is not a regular
// file is refused before it is opened (a FIFO would block the open).
func openBlob(layout fs.FS, desc imagespec.Descriptor) (*verifier, error) {
	p, err := blobPath(desc.Digest)
	if err != nil {
		return nil, err
	}
	if desc.Size < 0 {
		return nil, fmt.Errorf("blob %s: negative size %d", desc.Digest, desc.Size)
	}
	st, err := fs.Stat(layout, p)
	if err != nil {
		return nil, fmt.Errorf("blob %s: %w", desc.Digest, err)
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("blob %s: %s is not a regular file", desc.Digest, p)
	}
	if st.Size() != desc.Size {
		return nil, fmt.Errorf("blob %s: %s is %d bytes, its descriptor says %d: %w",
			desc.Digest, p, st.Size(), desc.Size, ErrSizeMismatch)
	}
	f, err := layout.Open(p)
	if err != nil {
		return nil, fmt.Errorf("blob %s: %w", desc.Digest, err)
	}
	return newVerifier(f, desc.Digest, desc.Size), nil
}

// verifier reads at most size bytes of a blob, hashing them, and checks
// size and digest when the content ends.
type verifier struct {
	f      io.ReadCloser
	r      io.Reader // f limited to size+1 bytes: one more shows a longer blob
	h      hash.Hash
	digest string
	size   int64
	n      int64
	err    error // sticky: a mismatch, or io.EOF once verified
}

// newVerifier wraps r; digest must have passed parseDigest.
func newVerifier(r io.ReadCloser, digest string, size int64) *verifier {
	return &verifier{f: r, r: io.LimitReader(r, size+1), h: newDigester(digest), digest: digest, size: size}
}

func (v *verifier) Read(p []byte) (int, error) {
	if v.err != nil {
		return 0, v.err
	}
	n, err := v.r.Read(p)
	if v.n+int64(n) > v.size {
		n = int(v.size - v.n)
		v.err = fmt.Errorf("blob %s is longer than its descriptor's size %d: %w", v.digest, v.size, ErrSizeMismatch)
		err = v.err
	}
	v.h.Write(p[:n])
	v.n += int64(n)
	switch {
	case errors.Is(err, io.EOF):
		v.err = v.check()
		return n, v.err
	case err != nil && v.err == nil:
		return n, fmt.Errorf("blob %s: %w", v.digest, err)
	}
	return n, err
}

// check runs once the content has ended.
func (v *verifier) check() error {
	if v.n != v.size {
		return fmt.Errorf("blob %s is %d bytes, its descriptor says %d: %w", v.digest, v.n, v.size, ErrSizeMismatch)
	}
	alg, encoded, _ := strings.Cut(v.digest, ":")
	if got := hex.EncodeToString(v.h.Sum(nil)); got != encoded {
		return fmt.Errorf("blob %s: its content has digest %s:%s: %w", v.digest, alg, got, ErrDigestMismatch)
	}
	return io.EOF
}

// verified reads what is left of the blob and reports whether all of it
// matched: nil only when the whole content was read and its size and
// digest are right.
func (v *verifier) verified() error {
	if _, err := io.Copy(io.Discard, v); err != nil {
		return err
	}
	if errors.Is(v.err, io.EOF) {
		return nil
	}
	return v.err
}

func (v *verifier) Close() error { return v.f.Close() }
