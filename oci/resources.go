package oci

import (
	"encoding/json"
	"errors"
	"fmt"

	runc "github.com/containerd/go-runc"
	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/runj-go/runj-go/oci/rctl"
	"github.com/runj-go/runj-go/oci/state"
)

// stepRctl records that the jail has rctl rules, removed on delete: the
// kernel keeps rules by jail name, past the jail's end.
const stepRctl = "rctl"

type rctlStep struct {
	Jail string `json:"jail"`
}

// planRctl computes the rctl rules of a container from linux.resources
// and the org.freebsd.rctl annotation; the annotation's rule for a
// resource and action replaces the one linux.resources gives.
func planRctl(spec *specs.Spec, jail string) (rules []rctl.Rule, unsupported []string, err error) {
	if spec.Linux != nil && spec.Linux.Resources != nil {
		rules, unsupported = rctl.FromLinuxResources(jail, spec.Linux.Resources)
		for i := range unsupported {
			unsupported[i] = "linux.resources." + unsupported[i]
		}
	}
	if v, ok := spec.Annotations[rctl.Annotation]; ok {
		annotated, err := rctl.ParseAnnotation(v)
		if err != nil {
			return nil, nil, fmt.Errorf("config.json: %w", err)
		}
		for _, a := range annotated {
			a.ID = jail
			rules = replaceRule(rules, a)
		}
	}
	return rules, unsupported, nil
}

func replaceRule(rules []rctl.Rule, r rctl.Rule) []rctl.Rule {
	for i, have := range rules {
		if have.Filter() == r.Filter() {
			rules[i] = r
			return rules
		}
	}
	return append(rules, r)
}

// applyRctl adds the planned rules once the jail exists.
func (r *Runtime) applyRctl(c *state.Container, jail string, rules []rctl.Rule) error {
	if len(rules) == 0 {
		return nil
	}
	if err := r.recordRctl(c, jail); err != nil {
		return err
	}
	for _, rule := range rules {
		if err := r.Kernel.RctlAddRule(rule); err != nil {
			return fmt.Errorf("rctl rule %s: %w", rule, err)
		}
	}
	return nil
}

// recordRctl records the rctl step once per container.
func (r *Runtime) recordRctl(c *state.Container, jail string) error {
	for _, s := range c.State().Steps {
		if s.Kind == stepRctl {
			return nil
		}
	}
	return c.AddStep(stepRctl, rctlStep{Jail: jail})
}

func (r *Runtime) undoRctl(step state.Step) error {
	var s rctlStep
	if err := json.Unmarshal(step.Data, &s); err != nil {
		return err
	}
	err := r.Kernel.RctlRemoveRules(rctl.JailFilter(s.Jail))
	// A kernel with racct disabled has no rules to remove: racct is a
	// boot-time setting, so none could have been added. Failing here
	// would leave a container that no delete can remove.
	if errors.Is(err, rctl.ErrRacctDisabled) {
		return nil
	}
	return err
}

// Update applies a LinuxResources, as go-runc sends it to `runc update`,
// as rctl rules on the container's jail. It returns the settings that have
// no FreeBSD counterpart, which the caller reports.
func (r *Runtime) Update(id string, res *specs.LinuxResources) ([]string, error) {
	c, s, err := r.open(id)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	st := c.State()
	if s == StatusStopped || s == StatusCreating {
		return nil, fmt.Errorf("cannot update container %s: %w", id, ErrNotRunning)
	}
	u := rctl.PlanUpdate(st.JailName, res)
	if len(u.Add) > 0 || len(u.Remove) > 0 {
		if err := r.recordRctl(c, st.JailName); err != nil {
			return nil, err
		}
	}
	for _, rule := range u.Remove {
		if err := r.Kernel.RctlRemoveRules(rule.Filter()); err != nil {
			return nil, fmt.Errorf("remove rctl rule %s: %w", rule.Filter(), err)
		}
	}
	for _, rule := range u.Add {
		if err := r.Kernel.RctlAddRule(rule); err != nil {
			return nil, fmt.Errorf("rctl rule %s: %w", rule, err)
		}
	}
	return u.Unsupported, nil
}

// Stats returns the container's resource use and limits from racct, in
// the shape go-runc decodes.
func (r *Runtime) Stats(id string) (*runc.Stats, error) {
	st, err := r.Store.Load(id)
	if err != nil {
		return nil, err
	}
	s, err := status(st)
	if err != nil {
		return nil, err
	}
	if s == StatusStopped || s == StatusCreating {
		return nil, ErrNotRunning
	}
	filter := rctl.JailFilter(st.JailName)
	racct, err := r.Kernel.RctlRacct(filter)
	if err != nil {
		return nil, err
	}
	rules, err := r.Kernel.RctlRules(filter)
	if err != nil {
		return nil, err
	}
	n := rctl.NewStats(racct, rules)
	out := &runc.Stats{}
	out.Cpu.Usage.Total = n.CPUUsageNanos
	out.Memory.Usage = runc.MemoryEntry{Usage: n.MemoryUsage, Limit: n.MemoryLimit}
	out.Memory.Swap = runc.MemoryEntry{Usage: n.SwapUsage, Limit: n.SwapLimit}
	out.Pids = runc.Pids{Current: n.Pids, Limit: n.PidsLimit}
	return out, nil
}

// Running reports whether a container has not stopped.
func (r *Runtime) Running(id string) (bool, error) {
	st, err := r.Store.Load(id)
	if err != nil {
		return false, err
	}
	s, err := status(st)
	return s != StatusStopped, err
}
