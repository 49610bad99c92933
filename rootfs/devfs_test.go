package rootfs

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"reflect"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

func ptr[T any](v T) *T { return &v }

// skipBigEndian skips tests whose expected bytes are little-endian, the
// byte order of amd64 and arm64, the architectures runj-go ships for.
func skipBigEndian(t *testing.T) {
	t.Helper()
	if binary.NativeEndian.Uint16([]byte{1, 0}) != 1 {
		t.Skip("expected bytes are little-endian")
	}
}

// ioc is _IOC of sys/sys/ioccom.h, written out again for the test:
// _IOC(inout, group, num, len) = inout | ((len & IOCPARM_MASK) << 16) |
// (group << 8) | num, IOCPARM_MASK = (1 << IOCPARM_SHIFT) - 1 with
// IOCPARM_SHIFT 13.
func ioc(inout uint32, group byte, num uint8, size uint32) uint32 {
	return inout | (size&(1<<13-1))<<16 | uint32(group)<<8 | uint32(num)
}

const (
	testIOCIn    = 0x80000000 // IOC_IN
	testIOCOut   = 0x40000000 // IOC_OUT
	testIOCInOut = testIOCIn | testIOCOut
)

// The ioc transcription is checked against ioctl numbers that
// golang.org/x/sys/unix generated from FreeBSD's own headers with cgo
// (zerrors_freebsd_amd64.go and zerrors_freebsd_arm64.go agree), one each
// of _IOR, _IOW and _IOWR with a struct argument.
func TestIOCMatchesXSysUnixFreeBSD(t *testing.T) {
	for _, tt := range []struct {
		name string
		got  uint32
		want uint32
	}{
		{"BIOCGBLEN _IOR('B', 102, u_int)", ioc(testIOCOut, 'B', 102, 4), 0x40044266},
		{"BIOCSETIF _IOW('B', 108, struct ifreq)", ioc(testIOCIn, 'B', 108, 32), 0x8020426c},
		{"SIOCGIFMTU _IOWR('i', 51, struct ifreq)", ioc(testIOCInOut, 'i', 51, 32), 0xc0206933},
	} {
		if tt.got != tt.want {
			t.Errorf("%s = %#x, want %#x", tt.name, tt.got, tt.want)
		}
	}
}

// The devfs ioctl numbers are pinned three ways: the constants devfs.go
// computes, _IOC applied to the sizes of devfs.h's types, and the literals
// that OpenOrbis/mira-project lists in kernel/src/Driver/CtrlDriver.cpp
// ("DevFS Rules ioctl", next to static_assert(DEVFSIO_RAPPLY == 0x80EC4402),
// which their compiler checked against struct devfs_rule of a FreeBSD-derived
// amd64 kernel). Their 0xEC = 236 is sizeof(struct devfs_rule).
func TestDevfsIoctlRequests(t *testing.T) {
	for _, tt := range []struct {
		name  string
		got   uint32
		ioc   uint32
		orbis uint32
	}{
		{"DEVFSIO_RADD", devfsioRAdd, ioc(testIOCInOut, 'D', 0, devfsRuleSize), 0xC0EC4400},
		{"DEVFSIO_RDEL", devfsioRDel, ioc(testIOCIn, 'D', 1, 4), 0x80044401},
		{"DEVFSIO_RAPPLY", devfsioRApply, ioc(testIOCIn, 'D', 2, devfsRuleSize), 0x80EC4402},
		{"DEVFSIO_RGETNEXT", devfsioRGetNext, ioc(testIOCInOut, 'D', 4, devfsRuleSize), 0xC0EC4404},
		{"DEVFSIO_SUSE", devfsioSUse, ioc(testIOCIn, 'D', 10, 2), 0x8002440A},
		{"DEVFSIO_SAPPLY", devfsioSApply, ioc(testIOCIn, 'D', 11, 2), 0x8002440B},
		{"DEVFSIO_SGETNEXT", devfsioSGetNext, ioc(testIOCInOut, 'D', 12, 2), 0xC002440C},
	} {
		if tt.got != tt.ioc || tt.got != tt.orbis {
			t.Errorf("%s = %#x; _IOC gives %#x, mira-project lists %#x", tt.name, tt.got, tt.ioc, tt.orbis)
		}
	}
}

// TestDevfsRuleLayout pins the size and every field offset of struct
// devfs_rule. The offsets were computed with gcc's offsetof on the struct
// of sys/fs/devfs/devfs.h with FreeBSD's uid_t, gid_t (uint32_t) and mode_t
// (uint16_t); the size agrees with the ioctl literals above, and the
// field types with x/sys/unix's cgo-generated FreeBSD Stat_t (Uid, Gid
// uint32; Mode uint16). Each field gets a distinct value, and the test
// reads it back from the literal offset.
func TestDevfsRuleLayout(t *testing.T) {
	skipBigEndian(t)
	if devfsRuleSize != 236 {
		t.Fatalf("devfsRuleSize = %d, want 236", devfsRuleSize)
	}
	r := DevfsRule{
		ID:       MkRID(0x1234, 0x5678),
		DswFlags: 0x02, // D_DISK
		Pattern:  "da*",
		Hide:     true,
		Unhide:   true,
		UID:      ptr(uint32(0x11223344)),
		GID:      ptr(uint32(0x55667788)),
		Mode:     ptr(uint16(0o4755)),
		Include:  0xabcd,
	}
	b, err := r.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if len(b) != 236 {
		t.Fatalf("Marshal gave %d bytes, want 236", len(b))
	}
	want := make([]byte, 236)
	put := func(off int, v ...byte) { copy(want[off:], v) }
	put(0, 0x7a, 0x08, 0x0a, 0xdb)   // dr_magic DEVFS_MAGIC
	put(4, 0x78, 0x56, 0x34, 0x12)   // dr_id
	put(8, 0x03, 0, 0, 0)            // dr_icond DRC_DSWFLAGS|DRC_PATHPTRN
	put(12, 0x02, 0, 0, 0)           // dr_dswflags
	put(16, 'd', 'a', '*')           // dr_pathptrn[200]
	put(216, 0x1f, 0, 0, 0)          // dr_iacts BACTS|UID|GID|MODE|INCSET
	put(220, 0x03, 0, 0, 0)          // dr_bacts DRB_HIDE|DRB_UNHIDE
	put(224, 0x44, 0x33, 0x22, 0x11) // dr_uid
	put(228, 0x88, 0x77, 0x66, 0x55) // dr_gid
	put(232, 0xed, 0x09)             // dr_mode 04755
	put(234, 0xcd, 0xab)             // dr_incset
	if string(b) != string(want) {
		t.Errorf("Marshal:\n got %x\nwant %x", b, want)
	}
	for _, f := range []struct {
		name     string
		got, off int
	}{
		{"dr_magic", offMagic, 0}, {"dr_id", offID, 4}, {"dr_icond", offICond, 8},
		{"dr_dswflags", offDswFlags, 12}, {"dr_pathptrn", offPathPtrn, 16},
		{"dr_iacts", offIActs, 216}, {"dr_bacts", offBActs, 220}, {"dr_uid", offUID, 224},
		{"dr_gid", offGID, 228}, {"dr_mode", offMode, 232}, {"dr_incset", offIncSet, 234},
	} {
		if f.got != f.off {
			t.Errorf("offset of %s = %d, want %d", f.name, f.got, f.off)
		}
	}
}

func TestMkRID(t *testing.T) {
	if got := MkRID(4, 100); got != 0x40064 {
		t.Errorf("MkRID(4, 100) = %#x, want 0x40064", got)
	}
	r := DevfsRule{ID: MkRID(0xfffe, 0xfffd)}
	if r.ID != 0xfffefffd || r.Ruleset() != 0xfffe || r.Number() != 0xfffd {
		t.Errorf("MkRID(0xfffe, 0xfffd) = %#x, Ruleset %#x, Number %#x", r.ID, r.Ruleset(), r.Number())
	}
}

func TestDevfsRuleMarshal_unhide_with_mode(t *testing.T) {
	skipBigEndian(t)
	b, err := DevfsRule{ID: MkRID(10, 200), Pattern: "pf", Unhide: true, Mode: ptr(uint16(0o600))}.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	want := make([]byte, 236)
	copy(want, []byte{0x7a, 0x08, 0x0a, 0xdb, 0xc8, 0x00, 0x0a, 0x00, 0x02, 0, 0, 0})
	copy(want[16:], "pf")
	copy(want[216:], []byte{0x09, 0, 0, 0, 0x02, 0, 0, 0}) // DRA_BACTS|DRA_MODE, DRB_UNHIDE
	copy(want[232:], []byte{0x80, 0x01})
	if string(b) != string(want) {
		t.Errorf("Marshal:\n got %x\nwant %x", b, want)
	}
}

func TestDevfsRuleMarshal_errors(t *testing.T) {
	for _, tt := range []struct {
		name    string
		pattern string
		want    string
	}{
		{"pattern_with_NUL", "p\x00f", "contains a NUL byte"},
		{"pattern_of_200_bytes", strings.Repeat("a", 200), "is 200 bytes; the limit is 199"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := DevfsRule{ID: MkRID(10, 1), Pattern: tt.pattern}.Marshal()
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Marshal error = %v, want %q", err, tt.want)
			}
		})
	}
	t.Run("pattern_of_199_bytes_fits", func(t *testing.T) {
		b, err := DevfsRule{ID: MkRID(10, 1), Pattern: strings.Repeat("a", 199)}.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		if b[offPathPtrn+198] != 'a' || b[offPathPtrn+199] != 0 {
			t.Errorf("pattern bytes end %q, want 'a' then NUL", b[offPathPtrn+198:offPathPtrn+200])
		}
	})
}

func TestDevfsRule_round_trip(t *testing.T) {
	for _, r := range []DevfsRule{
		{},
		{ID: MkRID(1, 100), Hide: true},
		{ID: MkRID(4, 100), Include: 3},
		{ID: MkRID(4, 200), Pattern: "pts/*", Unhide: true},
		{ID: MkRID(10, 300), Pattern: "pf", Unhide: true, Mode: ptr(uint16(0))},
		{ID: MkRID(10, 400), DswFlags: 0x04, UID: ptr(uint32(0)), GID: ptr(uint32(5)), Mode: ptr(uint16(0o660))},
		{ID: MkRID(0xffff, 0xffff), DswFlags: -1, Pattern: strings.Repeat("x", 199), Hide: true, Unhide: true,
			UID: ptr(^uint32(0)), GID: ptr(^uint32(0)), Mode: ptr(^uint16(0)), Include: 0xffff},
	} {
		b, err := r.Marshal()
		if err != nil {
			t.Fatalf("Marshal(%+v): %v", r, err)
		}
		got, err := UnmarshalDevfsRule(b)
		if err != nil {
			t.Fatalf("Unmarshal(Marshal(%+v)): %v", r, err)
		}
		if !reflect.DeepEqual(got, r) {
			t.Errorf("round trip:\n got %+v\nwant %+v", got, r)
		}
	}
}

// A rule as the kernel may hold it carries values the kernel ignores;
// Unmarshal drops them and keeps what the kernel acts on.
func TestUnmarshalDevfsRule_drops_what_the_kernel_ignores(t *testing.T) {
	b, err := DevfsRule{ID: MkRID(10, 100), Pattern: "pf", Unhide: true}.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	ne := binary.NativeEndian
	copy(b[offPathPtrn+3:], "junk after the NUL")
	ne.PutUint32(b[offDswFlags:], 7) // no DRC_DSWFLAGS
	ne.PutUint32(b[offUID:], 1000)   // no DRA_UID
	ne.PutUint32(b[offGID:], 1000)   // no DRA_GID
	ne.PutUint16(b[offMode:], 0o777) // no DRA_MODE
	ne.PutUint16(b[offIncSet:], 4)   // no DRA_INCSET
	got, err := UnmarshalDevfsRule(b)
	if err != nil {
		t.Fatal(err)
	}
	want := DevfsRule{ID: MkRID(10, 100), Pattern: "pf", Unhide: true}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %+v, want %+v", got, want)
	}

	// A pattern without DRC_PATHPTRN is ignored, terminated or not; so
	// are boolean actions without DRA_BACTS.
	ne.PutUint32(b[offICond:], 0)
	ne.PutUint32(b[offIActs:], 0)
	copy(b[offPathPtrn:offPathPtrn+devfsMaxPtrnLen], strings.Repeat("z", devfsMaxPtrnLen))
	got, err = UnmarshalDevfsRule(b)
	if err != nil {
		t.Fatal(err)
	}
	if want := (DevfsRule{ID: MkRID(10, 100)}); !reflect.DeepEqual(got, want) {
		t.Errorf("got %+v, want %+v", got, want)
	}
}

func TestUnmarshalDevfsRule_errors(t *testing.T) {
	valid := func() []byte {
		b, err := DevfsRule{ID: MkRID(10, 100), Pattern: "pf", Unhide: true}.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	ne := binary.NativeEndian
	for _, tt := range []struct {
		name string
		edit func(b []byte) []byte
		want string
	}{
		{"short", func(b []byte) []byte { return b[:235] }, "235 bytes, want 236"},
		{"long", func(b []byte) []byte { return append(b, 0) }, "237 bytes, want 236"},
		{"empty", func([]byte) []byte { return nil }, "0 bytes, want 236"},
		{"bad_magic", func(b []byte) []byte { ne.PutUint32(b[offMagic:], 0xdb0a087b); return b }, "magic 0xdb0a087b"},
		{"unknown_condition", func(b []byte) []byte { ne.PutUint32(b[offICond:], 0x06); return b }, "unknown conditions 0x4"},
		{"unknown_action", func(b []byte) []byte { ne.PutUint32(b[offIActs:], 0x21); return b }, "actions 0x20"},
		{"unknown_boolean_action", func(b []byte) []byte { ne.PutUint32(b[offBActs:], 0x06); return b }, "unknown boolean actions 0x4"},
		{"unterminated_pattern", func(b []byte) []byte {
			copy(b[offPathPtrn:offPathPtrn+devfsMaxPtrnLen], strings.Repeat("p", devfsMaxPtrnLen))
			return b
		}, "not NUL-terminated"},
		{"empty_pattern", func(b []byte) []byte { b[offPathPtrn] = 0; return b }, "empty pattern"},
		{"type_condition_without_flags", func(b []byte) []byte { ne.PutUint32(b[offICond:], 0x03); return b }, "type condition without flags"},
		{"include_of_ruleset_0", func(b []byte) []byte { ne.PutUint32(b[offIActs:], 0x11); return b }, "include of ruleset 0"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := UnmarshalDevfsRule(tt.edit(valid()))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error = %v, want %q", err, tt.want)
			}
		})
	}
}

func TestDevfsRule_JSON(t *testing.T) {
	b, err := json.Marshal([]DevfsRule{
		{ID: MkRID(10, 100), Include: 4},
		{ID: MkRID(10, 200), Pattern: "pf", Unhide: true, Mode: ptr(uint16(0o600))},
		{ID: MkRID(10, 300), DswFlags: 2, Hide: true, UID: ptr(uint32(0)), GID: ptr(uint32(5))},
	})
	if err != nil {
		t.Fatal(err)
	}
	want := `[{"id":655460,"include":4},` +
		`{"id":655560,"pattern":"pf","unhide":true,"mode":384},` +
		`{"id":655660,"dswflags":2,"hide":true,"uid":0,"gid":5}]`
	if string(b) != want {
		t.Errorf("JSON:\n got %s\nwant %s", b, want)
	}
}

// testBase stands for the copied rules of a devfs mount's ruleset.
var testBase = []DevfsRule{{Hide: true}, {Pattern: "null", Unhide: true}}

func TestDevicesRules(t *testing.T) {
	mode := func(m os.FileMode) *os.FileMode { return &m }
	tests := []struct {
		name    string
		devices []specs.FreeBSDDevice
		want    []DevfsRule
	}{
		{
			name: "no_devices_is_the_base_ruleset_alone",
			want: []DevfsRule{{ID: MkRID(1000, 100), Hide: true}, {ID: MkRID(1000, 200), Pattern: "null", Unhide: true}},
		},
		{
			name:    "config-freebsd.md_example_pf_0700",
			devices: []specs.FreeBSDDevice{{Path: "pf", Mode: mode(448)}},
			want: []DevfsRule{
				{ID: MkRID(1000, 100), Hide: true},
				{ID: MkRID(1000, 200), Pattern: "null", Unhide: true},
				{ID: MkRID(1000, 300), Pattern: "pf", Unhide: true, Mode: ptr(uint16(0o700))},
			},
		},
		{
			name: "parents_are_unhidden_once_and_modes_kept_as_given",
			devices: []specs.FreeBSDDevice{
				{Path: "usb/0.1.0"},
				{Path: "usb/0.1.1", Mode: mode(0o4660)},
				{Path: "a/b/c", Mode: mode(0)},
				{Path: "usb"},
			},
			want: []DevfsRule{
				{ID: MkRID(1000, 100), Hide: true},
				{ID: MkRID(1000, 200), Pattern: "null", Unhide: true},
				{ID: MkRID(1000, 300), Pattern: "usb", Unhide: true},
				{ID: MkRID(1000, 400), Pattern: "usb/0.1.0", Unhide: true},
				{ID: MkRID(1000, 500), Pattern: "usb/0.1.1", Unhide: true, Mode: ptr(uint16(0o4660))},
				{ID: MkRID(1000, 600), Pattern: "a", Unhide: true},
				{ID: MkRID(1000, 700), Pattern: "a/b", Unhide: true},
				{ID: MkRID(1000, 800), Pattern: "a/b/c", Unhide: true, Mode: ptr(uint16(0))},
				{ID: MkRID(1000, 900), Pattern: "usb", Unhide: true},
			},
		},
		{
			name:    "fnmatch_characters_are_escaped",
			devices: []specs.FreeBSDDevice{{Path: `bpf*`}, {Path: `d?[1]\x/y`}},
			want: []DevfsRule{
				{ID: MkRID(1000, 100), Hide: true},
				{ID: MkRID(1000, 200), Pattern: "null", Unhide: true},
				{ID: MkRID(1000, 300), Pattern: `bpf\*`, Unhide: true},
				{ID: MkRID(1000, 400), Pattern: `d\?\[1]\\x`, Unhide: true},
				{ID: MkRID(1000, 500), Pattern: `d\?\[1]\\x/y`, Unhide: true},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := DevicesRules(1000, testBase, tt.devices)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				gj, _ := json.Marshal(got)
				wj, _ := json.Marshal(tt.want)
				t.Errorf("DevicesRules:\n got %s\nwant %s", gj, wj)
			}
			for _, r := range got {
				if _, err := r.Marshal(); err != nil {
					t.Errorf("Marshal(%+v): %v", r, err)
				}
			}
		})
	}
}

func TestDevicesRules_numbers_654_devices_and_no_more(t *testing.T) {
	devices := make([]specs.FreeBSDDevice, 654)
	for i := range devices {
		devices[i].Path = fmt.Sprintf("d%d", i)
	}
	base := []DevfsRule{{Hide: true}}
	rules, err := DevicesRules(7, base, devices)
	if err != nil {
		t.Fatal(err)
	}
	if last := rules[len(rules)-1]; len(rules) != 655 || last.ID != MkRID(7, 65500) {
		t.Errorf("%d rules, last %#x; want 655, last %#x", len(rules), last.ID, MkRID(7, 65500))
	}
	_, err = DevicesRules(7, base, append(devices, specs.FreeBSDDevice{Path: "one_more"}))
	if err == nil || !strings.Contains(err.Error(), "655 devices and the 1 rules of the devfs mount's ruleset need 656 devfs rules; a ruleset holds at most 655") {
		t.Errorf("error = %v, want too many rules", err)
	}
}

func TestDevicesRules_errors(t *testing.T) {
	badMode := os.FileMode(0o10644)
	long := strings.Repeat("a", 199)
	tests := []struct {
		name    string
		ruleset uint16
		base    []DevfsRule
		devices []specs.FreeBSDDevice
		want    string
	}{
		{"ruleset_0", 0, testBase, nil, "devfs ruleset 0 is the empty ruleset and cannot hold rules"},
		{"ruleset_including_itself", 1000, []DevfsRule{{Pattern: "a*", Include: 1000}}, nil, "devfs ruleset 1000 cannot include itself"},
		{"empty_path", 1000, testBase, []specs.FreeBSDDevice{{Path: "pf"}, {Path: ""}}, `freebsd.devices[1].path: "" is not a clean path relative to /dev`},
		{"absolute_path", 1000, testBase, []specs.FreeBSDDevice{{Path: "/dev/pf"}}, `freebsd.devices[0].path: "/dev/pf" is not a clean path`},
		{"dot_dot", 1000, testBase, []specs.FreeBSDDevice{{Path: ".."}}, `freebsd.devices[0].path: ".." is not a clean path`},
		{"leaving_dev", 1000, testBase, []specs.FreeBSDDevice{{Path: "../etc/passwd"}}, `freebsd.devices[0].path: "../etc/passwd" is not a clean path`},
		{"unclean_path", 1000, testBase, []specs.FreeBSDDevice{{Path: "usb//0.1.0"}}, `freebsd.devices[0].path: "usb//0.1.0" is not a clean path`},
		{"dot", 1000, testBase, []specs.FreeBSDDevice{{Path: "."}}, `freebsd.devices[0].path: "." is not a clean path`},
		{"NUL_in_path", 1000, testBase, []specs.FreeBSDDevice{{Path: "p\x00f"}}, `freebsd.devices[0].path: "p\x00f" contains a NUL byte`},
		{"mode_beyond_permission_bits", 1000, testBase, []specs.FreeBSDDevice{{Path: "pf", Mode: &badMode}}, "freebsd.devices[0].mode: 4516 (010644) has bits beyond the permission bits 07777"},
		{"path_too_long", 1000, testBase, []specs.FreeBSDDevice{{Path: long + "a"}}, "freebsd.devices[0].path: devfs path pattern"},
		{"path_too_long_once_escaped", 1000, testBase, []specs.FreeBSDDevice{{Path: long[:198] + "*"}}, "is 200 bytes; the limit is 199"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := DevicesRules(tt.ruleset, tt.base, tt.devices)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error = %v, want %q", err, tt.want)
			}
		})
	}
	t.Run("path_of_199_bytes_fits", func(t *testing.T) {
		if _, err := DevicesRules(1000, testBase, []specs.FreeBSDDevice{{Path: long}}); err != nil {
			t.Fatal(err)
		}
	})
}

func TestNextFreeRuleset(t *testing.T) {
	tests := []struct {
		name string
		used []uint16
		min  uint16
		want uint16
	}{
		{"none_used", nil, 1000, 1000},
		{"min_0_means_1", nil, 0, 1},
		{"min_0_skips_used", []uint16{1, 2, 3, 4, 5}, 0, 6},
		{"gap_is_taken", []uint16{1000, 1002, 1001, 1004}, 1000, 1003},
		{"below_min_ignored", []uint16{1, 2, 3, 4, 1000}, 999, 999},
		{"last_number", []uint16{65534}, 65534, 65535},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := nextFreeRuleset(tt.used, tt.min)
			if err != nil || got != tt.want {
				t.Fatalf("nextFreeRuleset(%v, %d) = %d, %v; want %d", tt.used, tt.min, got, err, tt.want)
			}
		})
	}
	t.Run("none_free", func(t *testing.T) {
		_, err := nextFreeRuleset([]uint16{65534, 65535}, 65534)
		if err == nil || err.Error() != "no free devfs ruleset at or above 65534" {
			t.Fatalf("error = %v", err)
		}
	})
}

func FuzzUnmarshalDevfsRule(f *testing.F) {
	for _, r := range []DevfsRule{
		{ID: MkRID(4, 100), Include: 3},
		{ID: MkRID(10, 200), Pattern: "pf", Unhide: true, Mode: ptr(uint16(0o600))},
		{ID: MkRID(1, 100), DswFlags: 2, Hide: true, UID: ptr(uint32(0)), GID: ptr(uint32(5))},
	} {
		b, err := r.Marshal()
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte{})
	f.Add(make([]byte, devfsRuleSize))
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := UnmarshalDevfsRule(b)
		if err != nil {
			return
		}
		// What Unmarshal accepts, Marshal encodes, and decoding that
		// gives the same rule.
		b2, err := r.Marshal()
		if err != nil {
			t.Fatalf("Marshal(%+v) of an unmarshalled rule: %v", r, err)
		}
		r2, err := UnmarshalDevfsRule(b2)
		if err != nil {
			t.Fatalf("Unmarshal(Marshal(%+v)): %v", r, err)
		}
		if !reflect.DeepEqual(r, r2) {
			t.Fatalf("round trip:\n got %+v\nwant %+v", r2, r)
		}
	})
}

// The stock rulesets of devfs.rules (sbin/devfs/devfs.rules), shortened.
var stockRulesets = map[uint16][]DevfsRule{
	1: {{ID: MkRID(1, 100), Hide: true}},
	2: {{ID: MkRID(2, 100), Pattern: "null", Unhide: true}, {ID: MkRID(2, 200), Pattern: "zero", Unhide: true}},
	3: {{ID: MkRID(3, 100), Pattern: "pts", Unhide: true}, {ID: MkRID(3, 200), Pattern: "pts/*", Unhide: true}},
	4: {
		{ID: MkRID(4, 100), Include: 1}, {ID: MkRID(4, 200), Include: 2}, {ID: MkRID(4, 300), Include: 3},
		{ID: MkRID(4, 400), Pattern: "fuse", Unhide: true},
	},
	5: {
		{ID: MkRID(5, 100), Include: 1}, {ID: MkRID(5, 200), Include: 2}, {ID: MkRID(5, 300), Include: 3},
		{ID: MkRID(5, 400), Include: 4}, {ID: MkRID(5, 500), Pattern: "pf", Unhide: true},
	},
	// 6 includes bpf devices from 2 only, and has an include with actions.
	6: {
		{ID: MkRID(6, 100), Pattern: "bpf*", Include: 2},
		{ID: MkRID(6, 200), Include: 5, Mode: ptr(uint16(0o600))},
		{ID: MkRID(6, 300), Include: 7},
	},
	// 7 has an include with an action of its own, which runs two levels
	// down where the include does not.
	7: {{ID: MkRID(7, 100), Pattern: "mem", Include: 1, Hide: true}},
}

func stockRules(rs uint16) ([]DevfsRule, error) { return stockRulesets[rs], nil }

// A copy acts as its ruleset does as a mount's ruleset, where the kernel
// follows one level of includes (vfs.devfs.rule_depth 1): unconditional
// includes are expanded one level, their own includes dropped;
// conditional includes are kept.
func TestCopyRuleset(t *testing.T) {
	for _, tt := range []struct {
		base uint16
		want []DevfsRule
	}{
		{4, []DevfsRule{
			{Hide: true},
			{Pattern: "null", Unhide: true}, {Pattern: "zero", Unhide: true},
			{Pattern: "pts", Unhide: true}, {Pattern: "pts/*", Unhide: true},
			{Pattern: "fuse", Unhide: true},
		}},
		// 5's include of 4 brings 4's own rule only: 4's includes are
		// two levels down.
		{5, []DevfsRule{
			{Hide: true},
			{Pattern: "null", Unhide: true}, {Pattern: "zero", Unhide: true},
			{Pattern: "pts", Unhide: true}, {Pattern: "pts/*", Unhide: true},
			{Pattern: "fuse", Unhide: true},
			{Pattern: "pf", Unhide: true},
		}},
		{6, []DevfsRule{
			{Pattern: "bpf*", Include: 2},
			{Mode: ptr(uint16(0o600))},
			{Pattern: "pf", Unhide: true},
			{Pattern: "mem", Hide: true},
		}},
		{9, nil},
	} {
		got, err := CopyRuleset(tt.base, stockRules)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, tt.want) {
			gj, _ := json.Marshal(got)
			wj, _ := json.Marshal(tt.want)
			t.Errorf("CopyRuleset(%d):\n got %s\nwant %s", tt.base, gj, wj)
		}
	}
	boom := errors.New("boom")
	_, err := CopyRuleset(4, func(rs uint16) ([]DevfsRule, error) {
		if rs == 3 {
			return nil, boom
		}
		return stockRulesets[rs], nil
	})
	if !errors.Is(err, boom) || err.Error() != "devfs ruleset 3, included by ruleset 4: boom" {
		t.Errorf("error = %v", err)
	}
}
