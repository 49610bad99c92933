// Package imagetest builds OCI image layouts for tests: blobs named by
// their digests, layers made from lists of entries, configurations,
// manifests, nested indexes and index.json, with the imagespec types.
package imagetest

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/klauspost/compress/zstd"

	"github.com/runj-go/runj-go/bundle/imagespec"
)

// Layout is an image layout being written in Dir.
type Layout struct {
	Dir string
	t   testing.TB
}

// New writes oci-layout and an empty blobs directory in dir.
func New(t testing.TB, dir string) *Layout {
	t.Helper()
	l := &Layout{Dir: dir, t: t}
	if err := os.MkdirAll(filepath.Join(dir, imagespec.BlobsDir, "sha256"), 0o755); err != nil {
		t.Fatal(err)
	}
	l.write(imagespec.LayoutFile, mustJSON(t, imagespec.Layout{Version: imagespec.LayoutVersion}))
	return l
}

func (l *Layout) write(name string, data []byte) {
	l.t.Helper()
	if err := os.WriteFile(filepath.Join(l.Dir, name), data, 0o644); err != nil {
		l.t.Fatal(err)
	}
}

// Digest is the sha256 digest of data.
func Digest(data []byte) string {
	sum := sha256.Sum256(data)
	return "sha256:" + hex.EncodeToString(sum[:])
}

// BlobPath is the file of the blob with digest d.
func (l *Layout) BlobPath(d string) string {
	return filepath.Join(l.Dir, imagespec.BlobsDir, "sha256", d[len("sha256:"):])
}

// Blob stores data and returns its descriptor.
func (l *Layout) Blob(mediaType string, data []byte) imagespec.Descriptor {
	l.t.Helper()
	d := imagespec.Descriptor{MediaType: mediaType, Digest: Digest(data), Size: int64(len(data))}
	if err := os.WriteFile(l.BlobPath(d.Digest), data, 0o644); err != nil {
		l.t.Fatal(err)
	}
	return d
}

// JSON stores v as a JSON blob.
func (l *Layout) JSON(mediaType string, v any) imagespec.Descriptor {
	l.t.Helper()
	return l.Blob(mediaType, mustJSON(l.t, v))
}

// Entry is one entry of a layer's tar stream. Type defaults to a regular
// file, or a directory when Name ends in "/"; Mode to 0644 or 0755.
type Entry struct {
	Name     string
	Type     byte
	Mode     int64
	Body     string
	Linkname string
	UID, GID int
}

// Tar is the uncompressed tar stream of entries.
func Tar(t testing.TB, entries ...Entry) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range entries {
		h := &tar.Header{Name: e.Name, Typeflag: e.Type, Mode: e.Mode, Linkname: e.Linkname,
			Uid: e.UID, Gid: e.GID, ModTime: time.Unix(1700000000, 0), Format: tar.FormatPAX}
		if h.Typeflag == 0 {
			h.Typeflag = tar.TypeReg
			if e.Name[len(e.Name)-1] == '/' {
				h.Typeflag = tar.TypeDir
			}
		}
		if h.Mode == 0 {
			h.Mode = 0o644
			if h.Typeflag == tar.TypeDir {
				h.Mode = 0o755
			}
		}
		if h.Typeflag == tar.TypeReg {
			h.Size = int64(len(e.Body))
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write([]byte(e.Body)); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// Compression of a layer blob.
type Compression int

const (
	Uncompressed Compression = iota
	Gzip
	Zstd
)

// Layer is a layer blob and the diff_id of its uncompressed content.
type Layer struct {
	Desc   imagespec.Descriptor
	DiffID string
}

// Compress compresses an uncompressed tar stream.
func Compress(t testing.TB, c Compression, data []byte) (mediaType string, blob []byte) {
	t.Helper()
	var buf bytes.Buffer
	switch c {
	case Uncompressed:
		return imagespec.MediaTypeImageLayer, data
	case Gzip:
		zw := gzip.NewWriter(&buf)
		zw.Write(data)
		if err := zw.Close(); err != nil {
			t.Fatal(err)
		}
		return imagespec.MediaTypeImageLayerGzip, buf.Bytes()
	case Zstd:
		zw, err := zstd.NewWriter(&buf)
		if err != nil {
			t.Fatal(err)
		}
		zw.Write(data)
		if err := zw.Close(); err != nil {
			t.Fatal(err)
		}
		return imagespec.MediaTypeImageLayerZstd, buf.Bytes()
	}
	t.Fatalf("unknown compression %d", c)
	return "", nil
}

// Layer stores a layer of entries, compressed with c.
func (l *Layout) Layer(c Compression, entries ...Entry) Layer {
	l.t.Helper()
	data := Tar(l.t, entries...)
	mediaType, blob := Compress(l.t, c, data)
	return Layer{Desc: l.Blob(mediaType, blob), DiffID: Digest(data)}
}

// Image stores cfg (with rootfs filled in from layers) and a manifest for
// it, and returns the manifest's descriptor. The descriptor carries the
// configuration's platform unless bare is set.
func (l *Layout) Image(cfg imagespec.Image, bare bool, layers ...Layer) imagespec.Descriptor {
	l.t.Helper()
	cfg.RootFS = imagespec.RootFS{Type: "layers", DiffIDs: []string{}}
	m := imagespec.Manifest{SchemaVersion: 2, MediaType: imagespec.MediaTypeImageManifest, Layers: []imagespec.Descriptor{}}
	for _, layer := range layers {
		cfg.RootFS.DiffIDs = append(cfg.RootFS.DiffIDs, layer.DiffID)
		m.Layers = append(m.Layers, layer.Desc)
	}
	m.Config = l.JSON(imagespec.MediaTypeImageConfig, cfg)
	d := l.JSON(imagespec.MediaTypeImageManifest, m)
	if !bare {
		d.Platform = &imagespec.Platform{OS: cfg.OS, Architecture: cfg.Architecture, Variant: cfg.Variant}
	}
	return d
}

// Index stores an image index of descs and returns its descriptor.
func (l *Layout) Index(descs ...imagespec.Descriptor) imagespec.Descriptor {
	l.t.Helper()
	return l.JSON(imagespec.MediaTypeImageIndex, index(descs))
}

// WriteIndex writes index.json listing descs.
func (l *Layout) WriteIndex(descs ...imagespec.Descriptor) {
	l.t.Helper()
	l.write(imagespec.IndexFile, mustJSON(l.t, index(descs)))
}

func index(descs []imagespec.Descriptor) imagespec.Index {
	if descs == nil {
		descs = []imagespec.Descriptor{}
	}
	return imagespec.Index{SchemaVersion: 2, MediaType: imagespec.MediaTypeImageIndex, Manifests: descs}
}

// Tagged is d with the org.opencontainers.image.ref.name annotation.
func Tagged(d imagespec.Descriptor, tag string) imagespec.Descriptor {
	d.Annotations = map[string]string{imagespec.AnnotationRefName: tag}
	return d
}

func mustJSON(t testing.TB, v any) []byte {
	t.Helper()
	data, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return data
}
