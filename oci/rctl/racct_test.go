package rctl

import (
	"errors"
	"maps"
	"math"
	"strings"
	"testing"
)

// jailRacct is rctl_get_racct(2)'s answer for a jail: every resource of
// resourcenames in order, sloppy ones included for a jail
// (rctl_racct_to_sbuf(prr->prr_racct, 1), sys/kern/kern_rctl.c), no
// trailing comma.
const jailRacct = "cputime=12,datasize=1081344,stacksize=0,coredumpsize=0," +
	"memoryuse=4567040,memorylocked=0,maxproc=3,openfiles=1024," +
	"vmemoryuse=27443200,pseudoterminals=1,swapuse=4096,nthr=3," +
	"msgqqueued=0,msgqsize=0,nmsgq=0,nsem=0,nsemop=0,nshm=0,shmsize=0," +
	"wallclock=1234,pcpu=7,readbps=0,writebps=512,readiops=0,writeiops=2"

func TestParseRacct(t *testing.T) {
	got, err := ParseRacct(jailRacct)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]int64{
		"cputime": 12, "datasize": 1081344, "stacksize": 0, "coredumpsize": 0,
		"memoryuse": 4567040, "memorylocked": 0, "maxproc": 3, "openfiles": 1024,
		"vmemoryuse": 27443200, "pseudoterminals": 1, "swapuse": 4096, "nthr": 3,
		"msgqqueued": 0, "msgqsize": 0, "nmsgq": 0, "nsem": 0, "nsemop": 0,
		"nshm": 0, "shmsize": 0, "wallclock": 1234, "pcpu": 7, "readbps": 0,
		"writebps": 512, "readiops": 0, "writeiops": 2,
	}
	if !maps.Equal(got, want) {
		t.Errorf("got %v\nwant %v", got, want)
	}
	for _, name := range kernelResources {
		if _, ok := got[name]; !ok {
			t.Errorf("the kernel's line lacks %s", name)
		}
	}
}

func TestParseRacctEdges(t *testing.T) {
	tests := []struct {
		in   string
		want map[string]int64
	}{
		{"", map[string]int64{}},
		{"maxproc=1", map[string]int64{"maxproc": 1}},
		// A resource from a newer kernel is kept.
		{"maxproc=1,newthing=9", map[string]int64{"maxproc": 1, "newthing": 9}},
		// %jd of a negative counter.
		{"pcpu=-1", map[string]int64{"pcpu": -1}},
		{"memoryuse=9223372036854775807", map[string]int64{"memoryuse": math.MaxInt64}},
	}
	for _, tt := range tests {
		got, err := ParseRacct(tt.in)
		if err != nil {
			t.Errorf("ParseRacct(%q): %v", tt.in, err)
			continue
		}
		if !maps.Equal(got, tt.want) {
			t.Errorf("ParseRacct(%q) = %v, want %v", tt.in, got, tt.want)
		}
	}
}

func TestParseRacctErrors(t *testing.T) {
	tests := []struct {
		in, want string
	}{
		{",", `racct [0] "": want name=value`},
		{"maxproc=1,", `racct [1] "": want name=value`},
		{"maxproc", `racct [0] "maxproc": want name=value`},
		{"=1", `racct [0] "=1": want name=value`},
		{"maxproc=", `racct [0] "maxproc=": value "" is not a 64-bit decimal number`},
		{"maxproc=1k", `racct [0] "maxproc=1k": value "1k" is not a 64-bit decimal number`},
		{"maxproc=+1", `racct [0] "maxproc=+1": value "+1" is not a 64-bit decimal number`},
		{"maxproc=0x1", `racct [0] "maxproc=0x1": value "0x1" is not`},
		{"maxproc=9223372036854775808", `value "9223372036854775808" is not a 64-bit decimal number`},
		{"maxproc=1,nthr=2,maxproc=3", `racct [2] "maxproc=3": maxproc given twice`},
		{"maxproc=1\x00", `value "1\x00" is not`},
	}
	for _, tt := range tests {
		got, err := ParseRacct(tt.in)
		if err == nil {
			t.Errorf("ParseRacct(%q) = %v, want an error", tt.in, got)
			continue
		}
		if !strings.Contains(err.Error(), tt.want) || !errors.Is(err, ErrInvalidRule) {
			t.Errorf("ParseRacct(%q) error = %q, want an ErrInvalidRule containing %q", tt.in, err, tt.want)
		}
	}
}

func TestNewStats(t *testing.T) {
	racct, err := ParseRacct(jailRacct)
	if err != nil {
		t.Fatal(err)
	}
	rules := []Rule{
		deny("memoryuse", 512<<20),
		deny("maxproc", 100),
		deny("swapuse", 1<<30),
		// A per-process rule bounds each process, not the jail.
		{Subject: "jail", ID: "web", Resource: "memoryuse", Action: "deny", Amount: 1 << 20, Per: "process"},
		// Not a deny rule: no limit.
		{Subject: "jail", ID: "web", Resource: "maxproc", Action: "log", Amount: 10},
		// An explicit per jail is jail-wide.
		{Subject: "jail", ID: "web", Resource: "maxproc", Action: "deny", Amount: 50, Per: "jail"},
		deny("openfiles", 1024),
	}
	got := NewStats(racct, rules)
	want := Stats{
		CPUUsageNanos: 12e9,
		MemoryUsage:   4567040,
		MemoryLimit:   512 << 20,
		SwapUsage:     4096,
		SwapLimit:     1 << 30,
		Pids:          3,
		PidsLimit:     50,
	}
	if got != want {
		t.Errorf("NewStats = %+v\nwant %+v", got, want)
	}
}

func TestNewStatsWithoutRulesOrValues(t *testing.T) {
	if got := NewStats(nil, nil); got != (Stats{}) {
		t.Errorf("NewStats(nil, nil) = %+v, want zero", got)
	}
	got := NewStats(map[string]int64{"cputime": math.MaxInt64, "memoryuse": -5, "maxproc": 2}, nil)
	want := Stats{CPUUsageNanos: math.MaxUint64, Pids: 2}
	if got != want {
		t.Errorf("NewStats = %+v, want %+v", got, want)
	}
	got = NewStats(map[string]int64{"cputime": 18446744073}, []Rule{deny("maxproc", 0)})
	if want := (Stats{CPUUsageNanos: 18446744073e9}); got != want {
		t.Errorf("NewStats = %+v, want %+v", got, want)
	}
}
