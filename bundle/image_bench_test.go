package bundle

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/runj-go/runj-go/bundle/imagetest"
	"github.com/runj-go/runj-go/rootfs"
)

// benchImageBytes is the content of the benchmark image's one layer.
const benchImageBytes = 64 << 20

// benchEntries is a tree of directories holding files of 0 to 256 KiB,
// the same every time.
func benchEntries(total int) []imagetest.Entry {
	rng := rand.New(rand.NewPCG(3, 4))
	block := make([]byte, 512<<10)
	for i := range block {
		block[i] = byte(rng.Uint32())
	}
	var out []imagetest.Entry
	for d, written := 0, 0; written < total; d++ {
		dir := fmt.Sprintf("usr/lib%03d/", d)
		out = append(out, imagetest.Entry{Name: dir})
		for f := 0; f < 32 && written < total; f++ {
			size := rng.IntN(256 << 10)
			off := rng.IntN(len(block) - size)
			out = append(out, imagetest.Entry{Name: fmt.Sprintf("%sf%02d", dir, f), Body: string(block[off : off+size])})
			written += size
		}
	}
	return append([]imagetest.Entry{{Name: "usr/"}}, out...)
}

// BenchmarkCreateFromImage makes a bundle of an image with one 64 MB
// layer, for each compression, next to rootfs.ApplyLayer applying the
// same uncompressed layer alone: the difference is what reading the image
// layout, verifying digests and decompressing cost.
func BenchmarkCreateFromImage(b *testing.B) {
	entries := benchEntries(benchImageBytes)
	tarball := imagetest.Tar(b, entries...)
	for _, c := range []struct {
		name string
		c    imagetest.Compression
	}{{"tar", imagetest.Uncompressed}, {"tar+gzip", imagetest.Gzip}, {"tar+zstd", imagetest.Zstd}} {
		b.Run(c.name, func(b *testing.B) {
			l := imagetest.New(b, b.TempDir())
			mediaType, blob := imagetest.Compress(b, c.c, tarball)
			layer := imagetest.Layer{Desc: l.Blob(mediaType, blob), DiffID: imagetest.Digest(tarball)}
			l.WriteIndex(l.Image(hostImage("/usr/lib000/f00"), false, layer))
			ref := ImageRef{Layout: l.Dir}
			dir := filepath.Join(b.TempDir(), "bundle")
			b.SetBytes(int64(len(tarball)))
			for b.Loop() {
				b.StopTimer()
				os.RemoveAll(dir)
				b.StartTimer()
				if _, err := CreateFromImage(dir, ref, ImageOptions{}, nullLog()); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
	b.Run("rootfs.ApplyLayer_alone", func(b *testing.B) {
		root := filepath.Join(b.TempDir(), "rootfs")
		b.SetBytes(int64(len(tarball)))
		for b.Loop() {
			b.StopTimer()
			os.RemoveAll(root)
			os.Mkdir(root, 0o755)
			b.StartTimer()
			if err := rootfs.ApplyLayer(context.Background(), root, bytes.NewReader(tarball), "bench", nullLog()); err != nil {
				b.Fatal(err)
			}
		}
	})
}
