package bundle

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"runtime"
	"slices"
	"strings"

	"github.com/sirupsen/logrus"

	"github.com/runj-go/runj-go/bundle/imagespec"
)

// Limits on the JSON documents of an image: a manifest or configuration
// is kilobytes; a runaway file must not exhaust memory.
const (
	maxImageJSON   = 8 << 20
	maxLayoutFile  = 64 << 10
	maxIndexDepth  = 8 // nested indexes below index.json
	maxIndexVisits = 4096
)

// ImageRef names an image in an OCI image layout: the layout directory
// and a tag (the org.opencontainers.image.ref.name annotation in
// index.json) or the digest of a manifest or index. With neither, the
// layout must hold one image.
type ImageRef struct {
	Layout string
	Tag    string
	Digest string
}

// ParseImageRef parses DIR, DIR:TAG or DIR@DIGEST. As in skopeo's oci:
// transport, DIR ends at the first colon, so tags may hold colons
// ("registry.example.com/app:1.0") but DIR may not; an "@" before that
// colon starts a digest.
func ParseImageRef(s string) (ImageRef, error) {
	colon := strings.Index(s, ":")
	if at := strings.LastIndex(s[:max(colon, 0)], "@"); colon >= 0 && at >= 0 {
		dir, digest := s[:at], s[at+1:]
		if _, _, err := parseDigest(digest); err != nil {
			return ImageRef{}, fmt.Errorf("image %q: %w", s, err)
		}
		if dir == "" {
			return ImageRef{}, fmt.Errorf("image %q: the layout directory is missing before @", s)
		}
		return ImageRef{Layout: dir, Digest: digest}, nil
	}
	dir, tag, hasTag := strings.Cut(s, ":")
	switch {
	case dir == "":
		return ImageRef{}, fmt.Errorf("image %q: the layout directory is missing", s)
	case hasTag && tag == "":
		return ImageRef{}, fmt.Errorf("image %q: the tag after the colon is empty", s)
	}
	return ImageRef{Layout: dir, Tag: tag}, nil
}

func (r ImageRef) String() string {
	switch {
	case r.Digest != "":
		return r.Layout + "@" + r.Digest
	case r.Tag != "":
		return r.Layout + ":" + r.Tag
	}
	return r.Layout
}

// Platform is an OS, an architecture and, optionally, a CPU variant, with
// Go's GOOS and GOARCH names (image-index.md).
type Platform struct {
	OS           string
	Architecture string
	Variant      string
}

// DefaultPlatform is what runj-go runs: FreeBSD on this machine's
// architecture, any variant.
func DefaultPlatform() Platform {
	return Platform{OS: "freebsd", Architecture: runtime.GOARCH}
}

// ParsePlatform parses OS/ARCH or OS/ARCH/VARIANT.
func ParsePlatform(s string) (Platform, error) {
	parts := strings.Split(s, "/")
	if len(parts) < 2 || len(parts) > 3 || slices.Contains(parts, "") {
		return Platform{}, fmt.Errorf("platform %q is not OS/ARCH or OS/ARCH/VARIANT", s)
	}
	p := Platform{OS: parts[0], Architecture: parts[1]}
	if len(parts) == 3 {
		p.Variant = parts[2]
	}
	return p, nil
}

func (p Platform) String() string {
	if p.Variant == "" {
		return p.OS + "/" + p.Architecture
	}
	return p.OS + "/" + p.Architecture + "/" + p.Variant
}

// matches tells whether an image for q runs on p. A p without a variant
// takes any; otherwise the two compare normalised, so that arm64 and
// arm64/v8 are one platform.
func (p Platform) matches(q Platform) bool {
	np, nq := p.normalize(), q.normalize()
	if np.OS != nq.OS || np.Architecture != nq.Architecture {
		return false
	}
	return p.Variant == "" || np.Variant == nq.Variant
}

// normalize spells p the one way for its meaning, by the rules of
// containerd's platforms package (normalizeArch in database.go), with
// the variant an architecture has when none is given written out
// (image-index.md: arm64 is v8; the Go port's defaults: GOAMD64 v1,
// GOARM 7): names lowercase; i386, x86_64, x86-64 and aarch64 are 386,
// amd64 and arm64; armhf is arm/v7 and armel arm/v6; amd64 without a
// variant is v1; arm64's v8 is also "", 8 and v8.0, its v9 also 9, 9.0
// and v9.0; arm's v7 is also "" and 7, and 5, 6 and 8 are v5, v6 and v8.
func (p Platform) normalize() Platform {
	p.OS = strings.ToLower(p.OS)
	arch, variant := strings.ToLower(p.Architecture), strings.ToLower(p.Variant)
	switch arch {
	case "i386":
		arch, variant = "386", ""
	case "x86_64", "x86-64", "amd64":
		arch = "amd64"
		if variant == "" {
			variant = "v1"
		}
	case "aarch64", "arm64":
		arch = "arm64"
		switch variant {
		case "", "8", "v8.0":
			variant = "v8"
		case "9", "9.0", "v9.0":
			variant = "v9"
		}
	case "armhf":
		arch, variant = "arm", "v7"
	case "armel":
		arch, variant = "arm", "v6"
	case "arm":
		switch variant {
		case "", "7":
			variant = "v7"
		case "5", "6", "8":
			variant = "v" + variant
		}
	}
	p.Architecture, p.Variant = arch, variant
	return p
}

func platformOf(p *imagespec.Platform) Platform {
	return Platform{OS: p.OS, Architecture: p.Architecture, Variant: p.Variant}
}

// selectedImage is the manifest chosen for a platform, with its
// configuration.
type selectedImage struct {
	desc     imagespec.Descriptor // of the manifest
	refName  string               // the tag of the index.json entry it was reached through
	manifest *imagespec.Manifest
	config   *imagespec.Image
	platform Platform
}

// imageLayout reads one OCI image layout. Everything it reads from blobs
// is verified against its descriptor.
type imageLayout struct {
	fs   fs.FS
	name string // for messages
	log  logrus.FieldLogger

	indexes   map[string]*imagespec.Index    // by digest: each blob is read once
	manifests map[string]*imagespec.Manifest // by digest
	configs   map[string]*imagespec.Image    // by digest
	walked    map[string]bool                // indexes whose manifests were looked at
	visits    int
}

func newImageLayout(fsys fs.FS, name string, log logrus.FieldLogger) *imageLayout {
	return &imageLayout{
		fs: fsys, name: name, log: log,
		indexes:   map[string]*imagespec.Index{},
		manifests: map[string]*imagespec.Manifest{},
		configs:   map[string]*imagespec.Image{},
		walked:    map[string]bool{},
	}
}

// selectImage finds the manifest ref names for the platform want: through
// the oci-layout check, index.json, nested indexes and, for manifests
// whose descriptor carries no platform, their configuration. The first
// match wins (image-index.md). Without a match, the error lists what the
// image has.
func selectImage(l *imageLayout, ref ImageRef, want Platform) (*selectedImage, error) {
	if err := l.checkLayoutVersion(); err != nil {
		return nil, err
	}
	idx, err := l.readTopIndex()
	if err != nil {
		return nil, err
	}
	roots, err := l.roots(idx, ref)
	if err != nil {
		return nil, err
	}
	w := walk{want: want}
	for _, root := range roots {
		found, err := l.walk(&w, root, root.Annotations[imagespec.AnnotationRefName], 0)
		if err != nil {
			return nil, err
		}
		if found != nil {
			if err := l.complete(found); err != nil {
				return nil, err
			}
			return found, nil
		}
	}
	if len(w.seen) == 0 {
		return nil, fmt.Errorf("image %s holds no image manifest", ref)
	}
	return nil, fmt.Errorf("image %s has no manifest for %s; it has %s", ref, want, strings.Join(w.seen, ", "))
}

// walk collects what was looked at, for the error when nothing matches.
type walk struct {
	want Platform
	seen []string
}

func (w *walk) saw(s string) {
	if !slices.Contains(w.seen, s) {
		w.seen = append(w.seen, s)
	}
}

func (l *imageLayout) walk(w *walk, d imagespec.Descriptor, refName string, depth int) (*selectedImage, error) {
	if l.visits++; l.visits > maxIndexVisits {
		return nil, fmt.Errorf("image layout %s: more than %d descriptors below index.json", l.name, maxIndexVisits)
	}
	switch d.MediaType {
	case imagespec.MediaTypeImageIndex, imagespec.MediaTypeDockerManifestList:
		if depth >= maxIndexDepth {
			return nil, fmt.Errorf("image layout %s: index %s is nested more than %d deep", l.name, d.Digest, maxIndexDepth)
		}
		if l.walked[d.Digest] {
			return nil, nil // its manifests were looked at, and did not match
		}
		l.walked[d.Digest] = true
		idx, err := l.readIndex(d)
		if errors.Is(err, fs.ErrNotExist) {
			w.saw(fmt.Sprintf("index %s (blob missing)", d.Digest))
			return nil, nil
		}
		if err != nil {
			return nil, err
		}
		for _, m := range idx.Manifests {
			found, err := l.walk(w, m, refName, depth+1)
			if found != nil || err != nil {
				return found, err
			}
		}
		return nil, nil
	case imagespec.MediaTypeImageManifest, imagespec.MediaTypeDockerManifest:
		var p Platform
		if d.Platform != nil {
			p = platformOf(d.Platform)
		} else {
			// No platform on the descriptor: the configuration says.
			m, err := l.readManifest(d)
			if errors.Is(err, fs.ErrNotExist) {
				w.saw(fmt.Sprintf("manifest %s (blob missing)", d.Digest))
				return nil, nil
			}
			if err != nil {
				return nil, err
			}
			if !isImageConfig(m.Config.MediaType) {
				// An artifact (a signature, an SBOM): not an image to run.
				l.log.WithField("digest", d.Digest).WithField("config", m.Config.MediaType).Debug("skipping a manifest that is not a container image")
				return nil, nil
			}
			c, err := l.readConfig(m.Config)
			if err != nil {
				return nil, fmt.Errorf("manifest %s: %w", d.Digest, err)
			}
			p = Platform{OS: c.OS, Architecture: c.Architecture, Variant: c.Variant}
		}
		w.saw(p.String())
		if !w.want.matches(p) {
			return nil, nil
		}
		return &selectedImage{desc: d, refName: refName, platform: p}, nil
	}
	// image-index.md: an unknown media type must not be an error.
	l.log.WithField("mediaType", d.MediaType).WithField("digest", d.Digest).Debug("skipping a descriptor of unknown media type")
	return nil, nil
}

// complete reads the chosen manifest and its configuration and checks that
// the configuration is for the platform the manifest was chosen for.
func (l *imageLayout) complete(s *selectedImage) error {
	m, err := l.readManifest(s.desc)
	if err != nil {
		return err
	}
	if t := m.Config.MediaType; !isImageConfig(t) {
		return fmt.Errorf("manifest %s is not a container image: its config has media type %q", s.desc.Digest, t)
	}
	for i, layer := range m.Layers {
		if _, ok := layerCompression[layer.MediaType]; !ok {
			return fmt.Errorf("manifest %s: layers[%d] (%s): media type %q is not a layer runj-go can apply", s.desc.Digest, i, layer.Digest, layer.MediaType)
		}
		if _, _, err := parseDigest(layer.Digest); err != nil {
			return fmt.Errorf("manifest %s: layers[%d]: %w", s.desc.Digest, i, err)
		}
	}
	c, err := l.readConfig(m.Config)
	if err != nil {
		return fmt.Errorf("manifest %s: %w", s.desc.Digest, err)
	}
	if got := (Platform{OS: c.OS, Architecture: c.Architecture, Variant: c.Variant}); !s.platform.matches(got) {
		return fmt.Errorf("manifest %s is listed for %s, but its configuration is for %s", s.desc.Digest, s.platform, got)
	}
	if c.RootFS.Type != "layers" {
		return fmt.Errorf("manifest %s: configuration rootfs.type is %q, not \"layers\"", s.desc.Digest, c.RootFS.Type)
	}
	if len(c.RootFS.DiffIDs) != len(m.Layers) {
		return fmt.Errorf("manifest %s has %d layers, its configuration lists %d diff_ids", s.desc.Digest, len(m.Layers), len(c.RootFS.DiffIDs))
	}
	for i, id := range c.RootFS.DiffIDs {
		if _, _, err := parseDigest(id); err != nil {
			return fmt.Errorf("manifest %s: configuration rootfs.diff_ids[%d]: %w", s.desc.Digest, i, err)
		}
	}
	s.manifest, s.config = m, c
	return nil
}

// roots are the index.json entries ref selects.
func (l *imageLayout) roots(idx *imagespec.Index, ref ImageRef) ([]imagespec.Descriptor, error) {
	switch {
	case ref.Tag != "":
		var out []imagespec.Descriptor
		for _, d := range idx.Manifests {
			if d.Annotations[imagespec.AnnotationRefName] == ref.Tag {
				out = append(out, d)
			}
		}
		if len(out) == 0 {
			return nil, fmt.Errorf("image layout %s has no image tagged %q%s", l.name, ref.Tag, tagList(idx))
		}
		return out, nil
	case ref.Digest != "":
		d, err := l.findDescriptor(idx.Manifests, ref.Digest, 0)
		if err != nil {
			return nil, err
		}
		return []imagespec.Descriptor{d}, nil
	}
	if tags := tags(idx); len(tags) > 1 {
		return nil, fmt.Errorf("image layout %s holds several images (tags %s): name one as %s:TAG", l.name, strings.Join(tags, ", "), l.name)
	}
	return idx.Manifests, nil
}

func tags(idx *imagespec.Index) []string {
	var out []string
	for _, d := range idx.Manifests {
		if t := d.Annotations[imagespec.AnnotationRefName]; t != "" && !slices.Contains(out, t) {
			out = append(out, t)
		}
	}
	return out
}

func tagList(idx *imagespec.Index) string {
	t := tags(idx)
	if len(t) == 0 {
		return " (it has no tags)"
	}
	return " (it has " + strings.Join(t, ", ") + ")"
}

// findDescriptor looks for digest among descs and the indexes below them.
// A digest no descriptor names is still usable when its blob is there: its
// size is then the file's, and its type what the document says it is.
func (l *imageLayout) findDescriptor(descs []imagespec.Descriptor, digest string, depth int) (imagespec.Descriptor, error) {
	if d, ok := l.searchDescriptor(descs, digest, depth); ok {
		return d, nil
	}
	p, err := blobPath(digest)
	if err != nil {
		return imagespec.Descriptor{}, err
	}
	st, err := fs.Stat(l.fs, p)
	if err != nil {
		return imagespec.Descriptor{}, fmt.Errorf("image layout %s has no manifest or index %s: %w", l.name, digest, err)
	}
	d := imagespec.Descriptor{Digest: digest, Size: st.Size()}
	data, err := l.readBlob(d)
	if err != nil {
		return imagespec.Descriptor{}, err
	}
	var doc struct {
		MediaType string           `json:"mediaType"`
		Manifests *json.RawMessage `json:"manifests"`
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		return imagespec.Descriptor{}, fmt.Errorf("blob %s: %w", digest, err)
	}
	d.MediaType = doc.MediaType
	if d.MediaType == "" {
		d.MediaType = imagespec.MediaTypeImageManifest
		if doc.Manifests != nil {
			d.MediaType = imagespec.MediaTypeImageIndex
		}
	}
	return d, nil
}

func (l *imageLayout) searchDescriptor(descs []imagespec.Descriptor, digest string, depth int) (imagespec.Descriptor, bool) {
	for _, d := range descs {
		if d.Digest == digest {
			return d, true
		}
	}
	if depth >= maxIndexDepth {
		return imagespec.Descriptor{}, false
	}
	for _, d := range descs {
		if d.MediaType != imagespec.MediaTypeImageIndex && d.MediaType != imagespec.MediaTypeDockerManifestList {
			continue
		}
		if l.visits++; l.visits > maxIndexVisits {
			return imagespec.Descriptor{}, false
		}
		idx, err := l.readIndex(d)
		if err != nil {
			continue // not where the digest is; selection reports it if it matters
		}
		if found, ok := l.searchDescriptor(idx.Manifests, digest, depth+1); ok {
			return found, true
		}
	}
	return imagespec.Descriptor{}, false
}

// checkLayoutVersion reads oci-layout (image-layout.md: it must exist and
// hold imageLayoutVersion).
func (l *imageLayout) checkLayoutVersion() error {
	data, err := readLimited(l.fs, imagespec.LayoutFile, maxLayoutFile)
	if err != nil {
		return fmt.Errorf("image layout %s: %w", l.name, err)
	}
	var v imagespec.Layout
	if err := json.Unmarshal(data, &v); err != nil {
		return fmt.Errorf("image layout %s: %s: %w", l.name, imagespec.LayoutFile, err)
	}
	if v.Version != imagespec.LayoutVersion {
		return fmt.Errorf("image layout %s: %s: imageLayoutVersion %q is not supported (runj-go reads %s)",
			l.name, imagespec.LayoutFile, v.Version, imagespec.LayoutVersion)
	}
	return nil
}

func (l *imageLayout) readTopIndex() (*imagespec.Index, error) {
	data, err := readLimited(l.fs, imagespec.IndexFile, maxImageJSON)
	if err != nil {
		return nil, fmt.Errorf("image layout %s: %w", l.name, err)
	}
	idx, err := parseIndex(data)
	if err != nil {
		return nil, fmt.Errorf("image layout %s: %s: %w", l.name, imagespec.IndexFile, err)
	}
	return idx, nil
}

func (l *imageLayout) readIndex(d imagespec.Descriptor) (*imagespec.Index, error) {
	if idx, ok := l.indexes[d.Digest]; ok && idx != nil {
		return idx, nil
	}
	data, err := l.readBlob(d)
	if err != nil {
		return nil, err
	}
	idx, err := parseIndex(data)
	if err != nil {
		return nil, fmt.Errorf("index %s: %w", d.Digest, err)
	}
	l.indexes[d.Digest] = idx
	return idx, nil
}

func parseIndex(data []byte) (*imagespec.Index, error) {
	var idx imagespec.Index
	if err := json.Unmarshal(data, &idx); err != nil {
		return nil, err
	}
	if idx.SchemaVersion != 2 {
		return nil, fmt.Errorf("schemaVersion %d is not 2", idx.SchemaVersion)
	}
	if idx.MediaType != "" && idx.MediaType != imagespec.MediaTypeImageIndex && idx.MediaType != imagespec.MediaTypeDockerManifestList {
		return nil, fmt.Errorf("mediaType %q is not an image index", idx.MediaType)
	}
	return &idx, nil
}

func (l *imageLayout) readManifest(d imagespec.Descriptor) (*imagespec.Manifest, error) {
	if m, ok := l.manifests[d.Digest]; ok {
		return m, nil
	}
	data, err := l.readBlob(d)
	if err != nil {
		return nil, err
	}
	var m imagespec.Manifest
	if err := json.Unmarshal(data, &m); err != nil {
		return nil, fmt.Errorf("manifest %s: %w", d.Digest, err)
	}
	if m.SchemaVersion != 2 {
		return nil, fmt.Errorf("manifest %s: schemaVersion %d is not 2", d.Digest, m.SchemaVersion)
	}
	if m.MediaType != "" && m.MediaType != imagespec.MediaTypeImageManifest && m.MediaType != imagespec.MediaTypeDockerManifest {
		return nil, fmt.Errorf("manifest %s: mediaType %q is not an image manifest", d.Digest, m.MediaType)
	}
	l.manifests[d.Digest] = &m
	return &m, nil
}

func isImageConfig(mediaType string) bool {
	return mediaType == imagespec.MediaTypeImageConfig || mediaType == imagespec.MediaTypeDockerConfig
}

func (l *imageLayout) readConfig(d imagespec.Descriptor) (*imagespec.Image, error) {
	if c, ok := l.configs[d.Digest]; ok {
		return c, nil
	}
	data, err := l.readBlob(d)
	if err != nil {
		return nil, err
	}
	var c imagespec.Image
	if err := json.Unmarshal(data, &c); err != nil {
		return nil, fmt.Errorf("configuration %s: %w", d.Digest, err)
	}
	l.configs[d.Digest] = &c
	return &c, nil
}

// readBlob reads a JSON document's blob, verified.
func (l *imageLayout) readBlob(d imagespec.Descriptor) ([]byte, error) {
	if d.Size > maxImageJSON {
		return nil, fmt.Errorf("blob %s: %d bytes is more than the %d runj-go reads for a %s", d.Digest, d.Size, maxImageJSON, d.MediaType)
	}
	v, err := openBlob(l.fs, d)
	if err != nil {
		return nil, err
	}
	defer v.Close()
	return io.ReadAll(v)
}

// readLimited reads a file of the layout that has no descriptor.
func readLimited(fsys fs.FS, name string, limit int64) ([]byte, error) {
	// Checked before the open: opening a FIFO would block.
	if st, err := fs.Stat(fsys, name); err != nil {
		return nil, err
	} else if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("%s is not a regular file", name)
	}
	f, err := fsys.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("%s is larger than %d bytes", name, limit)
	}
	return data, nil
}
