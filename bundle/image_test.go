package bundle

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"github.com/sirupsen/logrus"
	"github.com/sirupsen/logrus/hooks/test"

	"github.com/runj-go/runj-go/bundle/imagespec"
	"github.com/runj-go/runj-go/bundle/imagetest"
	"github.com/runj-go/runj-go/rootfs"
)

// hostImage is an image configuration for the default platform.
func hostImage(args ...string) imagespec.Image {
	return imagespec.Image{OS: "freebsd", Architecture: runtime.GOARCH, Config: imagespec.ImageConfig{Entrypoint: args}}
}

// accountsLayer holds /etc/passwd and /etc/group in FreeBSD's format.
func accountsLayer(l *imagetest.Layout) imagetest.Layer {
	return l.Layer(imagetest.Uncompressed,
		imagetest.Entry{Name: "etc/"},
		imagetest.Entry{Name: "etc/passwd", Body: "# $FreeBSD$\n" +
			"root:*:0:0:Charlie &:/root:/bin/sh\n" +
			"www:*:80:80:World Wide Web Owner:/nonexistent:/usr/sbin/nologin\n" +
			"alice:*:1001:1001:Alice:/home/alice:/bin/sh\n" +
			"bob:*:1002:1002:Bob:/home/bob:/bin/sh\n" +
			"broken line\n" +
			"+nisuser:::\n"},
		imagetest.Entry{Name: "etc/group", Body: "# $FreeBSD$\n" +
			"wheel:*:0:root\n" +
			"operator:*:5:root\n" +
			"staff:*:20:alice\n" +
			"www:*:80:\n" +
			"video:*:44:bob, alice\n" +
			"alice:*:1001:alice\n" +
			"staff2:*:20:alice\n" +
			"bob:*:1002:\n"},
	)
}

// singleImage writes a layout whose index.json lists one image, tagged
// "latest", and returns the layout's directory.
func singleImage(t *testing.T, cfg imagespec.Image, layers ...func(*imagetest.Layout) imagetest.Layer) *imagetest.Layout {
	t.Helper()
	l := imagetest.New(t, t.TempDir())
	var ls []imagetest.Layer
	for _, mk := range layers {
		ls = append(ls, mk(l))
	}
	l.WriteIndex(imagetest.Tagged(l.Image(cfg, false, ls...), "latest"))
	return l
}

func create(t *testing.T, bundleDir, image string, opts ImageOptions) (*Image, error) {
	t.Helper()
	ref, err := ParseImageRef(image)
	if err != nil {
		t.Fatalf("ParseImageRef(%q): %v", image, err)
	}
	return CreateFromImage(bundleDir, ref, opts, nullLog())
}

func readSpec(t *testing.T, dir string) *specs.Spec {
	t.Helper()
	b, err := Load(dir, nullLog())
	if err != nil {
		t.Fatalf("the created bundle does not load: %v", err)
	}
	return b.Spec
}

func readFile(t *testing.T, name string) string {
	t.Helper()
	data, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

func TestCreateFromImage_converts_the_configuration_exactly(t *testing.T) {
	cfg := hostImage("/bin/app", "--serve")
	cfg.Created = "2025-06-01T12:00:00.123456789Z"
	cfg.Author = "Alyssa P. Hacker"
	cfg.Variant = "v2"
	cfg.OSVersion = "14.2-RELEASE"
	cfg.OSFeatures = []string{"jail", "vnet"}
	cfg.Config = imagespec.ImageConfig{
		User:         "www",
		Entrypoint:   []string{"/bin/app", "--serve"},
		Cmd:          []string{"--port", "8080"},
		Env:          []string{"PATH=/usr/local/bin:/bin", "GREETING=hello=world"},
		WorkingDir:   "/srv",
		ExposedPorts: map[string]struct{}{"8080/tcp": {}, "53/udp": {}},
		Labels: map[string]string{
			"com.example.team":                    "edge",
			"org.opencontainers.image.os.version": "label wins",
		},
		StopSignal: "SIGINT",
	}
	l := singleImage(t, cfg, accountsLayer)
	dir := filepath.Join(t.TempDir(), "bundle")
	img, err := create(t, dir, l.Dir+":latest", ImageOptions{})
	if err != nil {
		t.Fatalf("CreateFromImage: %v", err)
	}

	want := DefaultSpec()
	want.Process.Terminal = false
	want.Process.Args = []string{"/bin/app", "--serve", "--port", "8080"}
	want.Process.Env = []string{"PATH=/usr/local/bin:/bin", "GREETING=hello=world"}
	want.Process.Cwd = "/srv"
	want.Process.User = specs.User{UID: 80, GID: 80}
	want.Annotations = map[string]string{
		"org.opencontainers.image.os":           "freebsd",
		"org.opencontainers.image.architecture": runtime.GOARCH,
		"org.opencontainers.image.variant":      "v2",
		"org.opencontainers.image.os.version":   "label wins",
		"org.opencontainers.image.os.features":  "jail,vnet",
		"org.opencontainers.image.author":       "Alyssa P. Hacker",
		"org.opencontainers.image.created":      "2025-06-01T12:00:00.123456789Z",
		"org.opencontainers.image.stopSignal":   "SIGINT",
		"org.opencontainers.image.exposedPorts": "53/udp,8080/tcp",
		"org.opencontainers.image.ref.name":     "latest",
		"com.example.team":                      "edge",
	}
	got, _ := json.MarshalIndent(readSpec(t, dir), "", "  ")
	wantJSON, _ := json.MarshalIndent(want, "", "  ")
	if string(got) != string(wantJSON) {
		t.Errorf("config.json:\n%s\nwant:\n%s", got, wantJSON)
	}
	if img.RefName != "latest" || img.Platform != (Platform{"freebsd", runtime.GOARCH, "v2"}) || !strings.HasPrefix(img.Manifest, "sha256:") {
		t.Errorf("Image = %+v", img)
	}
	if st, err := os.Stat(filepath.Join(dir, RootfsDir, "etc", "passwd")); err != nil || !st.Mode().IsRegular() {
		t.Errorf("rootfs/etc/passwd: %v", err)
	}
}

func TestCreateFromImage_conversion_defaults(t *testing.T) {
	tests := []struct {
		name    string
		config  imagespec.ImageConfig
		args    []string
		env     []string
		cwd     string
		user    specs.User
		wantErr string
	}{
		{
			name:   "Cmd alone is the command",
			config: imagespec.ImageConfig{Cmd: []string{"/bin/sh", "-c", "true"}},
			args:   []string{"/bin/sh", "-c", "true"},
			env:    []string{"PATH=" + DefaultPath}, cwd: "/",
		},
		{
			name:   "Entrypoint alone is the command",
			config: imagespec.ImageConfig{Entrypoint: []string{"/hello"}, Env: []string{"A=1"}},
			args:   []string{"/hello"},
			env:    []string{"PATH=" + DefaultPath, "A=1"}, cwd: "/",
		},
		{
			name:   "an image PATH is kept and no other is added",
			config: imagespec.ImageConfig{Entrypoint: []string{"/hello"}, Env: []string{"A=1", "PATH=/opt/bin"}},
			args:   []string{"/hello"},
			env:    []string{"A=1", "PATH=/opt/bin"}, cwd: "/",
		},
		{
			name:    "no Entrypoint and no Cmd is an error",
			config:  imagespec.ImageConfig{Env: []string{"A=1"}},
			wantErr: "the image configuration has neither Entrypoint nor Cmd: there is nothing to run",
		},
		{
			name:    "a relative WorkingDir is an error",
			config:  imagespec.ImageConfig{Entrypoint: []string{"/hello"}, WorkingDir: "srv"},
			wantErr: `the image configuration's WorkingDir "srv" is not an absolute path`,
		},
		{
			name:    "an Env entry without = fails validation naming the field",
			config:  imagespec.ImageConfig{Entrypoint: []string{"/hello"}, Env: []string{"PATH=/bin", "JUNK"}},
			wantErr: `the image configuration does not make a valid config.json: config.json: process.env[1]: "JUNK" is not KEY=VALUE`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := hostImage()
			cfg.Config = tt.config
			l := singleImage(t, cfg)
			dir := filepath.Join(t.TempDir(), "bundle")
			_, err := create(t, dir, l.Dir, ImageOptions{})
			if tt.wantErr != "" {
				if err == nil || !strings.HasSuffix(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want one ending in %q", err, tt.wantErr)
				}
				assertNotExist(t, dir)
				return
			}
			if err != nil {
				t.Fatalf("CreateFromImage: %v", err)
			}
			p := readSpec(t, dir).Process
			if !slices.Equal(p.Args, tt.args) || !slices.Equal(p.Env, tt.env) || p.Cwd != tt.cwd || p.Terminal {
				t.Errorf("process = args %q env %q cwd %q terminal %v; want %q %q %q false", p.Args, p.Env, p.Cwd, p.Terminal, tt.args, tt.env, tt.cwd)
			}
			if p.User.UID != 0 || p.User.GID != 0 || p.User.AdditionalGids != nil {
				t.Errorf("user = %+v, want root without additional groups", p.User)
			}
		})
	}
}

func TestCreateFromImage_applies_layers_in_order_whatever_their_compression(t *testing.T) {
	for _, c := range []struct {
		name string
		c    imagetest.Compression
	}{{"uncompressed", imagetest.Uncompressed}, {"gzip", imagetest.Gzip}, {"zstd", imagetest.Zstd}} {
		t.Run(c.name, func(t *testing.T) {
			l := imagetest.New(t, t.TempDir())
			base := l.Layer(c.c,
				imagetest.Entry{Name: "bin/"},
				imagetest.Entry{Name: "bin/app", Body: "v1", Mode: 0o755},
				imagetest.Entry{Name: "etc/"},
				imagetest.Entry{Name: "etc/old.conf", Body: "old"},
			)
			top := l.Layer(c.c,
				imagetest.Entry{Name: "bin/app", Body: "v2", Mode: 0o755},
				imagetest.Entry{Name: "etc/.wh.old.conf"},
				imagetest.Entry{Name: "etc/new.conf", Body: "new"},
			)
			if want := map[imagetest.Compression]string{
				imagetest.Uncompressed: imagespec.MediaTypeImageLayer,
				imagetest.Gzip:         imagespec.MediaTypeImageLayerGzip,
				imagetest.Zstd:         imagespec.MediaTypeImageLayerZstd,
			}[c.c]; base.Desc.MediaType != want {
				t.Fatalf("fixture media type %s, want %s", base.Desc.MediaType, want)
			}
			l.WriteIndex(l.Image(hostImage("/bin/app"), false, base, top))
			dir := t.TempDir()
			if _, err := create(t, dir, l.Dir, ImageOptions{}); err != nil {
				t.Fatalf("CreateFromImage: %v", err)
			}
			root := filepath.Join(dir, RootfsDir)
			if got := readFile(t, filepath.Join(root, "bin/app")); got != "v2" {
				t.Errorf("bin/app = %q, want the upper layer's v2", got)
			}
			if got := readFile(t, filepath.Join(root, "etc/new.conf")); got != "new" {
				t.Errorf("etc/new.conf = %q", got)
			}
			assertNotExist(t, filepath.Join(root, "etc/old.conf"))
			assertEntries(t, dir, ConfigFile, RootfsDir)
		})
	}
}

func TestCreateFromImage_refuses_a_bad_blob_and_leaves_nothing_behind(t *testing.T) {
	tests := []struct {
		name string
		// spoil changes the layout after it was written; the layer is
		// gzip-compressed and is the image's second.
		spoil func(t *testing.T, l *imagetest.Layout, layer imagetest.Layer)
		is    error
		want  string
	}{
		{
			name: "a layer whose content does not match its digest",
			spoil: func(t *testing.T, l *imagetest.Layout, layer imagetest.Layer) {
				p := l.BlobPath(layer.Desc.Digest)
				data := []byte(readFile(t, p))
				data[len(data)-1] ^= 0xff // the gzip trailer: the tar still reads
				os.WriteFile(p, data, 0o644)
			},
			is:   ErrDigestMismatch,
			want: "its content has digest sha256:",
		},
		{
			name: "a layer corrupted in the middle",
			spoil: func(t *testing.T, l *imagetest.Layout, layer imagetest.Layer) {
				p := l.BlobPath(layer.Desc.Digest)
				data := []byte(readFile(t, p))
				data[len(data)/2] ^= 0xff
				os.WriteFile(p, data, 0o644)
			},
			is:   ErrDigestMismatch,
			want: "its content has digest sha256:",
		},
		{
			name: "a layer longer than its descriptor says",
			spoil: func(t *testing.T, l *imagetest.Layout, layer imagetest.Layer) {
				p := l.BlobPath(layer.Desc.Digest)
				os.WriteFile(p, append([]byte(readFile(t, p)), 0), 0o644)
			},
			is:   ErrSizeMismatch,
			want: "bytes, its descriptor says",
		},
		{
			name: "a layer shorter than its descriptor says",
			spoil: func(t *testing.T, l *imagetest.Layout, layer imagetest.Layer) {
				p := l.BlobPath(layer.Desc.Digest)
				data := readFile(t, p)
				os.WriteFile(p, []byte(data[:len(data)-1]), 0o644)
			},
			is:   ErrSizeMismatch,
			want: "bytes, its descriptor says",
		},
		{
			name: "a missing layer",
			spoil: func(t *testing.T, l *imagetest.Layout, layer imagetest.Layer) {
				os.Remove(l.BlobPath(layer.Desc.Digest))
			},
			is:   fs.ErrNotExist,
			want: "no such file or directory",
		},
		{
			name: "a layer entry that would leave the root",
			spoil: func(t *testing.T, l *imagetest.Layout, layer imagetest.Layer) {
				// Replaced below by a layer that names ../escape.
			},
			is:   rootfs.ErrRefused,
			want: `entry "../escape"`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := imagetest.New(t, t.TempDir())
			first := l.Layer(imagetest.Uncompressed, imagetest.Entry{Name: "big", Body: strings.Repeat("x", 100000)})
			entries := []imagetest.Entry{{Name: "bin/"}, {Name: "bin/app", Body: "app"}}
			if tt.is == rootfs.ErrRefused {
				entries = append(entries, imagetest.Entry{Name: "../escape", Body: "out"})
			}
			second := l.Layer(imagetest.Gzip, entries...)
			l.WriteIndex(l.Image(hostImage("/bin/app"), false, first, second))
			tt.spoil(t, l, second)

			parent := t.TempDir()
			for _, state := range []string{"missing", "empty", "forced"} {
				dir, force := bundleInState(t, parent, state)
				_, err := create(t, dir, l.Dir, ImageOptions{Force: force})
				if !errors.Is(err, tt.is) || !strings.Contains(err.Error(), tt.want) {
					t.Fatalf("%s bundle: error %v, want %v containing %q", state, err, tt.is, tt.want)
				}
				if !strings.Contains(err.Error(), "layer 2 of 2") {
					t.Errorf("error %q does not say which layer", err)
				}
				assertBundleAsItWas(t, parent, state)
			}
			assertNotExist(t, filepath.Join(filepath.Dir(l.Dir), "escape"))
		})
	}
}

func TestCreateFromImage_refuses_a_diff_id_that_does_not_match(t *testing.T) {
	for _, c := range []imagetest.Compression{imagetest.Uncompressed, imagetest.Zstd} {
		l := imagetest.New(t, t.TempDir())
		layer := l.Layer(c, imagetest.Entry{Name: "app", Body: "app"})
		layer.DiffID = imagetest.Digest([]byte("something else"))
		l.WriteIndex(l.Image(hostImage("/app"), false, layer))
		dir := filepath.Join(t.TempDir(), "b")
		_, err := create(t, dir, l.Dir, ImageOptions{})
		if !errors.Is(err, ErrDigestMismatch) || !strings.Contains(err.Error(), "not the configuration's diff_id "+layer.DiffID) {
			t.Errorf("compression %d: error %v, want a diff_id mismatch", c, err)
		}
		assertNotExist(t, dir)
	}
}

func TestCreateFromImage_bundle_directory(t *testing.T) {
	l := singleImage(t, hostImage("/app"), func(l *imagetest.Layout) imagetest.Layer {
		return l.Layer(imagetest.Uncompressed, imagetest.Entry{Name: "app", Body: "new"})
	})
	t.Run("a non-empty bundle is refused without force and left alone", func(t *testing.T) {
		dir := t.TempDir()
		os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("mine"), 0o644)
		_, err := create(t, dir, l.Dir, ImageOptions{})
		if !errors.Is(err, ErrBundleNotEmpty) || err.Error() != "bundle directory is not empty: "+dir+" (it has notes.txt)" {
			t.Fatalf("error %v, want ErrBundleNotEmpty naming notes.txt", err)
		}
		assertEntries(t, dir, "notes.txt")
	})
	t.Run("with force its contents are replaced", func(t *testing.T) {
		dir := t.TempDir()
		os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("mine"), 0o644)
		os.MkdirAll(filepath.Join(dir, "rootfs", "old", "locked"), 0o755)
		os.Chmod(filepath.Join(dir, "rootfs", "old"), 0o500)
		if _, err := create(t, dir, l.Dir, ImageOptions{Force: true}); err != nil {
			t.Fatalf("CreateFromImage: %v", err)
		}
		assertEntries(t, dir, ConfigFile, RootfsDir)
		assertEntries(t, filepath.Join(dir, RootfsDir), "app")
	})
	t.Run("missing parents are created", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "a", "b", "bundle")
		if _, err := create(t, dir, l.Dir, ImageOptions{}); err != nil {
			t.Fatalf("CreateFromImage: %v", err)
		}
		assertEntries(t, dir, ConfigFile, RootfsDir)
	})
	t.Run("a relative bundle directory is taken from the working directory", func(t *testing.T) {
		wd := t.TempDir()
		t.Chdir(wd)
		if _, err := create(t, "rel", l.Dir, ImageOptions{}); err != nil {
			t.Fatalf("CreateFromImage: %v", err)
		}
		assertEntries(t, filepath.Join(wd, "rel"), ConfigFile, RootfsDir)
	})
	t.Run("a file is refused", func(t *testing.T) {
		file := filepath.Join(t.TempDir(), "file")
		os.WriteFile(file, nil, 0o644)
		if _, err := create(t, file, l.Dir, ImageOptions{Force: true}); err == nil || !strings.HasSuffix(err.Error(), "is not a directory") {
			t.Fatalf("error %v, want is not a directory", err)
		}
	})
	t.Run("the file system root is refused", func(t *testing.T) {
		if _, err := create(t, "/", l.Dir, ImageOptions{Force: true}); err == nil || !strings.Contains(err.Error(), "refusing to use the file system root") {
			t.Fatalf("error %v", err)
		}
	})
	t.Run("force does not replace a bundle that holds the image", func(t *testing.T) {
		parent := t.TempDir()
		inner := imagetest.New(t, filepath.Join(parent, "image"))
		inner.WriteIndex(inner.Image(hostImage("/app"), false, inner.Layer(imagetest.Uncompressed, imagetest.Entry{Name: "app"})))
		_, err := create(t, parent, inner.Dir, ImageOptions{Force: true})
		if err == nil || !strings.Contains(err.Error(), "the image layout "+inner.Dir+" is inside it") {
			t.Fatalf("error %v", err)
		}
		assertEntries(t, parent, "image")
	})
	// A link's own path is not what the checks must look at: the link
	// below is outside the directory that holds the image, its target is
	// not.
	t.Run("force through a symbolic link does not replace a bundle that holds the image", func(t *testing.T) {
		parent := t.TempDir()
		inner := imagetest.New(t, filepath.Join(parent, "image"))
		inner.WriteIndex(inner.Image(hostImage("/app"), false, inner.Layer(imagetest.Uncompressed, imagetest.Entry{Name: "app"})))
		link := filepath.Join(t.TempDir(), "link")
		if err := os.Symlink(parent, link); err != nil {
			t.Fatal(err)
		}
		_, err := create(t, link, inner.Dir, ImageOptions{Force: true})
		if err == nil || !strings.Contains(err.Error(), "the image layout "+inner.Dir+" is inside it") {
			t.Fatalf("error %v", err)
		}
		assertEntries(t, parent, "image")
		assertEntries(t, inner.Dir, "blobs", "index.json", "oci-layout")
	})
	t.Run("force does not replace a bundle that holds the image named through a symbolic link", func(t *testing.T) {
		parent := t.TempDir()
		inner := imagetest.New(t, filepath.Join(parent, "image"))
		inner.WriteIndex(inner.Image(hostImage("/app"), false, inner.Layer(imagetest.Uncompressed, imagetest.Entry{Name: "app"})))
		link := filepath.Join(t.TempDir(), "image-link")
		if err := os.Symlink(inner.Dir, link); err != nil {
			t.Fatal(err)
		}
		_, err := create(t, parent, link, ImageOptions{Force: true})
		if err == nil || !strings.Contains(err.Error(), "the image layout "+inner.Dir+" is inside it") {
			t.Fatalf("error %v", err)
		}
		assertEntries(t, parent, "image")
		assertEntries(t, inner.Dir, "blobs", "index.json", "oci-layout")
	})
	t.Run("a bundle reached through a symbolic link is made in the link's target", func(t *testing.T) {
		target := t.TempDir()
		links := t.TempDir()
		for _, l := range []string{"bundle", "parent"} {
			if err := os.Symlink(target, filepath.Join(links, l)); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := create(t, filepath.Join(links, "bundle"), l.Dir, ImageOptions{}); err != nil {
			t.Fatalf("CreateFromImage through a link: %v", err)
		}
		assertEntries(t, target, ConfigFile, RootfsDir)
		if _, err := create(t, filepath.Join(links, "parent", "new"), l.Dir, ImageOptions{}); err != nil {
			t.Fatalf("CreateFromImage below a link: %v", err)
		}
		assertEntries(t, filepath.Join(target, "new"), ConfigFile, RootfsDir)
	})
}

// Not through CreateFromImage: without the check, that would empty /.
func TestCheckBundleDir_refuses_a_symbolic_link_to_the_file_system_root(t *testing.T) {
	link := filepath.Join(t.TempDir(), "root")
	if err := os.Symlink("/", link); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{link, filepath.Join(link, "tmp", "..")} {
		dir, err := resolvePath(p)
		if err != nil {
			t.Fatalf("resolvePath(%s): %v", p, err)
		}
		err = checkBundleDir(dir, t.TempDir(), true)
		if err == nil || err.Error() != "bundle /: refusing to use the file system root as a bundle" {
			t.Errorf("%s: error %v", p, err)
		}
	}
}

func TestResolvePath(t *testing.T) {
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "real", "sub"), 0o755)
	os.Symlink(filepath.Join(dir, "real"), filepath.Join(dir, "abs-link"))
	os.Symlink("real/sub", filepath.Join(dir, "rel-link"))
	os.Symlink(filepath.Join(dir, "nowhere"), filepath.Join(dir, "dangling"))
	tests := []struct{ in, want string }{
		{"real", "real"},
		{"abs-link", "real"},
		{"abs-link/sub", "real/sub"},
		{"rel-link", "real/sub"},
		{"abs-link/missing/deeper", "real/missing/deeper"},
		{"missing", "missing"},
		{"dangling", "dangling"}, // left for mkdir to refuse
	}
	for _, tt := range tests {
		got, err := resolvePath(filepath.Join(dir, tt.in))
		if want := filepath.Join(dir, tt.want); err != nil || got != want {
			t.Errorf("resolvePath(%s) = %s, %v; want %s", tt.in, got, err, want)
		}
	}
	t.Chdir(filepath.Join(dir, "abs-link"))
	if got, err := resolvePath("sub"); err != nil || got != filepath.Join(dir, "real", "sub") {
		t.Errorf("resolvePath of a relative path = %s, %v", got, err)
	}
}

func TestCreateFromImage_user(t *testing.T) {
	tests := []struct {
		user string
		want specs.User
		err  string
	}{
		{user: "", want: specs.User{}},
		{user: "root", want: specs.User{UID: 0, GID: 0, AdditionalGids: []uint32{5}}},
		{user: "alice", want: specs.User{UID: 1001, GID: 1001, AdditionalGids: []uint32{20, 44}}},
		{user: "bob", want: specs.User{UID: 1002, GID: 1002, AdditionalGids: []uint32{44}}},
		{user: "www", want: specs.User{UID: 80, GID: 80}},
		{user: "1001", want: specs.User{UID: 1001, GID: 1001}},
		{user: "4242", want: specs.User{UID: 4242, GID: 0}},
		{user: "alice:www", want: specs.User{UID: 1001, GID: 80}},
		{user: "alice:44", want: specs.User{UID: 1001, GID: 44}},
		{user: "1002:staff", want: specs.User{UID: 1002, GID: 20}},
		{user: "4242:4343", want: specs.User{UID: 4242, GID: 4343}},
		{user: "mallory", err: `image user "mallory": no user "mallory" in the image's /etc/passwd`},
		{user: "alice:nogroup", err: `image user "alice:nogroup": no group "nogroup" in the image's /etc/group`},
		{user: "nisuser", err: `no user "nisuser"`},
		{user: ":www", err: `image user ":www" is not USER, UID, USER:GROUP or UID:GID`},
		{user: "alice:", err: `image user "alice:" is not USER, UID, USER:GROUP or UID:GID`},
		{user: "4294967296", err: `no user "4294967296"`},
	}
	cfgFor := func(user string) imagespec.Image {
		cfg := hostImage("/app")
		cfg.Config.User = user
		return cfg
	}
	for _, tt := range tests {
		t.Run("user_"+tt.user, func(t *testing.T) {
			l := singleImage(t, cfgFor(tt.user), accountsLayer)
			dir := filepath.Join(t.TempDir(), "b")
			_, err := create(t, dir, l.Dir, ImageOptions{})
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("error %v, want %q", err, tt.err)
				}
				assertNotExist(t, dir)
				return
			}
			if err != nil {
				t.Fatalf("CreateFromImage: %v", err)
			}
			got := readSpec(t, dir).Process.User
			if got.UID != tt.want.UID || got.GID != tt.want.GID || !slices.Equal(got.AdditionalGids, tt.want.AdditionalGids) {
				t.Errorf("user = %+v, want %+v", got, tt.want)
			}
		})
	}
	t.Run("a named user in an image without /etc/passwd is unknown", func(t *testing.T) {
		l := singleImage(t, cfgFor("root"))
		_, err := create(t, t.TempDir(), l.Dir, ImageOptions{})
		if err == nil || !strings.Contains(err.Error(), `no user "root" in the image's /etc/passwd`) {
			t.Fatalf("error %v", err)
		}
	})
	t.Run("a uid in an image without /etc/passwd gets gid 0", func(t *testing.T) {
		l := singleImage(t, cfgFor("65534"))
		dir := t.TempDir()
		if _, err := create(t, dir, l.Dir, ImageOptions{}); err != nil {
			t.Fatal(err)
		}
		if got := readSpec(t, dir).Process.User; got.UID != 65534 || got.GID != 0 {
			t.Errorf("user = %+v", got)
		}
	})
	t.Run("an /etc/passwd that links outside the image is not read", func(t *testing.T) {
		// The host's /etc/passwd has root; the link must not reach it.
		l := singleImage(t, cfgFor("root"), func(l *imagetest.Layout) imagetest.Layer {
			return l.Layer(imagetest.Uncompressed,
				imagetest.Entry{Name: "etc/"},
				imagetest.Entry{Name: "etc/passwd", Type: '2', Linkname: "/etc/passwd"})
		})
		_, err := create(t, t.TempDir(), l.Dir, ImageOptions{})
		if !errors.Is(err, rootfs.ErrEscape) {
			t.Fatalf("error %v, want one wrapping rootfs.ErrEscape", err)
		}
	})
	t.Run("an /etc/passwd that links inside the image is read", func(t *testing.T) {
		l := singleImage(t, cfgFor("alice"), func(l *imagetest.Layout) imagetest.Layer {
			return l.Layer(imagetest.Uncompressed,
				imagetest.Entry{Name: "etc/"},
				imagetest.Entry{Name: "etc/passwd", Type: '2', Linkname: "../usr/passwd"},
				imagetest.Entry{Name: "usr/"},
				imagetest.Entry{Name: "usr/passwd", Body: "alice:*:7:8::/:/bin/sh\n"})
		})
		dir := t.TempDir()
		if _, err := create(t, dir, l.Dir, ImageOptions{}); err != nil {
			t.Fatal(err)
		}
		if got := readSpec(t, dir).Process.User; got.UID != 7 || got.GID != 8 {
			t.Errorf("user = %+v", got)
		}
	})
}

func assertNotExist(t *testing.T, p string) {
	t.Helper()
	if _, err := os.Lstat(p); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("%s: %v, want it not to exist", p, err)
	}
}

// assertEntries checks that dir holds exactly names.
func assertEntries(t *testing.T, dir string, names ...string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range entries {
		got = append(got, e.Name())
	}
	slices.Sort(names)
	if !slices.Equal(got, names) {
		t.Errorf("%s holds %q, want %q", dir, got, names)
	}
}

func TestCreateFromImage_drops_labels_the_runtime_obeys(t *testing.T) {
	cfg := hostImage("/app")
	cfg.Config.Labels = map[string]string{
		"com.example.team":                   "edge",
		"org.freebsd.parentJail":             "someone-elses-pod",
		"org.freebsd.jail.vnet":              "new",
		"org.freebsd.jail.allow.raw_sockets": "true",
		"org.freebsd.jail.allow.mount.zfs":   "true",
		"Org.FreeBSD.Rctl":                   "memoryuse:deny=1g",
		"org.freebsd.notes":                  "kept unless every org.freebsd. label goes",
	}
	l := singleImage(t, cfg, func(l *imagetest.Layout) imagetest.Layer {
		return l.Layer(imagetest.Uncompressed, imagetest.Entry{Name: "app"})
	})
	tests := []struct {
		name    string
		obeyed  []string
		kept    []string
		dropped []string
	}{
		{
			name:    "the_runtime's_annotations",
			obeyed:  []string{"org.freebsd.parentJail", "org.freebsd.jail.vnet", "org.freebsd.jail.allow.", "org.freebsd.rctl"},
			kept:    []string{"com.example.team", "org.freebsd.notes"},
			dropped: []string{"Org.FreeBSD.Rctl", "org.freebsd.jail.allow.mount.zfs", "org.freebsd.jail.allow.raw_sockets", "org.freebsd.jail.vnet", "org.freebsd.parentJail"},
		},
		{
			name:    "without_a_list_every_org.freebsd._label",
			kept:    []string{"com.example.team"},
			dropped: []string{"Org.FreeBSD.Rctl", "org.freebsd.jail.allow.mount.zfs", "org.freebsd.jail.allow.raw_sockets", "org.freebsd.jail.vnet", "org.freebsd.notes", "org.freebsd.parentJail"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			log, hook := test.NewNullLogger()
			ref, _ := ParseImageRef(l.Dir)
			dir := filepath.Join(t.TempDir(), "bundle")
			if _, err := CreateFromImage(dir, ref, ImageOptions{RuntimeAnnotations: tt.obeyed}, log); err != nil {
				t.Fatalf("CreateFromImage: %v", err)
			}
			a := readSpec(t, dir).Annotations
			for _, k := range tt.kept {
				if a[k] != cfg.Config.Labels[k] {
					t.Errorf("annotation %s = %q, want the label's %q", k, a[k], cfg.Config.Labels[k])
				}
			}
			var warned []string
			for _, e := range hook.AllEntries() {
				if e.Level == logrus.WarnLevel && e.Data["label"] != nil {
					warned = append(warned, e.Data["label"].(string))
					if e.Data["value"] != cfg.Config.Labels[e.Data["label"].(string)] {
						t.Errorf("warning %q names the value %q", e.Message, e.Data["value"])
					}
				}
			}
			for _, k := range tt.dropped {
				if v, ok := a[k]; ok {
					t.Errorf("annotation %s = %q: the image's label was copied", k, v)
				}
			}
			if !slices.Equal(warned, tt.dropped) {
				t.Errorf("warnings for %q, want %q", warned, tt.dropped)
			}
		})
	}
}

func TestCreateFromImage_rootfs_mode_is_not_left_to_the_umask(t *testing.T) {
	old := syscall.Umask(0o077)
	defer syscall.Umask(old)
	tests := []struct {
		name  string
		entry []imagetest.Entry
		want  fs.FileMode
	}{
		{"without_a_./_entry", []imagetest.Entry{{Name: "app"}}, 0o755},
		{"with_a_./_entry_its_mode", []imagetest.Entry{{Name: "./", Mode: 0o750}, {Name: "app"}}, 0o750},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := singleImage(t, hostImage("/app"), func(l *imagetest.Layout) imagetest.Layer {
				return l.Layer(imagetest.Uncompressed, tt.entry...)
			})
			dir := filepath.Join(t.TempDir(), "bundle")
			if _, err := create(t, dir, l.Dir, ImageOptions{}); err != nil {
				t.Fatalf("CreateFromImage: %v", err)
			}
			st, err := os.Stat(filepath.Join(dir, RootfsDir))
			if err != nil {
				t.Fatal(err)
			}
			if got := st.Mode().Perm(); got != tt.want {
				t.Errorf("rootfs mode %v with umask 077, want %v", got, tt.want)
			}
		})
	}
}

// cancelWhen is a context that cancels itself with cause the first time
// it is checked once cond holds. Decompressors may check it from their
// own goroutines.
type cancelWhen struct {
	context.Context
	cancel context.CancelCauseFunc
	cause  error
	cond   func() bool
	mu     sync.Mutex
	fired  bool
}

func newCancelWhen(cause error, cond func() bool) *cancelWhen {
	ctx, cancel := context.WithCancelCause(context.Background())
	return &cancelWhen{Context: ctx, cancel: cancel, cause: cause, cond: cond}
}

func (c *cancelWhen) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.fired && c.cond() {
		c.fired = true
		c.cancel(c.cause)
	}
	return c.Context.Err()
}

func (c *cancelWhen) hasFired() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.fired
}

func TestCreateFromImage_stopped_leaves_the_bundle_as_it_was(t *testing.T) {
	entries := []imagetest.Entry{{Name: "bin/"}, {Name: "bin/app", Body: "app"}, {Name: "marker"}}
	for i := range 50 {
		entries = append(entries, imagetest.Entry{Name: fmt.Sprintf("data/%d", i), Body: "x"})
	}
	l := imagetest.New(t, t.TempDir())
	first := l.Layer(imagetest.Gzip, entries...)
	second := l.Layer(imagetest.Zstd, imagetest.Entry{Name: "second"})
	l.WriteIndex(l.Image(hostImage("/bin/app"), false, first, second))
	ref, _ := ParseImageRef(l.Dir)
	stop := errors.New("interrupt signal received")

	tests := []struct {
		name string
		// when, in the staging directory, stops it at the next check.
		when    string
		inLayer bool
	}{
		{"in_the_middle_of_the_first_layer", "rootfs/marker", true},
		{"after_the_last_layer_before_the_contents_are_replaced", ConfigFile, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			parent := t.TempDir()
			for _, state := range []string{"missing", "empty", "forced"} {
				dir, force := bundleInState(t, parent, state)
				ctx := newCancelWhen(stop, func() bool {
					m, _ := filepath.Glob(filepath.Join(dir, stagingPrefix+"*", tt.when))
					return len(m) > 0
				})
				_, err := CreateFromImageContext(ctx, dir, ref, ImageOptions{Force: force}, nullLog())
				if !ctx.hasFired() || !errors.Is(err, stop) {
					t.Fatalf("%s bundle: error %v, want one wrapping %v", state, err, stop)
				}
				var le *rootfs.LayerError
				if errors.As(err, &le) != tt.inLayer || tt.inLayer && !strings.Contains(err.Error(), "layer 1 of 2") {
					t.Errorf("%s bundle: error %v: stopped in the wrong place", state, err)
				}
				assertBundleAsItWas(t, parent, state)
			}
		})
	}
}

// bundleInState prepares the bundle directory of a test under parent in
// state: "missing" (not there), "empty", or "forced" (an old bundle that
// only --force replaces, which force then says).
func bundleInState(t *testing.T, parent, state string) (dir string, force bool) {
	t.Helper()
	dir = filepath.Join(parent, state, "bundle")
	switch state {
	case "empty":
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
	case "forced":
		if err := os.MkdirAll(filepath.Join(dir, "rootfs", "old"), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, ConfigFile), []byte("old"), 0o644); err != nil {
			t.Fatal(err)
		}
		force = true
	}
	return dir, force
}

// assertBundleAsItWas checks that the bundle bundleInState prepared is as
// it was after a failed create.
func assertBundleAsItWas(t *testing.T, parent, state string) {
	t.Helper()
	dir := filepath.Join(parent, state, "bundle")
	switch state {
	case "missing":
		assertNotExist(t, filepath.Join(parent, state))
	case "empty":
		assertEntries(t, dir)
	case "forced":
		assertEntries(t, dir, ConfigFile, RootfsDir)
		if got := readFile(t, filepath.Join(dir, ConfigFile)); got != "old" {
			t.Errorf("the old config.json became %q", got)
		}
		assertEntries(t, filepath.Join(dir, RootfsDir), "old")
	}
}
