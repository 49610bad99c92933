package bundle

import (
	"bufio"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"github.com/sirupsen/logrus"

	"github.com/runj-go/runj-go/bundle/imagespec"
	"github.com/runj-go/runj-go/rootfs"
)

// ErrBundleNotEmpty is returned when the bundle directory has contents and
// replacing them was not asked for.
var ErrBundleNotEmpty = errors.New("bundle directory is not empty")

// RootfsDir is the name of the root filesystem that CreateFromImage
// unpacks in the bundle; config.json's root.path names it.
const RootfsDir = "rootfs"

// stagingPrefix names the directory inside the bundle where an image is
// unpacked before it replaces the bundle's contents.
const stagingPrefix = ".runj-go-image-"

// ImageOptions are the choices of CreateFromImage beyond the image.
type ImageOptions struct {
	// Platform picks the manifest; the zero value is DefaultPlatform().
	Platform Platform
	// Force replaces the contents of a non-empty bundle directory.
	Force bool
	// RuntimeAnnotations are the annotations the runtime obeys, a key
	// ending in "." standing for every key it starts: the image's Labels
	// with these keys are dropped, with a warning, so that an image
	// cannot choose its own jail settings. nil drops every label under
	// "org.freebsd.".
	RuntimeAnnotations []string
}

// freebsdAnnotations is where the annotations FreeBSD runtimes obey live
// (org.freebsd.jail.*, org.freebsd.parentJail, org.freebsd.rctl).
const freebsdAnnotations = "org.freebsd."

// Image says what a bundle was made from.
type Image struct {
	Manifest string // digest of the manifest
	Platform Platform
	RefName  string // its tag in index.json, if any
}

// CreateFromImage makes dir a bundle of the image ref: the layers of the
// manifest for the platform, verified while they stream, applied in order
// to dir/rootfs, and a config.json converted from the image configuration
// (conversion.md) on top of DefaultSpec.
//
// The image is unpacked in a directory inside dir that replaces dir's
// contents only once everything has succeeded. So a refused or failed
// image leaves dir as it was: a new directory is removed again, an empty
// one stays empty, and with Force the old contents stay until the new
// ones are complete. Only a failure to remove the old contents or to move
// the new ones into place, after the image has been checked and unpacked,
// leaves dir without either. A non-empty dir without Force is
// ErrBundleNotEmpty.
func CreateFromImage(dir string, ref ImageRef, opts ImageOptions, log logrus.FieldLogger) (*Image, error) {
	return CreateFromImageContext(context.Background(), dir, ref, opts, log)
}

// CreateFromImageContext is CreateFromImage, stopped when ctx is done: the
// layers are applied as long as ctx lasts, and a ctx done before the
// bundle's contents are replaced leaves dir as a failure does. The error
// then wraps context.Cause(ctx).
func CreateFromImageContext(ctx context.Context, dir string, ref ImageRef, opts ImageOptions, log logrus.FieldLogger) (*Image, error) {
	bundleDir, err := resolvePath(dir)
	if err != nil {
		return nil, fmt.Errorf("bundle %s: %w", dir, err)
	}
	layoutDir, err := resolvePath(ref.Layout)
	if err != nil {
		return nil, fmt.Errorf("image %s: %w", ref, err)
	}
	if err := checkBundleDir(bundleDir, layoutDir, opts.Force); err != nil {
		return nil, err
	}
	want := opts.Platform
	if want == (Platform{}) {
		want = DefaultPlatform()
	}
	layout := newImageLayout(os.DirFS(layoutDir), ref.Layout, log)
	sel, err := selectImage(layout, ref, want)
	if err != nil {
		return nil, err
	}
	log.WithField("manifest", sel.desc.Digest).WithField("platform", sel.platform.String()).Debug("selected image manifest")

	cleanup, err := makeBundleDir(bundleDir)
	if err != nil {
		return nil, err
	}
	staging, err := os.MkdirTemp(bundleDir, stagingPrefix)
	if err != nil {
		cleanup()
		return nil, fmt.Errorf("bundle %s: %w", bundleDir, err)
	}
	err = unpack(ctx, layout, sel, staging, opts, log)
	// The last moment to stop: replacing the contents is not undone. A
	// stop is reported as one even if something else failed on the way.
	if cause := context.Cause(ctx); cause != nil && !errors.Is(err, cause) {
		if err == nil {
			err = fmt.Errorf("image %s: %w", layout.name, cause)
		} else {
			err = fmt.Errorf("%w (%w)", cause, err)
		}
	}
	if err != nil {
		if rmErr := removeTree(staging); rmErr != nil {
			log.WithError(rmErr).WithField("path", staging).Error("cannot remove the partly unpacked image")
		}
		cleanup()
		return nil, err
	}
	if err := replaceContents(bundleDir, staging, log); err != nil {
		cleanup()
		return nil, err
	}
	return &Image{Manifest: sel.desc.Digest, Platform: sel.platform, RefName: sel.refName}, nil
}

// resolvePath makes p absolute and resolves the symbolic links in the part
// of it that exists, appending the rest as it is. The checks of
// checkBundleDir must look at the directories that the file system calls
// after them act on: a link's own path would let a link to / or to the
// directory that holds the image pass them, and its target be emptied.
func resolvePath(p string) (string, error) {
	abs, err := filepath.Abs(p)
	if err != nil {
		return "", err
	}
	rest := ""
	for q := abs; ; q = filepath.Dir(q) {
		r, err := filepath.EvalSymlinks(q)
		if err == nil {
			return filepath.Join(r, rest), nil
		}
		if !errors.Is(err, fs.ErrNotExist) || filepath.Dir(q) == q {
			return "", err
		}
		rest = filepath.Join(filepath.Base(q), rest)
	}
}

// checkBundleDir refuses a bundle directory that cannot take an image:
// the file system root, a file, a non-empty directory without force, and
// with force a directory that holds the image itself. Both paths have
// their symbolic links resolved (resolvePath).
func checkBundleDir(abs, layoutAbs string, force bool) error {
	if filepath.Dir(abs) == abs {
		return fmt.Errorf("bundle %s: refusing to use the file system root as a bundle", abs)
	}
	st, err := os.Stat(abs)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("bundle %s: %w", abs, err)
	}
	if !st.IsDir() {
		return fmt.Errorf("bundle %s is not a directory", abs)
	}
	entries, err := os.ReadDir(abs)
	if err != nil {
		return fmt.Errorf("bundle %s: %w", abs, err)
	}
	if len(entries) == 0 {
		return nil
	}
	if !force {
		names := make([]string, 0, 3)
		for _, e := range entries[:min(3, len(entries))] {
			names = append(names, e.Name())
		}
		if len(entries) > 3 {
			names = append(names, "…")
		}
		return fmt.Errorf("%w: %s (it has %s)", ErrBundleNotEmpty, abs, strings.Join(names, ", "))
	}
	if layoutAbs == abs || strings.HasPrefix(layoutAbs, abs+string(filepath.Separator)) {
		return fmt.Errorf("bundle %s: refusing to replace its contents: the image layout %s is inside it", abs, layoutAbs)
	}
	return nil
}

// makeBundleDir creates dir and its missing parents; the returned function
// removes what it created.
func makeBundleDir(dir string) (cleanup func(), err error) {
	top := ""
	for p := dir; ; p = filepath.Dir(p) {
		if _, err := os.Lstat(p); err == nil || filepath.Dir(p) == p {
			break
		}
		top = p
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("bundle %s: %w", dir, err)
	}
	return func() {
		if top != "" {
			os.RemoveAll(top)
		}
	}, nil
}

// replaceContents moves the unpacked image from staging into dir, removing
// whatever else dir holds first. If that fails part way, dir is left
// without the old contents and without the new: empty but for what could
// not be removed.
func replaceContents(dir, staging string, log logrus.FieldLogger) error {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("bundle %s: %w", dir, err)
	}
	var moved []string
	fail := func(err error) error {
		for _, p := range moved {
			removeTree(p)
		}
		removeTree(staging)
		return fmt.Errorf("bundle %s: replacing its contents: %w", dir, err)
	}
	for _, e := range entries {
		if p := filepath.Join(dir, e.Name()); p != staging {
			if err := removeTree(p); err != nil {
				return fail(err)
			}
		}
	}
	for _, name := range []string{RootfsDir, ConfigFile} {
		to := filepath.Join(dir, name)
		if err := os.Rename(filepath.Join(staging, name), to); err != nil {
			return fail(err)
		}
		moved = append(moved, to)
	}
	// Empty now: the bundle is complete even if this fails.
	if err := os.Remove(staging); err != nil {
		log.WithError(err).Warn("cannot remove the empty staging directory")
	}
	return nil
}

// removeTree is os.RemoveAll that also removes what an image made hard to
// remove: directories without write or search permission for the owner.
func removeTree(p string) error {
	if err := os.RemoveAll(p); err == nil {
		return nil
	}
	filepath.WalkDir(p, func(q string, d fs.DirEntry, err error) error {
		if err == nil && d.IsDir() {
			os.Chmod(q, 0o700)
		}
		return nil
	})
	return os.RemoveAll(p)
}

// unpack applies the layers of sel to staging/rootfs and writes
// staging/config.json.
func unpack(ctx context.Context, layout *imageLayout, sel *selectedImage, staging string, opts ImageOptions, log logrus.FieldLogger) error {
	root := filepath.Join(staging, RootfsDir)
	if err := os.Mkdir(root, 0o755); err != nil {
		return err
	}
	// Not left to the umask: the root of the jail must be searchable by
	// its users. A layer's "./" entry sets the mode it wants.
	if err := os.Chmod(root, 0o755); err != nil {
		return err
	}
	n := len(sel.manifest.Layers)
	for i, layer := range sel.manifest.Layers {
		log.WithField("layer", layer.Digest).WithField("size", layer.Size).Debugf("applying layer %d of %d", i+1, n)
		if err := applyLayer(ctx, layout.fs, layer, sel.config.RootFS.DiffIDs[i], root, log); err != nil {
			return fmt.Errorf("image %s: layer %d of %d: %w", layout.name, i+1, n, err)
		}
	}
	spec, err := imageSpec(sel, root, opts, log)
	if err != nil {
		return fmt.Errorf("image %s: %w", layout.name, err)
	}
	return WriteSpec(staging, spec)
}

type compression int

const (
	uncompressed compression = iota
	gzipped
	zstdCompressed
)

// layerCompression maps the layer media types runj-go applies to how
// they are compressed (media-types.md, layer.md).
var layerCompression = map[string]compression{
	imagespec.MediaTypeImageLayer:                     uncompressed,
	imagespec.MediaTypeImageLayerNonDistributable:     uncompressed,
	imagespec.MediaTypeImageLayerGzip:                 gzipped,
	imagespec.MediaTypeImageLayerNonDistributableGzip: gzipped,
	imagespec.MediaTypeDockerLayerGzip:                gzipped,
	imagespec.MediaTypeDockerForeignGzip:              gzipped,
	imagespec.MediaTypeImageLayerZstd:                 zstdCompressed,
	imagespec.MediaTypeImageLayerNonDistributableZstd: zstdCompressed,
}

// zstdMaxWindow is the largest window a zstd layer may ask the decoder to
// allocate: the zstd tool's own default limit (lib/zstd.h:
// ZSTD_WINDOWLOG_LIMIT_DEFAULT 27).
const zstdMaxWindow = 1 << 27

// applyLayer streams one layer blob through its decompressor into
// rootfs.ApplyLayer, in one pass, verifying the blob's size and digest and
// the uncompressed stream's diff_id on the way. Content that fails
// verification may already be on disk when the error is returned: the
// caller removes the root. Once ctx is done, reading the blob stops, and
// the error wraps context.Cause(ctx).
func applyLayer(ctx context.Context, fsys fs.FS, d imagespec.Descriptor, diffID string, root string, log logrus.FieldLogger) error {
	blob, err := openBlob(fsys, d)
	if err != nil {
		return err
	}
	defer blob.Close()
	in := bufio.NewReaderSize(&contextReader{ctx: ctx, r: blob}, 1<<20)
	fail := func(err error) error {
		if ctx.Err() != nil {
			return err // interrupted: the rest of the blob is not read to verify it
		}
		return layerReadError(d, blob, err)
	}
	var stream io.Reader
	kind := layerCompression[d.MediaType]
	switch kind {
	case uncompressed:
		stream = in
	case gzipped:
		gz, err := gzip.NewReader(in)
		if err != nil {
			return fail(err)
		}
		defer gz.Close()
		stream = gz
	case zstdCompressed:
		zr, err := zstd.NewReader(in, zstd.WithDecoderMaxWindow(zstdMaxWindow))
		if err != nil {
			return fail(err)
		}
		defer zr.Close()
		stream = zr
	}
	// An uncompressed layer's digest is its diff_id: verified already.
	var diff *verifyingHash
	if kind != uncompressed || diffID != d.Digest {
		diff = &verifyingHash{h: newDigester(diffID), want: diffID}
		stream = io.TeeReader(stream, diff)
	}
	if err := rootfs.ApplyLayer(ctx, root, stream, d.Digest, log); err != nil {
		return fail(err)
	}
	// The tar archive may end before the blob does: all of the blob is
	// verified, and all of the uncompressed stream makes the diff_id.
	if _, err := io.Copy(io.Discard, stream); err != nil {
		return fail(err)
	}
	if err := blob.verified(); err != nil {
		return err
	}
	if diff != nil {
		return diff.check(d.Digest)
	}
	return nil
}

// contextReader reads r until ctx is done, then fails with its cause.
type contextReader struct {
	ctx context.Context
	r   io.Reader
}

func (c *contextReader) Read(p []byte) (int, error) {
	if c.ctx.Err() != nil {
		return 0, context.Cause(c.ctx)
	}
	return c.r.Read(p)
}

// layerReadError reports a blob that does not verify rather than what the
// decompressor or the tar reader made of its bad bytes: it reads the rest
// of the blob to know.
func layerReadError(d imagespec.Descriptor, blob *verifier, err error) error {
	if m := blob.verified(); m != nil {
		return m
	}
	var le *rootfs.LayerError
	if errors.As(err, &le) {
		return err // it names the layer
	}
	return fmt.Errorf("layer %s: %w", d.Digest, err)
}

// verifyingHash hashes the uncompressed layer for its diff_id.
type verifyingHash struct {
	h interface {
		io.Writer
		Sum([]byte) []byte
	}
	want string
}

func (v *verifyingHash) Write(p []byte) (int, error) { return v.h.Write(p) }

func (v *verifyingHash) check(layer string) error {
	alg, encoded, _ := strings.Cut(v.want, ":")
	if got := hex.EncodeToString(v.h.Sum(nil)); got != encoded {
		return fmt.Errorf("layer %s: its uncompressed content has digest %s:%s, not the configuration's diff_id %s: %w",
			layer, alg, got, v.want, ErrDigestMismatch)
	}
	return nil
}

// imageSpec converts the image configuration into config.json
// (conversion.md) on top of DefaultSpec, with no terminal: an image's
// process is a service, not a shell.
func imageSpec(sel *selectedImage, root string, opts ImageOptions, log logrus.FieldLogger) (*specs.Spec, error) {
	cfg := sel.config.Config
	spec := DefaultSpec()
	p := spec.Process
	p.Terminal = false
	p.Args = append(slices.Clone(cfg.Entrypoint), cfg.Cmd...)
	if len(p.Args) == 0 {
		return nil, errors.New("the image configuration has neither Entrypoint nor Cmd: there is nothing to run")
	}
	p.Env = imageEnv(cfg.Env)
	p.Cwd = "/"
	if cfg.WorkingDir != "" {
		if !path.IsAbs(cfg.WorkingDir) {
			return nil, fmt.Errorf("the image configuration's WorkingDir %q is not an absolute path", cfg.WorkingDir)
		}
		p.Cwd = cfg.WorkingDir
	}
	user, err := resolveUser(root, cfg.User)
	if err != nil {
		return nil, err
	}
	p.User = user
	spec.Annotations = imageAnnotations(sel, opts.RuntimeAnnotations, log)
	if len(cfg.Volumes) > 0 {
		log.WithField("volumes", strings.Join(slices.Sorted(maps.Keys(cfg.Volumes)), ",")).
			Warn("the image declares volumes; runj-go mounts nothing there, so their data stays in the container's root file system")
	}
	if err := Validate(spec, log); err != nil {
		return nil, fmt.Errorf("the image configuration does not make a valid %s: %w", ConfigFile, err)
	}
	return spec, nil
}

// imageEnv is the image's Env verbatim, with DefaultSpec's PATH in front
// when the image sets none (conversion.md lets a converter add variables
// the image does not name).
func imageEnv(env []string) []string {
	out := slices.Clone(env)
	for _, e := range env {
		if strings.HasPrefix(e, "PATH=") {
			return out
		}
	}
	return append([]string{"PATH=" + DefaultPath}, out...)
}

// imageAnnotations are the implicit annotations of conversion.md, the
// tag the image was found by, and the image's Labels, which win over all
// of them (conversion.md: Labels take precedence), but for the labels
// that runtimeLabel drops.
func imageAnnotations(sel *selectedImage, obeyed []string, log logrus.FieldLogger) map[string]string {
	img := sel.config
	a := map[string]string{}
	set := func(k, v string) {
		if v != "" {
			a[k] = v
		}
	}
	set(imagespec.AnnotationOS, img.OS)
	set(imagespec.AnnotationArchitecture, img.Architecture)
	set(imagespec.AnnotationVariant, img.Variant)
	set(imagespec.AnnotationOSVersion, img.OSVersion)
	set(imagespec.AnnotationOSFeatures, strings.Join(img.OSFeatures, ","))
	set(imagespec.AnnotationAuthor, img.Author)
	set(imagespec.AnnotationCreated, img.Created)
	set(imagespec.AnnotationStopSignal, img.Config.StopSignal)
	set(imagespec.AnnotationExposedPorts, strings.Join(slices.Sorted(maps.Keys(img.Config.ExposedPorts)), ","))
	set(imagespec.AnnotationRefName, sel.refName)
	for _, k := range slices.Sorted(maps.Keys(img.Config.Labels)) {
		v := img.Config.Labels[k]
		if runtimeLabel(k, obeyed) {
			log.WithField("label", k).WithField("value", v).
				Warn("dropping the image label: runj-go obeys it as an annotation, and an image must not choose its own jail settings")
			continue
		}
		a[k] = v
	}
	if len(a) == 0 {
		return nil
	}
	return a
}

// runtimeLabel tells whether an image label has the key of an annotation
// the runtime obeys (ImageOptions.RuntimeAnnotations; nil is every key
// under freebsdAnnotations). Keys compare without case: a label that
// differs from a key the runtime obeys only in case is no label an image
// needs.
func runtimeLabel(key string, obeyed []string) bool {
	key = strings.ToLower(key)
	if obeyed == nil {
		return strings.HasPrefix(key, freebsdAnnotations)
	}
	for _, r := range obeyed {
		r = strings.ToLower(r)
		if key == r || (strings.HasSuffix(r, ".") && strings.HasPrefix(key, r)) {
			return true
		}
	}
	return false
}
