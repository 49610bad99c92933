//go:build simkernel

package kernel

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"

	"github.com/runj-go/runj-go/rootfs"
)

// The simulated kernel records mounts and devfs rules without performing
// them: it checks what the real kernel would check first (the mount point
// exists, the type is known, unmount of what is mounted, rules through a
// devfs mount), keeps the mount table and the rulesets, and records the
// exact nmount iovecs.

type simMount struct {
	Target string `json:"target"`
	FSType string `json:"fstype"`
	Source string `json:"source"`
}

// underlying is the path that path shows in the simulated kernel, which
// does not mount: beneath a nullfs mount (a read-only root), the same path
// beneath its source.
func (t *simTable) underlying(path string) string {
	for i := len(t.Mounts) - 1; i >= 0; i-- {
		m := t.Mounts[i]
		if m.FSType != "nullfs" {
			continue
		}
		if path == m.Target {
			return m.Source
		}
		if rest, ok := strings.CutPrefix(path, m.Target+"/"); ok {
			return filepath.Join(m.Source, rest)
		}
	}
	return path
}

// simFSTypes are the file systems the simulated kernel knows.
var simFSTypes = []string{"nullfs", "devfs", "tmpfs", "fdescfs", "procfs", "linprocfs", "linsysfs"}

// simBaseRulesets are the rulesets /etc/defaults/devfs.rules defines
// (sbin/devfs/devfs.rules), as the kernel holds them once rc.d/devfs has
// loaded them.
var simBaseRulesets = map[uint16][]rootfs.DevfsRule{
	1: {{Hide: true}},
	2: unhideRules("null", "zero", "crypto", "random", "urandom"),
	3: unhideRules(
		"ptyp*", "ptyq*", "ptyr*", "ptys*", "ptyP*", "ptyQ*", "ptyR*", "ptyS*",
		"ptyl*", "ptym*", "ptyn*", "ptyo*", "ptyL*", "ptyM*", "ptyN*", "ptyO*",
		"ttyp*", "ttyq*", "ttyr*", "ttys*", "ttyP*", "ttyQ*", "ttyR*", "ttyS*",
		"ttyl*", "ttym*", "ttyn*", "ttyo*", "ttyL*", "ttyM*", "ttyN*", "ttyO*",
		"ptmx", "pts", "pts/*", "fd", "fd/*", "stdin", "stdout", "stderr"),
	4: append([]rootfs.DevfsRule{{Include: 1}, {Include: 2}, {Include: 3}}, unhideRules("fuse", "zfs")...),
	5: append([]rootfs.DevfsRule{{Include: 1}, {Include: 2}, {Include: 3}, {Include: 4}}, unhideRules("pf")...),
}

func init() {
	for rs, rules := range simBaseRulesets {
		for i := range rules {
			rules[i].ID = rootfs.MkRID(rs, uint16(i+1)*100)
		}
	}
}

func unhideRules(patterns ...string) []rootfs.DevfsRule {
	out := make([]rootfs.DevfsRule, len(patterns))
	for i, p := range patterns {
		out[i] = rootfs.DevfsRule{Pattern: p, Unhide: true}
	}
	return out
}

func exists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

func (s *sim) Mount(req rootfs.Request) error {
	iov, err := req.Encode()
	if err != nil {
		return err
	}
	op := Op{Op: "nmount", FSType: req.FSType, Target: req.Target, Flags: req.Flags}
	for i := 0; i+1 < len(iov); i += 2 {
		name, value := cstr(iov[i]), cstr(iov[i+1])
		if name == "errmsg" {
			continue
		}
		op.Iov = append(op.Iov, [2]string{name, value})
	}
	return s.update(func(t *simTable) error {
		return s.call(t, op, func() error {
			// What the runtime created in the (unmounted) view counts,
			// and so does what the view would show of its source.
			exists := func(p string) bool { return exists(p) || exists(t.underlying(p)) }
			switch {
			case !slices.Contains(simFSTypes, req.FSType):
				return rootfs.NewMountError(req, syscall.EINVAL, "Invalid fstype", exists)
			case !exists(req.Target):
				return rootfs.NewMountError(req, syscall.ENOENT, "", exists)
			case req.FSType == "nullfs" && !exists(req.Source):
				return rootfs.NewMountError(req, syscall.ENOENT, "", exists)
			}
			t.Mounts = append(t.Mounts, simMount{Target: req.Target, FSType: req.FSType, Source: req.Source})
			return nil
		})
	})
}

// cstr is a NUL-terminated iovec value as a string.
func cstr(b []byte) string {
	if i := slices.Index(b, 0); i >= 0 {
		b = b[:i]
	}
	return string(b)
}

func (s *sim) Unmount(target string, flags int) error {
	return s.update(func(t *simTable) error {
		return s.call(t, Op{Op: "unmount", Target: target, Flags: flags}, func() error {
			i := t.mountAt(target)
			if i < 0 {
				return &os.PathError{Op: "unmount", Path: target, Err: syscall.EINVAL}
			}
			t.Mounts = slices.Delete(t.Mounts, i, i+1)
			return nil
		})
	})
}

// mountAt returns the index of the last mount on target, or -1.
func (t *simTable) mountAt(target string) int {
	for i := len(t.Mounts) - 1; i >= 0; i-- {
		if t.Mounts[i].Target == target {
			return i
		}
	}
	return -1
}

// devfs checks that mountpoint is a devfs mount, as the DEVFSIO ioctls do.
func (t *simTable) devfs(mountpoint string) error {
	if i := t.mountAt(mountpoint); i < 0 || t.Mounts[i].FSType != "devfs" {
		return fmt.Errorf("%s is not a devfs mount: %w", mountpoint, syscall.ENOTTY)
	}
	return nil
}

func (t *simTable) rulesetExists(rs uint16) bool {
	_, ok := t.Rulesets[rs]
	_, base := simBaseRulesets[rs]
	return ok || base
}

func (s *sim) DevfsRules(mountpoint string, rs uint16) ([]rootfs.DevfsRule, error) {
	var rules []rootfs.DevfsRule
	err := s.devfsRulesetOp("devfs_ruleset_get", mountpoint, rs, func(t *simTable) error {
		if base, ok := simBaseRulesets[rs]; ok {
			rules = slices.Clone(base)
		} else {
			rules = slices.Clone(t.Rulesets[rs])
		}
		return nil
	})
	return rules, err
}

func (s *sim) DevfsNextFreeRuleset(mountpoint string, min uint16) (uint16, error) {
	var free uint16
	err := s.update(func(t *simTable) error {
		if err := t.devfs(mountpoint); err != nil {
			return err
		}
		for rs := max(min, 1); rs != 0; rs++ {
			if !t.rulesetExists(rs) {
				free = rs
				return nil
			}
		}
		return fmt.Errorf("no free devfs ruleset from %d", min)
	})
	return free, err
}

func (s *sim) DevfsAddRule(mountpoint string, r rootfs.DevfsRule) error {
	return s.update(func(t *simTable) error {
		return s.call(t, Op{Op: "devfs_rule_add", Mountpoint: mountpoint, Ruleset: r.Ruleset(), Rule: &r}, func() error {
			if err := t.devfs(mountpoint); err != nil {
				return err
			}
			if _, err := r.Marshal(); err != nil {
				return err
			}
			if r.Include != 0 && !t.rulesetExists(r.Include) {
				return fmt.Errorf("devfs rule %#x includes ruleset %d: %w", r.ID, r.Include, syscall.ESRCH)
			}
			for _, have := range t.Rulesets[r.Ruleset()] {
				if have.ID == r.ID {
					return fmt.Errorf("devfs rule %#x: %w", r.ID, syscall.EEXIST)
				}
			}
			if t.Rulesets == nil {
				t.Rulesets = map[uint16][]rootfs.DevfsRule{}
			}
			t.Rulesets[r.Ruleset()] = append(t.Rulesets[r.Ruleset()], r)
			return nil
		})
	})
}

func (s *sim) devfsRulesetOp(op, mountpoint string, rs uint16, do func(t *simTable) error) error {
	return s.update(func(t *simTable) error {
		return s.call(t, Op{Op: op, Mountpoint: mountpoint, Ruleset: rs}, func() error {
			if err := t.devfs(mountpoint); err != nil {
				return err
			}
			return do(t)
		})
	})
}

func (s *sim) DevfsUseRuleset(mountpoint string, rs uint16) error {
	return s.devfsRulesetOp("devfs_ruleset_use", mountpoint, rs, func(t *simTable) error {
		if !t.rulesetExists(rs) {
			return fmt.Errorf("devfs ruleset %d: %w", rs, syscall.ESRCH)
		}
		return nil
	})
}

func (s *sim) DevfsApplyRuleset(mountpoint string, rs uint16) error {
	return s.devfsRulesetOp("devfs_ruleset_apply", mountpoint, rs, func(t *simTable) error {
		if !t.rulesetExists(rs) {
			return fmt.Errorf("devfs ruleset %d: %w", rs, syscall.ESRCH)
		}
		return nil
	})
}

func (s *sim) DevfsDeleteRuleset(mountpoint string, rs uint16) error {
	return s.devfsRulesetOp("devfs_ruleset_delete", mountpoint, rs, func(t *simTable) error {
		delete(t.Rulesets, rs)
		return nil
	})
}
