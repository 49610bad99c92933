package rootfs

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"iter"
	"path"
	"slices"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// Devfs rules hide, unhide and set the mode of device nodes in a devfs
// mount. They live in numbered rulesets in the kernel, shared by every
// devfs mount, and are managed with ioctls on an open directory of any
// devfs mount (sys/fs/devfs/devfs_rule.c: devfs_rules_ioctl), as devfs(8)
// does. The encoding of those ioctls is here; the ioctls themselves are in
// devfs_freebsd.go.

// sys/fs/devfs/devfs.h
const (
	devfsMagic       = 0xdb0a087a // DEVFS_MAGIC
	devfsMaxPtrnLen  = 200        // DEVFS_MAXPTRNLEN, the size of dr_pathptrn with its NUL
	drcDswFlags      = 0x001      // DRC_DSWFLAGS: match cdevsw flags (dr_dswflags)
	drcPathPtrn      = 0x002      // DRC_PATHPTRN: match the path pattern (dr_pathptrn)
	draBActs         = 0x001      // DRA_BACTS: run dr_bacts
	draUID           = 0x002      // DRA_UID: set the owner to dr_uid
	draGID           = 0x004      // DRA_GID: set the group to dr_gid
	draMode          = 0x008      // DRA_MODE: set the mode to dr_mode
	draIncSet        = 0x010      // DRA_INCSET: run ruleset dr_incset
	drbHide          = 0x001      // DRB_HIDE
	drbUnhide        = 0x002      // DRB_UNHIDE
	devfsKnownIConds = drcDswFlags | drcPathPtrn
	devfsKnownIActs  = draBActs | draUID | draGID | draMode | draIncSet
	devfsKnownBActs  = drbHide | drbUnhide
)

// struct devfs_rule (sys/fs/devfs/devfs.h): every field is naturally
// aligned and none is a pointer, so the layout is the same on every
// FreeBSD architecture; only the byte order differs. uid_t and gid_t are
// uint32_t and mode_t is uint16_t (sys/sys/_types.h: __uid_t, __gid_t,
// __mode_t). The size and offsets are pinned in devfs_test.go against a
// second source.
const (
	devfsRuleSize = 236

	offMagic    = 0   // uint32_t dr_magic
	offID       = 4   // devfs_rid (uint32_t) dr_id
	offICond    = 8   // int dr_icond
	offDswFlags = 12  // int dr_dswflags
	offPathPtrn = 16  // char dr_pathptrn[DEVFS_MAXPTRNLEN]
	offIActs    = 216 // int dr_iacts
	offBActs    = 220 // int dr_bacts
	offUID      = 224 // uid_t dr_uid
	offGID      = 228 // gid_t dr_gid
	offMode     = 232 // mode_t dr_mode
	offIncSet   = 234 // devfs_rsnum (uint16_t) dr_incset
)

// The devfs ioctl requests, as _IOW and _IOWR of sys/sys/ioccom.h build
// them: _IOC(inout, group, num, len) = inout | (len & IOCPARM_MASK) << 16 |
// group << 8 | num, with IOC_IN 0x80000000, IOC_OUT 0x40000000 and
// IOCPARM_MASK (1 << 13) - 1.
const (
	iocIn       = 0x80000000
	iocOut      = 0x40000000
	iocParmMask = 1<<13 - 1

	devfsRIDSize   = 4 // devfs_rid
	devfsRSNumSize = 2 // devfs_rsnum

	// The group and length part of each request; the number is added.
	devfsD     = 'D' << 8
	devfsRule  = devfsRuleSize&iocParmMask<<16 | devfsD
	devfsRID   = devfsRIDSize&iocParmMask<<16 | devfsD
	devfsRSNum = devfsRSNumSize&iocParmMask<<16 | devfsD

	devfsioRAdd     = iocIn | iocOut | devfsRule       // _IOWR('D', 0, struct devfs_rule)
	devfsioRDel     = iocIn | devfsRID + 1             // _IOW('D', 1, devfs_rid)
	devfsioRApply   = iocIn | devfsRule + 2            // _IOW('D', 2, struct devfs_rule)
	devfsioRGetNext = iocIn | iocOut | devfsRule + 4   // _IOWR('D', 4, struct devfs_rule)
	devfsioSUse     = iocIn | devfsRSNum + 10          // _IOW('D', 10, devfs_rsnum)
	devfsioSApply   = iocIn | devfsRSNum + 11          // _IOW('D', 11, devfs_rsnum)
	devfsioSGetNext = iocIn | iocOut | devfsRSNum + 12 // _IOWR('D', 12, devfs_rsnum)
)

// MkRID returns the id of rule number rule in ruleset ruleset: the mkrid
// macro of sys/fs/devfs/devfs.h. Ruleset 0 in a rule id means "the current
// ruleset of the devfs mount the ioctl is made on"; rule number 0 asks
// DEVFSIO_RADD to number the rule itself (100 past the last rule).
func MkRID(ruleset, rule uint16) uint32 { return uint32(ruleset)<<16 | uint32(rule) }

// DevfsRule is struct devfs_rule of sys/fs/devfs/devfs.h: conditions that
// select device nodes and actions to take on them. A zero field is an
// absent condition or action, as in devfs(8)'s rule syntax.
type DevfsRule struct {
	// ID is MkRID(ruleset, rule number) (dr_id).
	ID uint32 `json:"id"`
	// DswFlags, when not zero, matches only devices whose cdevsw d_flags
	// share a bit with it (DRC_DSWFLAGS; devfs(8)'s "type disk" is D_DISK).
	DswFlags int32 `json:"dswflags,omitempty"`
	// Pattern, when not empty, matches only nodes whose path relative to
	// the mount matches this fnmatch(3) pattern with FNM_PATHNAME
	// (DRC_PATHPTRN). Without it the rule applies to every node.
	Pattern string `json:"pattern,omitempty"`
	// Hide and Unhide hide and show the selected nodes (DRA_BACTS with
	// DRB_HIDE, DRB_UNHIDE). The kernel hides first, so setting both unhides.
	Hide   bool `json:"hide,omitempty"`
	Unhide bool `json:"unhide,omitempty"`
	// UID, GID and Mode, when set, set the owner, group and mode of the
	// selected nodes (DRA_UID, DRA_GID, DRA_MODE).
	UID  *uint32 `json:"uid,omitempty"`
	GID  *uint32 `json:"gid,omitempty"`
	Mode *uint16 `json:"mode,omitempty"`
	// Include, when not zero, runs the rules of that ruleset on the
	// selected nodes (DRA_INCSET). Ruleset 0 is the empty ruleset and
	// cannot be included.
	Include uint16 `json:"include,omitempty"`
}

// hasActions tells whether r does anything to the nodes it selects
// besides including a ruleset.
func (r DevfsRule) hasActions() bool {
	return r.Hide || r.Unhide || r.UID != nil || r.GID != nil || r.Mode != nil
}

// Ruleset returns the ruleset number of r.ID (rid2rsn).
func (r DevfsRule) Ruleset() uint16 { return uint16(r.ID >> 16) }

// Number returns the rule number of r.ID (rid2rn).
func (r DevfsRule) Number() uint16 { return uint16(r.ID) }

// Marshal returns r as the bytes of a struct devfs_rule for the running
// architecture (the struct is shared with the kernel verbatim, in its
// byte order). It fails when Pattern does not fit dr_pathptrn with its
// terminating NUL or contains a NUL.
func (r DevfsRule) Marshal() ([]byte, error) {
	if err := checkDevfsPattern(r.Pattern); err != nil {
		return nil, err
	}
	b := make([]byte, devfsRuleSize)
	var icond, iacts, bacts uint32
	if r.DswFlags != 0 {
		icond |= drcDswFlags
		binary.NativeEndian.PutUint32(b[offDswFlags:], uint32(r.DswFlags))
	}
	if r.Pattern != "" {
		icond |= drcPathPtrn
		copy(b[offPathPtrn:offPathPtrn+devfsMaxPtrnLen], r.Pattern)
	}
	if r.Hide {
		bacts |= drbHide
	}
	if r.Unhide {
		bacts |= drbUnhide
	}
	if bacts != 0 {
		iacts |= draBActs
	}
	if r.UID != nil {
		iacts |= draUID
		binary.NativeEndian.PutUint32(b[offUID:], *r.UID)
	}
	if r.GID != nil {
		iacts |= draGID
		binary.NativeEndian.PutUint32(b[offGID:], *r.GID)
	}
	if r.Mode != nil {
		iacts |= draMode
		binary.NativeEndian.PutUint16(b[offMode:], *r.Mode)
	}
	if r.Include != 0 {
		iacts |= draIncSet
		binary.NativeEndian.PutUint16(b[offIncSet:], r.Include)
	}
	binary.NativeEndian.PutUint32(b[offMagic:], devfsMagic)
	binary.NativeEndian.PutUint32(b[offID:], r.ID)
	binary.NativeEndian.PutUint32(b[offICond:], icond)
	binary.NativeEndian.PutUint32(b[offIActs:], iacts)
	binary.NativeEndian.PutUint32(b[offBActs:], bacts)
	return b, nil
}

// UnmarshalDevfsRule decodes a struct devfs_rule, as DEVFSIO_RGETNEXT
// returns it. Fields the kernel ignores (a value whose condition or action
// bit is clear, pattern bytes after the NUL) are dropped, so Marshal gives
// back the same rule as far as the kernel is concerned. It fails on a rule
// DevfsRule cannot represent: unknown condition or action bits, a path
// condition with an empty or unterminated pattern, a DRC_DSWFLAGS condition
// with no flags, or an include of ruleset 0.
func UnmarshalDevfsRule(b []byte) (DevfsRule, error) {
	if len(b) != devfsRuleSize {
		return DevfsRule{}, fmt.Errorf("devfs rule: %d bytes, want %d", len(b), devfsRuleSize)
	}
	if m := binary.NativeEndian.Uint32(b[offMagic:]); m != devfsMagic {
		return DevfsRule{}, fmt.Errorf("devfs rule: magic %#x, want %#x", m, uint32(devfsMagic))
	}
	r := DevfsRule{ID: binary.NativeEndian.Uint32(b[offID:])}
	icond := binary.NativeEndian.Uint32(b[offICond:])
	iacts := binary.NativeEndian.Uint32(b[offIActs:])
	bacts := binary.NativeEndian.Uint32(b[offBActs:])
	if icond&^devfsKnownIConds != 0 || iacts&^devfsKnownIActs != 0 {
		return DevfsRule{}, fmt.Errorf("devfs rule %#x: unknown conditions %#x or actions %#x", r.ID, icond&^devfsKnownIConds, iacts&^devfsKnownIActs)
	}
	if icond&drcDswFlags != 0 {
		if r.DswFlags = int32(binary.NativeEndian.Uint32(b[offDswFlags:])); r.DswFlags == 0 {
			return DevfsRule{}, fmt.Errorf("devfs rule %#x: type condition without flags", r.ID)
		}
	}
	if icond&drcPathPtrn != 0 {
		ptrn := b[offPathPtrn : offPathPtrn+devfsMaxPtrnLen]
		n := bytes.IndexByte(ptrn, 0)
		if n < 0 {
			return DevfsRule{}, fmt.Errorf("devfs rule %#x: path pattern is not NUL-terminated", r.ID)
		}
		if n == 0 {
			return DevfsRule{}, fmt.Errorf("devfs rule %#x: path condition with an empty pattern", r.ID)
		}
		r.Pattern = string(ptrn[:n])
	}
	if iacts&draBActs != 0 {
		if bacts&^devfsKnownBActs != 0 {
			return DevfsRule{}, fmt.Errorf("devfs rule %#x: unknown boolean actions %#x", r.ID, bacts&^devfsKnownBActs)
		}
		r.Hide = bacts&drbHide != 0
		r.Unhide = bacts&drbUnhide != 0
	}
	if iacts&draUID != 0 {
		uid := binary.NativeEndian.Uint32(b[offUID:])
		r.UID = &uid
	}
	if iacts&draGID != 0 {
		gid := binary.NativeEndian.Uint32(b[offGID:])
		r.GID = &gid
	}
	if iacts&draMode != 0 {
		mode := binary.NativeEndian.Uint16(b[offMode:])
		r.Mode = &mode
	}
	if iacts&draIncSet != 0 {
		if r.Include = binary.NativeEndian.Uint16(b[offIncSet:]); r.Include == 0 {
			return DevfsRule{}, fmt.Errorf("devfs rule %#x: include of ruleset 0", r.ID)
		}
	}
	return r, nil
}

func checkDevfsPattern(p string) error {
	if strings.IndexByte(p, 0) >= 0 {
		return fmt.Errorf("devfs path pattern %q contains a NUL byte", p)
	}
	if len(p) >= devfsMaxPtrnLen {
		return fmt.Errorf("devfs path pattern %q is %d bytes; the limit is %d", p, len(p), devfsMaxPtrnLen-1)
	}
	return nil
}

// devfsRuleStep is the distance between the rules DevicesRules numbers,
// the step DEVFSIO_RADD numbers rules with (devfs_rule_autonumber).
const devfsRuleStep = 100

// CopyRuleset returns rules that, as a ruleset of their own, act on the
// nodes of a devfs mount as ruleset base does when it is the mount's
// ruleset; rulesOf returns the rules of a ruleset. A ruleset cannot simply
// include base: the kernel follows includes only vfs.devfs.rule_depth
// deep, 1 by default (sys/fs/devfs/devfs_devs.c: devfs_rule_depth;
// devfs_rule.c: devfs_rule_run runs an include only while depth > 0, one
// level less each time), so base's own includes would be skipped: for
// ruleset 4, devfsrules_jail, everything its includes hide (hide_all).
// That is why devfs.rules' ruleset 5 repeats ruleset 4's includes.
//
// So each unconditional include of base is replaced by the rules of the
// ruleset it includes, less their own includes, which the kernel does not
// follow from base either (their other actions it runs); an include with
// conditions is kept as it is: the kernel follows it from the copy as it
// does from base. This holds for the default depth, 1; a host that raised
// vfs.devfs.rule_depth gets the rules of depth 1. The rules returned have
// no ID.
func CopyRuleset(base uint16, rulesOf func(rs uint16) ([]DevfsRule, error)) ([]DevfsRule, error) {
	rules, err := rulesOf(base)
	if err != nil {
		return nil, fmt.Errorf("devfs ruleset %d: %w", base, err)
	}
	var out []DevfsRule
	for _, r := range rules {
		if r.Include == 0 || r.Pattern != "" || r.DswFlags != 0 {
			r.ID = 0
			out = append(out, r)
			continue
		}
		included, err := rulesOf(r.Include)
		if err != nil {
			return nil, fmt.Errorf("devfs ruleset %d, included by ruleset %d: %w", r.Include, base, err)
		}
		// An include rule may have actions of its own too.
		if own := (DevfsRule{Hide: r.Hide, Unhide: r.Unhide, UID: r.UID, GID: r.GID, Mode: r.Mode}); own.hasActions() {
			out = append(out, own)
		}
		for _, ir := range included {
			// The kernel runs a nested include rule's own actions
			// but not its include (devfs_rule_run checks the depth
			// last).
			if ir.Include != 0 {
				ir.Include = 0
				if !ir.hasActions() {
					continue
				}
			}
			ir.ID = 0
			out = append(out, ir)
		}
	}
	return out, nil
}

// DevicesRules returns the rules of ruleset, a ruleset the runtime owns,
// that expose devices (freebsd.devices of config-freebsd.md) on top of
// base, the rules of the devfs mount's own ruleset as CopyRuleset copies
// them (usually ruleset 4, devfsrules_jail): base's rules first, then, for
// each device, a rule that unhides it and, when the device has a mode,
// sets it. Each parent directory of a device below /dev ("usb" of
// "usb/0.1.0") is unhidden first, as devfs.rules does for "pts": a hidden
// directory hides what is in it.
//
// A device path is a path relative to /dev, not a pattern: fnmatch(3)
// special characters in it are escaped. Rule numbers go up in steps of 100,
// as devfs(8) numbers rules, so a ruleset holds at most 655 rules.
func DevicesRules(ruleset uint16, base []DevfsRule, devices []specs.FreeBSDDevice) ([]DevfsRule, error) {
	if ruleset == 0 {
		return nil, errors.New("devfs ruleset 0 is the empty ruleset and cannot hold rules")
	}
	rules := slices.Clone(base)
	for _, r := range rules {
		if r.Include == ruleset {
			return nil, fmt.Errorf("devfs ruleset %d cannot include itself", ruleset)
		}
	}
	unhidden := map[string]bool{}
	for i, d := range devices {
		at := fmt.Sprintf("freebsd.devices[%d]", i)
		if err := checkDevicePath(d.Path); err != nil {
			return nil, fmt.Errorf("%s.path: %w", at, err)
		}
		var mode *uint16
		if d.Mode != nil {
			if *d.Mode&^0o7777 != 0 {
				return nil, fmt.Errorf("%s.mode: %d (%#o) has bits beyond the permission bits 07777", at, uint32(*d.Mode), uint32(*d.Mode))
			}
			m := uint16(*d.Mode)
			mode = &m
		}
		for dir := range parentDirs(d.Path) {
			if !unhidden[dir] {
				unhidden[dir] = true
				rules = append(rules, DevfsRule{Pattern: escapeFnmatch(dir), Unhide: true})
			}
		}
		rules = append(rules, DevfsRule{Pattern: escapeFnmatch(d.Path), Unhide: true, Mode: mode})
		if err := checkDevfsPattern(rules[len(rules)-1].Pattern); err != nil {
			return nil, fmt.Errorf("%s.path: %w", at, err)
		}
	}
	if len(rules) > 0xffff/devfsRuleStep {
		return nil, fmt.Errorf("%d devices and the %d rules of the devfs mount's ruleset need %d devfs rules; a ruleset holds at most %d", len(devices), len(base), len(rules), 0xffff/devfsRuleStep)
	}
	for i := range rules {
		rules[i].ID = MkRID(ruleset, uint16((i+1)*devfsRuleStep))
	}
	return rules, nil
}

// checkDevicePath accepts a clean path relative to /dev, as bundle.Validate
// does for freebsd.devices, other than "." (/dev itself).
func checkDevicePath(p string) error {
	clean := path.Clean(p)
	if p == "" || p == "." || path.IsAbs(p) || clean == ".." || strings.HasPrefix(clean, "../") || clean != p {
		return fmt.Errorf("%q is not a clean path relative to /dev", p)
	}
	if strings.IndexByte(p, 0) >= 0 {
		return fmt.Errorf("%q contains a NUL byte", p)
	}
	return nil
}

// parentDirs yields the directories above p, outermost first: "a", "a/b"
// for "a/b/c".
func parentDirs(p string) iter.Seq[string] {
	return func(yield func(string) bool) {
		for i := 0; i < len(p); i++ {
			if p[i] == '/' && !yield(p[:i]) {
				return
			}
		}
	}
}

// escapeFnmatch makes p a pattern that matches only p: the kernel's
// fnmatch is called without FNM_NOESCAPE (sys/fs/devfs/devfs_rule.c:
// devfs_rule_matchpath), so a backslash quotes the next character.
func escapeFnmatch(p string) string {
	var b strings.Builder
	for i := 0; i < len(p); i++ {
		switch p[i] {
		case '\\', '*', '?', '[':
			b.WriteByte('\\')
		}
		b.WriteByte(p[i])
	}
	return b.String()
}

// nextFreeRuleset returns the lowest ruleset number at or above min (and
// above 0, the empty ruleset) that is not in used.
func nextFreeRuleset(used []uint16, min uint16) (uint16, error) {
	taken := make(map[uint16]bool, len(used))
	for _, rs := range used {
		taken[rs] = true
	}
	for rs := max(min, 1); ; rs++ {
		if !taken[rs] {
			return rs, nil
		}
		if rs == 0xffff {
			return 0, fmt.Errorf("no free devfs ruleset at or above %d", min)
		}
	}
}
