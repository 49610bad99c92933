package shim

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	taskAPI "github.com/containerd/containerd/api/runtime/task/v3"
	"github.com/containerd/containerd/api/types"
	"github.com/containerd/containerd/v2/pkg/namespaces"
	"github.com/containerd/containerd/v2/pkg/shim"
	"golang.org/x/sys/unix"
)

// mountTmpfs mounts a tmpfs at dir, detached when the test ends if it is
// still there; it skips the test where mounting is not allowed.
func mountTmpfs(t *testing.T, dir string) {
	t.Helper()
	if err := unix.Mount("tmpfs", dir, "tmpfs", 0, ""); err != nil {
		if err == unix.EPERM {
			t.Skipf("mount tmpfs: %v (the test needs CAP_SYS_ADMIN)", err)
		}
		t.Fatalf("mount tmpfs at %s: %v", dir, err)
	}
	t.Cleanup(func() { unix.Unmount(dir, unix.MNT_DETACH) })
}

// mounted reports whether dir is a mount point (of a file system other
// than its parent's).
func mounted(t *testing.T, dir string) bool {
	t.Helper()
	var st, parent unix.Stat_t
	if err := unix.Stat(dir, &st); err != nil {
		t.Fatal(err)
	}
	if err := unix.Stat(filepath.Dir(dir), &parent); err != nil {
		t.Fatal(err)
	}
	return st.Dev != parent.Dev
}

// A create whose second rootfs mount fails unmounts the first.
func TestCreateUnmountsAPartlyMountedRootfs(t *testing.T) {
	dir, opts := fakeRuntimeOf(t)
	s, _, _, ctx := testService(t)
	bundle := t.TempDir()
	rootfs := filepath.Join(bundle, "rootfs")
	if err := os.Mkdir(rootfs, 0o711); err != nil {
		t.Fatal(err)
	}
	// Skips the test where it cannot mount, and unmounts what a failure
	// of the test leaves.
	mountTmpfs(t, rootfs)
	if err := unix.Unmount(rootfs, 0); err != nil {
		t.Fatal(err)
	}

	_, err := s.Create(ctx, &taskAPI.CreateTaskRequest{ID: "c", Bundle: bundle, Options: opts, Rootfs: []*types.Mount{
		{Type: "tmpfs", Source: "tmpfs"},
		{Type: "runj-go-test-no-such-fs", Source: "none"},
	}})
	if err == nil {
		t.Fatal("Create with a file system the kernel does not know succeeded")
	}
	if mounted(t, rootfs) {
		t.Errorf("rootfs still mounted after the failed create (%v)", err)
	}
	if calls := fakeCalls(t, dir); len(calls) != 0 {
		t.Errorf("runj-go ran after the rootfs failed to mount: %q", calls)
	}
}

// Stop unmounts the rootfs and what is mounted beneath it, deepest first.
func TestStopUnmountsNestedMounts(t *testing.T) {
	_, opts := fakeRuntimeOf(t)
	o, err := runtimeOptions(opts)
	if err != nil {
		t.Fatal(err)
	}
	bundle := t.TempDir()
	if err := writeOptions(bundle, o); err != nil {
		t.Fatal(err)
	}
	rootfs := filepath.Join(bundle, "rootfs")
	dev := filepath.Join(rootfs, "dev")
	if err := os.Mkdir(rootfs, 0o711); err != nil {
		t.Fatal(err)
	}
	mountTmpfs(t, rootfs)
	if err := os.Mkdir(dev, 0o755); err != nil {
		t.Fatal(err)
	}
	mountTmpfs(t, dev)

	ctx := context.WithValue(namespaces.WithNamespace(context.Background(), testNamespace), shim.OptsKey{}, shim.Opts{BundlePath: bundle})
	if _, err := (Manager{}).Stop(ctx, "c"); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	if mounted(t, rootfs) {
		t.Error("rootfs still mounted after Stop")
	}
}
