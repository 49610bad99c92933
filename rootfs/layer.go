package rootfs

import (
	"archive/tar"
	"bufio"
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"slices"
	"strings"
	"sync"

	"github.com/sirupsen/logrus"
	"golang.org/x/sys/unix"
)

// ErrRefused is wrapped by the error of every layer entry that ApplyLayer
// refuses to apply because applying it could reach outside the root, or
// would create what a jail must not hold.
var ErrRefused = errors.New("refused")

// LayerError is an entry of a layer that could not be applied. Entry is
// the entry's name as the tar stream spells it; it is empty when the tar
// stream itself could not be read.
type LayerError struct {
	Layer string
	Entry string
	Err   error
}

func (e *LayerError) Error() string {
	if e.Entry == "" {
		return fmt.Sprintf("layer %s: %v", e.Layer, e.Err)
	}
	return fmt.Sprintf("layer %s: entry %q: %v", e.Layer, e.Entry, e.Err)
}

func (e *LayerError) Unwrap() error { return e.Err }

// image-spec v1.1 layer.md, "Whiteouts" and "Opaque Whiteout".
const (
	whiteoutPrefix = ".wh."
	opaqueWhiteout = ".wh..wh..opq"
)

// copyBufferSize is the size of the buffer the main loop streams files
// bigger than writerBufferSize through: large enough that a big file
// costs few read and write calls.
const copyBufferSize = 1 << 20

// ApplyLayer applies one uncompressed layer tar stream to the root
// directory root, in one streaming pass, no temporary copies, following
// image-spec v1.1 layer.md: whiteouts and opaque whiteouts delete what
// lower layers left; an existing directory keeps its content and gets the
// entry's metadata; any other existing entry is replaced.
//
// Every path is walked one component at a time from root with
// O_NOFOLLOW and *at calls, so no entry, of this layer or an earlier one,
// can make ApplyLayer write through a symbolic link. Ownership is applied
// when running as root; then modes, including setuid, setgid and sticky
// bits, extended attributes (PAX SCHILY.xattr records; skipped with a
// warning on log where the file system has none and, when not running as
// root, where setting them needs a privilege: security.capability,
// trusted.*) and times. Directory modes and times are set once
// the whole layer is written. Extended attributes of symbolic links and
// FreeBSD file flags are not applied. Regular files up to 1 MiB are
// finished (content and metadata, through their descriptors) by a few
// goroutines while the stream is read on; everything that creates,
// links or removes names happens in stream order.
//
// layer names the layer in errors (its digest). Entries with absolute
// names or ".." components, writes through symbolic links, hard links to
// anything but an existing non-directory inside root, whiteouts that
// escape their directory and device nodes are refused with an error
// wrapping ErrRefused. Every error is a *LayerError naming the layer and the
// entry. Nothing outside root is touched; on error, root may hold part of
// the layer.
//
// ctx is checked before each entry and while a file's content is copied:
// once it is done, ApplyLayer stops with a *LayerError wrapping
// context.Cause(ctx), root holding part of the layer.
func ApplyLayer(ctx context.Context, root string, r io.Reader, layer string, log logrus.FieldLogger) error {
	fd, err := openRoot(root)
	if err != nil {
		return &LayerError{Layer: layer, Err: err}
	}
	a := &applier{
		ctx:     ctx,
		log:     log.WithField("layer", layer),
		layer:   layer,
		dirs:    dirCache{root: fd},
		buf:     make([]byte, copyBufferSize),
		asRoot:  os.Geteuid() == 0,
		written: make(map[string]struct{}),
	}
	a.writers = newWriters(a, min(runtime.GOMAXPROCS(0), maxWriters))
	defer a.dirs.close()
	defer a.writers.wait()
	return a.apply(r)
}

func openRoot(root string) (int, error) {
	fd, err := retryEINTR(func() (int, error) {
		return unix.Open(root, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	})
	if err != nil {
		return -1, &os.PathError{Op: "open root", Path: root, Err: err}
	}
	return fd, nil
}

// applier holds the state of applying one layer.
type applier struct {
	ctx   context.Context
	log   logrus.FieldLogger
	layer string
	dirs  dirCache
	buf   []byte
	zero  []byte // all zeros, for finding the holes of sparse files
	// asRoot is set when running as root: ownership is applied, and
	// every extended attribute the file system supports must be set.
	asRoot bool
	// written holds the path of every entry this layer wrote and of their
	// ancestors. Whiteouts hide only what lower layers left: what is in
	// written survives them, whatever the order of the layer's entries.
	written map[string]struct{}
	// dirMeta is applied to directories once the whole layer is written,
	// so that writing their content does not change their times and a
	// read-only mode does not stop their content being written.
	dirMeta []dirMeta
	writers *writers
}

type dirMeta struct {
	entry string
	path  []string
	mode  uint32
	times [2]unix.Timespec
}

func (a *applier) apply(r io.Reader) error {
	layer := a.layer
	tr := tar.NewReader(bufio.NewReaderSize(r, 64<<10))
	prev := ""
	for {
		if err := a.writers.failed(); err != nil {
			return err
		}
		if err := a.interrupted(); err != nil {
			return &LayerError{Layer: layer, Err: err}
		}
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		// Go's reader returns ErrInsecurePath together with the header
		// when GODEBUG=tarinsecurepath=0; the name checks below refuse
		// such names with a clearer reason.
		if err != nil && !errors.Is(err, tar.ErrInsecurePath) {
			if prev != "" {
				err = fmt.Errorf("read tar stream after entry %q: %w", prev, err)
			} else {
				err = fmt.Errorf("read tar stream: %w", err)
			}
			return &LayerError{Layer: layer, Err: err}
		}
		if err := a.entry(tr, hdr); err != nil {
			return &LayerError{Layer: layer, Entry: hdr.Name, Err: err}
		}
		prev = hdr.Name
	}
	if err := a.writers.wait(); err != nil {
		return err
	}
	// Deepest first: a parent's mode could stop the walk to its
	// children. The sort is stable, so of two entries for one directory
	// the later wins.
	slices.SortStableFunc(a.dirMeta, func(x, y dirMeta) int {
		return cmp.Compare(len(y.path), len(x.path))
	})
	for _, m := range a.dirMeta {
		if err := a.finishDir(m); err != nil {
			return &LayerError{Layer: layer, Entry: m.entry, Err: err}
		}
	}
	return nil
}

// interrupted is the cause of the context's end once it is done.
func (a *applier) interrupted() error {
	if a.ctx.Err() == nil {
		return nil
	}
	return context.Cause(a.ctx)
}

// splitEntryName splits a tar entry name into its path components below
// the root, refusing names that would leave it.
func splitEntryName(name string) ([]string, error) {
	switch {
	case name == "":
		return nil, fmt.Errorf("%w: empty name", ErrRefused)
	case strings.IndexByte(name, 0) >= 0:
		return nil, fmt.Errorf("%w: name contains a NUL byte", ErrRefused)
	case name[0] == '/':
		return nil, fmt.Errorf("%w: absolute name", ErrRefused)
	}
	parts := strings.Split(name, "/")
	path := parts[:0]
	for _, p := range parts {
		switch p {
		case "", ".":
			continue
		case "..":
			return nil, fmt.Errorf("%w: name has a %q component", ErrRefused, "..")
		}
		path = append(path, p)
	}
	for _, p := range path[:max(len(path)-1, 0)] {
		// layer.md: no file or directory name begins with .wh.
		if strings.HasPrefix(p, whiteoutPrefix) {
			return nil, fmt.Errorf("%w: directory component %q has the whiteout prefix", ErrRefused, p)
		}
	}
	return path, nil
}

func (a *applier) entry(tr *tar.Reader, hdr *tar.Header) error {
	if hdr.Typeflag == tar.TypeXGlobalHeader {
		return nil
	}
	path, err := splitEntryName(hdr.Name)
	if err != nil {
		return err
	}
	if len(path) == 0 {
		if hdr.Typeflag != tar.TypeDir {
			return fmt.Errorf("%w: the root can only be a directory", ErrRefused)
		}
		return a.dir(hdr, path)
	}
	if base := path[len(path)-1]; strings.HasPrefix(base, whiteoutPrefix) {
		return a.whiteout(path[:len(path)-1], base)
	}
	switch hdr.Typeflag {
	case tar.TypeDir:
		return a.dir(hdr, path)
	case tar.TypeReg, tar.TypeGNUSparse, tar.TypeCont:
		return a.file(tr, hdr, path)
	case tar.TypeSymlink:
		return a.symlink(hdr, path)
	case tar.TypeLink:
		return a.hardlink(hdr, path)
	case tar.TypeFifo:
		return a.fifo(hdr, path)
	case tar.TypeChar, tar.TypeBlock:
		return fmt.Errorf("%w: device node (a jail gets its devices from devfs)", ErrRefused)
	default:
		return fmt.Errorf("%w: unsupported entry type %q", ErrRefused, hdr.Typeflag)
	}
}

// mark records that this layer wrote path, and so its ancestors.
func (a *applier) mark(path []string) {
	for key := strings.Join(path, "/"); key != ""; {
		if _, ok := a.written[key]; ok {
			return
		}
		a.written[key] = struct{}{}
		i := strings.LastIndexByte(key, '/')
		if i < 0 {
			return
		}
		key = key[:i]
	}
}

func (a *applier) dir(hdr *tar.Header, path []string) error {
	if len(path) > 0 {
		parent, name := path[:len(path)-1], path[len(path)-1]
		pd, err := a.dirs.open(parent, true)
		if err != nil {
			return err
		}
		err = a.create(pd.fd, path, func() error {
			return unix.Mkdirat(pd.fd, name, 0o700)
		}, true)
		pd.release()
		if err != nil {
			return fmt.Errorf("mkdir: %w", err)
		}
	}
	d, err := a.dirs.open(path, false)
	if err != nil {
		return err
	}
	defer d.release()
	if err := a.setOwner(d.fd, hdr); err != nil {
		return err
	}
	if err := a.setXattrs(d.fd, hdr); err != nil {
		return err
	}
	times, err := entryTimes(hdr)
	if err != nil {
		return err
	}
	a.dirMeta = append(a.dirMeta, dirMeta{
		entry: hdr.Name,
		path:  path,
		mode:  uint32(hdr.Mode & 0o7777),
		times: times,
	})
	a.mark(path)
	return nil
}

// finishDir sets the mode and times of a directory of the layer, unless a
// later entry of the layer replaced it.
func (a *applier) finishDir(m dirMeta) error {
	d, err := a.dirs.open(m.path, false)
	if errors.Is(err, unix.ENOENT) || errors.Is(err, unix.ENOTDIR) || errors.Is(err, ErrRefused) {
		return nil
	}
	if err != nil {
		return err
	}
	defer d.release()
	if err := unix.Fchmod(d.fd, m.mode); err != nil {
		return fmt.Errorf("chmod: %w", err)
	}
	if err := futimens(d.fd, &m.times); err != nil {
		return fmt.Errorf("set times: %w", err)
	}
	return nil
}

func (a *applier) file(tr *tar.Reader, hdr *tar.Header, path []string) error {
	times, err := entryTimes(hdr)
	if err != nil {
		return err
	}
	parent, name := path[:len(path)-1], path[len(path)-1]
	pd, err := a.dirs.open(parent, true)
	if err != nil {
		return err
	}
	defer pd.release()
	fd := -1
	err = a.create(pd.fd, path, func() (err error) {
		fd, err = retryEINTR(func() (int, error) {
			return unix.Openat(pd.fd, name, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o600)
		})
		return err
	}, false)
	if err != nil {
		return fmt.Errorf("create: %w", err)
	}
	a.mark(path)
	sparse := sparseEntry(hdr)
	if !sparse && hdr.Size <= writerBufferSize {
		return a.writers.start(fd, tr, hdr, times)
	}
	defer unix.Close(fd)
	if sparse {
		err = a.copySparse(fd, tr, hdr.Size)
	} else {
		err = a.copy(fd, tr)
	}
	if err != nil {
		return err
	}
	return a.finishFile(fd, hdr, &times)
}

// finishFile sets the metadata of a regular file whose content is written,
// or of a fifo.
func (a *applier) finishFile(fd int, hdr *tar.Header, times *[2]unix.Timespec) error {
	if err := a.setAttrs(fd, hdr); err != nil {
		return err
	}
	if err := futimens(fd, times); err != nil {
		return fmt.Errorf("set times: %w", err)
	}
	return nil
}

// setAttrs sets owner, mode and extended attributes, in that order: chown
// clears setuid and setgid bits and file capabilities.
func (a *applier) setAttrs(fd int, hdr *tar.Header) error {
	if err := a.setOwner(fd, hdr); err != nil {
		return err
	}
	if err := unix.Fchmod(fd, uint32(hdr.Mode&0o7777)); err != nil {
		return fmt.Errorf("chmod: %w", err)
	}
	return a.setXattrs(fd, hdr)
}

func (a *applier) setOwner(fd int, hdr *tar.Header) error {
	if !a.asRoot {
		return nil
	}
	if err := unix.Fchown(fd, hdr.Uid, hdr.Gid); err != nil {
		return fmt.Errorf("chown %d:%d: %w", hdr.Uid, hdr.Gid, err)
	}
	return nil
}

// copy copies the current entry's content to fd through the one buffer.
func (a *applier) copy(fd int, r io.Reader) error {
	for {
		if err := a.interrupted(); err != nil {
			return err
		}
		n, rerr := fillBuffer(r, a.buf)
		if n > 0 {
			if err := writeFull(fd, a.buf[:n]); err != nil {
				return fmt.Errorf("write: %w", err)
			}
		}
		if rerr == io.EOF {
			return nil
		}
		if rerr != nil {
			return fmt.Errorf("read content: %w", rerr)
		}
	}
}

// sparseBlock is the granularity at which the zeros Go's tar reader makes
// of a sparse file's holes are turned back into holes.
const sparseBlock = 64 << 10

// copySparse copies a sparse entry, skipping the blocks of zeros so that
// a huge sparse file stays small on disk.
func (a *applier) copySparse(fd int, r io.Reader, size int64) error {
	if a.zero == nil {
		a.zero = make([]byte, sparseBlock)
	}
	var off int64
	for {
		if err := a.interrupted(); err != nil {
			return err
		}
		n, rerr := fillBuffer(r, a.buf)
		for i := 0; i < n; i += sparseBlock {
			b := a.buf[i:min(i+sparseBlock, n)]
			if !bytes.Equal(b, a.zero[:len(b)]) {
				if err := pwriteFull(fd, b, off+int64(i)); err != nil {
					return fmt.Errorf("write: %w", err)
				}
			}
		}
		off += int64(n)
		if rerr == io.EOF {
			break
		}
		if rerr != nil {
			return fmt.Errorf("read content: %w", rerr)
		}
	}
	if err := unix.Ftruncate(fd, size); err != nil {
		return fmt.Errorf("truncate: %w", err)
	}
	return nil
}

// sparseEntry reports whether hdr is a GNU sparse file, old or PAX format.
func sparseEntry(hdr *tar.Header) bool {
	if hdr.Typeflag == tar.TypeGNUSparse {
		return true
	}
	for k := range hdr.PAXRecords {
		if strings.HasPrefix(k, "GNU.sparse.") {
			return true
		}
	}
	return false
}

func (a *applier) symlink(hdr *tar.Header, path []string) error {
	parent, name := path[:len(path)-1], path[len(path)-1]
	pd, err := a.dirs.open(parent, true)
	if err != nil {
		return err
	}
	defer pd.release()
	err = a.create(pd.fd, path, func() error {
		return unix.Symlinkat(hdr.Linkname, pd.fd, name)
	}, false)
	if err != nil {
		return fmt.Errorf("symlink to %q: %w", hdr.Linkname, err)
	}
	if a.asRoot {
		if err := unix.Fchownat(pd.fd, name, hdr.Uid, hdr.Gid, unix.AT_SYMLINK_NOFOLLOW); err != nil {
			return fmt.Errorf("chown %d:%d: %w", hdr.Uid, hdr.Gid, err)
		}
	}
	if err := setEntryTimesAt(pd.fd, name, hdr); err != nil {
		return err
	}
	a.mark(path)
	return nil
}

// hardlink links path to the entry hdr.Linkname names, a path inside the
// root resolved without following symbolic links. A hard link to a
// symbolic link links the symbolic link itself. Metadata is the target's.
func (a *applier) hardlink(hdr *tar.Header, path []string) error {
	target, err := splitEntryName(hdr.Linkname)
	if err != nil {
		return fmt.Errorf("hard link target %q: %w", hdr.Linkname, err)
	}
	if len(target) == 0 {
		return fmt.Errorf("%w: hard link to the root directory", ErrRefused)
	}
	if samePath(target, path) {
		return nil
	}
	parent, name := path[:len(path)-1], path[len(path)-1]
	pd, err := a.dirs.open(parent, true)
	if err != nil {
		return err
	}
	defer pd.release()
	td, err := walkDirNoFollow(a.dirs.root, target[:len(target)-1])
	if err != nil {
		if errors.Is(err, unix.ENOENT) || errors.Is(err, unix.ENOTDIR) {
			return fmt.Errorf("%w: hard link target %q does not exist", ErrRefused, hdr.Linkname)
		}
		return fmt.Errorf("hard link target %q: %w", hdr.Linkname, err)
	}
	defer unix.Close(td)
	tname := target[len(target)-1]
	var st unix.Stat_t
	if err := unix.Fstatat(td, tname, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		if errors.Is(err, unix.ENOENT) {
			return fmt.Errorf("%w: hard link target %q does not exist", ErrRefused, hdr.Linkname)
		}
		return fmt.Errorf("hard link target %q: %w", hdr.Linkname, err)
	}
	if st.Mode&unix.S_IFMT == unix.S_IFDIR {
		return fmt.Errorf("%w: hard link target %q is a directory", ErrRefused, hdr.Linkname)
	}
	// linkat without AT_SYMLINK_FOLLOW links a symbolic link itself.
	err = a.create(pd.fd, path, func() error {
		return unix.Linkat(td, tname, pd.fd, name, 0)
	}, false)
	if err != nil {
		return fmt.Errorf("hard link to %q: %w", hdr.Linkname, err)
	}
	a.mark(path)
	return nil
}

func (a *applier) fifo(hdr *tar.Header, path []string) error {
	parent, name := path[:len(path)-1], path[len(path)-1]
	pd, err := a.dirs.open(parent, true)
	if err != nil {
		return err
	}
	defer pd.release()
	err = a.create(pd.fd, path, func() error {
		return unix.Mknodat(pd.fd, name, unix.S_IFIFO|0o600, 0)
	}, false)
	if err != nil {
		return fmt.Errorf("mkfifo: %w", err)
	}
	// Opening a fifo for reading without blocking succeeds at once and
	// gives a descriptor for the metadata calls.
	fd, err := retryEINTR(func() (int, error) {
		return unix.Openat(pd.fd, name, unix.O_RDONLY|unix.O_NONBLOCK|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	})
	if err != nil {
		return fmt.Errorf("open fifo: %w", err)
	}
	defer unix.Close(fd)
	times, err := entryTimes(hdr)
	if err != nil {
		return err
	}
	if err := a.finishFile(fd, hdr, &times); err != nil {
		return err
	}
	a.mark(path)
	return nil
}

// create runs mk to create the last component of path in the directory
// pfd. If something is already there, it is removed and mk runs again;
// when keepDir is set, an existing directory is kept instead: layer.md
// replaces a directory's attributes, not the directory.
func (a *applier) create(pfd int, path []string, mk func() error, keepDir bool) error {
	err := mk()
	if !errors.Is(err, unix.EEXIST) {
		return err
	}
	name := path[len(path)-1]
	if keepDir {
		var st unix.Stat_t
		if err := unix.Fstatat(pfd, name, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
			return err
		}
		if st.Mode&unix.S_IFMT == unix.S_IFDIR {
			return nil
		}
	}
	if err := a.remove(pfd, path); err != nil {
		return err
	}
	return mk()
}

// remove removes the last component of path, in the directory pfd, with
// everything below it.
func (a *applier) remove(pfd int, path []string) error {
	err := removeTreeAt(pfd, path[len(path)-1])
	if err != nil && !errors.Is(err, unix.ENOENT) {
		return fmt.Errorf("remove %s: %w", strings.Join(path, "/"), err)
	}
	return nil
}

// whiteout applies the whiteout base found in the directory dir.
func (a *applier) whiteout(dir []string, base string) error {
	var name string
	if base != opaqueWhiteout {
		name = base[len(whiteoutPrefix):]
		if name == "" || name == "." || name == ".." {
			return fmt.Errorf("%w: whiteout escapes its directory", ErrRefused)
		}
	}
	d, err := a.dirs.open(dir, false)
	if errors.Is(err, unix.ENOENT) || errors.Is(err, unix.ENOTDIR) {
		return nil // nothing below to hide
	}
	if err != nil {
		return err
	}
	defer d.release()
	if base == opaqueWhiteout {
		return a.opaque(d.fd, dir)
	}
	return a.removeLower(d.fd, childPath(dir, name))
}

// opaque removes from the directory dir, open as dfd, what lower layers
// left there. What this layer wrote stays: layer.md applies an opaque
// whiteout before the other entries of its layer in that directory,
// wherever it is in the stream.
func (a *applier) opaque(dfd int, dir []string) error {
	names, err := listDirAt(dfd)
	if err != nil {
		return fmt.Errorf("read directory: %w", err)
	}
	for _, n := range names {
		if err := a.removeLower(dfd, childPath(dir, n)); err != nil {
			return err
		}
	}
	return nil
}

// removeLower removes the last component of path, in the directory pfd,
// as far as lower layers made it: an entry this layer wrote stays and, if
// it is a directory, loses only what lower layers left in it.
func (a *applier) removeLower(pfd int, path []string) error {
	if _, ok := a.written[strings.Join(path, "/")]; !ok {
		return a.remove(pfd, path)
	}
	name := path[len(path)-1]
	var st unix.Stat_t
	if err := unix.Fstatat(pfd, name, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return fmt.Errorf("stat %s: %w", strings.Join(path, "/"), err)
	}
	if st.Mode&unix.S_IFMT != unix.S_IFDIR {
		return nil
	}
	fd, err := openDirNoFollow(pfd, name)
	if err != nil {
		return fmt.Errorf("open %s: %w", strings.Join(path, "/"), err)
	}
	defer unix.Close(fd)
	return a.opaque(fd, path)
}

// setEntryTimesAt sets the times of name in the directory dfd, not
// following a symbolic link.
func setEntryTimesAt(dfd int, name string, hdr *tar.Header) error {
	times, err := entryTimes(hdr)
	if err != nil {
		return err
	}
	if err := unix.UtimesNanoAt(dfd, name, times[:], unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return fmt.Errorf("set times: %w", err)
	}
	return nil
}

// entryTimes is the access and modification time of hdr; an entry without
// an access time gets its modification time.
func entryTimes(hdr *tar.Header) ([2]unix.Timespec, error) {
	atime := hdr.AccessTime
	if atime.IsZero() {
		atime = hdr.ModTime
	}
	at, err := unix.TimeToTimespec(atime)
	if err != nil {
		return [2]unix.Timespec{}, fmt.Errorf("access time %v: %w", atime, err)
	}
	mt, err := unix.TimeToTimespec(hdr.ModTime)
	if err != nil {
		return [2]unix.Timespec{}, fmt.Errorf("modification time %v: %w", hdr.ModTime, err)
	}
	return [2]unix.Timespec{at, mt}, nil
}

// xattrPrefix marks the extended attributes of an entry among its PAX
// records (the form GNU tar, libarchive and Go's archive/tar write).
const xattrPrefix = "SCHILY.xattr."

// setXattrs sets the extended attributes of hdr on fd. One that cannot be
// set here (xattrSkippable) is skipped with a warning: the layer is
// applied as well as this system and these privileges allow.
func (a *applier) setXattrs(fd int, hdr *tar.Header) error {
	for k, v := range hdr.PAXRecords {
		name, ok := strings.CutPrefix(k, xattrPrefix)
		if !ok {
			continue
		}
		err := unix.Fsetxattr(fd, name, []byte(v), 0)
		if err == nil {
			continue
		}
		if !xattrSkippable(err, a.asRoot) {
			return fmt.Errorf("set extended attribute %s: %w", name, err)
		}
		a.log.WithError(err).WithField("entry", hdr.Name).WithField("xattr", name).
			Warn("extended attribute not set: not supported here")
	}
	return nil
}

// xattrSkippable tells whether an extended attribute that failed to be set
// with err may be left out: the file system or the system has no such
// attribute, or, when not running as root, the attribute needs a
// privilege (EPERM: on Linux security.capability needs CAP_SETFCAP and
// trusted.* CAP_SYS_ADMIN, xattr(7); on FreeBSD the system namespace needs
// root, extattr(2)), as a rootless unpack must (containerd's archive.Apply
// never sets trusted.* and warns instead). As root, EPERM is a real
// failure.
func xattrSkippable(err error, asRoot bool) bool {
	return xattrUnsupported(err) || (!asRoot && errors.Is(err, unix.EPERM))
}

func samePath(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// childPath returns path with name appended, never sharing path's array.
func childPath(path []string, name string) []string {
	return append(path[:len(path):len(path)], name)
}

// fillBuffer reads from r until buf is full or r fails; io.EOF means the end.
func fillBuffer(r io.Reader, buf []byte) (int, error) {
	n := 0
	for n < len(buf) {
		m, err := r.Read(buf[n:])
		n += m
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

func writeFull(fd int, b []byte) error {
	for len(b) > 0 {
		n, err := unix.Write(fd, b)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return err
		}
		if n == 0 {
			return io.ErrShortWrite
		}
		b = b[n:]
	}
	return nil
}

func pwriteFull(fd int, b []byte, off int64) error {
	for len(b) > 0 {
		n, err := unix.Pwrite(fd, b, off)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return err
		}
		if n == 0 {
			return io.ErrShortWrite
		}
		b, off = b[n:], off+int64(n)
	}
	return nil
}

func retryEINTR(f func() (int, error)) (int, error) {
	for {
		n, err := f()
		if err != unix.EINTR {
			return n, err
		}
	}
}

// openDirNoFollow opens the directory name in dfd, refusing a symbolic link.
func openDirNoFollow(dfd int, name string) (int, error) {
	return retryEINTR(func() (int, error) {
		return unix.Openat(dfd, name, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	})
}

// walkError explains why the directory name in dfd, the last component of
// path, could not be opened: a symbolic link there is refused.
func walkError(dfd int, name string, path []string, err error) error {
	if errors.Is(err, unix.ENOENT) {
		return fmt.Errorf("open %s: %w", strings.Join(path, "/"), err)
	}
	var st unix.Stat_t
	if serr := unix.Fstatat(dfd, name, &st, unix.AT_SYMLINK_NOFOLLOW); serr == nil {
		switch st.Mode & unix.S_IFMT {
		case unix.S_IFLNK:
			return fmt.Errorf("%w: %s is a symbolic link, not followed", ErrRefused, strings.Join(path, "/"))
		case unix.S_IFDIR:
		default:
			return fmt.Errorf("open %s: %w", strings.Join(path, "/"), unix.ENOTDIR)
		}
	}
	return fmt.Errorf("open %s: %w", strings.Join(path, "/"), err)
}

// walkDirNoFollow opens the directory path below the directory root, one
// component at a time, never following a symbolic link. The caller closes
// the descriptor.
func walkDirNoFollow(root int, path []string) (int, error) {
	fd, err := retryEINTR(func() (int, error) { return unix.Dup(root) })
	if err != nil {
		return -1, err
	}
	for i, name := range path {
		next, err := openDirNoFollow(fd, name)
		if err != nil {
			err = walkError(fd, name, path[:i+1], err)
			unix.Close(fd)
			return -1, err
		}
		unix.Close(fd)
		fd = next
	}
	return fd, nil
}

// removeTreeAt removes name in the directory dfd and everything below it,
// never following a symbolic link.
func removeTreeAt(dfd int, name string) error {
	var st unix.Stat_t
	if err := unix.Fstatat(dfd, name, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return err
	}
	if st.Mode&unix.S_IFMT != unix.S_IFDIR {
		return unix.Unlinkat(dfd, name, 0)
	}
	fd, err := openDirNoFollow(dfd, name)
	if err != nil {
		return err
	}
	names, err := listDirAt(fd)
	for _, n := range names {
		if err != nil {
			break
		}
		if err = removeTreeAt(fd, n); errors.Is(err, unix.ENOENT) {
			err = nil
		}
	}
	unix.Close(fd)
	if err != nil {
		return err
	}
	return unix.Unlinkat(dfd, name, unix.AT_REMOVEDIR)
}

// listDirAt lists the directory dfd, without "." and "..". It reads
// through its own descriptor, leaving dfd's offset alone.
func listDirAt(dfd int) ([]string, error) {
	fd, err := openDirNoFollow(dfd, ".")
	if err != nil {
		return nil, err
	}
	defer unix.Close(fd)
	var names []string
	buf := make([]byte, 8<<10)
	for {
		n, err := unix.ReadDirent(fd, buf)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return nil, err
		}
		if n <= 0 {
			return names, nil
		}
		_, _, names = unix.ParseDirent(buf[:n], -1, names)
	}
}

// maxCachedDirs bounds the descriptors a dirCache keeps open; deeper
// directories are opened for each use.
const maxCachedDirs = 128

// dirCache keeps the directories of the last path walked open, so that
// the next entry, usually in the same directory or next to it, needs no
// walk from the root. Every descriptor in it was opened without following
// a symbolic link. open drops what the cache held below the directory it
// opens, and everything ApplyLayer removes is below a directory it just
// opened, so the cache never holds a removed directory.
type dirCache struct {
	root  int
	names []string
	fds   []int
}

// dirFD is an open directory; release it when done.
type dirFD struct {
	fd    int
	owned bool
}

func (d dirFD) release() {
	if d.owned {
		unix.Close(d.fd)
	}
}

// open opens the directory path below the root without following
// symbolic links. With create, missing directories are made, mode 0755.
func (c *dirCache) open(path []string, create bool) (dirFD, error) {
	k := 0
	for k < len(c.names) && k < len(path) && c.names[k] == path[k] {
		k++
	}
	c.truncate(k)
	d := dirFD{fd: c.root}
	if k > 0 {
		d.fd = c.fds[k-1]
	}
	for i := k; i < len(path); i++ {
		fd, err := openDirNoFollow(d.fd, path[i])
		if errors.Is(err, unix.ENOENT) && create {
			fd, err = mkdirImplicit(d.fd, path[i])
		}
		if err != nil {
			err = walkError(d.fd, path[i], path[:i+1], err)
			d.release()
			return dirFD{}, err
		}
		if i < maxCachedDirs {
			c.names = append(c.names, path[i])
			c.fds = append(c.fds, fd)
			d = dirFD{fd: fd}
		} else {
			d.release()
			d = dirFD{fd: fd, owned: true}
		}
	}
	return d, nil
}

// mkdirImplicit makes and opens a directory a layer needs but does not list.
func mkdirImplicit(dfd int, name string) (int, error) {
	if err := unix.Mkdirat(dfd, name, 0o755); err != nil && err != unix.EEXIST {
		return -1, err
	}
	fd, err := openDirNoFollow(dfd, name)
	if err != nil {
		return -1, err
	}
	// Not left to the umask.
	if err := unix.Fchmod(fd, 0o755); err != nil {
		unix.Close(fd)
		return -1, err
	}
	return fd, nil
}

func (c *dirCache) truncate(n int) {
	for _, fd := range c.fds[n:] {
		unix.Close(fd)
	}
	c.names, c.fds = c.names[:n], c.fds[:n]
}

func (c *dirCache) close() {
	c.truncate(0)
	unix.Close(c.root)
}

// maxWriters bounds the goroutines finishing regular files; the main loop
// is one more.
const maxWriters = 4

// writerBufferSize is the largest file handed to a writer; the main loop
// streams bigger ones itself.
const writerBufferSize = 1 << 20

// writers finish regular files off the main loop. A file's content,
// owner, mode, extended attributes and times are set through its open
// descriptor and touch nothing else, so they need not be in order with the
// later entries of the layer; everything that changes the namespace
// (creating, linking, removing) stays in order in the main loop. A
// descriptor handed to a writer still names the file the main loop
// created, even if a later entry replaces it.
type writers struct {
	a    *applier
	jobs chan fileJob
	// free holds the buffers not in use; made counts those allocated,
	// at most cap(free), which bounds the memory and the descriptors in
	// flight.
	free chan []byte
	made int
	wg   sync.WaitGroup
	once sync.Once
	mu   sync.Mutex
	err  error
}

// fileJob is a created regular file with its content read.
type fileJob struct {
	fd    int
	hdr   *tar.Header
	times [2]unix.Timespec
	buf   []byte
	data  []byte
}

// newWriters starts n writers; with none, the main loop writes every file.
func newWriters(a *applier, n int) *writers {
	if n < 1 {
		n = 1
	}
	w := &writers{a: a, jobs: make(chan fileJob, 4*n), free: make(chan []byte, 4*n)}
	w.wg.Add(n)
	for range n {
		go w.run()
	}
	return w
}

// start reads the content of the file open as fd and hands the file to a
// writer.
func (w *writers) start(fd int, tr io.Reader, hdr *tar.Header, times [2]unix.Timespec) error {
	var buf []byte
	select {
	case buf = <-w.free:
	default:
		if w.made < cap(w.free) {
			w.made++
			buf = make([]byte, writerBufferSize)
		} else {
			buf = <-w.free
		}
	}
	data := buf[:hdr.Size]
	if _, err := io.ReadFull(tr, data); err != nil {
		w.free <- buf
		unix.Close(fd)
		return fmt.Errorf("read content: %w", err)
	}
	w.jobs <- fileJob{fd: fd, hdr: hdr, times: times, buf: buf, data: data}
	return nil
}

func (w *writers) run() {
	defer w.wg.Done()
	for j := range w.jobs {
		if w.failed() == nil {
			if err := w.finish(j); err != nil {
				w.mu.Lock()
				if w.err == nil {
					w.err = &LayerError{Layer: w.a.layer, Entry: j.hdr.Name, Err: err}
				}
				w.mu.Unlock()
			}
		}
		unix.Close(j.fd)
		w.free <- j.buf
	}
}

func (w *writers) finish(j fileJob) error {
	if err := writeFull(j.fd, j.data); err != nil {
		return fmt.Errorf("write: %w", err)
	}
	return w.a.finishFile(j.fd, j.hdr, &j.times)
}

// failed is the first error of a writer, a *LayerError.
func (w *writers) failed() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.err
}

// wait lets the writers finish the files handed to them and stop.
func (w *writers) wait() error {
	w.once.Do(func() {
		close(w.jobs)
		w.wg.Wait()
	})
	return w.failed()
}
