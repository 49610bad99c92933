package rctl

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// ParseRacct parses what rctl_get_racct(2) returns: "name=value" pairs
// separated by commas, one per resource, such as
// "cputime=3,datasize=102400,...,memoryuse=5242880,...". The kernel prints
// every resource with %jd, dividing the RACCT_IN_MILLIONS ones (cputime,
// wallclock, pcpu) by 10^6, so cputime and wallclock are whole seconds
// (rctl_racct_to_sbuf, sys/kern/kern_rctl.c). Names the package does not
// know are kept, so that a newer kernel's resources still come through; a
// name given twice is an error. An empty string has no values.
func ParseRacct(s string) (map[string]int64, error) {
	out := make(map[string]int64)
	if s == "" {
		return out, nil
	}
	for i, pair := range strings.Split(s, ",") {
		name, value, ok := strings.Cut(pair, "=")
		if !ok || name == "" {
			return nil, fmt.Errorf("racct [%d] %q: %w", i, pair, invalidf("want name=value"))
		}
		if _, dup := out[name]; dup {
			return nil, fmt.Errorf("racct [%d] %q: %w", i, pair, invalidf("%s given twice", name))
		}
		n, err := strconv.ParseInt(value, 10, 64)
		if err != nil || value[0] == '+' {
			return nil, fmt.Errorf("racct [%d] %q: %w", i, pair, invalidf("value %q is not a 64-bit decimal number", value))
		}
		out[name] = n
	}
	return out, nil
}

// Stats is a jail's resource use and limits, in the shape of go-runc's
// Stats (github.com/containerd/go-runc events.go): Cpu.Usage.Total,
// Memory.Usage, Memory.Swap and Pids. A limit is 0 when no rule sets it.
type Stats struct {
	// CPUUsageNanos is the CPU time used by the jail's processes, living
	// and exited, in nanoseconds. The kernel reports whole seconds, so it
	// is a multiple of 10^9.
	CPUUsageNanos uint64
	// MemoryUsage is the resident set size of the jail's processes, in
	// bytes (memoryuse).
	MemoryUsage uint64
	// MemoryLimit is the jail-wide memoryuse:deny amount.
	MemoryLimit uint64
	// SwapUsage is the swap reserved by the jail, in bytes (swapuse).
	SwapUsage uint64
	// SwapLimit is the jail-wide swapuse:deny amount.
	SwapLimit uint64
	// Pids is the number of processes in the jail (maxproc).
	Pids uint64
	// PidsLimit is the jail-wide maxproc:deny amount.
	PidsLimit uint64
}

// NewStats builds Stats from a jail's racct values (ParseRacct of
// GetRacct) and its rules (GetRules). Only jail-wide deny rules are limits:
// a per-process rule bounds each process, not the jail. A missing or
// negative value reads as 0.
func NewStats(racct map[string]int64, rules []Rule) Stats {
	return Stats{
		CPUUsageNanos: secondsToNanos(racct["cputime"]),
		MemoryUsage:   nonNegative(racct["memoryuse"]),
		MemoryLimit:   limitOf(rules, "memoryuse"),
		SwapUsage:     nonNegative(racct["swapuse"]),
		SwapLimit:     limitOf(rules, "swapuse"),
		Pids:          nonNegative(racct["maxproc"]),
		PidsLimit:     limitOf(rules, "maxproc"),
	}
}

func nonNegative(v int64) uint64 {
	if v < 0 {
		return 0
	}
	return uint64(v)
}

func secondsToNanos(s int64) uint64 {
	const nanos = uint64(1e9)
	v := nonNegative(s)
	if v > math.MaxUint64/nanos {
		return math.MaxUint64
	}
	return v * nanos
}

// limitOf returns the smallest jail-wide deny amount for resource, which
// is the one the kernel enforces (rctl_get_limit, sys/kern/kern_rctl.c).
func limitOf(rules []Rule, resource string) uint64 {
	var limit uint64
	found := false
	for _, r := range rules {
		if r.Subject != SubjectJail || r.Resource != resource || r.Action != "deny" || r.per() != SubjectJail {
			continue
		}
		if a := nonNegative(r.Amount); !found || a < limit {
			limit, found = a, true
		}
	}
	return limit
}
