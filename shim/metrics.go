package shim

import (
	"github.com/containerd/cgroups/v3/cgroup1/stats"
	runc "github.com/containerd/go-runc"
)

// metrics turns runj-go's statistics (go-runc's shape) into the typed
// metrics the task API carries: io.containerd.cgroups.v1.Metrics, which
// `ctr task metrics` and the CRI understand. Only what runj-go measures is
// filled in.
func metrics(s *runc.Stats) *stats.Metrics {
	return &stats.Metrics{
		Pids: &stats.PidsStat{Current: s.Pids.Current, Limit: s.Pids.Limit},
		CPU: &stats.CPUStat{Usage: &stats.CPUUsage{
			Total:  s.Cpu.Usage.Total,
			Kernel: s.Cpu.Usage.Kernel,
			User:   s.Cpu.Usage.User,
			PerCPU: s.Cpu.Usage.Percpu,
		}},
		Memory: &stats.MemoryStat{
			Cache: s.Memory.Cache,
			Usage: &stats.MemoryEntry{Limit: s.Memory.Usage.Limit, Usage: s.Memory.Usage.Usage, Max: s.Memory.Usage.Max, Failcnt: s.Memory.Usage.Failcnt},
			Swap:  &stats.MemoryEntry{Limit: s.Memory.Swap.Limit, Usage: s.Memory.Swap.Usage, Max: s.Memory.Swap.Max, Failcnt: s.Memory.Swap.Failcnt},
		},
	}
}
