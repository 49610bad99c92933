package rootfs

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sirupsen/logrus"
	logtest "github.com/sirupsen/logrus/hooks/test"
	"golang.org/x/sys/unix"
)

// testLayer is the name test layers have in errors.
const testLayer = "sha256:0123456789abcdef"

// layerMtime is the modification time of test entries that set none.
var layerMtime = time.Unix(1700000000, 0)

// layerEntry is one entry of a test layer.
type layerEntry struct {
	tar.Header
	body string
}

func tarDir(name string, mode int64) layerEntry {
	return layerEntry{Header: tar.Header{Typeflag: tar.TypeDir, Name: name, Mode: mode}}
}

func tarFile(name, body string) layerEntry {
	return layerEntry{Header: tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: 0o644}, body: body}
}

func tarSymlink(name, target string) layerEntry {
	return layerEntry{Header: tar.Header{Typeflag: tar.TypeSymlink, Name: name, Linkname: target, Mode: 0o777}}
}

func tarHardlink(name, target string) layerEntry {
	return layerEntry{Header: tar.Header{Typeflag: tar.TypeLink, Name: name, Linkname: target}}
}

// tarWhiteout is the whiteout of name; tarOpaque of a directory, the opaque
// whiteout of that directory.
func tarWhiteout(name string) layerEntry {
	return tarFile(filepath.Join(filepath.Dir(name), whiteoutPrefix+filepath.Base(name)), "")
}

func tarOpaque(dir string) layerEntry { return tarFile(dir+"/"+opaqueWhiteout, "") }

// layerTar is the tar stream of entries, in PAX format.
func layerTar(t testing.TB, entries ...layerEntry) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range entries {
		h := e.Header
		if h.Typeflag == tar.TypeReg {
			h.Size = int64(len(e.body))
		}
		if h.ModTime.IsZero() {
			h.ModTime = layerMtime
		}
		h.Format = tar.FormatPAX
		if err := tw.WriteHeader(&h); err != nil {
			t.Fatalf("tar header %q: %v", h.Name, err)
		}
		if _, err := tw.Write([]byte(e.body)); err != nil {
			t.Fatalf("tar content %q: %v", h.Name, err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// layerTestRoot makes a temporary directory holding an empty root and, next
// to it, "outside": a directory with a file "file" that no layer may
// reach. It returns both paths.
func layerTestRoot(t *testing.T) (root, outside string) {
	t.Helper()
	dir := t.TempDir()
	root, outside = filepath.Join(dir, "root"), filepath.Join(dir, "outside")
	for _, d := range []string{root, outside} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(outside, "file"), []byte("outside"), 0o644); err != nil {
		t.Fatal(err)
	}
	return root, outside
}

// applyLayers applies layers in order, failing the test on an error.
func applyLayers(t *testing.T, root string, layers ...[]layerEntry) {
	t.Helper()
	for i, l := range layers {
		if err := ApplyLayer(context.Background(), root, bytes.NewReader(layerTar(t, l...)), fmt.Sprintf("layer%d", i), discardLog()); err != nil {
			t.Fatalf("layer %d: %v", i, err)
		}
	}
}

// layerTree lists every path below root with its type, and a file's
// content or a symbolic link's target: "a/ b=content c->target".
func layerTree(t *testing.T, root string) string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || p == root {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		switch {
		case d.IsDir():
			out = append(out, rel+"/")
		case d.Type()&fs.ModeSymlink != 0:
			target, err := os.Readlink(p)
			if err != nil {
				return err
			}
			out = append(out, rel+"->"+target)
		case d.Type().IsRegular():
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			out = append(out, rel+"="+string(b))
		default:
			out = append(out, rel+"|"+d.Type().String())
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return strings.Join(out, " ")
}

func lstatT(t *testing.T, p string) *unix.Stat_t {
	t.Helper()
	var st unix.Stat_t
	if err := unix.Lstat(p, &st); err != nil {
		t.Fatal(err)
	}
	return &st
}

func needRootForOwners(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root to set ownership")
	}
}

func TestApplyLayer(t *testing.T) {
	for _, tc := range []struct {
		name   string
		layers [][]layerEntry
		want   string
	}{{
		name:   "plain_entries_with_dot_slash_names",
		layers: [][]layerEntry{{tarDir("./", 0o755), tarDir("./etc/", 0o755), tarFile("./etc/motd", "hi"), tarSymlink("./etc/link", "/etc/motd")}},
		want:   "etc/ etc/link->/etc/motd etc/motd=hi",
	}, {
		name:   "missing_parents_are_made",
		layers: [][]layerEntry{{tarFile("a/b//c", "x")}},
		want:   "a/ a/b/ a/b/c=x",
	}, {
		name:   "whiteout_removes_a_file",
		layers: [][]layerEntry{{tarFile("a/f", "1"), tarFile("a/g", "2")}, {tarWhiteout("a/f")}},
		want:   "a/ a/g=2",
	}, {
		name:   "whiteout_removes_a_directory_with_its_content",
		layers: [][]layerEntry{{tarFile("a/b/c/f", "1"), tarFile("a/g", "2")}, {tarWhiteout("a/b")}},
		want:   "a/ a/g=2",
	}, {
		name:   "whiteout_removes_a_symlink_not_its_target",
		layers: [][]layerEntry{{tarFile("f", "1"), tarSymlink("l", "f")}, {tarWhiteout("l")}},
		want:   "f=1",
	}, {
		name:   "whiteout_of_nothing_is_nothing",
		layers: [][]layerEntry{{tarFile("f", "1")}, {tarWhiteout("g"), tarWhiteout("nodir/g"), tarWhiteout("f/g")}},
		want:   "f=1",
	}, {
		name:   "whiteout_spares_the_same_layers_entry",
		layers: [][]layerEntry{{tarFile("f", "lower")}, {tarFile("f", "upper"), tarWhiteout("f")}},
		want:   "f=upper",
	}, {
		name:   "whiteout_before_a_new_entry_of_the_same_name",
		layers: [][]layerEntry{{tarFile("d/old", "1")}, {tarWhiteout("d"), tarFile("d/new", "2")}},
		want:   "d/ d/new=2",
	}, {
		name:   "opaque_whiteout_empties_the_directory",
		layers: [][]layerEntry{{tarFile("bin/tool", "1"), tarFile("bin/tools/one", "2"), tarFile("etc/x", "3")}, {tarDir("bin/", 0o755), tarOpaque("bin")}},
		want:   "bin/ etc/ etc/x=3",
	}, {
		name:   "opaque_whiteout_first",
		layers: [][]layerEntry{{tarFile("a/b/c/bar", "old")}, {tarDir("a/", 0o755), tarOpaque("a"), tarDir("a/b/", 0o755), tarDir("a/b/c/", 0o755), tarFile("a/b/c/foo", "new")}},
		want:   "a/ a/b/ a/b/c/ a/b/c/foo=new",
	}, {
		// layer.md: the opaque whiteout applies first, wherever it is.
		name:   "opaque_whiteout_after_its_siblings_keeps_them",
		layers: [][]layerEntry{{tarFile("a/b/c/bar", "old"), tarFile("a/keep", "old")}, {tarDir("a/", 0o755), tarDir("a/b/", 0o755), tarDir("a/b/c/", 0o755), tarFile("a/b/c/foo", "new"), tarSymlink("a/l", "b"), tarOpaque("a")}},
		want:   "a/ a/b/ a/b/c/ a/b/c/foo=new a/l->b",
	}, {
		name:   "opaque_whiteout_keeps_implicit_parents_of_the_layer",
		layers: [][]layerEntry{{tarFile("a/b/bar", "old")}, {tarFile("a/b/foo", "new"), tarOpaque("a")}},
		want:   "a/ a/b/ a/b/foo=new",
	}, {
		name:   "opaque_whiteout_of_a_missing_directory",
		layers: [][]layerEntry{{tarFile("f", "1")}, {tarOpaque("d")}},
		want:   "f=1",
	}, {
		name:   "whiteout_file_is_hidden",
		layers: [][]layerEntry{{tarWhiteout("x"), tarOpaque("d"), tarDir("d/", 0o755)}},
		want:   "d/",
	}, {
		name:   "file_replaces_directory",
		layers: [][]layerEntry{{tarFile("x/y/z", "1")}, {tarFile("x", "2")}},
		want:   "x=2",
	}, {
		name:   "directory_replaced_twice_in_one_layer",
		layers: [][]layerEntry{{tarFile("d/e/a", "1"), tarFile("d", "file"), tarDir("d/", 0o755), tarFile("d/e/b", "2")}},
		want:   "d/ d/e/ d/e/b=2",
	}, {
		name:   "directory_replaces_file",
		layers: [][]layerEntry{{tarFile("x", "1")}, {tarDir("x/", 0o755), tarFile("x/y", "2")}},
		want:   "x/ x/y=2",
	}, {
		name:   "directory_replaces_symlink_to_directory",
		layers: [][]layerEntry{{tarDir("real/", 0o755), tarFile("real/f", "1"), tarSymlink("x", "real")}, {tarDir("x/", 0o755), tarFile("x/g", "2")}},
		want:   "real/ real/f=1 x/ x/g=2",
	}, {
		name:   "file_replaces_symlink",
		layers: [][]layerEntry{{tarFile("target", "1"), tarSymlink("x", "target")}, {tarFile("x", "2")}},
		want:   "target=1 x=2",
	}, {
		name:   "symlink_replaces_directory",
		layers: [][]layerEntry{{tarFile("x/f", "1")}, {tarSymlink("x", "/nowhere")}},
		want:   "x->/nowhere",
	}, {
		name:   "symlink_to_outside_is_written_not_followed",
		layers: [][]layerEntry{{tarSymlink("up", "../outside"), tarSymlink("abs", "/etc/passwd")}},
		want:   "abs->/etc/passwd up->../outside",
	}, {
		name:   "file_over_a_symlink_to_outside_replaces_the_symlink",
		layers: [][]layerEntry{{tarSymlink("f", "../outside/file")}, {tarFile("f", "mine")}},
		want:   "f=mine",
	}, {
		name:   "hardlinks_inside",
		layers: [][]layerEntry{{tarFile("a/f", "1")}, {tarHardlink("b/g", "a/f"), tarHardlink("./c", "./a/f")}},
		want:   "a/ a/f=1 b/ b/g=1 c=1",
	}, {
		name:   "hardlink_replaces_existing_entry",
		layers: [][]layerEntry{{tarFile("f", "1"), tarFile("g", "2")}, {tarHardlink("g", "f")}},
		want:   "f=1 g=1",
	}, {
		name:   "hardlink_to_itself_is_nothing",
		layers: [][]layerEntry{{tarFile("f", "1"), tarHardlink("f", "f")}},
		want:   "f=1",
	}, {
		name:   "big_file_crosses_copy_buffers",
		layers: [][]layerEntry{{tarFile("big", strings.Repeat("0123456789abcdef", 3*copyBufferSize/16+7))}},
		want:   "big=" + strings.Repeat("0123456789abcdef", 3*copyBufferSize/16+7),
	}} {
		t.Run(tc.name, func(t *testing.T) {
			root, outside := layerTestRoot(t)
			applyLayers(t, root, tc.layers...)
			if got := layerTree(t, root); got != tc.want {
				t.Errorf("tree:\n got %s\nwant %s", got, tc.want)
			}
			if got := layerTree(t, outside); got != "file=outside" {
				t.Errorf("outside changed: %s", got)
			}
		})
	}
}

func TestApplyLayerDeepPaths(t *testing.T) {
	// Deeper than the directories dirCache keeps open; no descriptor
	// may leak, whatever the depth.
	fds := func() int {
		ents, err := os.ReadDir("/proc/self/fd")
		if err != nil {
			t.Skip("no /proc/self/fd to count descriptors")
		}
		return len(ents)
	}
	root, _ := layerTestRoot(t)
	deep := strings.Repeat("d/", maxCachedDirs+20)
	before := fds()
	applyLayers(t, root,
		[]layerEntry{tarFile(deep+"f", "1"), tarFile(deep+"g", "2"), tarSymlink(deep+"l", "g"), tarHardlink(deep+"h", deep+"g"), tarFile("top", "3")},
		[]layerEntry{tarWhiteout(deep + "f"), tarDir(deep, 0o700), tarFile(deep+"g", "4")},
	)
	if after := fds(); after != before {
		t.Errorf("%d descriptors open before, %d after", before, after)
	}
	want := strings.Repeat("d/", maxCachedDirs+20)
	var got []string
	for _, name := range []string{"f", "g", "h", "l"} {
		if b, err := os.ReadFile(filepath.Join(root, want, name)); err == nil {
			got = append(got, name+"="+string(b))
		}
	}
	if strings.Join(got, " ") != "g=4 h=2 l=4" {
		t.Errorf("deep directory holds %v, want [g=4 h=2 l=4]", got)
	}
	if st := lstatT(t, filepath.Join(root, deep)); st.Mode&0o7777 != 0o700 {
		t.Errorf("deep directory mode %o, want 700", st.Mode&0o7777)
	}
}

func TestApplyLayerHardlinkIsTheSameInode(t *testing.T) {
	root, _ := layerTestRoot(t)
	applyLayers(t, root, []layerEntry{tarFile("f", "1"), tarSymlink("s", "f"), tarHardlink("g", "f"), tarHardlink("t", "s")})
	if f, g := lstatT(t, filepath.Join(root, "f")), lstatT(t, filepath.Join(root, "g")); f.Ino != g.Ino || f.Nlink != 2 {
		t.Errorf("g: inode %d, f: inode %d with %d links; want one inode, two links", g.Ino, f.Ino, f.Nlink)
	}
	// A hard link to a symbolic link links the symbolic link itself.
	s, tl := lstatT(t, filepath.Join(root, "s")), lstatT(t, filepath.Join(root, "t"))
	if tl.Mode&unix.S_IFMT != unix.S_IFLNK || s.Ino != tl.Ino {
		t.Errorf("t: mode %o inode %d, want the symlink s (inode %d)", tl.Mode, tl.Ino, s.Ino)
	}
}

func TestApplyLayerDirectoryReplacedInPlace(t *testing.T) {
	needRootForOwners(t)
	root, _ := layerTestRoot(t)
	applyLayers(t, root, []layerEntry{tarDir("d/", 0o755), tarFile("d/f", "1")})
	before := lstatT(t, filepath.Join(root, "d"))
	d := tarDir("d/", 0o1750)
	d.Uid, d.Gid = 1234, 5678
	applyLayers(t, root, []layerEntry{d})
	after := lstatT(t, filepath.Join(root, "d"))
	if after.Ino != before.Ino {
		t.Errorf("inode %d became %d: the directory was recreated", before.Ino, after.Ino)
	}
	if after.Mode&0o7777 != 0o1750 || after.Uid != 1234 || after.Gid != 5678 {
		t.Errorf("mode %o owner %d:%d, want 1750 1234:5678", after.Mode&0o7777, after.Uid, after.Gid)
	}
	if got := layerTree(t, root); got != "d/ d/f=1" {
		t.Errorf("content: %s", got)
	}
}

func TestApplyLayerOwnershipAndModes(t *testing.T) {
	needRootForOwners(t)
	root, _ := layerTestRoot(t)
	suid := tarFile("bin/su", "x")
	suid.Mode, suid.Uid, suid.Gid = 0o4755, 0, 5
	sgid := tarFile("bin/wall", "x")
	sgid.Mode, sgid.Uid, sgid.Gid = 0o2555, 1001, 4
	tmp := tarDir("tmp/", 0o1777)
	tmp.Uid, tmp.Gid = 1002, 1003
	link := tarSymlink("l", "bin/su")
	link.Uid, link.Gid = 1004, 1005
	fifo := layerEntry{Header: tar.Header{Typeflag: tar.TypeFifo, Name: "run/fifo", Mode: 0o620, Uid: 1006, Gid: 1007}}
	priv := tarDir("priv/", 0o500)
	// An entry for a directory below priv comes before priv's; the same
	// directory twice: the last entry wins.
	applyLayers(t, root, []layerEntry{suid, sgid, tarDir("priv/sub/", 0o700), tmp, link, fifo, priv, tarFile("priv/f", "x"), tarDir("twice/", 0o700), tarDir("twice/", 0o751)})
	for _, c := range []struct {
		path     string
		typ      uint32
		mode     uint32
		uid, gid uint32
	}{
		{"bin/su", unix.S_IFREG, 0o4755, 0, 5},
		{"bin/wall", unix.S_IFREG, 0o2555, 1001, 4},
		{"tmp", unix.S_IFDIR, 0o1777, 1002, 1003},
		{"l", unix.S_IFLNK, 0, 1004, 1005},
		{"run/fifo", unix.S_IFIFO, 0o620, 1006, 1007},
		{"run", unix.S_IFDIR, 0o755, 0, 0},
		{"priv", unix.S_IFDIR, 0o500, 0, 0},
		{"priv/sub", unix.S_IFDIR, 0o700, 0, 0},
		{"twice", unix.S_IFDIR, 0o751, 0, 0},
	} {
		st := lstatT(t, filepath.Join(root, c.path))
		if uint32(st.Mode)&unix.S_IFMT != c.typ {
			t.Errorf("%s: type %o, want %o", c.path, st.Mode&unix.S_IFMT, c.typ)
		}
		if c.typ != unix.S_IFLNK && uint32(st.Mode)&0o7777 != c.mode {
			t.Errorf("%s: mode %o, want %o", c.path, st.Mode&0o7777, c.mode)
		}
		if st.Uid != c.uid || st.Gid != c.gid {
			t.Errorf("%s: owner %d:%d, want %d:%d", c.path, st.Uid, st.Gid, c.uid, c.gid)
		}
	}
}

func TestApplyLayerTimes(t *testing.T) {
	root, _ := layerTestRoot(t)
	at := func(e layerEntry, sec int64) layerEntry {
		e.ModTime = time.Unix(sec, 123456789)
		e.AccessTime = time.Unix(sec-1, 0)
		return e
	}
	applyLayers(t, root,
		[]layerEntry{at(tarDir("d/", 0o755), 1000), at(tarFile("d/f", "x"), 2000), at(tarSymlink("d/l", "f"), 3000),
			at(tarDir("d/sub/", 0o755), 4000), at(tarFile("d/sub/g", "y"), 5000)},
		// A later layer writing into d changes d's times; not d/sub's.
		[]layerEntry{at(tarDir("./", 0o755), 6000), at(tarFile("d/h", "z"), 7000)},
	)
	for _, c := range []struct {
		path string
		sec  int64
	}{{".", 6000}, {"d/f", 2000}, {"d/l", 3000}, {"d/sub", 4000}, {"d/sub/g", 5000}, {"d/h", 7000}} {
		st := lstatT(t, filepath.Join(root, c.path))
		if int64(st.Mtim.Sec) != c.sec || st.Mtim.Nsec != 123456789 {
			t.Errorf("%s: mtime %d.%09d, want %d.123456789", c.path, st.Mtim.Sec, st.Mtim.Nsec, c.sec)
		}
		if int64(st.Atim.Sec) != c.sec-1 {
			t.Errorf("%s: atime %d, want %d", c.path, st.Atim.Sec, c.sec-1)
		}
	}
	if st := lstatT(t, filepath.Join(root, "d")); st.Mtim.Sec == 1000 {
		t.Errorf("d: mtime is still the first layer's after the second wrote into it")
	}
}

func TestApplyLayerDirectoryTimesAfterContent(t *testing.T) {
	root, _ := layerTestRoot(t)
	d := tarDir("d/", 0o755)
	d.ModTime = time.Unix(1000, 0)
	applyLayers(t, root, []layerEntry{d, tarFile("d/f", "x"), tarSymlink("d/l", "f"), tarWhiteout("d/nothing")})
	if st := lstatT(t, filepath.Join(root, "d")); st.Mtim.Sec != 1000 {
		t.Errorf("d: mtime %d, want 1000: set before its content was written", st.Mtim.Sec)
	}
}

// xattrsSupported reports whether dir's file system takes user extended
// attributes.
func xattrsSupported(t *testing.T, dir string) bool {
	p := filepath.Join(dir, "probe")
	if err := os.WriteFile(p, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	defer os.Remove(p)
	err := unix.Setxattr(p, "user.probe", []byte("1"), 0)
	return err == nil
}

func TestApplyLayerXattrs(t *testing.T) {
	root, _ := layerTestRoot(t)
	if !xattrsSupported(t, root) {
		t.Skip("the temporary directory's file system has no user extended attributes")
	}
	f := tarFile("f", "x")
	f.PAXRecords = map[string]string{"SCHILY.xattr.user.color": "blue", "SCHILY.xattr.user.empty": ""}
	d := tarDir("d/", 0o755)
	d.PAXRecords = map[string]string{"SCHILY.xattr.user.kind": "dir\x00binary"}
	applyLayers(t, root, []layerEntry{f, d})
	for _, c := range []struct{ path, name, want string }{
		{"f", "user.color", "blue"},
		{"f", "user.empty", ""},
		{"d", "user.kind", "dir\x00binary"},
	} {
		buf := make([]byte, 64)
		n, err := unix.Lgetxattr(filepath.Join(root, c.path), c.name, buf)
		if err != nil {
			t.Errorf("%s %s: %v", c.path, c.name, err)
			continue
		}
		if got := string(buf[:n]); got != c.want {
			t.Errorf("%s %s = %q, want %q", c.path, c.name, got, c.want)
		}
	}
}

func TestXattrUnsupported(t *testing.T) {
	// What a file system without extended attributes answers is skipped;
	// any other failure is an error.
	if !xattrUnsupported(fmt.Errorf("wrapped: %w", unix.EOPNOTSUPP)) {
		t.Error("EOPNOTSUPP is not treated as unsupported")
	}
	if xattrUnsupported(unix.EPERM) {
		t.Error("EPERM is treated as unsupported")
	}
}

// paxRecord is one PAX extended header record.
func paxRecord(key, value string) string {
	s := " " + key + "=" + value + "\n"
	n := len(s) + 1
	for len(fmt.Sprint(n))+len(s) != n {
		n++
	}
	return fmt.Sprint(n) + s
}

// rawTarHeader is a ustar header block, for entries archive/tar will not
// write.
func rawTarHeader(name string, typ byte, size int) []byte {
	b := make([]byte, 512)
	copy(b[0:100], name)
	copy(b[100:108], "0000644\x00")
	copy(b[108:116], "0000000\x00")
	copy(b[116:124], "0000000\x00")
	copy(b[124:136], fmt.Sprintf("%011o\x00", size))
	copy(b[136:148], fmt.Sprintf("%011o\x00", layerMtime.Unix()))
	b[156] = typ
	copy(b[257:265], "ustar\x0000")
	copy(b[148:156], "        ")
	sum := 0
	for _, c := range b {
		sum += int(c)
	}
	copy(b[148:156], fmt.Sprintf("%06o\x00 ", sum))
	return b
}

// tarPadded is b followed by zeros to a whole number of tar blocks.
func tarPadded(b []byte) []byte {
	return append(b, make([]byte, (512-len(b)%512)%512)...)
}

func TestApplyLayerSparseFile(t *testing.T) {
	// A GNU sparse 0.1 file in PAX form: 5 bytes, a 2 MiB hole, 5 bytes.
	const hole = 2 << 20
	recs := paxRecord("GNU.sparse.numblocks", "2") + paxRecord("GNU.sparse.map", fmt.Sprintf("0,5,%d,5", hole+5)) + paxRecord("GNU.sparse.size", fmt.Sprint(hole+10))
	var stream []byte
	stream = append(stream, rawTarHeader("PaxHeaders/s", tar.TypeXHeader, len(recs))...)
	stream = append(stream, tarPadded([]byte(recs))...)
	stream = append(stream, rawTarHeader("s", tar.TypeReg, 10)...)
	stream = append(stream, tarPadded([]byte("helloworld"))...)
	stream = append(stream, make([]byte, 1024)...)
	root, _ := layerTestRoot(t)
	if err := ApplyLayer(context.Background(), root, bytes.NewReader(stream), testLayer, discardLog()); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(filepath.Join(root, "s"))
	if err != nil {
		t.Fatal(err)
	}
	want := "hello" + string(make([]byte, hole)) + "world"
	if string(got) != want {
		t.Fatalf("content: %d bytes, starting %q, ending %q; want %d bytes", len(got), got[:min(5, len(got))], got[max(len(got)-5, 0):], len(want))
	}
	if st := lstatT(t, filepath.Join(root, "s")); st.Blocks*512 >= hole {
		t.Errorf("%d blocks of 512 bytes allocated: the hole was written", st.Blocks)
	}
}

func TestApplyLayerRefuses(t *testing.T) {
	dev := func(typ byte, name string) layerEntry {
		return layerEntry{Header: tar.Header{Typeflag: typ, Name: name, Mode: 0o666, Devmajor: 1, Devminor: 3}}
	}
	for _, tc := range []struct {
		name    string
		lower   [][]layerEntry
		layer   []layerEntry
		entry   string // the entry the error names
		why     string // in the error
		refused bool   // the error wraps ErrRefused
	}{
		{name: "absolute_name", layer: []layerEntry{tarFile("/etc/passwd", "x")}, entry: "/etc/passwd", why: "absolute name", refused: true},
		{name: "dot_dot_name", layer: []layerEntry{tarFile("../outside/file", "x")}, entry: "../outside/file", why: `".." component`, refused: true},
		{name: "dot_dot_inside_name", layer: []layerEntry{tarFile("a/../../outside/file", "x")}, entry: "a/../../outside/file", why: `".." component`, refused: true},
		{name: "dot_dot_that_stays_inside", layer: []layerEntry{tarFile("a/b/../c", "x")}, entry: "a/b/../c", why: `".." component`, refused: true},
		{name: "dot_dot_directory", layer: []layerEntry{tarDir("..", 0o777)}, entry: "..", why: `".." component`, refused: true},
		{name: "root_as_a_file", layer: []layerEntry{tarFile(".", "x")}, entry: ".", why: "root can only be a directory", refused: true},
		{name: "file_through_symlink_same_layer", layer: []layerEntry{tarSymlink("evil", "../outside"), tarFile("evil/file", "pwned")},
			entry: "evil/file", why: "evil is a symbolic link", refused: true},
		{name: "file_through_absolute_symlink", layer: []layerEntry{tarSymlink("evil", "/"), tarFile("evil/tmp/pwned", "pwned")},
			entry: "evil/tmp/pwned", why: "evil is a symbolic link", refused: true},
		{name: "file_through_symlink_of_a_lower_layer", lower: [][]layerEntry{{tarDir("a/", 0o755), tarSymlink("a/evil", "../../outside")}},
			layer: []layerEntry{tarFile("a/evil/file", "pwned")}, entry: "a/evil/file", why: "a/evil is a symbolic link", refused: true},
		{name: "directory_through_symlink", layer: []layerEntry{tarSymlink("evil", "../outside"), tarDir("evil/new/", 0o777)},
			entry: "evil/new/", why: "evil is a symbolic link", refused: true},
		{name: "symlink_through_symlink", layer: []layerEntry{tarSymlink("evil", "../outside"), tarSymlink("evil/file", "/x")},
			entry: "evil/file", why: "evil is a symbolic link", refused: true},
		{name: "hardlink_through_symlink", layer: []layerEntry{tarFile("f", "x"), tarSymlink("evil", "../outside"), tarHardlink("evil/file", "f")},
			entry: "evil/file", why: "evil is a symbolic link", refused: true},
		{name: "fifo_through_symlink", layer: []layerEntry{tarSymlink("evil", "../outside"), {Header: tar.Header{Typeflag: tar.TypeFifo, Name: "evil/fifo", Mode: 0o644}}},
			entry: "evil/fifo", why: "evil is a symbolic link", refused: true},
		{name: "whiteout_through_symlink", layer: []layerEntry{tarSymlink("evil", "../outside"), tarWhiteout("evil/file")},
			entry: "evil/.wh.file", why: "evil is a symbolic link", refused: true},
		{name: "opaque_whiteout_through_symlink", layer: []layerEntry{tarSymlink("evil", "../outside"), tarOpaque("evil")},
			entry: "evil/.wh..wh..opq", why: "evil is a symbolic link", refused: true},
		{name: "hardlink_to_outside", layer: []layerEntry{tarHardlink("f", "../outside/file")}, entry: "f", why: `".." component`, refused: true},
		{name: "hardlink_to_absolute", layer: []layerEntry{tarHardlink("f", "/etc/passwd")}, entry: "f", why: "absolute name", refused: true},
		{name: "hardlink_to_outside_through_symlink", layer: []layerEntry{tarSymlink("evil", "../outside"), tarHardlink("f", "evil/file")},
			entry: "f", why: "evil is a symbolic link", refused: true},
		{name: "hardlink_to_nothing", layer: []layerEntry{tarHardlink("f", "missing")}, entry: "f", why: `target "missing" does not exist`, refused: true},
		{name: "hardlink_below_nothing", layer: []layerEntry{tarHardlink("f", "no/such/file")}, entry: "f", why: "does not exist", refused: true},
		{name: "hardlink_to_directory", layer: []layerEntry{tarDir("d/", 0o755), tarHardlink("f", "d")}, entry: "f", why: "is a directory", refused: true},
		{name: "hardlink_to_root", layer: []layerEntry{tarHardlink("f", "./")}, entry: "f", why: "root directory", refused: true},
		{name: "whiteout_of_dot_dot", layer: []layerEntry{tarFile(".wh...", "")}, entry: ".wh...", why: "whiteout escapes its directory", refused: true},
		{name: "whiteout_of_dot", layer: []layerEntry{tarFile("a/.wh..", "")}, entry: "a/.wh..", why: "whiteout escapes its directory", refused: true},
		{name: "whiteout_of_empty_name", layer: []layerEntry{tarFile(".wh.", "")}, entry: ".wh.", why: "whiteout escapes its directory", refused: true},
		{name: "whiteout_with_a_slash", layer: []layerEntry{tarFile(".wh.a/b", "")}, entry: ".wh.a/b", why: "whiteout prefix", refused: true},
		{name: "whiteout_escaping_by_dot_dot", layer: []layerEntry{tarFile("a/.wh../../outside", "")}, entry: "a/.wh../../outside", why: `".." component`, refused: true},
		{name: "character_device", layer: []layerEntry{dev(tar.TypeChar, "dev/null")}, entry: "dev/null", why: "device node", refused: true},
		{name: "block_device", layer: []layerEntry{dev(tar.TypeBlock, "dev/ada0")}, entry: "dev/ada0", why: "device node", refused: true},
		{name: "file_below_a_file", layer: []layerEntry{tarFile("f", "x"), tarFile("f/g", "y")}, entry: "f/g", why: "not a directory"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			root, outside := layerTestRoot(t)
			applyLayers(t, root, tc.lower...)
			err := ApplyLayer(context.Background(), root, bytes.NewReader(layerTar(t, tc.layer...)), testLayer, discardLog())
			if err == nil {
				t.Fatalf("applied; tree: %s", layerTree(t, root))
			}
			var le *LayerError
			if !errors.As(err, &le) || le.Layer != testLayer || le.Entry != tc.entry {
				t.Errorf("error %q (%T) does not name layer %s and entry %q", err, err, testLayer, tc.entry)
			}
			if !strings.Contains(err.Error(), testLayer) || !strings.Contains(err.Error(), fmt.Sprintf("%q", tc.entry)) {
				t.Errorf("error %q does not show layer and entry", err)
			}
			if !strings.Contains(err.Error(), tc.why) {
				t.Errorf("error %q does not say %q", err, tc.why)
			}
			if got := errors.Is(err, ErrRefused); got != tc.refused {
				t.Errorf("errors.Is(%q, ErrRefused) = %v, want %v", err, got, tc.refused)
			}
			if got := layerTree(t, outside); got != "file=outside" {
				t.Errorf("outside changed: %s", got)
			}
		})
	}
}

func TestApplyLayerErrorText(t *testing.T) {
	root, _ := layerTestRoot(t)
	err := ApplyLayer(context.Background(), root, bytes.NewReader(layerTar(t, tarFile("../x", ""))), testLayer, discardLog())
	want := `layer sha256:0123456789abcdef: entry "../x": refused: name has a ".." component`
	if err == nil || err.Error() != want {
		t.Errorf("error %v, want %s", err, want)
	}
}

func TestApplyLayerFileErrorNamesItsEntry(t *testing.T) {
	// Files are finished off the main loop; an error there still names
	// the file's entry, not the entry the main loop is at.
	root, _ := layerTestRoot(t)
	bad := tarFile("bad", "x")
	bad.PAXRecords = map[string]string{"SCHILY.xattr.user." + strings.Repeat("n", 300): "v"} // longer than XATTR_NAME_MAX
	entries := []layerEntry{tarFile("before", "x"), bad}
	for i := range 200 {
		entries = append(entries, tarFile(fmt.Sprintf("after%d", i), "x"))
	}
	err := ApplyLayer(context.Background(), root, bytes.NewReader(layerTar(t, entries...)), testLayer, discardLog())
	var le *LayerError
	if !errors.As(err, &le) || le.Entry != "bad" || !strings.Contains(err.Error(), "set extended attribute user.nnn") {
		t.Errorf("error %v, want one naming entry \"bad\" and its extended attribute", err)
	}
}

func TestApplyLayerRefusesSymlinkBeforeWriting(t *testing.T) {
	// Refusal happens before anything is written through the link, also
	// for a symlink planted deep in a path whose start is cached.
	root, outside := layerTestRoot(t)
	applyLayers(t, root, []layerEntry{tarFile("a/b/c/f", "1")})
	err := ApplyLayer(context.Background(), root, bytes.NewReader(layerTar(t,
		tarFile("a/b/c/g", "2"),
		tarSymlink("a/b", "../../outside"),
		tarFile("a/b/c/h", "3"),
	)), testLayer, discardLog())
	if !errors.Is(err, ErrRefused) {
		t.Fatalf("error %v, want a refusal", err)
	}
	if got := layerTree(t, outside); got != "file=outside" {
		t.Errorf("outside changed: %s", got)
	}
	if got := layerTree(t, root); got != "a/ a/b->../../outside" {
		t.Errorf("tree: %s", got)
	}
}

func TestApplyLayerBrokenStream(t *testing.T) {
	full := layerTar(t, tarFile("a", "first"), tarFile("b", strings.Repeat("x", 4096)))
	for _, tc := range []struct {
		name   string
		stream []byte
		want   string
	}{
		{"truncated_content", full[:512*3+100], `layer sha256:0123456789abcdef: entry "b": read content: unexpected EOF`},
		{"truncated_header", full[:512*2+100], `layer sha256:0123456789abcdef: read tar stream after entry "a": unexpected EOF`},
		{"not_a_tar", []byte(strings.Repeat("garbage!", 100)), "layer sha256:0123456789abcdef: read tar stream: archive/tar: invalid tar header"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			root, _ := layerTestRoot(t)
			err := ApplyLayer(context.Background(), root, bytes.NewReader(tc.stream), testLayer, discardLog())
			if err == nil || err.Error() != tc.want {
				t.Errorf("error %v, want %s", err, tc.want)
			}
		})
	}
}

func TestApplyLayerMissingRoot(t *testing.T) {
	root := filepath.Join(t.TempDir(), "missing")
	err := ApplyLayer(context.Background(), root, bytes.NewReader(layerTar(t, tarFile("f", "x"))), testLayer, discardLog())
	if !errors.Is(err, fs.ErrNotExist) || !strings.Contains(err.Error(), testLayer) {
		t.Errorf("error %v, want a not-exist error naming the layer", err)
	}
}

// FuzzApplyLayer feeds arbitrary tar streams to ApplyLayer: it must not
// panic, and must not touch anything outside its root. The root is three
// directories deep, with a canary directory next to it at each level.
func FuzzApplyLayer(f *testing.F) {
	seeds := [][]layerEntry{
		{tarDir("./", 0o755), tarFile("a/b", "x"), tarSymlink("l", "a"), tarHardlink("h", "a/b")},
		{tarSymlink("evil", "../canary"), tarFile("evil/f", "x")},
		{tarSymlink("evil", "../../../canary"), tarDir("evil/d/", 0o777)},
		{tarSymlink("evil", "/"), tarHardlink("evil/x", "f")},
		{tarSymlink("a", ".."), tarWhiteout("a/canary"), tarOpaque("a")},
		{tarFile("../canary/f", "x"), tarHardlink("h", "../canary/file")},
		{tarFile(".wh...", ""), tarFile("a/.wh..wh..opq", ""), tarFile(".wh.a/b", "")},
		{tarDir("d/", 0o755), tarFile("d/f", "x"), tarSymlink("d", "../canary"), tarFile("d/g", "y")},
	}
	for _, s := range seeds {
		f.Add(layerTar(f, s...))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if tarHasHugeEntry(data) {
			t.Skip("an entry declares more than 1 MiB")
		}
		top := fuzzTempDir(t)
		root := filepath.Join(top, "a", "b", "root")
		if err := os.MkdirAll(root, 0o755); err != nil {
			t.Fatal(err)
		}
		levels := []string{top, filepath.Join(top, "a"), filepath.Join(top, "a", "b")}
		for _, l := range levels {
			if err := os.Mkdir(filepath.Join(l, "canary"), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(l, "canary", "file"), []byte("canary"), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		err := ApplyLayer(context.Background(), root, bytes.NewReader(data), testLayer, discardLog())
		if err != nil {
			var le *LayerError
			if !errors.As(err, &le) || le.Layer != testLayer {
				t.Errorf("error %v is not a *LayerError naming the layer", err)
			}
		}
		for i, l := range levels {
			want := []string{"a", "canary"}
			switch i {
			case 1:
				want = []string{"b", "canary"}
			case 2:
				want = []string{"canary", "root"}
			}
			if got := layerDirNames(t, l); !slices.Equal(got, want) {
				t.Fatalf("%s holds %v, want %v", l, got, want)
			}
			if got := layerTree(t, filepath.Join(l, "canary")); got != "file=canary" {
				t.Fatalf("canary in %s changed: %s", l, got)
			}
			if st := lstatT(t, filepath.Join(l, "canary", "file")); st.Mode&0o7777 != 0o644 || st.Uid != uint32(os.Geteuid()) {
				t.Fatalf("canary file in %s: mode %o owner %d", l, st.Mode&0o7777, st.Uid)
			}
		}
		// Let the test's cleanup remove whatever modes the layer set.
		_ = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err == nil && d.IsDir() {
				_ = os.Chmod(p, 0o755)
			}
			return nil
		})
	})
}

// fuzzTempDir is a temporary directory for one fuzz input, on tmpfs
// (/dev/shm) when there is one: the fuzzer makes and removes thousands of
// trees, and on a disk mounted with discard every removal waits for a
// TRIM.
func fuzzTempDir(t *testing.T) string {
	dir, err := os.MkdirTemp("/dev/shm", "runj-go-fuzz-")
	if err != nil {
		return t.TempDir()
	}
	t.Cleanup(func() {
		if err := os.RemoveAll(dir); err != nil {
			t.Error(err)
		}
	})
	return dir
}

// tarHasHugeEntry reports whether a tar stream declares an entry bigger than
// 1 MiB: a sparse layerEntry makes its holes from nothing, so the fuzzer could
// ask for terabytes with a few bytes.
func tarHasHugeEntry(data []byte) bool {
	tr := tar.NewReader(bytes.NewReader(data))
	for {
		hdr, err := tr.Next()
		if err != nil && hdr == nil {
			return false
		}
		if hdr.Size > 1<<20 {
			return true
		}
	}
}

func layerDirNames(t *testing.T, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	return names
}

func discardLog() logrus.FieldLogger {
	l, _ := logtest.NewNullLogger()
	return l
}

// cancelAfter reads r and cancels once more than n bytes have been read.
type cancelAfter struct {
	r      io.Reader
	n      int64
	cancel context.CancelFunc
}

func (c *cancelAfter) Read(p []byte) (int, error) {
	m, err := c.r.Read(p)
	if c.n -= int64(m); c.n < 0 {
		c.cancel()
	}
	return m, err
}

func TestApplyLayerStopsInTheMiddleOfAFileWhenTheContextIsDone(t *testing.T) {
	root, _ := layerTestRoot(t)
	big := strings.Repeat("x", 4*copyBufferSize) // copied by the main loop, buffer by buffer
	stream := layerTar(t, tarFile("first", "1"), tarFile("big", big), tarFile("last", "3"))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	// Half way through big's content.
	r := &cancelAfter{r: bytes.NewReader(stream), n: int64(len(stream) / 2), cancel: cancel}
	err := ApplyLayer(ctx, root, r, testLayer, discardLog())
	var le *LayerError
	if !errors.As(err, &le) || le.Entry != "big" || !errors.Is(err, context.Canceled) {
		t.Fatalf("error %v, want a *LayerError for entry \"big\" wrapping context.Canceled", err)
	}
	assertNoEntry(t, filepath.Join(root, "last"))
}

func TestApplyLayerStopsBetweenEntriesWithTheContextsCause(t *testing.T) {
	root, _ := layerTestRoot(t)
	stop := errors.New("interrupt signal received")
	ctx, cancel := context.WithCancelCause(context.Background())
	cancel(stop)
	err := ApplyLayer(ctx, root, bytes.NewReader(layerTar(t, tarFile("f", "x"))), testLayer, discardLog())
	if want := "layer " + testLayer + ": interrupt signal received"; !errors.Is(err, stop) || err.Error() != want {
		t.Fatalf("error %v, want %s", err, want)
	}
	if got := layerTree(t, root); got != "" {
		t.Errorf("root holds %s", got)
	}
}

func assertNoEntry(t *testing.T, p string) {
	t.Helper()
	if _, err := os.Lstat(p); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("%s: %v, want it not to exist", p, err)
	}
}

func TestXattrSkippable(t *testing.T) {
	tests := []struct {
		name   string
		err    error
		asRoot bool
		skip   bool
	}{
		{"unsupported_as_root", unix.EOPNOTSUPP, true, true},
		{"unsupported_not_as_root", unix.EOPNOTSUPP, false, true},
		{"EPERM_not_as_root_is_not_supported_here", unix.EPERM, false, true},
		{"EPERM_as_root_is_fatal", unix.EPERM, true, false},
		{"other_errors_are_fatal", unix.EINVAL, false, false},
		{"ENOSPC_is_fatal", unix.ENOSPC, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := xattrSkippable(tt.err, tt.asRoot); got != tt.skip {
				t.Errorf("xattrSkippable(%v, asRoot %v) = %v, want %v", tt.err, tt.asRoot, got, tt.skip)
			}
		})
	}
}

// privilegedXattr is an extended attribute only root may set: trusted.*
// needs CAP_SYS_ADMIN on Linux (xattr(7)), the system namespace root on
// FreeBSD (extattr(2)).
func privilegedXattr() string {
	if runtime.GOOS == "freebsd" {
		return "system.runj-go"
	}
	return "trusted.runj-go"
}

func TestApplyLayerSkipsPrivilegedXattrsWhenNotRoot(t *testing.T) {
	if os.Geteuid() == 0 {
		t.Skip("running as root, where a privileged extended attribute is set (TestXattrSkippable covers EPERM as root)")
	}
	root, _ := layerTestRoot(t)
	f := tarFile("bin/ping", "ping")
	f.PAXRecords = map[string]string{xattrPrefix + privilegedXattr(): "v"}
	d := tarDir("bin/", 0o755)
	d.PAXRecords = map[string]string{xattrPrefix + privilegedXattr(): "v"}
	log, hook := logtest.NewNullLogger()
	if err := ApplyLayer(context.Background(), root, bytes.NewReader(layerTar(t, d, f)), testLayer, log); err != nil {
		t.Fatalf("ApplyLayer: %v", err)
	}
	if got := layerTree(t, root); got != "bin/ bin/ping=ping" {
		t.Errorf("tree %s", got)
	}
	var warned []string
	for _, e := range hook.AllEntries() {
		if e.Level == logrus.WarnLevel && e.Data["xattr"] == privilegedXattr() {
			warned = append(warned, e.Data["entry"].(string))
		}
	}
	slices.Sort(warned)
	if !slices.Equal(warned, []string{"bin/", "bin/ping"}) {
		t.Errorf("warnings for %q, want one for bin/ and one for bin/ping", warned)
	}
}
