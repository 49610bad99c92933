package rootfs

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"path"
	"strings"
	"syscall"
)

// The nmount(2) request: int nmount(struct iovec *iov, u_int niov, int
// flags), the iovecs alternating option names and values (sys/sys/mount.h,
// sys/kern/vfs_mount.c: sys_nmount rejects an odd count or fewer than four
// iovecs with EINVAL).

// Limits of the names vfs_donmount reads first (sys/kern/vfs_mount.c): a
// "fstype" longer than MFSNAMELEN or an "fspath" longer than MNAMELEN,
// both counted with their NUL, is ENAMETOOLONG. sys/sys/mount.h:
// MFSNAMELEN 16 ("length of type name including null"), MNAMELEN 1024
// ("size of on/from name bufs") since FreeBSD 12.
const (
	mfsNameLen = 16
	mNameLen   = 1024
)

// nmountErrmsgLen is the size of the "errmsg" buffer. The kernel writes at
// most that many bytes into it: vfs_mount_error and vfs_opterror
// vsnprintf(errmsg, len, ...), vfs_filteropt and vfs_donmount strncpy into
// it with its length, and vfs_donmount copies it out to the caller's iovec
// when the call fails (sys/kern/vfs_mount.c: "copyout the errmsg").
const nmountErrmsgLen = 1024

// invalidFstype is what vfs_donmount writes into errmsg when it gets
// ENODEV from vfs_domount, which vfs_byname_kld returns when the module
// named fstype loaded but registered no such file system
// (sys/kern/vfs_mount.c, sys/kern/vfs_init.c).
const invalidFstype = "Invalid fstype"

// Request is one nmount(2) call.
type Request struct {
	// FSType is the file system type: "nullfs", "devfs", "tmpfs",
	// "fdescfs", "procfs", "linprocfs", "linsysfs", or any other the
	// kernel may know or load as a module of that name.
	FSType string `json:"fstype"`
	// Source is the host directory or file of a nullfs mount, sent as
	// "target"; for other types the spec's source (e.g. "tmpfs"), sent as
	// "from" when not empty.
	Source string `json:"source,omitempty"`
	// Target is the host path mounted on, sent as "fspath".
	Target string `json:"target"`
	// Flags are the MNT_* flags of nmount's flags argument.
	Flags int `json:"flags"`
	// Opts are the file system's options, sent as iovecs in this order.
	Opts []Opt `json:"options,omitempty"`
}

// Opt is one nmount(2) option: a name with a string value, or a flag
// option, whose value is nil.
type Opt struct {
	Name  string  `json:"name"`
	Value *string `json:"value,omitempty"`
}

// String returns o as it is written in a mount's options: name or
// name=value.
func (o Opt) String() string {
	if o.Value == nil {
		return o.Name
	}
	return o.Name + "=" + *o.Value
}

// impliedOpts are the flags that Encode also sends as iovec options, as
// the kernel's own mount(2) does when it turns its flags argument into an
// nmount request (sys/kern/vfs_mount.c: sys_mount, mount_argb for "noro",
// "nosuid" and "noexec"). They are global_opts, which vfs_filteropt
// accepts for every file system, so a file system that looks for the
// option instead of the flag sees it too.
var impliedOpts = []struct {
	flag int
	name string
}{
	{MntRdonly, "ro"},
	{MntNosuid, "nosuid"},
	{MntNoexec, "noexec"},
}

// Encode returns the iovecs of r in the order nmount(2) takes them, names
// and values alternating: "fstype", "fspath", the source as "target"
// (nullfs) or "from", "ro", "nosuid" and "noexec" when their flag is set,
// the options, and last "errmsg" with a zeroed buffer for the kernel's
// message (read it with Errmsg).
//
// Names and string values are C strings, sent with their NUL as mount(8)
// does (sbin/mount/getmntopts.c: build_iovec, strlen + 1), and the kernel
// refuses a name that does not end in NUL (sys/kern/vfs_mount.c:
// vfs_buildopts). A flag option's value is NULL with length 0, as
// build_iovec sends a NULL value. A nullfs source goes as "target", the
// name every nullfs reads; newer ones also read "from"
// (sys/fs/nullfs/null_vfsops.c: nullfs_mount), and mount_nullfs(8) still
// sends "target".
//
// Encode rejects what the kernel would misread rather than refuse: a NUL
// inside a name or value, which would cut it short; two options the
// kernel takes for the same one, of which vfs_sanitizeopts silently keeps
// only the last; and an option named like one of the call's own
// parameters or like a mount flag, which would override them.
func (r Request) Encode() ([][]byte, error) {
	if err := r.check(); err != nil {
		return nil, err
	}
	iov := make([][]byte, 0, 2*(len(r.Opts)+len(impliedOpts)+4))
	add := func(name string, value []byte) {
		iov = append(iov, nmountString(name), value)
	}
	add("fstype", nmountString(r.FSType))
	add("fspath", nmountString(r.Target))
	if r.FSType == fsNullfs {
		add("target", nmountString(r.Source))
	} else if r.Source != "" {
		add("from", nmountString(r.Source))
	}
	for _, o := range impliedOpts {
		if r.Flags&o.flag != 0 {
			add(o.name, nil)
		}
	}
	for _, o := range r.Opts {
		var value []byte
		if o.Value != nil {
			value = nmountString(*o.Value)
		}
		add(o.Name, value)
	}
	add("errmsg", make([]byte, nmountErrmsgLen))
	return iov, nil
}

// check checks r against the kernel's rules; see Encode.
func (r Request) check() error {
	switch {
	case r.FSType == "":
		return errors.New("empty file system type")
	case strings.IndexByte(r.FSType, 0) >= 0:
		return fmt.Errorf("file system type %q contains a NUL byte", r.FSType)
	case len(r.FSType) >= mfsNameLen:
		return fmt.Errorf("file system type %q is longer than %d bytes", r.FSType, mfsNameLen-1)
	}
	// The kernel looks fspath and a nullfs source up with namei from the
	// caller's working directory when they are relative.
	switch {
	case !path.IsAbs(r.Target):
		return fmt.Errorf("mount point %q is not an absolute path", r.Target)
	case strings.IndexByte(r.Target, 0) >= 0:
		return fmt.Errorf("mount point %q contains a NUL byte", r.Target)
	case len(r.Target) >= mNameLen:
		return fmt.Errorf("mount point %q is longer than %d bytes", r.Target, mNameLen-1)
	}
	switch {
	case strings.IndexByte(r.Source, 0) >= 0:
		return fmt.Errorf("mount source %q contains a NUL byte", r.Source)
	case r.FSType == fsNullfs && !path.IsAbs(r.Source):
		return fmt.Errorf("bind mount source %q is not an absolute path", r.Source)
	}
	// sys_nmount reads flags as an int and widens it to uint64
	// (sys/kern/vfs_mount.c: "flags = uap->flags"): bit 31 would set
	// every flag above it.
	if r.Flags < 0 || r.Flags > math.MaxInt32 {
		return fmt.Errorf("mount flags %#x do not fit in nmount's int flags", r.Flags)
	}
	for i, o := range r.Opts {
		if err := checkOptName(r.FSType, o.Name); err != nil {
			return fmt.Errorf("mount option %q: %w", o, err)
		}
		if o.Value != nil && strings.IndexByte(*o.Value, 0) >= 0 {
			return fmt.Errorf("mount option %q: value contains a NUL byte", o)
		}
		for _, prev := range r.Opts[:i] {
			if sameKernelOpt(prev.Name, o.Name) {
				return fmt.Errorf("mount option %q: the kernel would drop %q for it", o, prev)
			}
		}
	}
	return nil
}

// reservedOpts are the names of the call's own parameters: Encode sends
// them from the request's fields, and an option of the same name, or of
// its "no" form, would replace or cancel them (vfs_sanitizeopts keeps the
// last of equal options).
var reservedOpts = []string{"fstype", "fspath", "from", "target", "errmsg"}

// controlOpts are option names that vfs_donmount turns into command flags
// that change what the call does (sys/kern/vfs_mount.c: "update" →
// MNT_UPDATE, "force" → MNT_FORCE, "reload" → MNT_RELOAD, "export" →
// MNT_EXPORTED), and Linux's "remount": none of them makes a new mount of
// the spec's source on its destination, which is what a mount entry asks
// for.
var controlOpts = map[string]bool{"update": true, "force": true, "reload": true, "export": true, "remount": true}

// checkOptName checks the name of an option sent as an iovec.
func checkOptName(fstype, name string) error {
	switch {
	case name == "":
		return errors.New("empty option name")
	case strings.IndexByte(name, 0) >= 0:
		return errors.New("option name contains a NUL byte")
	case controlOpts[name]:
		return errors.New("changes an existing mount instead of making one; not supported")
	}
	for _, r := range reservedOpts {
		if sameKernelOpt(name, r) {
			return fmt.Errorf("%q is set from the mount's type, source and destination", r)
		}
	}
	if _, _, ok := lookupMountFlag(name); ok {
		return fmt.Errorf("%q is a mount flag, not a file system option", name)
	}
	return nil
}

// sameKernelOpt reports whether the kernel takes options named a and b for
// the same option and keeps only the later: vfs_equalopts
// (sys/kern/vfs_mount.c), which equates "opt" and "noopt", "foo.opt" and
// "foo.noopt", and all of "ro", "rdonly", "norw", "rw" and "noro".
func sameKernelOpt(a, b string) bool {
	if a == b || a == "no"+b || b == "no"+a {
		return true
	}
	// The kernel steps over equal components ending in '.' and compares
	// the rest, including the ro/rw check below, from there.
	for {
		i := strings.IndexByte(a, '.')
		if i < 0 || !strings.HasPrefix(b, a[:i+1]) {
			break
		}
		a, b = a[i+1:], b[i+1:]
		if a == "no"+b || b == "no"+a {
			return true
		}
	}
	return isROOrRW(a) && isROOrRW(b)
}

// isROOrRW is vfs_isopt_ro || vfs_isopt_rw (sys/kern/vfs_mount.c).
func isROOrRW(o string) bool {
	switch o {
	case "ro", "rdonly", "norw", "rw", "noro":
		return true
	}
	return false
}

// nmountString returns s as a C string: its bytes and a NUL.
func nmountString(s string) []byte {
	return append([]byte(s), 0)
}

// Errmsg returns the text the kernel wrote into the "errmsg" buffer of
// iovecs made by Encode, or "" if it wrote none. It is NUL-terminated
// unless it fills the buffer.
func Errmsg(iov [][]byte) string {
	var msg []byte
	for i := 0; i+1 < len(iov); i += 2 {
		if bytes.Equal(iov[i], []byte("errmsg\x00")) {
			msg = iov[i+1]
		}
	}
	if i := bytes.IndexByte(msg, 0); i >= 0 {
		msg = msg[:i]
	}
	return string(msg)
}

// ErrUnknownFSType reports that the kernel has no file system of the
// requested type and could not load one.
var ErrUnknownFSType = errors.New("file system type unknown to the kernel")

// MountError is a failed nmount(2) call. Its message names the call, the
// kernel's errmsg text when it wrote one, and the errno, for example
// "nmount tmpfs on /x: mount option <sise> is unknown: invalid argument".
type MountError struct {
	FSType string
	Source string
	Target string
	// Errmsg is what the kernel wrote into the errmsg buffer.
	Errmsg string
	// Err is the errno.
	Err error

	// unknownFSType is set when the errno means that the kernel does
	// not know FSType; errors.Is(err, ErrUnknownFSType) reports it.
	unknownFSType bool
}

func (e *MountError) Error() string {
	var b strings.Builder
	b.WriteString("nmount " + e.FSType)
	if e.FSType == fsNullfs && e.Source != "" {
		b.WriteString(" " + e.Source)
	}
	b.WriteString(" on " + e.Target + ": ")
	switch {
	case e.unknownFSType:
		fmt.Fprintf(&b, "file system type %q is unknown to the kernel: ", e.FSType)
	case e.Errmsg != "":
		b.WriteString(e.Errmsg + ": ")
	}
	b.WriteString(e.Err.Error())
	return b.String()
}

// Unwrap returns the errno, so that errors.Is(err, unix.EPERM) works.
func (e *MountError) Unwrap() error { return e.Err }

// Is reports whether target is ErrUnknownFSType and the kernel did not
// know the file system type.
func (e *MountError) Is(target error) bool {
	return target == ErrUnknownFSType && e.unknownFSType
}

// NewMountError returns the error of nmount request r that failed with
// errno and left errmsg in its buffer. exists reports whether a path
// exists; it is asked only about an ENOENT.
//
// The kernel reports an unknown type in two ways. When no module of that
// name exists, vfs_byname_kld fails with kldload's ENOENT, and vfs_domount
// returns it before it looks up the mount point or the file system looks
// up a nullfs source (sys/kern/vfs_init.c, sys/kern/vfs_mount.c: "Load
// KLDs before we lock the covered vnode"); so an ENOENT while both exist
// is the type's. When a module loads but registers no such file system,
// vfs_byname_kld returns ENODEV, which vfs_donmount turns into EINVAL with
// errmsg "Invalid fstype".
func NewMountError(r Request, errno error, errmsg string, exists func(string) bool) *MountError {
	e := &MountError{FSType: r.FSType, Source: r.Source, Target: r.Target, Errmsg: errmsg, Err: errno}
	switch {
	case errors.Is(errno, syscall.EINVAL):
		e.unknownFSType = errmsg == invalidFstype
	case errors.Is(errno, syscall.ENOENT):
		e.unknownFSType = exists(r.Target) && (r.FSType != fsNullfs || exists(r.Source))
	}
	return e
}
