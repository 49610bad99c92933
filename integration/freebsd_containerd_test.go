//go:build integration && freebsd

package integration

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// TestContainerdShim is the containerd flow on a real FreeBSD host: a
// containerd of the test's own (temporary root, state, socket, the native
// snapshotter) running containers through containerd-shim-runj-go-v1 and
// the runj-go under test, driven with ctr. containerd's rootfs mounts are
// nullfs; ctr's default FreeBSD spec mounts devfs and fdescfs.
//
//	RUNJ_GO_CONTAINERD, RUNJ_GO_CTR  containerd and ctr (v2) for FreeBSD
//	RUNJ_GO_SHIM                     containerd-shim-runj-go-v1
//
// The test is skipped without them.
func TestContainerdShim(t *testing.T) {
	s := newSuite(t)
	bins := map[string]string{}
	for _, env := range []string{"RUNJ_GO_CONTAINERD", "RUNJ_GO_CTR", "RUNJ_GO_SHIM"} {
		v := os.Getenv(env)
		if v == "" {
			t.Skipf("the containerd test needs %s (and RUNJ_GO_CONTAINERD, RUNJ_GO_CTR, RUNJ_GO_SHIM)", env)
		}
		bins[env] = v
	}
	c := fbsdStartContainerd(t, s, bins)
	image := "docker.io/runj-go/ctrhelper:freebsd"
	c.ok("images", "import", "--local", "--snapshotter", "native", "--platform", "freebsd/"+runtime.GOARCH, c.imageTar(t, image))
	run := func(args ...string) []string {
		return append([]string{"run", "--runtime", "io.containerd.runj-go.v1", "--snapshotter", "native"}, args...)
	}

	t.Run("run_to_completion", func(t *testing.T) {
		c := c.in(t)
		out, code := c.ctr(run("--rm", image, "hello", helperInJail, "echo", "hello", "jail")...)
		if code != 0 || strings.TrimSpace(out) != "hello jail" {
			t.Errorf("ctr run hello: exit %d, %q", code, out)
		}
		out, code = c.ctr(run("--rm", image, "exit7", helperInJail, "exit", "7")...)
		if code != 7 {
			t.Errorf("ctr run exit7: exit %d (%s), want 7", code, out)
		}
	})
	t.Run("lifecycle", func(t *testing.T) {
		c := c.in(t)
		c.ok(run("-d", image, "svc", helperInJail, "sleep")...)
		c.waitStatus(t, "svc", "RUNNING")
		// The rootfs is containerd's snapshot, nullfs-mounted into the bundle.
		bundle := filepath.Join(c.dir, "state", "io.containerd.runtime.v2.task", "ctrd", "svc")
		if m := mountsUnder(t, filepath.Join(bundle, "rootfs")); len(m) == 0 {
			t.Errorf("no mount on %s/rootfs", bundle)
		}
		if out := c.ok("task", "exec", "--exec-id", "e1", "svc", helperInJail, "echo", "exec", "ok"); strings.TrimSpace(out) != "exec ok" {
			t.Errorf("ctr task exec: %q", out)
		}
		pid := c.pid("svc")
		if ps := c.ok("task", "ps", "svc"); !slices.Contains(strings.Fields(ps), strconv.Itoa(pid)) {
			t.Errorf("ctr task ps = %q, want pid %d", ps, pid)
		}
		if m := c.ok("task", "metrics", "svc"); !strings.Contains(m, "pids.current") {
			t.Errorf("ctr task metrics = %q", m)
		}
		c.ok("task", "pause", "svc")
		c.waitStatus(t, "svc", "PAUSED")
		c.ok("task", "resume", "svc")
		c.waitStatus(t, "svc", "RUNNING")
		c.ok("task", "kill", "--all", "--signal", "SIGKILL", "svc")
		c.waitStatus(t, "svc", "STOPPED")
		c.ok("task", "delete", "svc")
		c.ok("container", "delete", "svc")
		if m := mountsUnder(t, filepath.Join(bundle, "rootfs")); len(m) != 0 {
			t.Errorf("mounts left after delete: %q", m)
		}
		checkNoJail(t, "svc")
	})
	t.Run("failed_create", func(t *testing.T) {
		c := c.in(t)
		out, code := c.ctr(run("--mount", "type=nosuchfs,src=none,dst=/mnt", image, "bad", helperInJail, "echo")...)
		if code == 0 || !strings.Contains(out, "OCI runtime create failed") || !strings.Contains(out, "nosuchfs") {
			t.Errorf("ctr run with an unknown file system: exit %d, %q; want runj-go's message", code, out)
		}
		c.ctr("container", "delete", "bad")
	})
}

type fbsdCtrd struct {
	t       *testing.T
	dir     string
	address string
	ctrBin  string
}

func fbsdStartContainerd(t *testing.T, s *suite, bins map[string]string) *fbsdCtrd {
	dir, err := os.MkdirTemp("", "rjg-ctrd-")
	if err != nil {
		t.Fatal(err)
	}
	c := &fbsdCtrd{t: t, dir: dir, address: filepath.Join(dir, "c.sock"), ctrBin: bins["RUNJ_GO_CTR"]}
	bin := filepath.Join(dir, "bin")
	for name, src := range map[string]string{"containerd-shim-runj-go-v1": bins["RUNJ_GO_SHIM"], "runj-go": s.bin} {
		data, err := os.ReadFile(src)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.MkdirAll(bin, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(bin, name), data, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	config := fmt.Sprintf("version = 3\nroot = %q\nstate = %q\ndisabled_plugins = [\"io.containerd.grpc.v1.cri\", \"io.containerd.cri.v1.images\", \"io.containerd.cri.v1.runtime\"]\n[grpc]\n  address = %q\n[ttrpc]\n  address = %q\n",
		filepath.Join(dir, "root"), filepath.Join(dir, "state"), c.address, c.address+".ttrpc")
	if err := os.WriteFile(filepath.Join(dir, "config.toml"), []byte(config), 0o644); err != nil {
		t.Fatal(err)
	}
	logf, err := os.Create(filepath.Join(dir, "containerd.log"))
	if err != nil {
		t.Fatal(err)
	}
	d := exec.Command(bins["RUNJ_GO_CONTAINERD"], "--config", filepath.Join(dir, "config.toml"))
	d.Stdout, d.Stderr = logf, logf
	d.Env = append(os.Environ(), "PATH="+bin+":"+os.Getenv("PATH"), "RUNJ_GO_SHIM_ROOT="+filepath.Join(dir, "runj-go"))
	if err := d.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { d.Wait(); logf.Close(); close(done) }()
	t.Cleanup(func() {
		for _, id := range strings.Fields(c.quiet("container", "ls", "-q")) {
			c.quiet("task", "kill", "--all", "--signal", "SIGKILL", id)
			c.quiet("task", "delete", "--force", id)
			c.quiet("container", "delete", id)
		}
		d.Process.Signal(syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			d.Process.Kill()
			<-done
		}
		for _, m := range mountsUnder(t, dir) {
			unix.Unmount(m, unix.MNT_FORCE)
		}
		if t.Failed() {
			if b, err := os.ReadFile(filepath.Join(dir, "containerd.log")); err == nil {
				t.Logf("containerd log:\n%s", b)
			}
		}
		os.RemoveAll(dir)
	})
	eventually(t, "containerd to answer", func() (bool, string) {
		out, code := c.ctr("version")
		return code == 0, out
	})
	return c
}

// in is c for the subtest t.
func (c *fbsdCtrd) in(t *testing.T) *fbsdCtrd {
	d := *c
	d.t = t
	return &d
}

func (c *fbsdCtrd) ctr(args ...string) (string, int) {
	ctx, cancel := context.WithTimeout(context.Background(), cmdTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, c.ctrBin, append([]string{"--address", c.address, "--namespace", "ctrd"}, args...)...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	if err == nil {
		return stdout.String(), 0
	}
	code := -1
	if x, ok := err.(*exec.ExitError); ok {
		code = x.ExitCode()
	}
	return stdout.String() + stderr.String(), code
}

func (c *fbsdCtrd) quiet(args ...string) string {
	out, _ := c.ctr(args...)
	return out
}

func (c *fbsdCtrd) ok(args ...string) string {
	c.t.Helper()
	out, code := c.ctr(args...)
	if code != 0 {
		c.t.Fatalf("ctr %s: exit %d\n%s", strings.Join(args, " "), code, out)
	}
	return out
}

func (c *fbsdCtrd) status(id string) (string, int) {
	for _, line := range strings.Split(c.quiet("task", "ls"), "\n") {
		if f := strings.Fields(line); len(f) == 3 && f[0] == id {
			pid, _ := strconv.Atoi(f[1])
			return f[2], pid
		}
	}
	return "", 0
}

func (c *fbsdCtrd) waitStatus(t *testing.T, id, want string) {
	t.Helper()
	eventually(t, id+" "+want, func() (bool, string) {
		st, _ := c.status(id)
		return st == want, st
	})
}

func (c *fbsdCtrd) pid(id string) int {
	_, pid := c.status(id)
	return pid
}

// imageTar writes an OCI archive with one layer (bin/ctrhelper, dev, tmp)
// for freebsd and this architecture, named name.
func (c *fbsdCtrd) imageTar(t *testing.T, name string) string {
	root := filepath.Join(c.dir, "image-root")
	makeRootfs(t, root)
	helper, err := os.ReadFile(filepath.Join(root, "bin", "ctrhelper"))
	if err != nil {
		t.Fatal(err)
	}
	var layer bytes.Buffer
	tw := tar.NewWriter(&layer)
	for _, h := range []*tar.Header{
		{Name: "bin/", Typeflag: tar.TypeDir, Mode: 0o755},
		{Name: "dev/", Typeflag: tar.TypeDir, Mode: 0o755},
		{Name: "tmp/", Typeflag: tar.TypeDir, Mode: 0o1777},
		{Name: "bin/ctrhelper", Typeflag: tar.TypeReg, Mode: 0o755, Size: int64(len(helper))},
	} {
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if h.Typeflag == tar.TypeReg {
			tw.Write(helper)
		}
	}
	tw.Close()
	blobs := map[string][]byte{}
	add := func(b []byte) (string, int) {
		d := fmt.Sprintf("sha256:%x", sha256.Sum256(b))
		blobs[d] = b
		return d, len(b)
	}
	ld, ls := add(layer.Bytes())
	cfg, _ := json.Marshal(map[string]any{"architecture": runtime.GOARCH, "os": "freebsd",
		"config": map[string]any{"Env": []string{"PATH=/bin"}, "Cmd": []string{helperInJail, "echo", "hi"}},
		"rootfs": map[string]any{"type": "layers", "diff_ids": []string{ld}}})
	cd, cs := add(cfg)
	man, _ := json.Marshal(map[string]any{"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
		"config": map[string]any{"mediaType": "application/vnd.oci.image.config.v1+json", "digest": cd, "size": cs},
		"layers": []any{map[string]any{"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": ld, "size": ls}}})
	md, ms := add(man)
	index, _ := json.Marshal(map[string]any{"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
		"manifests": []any{map[string]any{"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": md, "size": ms,
			"platform":    map[string]string{"os": "freebsd", "architecture": runtime.GOARCH},
			"annotations": map[string]string{"io.containerd.image.name": name}}}})
	path := filepath.Join(c.dir, "image.tar")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out := tar.NewWriter(f)
	write := func(n string, b []byte) {
		out.WriteHeader(&tar.Header{Name: n, Mode: 0o644, Size: int64(len(b)), Typeflag: tar.TypeReg})
		out.Write(b)
	}
	write("oci-layout", []byte(`{"imageLayoutVersion":"1.0.0"}`))
	write("index.json", index)
	for d, b := range blobs {
		write("blobs/sha256/"+strings.TrimPrefix(d, "sha256:"), b)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}
