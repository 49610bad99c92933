//go:build freebsd

package rootfs

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"unsafe"

	"golang.org/x/sys/unix"
)

// The devfs rule ioctls, made on an open directory of a devfs mount
// (sys/fs/devfs/devfs_vnops.c: devfs_rioctl). Rulesets are global: a rule
// added through one mount is in every mount that uses its ruleset. They
// need PRIV_DEVFS_RULE, which a jail does not have. Errors wrap the errno:
// EEXIST (fs.ErrExist) when a rule id is taken, ESRCH when an included or
// applied ruleset does not exist (sys/fs/devfs/devfs_rule.c).

// DevfsAddRule adds r to its ruleset, creating the ruleset if needed
// (DEVFSIO_RADD). r.ID must name the ruleset; rule number 0 lets the
// kernel number the rule. The rule applies to nodes created from then on in mounts
// using the ruleset; DevfsApplyRuleset applies it to existing ones.
func DevfsAddRule(mountpoint string, r DevfsRule) error {
	if r.Ruleset() == 0 {
		// The kernel would take the mount's current ruleset, such as
		// the host's ruleset 4.
		return fmt.Errorf("devfs rule %#x names no ruleset", r.ID)
	}
	b, err := r.Marshal()
	if err != nil {
		return err
	}
	return withDevfs(mountpoint, func(fd int) error {
		return devfsIoctl(fd, "DEVFSIO_RADD", devfsioRAdd, unsafe.Pointer(&b[0]))
	})
}

// DevfsApplyRule runs r once on the nodes of the mount at mountpoint without
// adding it to a ruleset (DEVFSIO_RAPPLY).
func DevfsApplyRule(mountpoint string, r DevfsRule) error {
	b, err := r.Marshal()
	if err != nil {
		return err
	}
	return withDevfs(mountpoint, func(fd int) error {
		return devfsIoctl(fd, "DEVFSIO_RAPPLY", devfsioRApply, unsafe.Pointer(&b[0]))
	})
}

// DevfsUseRuleset makes rs the ruleset of the mount at mountpoint, for nodes
// created from then on (DEVFSIO_SUSE); 0 is no ruleset. It does not touch
// existing nodes: DevfsApplyRuleset does.
func DevfsUseRuleset(mountpoint string, rs uint16) error {
	return withDevfs(mountpoint, func(fd int) error {
		return devfsIoctl(fd, "DEVFSIO_SUSE", devfsioSUse, unsafe.Pointer(&rs))
	})
}

// DevfsApplyRuleset runs the rules of ruleset rs on the existing nodes of
// the mount at mountpoint (DEVFSIO_SAPPLY); 0 is the mount's ruleset.
func DevfsApplyRuleset(mountpoint string, rs uint16) error {
	return withDevfs(mountpoint, func(fd int) error {
		return devfsIoctl(fd, "DEVFSIO_SAPPLY", devfsioSApply, unsafe.Pointer(&rs))
	})
}

// DevfsRules returns the rules of ruleset rs, in order (DEVFSIO_RGETNEXT);
// none when the ruleset does not exist.
func DevfsRules(mountpoint string, rs uint16) ([]DevfsRule, error) {
	var rules []DevfsRule
	err := walkDevfsRules(mountpoint, rs, func(_ int, b []byte) error {
		r, err := UnmarshalDevfsRule(b)
		if err != nil {
			return err
		}
		rules = append(rules, r)
		return nil
	})
	return rules, err
}

// DevfsDeleteRuleset deletes every rule of ruleset rs (DEVFSIO_RGETNEXT and
// DEVFSIO_RDEL, as devfs(8)'s "rule delset"); there is no ioctl that
// deletes a ruleset. The kernel frees the ruleset once it has no rules and
// no mount uses it. A ruleset that does not exist is not an error.
func DevfsDeleteRuleset(mountpoint string, rs uint16) error {
	return walkDevfsRules(mountpoint, rs, func(fd int, b []byte) error {
		return devfsIoctl(fd, "DEVFSIO_RDEL", devfsioRDel, unsafe.Pointer(&b[offID]))
	})
}

// DevfsNextFreeRuleset returns the lowest ruleset number at or above min
// that the kernel does not have (DEVFSIO_SGETNEXT). Another process can
// take it before the caller adds a rule to it; adding rule 100 (the first
// rule DevicesRules numbers) then fails with EEXIST.
func DevfsNextFreeRuleset(mountpoint string, min uint16) (uint16, error) {
	var used []uint16
	err := withDevfs(mountpoint, func(fd int) error {
		var rs uint16
		for {
			prev := rs
			err := devfsIoctl(fd, "DEVFSIO_SGETNEXT", devfsioSGetNext, unsafe.Pointer(&rs))
			if errors.Is(err, unix.ENOENT) {
				return nil
			}
			if err != nil {
				return err
			}
			if rs <= prev {
				return fmt.Errorf("DEVFSIO_SGETNEXT after ruleset %d returned %d", prev, rs)
			}
			used = append(used, rs)
		}
	})
	if err != nil {
		return 0, err
	}
	return nextFreeRuleset(used, min)
}

// walkDevfsRules calls fn with each rule of ruleset rs, as DEVFSIO_RGETNEXT
// returns it, in a buffer fn may use for another ioctl. Ruleset 0 is
// refused: in a rule id it means the mount's current ruleset.
func walkDevfsRules(mountpoint string, rs uint16, fn func(fd int, rule []byte) error) error {
	if rs == 0 {
		return errors.New("devfs ruleset 0 is the empty ruleset")
	}
	b, err := DevfsRule{ID: MkRID(rs, 0)}.Marshal()
	if err != nil {
		return err
	}
	return withDevfs(mountpoint, func(fd int) error {
		for {
			prev := binary.NativeEndian.Uint32(b[offID:])
			err := devfsIoctl(fd, "DEVFSIO_RGETNEXT", devfsioRGetNext, unsafe.Pointer(&b[0]))
			if errors.Is(err, unix.ENOENT) {
				return nil
			}
			if err != nil {
				return err
			}
			if id := binary.NativeEndian.Uint32(b[offID:]); id <= prev || id>>16 != uint32(rs) {
				return fmt.Errorf("DEVFSIO_RGETNEXT after rule %#x returned %#x", prev, id)
			}
			if err := fn(fd, b); err != nil {
				return err
			}
		}
	})
}

// withDevfs calls fn with a descriptor of the devfs mount at mountpoint. It
// refuses a symlink and a directory that is not a devfs mount, so that a
// 'D' ioctl never reaches another file system.
func withDevfs(mountpoint string, fn func(fd int) error) error {
	fd, err := unix.Open(mountpoint, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return &os.PathError{Op: "open", Path: mountpoint, Err: err}
	}
	defer unix.Close(fd)
	var st unix.Statfs_t
	if err := unix.Fstatfs(fd, &st); err != nil {
		return &os.PathError{Op: "fstatfs", Path: mountpoint, Err: err}
	}
	if fstype := string(bytes.TrimRight(st.Fstypename[:], "\x00")); fstype != "devfs" {
		return fmt.Errorf("%s: is a %s file system, not devfs", mountpoint, fstype)
	}
	if err := fn(fd); err != nil {
		return fmt.Errorf("%s: %w", mountpoint, err)
	}
	return nil
}

// devfsIoctl makes ioctl(2) request req (named name) on fd with arg.
func devfsIoctl(fd int, name string, req uintptr, arg unsafe.Pointer) error {
	if _, _, errno := unix.Syscall(unix.SYS_IOCTL, uintptr(fd), req, uintptr(arg)); errno != 0 {
		return os.NewSyscallError("ioctl "+name, errno)
	}
	return nil
}
