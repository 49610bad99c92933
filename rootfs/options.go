package rootfs

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Flags of nmount(2) and unmount(2), from sys/sys/mount.h ("User
// specifiable flags, stored in mnt_flag", and the command flag MNT_FORCE).
// mount_freebsd.go checks them at compile time against golang.org/x/sys/unix,
// which generates its MNT_* constants from the same header.
const (
	MntRdonly      = 0x00000001 // MNT_RDONLY: read only filesystem
	MntSynchronous = 0x00000002 // MNT_SYNCHRONOUS: fs written synchronously
	MntNoexec      = 0x00000004 // MNT_NOEXEC: can't exec from filesystem
	MntNosuid      = 0x00000008 // MNT_NOSUID: don't honor setuid fs bits
	MntUnion       = 0x00000020 // MNT_UNION: union with underlying fs
	MntAsync       = 0x00000040 // MNT_ASYNC: fs written asynchronously
	MntNosymfollow = 0x00400000 // MNT_NOSYMFOLLOW: do not follow symlinks
	MntNoatime     = 0x10000000 // MNT_NOATIME: dont update file access time

	// MntForce is the unmount(2) flag that unmounts even when files are
	// open (MNT_FORCE 0x80000, "force unmount or readonly").
	MntForce = 0x00080000
)

// File system types that NewRequest treats specially.
const (
	fsNullfs = "nullfs"
	fsDevfs  = "devfs"
	fsTmpfs  = "tmpfs"
)

// mountFlag is one option that sets or clears a mount flag, as struct
// mntopt of sbin/mount/mntopts.h: with inverse set, the option clears the
// flag and its "no" form sets it ("suid" clears MNT_NOSUID, "nosuid" sets
// it).
type mountFlag struct {
	name    string
	inverse bool
	flag    int
	// excludes is cleared whenever flag is set: sync and async are
	// opposites, and the later of the two wins.
	excludes int
}

// mountFlags are the options of MOPT_STDOPTS and MOPT_FSTAB_COMPAT
// (sbin/mount/mntopts.h) that container mounts use. vfs_donmount knows the
// same names when they come as iovec options (sys/kern/vfs_mount.c:
// "noatime" → MNT_NOATIME, "nosymfollow" → MNT_NOSYMFOLLOW, "sync" →
// MNT_SYNCHRONOUS, "union" → MNT_UNION, ...), but file systems that filter
// their options reject most of them as iovecs (vfs_filteropt accepts only
// global_opts and the file system's own list; tmpfs_opts has no
// "noatime"), so NewRequest turns them into nmount's flags argument.
var mountFlags = []mountFlag{
	{name: "ro", flag: MntRdonly},                             // MOPT_RO
	{name: "rdonly", flag: MntRdonly},                         // MOPT_RDONLY
	{name: "rw", inverse: true, flag: MntRdonly},              // MOPT_RW
	{name: "suid", inverse: true, flag: MntNosuid},            // MOPT_NOSUID
	{name: "exec", inverse: true, flag: MntNoexec},            // MOPT_NOEXEC
	{name: "atime", inverse: true, flag: MntNoatime},          // MOPT_NOATIME
	{name: "symfollow", inverse: true, flag: MntNosymfollow},  // MOPT_NOSYMFOLLOW
	{name: "sync", flag: MntSynchronous, excludes: MntAsync},  // MOPT_SYNC
	{name: "async", flag: MntAsync, excludes: MntSynchronous}, // MOPT_ASYNC
	{name: "union", flag: MntUnion},                           // MOPT_UNION
}

// lookupMountFlag finds option o in mountFlags, by its name or by its name
// with a "no" prefix, as getmntopts does (sbin/mount/getmntopts.c: "Check
// for \"no\" prefix"), and reports whether o sets the flag (getmntopts:
// "if (negative == m->m_inverse)" set, else clear).
func lookupMountFlag(o string) (f mountFlag, set, ok bool) {
	for _, f := range mountFlags {
		switch o {
		case f.name:
			return f, !f.inverse, true
		case "no" + f.name:
			return f, f.inverse, true
		}
	}
	return mountFlag{}, false, false
}

// recursiveFlags are the recursive forms of flag options in the OCI
// runtime spec (config.md, "Linux mount options": rro, rrw, rnosuid, ...,
// applied with mount_setattr(AT_RECURSIVE) on Linux). A nullfs mount does
// not reach the mounts below its source: nullfs does not traverse mount
// points (freebsd-fs, 2021-12, "nullfs traversing mount points",
// https://lists.freebsd.org/archives/freebsd-fs/2021-December/000576.html),
// and the other types have no mounts below. So the recursive form of an
// option means the same as the option for every mount runj-go makes.
var recursiveFlags = map[string]bool{
	"rro": true, "rrw": true,
	"rsuid": true, "rnosuid": true,
	"rexec": true, "rnoexec": true,
	"ratime": true, "rnoatime": true,
	"rsymfollow": true, "rnosymfollow": true,
}

// linuxOnly are options of the OCI runtime spec's Linux mount options
// (config.md) that have no FreeBSD meaning: mount propagation (FreeBSD has
// no shared subtrees), device nodes (they exist only on devfs, and
// sys/sys/mount.h has no MNT_NODEV), access time policies other than
// atime/noatime, id-mapped mounts and the rest. NewRequest returns them as
// ignored.
var linuxOnly = map[string]bool{
	"private": true, "rprivate": true, "shared": true, "rshared": true,
	"slave": true, "rslave": true, "unbindable": true, "runbindable": true,
	"dev": true, "nodev": true, "rdev": true, "rnodev": true,
	"relatime": true, "norelatime": true, "rrelatime": true, "rnorelatime": true,
	"strictatime": true, "nostrictatime": true, "rstrictatime": true, "rnostrictatime": true,
	"lazytime": true, "nolazytime": true,
	"diratime": true, "nodiratime": true, "rdiratime": true, "rnodiratime": true,
	"iversion": true, "noiversion": true, "mand": true, "nomand": true,
	"silent": true, "loud": true, "defaults": true, "dirsync": true,
	"idmap": true, "ridmap": true, "tmpcopyup": true,
}

// devfsIgnored are keys that specs written for a Linux /dev (a tmpfs with
// "mode=755", "size=65536k") carry to a devfs mount. devfs accepts only
// "from", "export" and "ruleset" besides the global options and fails the
// mount on anything else (sys/fs/devfs/devfs_vfsops.c: devfs_opts,
// vfs_filteropt), and its node modes come from rulesets, so they are
// ignored.
var devfsIgnored = map[string]bool{"mode": true, "size": true, "nr_inodes": true}

// NewRequest maps an OCI mount (its type, source and options) whose
// destination resolved to the host path target to one nmount(2) call.
//
//   - Type "bind", or an option "bind" or "rbind", makes a nullfs mount of
//     source, which must then be an absolute path (the OCI runtime spec:
//     "A mount is a bind mount if it has either bind or rbind in the
//     options"). nullfs never includes the mounts below source, so rbind
//     is bind.
//   - ro, rw, nosuid, suid, noexec, exec, noatime, atime, nosymfollow,
//     symfollow, sync, async, union, their "no" forms as mount(8) reads
//     them, and the recursive forms rro, rnosuid, ... become MNT_* flags.
//     The later of two options on the same flag wins, and sync and async
//     cancel each other.
//   - Linux-only options, and mode, size and nr_inodes on devfs, are
//     returned in ignored, for a debug log.
//   - A devfs mount takes no option but ruleset=N, and one without it
//     gets ruleset=DefaultDevfsRuleset.
//   - Any other word or key=value goes to the kernel as an iovec option,
//     in spec order; of two options the kernel takes for the same one
//     ("size=1m" and "size=2m", "cache" and "nocache") only the later is
//     kept, as the kernel itself would (sys/kern/vfs_mount.c:
//     vfs_sanitizeopts).
//
// NewRequest rejects what would not do what the spec asks: options naming
// the call's own parameters (fstype, fspath, from, target, errmsg),
// options that turn the mount into another operation (update, force,
// reload, export, remount), and tmpfs and devfs values their file system
// would silently misread (see checkOptionValue).
func NewRequest(typ, source, target string, options []string) (req Request, ignored []string, err error) {
	req = Request{FSType: typ, Source: source, Target: target}
	if typ == "bind" || hasBindOption(options) {
		req.FSType = fsNullfs
	}
	if req.FSType == "" {
		return Request{}, nil, errors.New("mount type is empty")
	}
	for _, o := range options {
		switch {
		case o == "bind" || o == "rbind":
			continue
		case recursiveFlags[o]:
			o = o[1:]
		case linuxOnly[o]:
			ignored = append(ignored, o)
			continue
		}
		if f, set, ok := lookupMountFlag(o); ok {
			req.Flags = applyMountFlag(req.Flags, f, set)
			continue
		}
		name, value, hasValue := strings.Cut(o, "=")
		if req.FSType == fsDevfs && devfsIgnored[name] {
			ignored = append(ignored, o)
			continue
		}
		opt := Opt{Name: name}
		if hasValue {
			opt.Value = &value
		}
		if err := checkOption(req.FSType, opt); err != nil {
			return Request{}, nil, fmt.Errorf("mount option %q: %w", o, err)
		}
		req.Opts = appendOpt(req.Opts, opt)
	}
	if req.FSType == fsDevfs && !hasOpt(req.Opts, "ruleset") {
		rs := DefaultDevfsRuleset
		req.Opts = append(req.Opts, Opt{Name: "ruleset", Value: &rs})
	}
	if err := req.check(); err != nil {
		return Request{}, nil, err
	}
	return req, ignored, nil
}

func hasBindOption(options []string) bool {
	for _, o := range options {
		if o == "bind" || o == "rbind" {
			return true
		}
	}
	return false
}

func applyMountFlag(flags int, f mountFlag, set bool) int {
	if set {
		return flags&^f.excludes | f.flag
	}
	return flags &^ f.flag
}

// appendOpt appends o to opts after dropping every earlier option the
// kernel takes for the same one: vfs_sanitizeopts keeps only the last of
// them (sys/kern/vfs_mount.c).
func appendOpt(opts []Opt, o Opt) []Opt {
	kept := opts[:0]
	for _, e := range opts {
		if !sameKernelOpt(e.Name, o.Name) {
			kept = append(kept, e)
		}
	}
	return append(kept, o)
}

func hasOpt(opts []Opt, name string) bool {
	for _, o := range opts {
		if o.Name == name {
			return true
		}
	}
	return false
}

// checkOption checks one option that NewRequest passes on as an iovec.
func checkOption(fstype string, o Opt) error {
	if err := checkOptName(fstype, o.Name); err != nil {
		return err
	}
	if o.Value != nil && strings.IndexByte(*o.Value, 0) >= 0 {
		return errors.New("value contains a NUL byte")
	}
	return checkOptionValue(fstype, o)
}

// checkOptionValue checks the values that tmpfs and devfs parse, because
// tmpfs ignores a value it cannot parse and mounts with its default:
// tmpfs_mount reads uid and gid with vfs_scanopt "%d", mode with "%ho", and
// size, maxfilesize, inodes and easize with vfs_getopt_size, and falls
// back to the covered directory's owner and mode or to no limit when they
// fail (sys/fs/tmpfs/tmpfs_vfsops.c). "size=50%" would mount a tmpfs as
// large as memory. devfs reads ruleset with "%d" and refuses anything
// outside 0..65535 (sys/fs/devfs/devfs_vfsops.c); checking it here names
// the option in the error. The checks are stricter than the C parsers
// (no sign, no blanks, nothing after the number).
func checkOptionValue(fstype string, o Opt) error {
	var parse func(string) error
	switch {
	case fstype == fsTmpfs && (o.Name == "size" || o.Name == "maxfilesize" || o.Name == "inodes" || o.Name == "easize"):
		parse = func(v string) error { _, err := parseSize(v); return err }
	case fstype == fsTmpfs && o.Name == "mode":
		parse = func(v string) error {
			// tmpfs keeps root_mode & ALLPERMS, and ALLPERMS is 07777
			// (sys/sys/stat.h).
			if n, err := strconv.ParseUint(v, 8, 64); err != nil || n > 0o7777 {
				return errors.New("not an octal mode of at most 7777")
			}
			return nil
		}
	case fstype == fsTmpfs && (o.Name == "uid" || o.Name == "gid"):
		parse = func(v string) error {
			if _, err := strconv.ParseUint(v, 10, 31); err != nil {
				return fmt.Errorf("not a %s: a decimal number up to %d", o.Name, math.MaxInt32)
			}
			return nil
		}
	case fstype == fsDevfs && o.Name == "ruleset":
		parse = func(v string) error {
			if _, err := strconv.ParseUint(v, 10, 16); err != nil {
				return errors.New("not a devfs ruleset: a decimal number up to 65535")
			}
			return nil
		}
	case fstype == fsDevfs:
		// devfs_opts is "from", "export" and "ruleset"; vfs_filteropt
		// would also let "noruleset" through, which mounts without one.
		return errors.New("devfs takes no option but ruleset=N")
	default:
		return nil
	}
	if o.Value == nil {
		return fmt.Errorf("%s needs a value", o.Name)
	}
	return parse(*o.Value)
}

// parseSize reads a size as vfs_getopt_size does (sys/kern/vfs_mount.c):
// strtoq(value, &end, 0), so a number in decimal, in hex after "0x" or in
// octal after a leading "0", then at most one suffix k, m, g or t (either
// case) multiplying by 1024 per step, and no negative value. Unlike the
// kernel it also rejects a product that overflows off_t.
func parseSize(v string) (int64, error) {
	bad := func() (int64, error) {
		return 0, fmt.Errorf("not a size: a decimal, 0x hex or 0 octal number followed by at most one of k, m, g, t")
	}
	digits, shift := v, 0
	if n := len(v); n > 0 {
		switch v[n-1] {
		case 't', 'T':
			shift = 40
		case 'g', 'G':
			shift = 30
		case 'm', 'M':
			shift = 20
		case 'k', 'K':
			shift = 10
		}
		if shift > 0 {
			digits = v[:n-1]
		}
	}
	base := 10
	switch {
	case strings.HasPrefix(digits, "0x") || strings.HasPrefix(digits, "0X"):
		base, digits = 16, digits[2:]
	case len(digits) > 1 && digits[0] == '0':
		base, digits = 8, digits[1:]
	}
	// ParseUint with an explicit base takes no sign, blank or underscore.
	n, err := strconv.ParseUint(digits, base, 63)
	if err != nil {
		return bad()
	}
	if n > math.MaxInt64>>shift {
		return 0, fmt.Errorf("size %s overflows a 64-bit file offset", v)
	}
	return int64(n << shift), nil
}
