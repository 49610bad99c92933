// Package oci implements the OCI runtime lifecycle on FreeBSD jails.
package oci

import (
	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/runj-go/runj-go/bundle"
	"github.com/runj-go/runj-go/jailspec"
	"github.com/runj-go/runj-go/netns"
	"github.com/runj-go/runj-go/rootfs"
)

// Plan is everything create does for a container, computed without
// touching the kernel. `runj-go plan` prints it; create executes it.
type Plan struct {
	Jail    JailPlan       `json:"jail"`
	Mounts  []rootfs.Mount `json:"mounts"`
	Network []netns.Op     `json:"network"`
	Process *ProcessPlan   `json:"process"`

	jail *jailspec.Jail
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

// NewPlan computes the plan for container id from a loaded bundle.
func NewPlan(b *bundle.Bundle, id string) (*Plan, error) {
	j, err := jailspec.Translate(b, id)
	if err != nil {
		return nil, err
	}
	p := &Plan{
		Jail:    JailPlan{Name: j.Name, Parent: j.Parent, Params: j.Params},
		Mounts:  rootfs.Plan(b.Spec, b.Root),
		Network: netns.Plan(j),
		jail:    j,
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

// Warnings are settings in the plan that are valid but probably not what
// the user meant.
func (p *Plan) Warnings() []string { return p.jail.Warnings }
