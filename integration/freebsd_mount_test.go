//go:build integration && freebsd

// The file system tests: create mounts the spec's mounts with nmount(2) on
// the host, under the root file system (or under the read-only view of it
// that becomes the jail's path), before the process runs; delete, and a
// create that fails, undo them in reverse. What the container sees is
// asked of `ctrhelper fs` inside the jail, as the container process or
// through exec; what the host has mounted is asked of getfsstat(2).
//
// Inside a jail with enforce_statfs 2 (the default) statfs(2) names only
// the jail's root mount ("/"); every other mount point reads
// "[restricted]" (sys/kern/kern_jail.c: prison_enforce_statfs). So the
// tests identify a mount inside by its type, flags and size, and by name
// from the host.

package integration

import (
	"encoding/json"
	"errors"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/runj-go/runj-go/integration/internal/ctrreport"
	"github.com/runj-go/runj-go/rootfs"
)

// TestNullfsMounts binds two host directories into the container, one
// read-write (type nullfs) and one read-only (type bind with rbind, as
// containerd writes them). The container reads and writes through both:
// a write to the read-write one lands in the host directory, a write to
// the read-only one fails with EROFS and changes nothing. delete unmounts
// both and removes the mount points create made, and leaves the host
// directories and what the container wrote in them alone.
func TestNullfsMounts(t *testing.T) {
	s := newSuite(t)
	srcRW, srcRO := s.hostDir("src-rw", "hello", "rw data\n"), s.hostDir("src-ro", "hello", "ro data\n")
	ops := []string{
		"read", "/mnt/ro/hello",
		"write", "/mnt/ro/new",
		"write", "/mnt/ro/hello",
		"read", "/mnt/rw/hello",
		"write", "/mnt/rw/new",
		"ls", "/mnt/rw",
		"statfs", "/mnt/rw",
		"statfs", "/mnt/ro",
	}
	c := s.newContainer("nullfs", func(sp *specs.Spec) {
		sp.Mounts = []specs.Mount{
			{Destination: "/mnt/rw", Type: "nullfs", Source: srcRW, Options: []string{"rw"}},
			{Destination: "/mnt/ro", Type: "bind", Source: srcRO, Options: []string{"rbind", "ro"}},
		}
	}, append([]string{"fs"}, ops...)...)
	before := tree(t, c.rootfs)
	c.mustCreate()

	ms := mountTable(t, c.rootfs)
	checkMounts(t, ms, "mnt/rw nullfs", "mnt/ro nullfs")
	if len(ms) == 2 {
		checkFrom(t, ms[0], srcRW)
		checkFrom(t, ms[1], srcRO)
		if ms[0].Flags&unix.MNT_RDONLY != 0 || ms[1].Flags&unix.MNT_RDONLY == 0 {
			t.Errorf("MNT_RDONLY: %s %t, %s %t; want false, true", ms[0].On, ms[0].Flags&unix.MNT_RDONLY != 0, ms[1].On, ms[1].Flags&unix.MNT_RDONLY != 0)
		}
	}

	c.mustStart()
	c.waitStatus(specs.StateStopped)
	res := parseFS(t, c.output(), ops)
	checkRead(t, res[0], "ro data\n")
	checkErrno(t, res[1], "EROFS")
	checkErrno(t, res[2], "EROFS")
	checkRead(t, res[3], "rw data\n")
	checkErrno(t, res[4], "")
	if want := []string{"hello", "new"}; !slices.Equal(res[5].Names, want) {
		t.Errorf("ls /mnt/rw: %q (%s), want %q", res[5].Names, res[5].Errno, want)
	}
	checkStatfs(t, res[6], "nullfs", 0, unix.MNT_RDONLY)
	checkStatfs(t, res[7], "nullfs", unix.MNT_RDONLY, 0)

	s.mustRunj("delete", c.id)
	c.checkGone()
	checkNothingMounted(t, c.rootfs)
	checkTree(t, c.rootfs, before)
	// The host directories keep what they had and what the container
	// wrote through the read-write mount.
	checkDirFiles(t, srcRW, map[string]string{"hello": "rw data\n", "new": "/mnt/rw/new\n"})
	checkDirFiles(t, srcRO, map[string]string{"hello": "ro data\n"})
}

// TestTmpfsSize mounts a tmpfs with size, mode and nosuid. Inside, statfs
// reports the size (tmpfs_statfs: f_blocks is the page limit that size
// gives, in f_bsize units of PAGE_SIZE) and the flag, the mount's root
// has the mode, and it can be written. The test then holds a file in the
// tmpfs open on the host, so that unmount(2) fails with EBUSY: delete
// must retry with MNT_FORCE and still leave nothing mounted.
func TestTmpfsSize(t *testing.T) {
	const size = 16 << 20
	s := newSuite(t)
	c := s.newContainer("tmpfs", func(sp *specs.Spec) {
		sp.Mounts = []specs.Mount{{Destination: "/scratch", Type: "tmpfs", Source: "tmpfs", Options: []string{"size=16m", "mode=750", "nosuid"}}}
	}, "sleep")
	before := tree(t, c.rootfs)
	c.mustCreate()
	checkMounts(t, mountTable(t, c.rootfs), "scratch tmpfs")
	c.mustStart()
	c.waitStatus(specs.StateRunning)

	res := c.fsExec("statfs", "/scratch", "stat", "/scratch", "write", "/scratch/f", "read", "/scratch/f")
	if st := checkStatfs(t, res[0], "tmpfs", unix.MNT_NOSUID, 0); st != nil && st.Bsize*st.Blocks != size {
		t.Errorf("statfs /scratch: %d blocks of %d bytes = %d bytes, want size=16m, %d", st.Blocks, st.Bsize, st.Bsize*st.Blocks, size)
	}
	if m := res[1].Mode; res[1].Errno != "" || !m.IsDir() || m.Perm() != 0o750 {
		t.Errorf("stat /scratch: mode %v (%s), want a directory with mode=750", m, res[1].Errno)
	}
	checkErrno(t, res[2], "")
	checkRead(t, res[3], "/scratch/f\n")

	busy, err := os.Open(c.hostPath("/scratch/f"))
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	s.mustRunj("delete", "--force", c.id)
	c.checkGone()
	checkNothingMounted(t, c.rootfs)
	checkTree(t, c.rootfs, before)
}

// TestDevfsRuleset mounts devfs at /dev, as every FreeBSD container spec
// does, with ruleset 4 (devfsrules_jail) named and, as the default, not
// named. The container sees only what ruleset 4 unhides: /dev/null but
// not /dev/mem. From the host the mount covers the root file system's
// dev directory and its plain dev/null file; after delete that file is
// back and ruleset 4 is as it was.
func TestDevfsRuleset(t *testing.T) {
	for _, tc := range []struct {
		name    string
		options []string
	}{
		{"ruleset=4", []string{"ruleset=4"}},
		{"default", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newSuite(t)
			unhides := requireRuleset4(t)
			c := s.newContainer("devfs", func(sp *specs.Spec) {
				sp.Mounts = []specs.Mount{{Destination: "/dev", Type: "devfs", Source: "devfs", Options: tc.options}}
			}, "sleep")
			rules4 := devfsRules(t, 4)
			before := tree(t, c.rootfs)
			c.mustCreate()
			checkMounts(t, mountTable(t, c.rootfs), "dev devfs")
			// The plain file the root file system has at dev/null is
			// covered by the devfs mount's character device.
			if fi, err := os.Lstat(c.hostPath("/dev/null")); err != nil || fi.Mode()&fs.ModeCharDevice == 0 {
				t.Errorf("%s from the host: %v, mode %v; want the null character device", c.hostPath("/dev/null"), err, modeOf(fi))
			}
			if _, err := os.Lstat(c.hostPath("/dev/mem")); !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("%s from the host: %v; want it hidden by ruleset 4", c.hostPath("/dev/mem"), err)
			}
			c.mustStart()
			c.waitStatus(specs.StateRunning)

			res := c.fsExec("stat", "/dev/null", "stat", "/dev/zero", "stat", "/dev/mem", "stat", "/dev/kmem", "ls", "/dev")
			checkCharDevice(t, res[0])
			checkCharDevice(t, res[1])
			checkErrno(t, res[2], "ENOENT")
			checkErrno(t, res[3], "ENOENT")
			checkErrno(t, res[4], "")
			checkListing(t, res[4].Names, unhides)

			s.mustRunj("delete", "--force", c.id)
			c.checkGone()
			checkNothingMounted(t, c.rootfs)
			checkTree(t, c.rootfs, before)
			if got := devfsRules(t, 4); !reflect.DeepEqual(got, rules4) {
				t.Errorf("ruleset 4 changed:\n got %+v\nwant %+v", got, rules4)
			}
		})
	}
}

// TestDevfsDevices exposes /dev/mem, which ruleset 4 hides and every
// FreeBSD kernel has, through freebsd.devices with mode 0600. The runtime
// makes a ruleset of its own, the lowest free one from 1000 up, that
// copies the rules of the mount's ruleset 4 (the kernel would not follow
// 4's own includes from an include of 4: vfs.devfs.rule_depth is 1) and
// unhides the device with the mode, and makes it the mount's: the
// container then sees /dev/mem with mode 0600, /dev/null still (from
// ruleset 4), and /dev/kmem still not, nor a device node made after the
// container's create (an md(4) disk). The host's own /dev/mem keeps its
// mode: rules act on one devfs mount. delete releases the ruleset and
// leaves ruleset 4 as it was.
func TestDevfsDevices(t *testing.T) {
	s := newSuite(t)
	requireRuleset4(t)
	hostMem := hostMode(t, "/dev/mem")
	mode := os.FileMode(0o600)
	devices := []specs.FreeBSDDevice{{Path: "mem", Mode: &mode}}
	c := s.newContainer("devices", func(sp *specs.Spec) {
		sp.Mounts = []specs.Mount{{Destination: "/dev", Type: "devfs", Source: "devfs", Options: []string{"ruleset=4"}}}
		sp.FreeBSD = &specs.FreeBSD{Devices: devices}
	}, "sleep")
	rules4 := devfsRules(t, 4)
	// The runtime takes the lowest free ruleset from 1000 up (oci/mounts.go:
	// firstDevicesRuleset); nothing else on a test host makes rulesets
	// while the suite runs.
	rs := nextFreeRuleset(t, firstDevicesRuleset)
	c.mustCreate()

	base, err := rootfs.CopyRuleset(4, func(n uint16) ([]rootfs.DevfsRule, error) { return devfsRules(t, n), nil })
	if err != nil {
		t.Fatal(err)
	}
	want, err := rootfs.DevicesRules(rs, base, devices)
	if err != nil {
		t.Fatal(err)
	}
	if got := devfsRules(t, rs); !reflect.DeepEqual(got, want) {
		t.Errorf("ruleset %d after create:\n got %+v\nwant %+v (ruleset 4's rules, then unhide mem with mode 0600)", rs, got, want)
	}
	if m := hostMode(t, c.hostPath("/dev/mem")); m.Perm() != 0o600 {
		t.Errorf("%s from the host: mode %v, want 0600", c.hostPath("/dev/mem"), m)
	}
	c.mustStart()
	c.waitStatus(specs.StateRunning)

	// A device node made now is hidden by the container's ruleset, as
	// ruleset 4 would hide it.
	md := exec.Command("mdconfig", "-a", "-t", "malloc", "-s", "1m")
	out, err := md.Output()
	if err != nil {
		t.Fatalf("mdconfig -a: %v", err)
	}
	unit := strings.TrimSpace(string(out))
	t.Cleanup(func() { exec.Command("mdconfig", "-d", "-u", unit).Run() })

	res := c.fsExec("stat", "/dev/mem", "stat", "/dev/kmem", "stat", "/dev/null", "stat", "/dev/"+unit)
	if checkCharDevice(t, res[0]) && res[0].Mode.Perm() != 0o600 {
		t.Errorf("stat /dev/mem in the container: mode %v, want freebsd.devices' 0600", res[0].Mode)
	}
	checkErrno(t, res[1], "ENOENT")
	checkCharDevice(t, res[2])
	checkErrno(t, res[3], "ENOENT")
	if m := hostMode(t, "/dev/mem"); m != hostMem {
		t.Errorf("the host's /dev/mem: mode %v, was %v: the rule reached the host's devfs", m, hostMem)
	}

	s.mustRunj("delete", "--force", c.id)
	c.checkGone()
	checkNothingMounted(t, c.rootfs)
	checkRulesetGone(t, rs)
	if got := devfsRules(t, 4); !reflect.DeepEqual(got, rules4) {
		t.Errorf("ruleset 4 changed:\n got %+v\nwant %+v", got, rules4)
	}
}

// TestReadOnlyRoot sets root.readonly: the root file system is mounted
// read-only with nullfs at <root>/<id>/root, the runtime's own path, which
// is the jail's path; a spec tmpfs goes on top of it. Writing anywhere on
// the root fails with EROFS, the tmpfs can be written, and nothing is
// mounted on the root file system itself. delete unmounts the tmpfs, then
// the view, and removes what it made.
func TestReadOnlyRoot(t *testing.T) {
	s := newSuite(t)
	s.checkNothingMountedAtEnd()
	c := s.newContainer("roroot", func(sp *specs.Spec) {
		sp.Root.Readonly = true
		sp.Mounts = []specs.Mount{{Destination: "/scratch", Type: "tmpfs", Source: "tmpfs", Options: []string{"size=1m"}}}
	}, "sleep")
	before := tree(t, c.rootfs)
	c.mustCreate()

	view := filepath.Join(s.root, c.id, "root")
	realView := realPath(t, view)
	if got := jailParamValue(t, c.jail, stringParam("path")); got != realView {
		t.Errorf("jail %s: path = %v, want the read-only view %s", c.jail, got, realView)
	}
	ms := mountTable(t, view)
	checkMounts(t, ms, ". nullfs", "scratch tmpfs")
	if len(ms) == 2 {
		checkFrom(t, ms[0], c.rootfs)
		if ms[0].Flags&unix.MNT_RDONLY == 0 || ms[1].Flags&unix.MNT_RDONLY != 0 {
			t.Errorf("MNT_RDONLY: view %t, tmpfs %t; want true, false", ms[0].Flags&unix.MNT_RDONLY != 0, ms[1].Flags&unix.MNT_RDONLY != 0)
		}
	}
	checkNothingMounted(t, c.rootfs)
	c.mustStart()
	c.waitStatus(specs.StateRunning)

	res := c.fsExec("write", "/x", "write", "/tmp/x", "write", "/scratch/x", "read", "/scratch/x", "statfs", "/", "statfs", "/scratch")
	checkErrno(t, res[0], "EROFS")
	checkErrno(t, res[1], "EROFS")
	checkErrno(t, res[2], "")
	checkRead(t, res[3], "/scratch/x\n")
	if st := checkStatfs(t, res[4], "nullfs", unix.MNT_RDONLY, 0); st != nil && st.On != "/" {
		t.Errorf("statfs / in the container: mounted on %q, want / (the jail's root mount)", st.On)
	}
	checkStatfs(t, res[5], "tmpfs", 0, unix.MNT_RDONLY)

	s.mustRunj("delete", "--force", c.id)
	c.checkGone()
	checkNothingMounted(t, s.dir)
	checkTree(t, c.rootfs, before)
}

// TestReadOnlyRootNestedMount mounts a tmpfs at /data and a second tmpfs
// at /data/sub under a read-only root: the second mount point belongs in
// the first tmpfs, as it does without root.readonly (TestMountOrder).
func TestReadOnlyRootNestedMount(t *testing.T) {
	s := newSuite(t)
	s.checkNothingMountedAtEnd()
	c := s.newContainer("ronest", func(sp *specs.Spec) {
		sp.Root.Readonly = true
		sp.Mounts = []specs.Mount{
			{Destination: "/data", Type: "tmpfs", Source: "tmpfs", Options: []string{"size=1m"}},
			{Destination: "/data/sub", Type: "tmpfs", Source: "tmpfs", Options: []string{"size=2m"}},
		}
	}, "sleep")
	before := tree(t, c.rootfs)
	c.mustCreate()
	checkMounts(t, mountTable(t, filepath.Join(s.root, c.id, "root")), ". nullfs", "data tmpfs", "data/sub tmpfs")
	c.mustStart()
	c.waitStatus(specs.StateRunning)
	res := c.fsExec("ls", "/data", "statfs", "/data/sub")
	if want := []string{"sub"}; !slices.Equal(res[0].Names, want) {
		t.Errorf("ls /data: %q (%s), want %q", res[0].Names, res[0].Errno, want)
	}
	if st := checkStatfs(t, res[1], "tmpfs", 0, 0); st != nil && st.Bsize*st.Blocks != 2<<20 {
		t.Errorf("statfs /data/sub: %d bytes, want the inner tmpfs's 2m", st.Bsize*st.Blocks)
	}
	s.mustRunj("delete", "--force", c.id)
	c.checkGone()
	checkNothingMounted(t, s.dir)
	checkTree(t, c.rootfs, before)
}

// TestMountOrder mounts file systems inside each other, as specs do
// (devfs at /dev and fdescfs at /dev/fd; a tmpfs with a bind mount and
// another tmpfs inside it, whose mount points create makes in the first
// tmpfs). The kernel's mount list, in the order mounts were made, follows
// the spec, and the container sees each one. delete leaves nothing
// mounted and the root file system as it was: the mount points it made
// removed, /dev and its plain dev/null file kept. (Which mount delete
// undoes first cannot be seen from here as long as each unmount
// succeeds: the exact order is for the simulated-kernel end-to-end
// tests, which record every unmount.)
func TestMountOrder(t *testing.T) {
	s := newSuite(t)
	src := s.hostDir("src", "file", "data\n")
	c := s.newContainer("order", func(sp *specs.Spec) {
		sp.Mounts = []specs.Mount{
			{Destination: "/dev", Type: "devfs", Source: "devfs", Options: []string{"ruleset=4"}},
			{Destination: "/dev/fd", Type: "fdescfs", Source: "fdesc"},
			{Destination: "/data", Type: "tmpfs", Source: "tmpfs", Options: []string{"size=8m"}},
			{Destination: "/data/a", Type: "nullfs", Source: src},
			{Destination: "/data/b", Type: "tmpfs", Source: "tmpfs", Options: []string{"size=1m"}},
		}
	}, "sleep")
	before := tree(t, c.rootfs)
	c.mustCreate()
	checkMounts(t, mountTable(t, c.rootfs), "dev devfs", "dev/fd fdescfs", "data tmpfs", "data/a nullfs", "data/b tmpfs")
	c.mustStart()
	c.waitStatus(specs.StateRunning)

	res := c.fsExec("ls", "/data", "statfs", "/data", "statfs", "/data/a", "statfs", "/data/b", "statfs", "/dev/fd", "read", "/data/a/file")
	if want := []string{"a", "b"}; !slices.Equal(res[0].Names, want) {
		t.Errorf("ls /data: %q (%s), want %q", res[0].Names, res[0].Errno, want)
	}
	for i, want := range []struct {
		fstype string
		size   uint64
	}{{"tmpfs", 8 << 20}, {"nullfs", 0}, {"tmpfs", 1 << 20}, {"fdescfs", 0}} {
		if st := checkStatfs(t, res[1+i], want.fstype, 0, 0); st != nil && want.size != 0 && st.Bsize*st.Blocks != want.size {
			t.Errorf("statfs %s: %d bytes, want %d", res[1+i].Path, st.Bsize*st.Blocks, want.size)
		}
	}
	checkRead(t, res[5], "data\n")

	s.mustRunj("delete", "--force", c.id)
	c.checkGone()
	checkNothingMounted(t, c.rootfs)
	checkTree(t, c.rootfs, before)
	checkDirFiles(t, src, map[string]string{"file": "data\n"})
}

// TestCreateFailureUnmounts makes create fail after it has mounted file
// systems: on the last mount, a bind mount whose source does not exist,
// and after everything, when init finds no program in the jail. Both
// times create must unmount what it mounted (the read-only root view, a
// devfs, a tmpfs and a bind mount), release the devfs ruleset of
// freebsd.devices when it made one, remove the mount points it made and
// the jail, and leave no state.
func TestCreateFailureUnmounts(t *testing.T) {
	for _, tc := range []struct {
		name string
		edit func(sp *specs.Spec, s *suite)
		want []string
	}{
		{
			name: "missing bind source",
			edit: func(sp *specs.Spec, s *suite) {
				sp.Mounts = append(sp.Mounts, specs.Mount{Destination: "/mnt/missing", Type: "nullfs", Source: filepath.Join(s.dir, "does-not-exist")})
			},
			want: []string{"mounts[3] (nullfs on /mnt/missing)", "does-not-exist"},
		},
		{
			name: "missing program",
			edit: func(sp *specs.Spec, _ *suite) { sp.Process.Args = []string{"/bin/no-such-program"} },
			want: []string{"no-such-program"},
		},
	} {
		t.Run(strings.ReplaceAll(tc.name, " ", "_"), func(t *testing.T) {
			s := newSuite(t)
			s.checkNothingMountedAtEnd()
			src := s.hostDir("src", "file", "data\n")
			mode := os.FileMode(0o600)
			c := s.newContainer("failmnt", func(sp *specs.Spec) {
				sp.Root.Readonly = true
				sp.Mounts = []specs.Mount{
					{Destination: "/dev", Type: "devfs", Source: "devfs", Options: []string{"ruleset=4"}},
					{Destination: "/scratch", Type: "tmpfs", Source: "tmpfs", Options: []string{"size=1m"}},
					{Destination: "/mnt/a", Type: "nullfs", Source: src},
				}
				sp.FreeBSD = &specs.FreeBSD{Devices: []specs.FreeBSDDevice{{Path: "mem", Mode: &mode}}}
				tc.edit(sp, s)
			}, "sleep")
			before := tree(t, c.rootfs)
			rs := nextFreeRuleset(t, firstDevicesRuleset)

			r := c.create()
			stderr := readFile(t, c.stderr)
			if r.err != nil || r.code != 1 {
				t.Fatalf("want exit 1, got %v\nstderr: %s", r, stderr)
			}
			for _, w := range tc.want {
				if !strings.Contains(stderr, w) {
					t.Errorf("stderr does not say %q:\n%s", w, stderr)
				}
			}
			checkNothingMounted(t, s.dir)
			c.checkGone()
			checkStateRootEmpty(t, s)
			checkTree(t, c.rootfs, before)
			checkDirFiles(t, src, map[string]string{"file": "data\n"})
			checkRulesetGone(t, rs)
		})
	}
}

// TestMountDestinationEscape refuses a bundle whose mount destination
// goes through a symbolic link in the root file system that leads out of
// it, to a directory on the host: a relative link climbing out with "..",
// and an absolute link (an absolute link leaves the root whatever it
// names: O_RESOLVE_BENEATH), followed in the middle of the destination and
// as its last component. create fails naming the mount before anything is
// mounted: not the devfs mount before it either, and nothing appears in
// the host directory.
func TestMountDestinationEscape(t *testing.T) {
	for _, tc := range []struct {
		name string
		// link is the symbolic link's target, "" for the host
		// directory's absolute path.
		link string
		dest string
	}{
		{"relative link", "../../outside", "/evil/x"},
		{"absolute link", "", "/evil"},
	} {
		t.Run(strings.ReplaceAll(tc.name, " ", "_"), func(t *testing.T) {
			s := newSuite(t)
			s.checkNothingMountedAtEnd()
			outside := filepath.Join(s.dir, "outside")
			if err := os.Mkdir(outside, 0o755); err != nil {
				t.Fatal(err)
			}
			c := s.newContainer("escape", func(sp *specs.Spec) {
				sp.Mounts = []specs.Mount{
					{Destination: "/dev", Type: "devfs", Source: "devfs", Options: []string{"ruleset=4"}},
					{Destination: tc.dest, Type: "tmpfs", Source: "tmpfs", Options: []string{"size=1m"}},
				}
			}, "sleep")
			link := tc.link
			if link == "" {
				link = outside
			}
			if err := os.Symlink(link, c.hostPath("/evil")); err != nil {
				t.Fatal(err)
			}
			// The link does lead to the host directory.
			if got := realPath(t, c.hostPath("/evil")); got != realPath(t, outside) {
				t.Fatalf("%s resolves to %s on the host, want %s", c.hostPath("/evil"), got, outside)
			}
			before := tree(t, c.rootfs)

			r := c.create()
			stderr := readFile(t, c.stderr)
			if r.err != nil || r.code != 1 {
				t.Fatalf("want exit 1, got %v\nstderr: %s", r, stderr)
			}
			for _, w := range []string{"mounts[1]", tc.dest, "leads outside the root"} {
				if !strings.Contains(stderr, w) {
					t.Errorf("stderr does not say %q:\n%s", w, stderr)
				}
			}
			checkNothingMounted(t, s.dir)
			if names := dirNames(t, outside); len(names) != 0 {
				t.Errorf("create made %q in the host directory %s", names, outside)
			}
			c.checkGone()
			checkStateRootEmpty(t, s)
			checkTree(t, c.rootfs, before)
		})
	}
}

// fsResult is one line of `ctrhelper fs`.
type fsResult = ctrreport.FSResult

// parseFS decodes what `ctrhelper fs ops...` printed: one result per
// operation, in order. It fails the test unless there is exactly that.
func parseFS(t *testing.T, out string, ops []string) []fsResult {
	t.Helper()
	var res []fsResult
	dec := json.NewDecoder(strings.NewReader(out))
	for {
		var r fsResult
		err := dec.Decode(&r)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("ctrhelper fs output: %v\n%s", err, out)
		}
		res = append(res, r)
	}
	if len(res) != len(ops)/2 {
		t.Fatalf("ctrhelper fs %q: %d results, want %d\n%s", ops, len(res), len(ops)/2, out)
	}
	for i, r := range res {
		if r.Op != ops[2*i] || r.Path != ops[2*i+1] {
			t.Fatalf("ctrhelper fs: result %d is %s %s, want %s %s", i, r.Op, r.Path, ops[2*i], ops[2*i+1])
		}
	}
	return res
}

// fsExec runs `ctrhelper fs ops...` in the running container with exec.
func (c *container) fsExec(ops ...string) []fsResult {
	c.s.t.Helper()
	r := c.s.mustRunj(append([]string{"exec", c.id, helperInJail, "fs"}, ops...)...)
	return parseFS(c.s.t, r.stdout, ops)
}

func checkErrno(t *testing.T, r fsResult, want string) {
	t.Helper()
	if r.Errno != want {
		if want == "" {
			want = "success"
		}
		t.Errorf("%s %s in the container: %q, want %s", r.Op, r.Path, r.Errno, want)
	}
}

func checkRead(t *testing.T, r fsResult, want string) {
	t.Helper()
	if r.Errno != "" || r.Data != want {
		t.Errorf("read %s in the container: %q (%s), want %q", r.Path, r.Data, r.Errno, want)
	}
}

// checkCharDevice checks that stat found a character device.
func checkCharDevice(t *testing.T, r fsResult) bool {
	t.Helper()
	if r.Errno != "" || r.Mode&fs.ModeCharDevice == 0 {
		t.Errorf("stat %s in the container: mode %v (%s), want a character device", r.Path, r.Mode, r.Errno)
		return false
	}
	return true
}

// checkStatfs checks that statfs found a file system of type fstype with
// the flags in set set and those in unset clear, and returns what it
// found, or nil when it failed.
func checkStatfs(t *testing.T, r fsResult, fstype string, set, unset uint64) *ctrreport.Statfs {
	t.Helper()
	st := r.Statfs
	switch {
	case r.Errno != "" || st == nil:
		t.Errorf("statfs %s in the container: %s", r.Path, r.Errno)
		return nil
	case st.Type != fstype:
		t.Errorf("statfs %s in the container: a %s file system, want %s", r.Path, st.Type, fstype)
	case st.Flags&set != set || st.Flags&unset != 0:
		t.Errorf("statfs %s in the container: flags %#x, want %#x set and %#x clear", r.Path, st.Flags, set, unset)
	}
	return st
}

// mountEntry is one mount of the kernel's mount list.
type mountEntry struct {
	On    string // relative to the directory mountTable was asked about
	Type  string
	From  string
	Flags uint64
}

// mountTable lists the mounts at or under dir in the order of the
// kernel's mount list, which is the order they were made
// (sys/kern/vfs_mount.c: vfs_domount_first appends to mountlist;
// vfs_getfsstat walks it). The kernel keeps mount points as global
// physical paths (vfs_domount: vn_path_to_global_path).
func mountTable(t *testing.T, dir string) []mountEntry {
	t.Helper()
	real := realPath(t, dir)
	n, err := unix.Getfsstat(nil, unix.MNT_NOWAIT)
	if err != nil {
		t.Fatalf("getfsstat: %v", err)
	}
	buf := make([]unix.Statfs_t, n+16)
	n, err = unix.Getfsstat(buf, unix.MNT_NOWAIT)
	if err != nil {
		t.Fatalf("getfsstat: %v", err)
	}
	var out []mountEntry
	for _, st := range buf[:n] {
		rel, err := filepath.Rel(real, unix.ByteSliceToString(st.Mntonname[:]))
		if err != nil || rel == ".." || strings.HasPrefix(rel, "../") {
			continue
		}
		out = append(out, mountEntry{
			On:    rel,
			Type:  unix.ByteSliceToString(st.Fstypename[:]),
			From:  unix.ByteSliceToString(st.Mntfromname[:]),
			Flags: st.Flags,
		})
	}
	return out
}

// checkMounts checks the mount points and types of ms, each "ON TYPE".
func checkMounts(t *testing.T, ms []mountEntry, want ...string) {
	t.Helper()
	got := make([]string, len(ms))
	for i, m := range ms {
		got[i] = m.On + " " + m.Type
	}
	if !slices.Equal(got, want) {
		t.Errorf("mounts, in the order they were made: %q, want %q", got, want)
	}
}

// checkFrom checks that a nullfs mount is of source: nullfs reports the
// source as the runtime gave it (nullfs_mount: vfs_mountedfrom).
func checkFrom(t *testing.T, m mountEntry, source string) {
	t.Helper()
	if m.From != source && m.From != realPath(t, source) {
		t.Errorf("%s is mounted from %s, want %s", m.On, m.From, source)
	}
}

// checkNothingMounted checks that nothing is mounted at or under dir.
func checkNothingMounted(t *testing.T, dir string) {
	t.Helper()
	if ms := mountsUnder(t, dir); len(ms) != 0 {
		t.Errorf("still mounted under %s: %q", dir, ms)
	}
}

// checkNothingMountedAtEnd registers a cleanup that fails the test for
// anything mounted under the test's directory once the containers' own
// cleanups have run, and unmounts it, so that the directory can be
// removed: a container's cleanup looks under its root file system only,
// and a read-only root's view is under the state root. Call it before
// newContainer: cleanups run last in, first out.
func (s *suite) checkNothingMountedAtEnd() {
	t := s.t
	t.Cleanup(func() {
		for _, m := range mountsUnder(t, s.dir) {
			t.Errorf("cleanup: %s is still mounted; unmounting it", m)
			if err := unix.Unmount(m, unix.MNT_FORCE); err != nil {
				t.Errorf("cleanup: unmount %s: %v", m, err)
			}
		}
	})
}

// checkStateRootEmpty checks that nothing is left under the state root.
func checkStateRootEmpty(t *testing.T, s *suite) {
	t.Helper()
	for _, name := range dirNames(t, s.root) {
		t.Errorf("left under the state root: %s", name)
	}
}

// hostDir makes a directory on the host, outside any bundle, holding one
// file.
func (s *suite) hostDir(name, file, content string) string {
	s.t.Helper()
	dir := filepath.Join(s.dir, name)
	if err := os.Mkdir(dir, 0o755); err != nil {
		s.t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, file), []byte(content), 0o644); err != nil {
		s.t.Fatal(err)
	}
	return dir
}

// checkDirFiles checks that dir holds exactly the files in want, with
// their contents.
func checkDirFiles(t *testing.T, dir string, want map[string]string) {
	t.Helper()
	got := map[string]string{}
	for _, name := range dirNames(t, dir) {
		got[name] = readFile(t, filepath.Join(dir, name))
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("%s holds %q, want %q", dir, got, want)
	}
}

// dirNames lists dir; a missing dir is empty.
func dirNames(t *testing.T, dir string) []string {
	t.Helper()
	des, err := os.ReadDir(dir)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		t.Fatal(err)
	}
	names := make([]string, len(des))
	for i, de := range des {
		names[i] = de.Name()
	}
	return names
}

// tree describes every file under dir: its path relative to dir, its mode,
// and a symbolic link's target. Taken before create and after delete, it
// shows what the runtime left behind in a root file system.
func tree(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		line := rel + " " + fi.Mode().String()
		if fi.Mode()&fs.ModeSymlink != 0 {
			target, err := os.Readlink(p)
			if err != nil {
				return err
			}
			line += " -> " + target
		}
		out = append(out, line)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// checkTree checks that dir looks as it did.
func checkTree(t *testing.T, dir string, before []string) {
	t.Helper()
	if after := tree(t, dir); !slices.Equal(after, before) {
		t.Errorf("%s changed:\nbefore: %q\n after: %q", dir, before, after)
	}
}

func realPath(t *testing.T, p string) string {
	t.Helper()
	real, err := filepath.EvalSymlinks(p)
	if err != nil {
		t.Fatal(err)
	}
	return real
}

// hostMode is the mode of a file on the host, which must exist.
func hostMode(t *testing.T, p string) os.FileMode {
	t.Helper()
	fi, err := os.Lstat(p)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Mode()
}

func modeOf(fi os.FileInfo) any {
	if fi == nil {
		return nil
	}
	return fi.Mode()
}

// hostDev is the host's devfs, through which the tests read rulesets:
// rulesets are global, and any devfs mount reaches them.
const hostDev = "/dev"

// devfsRules reads ruleset rs from the kernel; none when it does not exist.
func devfsRules(t *testing.T, rs uint16) []rootfs.DevfsRule {
	t.Helper()
	rules, err := rootfs.DevfsRules(hostDev, rs)
	if err != nil {
		t.Fatalf("devfs ruleset %d: %v", rs, err)
	}
	return rules
}

// firstDevicesRuleset is where the runtime starts looking for a free
// ruleset for freebsd.devices (oci/mounts.go).
const firstDevicesRuleset = 1000

// nextFreeRuleset is the lowest ruleset number from min up that the
// kernel does not have.
func nextFreeRuleset(t *testing.T, min uint16) uint16 {
	t.Helper()
	rs, err := rootfs.DevfsNextFreeRuleset(hostDev, min)
	if err != nil {
		t.Fatalf("free devfs ruleset: %v", err)
	}
	return rs
}

// checkRulesetGone checks that the kernel no longer has ruleset rs: it
// has no rules, and the kernel freed it (devfs_ruleset_reap frees a
// ruleset once it has no rules and no mount uses it).
func checkRulesetGone(t *testing.T, rs uint16) {
	t.Helper()
	if got := devfsRules(t, rs); len(got) != 0 {
		t.Errorf("devfs ruleset %d still has rules: %+v", rs, got)
	}
	if free := nextFreeRuleset(t, rs); free != rs {
		t.Errorf("devfs ruleset %d still exists (the lowest free ruleset from it up is %d)", rs, free)
	}
}

// requireRuleset4 skips the test unless the kernel has ruleset 4
// (/etc/rc.d/devfs loads /etc/defaults/devfs.rules at boot unless
// devfs_load_rulesets is off) and it hides /dev/mem, which the host has,
// as the stock devfsrules_jail does. It returns the path patterns the
// ruleset unhides, or nil when they cannot tell what it shows.
func requireRuleset4(t *testing.T) []string {
	t.Helper()
	if len(devfsRules(t, 4)) == 0 {
		t.Skip("the kernel has no devfs ruleset 4: devfs.rules are not loaded (devfs_load_rulesets)")
	}
	if _, err := os.Lstat("/dev/mem"); err != nil {
		t.Skipf("the host has no /dev/mem: %v", err)
	}
	pats, ok := unhidePatterns(t, 4)
	if ok && matchesAny(pats, "mem") {
		t.Skip("this host's devfs ruleset 4 unhides mem")
	}
	if !ok {
		t.Log("ruleset 4 does not start by hiding everything and unhide by path only: not checking the container's /dev listing against it")
		return nil
	}
	return pats
}

// unhidePatterns flattens ruleset rs, includes followed, and returns the
// path patterns of its unhide rules. ok is false unless the first rule
// hides every node and every unhide rule names a path: only then is a
// node visible exactly when one of the patterns matches it.
func unhidePatterns(t *testing.T, rs uint16) (pats []string, ok bool) {
	t.Helper()
	var flat []rootfs.DevfsRule
	var walk func(rs uint16, depth int)
	walk = func(rs uint16, depth int) {
		for _, r := range devfsRules(t, rs) {
			flat = append(flat, r)
			if r.Include != 0 && depth < 8 {
				walk(r.Include, depth+1)
			}
		}
	}
	walk(rs, 0)
	var first *rootfs.DevfsRule
	for i := range flat {
		if flat[i].Include == 0 {
			first = &flat[i]
			break
		}
	}
	if first == nil || !first.Hide || first.Unhide || first.Pattern != "" || first.DswFlags != 0 {
		return nil, false
	}
	for _, r := range flat {
		if r.Unhide {
			if r.Pattern == "" || r.DswFlags != 0 {
				return nil, false
			}
			pats = append(pats, r.Pattern)
		}
	}
	return pats, true
}

// matchesAny reports whether a devfs path pattern matches name; the kernel
// matches with fnmatch(3) and FNM_PATHNAME, as path.Match does.
func matchesAny(pats []string, name string) bool {
	return slices.ContainsFunc(pats, func(p string) bool {
		ok, _ := path.Match(p, name)
		return ok
	})
}

// checkListing checks that every name in the container's /dev is one that
// ruleset 4 unhides.
func checkListing(t *testing.T, names, unhides []string) {
	t.Helper()
	if unhides == nil {
		return
	}
	if !slices.Contains(names, "null") {
		t.Errorf("/dev in the container: %q, want null in it", names)
	}
	for _, n := range names {
		if !matchesAny(unhides, n) {
			t.Errorf("/dev/%s is in the container, but ruleset 4 does not unhide it", n)
		}
	}
}
