package oci

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/runj-go/runj-go/oci/state"
	"github.com/runj-go/runj-go/rootfs"
)

// Undo-log steps of the file systems.
const (
	stepCreated = "created" // directories and files made for mount points
	stepMount   = "mount"
	stepRuleset = "ruleset" // a devfs ruleset made for freebsd.devices
)

type createdStep struct {
	Paths []string `json:"paths"`
}

type mountStep struct {
	Target string `json:"target"`
}

type rulesetStep struct {
	Mountpoint string `json:"mountpoint"`
	Ruleset    uint16 `json:"ruleset"`
}

// firstDevicesRuleset is where the search for a free devfs ruleset for
// freebsd.devices starts, clear of the rulesets administrators number by
// hand (/etc/defaults/devfs.rules uses 1 to 4).
const firstDevicesRuleset = 1000

// mountAll mounts the planned file systems in order, each step recorded
// once done, then exposes freebsd.devices in the devfs mounts.
func (r *Runtime) mountAll(c *state.Container, spec *specs.Spec, plan *Plan) error {
	for i := range plan.Mounts {
		if err := r.prepareMountPoint(c, plan, i); err != nil {
			return err
		}
		m := plan.Mounts[i]
		if len(m.Ignored) > 0 {
			r.Log.WithField("destination", m.Dest).WithField("options", m.Ignored).Debug("ignoring mount options FreeBSD does not have")
		}
		if err := r.Kernel.Mount(m.Request); err != nil {
			return fmt.Errorf("%s: %w", mountName(plan, i), err)
		}
		if err := c.AddStep(stepMount, mountStep{Target: m.Request.Target}); err != nil {
			return err
		}
	}
	if len(plan.Devices) == 0 {
		return nil
	}
	for _, m := range plan.Mounts {
		if base, ok := m.DevfsRuleset(); ok {
			if err := r.exposeDevices(c, m.Request.Target, base, plan.Devices); err != nil {
				return fmt.Errorf("freebsd.devices in the devfs on %s: %w", m.Dest, err)
			}
		}
	}
	return nil
}

// prepareMountPoint resolves the mount point of plan.Mounts[i] in the tree
// the container will see, through the mounts made before it, creates what
// is missing, records what it made, and sets the mount's target to the
// resolved path. Under a read-only root, what is missing on the read-only
// view is created in the root file system beneath it.
func (r *Runtime) prepareMountPoint(c *state.Container, plan *Plan, i int) error {
	m := &plan.Mounts[i]
	if m.ReadOnlyRoot {
		// In the container's state directory, which goes away with it.
		return os.Mkdir(m.Request.Target, 0o700)
	}
	rootfsDir, live := c.State().Rootfs, c.State().Rootfs
	if plan.mountRoot != "" {
		live = plan.mountRoot
	}
	host, created, err := rootfs.Prepare(live, m.Dest, m.File)
	if errors.Is(err, syscall.EROFS) && live != rootfsDir {
		var under string
		if under, created, err = rootfs.Prepare(rootfsDir, m.Dest, m.File); err == nil {
			host = filepath.Join(live, strings.TrimPrefix(under, rootfsDir))
		}
	}
	if err != nil {
		return fmt.Errorf("%s: %w", mountName(plan, i), err)
	}
	m.Request.Target = host
	if len(created) == 0 {
		return nil
	}
	return c.AddStep(stepCreated, createdStep{Paths: created})
}

// mountName names plan.Mounts[i] by where config.json asks for it, as
// planning errors do: "mounts[N] (type on destination)", N counting the
// spec's mounts only.
func mountName(plan *Plan, i int) string {
	m := plan.Mounts[i]
	if m.ReadOnlyRoot {
		return "root.readonly"
	}
	if plan.mountRoot != "" {
		i-- // the read-only root comes first
	}
	return fmt.Sprintf("mounts[%d] (%s on %s)", i, m.Type, m.Dest)
}

// exposeDevices makes a ruleset that acts as base does (a copy of its
// rules, see rootfs.CopyRuleset) and unhides devices, and makes it the
// ruleset of the devfs mounted at mountpoint. Numbers
// are claimed by adding the first rule: another create may have taken the
// free number found.
func (r *Runtime) exposeDevices(c *state.Container, mountpoint string, base uint16, devices []specs.FreeBSDDevice) error {
	baseRules, err := rootfs.CopyRuleset(base, func(rs uint16) ([]rootfs.DevfsRule, error) {
		return r.Kernel.DevfsRules(mountpoint, rs)
	})
	if err != nil {
		return err
	}
	min := uint16(firstDevicesRuleset)
	for {
		rs, err := r.Kernel.DevfsNextFreeRuleset(mountpoint, min)
		if err != nil {
			return err
		}
		rules, err := rootfs.DevicesRules(rs, baseRules, devices)
		if err != nil {
			return err
		}
		err = r.Kernel.DevfsAddRule(mountpoint, rules[0])
		if errors.Is(err, syscall.EEXIST) {
			min = rs + 1
			continue
		}
		if err != nil {
			return err
		}
		if err := c.AddStep(stepRuleset, rulesetStep{Mountpoint: mountpoint, Ruleset: rs}); err != nil {
			return err
		}
		for _, rule := range rules[1:] {
			if err := r.Kernel.DevfsAddRule(mountpoint, rule); err != nil {
				return err
			}
		}
		if err := r.Kernel.DevfsUseRuleset(mountpoint, rs); err != nil {
			return err
		}
		return r.Kernel.DevfsApplyRuleset(mountpoint, rs)
	}
}

// undoFS reverses one file system step; ok is false for other steps.
func (r *Runtime) undoFS(st *state.State, step state.Step) (ok bool, err error) {
	switch step.Kind {
	case stepMount:
		var s mountStep
		if err := json.Unmarshal(step.Data, &s); err != nil {
			return true, err
		}
		return true, r.unmount(s.Target)
	case stepRuleset:
		var s rulesetStep
		if err := json.Unmarshal(step.Data, &s); err != nil {
			return true, err
		}
		return true, r.Kernel.DevfsDeleteRuleset(s.Mountpoint, s.Ruleset)
	case stepCreated:
		var s createdStep
		if err := json.Unmarshal(step.Data, &s); err != nil {
			return true, err
		}
		for i := len(s.Paths) - 1; i >= 0; i-- {
			if err := os.Remove(s.Paths[i]); err != nil && !errors.Is(err, os.ErrNotExist) {
				r.Log.WithField("id", st.ID).Warnf("remove mount point create made: %v", err)
			}
		}
		return true, nil
	}
	return false, nil
}

// unmount unmounts target, forcibly when it is busy. Not being mounted
// (EINVAL) means an earlier delete got this far.
func (r *Runtime) unmount(target string) error {
	err := r.Kernel.Unmount(target, 0)
	if errors.Is(err, syscall.EBUSY) {
		r.Log.WithField("target", target).Debug("busy; unmounting with MNT_FORCE")
		err = r.Kernel.Unmount(target, rootfs.MntForce)
	}
	if errors.Is(err, syscall.EINVAL) {
		return nil
	}
	return err
}
