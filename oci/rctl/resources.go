package rctl

import (
	"fmt"
	"math/bits"
	"slices"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// Update is what a runtime-spec LinuxResources asks of a jail's rules:
// the rules to add, the rules to remove and the settings that have no
// FreeBSD counterpart. Adding a deny rule replaces the jail's deny rule
// for the same resource and per (rctl_rule_add removes the rules that
// differ only by amount, sys/kern/kern_rctl.c), so a changed limit is an
// Add, not a Remove and an Add.
type Update struct {
	// Add holds the rules to add with rctl_add_rule(2).
	Add []Rule
	// Remove holds the rules whose Filter to pass to rctl_remove_rule(2):
	// limits set to -1 ("unlimited").
	Remove []Rule
	// Unsupported holds one note per setting that is not applied, naming
	// it by its JSON path in LinuxResources and saying why.
	Unsupported []string
}

// defaultCPUPeriod is the CFS period Linux uses when none is set
// (cpu.cfs_period_us, 100ms), which a quota without a period is counted
// against.
const defaultCPUPeriod = 100000

// FromLinuxResources maps the limits of a LinuxResources to rules on jail:
// memory.limit to memoryuse:deny, pids.limit to maxproc:deny, and
// cpu.quota/cpu.period to pcpu:deny in percent of one CPU. Every other
// setting is reported in unsupported. It is PlanUpdate without the
// removals, for create, where the jail has no rules yet.
func FromLinuxResources(jail string, r *specs.LinuxResources) (rules []Rule, unsupported []string) {
	u := PlanUpdate(jail, r)
	return u.Add, u.Unsupported
}

// PlanUpdate maps a LinuxResources, as `runj-go update` receives it, to
// rule changes on jail. Unset fields change nothing. For memory.limit and
// cpu.quota, 0 changes nothing (as runc treats it) and -1 removes the
// limit; for pids.limit, -1 (or any negative value) removes the limit and
// 0 is a limit of zero processes, as runtime-spec config-linux.md says.
func PlanUpdate(jail string, r *specs.LinuxResources) Update {
	var p planner
	p.jail = jail
	if r == nil {
		return p.Update
	}
	p.memory(r.Memory)
	p.cpu(r.CPU)
	p.pids(r.Pids)
	p.blockIO(r.BlockIO)
	if len(r.HugepageLimits) > 0 {
		p.unsupported("hugepageLimits", "FreeBSD does not account huge pages per jail")
	}
	if r.Network != nil {
		p.unsupported("network", "FreeBSD has no net_cls or net_prio for jails")
	}
	if len(r.Rdma) > 0 {
		p.unsupported("rdma", "FreeBSD has no RDMA limits for jails")
	}
	if len(r.Unified) > 0 {
		p.unsupported("unified", "cgroup v2 files have no FreeBSD counterpart")
	}
	// A list that only denies (containerd's default spec denies all) asks
	// for what a jail's devfs ruleset already does; only an allow rule
	// goes unapplied.
	if slices.ContainsFunc(r.Devices, func(d specs.LinuxDeviceCgroup) bool { return d.Allow }) {
		p.unsupported("devices", "device access in a jail is set by devfs rules (freebsd.devices), not by cgroup device rules")
	}
	return p.Update
}

type planner struct {
	jail string
	Update
}

func (p *planner) rule(resource string, amount int64) Rule {
	return Rule{Subject: SubjectJail, ID: p.jail, Resource: resource, Action: "deny", Amount: amount}
}

func (p *planner) unsupported(field, why string) {
	p.Unsupported = append(p.Unsupported, field+": not applied: "+why)
}

// limit applies a limit where 0 changes nothing and -1 removes the rule.
func (p *planner) limit(field, resource string, v int64) {
	switch {
	case v > 0:
		p.Add = append(p.Add, p.rule(resource, v))
	case v == -1:
		p.Remove = append(p.Remove, p.rule(resource, 0))
	case v < -1:
		p.unsupported(field, fmt.Sprintf("%d is not a limit (want -1 for unlimited or a positive number)", v))
	}
}

func (p *planner) memory(m *specs.LinuxMemory) {
	if m == nil {
		return
	}
	if m.Limit != nil {
		p.limit("memory.limit", "memoryuse", *m.Limit)
	}
	if m.Reservation != nil {
		p.unsupported("memory.reservation", "rctl has no soft memory limit")
	}
	if m.Swap != nil {
		p.unsupported("memory.swap", "rctl's swapuse limits swap alone, not memory+swap")
	}
	//lint:ignore SA1019 deprecated, but go-runc and old specs still send it.
	if m.Kernel != nil {
		p.unsupported("memory.kernel", "rctl does not account kernel memory")
	}
	if m.KernelTCP != nil {
		p.unsupported("memory.kernelTCP", "rctl does not account kernel memory")
	}
	if m.Swappiness != nil {
		p.unsupported("memory.swappiness", "FreeBSD has no per-jail swappiness")
	}
	if m.DisableOOMKiller != nil {
		p.unsupported("memory.disableOOMKiller", "FreeBSD has no per-jail OOM killer setting")
	}
	if m.UseHierarchy != nil {
		p.unsupported("memory.useHierarchy", "a jail's rules always cover its child jails")
	}
	if m.CheckBeforeUpdate != nil {
		p.unsupported("memory.checkBeforeUpdate", "rctl does not compare a new limit with current use")
	}
}

func (p *planner) pids(l *specs.LinuxPids) {
	if l == nil || l.Limit == nil {
		return
	}
	if v := *l.Limit; v >= 0 {
		p.Add = append(p.Add, p.rule("maxproc", v))
	} else {
		p.Remove = append(p.Remove, p.rule("maxproc", 0))
	}
}

func (p *planner) cpu(c *specs.LinuxCPU) {
	if c == nil {
		return
	}
	p.cpuQuota(c.Quota, c.Period)
	if c.Shares != nil {
		p.unsupported("cpu.shares", "rctl has no relative CPU weight")
	}
	if c.Burst != nil {
		p.unsupported("cpu.burst", "rctl has no CPU burst")
	}
	if c.RealtimeRuntime != nil {
		p.unsupported("cpu.realtimeRuntime", "FreeBSD jails have no realtime CPU budget")
	}
	if c.RealtimePeriod != nil {
		p.unsupported("cpu.realtimePeriod", "FreeBSD jails have no realtime CPU budget")
	}
	if c.Cpus != "" {
		p.unsupported("cpu.cpus", "rctl has no cpuset")
	}
	if c.Mems != "" {
		p.unsupported("cpu.mems", "rctl has no memory nodes")
	}
	if c.Idle != nil {
		p.unsupported("cpu.idle", "FreeBSD jails have no idle scheduling class")
	}
}

// cpuQuota maps quota/period, both in microseconds, to pcpu, the percent of
// one CPU the jail may use (rctl(8) RESOURCES): ceil(quota*100/period), so
// that a quota never rounds down to less CPU than asked for.
func (p *planner) cpuQuota(quota *int64, period *uint64) {
	if quota == nil {
		if period != nil {
			p.unsupported("cpu.period", "a period alone limits nothing (pcpu comes from cpu.quota/cpu.period)")
		}
		return
	}
	q := *quota
	if q <= 0 {
		p.limit("cpu.quota", "pcpu", q)
		return
	}
	per := uint64(defaultCPUPeriod)
	if period != nil && *period != 0 {
		per = *period
	}
	pct, ok := percent(uint64(q), per)
	if !ok || pct > millionsMax {
		p.unsupported("cpu.quota", fmt.Sprintf("%d/%d is more CPU than pcpu can hold", q, per))
		return
	}
	p.Add = append(p.Add, p.rule("pcpu", int64(pct)))
}

// percent returns ceil(q*100/per) and whether it fits in 64 bits.
func percent(q, per uint64) (uint64, bool) {
	hi, lo := bits.Mul64(q, 100)
	if hi >= per {
		return 0, false
	}
	quo, rem := bits.Div64(hi, lo, per)
	if rem != 0 {
		if quo == 1<<64-1 {
			return 0, false
		}
		quo++
	}
	return quo, true
}

func (p *planner) blockIO(b *specs.LinuxBlockIO) {
	if b == nil {
		return
	}
	if b.Weight != nil {
		p.unsupported("blockIO.weight", "rctl has no I/O weight")
	}
	if b.LeafWeight != nil {
		p.unsupported("blockIO.leafWeight", "rctl has no I/O weight")
	}
	if len(b.WeightDevice) > 0 {
		p.unsupported("blockIO.weightDevice", "rctl has no I/O weight")
	}
	perDevice := "rctl limits I/O per jail (readbps, writebps, readiops, writeiops), not per device"
	if len(b.ThrottleReadBpsDevice) > 0 {
		p.unsupported("blockIO.throttleReadBpsDevice", perDevice)
	}
	if len(b.ThrottleWriteBpsDevice) > 0 {
		p.unsupported("blockIO.throttleWriteBpsDevice", perDevice)
	}
	if len(b.ThrottleReadIOPSDevice) > 0 {
		p.unsupported("blockIO.throttleReadIOPSDevice", perDevice)
	}
	if len(b.ThrottleWriteIOPSDevice) > 0 {
		p.unsupported("blockIO.throttleWriteIOPSDevice", perDevice)
	}
}
