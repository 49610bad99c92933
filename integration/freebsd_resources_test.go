//go:build integration && freebsd

// The resource commands of issue 7 on a real kernel: ps, pause and resume,
// update and the rctl limits (from update, linux.resources and the
// org.freebsd.rctl annotation), events and features.
//
// The rctl tests need racct, which GENERIC kernels build in but leave off
// (options RACCT_DEFAULT_TO_DISABLED): kern.racct.enable=1 in
// /boot/loader.conf and a reboot turn it on. Without it they skip, and TestRacctDisabled checks
// what a user of such a host gets instead. The kernel keeps rctl rules by
// jail name, past the jail's end (sys/kern/kern_rctl.c), so every rctl test
// checks, when it is done, that delete left no rule behind, and removes
// any it finds: the next jail of that name would inherit it.

package integration

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
	"unsafe"

	runc "github.com/containerd/go-runc"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"github.com/opencontainers/runtime-spec/specs-go/features"
	"golang.org/x/sys/unix"

	"github.com/runj-go/runj-go/oci"
	"github.com/runj-go/runj-go/oci/procs"
	"github.com/runj-go/runj-go/oci/rctl"
)

const (
	mib = 1 << 20
	// statePaused is the status runc reports, and runj-go with it, for a
	// paused container; runtime-spec defines none (oci.StatusPaused).
	statePaused specs.ContainerState = oci.StatusPaused
)

// allocResult is one line of `ctrhelper alloc` and `ctrhelper reserve`
// (integration/ctrhelper: AllocResult).
type allocResult struct {
	MB      int    `json:"mb"`
	OK      bool   `json:"ok"`
	Touched bool   `json:"touched"`
	Errno   string `json:"errno"`
}

// forkResult is what `ctrhelper forkbomb` prints (integration/ctrhelper:
// ForkResult).
type forkResult struct {
	Started int    `json:"started"`
	Errno   string `json:"errno"`
	Error   string `json:"error"`
}

// rctlAvailable reports whether rctl rules can be set on this host, and
// why not. kern.racct.enable is a bool sysctl, one byte (SYSCTL_BOOL in
// sys/kern/kern_racct.c), absent from a kernel built without options
// RACCT; a kernel with RACCT but without options RCTL answers every rctl
// call with ENOSYS, as a disabled one does.
func rctlAvailable(t *testing.T) (bool, string) {
	t.Helper()
	b, err := unix.SysctlRaw("kern.racct.enable")
	if err != nil {
		return false, fmt.Sprintf("sysctl kern.racct.enable: %v (a kernel without options RACCT)", err)
	}
	if !slices.ContainsFunc(b, func(c byte) bool { return c != 0 }) {
		return false, "kern.racct.enable is 0"
	}
	_, err = rctl.GetRules(rctl.JailFilter(newID("probe")))
	if errors.Is(err, rctl.ErrRacctDisabled) {
		return false, fmt.Sprintf("kern.racct.enable is 1 but rctl calls fail: %v (a kernel without options RCTL)", err)
	}
	if err != nil {
		t.Fatalf("rctl_get_rules: %v", err)
	}
	return true, "kern.racct.enable is 1"
}

// requireRctl skips the test unless rctl rules can be set. Call it after
// newSuite, which skips the test unless it runs as root.
func requireRctl(t *testing.T) {
	t.Helper()
	if ok, why := rctlAvailable(t); !ok {
		t.Skipf("this test needs rctl and %s: set kern.racct.enable=1 in /boot/loader.conf and reboot to run it", why)
	}
}

// jailRules returns the rules the kernel holds for jail name, as strings
// in the kernel's syntax, sorted.
func jailRules(t *testing.T, name string) []string {
	t.Helper()
	rules, err := rctl.GetRules(rctl.JailFilter(name))
	if err != nil {
		t.Fatalf("rules of jail %s: %v", name, err)
	}
	out := make([]string, len(rules))
	for i, r := range rules {
		out[i] = r.String()
	}
	slices.Sort(out)
	return out
}

// checkRules checks that the kernel holds exactly the given rules for jail
// name, each given without its "jail:NAME:" subject.
func checkRules(t *testing.T, name string, want ...string) {
	t.Helper()
	full := make([]string, len(want))
	for i, w := range want {
		full[i] = rctl.JailFilter(name) + ":" + w
	}
	slices.Sort(full)
	if got := jailRules(t, name); !slices.Equal(got, full) {
		t.Errorf("rctl rules of jail %s: %q, want %q", name, got, full)
	}
}

// jailRacct returns the resource use of jail name, from rctl_get_racct(2).
func jailRacct(t *testing.T, name string) map[string]int64 {
	t.Helper()
	racct, err := rctl.GetRacct(rctl.JailFilter(name))
	if err != nil {
		t.Fatalf("racct of jail %s: %v", name, err)
	}
	return racct
}

// cleanupRules registers a cleanup that deletes the container and then
// fails the test if the kernel still holds rctl rules for its jail,
// removing them. It runs before the container's own cleanup (cleanups run
// last registered first), which then finds nothing to delete.
func (c *container) cleanupRules() {
	t := c.s.t
	t.Cleanup(func() {
		if r := c.s.runj("delete", "--force", c.id); r.code != 0 || r.err != nil {
			t.Errorf("cleanup: %v", r)
		}
		filter := rctl.JailFilter(c.jail)
		rules, err := rctl.GetRules(filter)
		if errors.Is(err, rctl.ErrRacctDisabled) {
			return
		}
		if err != nil {
			t.Errorf("cleanup: rules of jail %s: %v", c.jail, err)
			return
		}
		if len(rules) > 0 {
			t.Errorf("cleanup: the kernel still holds rctl rules for jail %s after delete --force: %v; removing them", c.jail, rules)
			if err := rctl.RemoveRules(filter); err != nil {
				t.Errorf("cleanup: remove rules %s: %v", filter, err)
			}
		}
	})
}

// runjInput runs runj-go with stdin.
func (s *suite) runjInput(stdin string, args ...string) result {
	s.t.Helper()
	out, errf := s.newFile("stdout"), s.newFile("stderr")
	defer out.Close()
	defer errf.Close()
	return s.runjWith(strings.NewReader(stdin), out, errf, args...)
}

// jsonLines decodes the complete lines of out, skipping blank ones; a last
// line without its newline is still being written and is left out.
func jsonLines[T any](t *testing.T, out string) []T {
	t.Helper()
	lines := strings.Split(out, "\n")
	var vs []T
	for _, line := range lines[:len(lines)-1] {
		if strings.TrimSpace(line) == "" {
			continue
		}
		var v T
		if err := json.Unmarshal([]byte(line), &v); err != nil {
			t.Fatalf("output line %q: %v\nwhole output:\n%s", line, err, out)
		}
		vs = append(vs, v)
	}
	return vs
}

// waitJSON waits until the container process has printed n JSON lines and
// returns them.
func waitJSON[T any](t *testing.T, c *container, n int) []T {
	t.Helper()
	var vs []T
	eventually(t, fmt.Sprintf("%d JSON lines from container %s", n, c.id), func() (bool, string) {
		out := c.output()
		vs = jsonLines[T](t, out)
		return len(vs) >= n, fmt.Sprintf("stdout %q, stderr %q", out, readFile(t, c.stderr))
	})
	return vs
}

// stats runs `events --stats`, which must print exactly one stats event
// for the container, and returns its data.
func (c *container) stats() runc.Stats {
	c.s.t.Helper()
	r := c.s.mustRunj("events", "--stats", c.id)
	events := jsonLines[runc.Event](c.s.t, r.stdout)
	if len(events) != 1 {
		c.s.t.Fatalf("events --stats printed %d events, want 1: %q", len(events), r.stdout)
	}
	checkStatsEvent(c.s.t, events[0], c.id)
	return *events[0].Stats
}

func checkStatsEvent(t *testing.T, e runc.Event, id string) {
	t.Helper()
	if e.Type != "stats" || e.ID != id || e.Stats == nil {
		t.Fatalf("event %+v: want type stats, id %s and data", e, id)
	}
}

// tablePids reads the PID column of `ps --format table` output the way
// go-runc's Top does (runc.ParsePSOutput). ParsePSOutput indexes the rows
// with the header's PID position unchecked, so the header is checked
// first.
func tablePids(t *testing.T, out string) []int {
	t.Helper()
	header, _, _ := strings.Cut(out, "\n")
	if !slices.Contains(strings.Fields(header), "PID") {
		t.Fatalf("ps table header %q has no PID column", header)
	}
	top, err := runc.ParsePSOutput([]byte(out))
	if err != nil {
		t.Fatalf("ParsePSOutput: %v\n%s", err, out)
	}
	col := slices.Index(top.Headers, "PID")
	var got []int
	for _, row := range top.Processes {
		pid, err := strconv.Atoi(row[col])
		if err != nil {
			t.Fatalf("ps table row %q: PID %q: %v", row, row[col], err)
		}
		got = append(got, pid)
	}
	slices.Sort(got)
	return got
}

func sortedPids(ps []procs.Info) []int {
	out := pids(ps)
	slices.Sort(out)
	return out
}

// allStopped checks that jail jid has live processes and that every one
// of them is stopped, and returns them.
func allStopped(t *testing.T, jid int) []procs.Info {
	t.Helper()
	live := liveInJail(t, jid)
	if len(live) == 0 {
		t.Fatalf("jail %d has no live process", jid)
	}
	for _, p := range live {
		if p.State != procs.Stopped {
			t.Errorf("process %d (%s) in jail %d is %s, want stopped", p.Pid, p.Comm, jid, p.State)
		}
	}
	return live
}

// TestPs lists a container's processes as go-runc asks for them: `ps
// --format json` (go-runc's Ps, containerd's Pids) prints the pids the
// kernel lists in the jail, and `ps --format table` (go-runc's Top) prints
// a table whose PID column go-runc's parser reads.
func TestPs(t *testing.T) {
	s := newSuite(t)
	c := s.newContainer("ps", nil, "spawn", "2")
	jid, ps := spawned(t, c, 2)
	want := sortedPids(ps)

	if got := s.psJSON(c.id); !slices.Equal(got, want) {
		t.Errorf("ps --format json: %v, want the jail's processes %v", got, want)
	}

	for _, args := range [][]string{{"ps", "--format", "table", c.id}, {"ps", c.id}} {
		r := s.mustRunj(args...)
		if got := tablePids(t, r.stdout); !slices.Equal(got, want) {
			t.Errorf("runj-go %s: PID column %v, want %v\n%s", strings.Join(args, " "), got, want, r.stdout)
		}
		if n := strings.Count(r.stdout, "ctrhelper"); n != len(want) {
			t.Errorf("runj-go %s: %d rows name ctrhelper, want %d\n%s", strings.Join(args, " "), n, len(want), r.stdout)
		}
	}
	if live := sortedPids(liveInJail(t, jid)); !slices.Equal(live, want) {
		t.Fatalf("the jail's processes changed during the test: %v, were %v", live, want)
	}

	s.mustRunj("kill", c.id, "KILL")
	waitDead(t, ps)
	c.waitStatus(specs.StateStopped)
	if got := s.psJSON(c.id); len(got) != 0 {
		t.Errorf("ps of the stopped container: %v, want none", got)
	}
}

// TestPauseResume pauses a container whose process keeps forking
// short-lived children, the race pause must win: when pause returns,
// every process in the jail is stopped and stays stopped, and no new one
// appears. A paused container refuses exec and a plain delete; resume
// continues it; delete --force removes a paused container.
func TestPauseResume(t *testing.T) {
	s := newSuite(t)
	c := s.newContainer("pause", nil, "forkloop")
	st := c.mustCreate()
	c.mustStart()
	jid := stateJID(t, st)
	// forkloop prints a line per child that ended: wait until it forks.
	eventually(t, "forkloop to run children", func() (bool, string) {
		out := c.output()
		return strings.Count(out, "\n") >= 20, fmt.Sprintf("stdout %q, stderr %q", out, readFile(t, c.stderr))
	})
	s.failsWith("not paused", "resume", c.id)

	s.mustRunj("pause", c.id)
	if st := c.state(); st.Status != statePaused {
		t.Fatalf("after pause: status %s, want paused", st.Status)
	}
	checkListed(t, s, c.id, statePaused)
	paused := allStopped(t, jid)
	// A write(2) that was under way when the signal came ends before its
	// thread stops: let it land before measuring the output.
	time.Sleep(200 * time.Millisecond)
	outLen := len(c.output())
	for i := 0; i < 10 && !t.Failed(); i++ {
		time.Sleep(100 * time.Millisecond)
		now := allStopped(t, jid)
		if !slices.Equal(pids(now), pids(paused)) {
			t.Fatalf("while paused, the jail's live processes changed from %v to %v: a process escaped pause", pids(paused), pids(now))
		}
	}
	if n := len(c.output()); n != outLen {
		t.Errorf("while paused, the container's output grew from %d to %d bytes: a child ran to its end", outLen, n)
	}
	// ps lists a paused container.
	r := s.mustRunj("ps", "--format", "json", c.id)
	var psPids []int
	if err := json.Unmarshal([]byte(r.stdout), &psPids); err != nil {
		t.Fatalf("ps --format json: %v\n%s", err, r.stdout)
	}
	slices.Sort(psPids)
	if want := sortedPids(paused); !slices.Equal(psPids, want) {
		t.Errorf("ps --format json of the paused container: %v, want %v", psPids, want)
	}

	// exec and a plain delete are refused, and change nothing.
	s.failsWith("paused container", "exec", c.id, helperInJail, "echo", "must not run")
	s.failsWith("not stopped", "delete", c.id)
	if st := c.state(); st.Status != statePaused {
		t.Fatalf("after a refused exec and delete: status %s, want paused", st.Status)
	}
	if now := allStopped(t, jid); !slices.Equal(pids(now), pids(paused)) {
		t.Fatalf("a refused exec or delete changed the jail's processes from %v to %v", pids(paused), pids(now))
	}

	s.mustRunj("resume", c.id)
	if st := c.state(); st.Status != specs.StateRunning {
		t.Fatalf("after resume: status %s, want running", st.Status)
	}
	checkListed(t, s, c.id, specs.StateRunning)
	eventually(t, "the paused processes to run again", func() (bool, string) {
		var still []int
		for _, p := range paused {
			info, err := procs.Get(p.Pid)
			if err == nil && info.Start == p.Start && !info.Exited() && info.State == procs.Stopped {
				still = append(still, p.Pid)
			}
		}
		return len(still) == 0, fmt.Sprintf("still stopped: %v", still)
	})
	eventually(t, "forkloop to fork again after resume", func() (bool, string) {
		n := len(c.output())
		return n > outLen, fmt.Sprintf("%d bytes of output, %d when paused", n, outLen)
	})

	// delete --force removes a paused container.
	s.mustRunj("pause", c.id)
	paused = allStopped(t, jid)
	s.mustRunj("delete", "--force", c.id)
	c.checkGone()
	waitDead(t, paused)
}

// TestPauseKill kills a paused container as runc allows: KILL ends the
// stopped process, the container is stopped, and a plain delete removes
// it with the children that were still stopped.
func TestPauseKill(t *testing.T) {
	s := newSuite(t)
	c := s.newContainer("pkill", nil, "spawn", "2")
	jid, ps := spawned(t, c, 2)
	s.mustRunj("pause", c.id)
	allStopped(t, jid)
	s.mustRunj("kill", c.id, "KILL")
	c.waitStatus(specs.StateStopped)
	s.mustRunj("delete", c.id)
	c.checkGone()
	waitDead(t, ps)
}

// TestUpdate changes a running container's limits as go-runc does (the
// LinuxResources JSON on stdin with --resources=-) and as runc's flags do,
// and reads the rules back from the kernel: memory.limit is memoryuse:deny,
// pids.limit maxproc:deny, cpu.quota/period pcpu:deny in percent; -1
// removes a limit; a setting without a FreeBSD counterpart is reported and
// does not fail the update. A stopped container keeps its rules until
// delete removes them.
func TestUpdate(t *testing.T) {
	s := newSuite(t)
	requireRctl(t)
	c := s.newContainer("update", nil, "sleep")
	c.cleanupRules()
	c.mustCreate()
	c.mustStart()
	checkRules(t, c.jail)

	mem, pidsLimit, quota, period, shares := int64(64*mib), int64(50), int64(50000), uint64(100000), uint64(1024)
	res := specs.LinuxResources{
		// containerd's default spec denies every device; a jail's devfs
		// ruleset does that already, so it is not reported.
		Devices: []specs.LinuxDeviceCgroup{{Allow: false, Access: "rwm"}},
		Memory:  &specs.LinuxMemory{Limit: &mem},
		CPU:     &specs.LinuxCPU{Quota: &quota, Period: &period, Shares: &shares},
		Pids:    &specs.LinuxPids{Limit: &pidsLimit},
	}
	data, err := json.Marshal(res)
	if err != nil {
		t.Fatal(err)
	}
	// go-runc's Update: json.Encoder output on stdin, "--resources=-".
	r := s.runjInput(string(data)+"\n", "update", "--resources=-", c.id)
	if r.code != 0 || r.err != nil {
		t.Fatalf("%v", r)
	}
	if !strings.Contains(r.stderr, "cpu.shares") {
		t.Errorf("update did not report cpu.shares, which it cannot apply: stderr %q", r.stderr)
	}
	if strings.Contains(r.stderr, "devices") {
		t.Errorf("update reported a deny-all device list, which a jail enforces already: stderr %q", r.stderr)
	}
	checkRules(t, c.jail, "memoryuse:deny=67108864", "maxproc:deny=50", "pcpu:deny=50")

	// runc's flags; a deny rule replaces the one for the same resource.
	s.mustRunj("update", "--memory", "134217728", "--pids-limit", "30",
		"--cpu-quota", "150000", "--cpu-period", "100000", c.id)
	checkRules(t, c.jail, "memoryuse:deny=134217728", "maxproc:deny=30", "pcpu:deny=150")
	st := c.stats()
	if st.Memory.Usage.Limit != 134217728 || st.Pids.Limit != 30 {
		t.Errorf("events --stats: memory limit %d, pids limit %d, want the rules' 134217728 and 30", st.Memory.Usage.Limit, st.Pids.Limit)
	}

	// -1 removes a limit and leaves the others.
	s.mustRunj("update", "--pids-limit=-1", "--cpu-quota=-1", c.id)
	checkRules(t, c.jail, "memoryuse:deny=134217728")
	if st := c.stats(); st.Pids.Limit != 0 {
		t.Errorf("events --stats: pids limit %d after it was removed, want 0", st.Pids.Limit)
	}

	// A stopped container is not updated; its rules stay until delete,
	// which removes them.
	s.mustRunj("kill", c.id, "KILL")
	c.waitStatus(specs.StateStopped)
	s.failsWith("container not running", "update", "--memory=1048576", c.id)
	checkRules(t, c.jail, "memoryuse:deny=134217728")
	s.mustRunj("delete", c.id)
	c.checkGone()
	if rules := jailRules(t, c.jail); len(rules) != 0 {
		t.Errorf("after delete, the kernel still holds rules for jail %s: %q (it keeps them by name: the next jail of that name would inherit them)", c.jail, rules)
	}
}

// TestRctlMaxproc runs a fork bomb under the annotation
// org.freebsd.rctl=maxproc:deny=20: fork fails with EAGAIN once the jail
// has 20 processes (sys/kern/kern_fork.c: racct_proc_fork), so the bomb
// gets 19 children beside itself, never more.
func TestRctlMaxproc(t *testing.T) {
	s := newSuite(t)
	requireRctl(t)
	const limit = 20
	c := s.newContainer("maxproc", func(sp *specs.Spec) {
		sp.Annotations = map[string]string{rctl.Annotation: fmt.Sprintf("maxproc:deny=%d", limit)}
	}, "forkbomb", "50")
	c.cleanupRules()
	st := c.mustCreate()
	jid := stateJID(t, st)
	checkRules(t, c.jail, fmt.Sprintf("maxproc:deny=%d", limit))
	c.mustStart()

	res := waitJSON[forkResult](t, c, 1)[0]
	if res.Errno != "EAGAIN" {
		t.Errorf("the fork bomb started %d children and stopped with %q (%s); want fork to fail with EAGAIN at the limit", res.Started, res.Errno, res.Error)
	}
	if res.Started+1 != limit {
		t.Errorf("the fork bomb ran %d processes (itself and %d children) before fork failed; maxproc:deny=%d allows exactly %d", res.Started+1, res.Started, limit, limit)
	}
	live := liveInJail(t, jid)
	if len(live) > limit || len(live) != res.Started+1 {
		t.Errorf("jail %d has %d live processes, want the bomb and its %d children, at most %d", jid, len(live), res.Started, limit)
	}
	if n := jailRacct(t, c.jail)["maxproc"]; n != int64(len(live)) {
		t.Errorf("racct maxproc of jail %s is %d, want the %d live processes", c.jail, n, len(live))
	}
	if st := c.state(); st.Status != specs.StateRunning {
		t.Errorf("after the refused fork: status %s, want running (deny refuses, it does not kill)", st.Status)
	}

	s.mustRunj("delete", "--force", c.id)
	c.checkGone()
	waitDead(t, live)
	if rules := jailRules(t, c.jail); len(rules) != 0 {
		t.Errorf("after delete --force, the kernel still holds rules for jail %s: %q", c.jail, rules)
	}
}

// TestRctlMemoryuse shows what memoryuse:deny does on FreeBSD, from
// linux.resources.memory.limit at create: it does not make an allocation
// fail. The vm daemon measures each process's resident set about once a
// second and, for a jail over its memoryuse limit, unmaps the process's
// pages that have not been referenced since the page daemon last looked
// at them (sys/vm/vm_swapout.c: vm_daemon, the racct_enable block, and
// vm_swapout_object_deactivate_page), so the jail's memoryuse comes down
// to the limit while the process holds more memory than that.
//
// The page daemon clears a page's referenced bit when its scan of the
// active queue reaches the page, which, without a memory shortage, it does
// for every page once per vm.pageout_update_period seconds, 600 by default
// (sys/vm/vm_pageout.c: vm_pageout_scan_active). The test shortens that
// period to one second while it runs, as a memory shortage would, so that
// the limit takes effect in seconds rather than minutes.
func TestRctlMemoryuse(t *testing.T) {
	s := newSuite(t)
	requireRctl(t)
	if swap, err := unix.SysctlUint64("vm.swap_total"); err != nil || swap == 0 {
		t.Skipf("no swap configured (vm.swap_total %d, error %v): memoryuse:deny pushes the jail's pages out towards swap", swap, err)
	}
	old, err := sysctlSetInt32("vm.pageout_update_period", 1)
	if err != nil {
		t.Skipf("set vm.pageout_update_period: %v", err)
	}
	t.Cleanup(func() {
		if _, err := sysctlSetInt32("vm.pageout_update_period", old); err != nil {
			t.Errorf("restore vm.pageout_update_period to %d: %v", old, err)
		}
	})
	const limit, touch = 64 * mib, 256 // bytes, MiB
	l := int64(limit)
	c := s.newContainer("memuse", func(sp *specs.Spec) {
		sp.Linux = &specs.Linux{Resources: &specs.LinuxResources{Memory: &specs.LinuxMemory{Limit: &l}}}
	}, "alloc", strconv.Itoa(touch))
	c.cleanupRules()
	c.mustCreate()
	checkRules(t, c.jail, fmt.Sprintf("memoryuse:deny=%d", limit))
	c.mustStart()

	res := waitJSON[allocResult](t, c, 1)[0]
	if !res.OK || !res.Touched || res.MB != touch {
		t.Fatalf("ctrhelper alloc %d: %+v; memoryuse:deny does not refuse memory on FreeBSD, the process should have written all of it", touch, res)
	}
	var use int64
	eventually(t, fmt.Sprintf("the memoryuse of jail %s to come down to its limit %d", c.jail, limit), func() (bool, string) {
		use = jailRacct(t, c.jail)["memoryuse"]
		return use <= limit, strconv.FormatInt(use, 10)
	})
	for i := 0; i < 12; i++ {
		time.Sleep(250 * time.Millisecond)
		if use := jailRacct(t, c.jail)["memoryuse"]; use > limit {
			t.Fatalf("memoryuse of jail %s rose to %d, over its limit %d, while the process held the %d MiB it had written", c.jail, use, limit, touch)
		}
	}
	if st := c.state(); st.Status != specs.StateRunning {
		t.Errorf("status %s, want running: the limit is kept by taking pages away, not by killing the process", st.Status)
	}
	if st := c.stats(); st.Memory.Usage.Limit != limit || st.Memory.Usage.Usage > limit {
		t.Errorf("events --stats: memory usage %d, limit %d; want the limit %d and usage under it", st.Memory.Usage.Usage, st.Memory.Usage.Limit, limit)
	}
}

// sysctlSetInt32 sets the int sysctl name with __sysctlbyname(2)
// (sys/kern/kern_sysctl.c; syscall 570, FreeBSD 12.0 and later, which
// takes the name's length without its NUL) and returns the old value.
func sysctlSetInt32(name string, v int32) (int32, error) {
	p, err := unix.BytePtrFromString(name)
	if err != nil {
		return 0, err
	}
	var old int32
	oldLen := uintptr(unsafe.Sizeof(old))
	_, _, errno := unix.Syscall6(unix.SYS___SYSCTLBYNAME,
		uintptr(unsafe.Pointer(p)), uintptr(len(name)),
		uintptr(unsafe.Pointer(&old)), uintptr(unsafe.Pointer(&oldLen)),
		uintptr(unsafe.Pointer(&v)), unsafe.Sizeof(v))
	runtime.KeepAlive(p)
	if errno != 0 {
		return 0, fmt.Errorf("sysctl %s=%d: %w", name, v, errno)
	}
	if oldLen != unsafe.Sizeof(old) {
		return 0, fmt.Errorf("sysctl %s: the old value has %d bytes, want %d", name, oldLen, unsafe.Sizeof(old))
	}
	return old, nil
}

// TestRctlVmemoryuse checks that vmemoryuse:deny, from the annotation with
// a unit suffix, makes an allocation beyond the limit fail: mmap(2)
// answers ENOMEM when the process's address space would pass the jail's
// limit (sys/vm/vm_mmap.c: racct_set RACCT_VMEM). A mapping as large as
// the whole limit must fail whatever the process maps already; a small one
// after it must still succeed. The limit leaves room for the Go runtime's
// address space reservations (about 1.5 GiB for runj-go's init, which runs
// in the jail before it executes ctrhelper).
func TestRctlVmemoryuse(t *testing.T) {
	s := newSuite(t)
	requireRctl(t)
	const limitMB = 8192
	c := s.newContainer("vmem", func(sp *specs.Spec) {
		sp.Annotations = map[string]string{rctl.Annotation: fmt.Sprintf("vmemoryuse:deny=%dm", limitMB)}
	}, "reserve", strconv.Itoa(limitMB), "64")
	c.cleanupRules()
	c.mustCreate()
	checkRules(t, c.jail, fmt.Sprintf("vmemoryuse:deny=%d", int64(limitMB)*mib))
	c.mustStart()

	res := waitJSON[allocResult](t, c, 2)
	if big := res[0]; big.MB != limitMB || big.OK || big.Errno != "ENOMEM" {
		t.Errorf("mapping %d MiB, the whole vmemoryuse limit: %+v, want a failure with ENOMEM", limitMB, big)
	}
	if small := res[1]; small.MB != 64 || !small.OK {
		t.Errorf("mapping 64 MiB under the limit: %+v, want success", small)
	}
	if use := jailRacct(t, c.jail)["vmemoryuse"]; use > int64(limitMB)*mib || use < 64*mib {
		t.Errorf("vmemoryuse of jail %s is %d, want at least the 64 MiB mapped and at most the limit %d", c.jail, use, int64(limitMB)*mib)
	}
	if st := c.state(); st.Status != specs.StateRunning {
		t.Errorf("status %s, want running: a refused mmap does not end the process", st.Status)
	}
}

// TestEventsStats reads one stats event, as go-runc's Stats does: the
// jail's process count and memory use from racct, and the limits from its
// rules (here from the annotation).
func TestEventsStats(t *testing.T) {
	s := newSuite(t)
	requireRctl(t)
	c := s.newContainer("stats", func(sp *specs.Spec) {
		sp.Annotations = map[string]string{rctl.Annotation: "memoryuse:deny=512m, maxproc:deny=40"}
	}, "spawn", "2")
	c.cleanupRules()
	jid, _ := spawned(t, c, 2)
	checkRules(t, c.jail, "memoryuse:deny=536870912", "maxproc:deny=40")

	// The vm daemon updates memoryuse about once a second.
	var st runc.Stats
	eventually(t, "a stats event with memory usage", func() (bool, string) {
		st = c.stats()
		return st.Memory.Usage.Usage > 0, fmt.Sprintf("%+v", st)
	})
	if live := liveInJail(t, jid); st.Pids.Current != uint64(len(live)) {
		t.Errorf("pids.current %d, want the jail's %d processes", st.Pids.Current, len(live))
	}
	if st.Pids.Limit != 40 {
		t.Errorf("pids.limit %d, want 40 from maxproc:deny=40", st.Pids.Limit)
	}
	if st.Memory.Usage.Limit != 512*mib {
		t.Errorf("memory.usage.limit %d, want %d from memoryuse:deny=512m", st.Memory.Usage.Limit, 512*mib)
	}
	if st.Memory.Usage.Usage > 512*mib {
		t.Errorf("memory.usage.usage %d: three sleeping ctrhelpers use far less than 512 MiB", st.Memory.Usage.Usage)
	}
}

// TestEventsInterval runs events as go-runc's Events does
// (--interval=1s): it prints a stats event every interval while the
// container runs, and exits 0 once the container has stopped.
func TestEventsInterval(t *testing.T) {
	s := newSuite(t)
	requireRctl(t)
	c := s.newContainer("evint", nil, "sleep")
	c.cleanupRules()
	c.mustCreate()
	c.mustStart()

	out, errf := s.newFile("events.stdout"), s.newFile("events.stderr")
	done := make(chan result, 1)
	go func() {
		defer out.Close()
		defer errf.Close()
		done <- s.runjTo(out, errf, "events", "--interval=1s", c.id)
	}()
	var events []runc.Event
	eventually(t, "two stats events", func() (bool, string) {
		events = jsonLines[runc.Event](t, readFile(t, out.Name()))
		return len(events) >= 2, fmt.Sprintf("%d events; stderr %q", len(events), readFile(t, errf.Name()))
	})
	for _, e := range events[:2] {
		checkStatsEvent(t, e, c.id)
		if e.Stats.Pids.Current < 1 {
			t.Errorf("a stats event of the running container has pids.current %d", e.Stats.Pids.Current)
		}
	}

	s.mustRunj("kill", c.id, "KILL")
	r := <-done // runjTo times out on its own
	if r.code != 0 || r.err != nil {
		t.Fatalf("events after the container stopped: want exit 0, got %v", r)
	}
	for _, e := range jsonLines[runc.Event](t, r.stdout) {
		checkStatsEvent(t, e, c.id)
	}
	if st := c.state(); st.Status != specs.StateStopped {
		t.Errorf("events exited, status %s, want stopped", st.Status)
	}
}

// TestFeatures reads the features document: the OCI versions, the hooks
// runj-go runs, the annotations it honours, and exactly what the runtime's
// own tables say (oci.Features), for the version it reports; the test
// binary and RUNJ_GO_BINARY must come from the same tree, as make
// integration builds them.
func TestFeatures(t *testing.T) {
	s := newSuite(t)
	r := s.mustRunj("features")
	var got features.Features
	if err := json.Unmarshal([]byte(r.stdout), &got); err != nil {
		t.Fatalf("features: %v\n%s", err, r.stdout)
	}
	if got.OCIVersionMin != "1.0.0" || got.OCIVersionMax != specs.Version {
		t.Errorf("ociVersionMin %q, ociVersionMax %q; want 1.0.0 and %s", got.OCIVersionMin, got.OCIVersionMax, specs.Version)
	}
	if want := []string{"prestart", "createRuntime", "createContainer", "startContainer", "poststart", "poststop"}; !slices.Equal(got.Hooks, want) {
		t.Errorf("hooks %q, want %q", got.Hooks, want)
	}
	for _, o := range []string{"ro", "nosuid", "noexec", "bind"} {
		if !slices.Contains(got.MountOptions, o) {
			t.Errorf("mountOptions %q lack %q", got.MountOptions, o)
		}
	}
	version := got.Annotations["org.freebsd.runj-go.version"]
	if version == "" {
		t.Errorf("annotations %v: no org.freebsd.runj-go.version", got.Annotations)
	}
	if honoured := strings.Split(got.Annotations["org.freebsd.runj-go.annotations.honoured"], ","); !slices.Contains(honoured, rctl.Annotation) {
		t.Errorf("honoured annotations %q lack %s, which create applies", honoured, rctl.Annotation)
	}
	want, err := json.Marshal(oci.Features(version))
	if err != nil {
		t.Fatal(err)
	}
	norm, err := json.Marshal(got)
	if err != nil {
		t.Fatal(err)
	}
	if string(norm) != string(want) {
		t.Errorf("features printed\n%s\nwant what oci.Features says\n%s", norm, want)
	}
}

// TestGoRunc drives the resource commands through go-runc itself, as
// containerd's runc shim calls them for the task API: Ps (Pids), Top,
// Pause, Resume, State, Features and, with rctl, Update and Stats.
func TestGoRunc(t *testing.T) {
	s := newSuite(t)
	c := s.newContainer("gorunc", nil, "spawn", "1")
	c.cleanupRules()
	jid, ps := spawned(t, c, 1)
	want := sortedPids(ps)
	rc := &runc.Runc{Command: s.bin, Root: s.root}
	ctx, cancel := context.WithTimeout(context.Background(), 2*cmdTimeout)
	defer cancel()

	got, err := rc.Ps(ctx, c.id)
	if err != nil {
		t.Fatalf("go-runc Ps: %v", err)
	}
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Errorf("go-runc Ps: %v, want %v", got, want)
	}
	// Top always passes its psOptions argument, "" when there are none:
	// `ps --format table ID ""`.
	if top, err := rc.Top(ctx, c.id, ""); err != nil {
		t.Errorf("go-runc Top(ctx, id, \"\"): %v", err)
	} else if col := slices.Index(top.Headers, "PID"); col < 0 {
		t.Errorf("go-runc Top: headers %q have no PID", top.Headers)
	} else {
		var got []int
		for _, row := range top.Processes {
			pid, _ := strconv.Atoi(row[col])
			got = append(got, pid)
		}
		slices.Sort(got)
		if !slices.Equal(got, want) {
			t.Errorf("go-runc Top: PID column %v, want %v", got, want)
		}
	}

	if err := rc.Pause(ctx, c.id); err != nil {
		t.Fatalf("go-runc Pause: %v", err)
	}
	if st, err := rc.State(ctx, c.id); err != nil || st.Status != "paused" {
		t.Errorf("go-runc State after Pause: %+v, %v; want paused", st, err)
	}
	allStopped(t, jid)
	if err := rc.Resume(ctx, c.id); err != nil {
		t.Fatalf("go-runc Resume: %v", err)
	}
	if st, err := rc.State(ctx, c.id); err != nil || st.Status != "running" {
		t.Errorf("go-runc State after Resume: %+v, %v; want running", st, err)
	}

	f, err := rc.Features(ctx)
	if err != nil {
		t.Fatalf("go-runc Features: %v", err)
	}
	if f.OCIVersionMax != specs.Version || len(f.Hooks) == 0 {
		t.Errorf("go-runc Features: ociVersionMax %q, hooks %q", f.OCIVersionMax, f.Hooks)
	}

	if ok, why := rctlAvailable(t); !ok {
		t.Logf("not testing go-runc Update and Stats: %s", why)
		return
	}
	limit := int64(25)
	if err := rc.Update(ctx, c.id, &specs.LinuxResources{Pids: &specs.LinuxPids{Limit: &limit}}); err != nil {
		t.Fatalf("go-runc Update: %v", err)
	}
	checkRules(t, c.jail, "maxproc:deny=25")
	st, err := rc.Stats(ctx, c.id)
	if err != nil {
		t.Fatalf("go-runc Stats: %v", err)
	}
	if st.Pids.Limit != 25 || st.Pids.Current != uint64(len(liveInJail(t, jid))) {
		t.Errorf("go-runc Stats: pids %+v, want limit 25 and the jail's %d processes", st.Pids, len(ps))
	}
}

// TestRacctDisabled checks what a host without racct gives: commands that
// need rctl fail with an error that names kern.racct.enable, and a
// container stays deletable after one failed (and a create that failed
// leaves nothing behind). It runs only where rctl is unavailable.
func TestRacctDisabled(t *testing.T) {
	newSuite(t) // skips unless root, which the rctl calls need
	if ok, why := rctlAvailable(t); ok {
		t.Skipf("%s: the rctl tests ran instead", why)
	}
	t.Run("update", func(t *testing.T) {
		s := newSuite(t)
		c := s.newContainer("noracct", nil, "sleep")
		c.mustCreate()
		c.mustStart()
		s.failsWith("kern.racct.enable", "update", "--memory", "67108864", c.id)
		s.failsWith("kern.racct.enable", "events", "--stats", c.id)
		if st := c.state(); st.Status != specs.StateRunning {
			t.Errorf("after the failed update: status %s, want running", st.Status)
		}
		// No rule was added, so none is left to remove: delete must not
		// need rctl either.
		if r := s.runj("delete", "--force", c.id); r.code != 0 || r.err != nil {
			t.Fatalf("delete --force after a failed update: %v", r)
		}
		c.checkGone()
	})
	t.Run("update from stdin", func(t *testing.T) {
		s := newSuite(t)
		c := s.newContainer("noracct", nil, "sleep")
		c.mustCreate()
		c.mustStart()
		r := s.runjInput(`{"pids":{"limit":10}}`+"\n", "update", "--resources=-", c.id)
		if r.code != 1 || r.err != nil || !strings.Contains(r.stderr, "kern.racct.enable") {
			t.Errorf("want exit 1 and kern.racct.enable on stderr, got %v", r)
		}
		if r := s.runj("delete", "--force", c.id); r.code != 0 || r.err != nil {
			t.Fatalf("delete --force after a failed update: %v", r)
		}
		c.checkGone()
	})
	t.Run("create with rules", func(t *testing.T) {
		s := newSuite(t)
		c := s.newContainer("noracct", func(sp *specs.Spec) {
			sp.Annotations = map[string]string{rctl.Annotation: "maxproc:deny=20"}
		}, "sleep")
		r := c.create()
		stderr := readFile(t, c.stderr)
		if r.code != 1 || r.err != nil || !strings.Contains(stderr, "kern.racct.enable") {
			t.Fatalf("want exit 1 and kern.racct.enable on stderr, got %v\nstderr: %s", r, stderr)
		}
		c.checkGone()
	})
}
