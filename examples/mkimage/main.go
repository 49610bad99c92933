// Command mkimage packs one static binary into an OCI image layout
// (image-spec v1.1), the image `make demo` turns into a bundle:
//
//	mkimage -binary hello -o image [-tag latest] [-os freebsd] [-arch amd64] [-port 8080/tcp] [-- ARGS]
//
// The image has one gzip-compressed layer holding the binary at
// /NAME, a minimal /etc/passwd and /etc/group (so that "User": "root"
// resolves), and empty /dev and /tmp; its configuration runs /NAME ARGS as
// root. It uses only the standard library, and nothing is downloaded: it
// shows how little an image is.
package main

import (
	"archive/tar"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"hash"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"
)

// The parts of image-spec's documents that mkimage writes.
type (
	descriptor struct {
		MediaType   string            `json:"mediaType"`
		Digest      string            `json:"digest"`
		Size        int64             `json:"size"`
		Annotations map[string]string `json:"annotations,omitempty"`
		Platform    *platform         `json:"platform,omitempty"`
	}
	platform struct {
		Architecture string `json:"architecture"`
		OS           string `json:"os"`
	}
	imageConfig struct {
		Created      string `json:"created"`
		Architecture string `json:"architecture"`
		OS           string `json:"os"`
		Config       struct {
			User         string              `json:"User"`
			ExposedPorts map[string]struct{} `json:"ExposedPorts,omitempty"`
			Env          []string            `json:"Env"`
			Entrypoint   []string            `json:"Entrypoint"`
			Cmd          []string            `json:"Cmd,omitempty"`
			WorkingDir   string              `json:"WorkingDir"`
			Labels       map[string]string   `json:"Labels,omitempty"`
			StopSignal   string              `json:"StopSignal"`
		} `json:"config"`
		RootFS struct {
			Type    string   `json:"type"`
			DiffIDs []string `json:"diff_ids"`
		} `json:"rootfs"`
		History []history `json:"history"`
	}
	history struct {
		Created   string `json:"created"`
		CreatedBy string `json:"created_by"`
	}
	manifest struct {
		SchemaVersion int          `json:"schemaVersion"`
		MediaType     string       `json:"mediaType"`
		Config        descriptor   `json:"config"`
		Layers        []descriptor `json:"layers"`
	}
	index struct {
		SchemaVersion int          `json:"schemaVersion"`
		MediaType     string       `json:"mediaType"`
		Manifests     []descriptor `json:"manifests"`
	}
)

// options say what to pack.
type options struct {
	binary string   // the program
	out    string   // the layout directory; created, must not hold a layout yet
	tag    string   // org.opencontainers.image.ref.name in index.json
	os     string   // GOOS of the binary
	arch   string   // GOARCH of the binary
	ports  []string // ExposedPorts
	args   []string // Cmd
}

func main() {
	var o options
	flag.StringVar(&o.binary, "binary", "", "the static binary to pack (required)")
	flag.StringVar(&o.out, "o", "", "image layout directory to write (required)")
	flag.StringVar(&o.tag, "tag", "latest", "tag of the image in index.json")
	flag.StringVar(&o.os, "os", "freebsd", "operating system of the binary")
	flag.StringVar(&o.arch, "arch", runtime.GOARCH, "architecture of the binary")
	ports := flag.String("port", "", "comma-separated ports the image exposes, e.g. 8080/tcp")
	flag.Parse()
	o.args = flag.Args()
	if *ports != "" {
		o.ports = strings.Split(*ports, ",")
	}
	if o.binary == "" || o.out == "" {
		fmt.Fprintln(os.Stderr, "mkimage: -binary and -o are required")
		flag.Usage()
		os.Exit(2)
	}
	d, err := pack(o)
	if err != nil {
		fmt.Fprintln(os.Stderr, "mkimage:", err)
		os.Exit(1)
	}
	fmt.Printf("image %s:%s: manifest %s (%s/%s)\n", o.out, o.tag, d.Digest, o.os, o.arch)
}

// pack writes the image layout and returns the manifest's descriptor.
func pack(o options) (descriptor, error) {
	st, err := os.Stat(o.binary)
	if err != nil {
		return descriptor{}, err
	}
	if _, err := os.Stat(filepath.Join(o.out, "index.json")); err == nil {
		return descriptor{}, fmt.Errorf("%s already holds an image layout", o.out)
	}
	if err := os.MkdirAll(filepath.Join(o.out, "blobs", "sha256"), 0o755); err != nil {
		return descriptor{}, err
	}
	// The binary's time is the image's: packing the same binary again makes
	// the same image.
	created := st.ModTime().UTC().Truncate(time.Second)
	name := filepath.Base(o.binary)

	layer, diffID, err := writeLayer(o.out, o.binary, name, created)
	if err != nil {
		return descriptor{}, err
	}
	var cfg imageConfig
	cfg.Created = created.Format(time.RFC3339)
	cfg.OS, cfg.Architecture = o.os, o.arch
	c := &cfg.Config
	c.User = "root"
	c.Entrypoint = []string{"/" + name}
	c.Cmd = o.args
	c.Env = []string{"PATH=/"}
	c.WorkingDir = "/"
	c.StopSignal = "SIGTERM"
	c.Labels = map[string]string{"org.opencontainers.image.title": name}
	if len(o.ports) > 0 {
		c.ExposedPorts = map[string]struct{}{}
		for _, p := range o.ports {
			c.ExposedPorts[p] = struct{}{}
		}
	}
	cfg.RootFS.Type = "layers"
	cfg.RootFS.DiffIDs = []string{diffID}
	cfg.History = []history{{Created: cfg.Created, CreatedBy: "mkimage -binary " + name}}
	config, err := writeJSON(o.out, "application/vnd.oci.image.config.v1+json", cfg)
	if err != nil {
		return descriptor{}, err
	}
	m, err := writeJSON(o.out, "application/vnd.oci.image.manifest.v1+json", manifest{
		SchemaVersion: 2,
		MediaType:     "application/vnd.oci.image.manifest.v1+json",
		Config:        config,
		Layers:        []descriptor{layer},
	})
	if err != nil {
		return descriptor{}, err
	}
	m.Platform = &platform{OS: o.os, Architecture: o.arch}
	m.Annotations = map[string]string{"org.opencontainers.image.ref.name": o.tag}
	if err := writeFile(o.out, "oci-layout", []byte(`{"imageLayoutVersion":"1.0.0"}`)); err != nil {
		return descriptor{}, err
	}
	idx, err := json.Marshal(index{SchemaVersion: 2, MediaType: "application/vnd.oci.image.index.v1+json", Manifests: []descriptor{m}})
	if err != nil {
		return descriptor{}, err
	}
	return m, writeFile(o.out, "index.json", idx)
}

// writeLayer writes the gzip-compressed layer blob and returns its
// descriptor and its diff_id, the digest of the uncompressed tar stream.
func writeLayer(dir, binary, name string, mtime time.Time) (descriptor, string, error) {
	b, err := newBlob(dir)
	if err != nil {
		return descriptor{}, "", err
	}
	defer b.discard()
	zw := gzip.NewWriter(b)
	diff := sha256.New()
	tw := tar.NewWriter(io.MultiWriter(zw, diff))
	dir0 := func(name string, mode int64) error {
		return tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: name, Mode: mode, ModTime: mtime})
	}
	file := func(name string, mode int64, r io.Reader, size int64) error {
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: mode, Size: size, ModTime: mtime}); err != nil {
			return err
		}
		_, err := io.Copy(tw, r)
		return err
	}
	text := func(name, s string) error { return file(name, 0o644, strings.NewReader(s), int64(len(s))) }
	f, err := os.Open(binary)
	if err != nil {
		return descriptor{}, "", err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return descriptor{}, "", err
	}
	err = errors.Join(
		dir0("dev/", 0o555),
		dir0("etc/", 0o755),
		text("etc/passwd", "root:*:0:0:Charlie &:/root:/bin/sh\n"),
		text("etc/group", "wheel:*:0:root\n"),
		dir0("tmp/", 0o1777),
		file(name, 0o755, f, st.Size()),
		tw.Close(),
		zw.Close(),
	)
	if err != nil {
		return descriptor{}, "", err
	}
	d, err := b.commit("application/vnd.oci.image.layer.v1.tar+gzip")
	return d, "sha256:" + hex.EncodeToString(diff.Sum(nil)), err
}

// blob is a blob being written: to a temporary file, hashed on the way,
// and renamed to its digest when complete.
type blob struct {
	dir  string
	f    *os.File
	h    hash.Hash
	size int64
}

func newBlob(dir string) (*blob, error) {
	f, err := os.CreateTemp(filepath.Join(dir, "blobs", "sha256"), ".tmp-")
	if err != nil {
		return nil, err
	}
	return &blob{dir: dir, f: f, h: sha256.New()}, nil
}

func (b *blob) Write(p []byte) (int, error) {
	n, err := b.f.Write(p)
	b.h.Write(p[:n])
	b.size += int64(n)
	return n, err
}

func (b *blob) commit(mediaType string) (descriptor, error) {
	sum := hex.EncodeToString(b.h.Sum(nil))
	if err := b.f.Close(); err != nil {
		return descriptor{}, err
	}
	if err := os.Rename(b.f.Name(), filepath.Join(b.dir, "blobs", "sha256", sum)); err != nil {
		return descriptor{}, err
	}
	return descriptor{MediaType: mediaType, Digest: "sha256:" + sum, Size: b.size}, nil
}

// discard removes the temporary file unless commit renamed it.
func (b *blob) discard() {
	b.f.Close()
	os.Remove(b.f.Name())
}

func writeJSON(dir, mediaType string, v any) (descriptor, error) {
	data, err := json.Marshal(v)
	if err != nil {
		return descriptor{}, err
	}
	b, err := newBlob(dir)
	if err != nil {
		return descriptor{}, err
	}
	defer b.discard()
	if _, err := b.Write(data); err != nil {
		return descriptor{}, err
	}
	return b.commit(mediaType)
}

func writeFile(dir, name string, data []byte) error {
	return os.WriteFile(filepath.Join(dir, name), data, 0o644)
}
