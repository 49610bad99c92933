// Package oci implements the OCI runtime lifecycle on FreeBSD jails.
package oci

import (
	"fmt"
	"path/filepath"
	"slices"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/runj-go/runj-go/bundle"
	"github.com/runj-go/runj-go/jailspec"
	"github.com/runj-go/runj-go/netns"
	"github.com/runj-go/runj-go/oci/rctl"
	"github.com/runj-go/runj-go/rootfs"
)

// Plan is everything create does for a container, computed without
// touching the kernel. `runj-go plan` prints it; create executes it.
type Plan struct {
	Jail    JailPlan       `json:"jail"`
	Mounts  []rootfs.Mount `json:"mounts"`
	Network []netns.Op     `json:"network"`
	// Rctl are the rctl(8) rules on the jail.
	Rctl []string `json:"rctl,omitempty"`
	// Devices are unhidden, with their modes, in every devfs mount.
	Devices []specs.FreeBSDDevice `json:"devices,omitempty"`
	Process *ProcessPlan          `json:"process"`

	jail *jailspec.Jail
	// rules are the rctl rules, and unsupported the resource settings
	// without a FreeBSD counterpart.
	rules       []rctl.Rule
	unsupported []string
	// mountRoot is where the read-only view of the root is mounted, ""
	// without one.
	mountRoot string
}

// JailPlan is the jail create makes.
type JailPlan struct {
	Name   string          `json:"name"`
	Parent string          `json:"parent"`
	Params jailspec.Params `json:"params"`
}

// ProcessPlan is the container process init prepares.
type ProcessPlan struct {
	Args            []string            `json:"args"`
	Env             []string            `json:"env"`
	Cwd             string              `json:"cwd"`
	User            specs.User          `json:"user"`
	Terminal        bool                `json:"terminal"`
	Rlimits         []specs.POSIXRlimit `json:"rlimits,omitempty"`
	NoNewPrivileges bool                `json:"noNewPrivileges"`
}

// NewPlan computes the plan for container id from a loaded bundle, with
// the runtime's state under stateRoot (a read-only root is mounted there).
func NewPlan(b *bundle.Bundle, id, stateRoot string) (*Plan, error) {
	j, err := jailspec.Translate(b, id)
	if err != nil {
		return nil, err
	}
	layout := rootfs.Layout{Bundle: b.Path, Root: b.Root}
	var mounts []rootfs.Mount
	if b.Spec.Root.Readonly {
		layout.MountRoot = filepath.Join(stateRoot, id, "root")
		ro, err := rootfs.ReadOnlyRoot(layout)
		if err != nil {
			return nil, fmt.Errorf("config.json: root.readonly: %w", err)
		}
		mounts = append(mounts, ro)
		setPath(j.Params, layout.MountRoot)
	}
	specMounts, err := rootfs.Plan(b.Spec, layout)
	if err != nil {
		return nil, err
	}
	mounts = append(mounts, specMounts...)
	j.Params = append(j.Params, jailspec.IntParam("devfs_ruleset", int32(jailDevfsRuleset(mounts))))
	p := &Plan{
		Jail:      JailPlan{Name: j.Name, Parent: j.Parent, Params: j.Params},
		Mounts:    mounts,
		Network:   netns.Plan(j),
		jail:      j,
		mountRoot: layout.MountRoot,
	}
	if b.Spec.FreeBSD != nil && len(b.Spec.FreeBSD.Devices) > 0 {
		p.Devices = b.Spec.FreeBSD.Devices
		if !slices.ContainsFunc(mounts, func(m rootfs.Mount) bool { return m.Type == "devfs" }) {
			return nil, bundle.Fieldf("freebsd.devices", "devices are exposed through devfs, but mounts has no devfs mount")
		}
	}
	if p.rules, p.unsupported, err = planRctl(b.Spec, j.Name); err != nil {
		return nil, err
	}
	for _, rule := range p.rules {
		p.Rctl = append(p.Rctl, rule.String())
	}
	if sp := b.Spec.Process; sp != nil {
		env := sp.Env
		if env == nil {
			env = []string{}
		}
		p.Process = &ProcessPlan{
			Args: sp.Args, Env: env, Cwd: sp.Cwd, User: sp.User,
			Terminal: sp.Terminal, Rlimits: sp.Rlimits, NoNewPrivileges: sp.NoNewPrivileges,
		}
	}
	return p, nil
}

// defaultDevfsRuleset is devfs.rules' devfsrules_jail, the ruleset of a
// devfs mount that names none (rootfs.Plan) and of the jail's own.
const defaultDevfsRuleset = 4

// jailDevfsRuleset is the jail's devfs_ruleset parameter: the ruleset the
// kernel imposes on a devfs that processes in the jail mount themselves
// (with allow.mount.devfs; sys/fs/devfs/devfs_vfsops.c: devfs_mount takes
// the jail's pr_devfs_rsnum). The kernel's default, 0, is no ruleset: the
// whole of /dev. It is the ruleset of the container's devfs on /dev, or
// devfsrules_jail.
func jailDevfsRuleset(mounts []rootfs.Mount) uint16 {
	for _, m := range mounts {
		if rs, ok := m.DevfsRuleset(); ok && m.Dest == "/dev" {
			return rs
		}
	}
	return defaultDevfsRuleset
}

// setPath points the jail's path parameter at path.
func setPath(ps jailspec.Params, path string) {
	for i := range ps {
		if ps[i].Name == "path" {
			ps[i].Str = path
		}
	}
}

// Warnings are settings in the plan that are valid but probably not what
// the user meant.
func (p *Plan) Warnings() []string {
	w := append([]string{}, p.jail.Warnings...)
	return append(w, p.unsupported...)
}
