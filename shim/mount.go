//go:build linux || freebsd

package shim

import "github.com/containerd/containerd/v2/core/mount"

// mountRootfs mounts containerd's rootfs mounts (a bind mount from the
// native snapshotter on Linux, nullfs on FreeBSD) at target.
func mountRootfs(mounts []mount.Mount, target string) error {
	return mount.All(mounts, target)
}
