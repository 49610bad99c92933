package rctl

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

func i64(v int64) *int64   { return &v }
func u64(v uint64) *uint64 { return &v }
func u16(v uint16) *uint16 { return &v }
func boolp(v bool) *bool   { return &v }
func deny(res string, amount int64) Rule {
	return Rule{Subject: "jail", ID: "web", Resource: res, Action: "deny", Amount: amount}
}

func TestPlanUpdate(t *testing.T) {
	tests := []struct {
		name        string
		res         *specs.LinuxResources
		add, remove []Rule
		unsupported []string // prefixes, in order
	}{
		{name: "nil"},
		{name: "empty", res: &specs.LinuxResources{}},
		{name: "empty_sections", res: &specs.LinuxResources{Memory: &specs.LinuxMemory{}, CPU: &specs.LinuxCPU{}, Pids: &specs.LinuxPids{}, BlockIO: &specs.LinuxBlockIO{}}},

		{name: "memory_limit", res: &specs.LinuxResources{Memory: &specs.LinuxMemory{Limit: i64(512 << 20)}}, add: []Rule{deny("memoryuse", 512<<20)}},
		{name: "memory_limit_unlimited", res: &specs.LinuxResources{Memory: &specs.LinuxMemory{Limit: i64(-1)}}, remove: []Rule{deny("memoryuse", 0)}},
		{name: "memory_limit_zero_changes_nothing", res: &specs.LinuxResources{Memory: &specs.LinuxMemory{Limit: i64(0)}}},
		{name: "memory_limit_invalid", res: &specs.LinuxResources{Memory: &specs.LinuxMemory{Limit: i64(-2)}}, unsupported: []string{"memory.limit: not applied: -2 is not a limit"}},
		{name: "memory_reservation", res: &specs.LinuxResources{Memory: &specs.LinuxMemory{Reservation: i64(1)}}, unsupported: []string{"memory.reservation: not applied"}},
		{name: "memory_swap", res: &specs.LinuxResources{Memory: &specs.LinuxMemory{Swap: i64(1)}}, unsupported: []string{"memory.swap: not applied"}},
		//lint:ignore SA1019 deprecated, but still sent.
		{name: "memory_kernel", res: &specs.LinuxResources{Memory: &specs.LinuxMemory{Kernel: i64(1)}}, unsupported: []string{"memory.kernel: not applied"}},
		{name: "memory_kernelTCP", res: &specs.LinuxResources{Memory: &specs.LinuxMemory{KernelTCP: i64(1)}}, unsupported: []string{"memory.kernelTCP: not applied"}},
		{name: "memory_swappiness", res: &specs.LinuxResources{Memory: &specs.LinuxMemory{Swappiness: u64(0)}}, unsupported: []string{"memory.swappiness: not applied"}},
		{name: "memory_disableOOMKiller", res: &specs.LinuxResources{Memory: &specs.LinuxMemory{DisableOOMKiller: boolp(false)}}, unsupported: []string{"memory.disableOOMKiller: not applied"}},
		{name: "memory_useHierarchy", res: &specs.LinuxResources{Memory: &specs.LinuxMemory{UseHierarchy: boolp(true)}}, unsupported: []string{"memory.useHierarchy: not applied"}},
		{name: "memory_checkBeforeUpdate", res: &specs.LinuxResources{Memory: &specs.LinuxMemory{CheckBeforeUpdate: boolp(true)}}, unsupported: []string{"memory.checkBeforeUpdate: not applied"}},

		{name: "pids_limit", res: &specs.LinuxResources{Pids: &specs.LinuxPids{Limit: i64(100)}}, add: []Rule{deny("maxproc", 100)}},
		{name: "pids_limit_zero_is_a_limit", res: &specs.LinuxResources{Pids: &specs.LinuxPids{Limit: i64(0)}}, add: []Rule{deny("maxproc", 0)}},
		{name: "pids_limit_unlimited", res: &specs.LinuxResources{Pids: &specs.LinuxPids{Limit: i64(-1)}}, remove: []Rule{deny("maxproc", 0)}},
		{name: "pids_limit_negative_is_unlimited", res: &specs.LinuxResources{Pids: &specs.LinuxPids{Limit: i64(-7)}}, remove: []Rule{deny("maxproc", 0)}},

		{name: "cpu_quota_period", res: &specs.LinuxResources{CPU: &specs.LinuxCPU{Quota: i64(150000), Period: u64(100000)}}, add: []Rule{deny("pcpu", 150)}},
		{name: "cpu_quota_rounds_up", res: &specs.LinuxResources{CPU: &specs.LinuxCPU{Quota: i64(1), Period: u64(100000)}}, add: []Rule{deny("pcpu", 1)}},
		{name: "cpu_quota_rounds_up_fraction", res: &specs.LinuxResources{CPU: &specs.LinuxCPU{Quota: i64(50001), Period: u64(100000)}}, add: []Rule{deny("pcpu", 51)}},
		{name: "cpu_quota_two_cpus", res: &specs.LinuxResources{CPU: &specs.LinuxCPU{Quota: i64(1000000), Period: u64(500000)}}, add: []Rule{deny("pcpu", 200)}},
		{name: "cpu_quota_default_period", res: &specs.LinuxResources{CPU: &specs.LinuxCPU{Quota: i64(25000)}}, add: []Rule{deny("pcpu", 25)}},
		{name: "cpu_quota_zero_period_is_default", res: &specs.LinuxResources{CPU: &specs.LinuxCPU{Quota: i64(25000), Period: u64(0)}}, add: []Rule{deny("pcpu", 25)}},
		{name: "cpu_quota_unlimited", res: &specs.LinuxResources{CPU: &specs.LinuxCPU{Quota: i64(-1), Period: u64(100000)}}, remove: []Rule{deny("pcpu", 0)}},
		{name: "cpu_quota_zero_changes_nothing", res: &specs.LinuxResources{CPU: &specs.LinuxCPU{Quota: i64(0)}}},
		{name: "cpu_quota_invalid", res: &specs.LinuxResources{CPU: &specs.LinuxCPU{Quota: i64(-5)}}, unsupported: []string{"cpu.quota: not applied: -5 is not a limit"}},
		{name: "cpu_quota_huge", res: &specs.LinuxResources{CPU: &specs.LinuxCPU{Quota: i64(1<<63 - 1), Period: u64(1)}}, unsupported: []string{"cpu.quota: not applied: 9223372036854775807/1 is more CPU than pcpu can hold"}},
		{name: "cpu_quota_beyond_pcpu", res: &specs.LinuxResources{CPU: &specs.LinuxCPU{Quota: i64(1 << 60), Period: u64(1000)}}, unsupported: []string{"cpu.quota: not applied"}},
		{name: "cpu_quota_large_fits", res: &specs.LinuxResources{CPU: &specs.LinuxCPU{Quota: i64(1<<63 - 1), Period: u64(1 << 62)}}, add: []Rule{deny("pcpu", 200)}},
		{name: "cpu_period_alone", res: &specs.LinuxResources{CPU: &specs.LinuxCPU{Period: u64(100000)}}, unsupported: []string{"cpu.period: not applied"}},
		{name: "cpu_shares", res: &specs.LinuxResources{CPU: &specs.LinuxCPU{Shares: u64(1024)}}, unsupported: []string{"cpu.shares: not applied"}},
		{name: "cpu_burst", res: &specs.LinuxResources{CPU: &specs.LinuxCPU{Burst: u64(1)}}, unsupported: []string{"cpu.burst: not applied"}},
		{name: "cpu_realtimeRuntime", res: &specs.LinuxResources{CPU: &specs.LinuxCPU{RealtimeRuntime: i64(1)}}, unsupported: []string{"cpu.realtimeRuntime: not applied"}},
		{name: "cpu_realtimePeriod", res: &specs.LinuxResources{CPU: &specs.LinuxCPU{RealtimePeriod: u64(1)}}, unsupported: []string{"cpu.realtimePeriod: not applied"}},
		{name: "cpu_cpus", res: &specs.LinuxResources{CPU: &specs.LinuxCPU{Cpus: "0-3"}}, unsupported: []string{"cpu.cpus: not applied"}},
		{name: "cpu_mems", res: &specs.LinuxResources{CPU: &specs.LinuxCPU{Mems: "0"}}, unsupported: []string{"cpu.mems: not applied"}},
		{name: "cpu_idle", res: &specs.LinuxResources{CPU: &specs.LinuxCPU{Idle: i64(1)}}, unsupported: []string{"cpu.idle: not applied"}},

		{name: "blockIO_weight", res: &specs.LinuxResources{BlockIO: &specs.LinuxBlockIO{Weight: u16(10)}}, unsupported: []string{"blockIO.weight: not applied"}},
		{name: "blockIO_leafWeight", res: &specs.LinuxResources{BlockIO: &specs.LinuxBlockIO{LeafWeight: u16(10)}}, unsupported: []string{"blockIO.leafWeight: not applied"}},
		{name: "blockIO_weightDevice", res: &specs.LinuxResources{BlockIO: &specs.LinuxBlockIO{WeightDevice: []specs.LinuxWeightDevice{{}}}}, unsupported: []string{"blockIO.weightDevice: not applied"}},
		{name: "blockIO_throttleReadBpsDevice", res: &specs.LinuxResources{BlockIO: &specs.LinuxBlockIO{ThrottleReadBpsDevice: []specs.LinuxThrottleDevice{{Rate: 1}}}}, unsupported: []string{"blockIO.throttleReadBpsDevice: not applied"}},
		{name: "blockIO_throttleWriteBpsDevice", res: &specs.LinuxResources{BlockIO: &specs.LinuxBlockIO{ThrottleWriteBpsDevice: []specs.LinuxThrottleDevice{{Rate: 1}}}}, unsupported: []string{"blockIO.throttleWriteBpsDevice: not applied"}},
		{name: "blockIO_throttleReadIOPSDevice", res: &specs.LinuxResources{BlockIO: &specs.LinuxBlockIO{ThrottleReadIOPSDevice: []specs.LinuxThrottleDevice{{Rate: 1}}}}, unsupported: []string{"blockIO.throttleReadIOPSDevice: not applied"}},
		{name: "blockIO_throttleWriteIOPSDevice", res: &specs.LinuxResources{BlockIO: &specs.LinuxBlockIO{ThrottleWriteIOPSDevice: []specs.LinuxThrottleDevice{{Rate: 1}}}}, unsupported: []string{"blockIO.throttleWriteIOPSDevice: not applied"}},

		{name: "hugepageLimits", res: &specs.LinuxResources{HugepageLimits: []specs.LinuxHugepageLimit{{Pagesize: "2MB", Limit: 1}}}, unsupported: []string{"hugepageLimits: not applied"}},
		{name: "network", res: &specs.LinuxResources{Network: &specs.LinuxNetwork{}}, unsupported: []string{"network: not applied"}},
		{name: "rdma", res: &specs.LinuxResources{Rdma: map[string]specs.LinuxRdma{"mlx": {}}}, unsupported: []string{"rdma: not applied"}},
		{name: "unified", res: &specs.LinuxResources{Unified: map[string]string{"memory.high": "1"}}, unsupported: []string{"unified: not applied"}},
		{name: "devices that only deny are what devfs rulesets do", res: &specs.LinuxResources{Devices: []specs.LinuxDeviceCgroup{{Allow: false, Access: "rwm"}}}},
		{name: "devices that allow", res: &specs.LinuxResources{Devices: []specs.LinuxDeviceCgroup{{Allow: false, Access: "rwm"}, {Allow: true, Type: "c", Access: "rw"}}}, unsupported: []string{"devices: not applied"}},

		{
			name: "everything_applied_at_once",
			res: &specs.LinuxResources{
				Memory: &specs.LinuxMemory{Limit: i64(1 << 30), Swap: i64(2 << 30)},
				CPU:    &specs.LinuxCPU{Quota: i64(50000), Period: u64(100000), Shares: u64(512)},
				Pids:   &specs.LinuxPids{Limit: i64(-1)},
			},
			add:         []Rule{deny("memoryuse", 1<<30), deny("pcpu", 50)},
			remove:      []Rule{deny("maxproc", 0)},
			unsupported: []string{"memory.swap: not applied", "cpu.shares: not applied"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u := PlanUpdate("web", tt.res)
			if !slices.Equal(u.Add, tt.add) {
				t.Errorf("Add = %+v\nwant %+v", u.Add, tt.add)
			}
			if !slices.Equal(u.Remove, tt.remove) {
				t.Errorf("Remove = %+v\nwant %+v", u.Remove, tt.remove)
			}
			if len(u.Unsupported) != len(tt.unsupported) {
				t.Fatalf("Unsupported = %q, want %d notes starting %q", u.Unsupported, len(tt.unsupported), tt.unsupported)
			}
			for i, want := range tt.unsupported {
				if !strings.HasPrefix(u.Unsupported[i], want) {
					t.Errorf("Unsupported[%d] = %q, want it to start with %q", i, u.Unsupported[i], want)
				}
			}
			for _, r := range append(slices.Clone(u.Add), u.Remove...) {
				if err := r.Validate(); err != nil {
					t.Errorf("planned an invalid rule: %v", err)
				}
			}

			rules, unsupported := FromLinuxResources("web", tt.res)
			if !slices.Equal(rules, u.Add) || !slices.Equal(unsupported, u.Unsupported) {
				t.Errorf("FromLinuxResources = %+v, %q; want PlanUpdate's Add and Unsupported", rules, unsupported)
			}
		})
	}
}

// TestPlanUpdateFromGoRuncJSON decodes LinuxResources JSON as go-runc
// writes it to `update --resources -`, Linux-only fields included, and
// checks the whole mapping.
func TestPlanUpdateFromGoRuncJSON(t *testing.T) {
	const in = `{
		"devices": [{"allow": false, "access": "rwm"}, {"allow": true, "type": "c", "major": 1, "minor": 3, "access": "rwm"}],
		"memory": {"limit": 268435456, "reservation": 134217728},
		"cpu": {"shares": 1024, "quota": 200000, "period": 100000, "cpus": "0-1"},
		"pids": {"limit": 64},
		"blockIO": {"weight": 500}
	}`
	var r specs.LinuxResources
	if err := json.Unmarshal([]byte(in), &r); err != nil {
		t.Fatal(err)
	}
	u := PlanUpdate("ctr1", &r)
	var got []string
	for _, a := range u.Add {
		got = append(got, a.String())
	}
	want := []string{"jail:ctr1:memoryuse:deny=268435456", "jail:ctr1:pcpu:deny=200", "jail:ctr1:maxproc:deny=64"}
	if !slices.Equal(got, want) {
		t.Errorf("rules = %q\nwant %q", got, want)
	}
	var fields []string
	for _, n := range u.Unsupported {
		f, _, _ := strings.Cut(n, ":")
		fields = append(fields, f)
	}
	wantFields := []string{"memory.reservation", "cpu.shares", "cpu.cpus", "blockIO.weight", "devices"}
	if !slices.Equal(fields, wantFields) {
		t.Errorf("unsupported fields = %q\nwant %q", fields, wantFields)
	}
	if len(u.Remove) != 0 {
		t.Errorf("Remove = %+v, want none", u.Remove)
	}
}

func TestPlanUpdateRemovalFilters(t *testing.T) {
	u := PlanUpdate("web", &specs.LinuxResources{
		Memory: &specs.LinuxMemory{Limit: i64(-1)},
		CPU:    &specs.LinuxCPU{Quota: i64(-1)},
		Pids:   &specs.LinuxPids{Limit: i64(-1)},
	})
	var got []string
	for _, r := range u.Remove {
		got = append(got, r.Filter())
	}
	want := []string{"jail:web:memoryuse:deny=/jail", "jail:web:pcpu:deny=/jail", "jail:web:maxproc:deny=/jail"}
	if !slices.Equal(got, want) {
		t.Errorf("filters = %q\nwant %q", got, want)
	}
}

func TestPercent(t *testing.T) {
	tests := []struct {
		q, per, want uint64
		ok           bool
	}{
		{100000, 100000, 100, true},
		{1, 100000, 1, true},
		{99999, 100000, 100, true},
		{1, 1, 100, true},
		{1<<64 - 1, 100, 1<<64 - 1, true},
		{1<<64 - 1, 99, 0, false},
		{1<<63 - 1, 1 << 62, 200, true},
	}
	for _, tt := range tests {
		got, ok := percent(tt.q, tt.per)
		if got != tt.want || ok != tt.ok {
			t.Errorf("percent(%d, %d) = %d, %v; want %d, %v", tt.q, tt.per, got, ok, tt.want, tt.ok)
		}
	}
}
