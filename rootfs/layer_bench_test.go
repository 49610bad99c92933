package rootfs

import (
	"archive/tar"
	"bufio"
	"context"
	"crypto/sha256"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// benchLayerBytes is the content the generated benchmark layer carries:
// issue 6 asks for a 200 MB layer.
const benchLayerBytes = 200 << 20

// BenchmarkApplyLayer applies the generated layer to a fresh directory.
// hack/bench-layer.sh runs it next to BenchmarkGNUTar.
func BenchmarkApplyLayer(b *testing.B) {
	layer, size := benchLayer(b)
	b.SetBytes(size)
	dir := benchDir(b)
	for i := 0; b.Loop(); i++ {
		dst := newBenchRoot(b, dir, i)
		f, err := os.Open(layer)
		if err != nil {
			b.Fatal(err)
		}
		err = ApplyLayer(context.Background(), dst, f, "bench", discardLog())
		f.Close()
		if err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkGNUTar extracts the same generated layer with GNU tar, into the
// same place: the speed ApplyLayer is held to.
func BenchmarkGNUTar(b *testing.B) {
	gnutar := findGNUTar()
	if gnutar == "" {
		b.Skip("no GNU tar (tried gtar and tar)")
	}
	layer, size := benchLayer(b)
	b.SetBytes(size)
	dir := benchDir(b)
	for i := 0; b.Loop(); i++ {
		dst := newBenchRoot(b, dir, i)
		if out, err := exec.Command(gnutar, "-xpf", layer, "-C", dst).CombinedOutput(); err != nil {
			b.Fatalf("%s: %v\n%s", gnutar, err, out)
		}
	}
}

// TestApplyLayerMatchesGNUTar unpacks a small version of the benchmark
// layer with ApplyLayer and with GNU tar, and compares the trees: type,
// mode, owner, modification time, content or link target, and which
// entries are hard links of each other.
func TestApplyLayerMatchesGNUTar(t *testing.T) {
	gnutar := findGNUTar()
	if gnutar == "" {
		t.Skip("no GNU tar (tried gtar and tar)")
	}
	dir := t.TempDir()
	layer := filepath.Join(dir, "layer.tar")
	f, err := os.Create(layer)
	if err != nil {
		t.Fatal(err)
	}
	w := bufio.NewWriter(f)
	if err := writeBenchLayer(w, 24<<20); err != nil {
		t.Fatal(err)
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	if _, err := f.Seek(0, 0); err != nil {
		t.Fatal(err)
	}
	ours, theirs := filepath.Join(dir, "ours"), filepath.Join(dir, "theirs")
	for _, d := range []string{ours, theirs} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := ApplyLayer(context.Background(), ours, f, "generated", discardLog()); err != nil {
		t.Fatal(err)
	}
	f.Close()
	if out, err := exec.Command(gnutar, "-xpf", layer, "-C", theirs).CombinedOutput(); err != nil {
		t.Fatalf("%s: %v\n%s", gnutar, err, out)
	}
	want, got := describeTree(t, theirs), describeTree(t, ours)
	if len(want) < 100 {
		t.Fatalf("GNU tar unpacked only %d entries", len(want))
	}
	for i := range max(len(want), len(got)) {
		var w, g string
		if i < len(want) {
			w = want[i]
		}
		if i < len(got) {
			g = got[i]
		}
		if w != g {
			t.Fatalf("trees differ at entry %d:\nGNU tar:    %s\nApplyLayer: %s", i, w, g)
		}
	}
}

// describeTree lists every entry below root with its metadata; hard links
// are named by the first path of their inode.
func describeTree(t *testing.T, root string) []string {
	var out []string
	first := map[uint64]string{}
	err := filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		var st unix.Stat_t
		if err := unix.Lstat(p, &st); err != nil {
			return err
		}
		line := fmt.Sprintf("%s mode=%o owner=%d:%d mtime=%d.%09d", rel, st.Mode, st.Uid, st.Gid, st.Mtim.Sec, st.Mtim.Nsec)
		switch {
		case rel == ".":
			line = fmt.Sprintf(". mode=%o", st.Mode) // made by the test
		case filepath.Base(rel) == "share":
			// The layer has no entry for share/: it is made when
			// unpacking, and has the time of unpacking.
			line = fmt.Sprintf("%s mode=%o owner=%d:%d", rel, st.Mode, st.Uid, st.Gid)
		}
		switch st.Mode & unix.S_IFMT {
		case unix.S_IFLNK:
			target, err := os.Readlink(p)
			if err != nil {
				return err
			}
			line += " -> " + target
		case unix.S_IFREG:
			if f, ok := first[st.Ino]; ok {
				line += " link of " + f
				break
			}
			first[st.Ino] = rel
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			line += fmt.Sprintf(" size=%d sum=%x", len(b), sha256.Sum256(b))
		}
		out = append(out, line)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// findGNUTar is the path of GNU tar: gtar on FreeBSD, tar on Linux.
func findGNUTar() string {
	for _, name := range []string{"gtar", "tar"} {
		p, err := exec.LookPath(name)
		if err != nil {
			continue
		}
		if out, err := exec.Command(p, "--version").Output(); err == nil && strings.Contains(string(out), "GNU tar") {
			return p
		}
	}
	return ""
}

// benchDir is a new directory for a benchmark to write in. Under
// $RUNJ_GO_BENCH_DIR, when set, it is left for the caller to remove:
// hack/bench-layer.sh removes everything once all runs are done, so that no
// run follows the removal of another's files (see newBenchRoot).
// Otherwise it is a temporary directory, removed when the benchmark ends.
func benchDir(b *testing.B) string {
	parent := os.Getenv("RUNJ_GO_BENCH_DIR")
	if parent == "" {
		return b.TempDir()
	}
	dir, err := os.MkdirTemp(parent, "layer-bench-")
	if err != nil {
		b.Fatal(err)
	}
	return dir
}

// newBenchRoot makes the empty directory iteration i unpacks into and
// flushes what earlier iterations wrote, with the timer stopped. Earlier
// trees stay until the benchmark ends: on ext4, creating files soon after
// removing thousands makes the inode allocator skip the recently freed
// inodes (recently_deleted in fs/ext4/ialloc.c), which would slow the
// next iteration by an amount that varies from run to run.
func newBenchRoot(b *testing.B, dir string, i int) string {
	b.StopTimer()
	defer b.StartTimer()
	dst := filepath.Join(dir, fmt.Sprintf("root%d", i))
	if err := os.Mkdir(dst, 0o755); err != nil {
		b.Fatal(err)
	}
	unix.Sync()
	return dst
}

// benchLayer writes the benchmark layer into the benchmark's directory
// and returns its path and size.
func benchLayer(b *testing.B) (string, int64) {
	b.Helper()
	p := filepath.Join(benchDir(b), "layer.tar")
	f, err := os.Create(p)
	if err != nil {
		b.Fatal(err)
	}
	w := bufio.NewWriterSize(f, 1<<20)
	if err := writeBenchLayer(w, benchLayerBytes); err != nil {
		b.Fatal(err)
	}
	if err := w.Flush(); err != nil {
		b.Fatal(err)
	}
	st, err := f.Stat()
	if err != nil {
		b.Fatal(err)
	}
	if err := f.Close(); err != nil {
		b.Fatal(err)
	}
	return p, st.Size()
}

// writeBenchLayer writes a layer carrying about total bytes of content,
// the same every time: a tree of directories holding many small files,
// fewer medium ones and a few big ones, with symbolic links and hard
// links among them, mostly owned by root.
func writeBenchLayer(w *bufio.Writer, total int64) error {
	rng := rand.New(rand.NewPCG(1, 2))
	// File content is cut from one random block: generating it must not
	// cost more than unpacking it.
	block := make([]byte, 1<<20)
	for i := range block {
		block[i] = byte(rng.Uint32())
	}
	tw := tar.NewWriter(w)
	mtime := time.Unix(1700000000, 0)
	hdr := func(typ byte, name string, mode int64) *tar.Header {
		h := &tar.Header{Typeflag: typ, Name: name, Mode: mode, ModTime: mtime, Format: tar.FormatPAX}
		if rng.IntN(10) == 0 {
			h.Uid, h.Gid = 1001, 1001
		}
		return h
	}
	var written int64
	var files []string
	n := 0
	writeFiles := func(dir string) error {
		if err := tw.WriteHeader(hdr(tar.TypeDir, dir+"/", 0o755)); err != nil {
			return err
		}
		for range 1 + rng.IntN(20) {
			name := fmt.Sprintf("%s/file%05d", dir, n)
			var size int
			switch r := rng.IntN(1000); {
			case r < 900:
				size = rng.IntN(16 << 10)
			case r < 995:
				size = 16<<10 + rng.IntN(112<<10)
			default:
				size = 1<<20 + rng.IntN(7<<20)
			}
			h := hdr(tar.TypeReg, name, 0o644)
			if n%7 == 0 {
				h.Mode = 0o755
			}
			h.Size = int64(size)
			if err := tw.WriteHeader(h); err != nil {
				return err
			}
			for off := rng.IntN(len(block)); size > 0; off = 0 {
				k := min(size, len(block)-off)
				if _, err := tw.Write(block[off : off+k]); err != nil {
					return err
				}
				size -= k
			}
			written += h.Size
			files = append(files, name)
			switch {
			case n%20 == 19:
				if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeSymlink, Name: name + ".link", Linkname: path.Base(name), ModTime: mtime, Mode: 0o777}); err != nil {
					return err
				}
			case n%97 == 96:
				if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeLink, Name: name + ".hard", Linkname: files[rng.IntN(len(files))], ModTime: mtime}); err != nil {
					return err
				}
			}
			n++
		}
		return nil
	}
	// Depth first, as tar writes a tree; share/ is left implicit.
	for i := 0; written < total; i++ {
		top := fmt.Sprintf("usr%02d", i)
		if err := writeFiles(top); err != nil {
			return err
		}
		for j := 0; j < 10 && written < total; j++ {
			lib := fmt.Sprintf("%s/lib%02d", top, j)
			if err := writeFiles(lib); err != nil {
				return err
			}
			if j%3 == 0 {
				if err := writeFiles(lib + "/share/doc"); err != nil {
					return err
				}
			}
		}
	}
	return tw.Close()
}
