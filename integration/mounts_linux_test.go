//go:build linux

package integration

import (
	"encoding/json"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/runj-go/runj-go/integration/internal/ctrreport"
	"github.com/runj-go/runj-go/rootfs"
)

// The file system end-to-end tests (issue 4): the exact nmount(2) calls
// create makes for a bundle's mounts, their undo in reverse on delete and
// on a failed create, safe destinations, the read-only root and devfs
// rules for freebsd.devices. The simulated kernel does not mount: it
// records the calls and keeps a mount table, and a process in a jail
// whose path is a nullfs view sees the view's source.

// iov builds the iovecs of one nmount op as the simulated kernel records
// them: name/value pairs, "" for a flag option, without errmsg.
func iov(pairs ...string) [][2]string {
	out := make([][2]string, 0, len(pairs)/2)
	for i := 0; i+1 < len(pairs); i += 2 {
		out = append(out, [2]string{pairs[i], pairs[i+1]})
	}
	return out
}

func unmountOp(target string) simOp { return simOp{Op: "unmount", Target: target} }

// tree lists the paths under dir, relative to it, directories with a
// trailing slash and symbolic links with their target.
func tree(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil || rel == "." {
			return err
		}
		switch {
		case d.Type()&fs.ModeSymlink != 0:
			target, err := os.Readlink(p)
			if err != nil {
				return err
			}
			rel += " -> " + target
		case d.IsDir():
			rel += "/"
		}
		out = append(out, rel)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func checkTree(t *testing.T, dir string, want []string) {
	t.Helper()
	if got := tree(t, dir); !slices.Equal(got, want) {
		t.Errorf("tree of %s:\n got  %q\n want %q", dir, got, want)
	}
}

// fsResult is one line of `ctrhelper fs`.
type fsResult = ctrreport.FSResult

func parseFSResults(t *testing.T, out string) []fsResult {
	t.Helper()
	var rs []fsResult
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		var r fsResult
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			t.Fatalf("ctrhelper fs output: %v\n%q", err, out)
		}
		rs = append(rs, r)
	}
	return rs
}

// TestMounts: every kind of mount a bundle asks for becomes exactly one
// nmount(2) call with the right iovecs and flags, in spec order; delete
// unmounts them in reverse and removes the mount points create made, and
// only those.
func TestMounts(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	b := e.bundle(func(s *specs.Spec) {
		s.Mounts = []specs.Mount{
			// No ruleset: the jail default, 4. "mode" is a Linux
			// /dev option devfs does not take.
			{Destination: "/dev", Type: "devfs", Source: "devfs", Options: []string{"nosuid", "noexec", "mode=755"}},
			{Destination: "/dev/fd", Type: "fdescfs", Source: "fdesc"},
			{Destination: "/tmp", Type: "tmpfs", Source: "tmpfs", Options: []string{
				"size=16m", "mode=1777", "uid=0", "gid=5", "inodes=1000", "maxfilesize=1m", "nosuid", "nodev", "strictatime",
			}},
			// A relative source is the bundle's; rbind is bind.
			{Destination: "/mnt/host", Type: "bind", Source: "hostdir", Options: []string{"rbind", "ro", "rprivate"}},
			// A file on a file: the mount point is made a file.
			{Destination: "/etc/app.conf", Type: "nullfs", Source: "app.conf", Options: []string{"bind"}},
			// /data exists in the rootfs; /data/sub is made.
			{Destination: "/data", Type: "tmpfs", Source: "tmpfs"},
			{Destination: "/data/sub", Type: "tmpfs", Source: "tmpfs", Options: []string{"size=1m"}},
		}
	}, "fs", "stat", "/etc/app.conf", "stat", "/mnt/host", "ls", "/data")
	rootfsDir := filepath.Join(b, "rootfs")
	for _, d := range []string{filepath.Join(b, "hostdir"), filepath.Join(rootfsDir, "data")} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, f := range []string{filepath.Join(b, "app.conf"), filepath.Join(rootfsDir, "data", "keep")} {
		if err := os.WriteFile(f, []byte("x\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	before := tree(t, rootfsDir)
	R := func(p string) string { return rootfsDir + p }

	// plan shows each mount's type, host source, host destination and
	// options as the spec gives them.
	p := e.plan(b, "c1")
	wantPlan := []planMount{
		{"devfs", "devfs", R("/dev"), []string{"nosuid", "noexec", "mode=755"}},
		{"fdescfs", "fdesc", R("/dev/fd"), []string{}},
		{"tmpfs", "tmpfs", R("/tmp"), []string{"size=16m", "mode=1777", "uid=0", "gid=5", "inodes=1000", "maxfilesize=1m", "nosuid", "nodev", "strictatime"}},
		{"nullfs", filepath.Join(b, "hostdir"), R("/mnt/host"), []string{"rbind", "ro", "rprivate"}},
		{"nullfs", filepath.Join(b, "app.conf"), R("/etc/app.conf"), []string{"bind"}},
		{"tmpfs", "tmpfs", R("/data"), []string{}},
		{"tmpfs", "tmpfs", R("/data/sub"), []string{"size=1m"}},
	}
	if !slices.EqualFunc(p.Mounts, wantPlan, func(a, b planMount) bool {
		return a.Type == b.Type && a.Source == b.Source && a.Destination == b.Destination && slices.Equal(a.Options, b.Options)
	}) {
		t.Errorf("plan mounts:\n got  %+v\n want %+v", p.Mounts, wantPlan)
	}
	if _, err := os.Stat(R("/tmp")); !os.IsNotExist(err) {
		t.Errorf("plan made mount points: stat /tmp: %v", err)
	}

	// --debug logs the Linux options it ignores.
	created := e.mustRunj("--debug", "create", "--bundle", b, "c1")
	if !strings.Contains(created.stderr, "ignoring mount options FreeBSD does not have") || !strings.Contains(created.stderr, "[rprivate]") ||
		!strings.Contains(created.stderr, "[nodev strictatime]") || !strings.Contains(created.stderr, "[mode=755]") {
		t.Errorf("create --debug: %s\nwant the ignored options logged", created)
	}
	mounts := []simOp{
		{Op: "nmount", FSType: "devfs", Target: R("/dev"), Flags: rootfs.MntNosuid | rootfs.MntNoexec,
			Iov: iov("fstype", "devfs", "fspath", R("/dev"), "from", "devfs", "nosuid", "", "noexec", "", "ruleset", "4")},
		{Op: "nmount", FSType: "fdescfs", Target: R("/dev/fd"),
			Iov: iov("fstype", "fdescfs", "fspath", R("/dev/fd"), "from", "fdesc")},
		{Op: "nmount", FSType: "tmpfs", Target: R("/tmp"), Flags: rootfs.MntNosuid,
			Iov: iov("fstype", "tmpfs", "fspath", R("/tmp"), "from", "tmpfs", "nosuid", "",
				"size", "16m", "mode", "1777", "uid", "0", "gid", "5", "inodes", "1000", "maxfilesize", "1m")},
		{Op: "nmount", FSType: "nullfs", Target: R("/mnt/host"), Flags: rootfs.MntRdonly,
			Iov: iov("fstype", "nullfs", "fspath", R("/mnt/host"), "target", filepath.Join(b, "hostdir"), "ro", "")},
		{Op: "nmount", FSType: "nullfs", Target: R("/etc/app.conf"),
			Iov: iov("fstype", "nullfs", "fspath", R("/etc/app.conf"), "target", filepath.Join(b, "app.conf"))},
		{Op: "nmount", FSType: "tmpfs", Target: R("/data"),
			Iov: iov("fstype", "tmpfs", "fspath", R("/data"), "from", "tmpfs")},
		{Op: "nmount", FSType: "tmpfs", Target: R("/data/sub"),
			Iov: iov("fstype", "tmpfs", "fspath", R("/data/sub"), "from", "tmpfs", "size", "1m")},
	}
	e.checkOpsExact(0, append(slices.Clone(mounts), jailGetMissing("c1"), e.jailSetOp(b, "c1"), jailAttach(1))...)
	if got := len(e.simTable().Mounts); got != len(mounts) {
		t.Errorf("%d mounts in the kernel, want %d", got, len(mounts))
	}

	// The container sees the mount points create made: a file for the
	// file mount, directories for the others.
	e.mustRunj("start", "c1")
	e.waitStatus("c1", "stopped")
	res := parseFSResults(t, readFile(t, created.outPath))
	if len(res) != 3 || res[0].Errno != "" || !res[0].Mode.IsRegular() || res[1].Errno != "" || !res[1].Mode.IsDir() ||
		!slices.Equal(res[2].Names, []string{"keep", "sub"}) {
		t.Errorf("the container saw %+v, want /etc/app.conf a file, /mnt/host a directory, /data with keep and sub", res)
	}

	from := len(e.ops())
	e.mustRunj("delete", "c1")
	want := []simOp{jailGet("c1"), jailRemove(1)}
	for i := len(mounts) - 1; i >= 0; i-- {
		want = append(want, unmountOp(mounts[i].Target))
	}
	e.checkOpsExact(from, want...)
	e.checkNothingMounted()
	e.checkGone("c1")
	// What create made is gone (/dev/fd, /tmp, /mnt, /mnt/host, /etc,
	// /etc/app.conf, /data/sub); what was there stays.
	checkTree(t, rootfsDir, before)
}

// TestMountsReadOnlyRoot: with root.readonly the jail's path is a
// read-only nullfs view of the rootfs under the state root, mounted first;
// the spec's mounts go on top of it, freebsd.devices becomes a devfs
// ruleset of the runtime's, and delete undoes it all in reverse.
func TestMountsReadOnlyRoot(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	mode := os.FileMode(0o660)
	b := e.bundle(func(s *specs.Spec) {
		s.Root.Readonly = true
		s.Mounts = []specs.Mount{
			{Destination: "/dev", Type: "devfs", Source: "devfs"},
			{Destination: "/tmp", Type: "tmpfs", Source: "tmpfs", Options: []string{"size=1m"}},
		}
		s.FreeBSD = &specs.FreeBSD{Devices: []specs.FreeBSDDevice{{Path: "pf", Mode: &mode}, {Path: "usb/0.1.0"}}}
	}, "fs", "read", "/marker", "ls", "/")
	rootfsDir := filepath.Join(b, "rootfs")
	if err := os.WriteFile(filepath.Join(rootfsDir, "marker"), []byte("from the rootfs\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	before := tree(t, rootfsDir)
	view := filepath.Join(e.root, "c1", "root")

	p := e.plan(b, "c1")
	wantPlan := []planMount{
		{"nullfs", rootfsDir, view, []string{"ro"}},
		{"devfs", "devfs", view + "/dev", []string{}},
		{"tmpfs", "tmpfs", view + "/tmp", []string{"size=1m"}},
	}
	if !slices.EqualFunc(p.Mounts, wantPlan, func(a, b planMount) bool {
		return a.Type == b.Type && a.Source == b.Source && a.Destination == b.Destination && slices.Equal(a.Options, b.Options)
	}) {
		t.Errorf("plan mounts:\n got  %+v\n want %+v", p.Mounts, wantPlan)
	}
	var params map[string]any
	if err := json.Unmarshal(p.Jail.Params, &params); err != nil || params["path"] != view {
		t.Errorf("plan jail path = %v (%v), want the view %s", params["path"], err, view)
	}

	created := e.create("c1", b)
	rule := func(n uint16, r rootfs.DevfsRule) simOp {
		r.ID = rootfs.MkRID(1000, n)
		return simOp{Op: "devfs_rule_add", Mountpoint: view + "/dev", Ruleset: 1000, Rule: &r}
	}
	m := uint16(0o660)
	get := func(rs uint16) simOp {
		return simOp{Op: "devfs_ruleset_get", Mountpoint: view + "/dev", Ruleset: rs}
	}
	want := []simOp{
		{Op: "nmount", FSType: "nullfs", Target: view, Flags: rootfs.MntRdonly,
			Iov: iov("fstype", "nullfs", "fspath", view, "target", rootfsDir, "ro", "")},
		{Op: "nmount", FSType: "devfs", Target: view + "/dev",
			Iov: iov("fstype", "devfs", "fspath", view+"/dev", "from", "devfs", "ruleset", "4")},
		{Op: "nmount", FSType: "tmpfs", Target: view + "/tmp",
			Iov: iov("fstype", "tmpfs", "fspath", view+"/tmp", "from", "tmpfs", "size", "1m")},
		// The mount's ruleset, 4, and the rulesets it includes are read:
		// the kernel follows one level of includes only
		// (vfs.devfs.rule_depth), so ruleset 1000 copies their rules
		// instead of including 4...
		get(4), get(1), get(2), get(3),
	}
	// ...as /etc/defaults/devfs.rules defines them...
	copied := []rootfs.DevfsRule{{Hide: true}}
	for _, p := range devfsRulesUnhidden {
		copied = append(copied, rootfs.DevfsRule{Pattern: p, Unhide: true})
	}
	// ...then unhides each device, its directory first, with the
	// device's mode.
	copied = append(copied,
		rootfs.DevfsRule{Pattern: "pf", Unhide: true, Mode: &m},
		rootfs.DevfsRule{Pattern: "usb", Unhide: true},
		rootfs.DevfsRule{Pattern: "usb/0.1.0", Unhide: true})
	for i, r := range copied {
		want = append(want, rule(uint16(i+1)*100, r))
	}
	want = append(want,
		simOp{Op: "devfs_ruleset_use", Mountpoint: view + "/dev", Ruleset: 1000},
		simOp{Op: "devfs_ruleset_apply", Mountpoint: view + "/dev", Ruleset: 1000},
		jailGetMissing("c1"),
		e.jailSetOp(b, "c1"),
		jailAttach(1),
	)
	e.checkOpsExact(0, want...)

	// The jail's path is the view, which shows the rootfs.
	e.mustRunj("start", "c1")
	e.waitStatus("c1", "stopped")
	res := parseFSResults(t, readFile(t, created.outPath))
	if len(res) != 2 || res[0].Data != "from the rootfs\n" || !slices.Contains(res[1].Names, "marker") {
		t.Errorf("the container saw %+v, want the rootfs through the view", res)
	}

	from := len(e.ops())
	e.mustRunj("delete", "c1")
	e.checkOpsExact(from,
		jailGet("c1"), jailRemove(1),
		// The ruleset goes before the devfs it was made through.
		simOp{Op: "devfs_ruleset_delete", Mountpoint: view + "/dev", Ruleset: 1000},
		unmountOp(view+"/tmp"), unmountOp(view+"/dev"), unmountOp(view),
	)
	e.checkNothingMounted()
	e.checkGone("c1")
	e.checkRootEmpty()
	checkTree(t, rootfsDir, before)
}

// TestMountEscapeRefused: a destination that leads outside the root, by
// an absolute or relative symbolic link or by "..", is refused before
// anything is mounted or made, with an error naming the mount; plan
// refuses it the same way.
func TestMountEscapeRefused(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, dest, want string
	}{
		{"absolute symlink", "/abs/x", `"/abs" is a symbolic link to "/etc" which leads outside the root`},
		{"absolute symlink itself", "/abs", `"/abs" is a symbolic link to "/etc" which leads outside the root`},
		{"relative symlink", "/work/rel/x", `"/work/rel" is a symbolic link to "../../.." which leads outside the root`},
		{"dot-dot", "/work/../../etc", `".." above "/" leads outside the root`},
	} {
		t.Run(strings.ReplaceAll(tc.name, " ", "_"), func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			b := e.bundle(func(s *specs.Spec) {
				s.Mounts = []specs.Mount{
					{Destination: "/tmp", Type: "tmpfs", Source: "tmpfs"},
					{Destination: tc.dest, Type: "tmpfs", Source: "tmpfs"},
				}
			}, "sleep")
			rootfsDir := filepath.Join(b, "rootfs")
			for link, target := range map[string]string{"abs": "/etc", "work/rel": "../../.."} {
				if err := os.Symlink(target, filepath.Join(rootfsDir, link)); err != nil {
					t.Fatal(err)
				}
			}
			before := tree(t, rootfsDir)
			want := "mounts[1] (tmpfs on " + tc.dest + ")"
			for _, args := range [][]string{
				{"plan", "--format", "json", "--bundle", b, "c1"},
				{"create", "--bundle", b, "c1"},
			} {
				r := e.fails(want, args...)
				if !strings.Contains(r.stderr, tc.want) {
					t.Errorf("%s\nwant %q", r, tc.want)
				}
			}
			if ops := e.rawOps(0); len(ops) != 0 {
				t.Errorf("kernel ops %q, want none", ops)
			}
			e.checkRootEmpty()
			checkTree(t, rootfsDir, before)
		})
	}
}

// TestMountUnknownType: the kernel does not know a mount's type; create
// fails naming the mount and unmounts and removes what it had done.
func TestMountUnknownType(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	b := e.bundle(func(s *specs.Spec) {
		s.Mounts = []specs.Mount{
			{Destination: "/tmp", Type: "tmpfs", Source: "tmpfs"},
			{Destination: "/x/y", Type: "bogusfs", Source: "bogus"},
		}
	}, "sleep")
	rootfsDir := filepath.Join(b, "rootfs")
	before := tree(t, rootfsDir)
	R := func(p string) string { return rootfsDir + p }
	r := e.fails("mounts[1] (bogusfs on /x/y)", "create", "--bundle", b, "c1")
	if !strings.Contains(r.stderr, `file system type "bogusfs" is unknown to the kernel`) {
		t.Errorf("%s\nwant the unknown type named", r)
	}
	e.checkOpsExact(0,
		simOp{Op: "nmount", FSType: "tmpfs", Target: R("/tmp"), Iov: iov("fstype", "tmpfs", "fspath", R("/tmp"), "from", "tmpfs")},
		simOp{Op: "nmount", FSType: "bogusfs", Target: R("/x/y"), Iov: iov("fstype", "bogusfs", "fspath", R("/x/y"), "from", "bogus"),
			Error: `nmount bogusfs on ` + R("/x/y") + `: file system type "bogusfs" is unknown to the kernel: invalid argument`},
		unmountOp(R("/tmp")),
	)
	e.checkNothingMounted()
	e.checkRootEmpty()
	e.checkNoJails()
	checkTree(t, rootfsDir, before)
}

// TestMountsUndoneAfterFailedCreate: create fails after the mounts and
// the jail (init cannot attach); nothing is left mounted.
func TestMountsUndoneAfterFailedCreate(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	b := e.bundle(func(s *specs.Spec) {
		s.Mounts = []specs.Mount{
			{Destination: "/tmp", Type: "tmpfs", Source: "tmpfs"},
			{Destination: "/mnt", Type: "bind", Source: "/", Options: []string{"ro"}},
			{Destination: "/dev", Type: "devfs", Source: "devfs", Options: []string{"ruleset=5"}},
		}
	}, "sleep")
	rootfsDir := filepath.Join(b, "rootfs")
	before := tree(t, rootfsDir)
	R := func(p string) string { return rootfsDir + p }
	e.extra = []string{"RUNJ_GO_SIMKERNEL_FAIL=jail_attach"}
	e.fails("jail_attach: simkernel: injected failure", "create", "--bundle", b, "c1")
	e.extra = nil
	e.checkOpsExact(0,
		simOp{Op: "nmount", FSType: "tmpfs", Target: R("/tmp"), Iov: iov("fstype", "tmpfs", "fspath", R("/tmp"), "from", "tmpfs")},
		simOp{Op: "nmount", FSType: "nullfs", Target: R("/mnt"), Flags: rootfs.MntRdonly, Iov: iov("fstype", "nullfs", "fspath", R("/mnt"), "target", "/", "ro", "")},
		simOp{Op: "nmount", FSType: "devfs", Target: R("/dev"), Iov: iov("fstype", "devfs", "fspath", R("/dev"), "from", "devfs", "ruleset", "5")},
		jailGetMissing("c1"),
		e.jailSetOp(b, "c1"),
		simOp{Op: "jail_attach", Jid: 1, Error: "jail_attach: simkernel: injected failure"},
		jailGet("c1"), jailRemove(1),
		unmountOp(R("/dev")), unmountOp(R("/mnt")), unmountOp(R("/tmp")),
	)
	e.checkNothingMounted()
	e.checkRootEmpty()
	e.checkNoJails()
	checkTree(t, rootfsDir, before)
}

// TestMountBusyUnmount: a busy unmount (EBUSY) is retried with MNT_FORCE;
// when that fails too, delete reports it and keeps the container, and the
// next delete finishes.
func TestMountBusyUnmount(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	b := e.bundle(func(s *specs.Spec) {
		s.Mounts = []specs.Mount{
			{Destination: "/tmp", Type: "tmpfs", Source: "tmpfs"},
			{Destination: "/run", Type: "tmpfs", Source: "tmpfs"},
		}
	}, "exit", "0")
	R := func(p string) string { return filepath.Join(b, "rootfs") + p }
	busy := "unmount: simkernel: injected failure: device or resource busy"
	forced := func(target string) simOp {
		return simOp{Op: "unmount", Target: target, Flags: rootfs.MntForce}
	}

	// Busy once: forced.
	e.create("c1", b)
	e.mustRunj("start", "c1")
	e.waitStatus("c1", "stopped")
	from := len(e.ops())
	e.extra = []string{"RUNJ_GO_SIMKERNEL_FAIL=unmount@1:EBUSY"}
	e.mustRunj("delete", "c1")
	e.checkOpsExact(from,
		jailGet("c1"), jailRemove(1),
		simOp{Op: "unmount", Target: R("/run"), Error: busy},
		forced(R("/run")),
		unmountOp(R("/tmp")),
	)
	e.checkGone("c1")
	e.checkNothingMounted()

	// Busy even when forced: reported, and the container stays until a
	// delete gets through.
	e.extra = nil
	e.create("c1", b)
	e.mustRunj("start", "c1")
	e.waitStatus("c1", "stopped")
	from = len(e.ops())
	// The env's unmount calls so far: 3.
	e.extra = []string{"RUNJ_GO_SIMKERNEL_FAIL=unmount@4:EBUSY,unmount@5:EBUSY"}
	r := e.fails("undo mount: "+busy, "delete", "c1")
	if !strings.Contains(r.stderr, "delete container c1") {
		t.Errorf("%s\nwant the container named", r)
	}
	e.checkOpsExact(from,
		jailGet("c1"), jailRemove(2),
		simOp{Op: "unmount", Target: R("/run"), Error: busy},
		simOp{Op: "unmount", Target: R("/run"), Flags: rootfs.MntForce, Error: busy},
	)
	if s := e.state("c1"); s.Status != "stopped" {
		t.Errorf("state after the failed delete = %+v, want stopped", s)
	}
	e.extra = nil
	from = len(e.ops())
	e.mustRunj("delete", "c1")
	e.checkOpsExact(from, unmountOp(R("/run")), unmountOp(R("/tmp")))
	e.checkGone("c1")
	e.checkNothingMounted()
}

// devfsRulesUnhidden are the paths ruleset 4 (devfsrules_jail) unhides
// after hiding everything, through its includes of rulesets 2 and 3 and
// its own rules, in order (sbin/devfs/devfs.rules).
var devfsRulesUnhidden = []string{
	"null", "zero", "crypto", "random", "urandom",
	"ptyp*", "ptyq*", "ptyr*", "ptys*", "ptyP*", "ptyQ*", "ptyR*", "ptyS*",
	"ptyl*", "ptym*", "ptyn*", "ptyo*", "ptyL*", "ptyM*", "ptyN*", "ptyO*",
	"ttyp*", "ttyq*", "ttyr*", "ttys*", "ttyP*", "ttyQ*", "ttyR*", "ttyS*",
	"ttyl*", "ttym*", "ttyn*", "ttyo*", "ttyL*", "ttyM*", "ttyN*", "ttyO*",
	"ptmx", "pts", "pts/*", "fd", "fd/*", "stdin", "stdout", "stderr",
	"fuse", "zfs",
}
