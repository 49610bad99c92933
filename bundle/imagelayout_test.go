package bundle

import (
	"io/fs"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/runj-go/runj-go/bundle/imagespec"
	"github.com/runj-go/runj-go/bundle/imagetest"
)

func TestParseImageRef(t *testing.T) {
	digest := "sha256:" + hex64
	tests := []struct {
		in   string
		want ImageRef
		err  string
	}{
		{in: "img", want: ImageRef{Layout: "img"}},
		{in: "/srv/images/app", want: ImageRef{Layout: "/srv/images/app"}},
		{in: "img:latest", want: ImageRef{Layout: "img", Tag: "latest"}},
		{in: "./img:1.0", want: ImageRef{Layout: "./img", Tag: "1.0"}},
		{in: "img:registry.example.com/app:1.0", want: ImageRef{Layout: "img", Tag: "registry.example.com/app:1.0"}},
		{in: "img:tag@with-at", want: ImageRef{Layout: "img", Tag: "tag@with-at"}},
		{in: "img@" + digest, want: ImageRef{Layout: "img", Digest: digest}},
		{in: "/a@b/img@" + digest, want: ImageRef{Layout: "/a@b/img", Digest: digest}},
		{in: "/dir@home", want: ImageRef{Layout: "/dir@home"}},
		{in: "img@sha256:abc", err: `image "img@sha256:abc": digest "sha256:abc": sha256 wants 64 lowercase hex digits`},
		{in: "img@md5:abc", err: `algorithm "md5" is not sha256 or sha512`},
		{in: "@" + digest, err: "the layout directory is missing before @"},
		{in: "", err: `image "": the layout directory is missing`},
		{in: ":latest", err: `image ":latest": the layout directory is missing`},
		{in: "img:", err: `image "img:": the tag after the colon is empty`},
	}
	for _, tt := range tests {
		got, err := ParseImageRef(tt.in)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("ParseImageRef(%q) = %+v, %v; want error %q", tt.in, got, err, tt.err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("ParseImageRef(%q) = %+v, %v; want %+v", tt.in, got, err, tt.want)
		}
		if again, err := ParseImageRef(got.String()); err != nil || again != got {
			t.Errorf("ParseImageRef(%q.String()) = %+v, %v", tt.in, again, err)
		}
	}
}

func TestParsePlatform(t *testing.T) {
	tests := []struct {
		in   string
		want Platform
		ok   bool
	}{
		{"freebsd/amd64", Platform{"freebsd", "amd64", ""}, true},
		{"freebsd/arm64/v8", Platform{"freebsd", "arm64", "v8"}, true},
		{"freebsd", Platform{}, false},
		{"freebsd/", Platform{}, false},
		{"/amd64", Platform{}, false},
		{"freebsd/arm64/", Platform{}, false},
		{"freebsd/arm64/v8/x", Platform{}, false},
		{"", Platform{}, false},
	}
	for _, tt := range tests {
		got, err := ParsePlatform(tt.in)
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("ParsePlatform(%q) = %+v, %v; want %+v, ok %v", tt.in, got, err, tt.want, tt.ok)
		}
		if tt.ok && got.String() != tt.in {
			t.Errorf("String() = %q, want %q", got.String(), tt.in)
		}
		if !tt.ok && (err == nil || !strings.Contains(err.Error(), "is not OS/ARCH or OS/ARCH/VARIANT")) {
			t.Errorf("ParsePlatform(%q) error %v", tt.in, err)
		}
	}
}

func TestPlatformMatches(t *testing.T) {
	tests := []struct {
		want, image string
		match       bool
	}{
		{"freebsd/amd64", "freebsd/amd64", true},
		{"freebsd/amd64", "freebsd/amd64/v3", true},
		{"freebsd/amd64/v3", "freebsd/amd64", false},
		{"freebsd/amd64/v3", "freebsd/amd64/v3", true},
		{"freebsd/amd64/v2", "freebsd/amd64/v3", false},
		{"freebsd/amd64", "linux/amd64", false},
		{"freebsd/amd64", "freebsd/arm64", false},
		{"freebsd/arm64/v8", "freebsd/arm64", true},
		{"freebsd/arm64/v8", "freebsd/arm64/v8", true},
		{"freebsd/arm64/v9", "freebsd/arm64", false},
		{"freebsd/arm/v8", "freebsd/arm", false},
		// Equivalent spellings, as containerd's platforms package has them.
		{"freebsd/amd64/v1", "freebsd/amd64", true},
		{"freebsd/amd64/v1", "freebsd/amd64/v2", false},
		{"freebsd/arm/v7", "freebsd/arm", true},
		{"freebsd/arm/7", "freebsd/arm/v7", true},
		{"freebsd/arm/v6", "freebsd/arm", false},
		{"freebsd/arm/v8", "freebsd/arm/8", true},
		{"freebsd/arm64/8", "freebsd/arm64", true},
		{"freebsd/arm64/v8", "freebsd/arm64/v8.0", true},
		{"freebsd/arm64/v8", "freebsd/arm64/v8.2", false},
		{"freebsd/arm64/v9", "freebsd/arm64/9.0", true},
		{"freebsd/arm64/V8", "freebsd/aarch64", true},
		{"freebsd/amd64", "freebsd/x86_64", true},
		{"freebsd/386", "freebsd/i386", true},
		{"freebsd/arm/v7", "freebsd/armhf", true},
		{"freebsd/arm/v6", "freebsd/armel", true},
		{"FreeBSD/amd64", "freebsd/amd64", true},
	}
	for _, tt := range tests {
		w, _ := ParsePlatform(tt.want)
		i, _ := ParsePlatform(tt.image)
		if got := w.matches(i); got != tt.match {
			t.Errorf("%s matches %s = %v, want %v", tt.want, tt.image, got, tt.match)
		}
	}
}

func TestPlatformNormalize(t *testing.T) {
	tests := []struct{ in, want string }{
		{"freebsd/amd64", "freebsd/amd64/v1"},
		{"freebsd/amd64/v1", "freebsd/amd64/v1"},
		{"freebsd/amd64/v3", "freebsd/amd64/v3"},
		{"freebsd/x86_64", "freebsd/amd64/v1"},
		{"freebsd/x86-64/v2", "freebsd/amd64/v2"},
		{"freebsd/i386", "freebsd/386"},
		{"freebsd/i386/v2", "freebsd/386"},
		{"freebsd/arm64", "freebsd/arm64/v8"},
		{"freebsd/arm64/8", "freebsd/arm64/v8"},
		{"freebsd/arm64/v8.0", "freebsd/arm64/v8"},
		{"freebsd/arm64/v8.1", "freebsd/arm64/v8.1"},
		{"freebsd/aarch64", "freebsd/arm64/v8"},
		{"freebsd/arm64/9", "freebsd/arm64/v9"},
		{"freebsd/arm64/9.0", "freebsd/arm64/v9"},
		{"freebsd/arm64/v9.0", "freebsd/arm64/v9"},
		{"freebsd/arm", "freebsd/arm/v7"},
		{"freebsd/arm/7", "freebsd/arm/v7"},
		{"freebsd/arm/5", "freebsd/arm/v5"},
		{"freebsd/arm/6", "freebsd/arm/v6"},
		{"freebsd/arm/8", "freebsd/arm/v8"},
		{"freebsd/armhf", "freebsd/arm/v7"},
		{"freebsd/armel", "freebsd/arm/v6"},
		{"FreeBSD/ARM64/V8", "freebsd/arm64/v8"},
		{"freebsd/riscv64", "freebsd/riscv64"},
		{"freebsd/riscv64/rva22u64", "freebsd/riscv64/rva22u64"},
	}
	for _, tt := range tests {
		p, err := ParsePlatform(tt.in)
		if err != nil {
			t.Fatal(err)
		}
		if got := p.normalize().String(); got != tt.want {
			t.Errorf("%s normalised is %s, want %s", tt.in, got, tt.want)
		}
	}
}

var freebsdAmd64 = Platform{OS: "freebsd", Architecture: "amd64"}

// images writes manifests for platforms, each running /<platform>, and
// returns their descriptors.
func images(l *imagetest.Layout, platforms ...string) []imagespec.Descriptor {
	var out []imagespec.Descriptor
	for _, p := range platforms {
		plat, err := ParsePlatform(p)
		if err != nil {
			panic(err)
		}
		cfg := imagespec.Image{OS: plat.OS, Architecture: plat.Architecture, Variant: plat.Variant,
			Config: imagespec.ImageConfig{Entrypoint: []string{"/" + p}}}
		out = append(out, l.Image(cfg, false, l.Layer(imagetest.Uncompressed, imagetest.Entry{Name: "f", Body: p})))
	}
	return out
}

func selectIn(t *testing.T, l *imagetest.Layout, ref string, want Platform) (*selectedImage, error) {
	t.Helper()
	r, err := ParseImageRef(l.Dir + ref)
	if err != nil {
		t.Fatal(err)
	}
	return selectImage(newImageLayout(os.DirFS(l.Dir), l.Dir, nullLog()), r, want)
}

func TestSelectImage(t *testing.T) {
	tests := []struct {
		name string
		// setup writes the layout and returns what to append to its
		// directory to name the image.
		setup    func(l *imagetest.Layout) string
		want     Platform
		wantArgs string // the Entrypoint of the chosen image
		wantRef  string // the ref.name it was reached through
		err      string // the error, with DIR for the layout directory
	}{
		{
			name: "a tag selects its image",
			setup: func(l *imagetest.Layout) string {
				a := images(l, "freebsd/amd64")[0]
				b := l.Image(imagespec.Image{OS: "freebsd", Architecture: "amd64", Config: imagespec.ImageConfig{Cmd: []string{"/b"}}}, false)
				l.WriteIndex(imagetest.Tagged(a, "a"), imagetest.Tagged(b, "b"))
				return ":b"
			},
			wantArgs: "/b", wantRef: "b",
		},
		{
			name: "entries with the same tag are one image for several platforms",
			setup: func(l *imagetest.Layout) string {
				m := images(l, "linux/amd64", "freebsd/arm64", "freebsd/amd64")
				l.WriteIndex(imagetest.Tagged(m[0], "v1"), imagetest.Tagged(m[1], "v1"), imagetest.Tagged(m[2], "v1"))
				return ":v1"
			},
			wantArgs: "/freebsd/amd64", wantRef: "v1",
		},
		{
			name: "an unknown tag lists the tags",
			setup: func(l *imagetest.Layout) string {
				m := images(l, "freebsd/amd64")
				l.WriteIndex(imagetest.Tagged(m[0], "a"), imagetest.Tagged(m[0], "b"), m[0])
				return ":c"
			},
			err: `image layout DIR has no image tagged "c" (it has a, b)`,
		},
		{
			name: "a tag in a layout without tags says so",
			setup: func(l *imagetest.Layout) string {
				l.WriteIndex(images(l, "freebsd/amd64")...)
				return ":latest"
			},
			err: `image layout DIR has no image tagged "latest" (it has no tags)`,
		},
		{
			name: "no tag in a layout of several images is ambiguous",
			setup: func(l *imagetest.Layout) string {
				m := images(l, "freebsd/amd64")
				l.WriteIndex(imagetest.Tagged(m[0], "a"), imagetest.Tagged(m[0], "b"))
				return ""
			},
			err: "image layout DIR holds several images (tags a, b): name one as DIR:TAG",
		},
		{
			name: "no tag in a layout of one tagged image takes it",
			setup: func(l *imagetest.Layout) string {
				l.WriteIndex(imagetest.Tagged(images(l, "freebsd/amd64")[0], "only"))
				return ""
			},
			wantArgs: "/freebsd/amd64", wantRef: "only",
		},
		{
			name: "a nested index is searched for the platform",
			setup: func(l *imagetest.Layout) string {
				l.WriteIndex(imagetest.Tagged(l.Index(images(l, "linux/amd64", "freebsd/amd64")...), "latest"))
				return ":latest"
			},
			wantArgs: "/freebsd/amd64", wantRef: "latest",
		},
		{
			name: "indexes nest more than one deep",
			setup: func(l *imagetest.Layout) string {
				m := images(l, "linux/amd64", "freebsd/arm64", "freebsd/amd64")
				inner := l.Index(m[2])
				l.WriteIndex(l.Index(m[0], l.Index(m[1], inner)))
				return ""
			},
			wantArgs: "/freebsd/amd64",
		},
		{
			name: "the first match wins",
			setup: func(l *imagetest.Layout) string {
				m := images(l, "freebsd/amd64/v3", "freebsd/amd64")
				l.WriteIndex(l.Index(m...))
				return ""
			},
			wantArgs: "/freebsd/amd64/v3",
		},
		{
			name: "a variant is asked for",
			setup: func(l *imagetest.Layout) string {
				l.WriteIndex(l.Index(images(l, "freebsd/amd64", "freebsd/amd64/v2", "freebsd/amd64/v3")...))
				return ""
			},
			want:     Platform{"freebsd", "amd64", "v3"},
			wantArgs: "/freebsd/amd64/v3",
		},
		{
			name: "arm64 without a variant is v8",
			setup: func(l *imagetest.Layout) string {
				l.WriteIndex(l.Index(images(l, "freebsd/arm64")...))
				return ""
			},
			want:     Platform{"freebsd", "arm64", "v8"},
			wantArgs: "/freebsd/arm64",
		},
		{
			name: "a missing platform lists the platforms there are",
			setup: func(l *imagetest.Layout) string {
				m := images(l, "linux/amd64", "linux/arm64/v8", "freebsd/arm64", "linux/amd64")
				l.WriteIndex(imagetest.Tagged(l.Index(m[0], m[1]), "latest"), imagetest.Tagged(l.Index(m[2], m[3]), "latest"))
				return ":latest"
			},
			err: "image DIR:latest has no manifest for freebsd/amd64; it has linux/amd64, linux/arm64/v8, freebsd/arm64",
		},
		{
			name: "a missing platform is reported for a single image too",
			setup: func(l *imagetest.Layout) string {
				l.WriteIndex(images(l, "linux/amd64")...)
				return ""
			},
			want: Platform{"freebsd", "arm64", "v8"},
			err:  "image DIR has no manifest for freebsd/arm64/v8; it has linux/amd64",
		},
		{
			name: "a manifest without a platform is placed by its configuration",
			setup: func(l *imagetest.Layout) string {
				lin := images(l, "linux/amd64")[0]
				bare := l.Image(imagespec.Image{OS: "freebsd", Architecture: "amd64", Config: imagespec.ImageConfig{Cmd: []string{"/bare"}}}, true)
				l.WriteIndex(lin, bare)
				return ""
			},
			wantArgs: "/bare",
		},
		{
			name: "a configuration for another platform than its descriptor is refused",
			setup: func(l *imagetest.Layout) string {
				d := images(l, "linux/amd64")[0]
				d.Platform = &imagespec.Platform{OS: "freebsd", Architecture: "amd64"}
				l.WriteIndex(d)
				return ""
			},
			err: "manifest sha256:… is listed for freebsd/amd64, but its configuration is for linux/amd64",
		},
		{
			name: "descriptors of unknown media types are skipped",
			setup: func(l *imagetest.Layout) string {
				xml := l.Blob("application/xml", []byte("<x/>"))
				l.WriteIndex(xml, images(l, "freebsd/amd64")[0])
				return ""
			},
			wantArgs: "/freebsd/amd64",
		},
		{
			name: "an artifact without a platform is skipped",
			setup: func(l *imagetest.Layout) string {
				empty := l.Blob("application/vnd.oci.empty.v1+json", []byte("{}"))
				sig := l.JSON(imagespec.MediaTypeImageManifest, imagespec.Manifest{SchemaVersion: 2, ArtifactType: "application/example.signature",
					Config: empty, Layers: []imagespec.Descriptor{empty}})
				l.WriteIndex(sig, images(l, "freebsd/amd64")[0])
				return ""
			},
			wantArgs: "/freebsd/amd64",
		},
		{
			name: "an artifact chosen by digest is refused",
			setup: func(l *imagetest.Layout) string {
				empty := l.Blob("application/vnd.oci.empty.v1+json", []byte("{}"))
				sig := l.JSON(imagespec.MediaTypeImageManifest, imagespec.Manifest{SchemaVersion: 2, ArtifactType: "application/example.signature",
					Config: empty, Layers: []imagespec.Descriptor{empty}})
				sig.Platform = &imagespec.Platform{OS: "freebsd", Architecture: "amd64"}
				l.WriteIndex(sig)
				return "@" + sig.Digest
			},
			err: `manifest sha256:… is not a container image: its config has media type "application/vnd.oci.empty.v1+json"`,
		},
		{
			name: "a bare manifest whose blob is missing is listed as such",
			setup: func(l *imagetest.Layout) string {
				bare := l.Image(imagespec.Image{OS: "freebsd", Architecture: "amd64", Config: imagespec.ImageConfig{Cmd: []string{"/x"}}}, true)
				os.Remove(l.BlobPath(bare.Digest))
				l.WriteIndex(images(l, "linux/amd64")[0], bare)
				return ""
			},
			err: "image DIR has no manifest for freebsd/amd64; it has linux/amd64, manifest sha256:… (blob missing)",
		},
		{
			name: "an empty index.json holds no image",
			setup: func(l *imagetest.Layout) string {
				l.WriteIndex()
				return ""
			},
			err: "image DIR holds no image manifest",
		},
		{
			name: "a digest selects a manifest of index.json",
			setup: func(l *imagetest.Layout) string {
				m := images(l, "freebsd/amd64", "freebsd/amd64/v2")
				l.WriteIndex(imagetest.Tagged(m[0], "a"), imagetest.Tagged(m[1], "b"))
				return "@" + m[1].Digest
			},
			wantArgs: "/freebsd/amd64/v2", wantRef: "b",
		},
		{
			name: "a digest selects a manifest in a nested index",
			setup: func(l *imagetest.Layout) string {
				m := images(l, "freebsd/amd64", "freebsd/amd64/v2")
				l.WriteIndex(l.Index(l.Index(m...)))
				return "@" + m[1].Digest
			},
			wantArgs: "/freebsd/amd64/v2",
		},
		{
			name: "a digest selects an index, then the platform selects in it",
			setup: func(l *imagetest.Layout) string {
				m := images(l, "linux/amd64", "freebsd/amd64", "freebsd/amd64/v2")
				idx := l.Index(m[0], m[2])
				l.WriteIndex(imagetest.Tagged(m[1], "other"), imagetest.Tagged(idx, "this"))
				return "@" + idx.Digest
			},
			wantArgs: "/freebsd/amd64/v2", wantRef: "this",
		},
		{
			name: "a digest that no descriptor names is read from its blob",
			setup: func(l *imagetest.Layout) string {
				m := images(l, "freebsd/amd64", "freebsd/amd64/v2")
				l.WriteIndex(m[0])
				return "@" + m[1].Digest
			},
			wantArgs: "/freebsd/amd64/v2",
		},
		{
			name: "a digest of an unlisted index is read from its blob",
			setup: func(l *imagetest.Layout) string {
				m := images(l, "linux/amd64", "freebsd/amd64")
				idx := l.Index(m...)
				l.WriteIndex()
				return "@" + idx.Digest
			},
			wantArgs: "/freebsd/amd64",
		},
		{
			name: "a digest of the wrong platform is refused",
			setup: func(l *imagetest.Layout) string {
				m := images(l, "linux/amd64")
				l.WriteIndex(m...)
				return "@" + m[0].Digest
			},
			err: "image DIR@sha256:… has no manifest for freebsd/amd64; it has linux/amd64",
		},
		{
			name: "a digest that is nowhere is an error",
			setup: func(l *imagetest.Layout) string {
				l.WriteIndex(images(l, "freebsd/amd64")...)
				return "@sha256:" + hex64
			},
			err: "image layout DIR has no manifest or index sha256:…: stat blobs/sha256/" + hex64 + ": no such file or directory",
		},
		{
			name: "an index whose blob does not match its digest is refused",
			setup: func(l *imagetest.Layout) string {
				idx := l.Index(images(l, "freebsd/amd64")...)
				os.WriteFile(l.BlobPath(idx.Digest), []byte(strings.Repeat(" ", int(idx.Size))), 0o644)
				l.WriteIndex(idx)
				return ""
			},
			err: "blob sha256:…: its content has digest sha256:…: content does not match its digest",
		},
		{
			name: "indexes nested too deep are refused",
			setup: func(l *imagetest.Layout) string {
				d := images(l, "freebsd/amd64")[0]
				for range maxIndexDepth + 1 {
					d = l.Index(d)
				}
				l.WriteIndex(d)
				return ""
			},
			err: "image layout DIR: index sha256:… is nested more than 8 deep",
		},
		{
			name: "a tag inside a nested index is not a tag of the layout",
			setup: func(l *imagetest.Layout) string {
				l.WriteIndex(l.Index(imagetest.Tagged(images(l, "freebsd/amd64")[0], "inner")))
				return ":inner"
			},
			err: `image layout DIR has no image tagged "inner" (it has no tags)`,
		},
		{
			name: "an unsupported layout version is refused",
			setup: func(l *imagetest.Layout) string {
				os.WriteFile(l.Dir+"/oci-layout", []byte(`{"imageLayoutVersion": "2.0.0"}`), 0o644)
				return ""
			},
			err: `image layout DIR: oci-layout: imageLayoutVersion "2.0.0" is not supported (runj-go reads 1.0.0)`,
		},
		{
			name: "a layout without oci-layout is refused",
			setup: func(l *imagetest.Layout) string {
				os.Remove(l.Dir + "/oci-layout")
				return ""
			},
			err: "image layout DIR: stat oci-layout: no such file or directory",
		},
		{
			name: "a layout without index.json is refused",
			setup: func(l *imagetest.Layout) string {
				return ""
			},
			err: "image layout DIR: stat index.json: no such file or directory",
		},
		{
			name: "index.json of another schema version is refused",
			setup: func(l *imagetest.Layout) string {
				os.WriteFile(l.Dir+"/index.json", []byte(`{"schemaVersion": 1, "manifests": []}`), 0o644)
				return ""
			},
			err: "image layout DIR: index.json: schemaVersion 1 is not 2",
		},
		{
			name: "a manifest whose layers and diff_ids disagree is refused",
			setup: func(l *imagetest.Layout) string {
				layer := l.Layer(imagetest.Uncompressed, imagetest.Entry{Name: "f"})
				cfg := l.JSON(imagespec.MediaTypeImageConfig, imagespec.Image{OS: "freebsd", Architecture: "amd64", RootFS: imagespec.RootFS{Type: "layers", DiffIDs: []string{}}})
				m := l.JSON(imagespec.MediaTypeImageManifest, imagespec.Manifest{SchemaVersion: 2, Config: cfg, Layers: []imagespec.Descriptor{layer.Desc}})
				l.WriteIndex(m)
				return ""
			},
			err: "manifest sha256:… has 1 layers, its configuration lists 0 diff_ids",
		},
		{
			name: "a layer of an unknown media type is refused",
			setup: func(l *imagetest.Layout) string {
				layer := l.Layer(imagetest.Uncompressed, imagetest.Entry{Name: "f"})
				layer.Desc.MediaType = "application/vnd.oci.image.layer.v1.tar+bzip2"
				l.WriteIndex(l.Image(imagespec.Image{OS: "freebsd", Architecture: "amd64"}, false, layer))
				return ""
			},
			err: `manifest sha256:…: layers[0] (sha256:…): media type "application/vnd.oci.image.layer.v1.tar+bzip2" is not a layer runj-go can apply`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := imagetest.New(t, t.TempDir())
			ref := tt.setup(l)
			want := tt.want
			if want == (Platform{}) {
				want = freebsdAmd64
			}
			got, err := selectIn(t, l, ref, want)
			if tt.err != "" {
				msg := ""
				if err != nil {
					msg = elideDigests(strings.ReplaceAll(err.Error(), l.Dir, "DIR"))
				}
				if msg != tt.err {
					t.Fatalf("error\n %s\nwant\n %s", msg, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatalf("selectImage: %v", err)
			}
			args := append(got.config.Config.Entrypoint, got.config.Config.Cmd...)
			if len(args) != 1 || args[0] != tt.wantArgs || got.refName != tt.wantRef {
				t.Errorf("selected the image running %q reached through tag %q; want %q through %q", args, got.refName, tt.wantArgs, tt.wantRef)
			}
			if got.manifest == nil || len(got.manifest.Layers) != len(got.config.RootFS.DiffIDs) {
				t.Errorf("manifest %+v does not go with its configuration", got.manifest)
			}
		})
	}
}

// elideDigests writes every sha256 digest as sha256:… so that expected
// errors can be written down; the path of a blob keeps its hex.
func elideDigests(s string) string {
	var b strings.Builder
	for {
		i := strings.Index(s, "sha256:")
		if i < 0 || len(s) < i+7+64 {
			b.WriteString(s)
			return b.String()
		}
		b.WriteString(s[:i] + "sha256:…")
		s = s[i+7+64:]
	}
}

func TestSelectImage_reads_each_nested_index_once(t *testing.T) {
	l := imagetest.New(t, t.TempDir())
	m := images(l, "linux/amd64")
	shared := l.Index(m...)
	var many []imagespec.Descriptor
	for range 50 {
		many = append(many, shared)
	}
	wide := l.Index(many...)
	var top []imagespec.Descriptor
	for range 50 {
		top = append(top, wide)
	}
	l.WriteIndex(top...)
	opens := 0
	fsys := countingFS{FS: os.DirFS(l.Dir), opens: &opens}
	_, err := selectImage(newImageLayout(fsys, l.Dir, nullLog()), ImageRef{Layout: l.Dir}, freebsdAmd64)
	if err == nil || !strings.HasSuffix(err.Error(), "; it has linux/amd64") {
		t.Fatalf("error %v", err)
	}
	// oci-layout, index.json, wide, shared.
	if opens != 4 {
		t.Errorf("%d files opened, want 4", opens)
	}
}

// countingFS counts the files opened; Stat opens none.
type countingFS struct {
	fs.FS
	opens *int
}

func (c countingFS) Open(name string) (fs.File, error) {
	*c.opens++
	return c.FS.Open(name)
}

func (c countingFS) Stat(name string) (fs.FileInfo, error) { return fs.Stat(c.FS, name) }

// FuzzSelectManifest feeds arbitrary index.json and blob contents to the
// selection: it must return a manifest for the platform or an error, never
// panic. Blob 2 is stored under its digest first; "@B2@" and "@S2@" in
// blob 1 become its digest and size, and "@B1@", "@S1@", "@B2@", "@S2@"
// in the index those of both, so that the fuzzer can build references.
func FuzzSelectManifest(f *testing.F) {
	cfg := `{"os":"freebsd","architecture":"amd64","config":{"Cmd":["/x"],"User":"root"},"rootfs":{"type":"layers","diff_ids":[]}}`
	manifest := `{"schemaVersion":2,"config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"@B2@","size":@S2@},"layers":[]}`
	f.Add(`{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"@B1@","size":@S1@,"platform":{"os":"freebsd","architecture":"amd64"}}]}`,
		manifest, cfg, ":latest", "freebsd/amd64")
	f.Add(`{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"@B1@","size":@S1@,"annotations":{"org.opencontainers.image.ref.name":"latest"}}]}`,
		manifest, cfg, ":latest", "freebsd/amd64")
	f.Add(`{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.index.v1+json","digest":"@B1@","size":@S1@}]}`,
		`{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"@B2@","size":@S2@,"platform":{"os":"linux","architecture":"arm64","variant":"v8"}}]}`,
		manifest, "", "freebsd/arm64/v8")
	f.Add(`{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.index.v1+json","digest":"@B1@","size":@S1@}]}`,
		`{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.index.v1+json","digest":"@B1@","size":@S1@}]}`,
		"{}", "@@B1@", "freebsd/amd64")
	root := f.TempDir()
	f.Fuzz(func(t *testing.T, index, blob1, blob2, ref, platform string) {
		d2, s2 := imagetest.Digest([]byte(blob2)), strconv.Itoa(len(blob2))
		blob1 = strings.NewReplacer("@B2@", d2, "@S2@", s2).Replace(blob1)
		d1, s1 := imagetest.Digest([]byte(blob1)), strconv.Itoa(len(blob1))
		fill := strings.NewReplacer("@B1@", d1, "@S1@", s1, "@B2@", d2, "@S2@", s2)
		index, ref = fill.Replace(index), fill.Replace(ref)
		fsys := fstest.MapFS{
			"oci-layout":             {Data: []byte(`{"imageLayoutVersion":"1.0.0"}`)},
			"index.json":             {Data: []byte(index)},
			"blobs/sha256/" + d1[7:]: {Data: []byte(blob1)},
			"blobs/sha256/" + d2[7:]: {Data: []byte(blob2)},
		}
		r, err := ParseImageRef("layout" + ref)
		if err != nil {
			r = ImageRef{Layout: "layout"}
		}
		want, err := ParsePlatform(platform)
		if err != nil {
			want = freebsdAmd64
		}
		sel, err := selectImage(newImageLayout(fsys, "layout", nullLog()), r, want)
		if err != nil {
			return
		}
		if sel.manifest == nil || sel.config == nil {
			t.Fatalf("selected %+v without its manifest or configuration", sel)
		}
		if got := (Platform{sel.config.OS, sel.config.Architecture, sel.config.Variant}); !want.matches(got) {
			t.Fatalf("selected a configuration for %s, want %s", got, want)
		}
		if len(sel.manifest.Layers) != len(sel.config.RootFS.DiffIDs) {
			t.Fatalf("%d layers, %d diff_ids", len(sel.manifest.Layers), len(sel.config.RootFS.DiffIDs))
		}
		if !slices.ContainsFunc([]string{d1, d2}, func(d string) bool { return d == sel.desc.Digest }) {
			t.Fatalf("selected manifest %s is neither blob", sel.desc.Digest)
		}
		spec, err := imageSpec(sel, root, ImageOptions{}, nullLog())
		if err == nil && Validate(spec, nullLog()) != nil {
			t.Fatalf("imageSpec returned a spec that does not validate")
		}
	})
}
