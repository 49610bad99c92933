package main

import (
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/runj-go/runj-go/bundle"
)

func fakeBinary(t *testing.T) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "hello")
	if err := os.WriteFile(p, []byte("\x7fELF not really"), 0o755); err != nil {
		t.Fatal(err)
	}
	mtime := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	if err := os.Chtimes(p, mtime, mtime); err != nil {
		t.Fatal(err)
	}
	return p
}

// The image mkimage writes is one that runj-go turns into the bundle the
// demo runs.
func TestPack_makes_an_image_runj_go_turns_into_a_bundle(t *testing.T) {
	bin := fakeBinary(t)
	out := filepath.Join(t.TempDir(), "image")
	m, err := pack(options{binary: bin, out: out, tag: "v1", os: "freebsd", arch: runtime.GOARCH,
		ports: []string{"8080/tcp"}, args: []string{"-addr", ":8080"}})
	if err != nil {
		t.Fatalf("pack: %v", err)
	}
	ref, err := bundle.ParseImageRef(out + ":v1")
	if err != nil {
		t.Fatal(err)
	}
	log := logrus.New()
	log.SetOutput(os.Stderr)
	dir := filepath.Join(t.TempDir(), "bundle")
	img, err := bundle.CreateFromImage(dir, ref, bundle.ImageOptions{}, log)
	if err != nil {
		t.Fatalf("CreateFromImage: %v", err)
	}
	if img.Manifest != m.Digest {
		t.Errorf("bundle made from manifest %s, pack wrote %s", img.Manifest, m.Digest)
	}
	b, err := bundle.Load(dir, log)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	p := b.Spec.Process
	if !slices.Equal(p.Args, []string{"/hello", "-addr", ":8080"}) || !slices.Equal(p.Env, []string{"PATH=/"}) ||
		p.Cwd != "/" || p.User.UID != 0 || p.User.GID != 0 || len(p.User.AdditionalGids) != 0 || p.Terminal {
		t.Errorf("process = %+v", p)
	}
	want := map[string]string{
		"org.opencontainers.image.os":           "freebsd",
		"org.opencontainers.image.architecture": runtime.GOARCH,
		"org.opencontainers.image.created":      "2025-06-01T12:00:00Z",
		"org.opencontainers.image.exposedPorts": "8080/tcp",
		"org.opencontainers.image.stopSignal":   "SIGTERM",
		"org.opencontainers.image.ref.name":     "v1",
		"org.opencontainers.image.title":        "hello",
	}
	if len(b.Spec.Annotations) != len(want) {
		t.Errorf("annotations = %v, want %v", b.Spec.Annotations, want)
	}
	for k, v := range want {
		if b.Spec.Annotations[k] != v {
			t.Errorf("annotation %s = %q, want %q", k, b.Spec.Annotations[k], v)
		}
	}
	for name, mode := range map[string]os.FileMode{"hello": 0o755, "etc/passwd": 0o644, "etc/group": 0o644,
		"dev": os.ModeDir | 0o555, "tmp": os.ModeDir | os.ModeSticky | 0o777} {
		st, err := os.Lstat(filepath.Join(b.Root, name))
		if err != nil || st.Mode() != mode {
			t.Errorf("rootfs/%s: %v, mode %v; want %v", name, err, st.Mode(), mode)
		}
	}
	entries, _ := os.ReadDir(filepath.Join(out, "blobs", "sha256"))
	if len(entries) != 3 {
		t.Errorf("%d blobs, want layer, config and manifest and no temporary files: %v", len(entries), entries)
	}
}

func TestPack_is_reproducible(t *testing.T) {
	bin := fakeBinary(t)
	var digests []string
	for range 2 {
		m, err := pack(options{binary: bin, out: filepath.Join(t.TempDir(), "image"), tag: "latest", os: "freebsd", arch: "arm64"})
		if err != nil {
			t.Fatal(err)
		}
		digests = append(digests, m.Digest)
	}
	if digests[0] != digests[1] {
		t.Errorf("the same binary packed twice gave manifests %v", digests)
	}
}

func TestPack_refuses_an_existing_layout(t *testing.T) {
	bin := fakeBinary(t)
	out := filepath.Join(t.TempDir(), "image")
	if _, err := pack(options{binary: bin, out: out, tag: "a", os: "freebsd", arch: "amd64"}); err != nil {
		t.Fatal(err)
	}
	_, err := pack(options{binary: bin, out: out, tag: "b", os: "freebsd", arch: "amd64"})
	if err == nil || !strings.HasSuffix(err.Error(), "already holds an image layout") {
		t.Errorf("error %v", err)
	}
}
