package rootfs

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"syscall"
)

// Mount destinations are resolved with the semantics of FreeBSD's
// O_RESOLVE_BENEATH (open(2), FreeBSD 13 and later), not chroot's: the
// lookup starts at the container's root and fails, instead of being clamped,
// when it would leave it:
//
//   - an absolute symbolic link anywhere on the way leaves the root, even one
//     whose target would exist inside it (sys/kern/vfs_lookup.c:
//     namei_handle_root returns ENOTCAPABLE for a strictly relative lookup);
//   - ".." may only return to a directory the lookup went through, so ".."
//     above the root leaves it (vfs_lookup.c: nameicap_check_dotdot);
//   - relative symbolic links that stay inside are followed, at every
//     component including the last, and count towards MAXSYMLINKS.
//
// The walk goes component by component with Lstat and Readlink and only ever
// appends a name that is neither ".", ".." nor contains "/" to a path known to
// lie beneath the root, so no string join can lead outside. What it returns is
// physical: no component of a returned host path is a symbolic link.
//
// Two choices go beyond what a kernel lookup does, because a mount
// destination may not exist yet:
//
//   - Once a component is missing, the rest cannot exist; it is taken
//     lexically: "." is skipped and ".." drops the last missing component (so
//     "/new/../etc" is "/etc", and "/new/../../etc" leaves the root).
//   - A dangling symbolic link is followed like any other: its target,
//     resolved beneath the root by the same rules, is what is missing and what
//     Prepare creates; the link itself is never replaced. Following it cannot
//     reach anything the image could not already place inside its own root,
//     and images rely on it (an /etc/resolv.conf linking to a file under /run
//     that exists only at run time). A dangling link that leaves the root is
//     refused like any other.
//
// Between the walk and the use of its result, a process with write access
// inside the root could swap a directory for a symbolic link. On FreeBSD the
// walk's result is checked again by the kernel, with AT_RESOLVE_BENEATH, and
// must be the file the walk found; Prepare creates each missing component
// with mkdirat(2) or openat(2) relative to a descriptor of its parent, opened
// component by component with O_NOFOLLOW and O_RESOLVE_BENEATH, so a swap
// cannot redirect a creation outside the root (resolve_freebsd.go). Other
// systems have no such lookup; there the check repeats the walk and creation
// goes by path (resolve_other.go). Nothing can keep the returned host path,
// which the mount takes as a string, from being swapped after it is checked.

// maxSymlinks is the number of symbolic links one resolution may follow.
// sys/sys/param.h: MAXSYMLINKS = 32; namei fails with ELOOP when asked to
// follow one more (sys/kern/vfs_lookup.c: ni_loopcnt++ >= MAXSYMLINKS).
const maxSymlinks = 32

// ErrEscape is wrapped by every error about a mount destination that would
// lead outside the container's root.
var ErrEscape = errors.New("leads outside the root")

// errChanged is wrapped when the file system changed between the walk and
// its check, or while Prepare was creating what was missing.
var errChanged = errors.New("changed while it was being resolved")

// Resolve returns the host path of dest, an absolute path inside the
// container, under root, following symbolic links beneath root only. The
// components that do not exist yet are reported as missing (host paths,
// parent first), not created; host is the last of them when any is missing.
//
// Errors name dest and the offending component. They wrap ErrEscape when the
// lookup would leave root (an absolute symbolic link, or ".." above root),
// syscall.ENOTDIR when a component that is not a directory is looked
// through, and syscall.ELOOP after more than 32 symbolic links.
func Resolve(root, dest string) (host string, missing []string, err error) {
	r, err := resolve(root, dest)
	if err != nil {
		return "", nil, err
	}
	return r.host(len(r.names)), r.missing(), nil
}

// Prepare resolves dest as Resolve does and creates what is missing:
// directories (mode 0755 before the umask), or, for a file mount (file: the
// mount source is not a directory), directories for all but the last
// component and an empty file (0644 before the umask) last. It returns the
// host path and the host paths it created, parent first, so that undoing it
// removes exactly those, in reverse. When nothing is missing it creates
// nothing.
//
// An existing destination must suit the mount: a directory unless file is
// set (else the error wraps syscall.ENOTDIR), not a directory if it is (else
// syscall.EISDIR). If a creation fails, what Prepare created is removed
// again.
func Prepare(root, dest string, file bool) (host string, created []string, err error) {
	r, err := resolve(root, dest)
	if err != nil {
		return "", nil, err
	}
	host = r.host(len(r.names))
	if r.exist == len(r.names) {
		if err := r.suits(file); err != nil {
			return "", nil, err
		}
		return host, nil, nil
	}
	for i := r.exist; i < len(r.names); i++ {
		parent, name := r.rel(i), r.names[i]
		if file && i == len(r.names)-1 {
			err = createBeneath(r.root, parent, name)
		} else {
			err = mkdirBeneath(r.root, parent, name)
		}
		if err != nil {
			err = r.failErr(r.inside(i+1), err)
			return "", nil, errors.Join(err, r.undo(i, file))
		}
		created = append(created, r.host(i+1))
	}
	// The destination must now resolve to what was created.
	again, err := resolve(root, dest)
	if err == nil && (again.exist != len(again.names) || again.host(len(again.names)) != host) {
		err = r.failErr(r.inside(len(r.names)), errChanged)
	}
	if err != nil {
		return "", nil, errors.Join(err, r.undo(len(r.names), file))
	}
	return host, created, nil
}

// resolution is a destination walked beneath a root.
type resolution struct {
	root string
	dest string
	// names is the physical path beneath root, one component each: none is
	// "", "." or "..", contains "/", or names a symbolic link.
	names []string
	// exist is how many of names exist; the others are missing.
	exist int
	// infos holds the Lstat of root and of each existing prefix of names:
	// infos[i] is the file names[:i] leads to.
	infos []fs.FileInfo
}

// component is one step of the lookup still to take.
type component struct {
	name string
	// link is the symbolic link whose target the component comes from, nil
	// for a component of the destination itself.
	link *symlink
}

// symlink is a symbolic link met during the walk: its path inside the
// container and its target.
type symlink struct {
	path, target string
}

func resolve(root, dest string) (*resolution, error) {
	if !filepath.IsAbs(root) {
		return nil, fmt.Errorf("container root %q is not an absolute path", root)
	}
	r := &resolution{root: filepath.Clean(root), dest: dest}
	if strings.IndexByte(dest, 0) >= 0 {
		return nil, &destError{dest: dest, msg: "contains a NUL byte", err: syscall.EINVAL}
	}
	fi, err := os.Stat(r.root)
	if err != nil {
		return nil, fmt.Errorf("container root: %w", err)
	}
	if !fi.IsDir() {
		return nil, fmt.Errorf("container root %q: %w", r.root, syscall.ENOTDIR)
	}
	r.infos = []fs.FileInfo{fi}
	links := 0
	todo := splitDest(dest, nil)
	for len(todo) > 0 {
		c := todo[0]
		todo = todo[1:]
		if r.exist == len(r.names) && !r.infos[r.exist].IsDir() {
			return nil, r.fail(r.exist, "is not a directory", syscall.ENOTDIR)
		}
		switch {
		case c.name == ".":
		case c.name == "..":
			if len(r.names) == 0 {
				return nil, escapeDotDot(r, c)
			}
			r.pop()
		case r.exist < len(r.names):
			r.names = append(r.names, c.name)
		default:
			link, err := r.step(c.name)
			if err != nil {
				return nil, err
			}
			if link == nil {
				continue
			}
			if links++; links > maxSymlinks {
				return nil, r.failLink(link, fmt.Sprintf("which is one more than the %d a lookup may follow", maxSymlinks), syscall.ELOOP)
			}
			if strings.HasPrefix(link.target, "/") {
				return nil, r.failLink(link, "which leads outside the root", ErrEscape)
			}
			todo = append(splitDest(link.target, link), todo...)
		}
	}
	if err := checkBeneath(r.root, r.rel(r.exist), r.infos[r.exist]); err != nil {
		return nil, r.failErr(r.inside(r.exist), err)
	}
	return r, nil
}

// step looks up name in the existing directory the walk is in. A directory
// or file is appended to names, a missing name too (as missing); a symbolic
// link is returned for the caller to follow.
func (r *resolution) step(name string) (*symlink, error) {
	p := filepath.Join(r.host(len(r.names)), name)
	fi, err := os.Lstat(p)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		r.names = append(r.names, name)
		return nil, nil
	case err != nil:
		return nil, r.failErr(r.inside(len(r.names), name), err)
	case fi.Mode()&fs.ModeSymlink == 0:
		r.names = append(r.names, name)
		r.exist++
		r.infos = append(r.infos, fi)
		return nil, nil
	}
	target, err := os.Readlink(p)
	if err != nil {
		return nil, r.failErr(r.inside(len(r.names), name), err)
	}
	link := &symlink{path: r.inside(len(r.names), name), target: target}
	if target == "" {
		// vfs_lookup.c: an empty link target fails the lookup with ENOENT.
		return nil, r.failLink(link, "which is empty", syscall.ENOENT)
	}
	return link, nil
}

// pop takes the walk to the parent of where it is.
func (r *resolution) pop() {
	r.names = r.names[:len(r.names)-1]
	if r.exist > len(r.names) {
		r.exist = len(r.names)
		r.infos = r.infos[:r.exist+1]
	}
}

// suits checks that the existing destination can take a mount of a file
// (file) or of a directory.
func (r *resolution) suits(file bool) error {
	dir := r.infos[r.exist].IsDir()
	switch {
	case file && dir:
		return r.fail(r.exist, "is a directory, and the mount source is a file", syscall.EISDIR)
	case !file && !dir:
		return r.fail(r.exist, "is not a directory, and the mount source is one", syscall.ENOTDIR)
	}
	return nil
}

// undo removes the missing components that Prepare created, names[r.exist:n],
// last first; the last of names is a file if file is set.
func (r *resolution) undo(n int, file bool) error {
	var errs []error
	for i := n - 1; i >= r.exist; i-- {
		dir := !file || i < len(r.names)-1
		if err := removeBeneath(r.root, r.rel(i), r.names[i], dir); err != nil {
			errs = append(errs, fmt.Errorf("undo: %w", err))
		}
	}
	return errors.Join(errs...)
}

// host is the host path of names[:n].
func (r *resolution) host(n int) string {
	return filepath.Join(append([]string{r.root}, r.names[:n]...)...)
}

// rel is names[:n] relative to the root, "" for the root itself.
func (r *resolution) rel(n int) string {
	return strings.Join(r.names[:n], "/")
}

// inside is the path inside the container of names[:n] and then more.
func (r *resolution) inside(n int, more ...string) string {
	return path.Join(append(append([]string{"/"}, r.names[:n]...), more...)...)
}

func (r *resolution) missing() []string {
	var m []string
	for i := r.exist + 1; i <= len(r.names); i++ {
		m = append(m, r.host(i))
	}
	return m
}

// fail is an error about names[:n].
func (r *resolution) fail(n int, msg string, err error) error {
	return &destError{dest: r.dest, msg: fmt.Sprintf("%q %s", r.inside(n), msg), err: err}
}

// failErr is an error about the component at (a path inside the container)
// that err says all about.
func (r *resolution) failErr(at string, err error) error {
	return &destError{dest: r.dest, msg: fmt.Sprintf("%q: %v", at, err), err: err}
}

// failLink is an error about a symbolic link.
func (r *resolution) failLink(l *symlink, msg string, err error) error {
	return &destError{dest: r.dest, msg: fmt.Sprintf("%q is a symbolic link to %q %s", l.path, l.target, msg), err: err}
}

func escapeDotDot(r *resolution, c component) error {
	if c.link != nil {
		return r.failLink(c.link, "which leads outside the root", ErrEscape)
	}
	return &destError{dest: r.dest, msg: `".." above "/" leads outside the root`, err: ErrEscape}
}

// splitDest cuts a path into components, dropping empty ones; a leading "/"
// means the container's root.
func splitDest(p string, link *symlink) []component {
	var cs []component
	for _, name := range strings.Split(p, "/") {
		if name != "" {
			cs = append(cs, component{name: name, link: link})
		}
	}
	return cs
}

// destError is an error about a mount destination.
type destError struct {
	dest string
	msg  string
	err  error
}

func (e *destError) Error() string {
	return fmt.Sprintf("mount destination %q: %s", e.dest, e.msg)
}

func (e *destError) Unwrap() error { return e.err }
