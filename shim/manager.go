//go:build linux || freebsd

package shim

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"

	bootapi "github.com/containerd/containerd/api/runtime/bootstrap/v1"
	"github.com/containerd/containerd/api/types"
	"github.com/containerd/containerd/v2/cmd/containerd-shim-runc-v2/process"
	"github.com/containerd/containerd/v2/core/mount"
	"github.com/containerd/containerd/v2/defaults"
	"github.com/containerd/containerd/v2/pkg/namespaces"
	"github.com/containerd/containerd/v2/pkg/shim"
	"github.com/containerd/errdefs"
	runc "github.com/containerd/go-runc"
	"github.com/containerd/log"
)

// RuntimeName is the runtime containerd knows the shim by.
const RuntimeName = "io.containerd.runj-go.v1"

// exitFile records the init's exit in the bundle for Stop, which runs in a
// fresh shim process after the serving one is gone.
const exitFile = "runj-go-exit.json"

type exitRecord struct {
	Pid    int       `json:"pid"`
	Status int       `json:"status"`
	At     time.Time `json:"at"`
}

// Manager starts and cleans up shim processes (containerd's bootstrap
// protocol, one shim per container).
type Manager struct{}

var _ shim.Shim = Manager{}

// Name is the runtime name.
func (Manager) Name() string { return RuntimeName }

// Start runs the serving shim in the background on a new socket and
// returns the socket's address (the "start" action).
func (Manager) Start(ctx context.Context, opts *bootapi.BootstrapParams) (_ *bootapi.BootstrapResult, retErr error) {
	ns, err := namespaces.NamespaceRequired(ctx)
	if err != nil {
		return nil, err
	}
	id := opts.GetInstanceID()
	socketDir := opts.GetSocketDir()
	if socketDir == "" {
		socketDir = filepath.Join(defaults.DefaultStateDir, "s")
	}
	result := &bootapi.BootstrapResult{Version: 3, Protocol: "ttrpc"}
	address, err := shim.CreateSocketAddress(ctx, socketDir, opts.GetContainerdGrpcAddress(), id, false)
	if err != nil {
		return nil, err
	}
	socket, err := shim.NewSocket(address)
	if err != nil {
		if !shim.SocketEaddrinuse(err) {
			return nil, fmt.Errorf("create shim socket: %w", err)
		}
		if shim.CanConnect(address) {
			result.Address = address
			return result, nil
		}
		if err := shim.RemoveSocket(address); err != nil {
			return nil, fmt.Errorf("remove stale shim socket: %w", err)
		}
		if socket, err = shim.NewSocket(address); err != nil {
			return nil, fmt.Errorf("create shim socket: %w", err)
		}
	}
	defer func() {
		if retErr != nil {
			socket.Close()
			_ = shim.RemoveSocket(address)
		}
	}()
	f, err := socket.File()
	if err != nil {
		return nil, err
	}
	defer f.Close()

	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	args := []string{"-namespace", ns, "-id", id, "-address", opts.GetContainerdGrpcAddress()}
	if opts.GetLogLevel() <= bootapi.LogLevel_LOG_LEVEL_DEBUG {
		args = append(args, "-debug")
	}
	cmd := exec.Command(self, args...)
	cmd.Dir, _ = os.Getwd() // the bundle
	cmd.Env = os.Environ()
	cmd.ExtraFiles = []*os.File{f} // descriptor 3: the socket to serve
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	go cmd.Wait()
	// The serving shim owns the socket now: closing the listener here
	// must not unlink it.
	socket.SetUnlinkOnClose(false)
	socket.Close()
	result.Address = address
	return result, nil
}

// Stop cleans up after a shim that is gone (the "delete" action): `runj-go
// delete --force` with the runtime options the container was created
// with, the rootfs unmounted, and the init's exit as the serving shim
// recorded it.
func (Manager) Stop(ctx context.Context, id string) (shim.StopStatus, error) {
	bundle, err := deleteBundle(ctx)
	if err != nil {
		return shim.StopStatus{}, err
	}
	ns, err := namespaces.NamespaceRequired(ctx)
	if err != nil {
		return shim.StopStatus{}, err
	}
	opts, err := readOptions(bundle)
	if err != nil {
		return shim.StopStatus{}, err
	}
	r := newRunc(ns, bundle, opts)
	if err := r.Delete(ctx, id, &runc.DeleteOpts{Force: true}); err != nil {
		log.G(ctx).WithError(err).Warn("runj-go delete --force")
	}
	// Deepest first: what runj-go mounted beneath the rootfs, if its
	// delete did not get that far, keeps the rootfs busy.
	if err := mount.UnmountRecursive(filepath.Join(bundle, "rootfs"), 0); err != nil {
		log.G(ctx).WithError(err).Warn("unmount rootfs")
	}
	if b, err := os.ReadFile(filepath.Join(bundle, exitFile)); err == nil {
		var e exitRecord
		if err := json.Unmarshal(b, &e); err == nil {
			return shim.StopStatus{Pid: e.Pid, ExitStatus: e.Status, ExitedAt: e.At}, nil
		}
	}
	pid, err := runc.ReadPidFile(filepath.Join(bundle, process.InitPidFile))
	if err != nil {
		pid = 0
	}
	return shim.StopStatus{Pid: pid, ExitStatus: 128 + int(syscall.SIGKILL), ExitedAt: time.Now()}, nil
}

// deleteBundle is the bundle of the "delete" action. containerd names it
// with -bundle (shim.Opts.BundlePath) and, on Linux but not on FreeBSD,
// also runs the action in it (core/runtime/v2/binary.go, Delete).
func deleteBundle(ctx context.Context) (string, error) {
	if o, ok := ctx.Value(shim.OptsKey{}).(shim.Opts); ok && o.BundlePath != "" {
		return o.BundlePath, nil
	}
	return os.Getwd()
}

// Info names the runtime.
func (Manager) Info(ctx context.Context, optionsR io.Reader) (*types.RuntimeInfo, error) {
	if _, err := exec.LookPath(runtimeBinary()); err != nil {
		return nil, fmt.Errorf("look up %s: %w", RuntimeBinaryName, errors.Join(err, errdefs.ErrNotFound))
	}
	return &types.RuntimeInfo{Name: RuntimeName}, nil
}

// writeExit records the init's exit for Stop.
func writeExit(bundle string, e exitRecord) error {
	b, err := json.Marshal(e)
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(bundle, exitFile), b, 0o600)
}
