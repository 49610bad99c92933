package rootfs

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"unsafe"
)

// resolveTree builds, under a fresh directory, a container root and a sibling
// directory "outside" that escaping destinations would reach. It returns
// both, free of symbolic links.
//
//	root/a/b/            root/a/file
//	root/abs    -> /                      (absolute: leaves)
//	root/etc    -> /etc                   (absolute: leaves)
//	root/absin  -> /a                     (absolute, though /a exists inside: leaves)
//	root/up     -> ../outside             (relative, leaves)
//	root/upin   -> a/../..                (relative, leaves)
//	root/in     -> a/b                    (relative, stays inside)
//	root/a/back -> ../a                   (relative, stays inside)
//	root/a/out  -> ../../outside/etc      (relative, leaves)
//	root/loop1  -> loop2 -> loop1,  root/self -> self
//	root/dangling -> nothing/there        (dangling, inside)
//	root/dangabs  -> /nothing             (dangling, absolute)
//	root/dangup   -> ../nothing           (dangling, leaves)
//	root/conf/resolv.conf -> ../run/resolvconf/resolv.conf   (dangling, inside)
//	root/l0 -> l1 -> ... -> l32 -> a      (33 links from l0, 32 from l1)
//	outside/etc/
func resolveTree(t testing.TB) (root, outside string) {
	t.Helper()
	base, err := filepath.EvalSymlinks(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	root, outside = filepath.Join(base, "root"), filepath.Join(base, "outside")
	for _, d := range []string{"root/a/b", "root/conf", "outside/etc"} {
		if err := os.MkdirAll(filepath.Join(base, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(root, "a/file"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	links := [][2]string{
		{"abs", "/"}, {"etc", "/etc"}, {"absin", "/a"},
		{"up", "../outside"}, {"upin", "a/../.."}, {"in", "a/b"},
		{"a/back", "../a"}, {"a/out", "../../outside/etc"},
		{"loop1", "loop2"}, {"loop2", "loop1"}, {"self", "self"},
		{"dangling", "nothing/there"}, {"dangabs", "/nothing"}, {"dangup", "../nothing"},
		{"conf/resolv.conf", "../run/resolvconf/resolv.conf"},
	}
	for i := 0; i < maxSymlinks; i++ {
		links = append(links, [2]string{fmt.Sprintf("l%d", i), fmt.Sprintf("l%d", i+1)})
	}
	links = append(links, [2]string{fmt.Sprintf("l%d", maxSymlinks), "a"})
	for _, l := range links {
		if err := os.Symlink(l[1], filepath.Join(root, l[0])); err != nil {
			t.Fatal(err)
		}
	}
	return root, outside
}

// snapshotTree describes every file under dir: its type, and a link's target.
func snapshotTree(t testing.TB, dir string) map[string]string {
	t.Helper()
	files := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		desc := d.Type().String()
		if d.Type()&fs.ModeSymlink != 0 {
			target, err := os.Readlink(p)
			if err != nil {
				return err
			}
			desc += " -> " + target
		}
		files[p] = desc
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

// underRoot returns the host paths of rels under root.
func underRoot(root string, rels ...string) []string {
	var ps []string
	for _, r := range rels {
		ps = append(ps, filepath.Join(root, r))
	}
	return ps
}

func TestResolve(t *testing.T) {
	root, _ := resolveTree(t)
	tests := []struct {
		name    string
		dest    string
		host    string   // relative to root
		missing []string // relative to root
		err     error    // errors.Is target
		msg     string   // the whole message, when set
	}{
		{name: "existing_directory", dest: "/a/b", host: "a/b"},
		{name: "existing_file", dest: "/a/file", host: "a/file"},
		{name: "root_itself", dest: "/", host: ""},
		{name: "empty_destination_is_the_root", dest: "", host: ""},
		{name: "relative_destination_is_taken_from_the_root", dest: "a/b", host: "a/b"},
		{name: "dot_and_empty_components", dest: "//a/./b//.", host: "a/b"},
		{name: "dotdot_inside", dest: "/a/b/../file", host: "a/file"},
		{name: "dotdot_back_to_root", dest: "/a/../a/..", host: ""},
		{name: "missing_components_parent_first", dest: "/a/x/y", host: "a/x/y", missing: []string{"a/x", "a/x/y"}},
		{name: "dotdot_drops_a_missing_component", dest: "/x/y/../z", host: "x/z", missing: []string{"x", "x/z"}},
		{name: "dotdot_over_missing_back_to_existing", dest: "/a/x/../b", host: "a/b"},

		{name: "dotdot_chain_above_root", dest: "/../../etc", err: ErrEscape,
			msg: `mount destination "/../../etc": ".." above "/" leads outside the root`},
		{name: "dotdot_above_root_after_a_directory", dest: "/a/../../b", err: ErrEscape},
		{name: "dotdot_above_root_after_missing", dest: "/x/../../b", err: ErrEscape},
		{name: "dotdot_after_following_a_link_inside", dest: "/in/../../../x", err: ErrEscape},

		{name: "absolute_link_to_slash", dest: "/abs/x", err: ErrEscape,
			msg: `mount destination "/abs/x": "/abs" is a symbolic link to "/" which leads outside the root`},
		{name: "absolute_link_to_etc", dest: "/etc/x", err: ErrEscape,
			msg: `mount destination "/etc/x": "/etc" is a symbolic link to "/etc" which leads outside the root`},
		{name: "absolute_link_as_last_component", dest: "/etc", err: ErrEscape},
		{name: "absolute_link_to_a_path_that_exists_inside", dest: "/absin", err: ErrEscape},
		{name: "relative_link_leaving", dest: "/up/etc", err: ErrEscape,
			msg: `mount destination "/up/etc": "/up" is a symbolic link to "../outside" which leads outside the root`},
		{name: "relative_link_leaving_through_a_directory", dest: "/upin", err: ErrEscape},
		{name: "relative_link_leaving_from_a_subdirectory", dest: "/a/out/x", err: ErrEscape,
			msg: `mount destination "/a/out/x": "/a/out" is a symbolic link to "../../outside/etc" which leads outside the root`},
		{name: "leaving_link_reached_through_an_inside_link", dest: "/a/back/out", err: ErrEscape},

		{name: "symlinked_parent_inside", dest: "/in/c", host: "a/b/c", missing: []string{"a/b/c"}},
		{name: "link_with_dotdot_inside", dest: "/a/back/back/b", host: "a/b"},
		{name: "link_as_last_component", dest: "/in", host: "a/b"},
		{name: "dotdot_after_link_is_physical", dest: "/in/..", host: "a"},
		{name: "32_links_are_followed", dest: "/l1/b", host: "a/b"},
		{name: "33_links_are_too_many", dest: "/l0/b", err: syscall.ELOOP},
		{name: "loop", dest: "/loop1/x", err: syscall.ELOOP},
		{name: "link_to_itself", dest: "/self", err: syscall.ELOOP},

		{name: "file_where_a_directory_is_expected", dest: "/a/file/x", err: syscall.ENOTDIR,
			msg: `mount destination "/a/file/x": "/a/file" is not a directory`},
		{name: "dotdot_after_a_file", dest: "/a/file/..", err: syscall.ENOTDIR},

		{name: "dangling_link_inside_is_followed", dest: "/dangling", host: "nothing/there", missing: []string{"nothing", "nothing/there"}},
		{name: "dangling_link_to_a_file_path", dest: "/conf/resolv.conf", host: "run/resolvconf/resolv.conf",
			missing: []string{"run", "run/resolvconf", "run/resolvconf/resolv.conf"}},
		{name: "dangling_absolute_link", dest: "/dangabs", err: ErrEscape},
		{name: "dangling_link_leaving", dest: "/dangup", err: ErrEscape},

		{name: "nul_byte", dest: "/a\x00b", err: syscall.EINVAL},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			host, missing, err := Resolve(root, tt.dest)
			if tt.err != nil {
				if !errors.Is(err, tt.err) {
					t.Fatalf("Resolve(%q) = %q, %q, %v; want an error wrapping %v", tt.dest, host, missing, err, tt.err)
				}
				if tt.msg != "" && err.Error() != tt.msg {
					t.Errorf("error:\n%s\nwant\n%s", err, tt.msg)
				}
				if host != "" || missing != nil {
					t.Errorf("Resolve(%q) returned %q, %q with its error", tt.dest, host, missing)
				}
				return
			}
			if err != nil {
				t.Fatalf("Resolve(%q): %v", tt.dest, err)
			}
			if want := filepath.Join(root, tt.host); host != want {
				t.Errorf("host = %q, want %q", host, want)
			}
			if want := underRoot(root, tt.missing...); !reflect.DeepEqual(missing, want) {
				t.Errorf("missing = %q, want %q", missing, want)
			}
		})
	}
}

func TestResolveRoot(t *testing.T) {
	root, _ := resolveTree(t)
	file := filepath.Join(root, "a/file")
	for _, tt := range []struct {
		root string
		err  error
	}{
		{root: "relative/root"},
		{root: filepath.Join(root, "nonexistent"), err: fs.ErrNotExist},
		{root: file, err: syscall.ENOTDIR},
	} {
		_, _, err := Resolve(tt.root, "/x")
		if err == nil || tt.err != nil && !errors.Is(err, tt.err) {
			t.Errorf("Resolve(%q, %q) = %v, want an error wrapping %v", tt.root, "/x", err, tt.err)
		}
	}
	// A root given through a symbolic link is used as given.
	host, _, err := Resolve(filepath.Join(root, "in"), "/c")
	if want := filepath.Join(root, "in/c"); err != nil || host != want {
		t.Errorf("Resolve(root/in, /c) = %q, %v; want %q", host, err, want)
	}
}

func TestPrepare(t *testing.T) {
	tests := []struct {
		name    string
		dest    string
		file    bool
		host    string
		created []string // relative to root; the last is a file if file is set
	}{
		{name: "nested_directories", dest: "/x/y/z", host: "x/y/z", created: []string{"x", "x/y", "x/y/z"}},
		{name: "file_and_its_parents", dest: "/x/y/f", file: true, host: "x/y/f", created: []string{"x", "x/y", "x/y/f"}},
		{name: "file_in_an_existing_directory", dest: "/a/b/f", file: true, host: "a/b/f", created: []string{"a/b/f"}},
		{name: "through_a_symlinked_parent_inside", dest: "/in/c", host: "a/b/c", created: []string{"a/b/c"}},
		{name: "existing_directory", dest: "/a/b", host: "a/b"},
		{name: "existing_file", dest: "/a/file", file: true, host: "a/file"},
		{name: "existing_directory_through_a_link", dest: "/in", host: "a/b"},
		{name: "dangling_link_creates_its_target", dest: "/conf/resolv.conf", file: true,
			host: "run/resolvconf/resolv.conf", created: []string{"run", "run/resolvconf", "run/resolvconf/resolv.conf"}},
		{name: "dangling_link_to_a_directory", dest: "/dangling", host: "nothing/there", created: []string{"nothing", "nothing/there"}},
		{name: "dotdot_over_what_need_not_be_created", dest: "/x/y/../z", host: "x/z", created: []string{"x", "x/z"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root, _ := resolveTree(t)
			base := filepath.Dir(root)
			before := snapshotTree(t, base)
			host, created, err := Prepare(root, tt.dest, tt.file)
			if err != nil {
				t.Fatalf("Prepare(%q, file=%v): %v", tt.dest, tt.file, err)
			}
			if want := filepath.Join(root, tt.host); host != want {
				t.Errorf("host = %q, want %q", host, want)
			}
			if want := underRoot(root, tt.created...); !reflect.DeepEqual(created, want) {
				t.Fatalf("created = %q, want %q", created, want)
			}
			after := snapshotTree(t, base)
			for i, p := range created {
				want := fs.ModeDir.String()
				if tt.file && i == len(created)-1 {
					want = fs.FileMode(0).String()
					if fi, err := os.Stat(p); err != nil || fi.Size() != 0 {
						t.Errorf("%s: %v, size %d; want an empty file", p, err, fi.Size())
					}
				}
				if after[p] != want {
					t.Errorf("%s is %q, want %q", p, after[p], want)
				}
				delete(after, p)
			}
			if !reflect.DeepEqual(after, before) {
				t.Errorf("Prepare changed more than it reports:\nbefore %v\nafter  %v", before, after)
			}
			if h, m, err := Resolve(root, tt.dest); err != nil || h != host || m != nil {
				t.Errorf("Resolve after Prepare = %q, %q, %v; want %q and nothing missing", h, m, err, host)
			}
			// Undoing removes exactly what was created, in reverse.
			for i := len(created) - 1; i >= 0; i-- {
				if err := os.Remove(created[i]); err != nil {
					t.Fatal(err)
				}
			}
			if got := snapshotTree(t, base); !reflect.DeepEqual(got, before) {
				t.Errorf("removing what Prepare created left\n%v\nwant\n%v", got, before)
			}
		})
	}
}

func TestPrepareRefuses(t *testing.T) {
	tests := []struct {
		name string
		dest string
		file bool
		err  error
	}{
		{name: "absolute_link", dest: "/etc/x/y", err: ErrEscape},
		{name: "relative_link_leaving", dest: "/up/new/dir", err: ErrEscape},
		{name: "dotdot_chain", dest: "/a/../../outside/new", err: ErrEscape},
		{name: "dangling_link_leaving", dest: "/dangup", file: true, err: ErrEscape},
		{name: "dangling_absolute_link", dest: "/dangabs", err: ErrEscape},
		{name: "file_where_a_directory_is_expected", dest: "/a/file/x", err: syscall.ENOTDIR},
		{name: "directory_for_a_file_mount", dest: "/a", file: true, err: syscall.EISDIR},
		{name: "file_for_a_directory_mount", dest: "/a/file", err: syscall.ENOTDIR},
		{name: "loop", dest: "/loop1", err: syscall.ELOOP},
		// Creating the last component fails; what was created before it is
		// removed again.
		{name: "name_too_long", dest: "/x/y/" + strings.Repeat("n", 256), err: syscall.ENAMETOOLONG},
		{name: "name_too_long_for_a_file", dest: "/x/y/" + strings.Repeat("n", 256), file: true, err: syscall.ENAMETOOLONG},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root, _ := resolveTree(t)
			base := filepath.Dir(root)
			before := snapshotTree(t, base)
			host, created, err := Prepare(root, tt.dest, tt.file)
			if !errors.Is(err, tt.err) {
				t.Fatalf("Prepare(%q, file=%v) = %q, %q, %v; want an error wrapping %v", tt.dest, tt.file, host, created, err, tt.err)
			}
			if host != "" || created != nil {
				t.Errorf("Prepare returned %q, %q with its error", host, created)
			}
			if !strings.HasPrefix(err.Error(), fmt.Sprintf("mount destination %q: ", tt.dest)) {
				t.Errorf("error %q does not name the destination", err)
			}
			if after := snapshotTree(t, base); !reflect.DeepEqual(after, before) {
				t.Errorf("a refused Prepare changed the tree:\nbefore %v\nafter  %v", before, after)
			}
		})
	}
}

// TestCheckBeneath: the check after the walk refuses a file that is not the
// one the walk found, and a path that now leads through a symbolic link.
func TestCheckBeneath(t *testing.T) {
	root, _ := resolveTree(t)
	fi, err := os.Lstat(filepath.Join(root, "a/b"))
	if err != nil {
		t.Fatal(err)
	}
	if err := checkBeneath(root, "a/b", fi); err != nil {
		t.Errorf("checkBeneath(a/b) = %v", err)
	}
	if err := checkBeneath(root, "a", fi); !errors.Is(err, errChanged) {
		t.Errorf("checkBeneath(a, info of a/b) = %v, want %v", err, errChanged)
	}
	// Here a walk found a/b; were "up" swapped in for "a", the path would
	// now lead outside.
	if err := checkBeneath(root, "up/etc", fi); !errors.Is(err, errChanged) && !errors.Is(err, ErrEscape) {
		t.Errorf("checkBeneath(up/etc) = %v, want %v or %v", err, errChanged, ErrEscape)
	}
}

// beneath looks dest up beneath root with Linux's openat2(2) and
// RESOLVE_BENEATH, an independent implementation of the same rules, and
// reports the file it finds. ok is false where there is no such kernel.
func beneath(t testing.TB, root, dest string) (fi fs.FileInfo, err error, ok bool) {
	if runtime.GOOS != "linux" || strings.HasPrefix(runtime.GOARCH, "mips") {
		return nil, nil, false
	}
	rel := strings.TrimLeft(dest, "/")
	if rel == "" {
		rel = "."
	}
	p, err := syscall.BytePtrFromString(rel)
	if err != nil {
		return nil, nil, false
	}
	rootfd, err := syscall.Open(root, syscall.O_RDONLY|syscall.O_DIRECTORY|syscall.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer syscall.Close(rootfd)
	// include/uapi/linux/openat2.h: struct open_how { __u64 flags, mode,
	// resolve; }, RESOLVE_BENEATH = 0x08. openat2 (Linux 5.6) is system call
	// 437 (include/uapi/asm-generic/unistd.h: __NR_openat2;
	// arch/x86/entry/syscalls/syscall_64.tbl) on every architecture Go
	// supports but MIPS, whose numbers are offset.
	how := struct{ flags, mode, resolve uint64 }{
		flags:   syscall.O_RDONLY | syscall.O_NONBLOCK | syscall.O_CLOEXEC,
		resolve: 0x08,
	}
	fd, _, errno := syscall.Syscall6(437, uintptr(rootfd), uintptr(unsafe.Pointer(p)),
		uintptr(unsafe.Pointer(&how)), unsafe.Sizeof(how), 0, 0)
	runtime.KeepAlive(p)
	if errno == syscall.ENOSYS || errno == syscall.EPERM {
		// No openat2, or a seccomp filter that refuses it.
		return nil, nil, false
	}
	if errno != 0 {
		return nil, errno, true
	}
	f := os.NewFile(fd, rel)
	defer f.Close()
	fi, err = f.Stat()
	if err != nil {
		t.Fatal(err)
	}
	return fi, nil, true
}

// agree checks Resolve's answer for dest against the kernel's lookup
// beneath root (see beneath). The kernel finds only what exists; where
// Resolve went on lexically over missing components, it fails with ENOENT.
func agree(t testing.TB, root, dest, host string, missing []string, err error) {
	kfi, kerr, ok := beneath(t, root, dest)
	switch {
	case !ok,
		errors.Is(kerr, syscall.ENAMETOOLONG), errors.Is(err, syscall.ENAMETOOLONG),
		// Linux follows 40 symbolic links (include/linux/namei.h:
		// MAXSYMLINKS), FreeBSD 32.
		errors.Is(err, syscall.ELOOP) && !errors.Is(kerr, syscall.ELOOP):
		return
	case kerr == nil:
		fi, lerr := os.Lstat(host)
		if err != nil || missing != nil || lerr != nil || !os.SameFile(fi, kfi) {
			t.Fatalf("dest %q: the kernel finds a file beneath the root; Resolve = %q, %q, %v", dest, host, missing, err)
		}
	case err == nil && missing != nil:
		if !errors.Is(kerr, syscall.ENOENT) {
			t.Fatalf("dest %q: Resolve = %q, missing %q; the kernel: %v, want ENOENT", dest, host, missing, kerr)
		}
	case err == nil:
		// The kernel cannot look through a missing component that "..."
		// drops again, nor through a trailing "/" after a file.
		if !errors.Is(kerr, syscall.ENOENT) && !errors.Is(kerr, syscall.ENOTDIR) {
			t.Fatalf("dest %q: Resolve = %q; the kernel: %v", dest, host, kerr)
		}
	case errors.Is(err, ErrEscape):
		// EXDEV: fs/namei.c refuses a lookup that leaves with RESOLVE_BENEATH.
		if !errors.Is(kerr, syscall.EXDEV) && !errors.Is(kerr, syscall.ENOENT) {
			t.Fatalf("dest %q: Resolve: %v; the kernel: %v, want EXDEV", dest, err, kerr)
		}
	case errors.Is(err, syscall.ENOTDIR), errors.Is(err, syscall.ELOOP):
		if !errors.Is(kerr, errors.Unwrap(err)) {
			t.Fatalf("dest %q: Resolve: %v; the kernel: %v", dest, err, kerr)
		}
	}
}

func TestResolveAgreesWithLinuxBeneath(t *testing.T) {
	if _, _, ok := beneath(t, t.TempDir(), "/"); !ok {
		t.Skip("no openat2(2) with RESOLVE_BENEATH here")
	}
	root, _ := resolveTree(t)
	for _, dest := range resolveSeeds {
		host, missing, err := Resolve(root, dest)
		agree(t, root, dest, host, missing, err)
	}
}

var resolveSeeds = []string{
	"/", "", "/a/b", "/a/file", "/a/file/", "/a/file/x", "/a/file/..", "//a/./b//.",
	"/a/b/../file", "/a/x/y", "/x/y/../z", "/a/x/../b", "/../../etc", "/a/../../b",
	"/x/../../b", "/in/../../../x", "/in/../../x", "/abs/x", "/etc/x", "/etc", "/absin",
	"/up/etc", "/upin", "/a/out/x", "/a/back/out", "/in/c", "/a/back/back/b", "/in",
	"/in/..", "/l1/b", "/l0/b", "/loop1/x", "/self", "/dangling", "/dangling/x",
	"/conf/resolv.conf", "/dangabs", "/dangup", "/a/b/../../..", "/a/./../a/back/../file",
}

// FuzzResolve: whatever the destination, against a tree with escaping links,
// Resolve never panics and never returns a path outside the root; what it
// returns is physical (no symbolic link on the way), the missing paths are a
// chain of missing components ending at host, and Prepare creates exactly
// them and nothing else, inside the root or outside.
func FuzzResolve(f *testing.F) {
	for _, s := range resolveSeeds {
		f.Add(s)
	}
	root, _ := resolveTree(f)
	base := filepath.Dir(root)
	before := snapshotTree(f, base)
	f.Fuzz(func(t *testing.T, dest string) {
		host, missing, err := Resolve(root, dest)
		agree(t, root, dest, host, missing, err)
		if err != nil {
			if host != "" || missing != nil {
				t.Fatalf("Resolve(%q) returned %q, %q with %v", dest, host, missing, err)
			}
			if !strings.HasPrefix(err.Error(), "mount destination ") {
				t.Fatalf("Resolve(%q): %v does not name the destination", dest, err)
			}
			return
		}
		if rel, rerr := filepath.Rel(root, host); rerr != nil || rel == ".." || strings.HasPrefix(rel, "../") || filepath.Clean(host) != host {
			t.Fatalf("Resolve(%q) = %q, outside %q", dest, host, root)
		}
		existing := host
		if len(missing) > 0 {
			existing = filepath.Dir(missing[0])
			if missing[len(missing)-1] != host {
				t.Fatalf("Resolve(%q) = %q, but the last missing path is %q", dest, host, missing[len(missing)-1])
			}
		}
		for i, m := range missing {
			parent := existing
			if i > 0 {
				parent = missing[i-1]
			}
			if filepath.Dir(m) != parent || filepath.Base(m) == ".." {
				t.Fatalf("Resolve(%q): missing %q is not a chain from %q", dest, missing, existing)
			}
			if _, err := os.Lstat(m); !errors.Is(err, fs.ErrNotExist) {
				t.Fatalf("Resolve(%q): missing %q exists: %v", dest, m, err)
			}
		}
		if real, err := filepath.EvalSymlinks(existing); err != nil || real != existing {
			t.Fatalf("Resolve(%q): %q leads through a symbolic link to %q (%v)", dest, existing, real, err)
		}
		if len(missing) == 0 {
			return
		}
		host2, created, err := Prepare(root, dest, false)
		if err != nil && !errors.Is(err, syscall.ENAMETOOLONG) {
			t.Fatalf("Prepare(%q) after Resolve = %q, %q: %v", dest, host, missing, err)
		}
		if err == nil && (host2 != host || !reflect.DeepEqual(created, missing)) {
			t.Fatalf("Prepare(%q) = %q, %q; Resolve = %q, %q", dest, host2, created, host, missing)
		}
		for i := len(created) - 1; i >= 0; i-- {
			if fi, err := os.Lstat(created[i]); err != nil || !fi.IsDir() {
				t.Fatalf("Prepare(%q) created %q, not a directory: %v", dest, created[i], err)
			}
			if err := os.Remove(created[i]); err != nil {
				t.Fatal(err)
			}
		}
		if after := snapshotTree(t, base); !reflect.DeepEqual(after, before) {
			t.Fatalf("Prepare(%q) changed more than it reports:\nbefore %v\nafter  %v", dest, before, after)
		}
	})
}
