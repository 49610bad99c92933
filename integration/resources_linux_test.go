//go:build linux

package integration

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"

	runc "github.com/containerd/go-runc"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"github.com/opencontainers/runtime-spec/specs-go/features"
)

// The end-to-end tests of runc's resource commands (issue 7): ps,
// pause/resume, update, events and features. rctl rules are recorded by
// the simulated kernel, which answers racct from the jail's real
// processes: maxproc is their number, memoryuse their resident sets.

// goRunc is go-runc's client for e's runtime, and the context that hands
// the runtime e's simulated kernel.
func (e *env) goRunc() (*runc.Runc, context.Context) {
	r := &runc.Runc{Command: runjBin, Root: e.root}
	return r, runc.WithExtraEnv(withTimeout(e.t), append([]string{"RUNJ_GO_SIMKERNEL_DIR=" + e.simDir}, e.extra...)...)
}

func rctlAdd(rule string) simOp    { return simOp{Op: "rctl_add_rule", Name: rule} }
func rctlRemove(rule string) simOp { return simOp{Op: "rctl_remove_rule", Name: rule} }

func (e *env) checkRules(jail string, want ...string) {
	e.t.Helper()
	if got := e.simTable().Rctl[jail]; !slices.Equal(got, want) {
		e.t.Errorf("rctl rules of jail %s = %q, want %q", jail, got, want)
	}
}

// psJSON runs `ps --format json` and returns the pids, sorted.
func (e *env) psJSON(id string) []int {
	e.t.Helper()
	r := e.mustRunj("ps", "--format", "json", id)
	var pids []int
	if err := json.Unmarshal([]byte(r.stdout), &pids); err != nil {
		e.t.Fatalf("ps --format json: %v\n%s", err, r.stdout)
	}
	slices.Sort(pids)
	return pids
}

// psTable runs `ps` and reads it as go-runc's ParsePSOutput does: the
// column whose header is PID holds the pids.
func (e *env) psTable(id string) []int {
	e.t.Helper()
	r := e.mustRunj("ps", id)
	lines := strings.Split(strings.TrimSuffix(r.stdout, "\n"), "\n")
	col := slices.Index(strings.Fields(lines[0]), "PID")
	if col < 0 {
		e.t.Fatalf("ps: no PID column in the header %q", lines[0])
	}
	var pids []int
	for _, l := range lines[1:] {
		f := strings.Fields(l)
		if len(f) <= col {
			e.t.Fatalf("ps: row %q has no PID column", l)
		}
		pid, err := strconv.Atoi(f[col])
		if err != nil {
			e.t.Fatalf("ps: row %q: %v", l, err)
		}
		pids = append(pids, pid)
	}
	slices.Sort(pids)
	return pids
}

func sorted(pids []int) []int {
	pids = slices.Clone(pids)
	slices.Sort(pids)
	return pids
}

// TestPs: ps lists exactly the container's processes, as JSON (go-runc's
// Ps) and as a table with a PID column (go-runc's Top).
func TestPs(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.create("c1", e.bundle(nil, "spawn", "3"))
	st := e.state("c1")
	// Before start: init, waiting to execute the process.
	if got := e.psJSON("c1"); !slices.Equal(got, []int{st.Pid}) {
		t.Errorf("ps --format json of a created container = %v, want init %d", got, st.Pid)
	}
	e.mustRunj("start", "c1")
	var members []int
	waitFor(t, "the process and its 3 children", func() bool {
		members = sessionMembers(t, st.Pid)
		return len(members) == 4
	})
	want := sorted(members)
	if got := e.psJSON("c1"); !slices.Equal(got, want) {
		t.Errorf("ps --format json = %v, want %v", got, want)
	}
	if got := e.psTable("c1"); !slices.Equal(got, want) {
		t.Errorf("ps = %v, want %v", got, want)
	}

	r, ctx := e.goRunc()
	pids, err := r.Ps(ctx, "c1")
	if err != nil || !slices.Equal(sorted(pids), want) {
		t.Errorf("go-runc Ps = %v, %v; want %v", pids, err, want)
	}
	top, err := r.Top(ctx, "c1", "")
	if err != nil {
		t.Fatalf("go-runc Top: %v", err)
	}
	col := slices.Index(top.Headers, "PID")
	var topPids []int
	for _, p := range top.Processes {
		if col < 0 || len(p) != len(top.Headers) {
			t.Fatalf("go-runc Top = %+v", top)
		}
		pid, _ := strconv.Atoi(p[col])
		topPids = append(topPids, pid)
	}
	if !slices.Equal(sorted(topPids), want) {
		t.Errorf("go-runc Top pids = %v, want %v", topPids, want)
	}
	if _, err := r.Top(ctx, "c1", "-ef"); err == nil || !strings.Contains(err.Error(), "not supported") {
		t.Errorf("go-runc Top with ps options = %v, want them refused", err)
	}

	e.mustRunj("kill", "--all", "c1", "KILL")
	e.waitStatus("c1", "stopped")
	if got := e.psJSON("c1"); len(got) != 0 {
		t.Errorf("ps of the stopped container = %v, want none", got)
	}
}

// threadStates returns the state letter of every thread of pid
// (/proc/PID/task/TID/stat, proc(5)), "" for a thread that went.
func threadStates(t *testing.T, pid int) string {
	t.Helper()
	tasks, err := os.ReadDir(fmt.Sprintf("/proc/%d/task", pid))
	if err != nil {
		t.Fatal(err)
	}
	var states strings.Builder
	for _, task := range tasks {
		data, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%s/stat", pid, task.Name()))
		if err != nil {
			continue
		}
		// pid (comm) state ...: comm may hold anything but the last ')'.
		s := string(data)
		i := strings.LastIndexByte(s, ')')
		if i < 0 || i+2 >= len(s) {
			t.Fatalf("/proc/%d/task/%s/stat: %q", pid, task.Name(), s)
		}
		states.WriteByte(s[i+2])
	}
	return states.String()
}

// forkCount is the number of children `ctrhelper forkloop` has seen end,
// from the last complete line of its output.
func forkCount(t *testing.T, path string) int {
	t.Helper()
	out := readFile(t, path)
	out = out[:strings.LastIndexByte(out, '\n')+1]
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	n, _ := strconv.Atoi(strings.Fields(lines[len(lines)-1] + " 0")[0])
	return n
}

// TestPauseResume: pause stops every process of a container whose
// process keeps forking, every thread of each; state and list say paused;
// exec and a plain delete fail; resume continues them; delete --force
// removes a paused container.
func TestPauseResume(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	created := e.create("c1", e.bundle(nil, "forkloop"))
	st := e.state("c1")
	e.mustRunj("start", "c1")
	waitFor(t, "forkloop to fork", func() bool { return forkCount(t, created.outPath) >= 20 })

	e.mustRunj("pause", "c1")
	if s := e.state("c1"); s.Status != "paused" || s.Pid != st.Pid {
		t.Errorf("state after pause = %+v, want paused", s)
	}
	var listed []ociState
	if r := e.mustRunj("list", "--format", "json"); json.Unmarshal([]byte(r.stdout), &listed) != nil || len(listed) != 1 || listed[0].Status != "paused" {
		t.Errorf("list after pause = %s, want c1 paused", r.stdout)
	}
	members := sessionMembers(t, st.Pid)
	if len(members) == 0 {
		t.Fatal("no processes in the paused container")
	}
	// Every thread is stopped (T), or in an uninterruptible wait in the
	// kernel (D) that it leaves only to stop: on Linux, the parent of a
	// vfork(2) child that was stopped before it could exec.
	for _, p := range members {
		if s := threadStates(t, p); strings.Trim(s, "TD") != "" {
			t.Errorf("process %d of the paused container: thread states %q, want each T (stopped) or D", p, s)
		}
	}
	// Nothing forks any more: a second look finds the same processes,
	// and ps shows them.
	if again := sessionMembers(t, st.Pid); !slices.Equal(sorted(again), sorted(members)) {
		t.Errorf("processes of the paused container changed from %v to %v", members, again)
	}
	if got := e.psJSON("c1"); !slices.Equal(got, sorted(members)) {
		t.Errorf("ps of the paused container = %v, want %v", got, sorted(members))
	}
	count := forkCount(t, created.outPath)

	e.fails("cannot exec in a paused container", "exec", "c1", "ctrhelper", "echo", "hi")
	before := e.snapshot("c1")
	e.fails("cannot delete container c1 that is not stopped: paused", "delete", "c1")
	e.checkUnchanged(before, "c1")
	if n := forkCount(t, created.outPath); n != count {
		t.Errorf("forkloop went on from %d to %d while paused", count, n)
	}

	e.mustRunj("resume", "c1")
	if s := e.state("c1"); s.Status != "running" {
		t.Errorf("state after resume = %+v, want running", s)
	}
	waitFor(t, "forkloop to fork again", func() bool { return forkCount(t, created.outPath) > count+10 })
	e.fails("is not paused", "resume", "c1")

	// delete --force works on a paused container.
	e.mustRunj("pause", "c1")
	e.mustRunj("delete", "--force", "c1")
	e.checkGone("c1")
	e.checkNoJails()
	if left := sessionMembers(t, st.Pid); len(left) != 0 {
		t.Errorf("processes %v left after delete --force of a paused container", left)
	}
}

// TestUpdate: update applies LinuxResources as rctl rules, from the JSON
// go-runc sends on stdin and from flags; -1 removes a limit; settings
// without a FreeBSD counterpart are warnings on stderr; delete removes the
// rules.
func TestUpdate(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.create("c1", e.bundle(nil, "sleep"))
	e.mustRunj("start", "c1")

	from := len(e.ops())
	resources := `{"memory":{"limit":268435456,"swap":536870912},"cpu":{"shares":1024,"quota":50000,"period":100000},"pids":{"limit":50},"blockIO":{"weight":10}}`
	r := e.runjWith(cmdOpts{stdin: strings.NewReader(resources)}, "update", "--resources", "-", "c1")
	if r.code != 0 {
		t.Fatalf("%s", r)
	}
	for _, w := range []string{
		"memory.swap: not applied", "cpu.shares: not applied", "blockIO.weight: not applied",
	} {
		if !strings.Contains(r.stderr, w) || !strings.Contains(r.stderr, "level=warning") {
			t.Errorf("%s\nwant the warning %q", r, w)
		}
	}
	if n := strings.Count(r.stderr, "\n"); n != 3 {
		t.Errorf("%s\nwant 3 warnings, got %d lines", r, n)
	}
	e.checkOpsExact(from,
		rctlAdd("jail:c1:memoryuse:deny=268435456"),
		rctlAdd("jail:c1:pcpu:deny=50"),
		rctlAdd("jail:c1:maxproc:deny=50"),
	)
	e.checkRules("c1", "jail:c1:memoryuse:deny=268435456", "jail:c1:pcpu:deny=50", "jail:c1:maxproc:deny=50")

	// Flags: a new memory limit replaces the old; -1 removes a limit.
	from = len(e.ops())
	if r := e.mustRunj("update", "--memory", "536870912", "--cpu-quota", "-1", "--pids-limit", "-1", "c1"); r.stderr != "" {
		t.Errorf("%s\nwant no warning", r)
	}
	e.checkOpsExact(from,
		rctlRemove("jail:c1:pcpu:deny=/jail"),
		rctlRemove("jail:c1:maxproc:deny=/jail"),
		rctlAdd("jail:c1:memoryuse:deny=536870912"),
	)
	e.checkRules("c1", "jail:c1:memoryuse:deny=536870912")

	// go-runc's Update, as containerd's shim calls it.
	rc, ctx := e.goRunc()
	limit := int64(7)
	from = len(e.ops())
	if err := rc.Update(ctx, "c1", &specs.LinuxResources{Pids: &specs.LinuxPids{Limit: &limit}}); err != nil {
		t.Fatalf("go-runc Update: %v", err)
	}
	e.checkOpsExact(from, rctlAdd("jail:c1:maxproc:deny=7"))
	e.checkRules("c1", "jail:c1:memoryuse:deny=536870912", "jail:c1:maxproc:deny=7")

	from = len(e.ops())
	e.mustRunj("delete", "--force", "c1")
	e.checkOpsExact(from, rctlRemove("jail:c1"), jailGet("c1"), jailRemove(1))
	e.checkRules("c1")
	e.fails("container does not exist", "update", "--pids-limit", "5", "c1")
}

// TestRctlAtCreate: linux.resources and the org.freebsd.rctl annotation
// become rctl rules right after jail_set, the annotation's rule replacing
// linux.resources' for the same resource; plan shows them; delete removes
// them.
func TestRctlAtCreate(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	memory, pids, shares := int64(1<<30), int64(20), uint64(1024)
	b := e.bundle(func(s *specs.Spec) {
		s.Annotations = map[string]string{"org.freebsd.rctl": "memoryuse:deny=512m,maxproc:deny=100,openfiles:deny=1024"}
		s.Linux = &specs.Linux{Resources: &specs.LinuxResources{
			Memory: &specs.LinuxMemory{Limit: &memory},
			Pids:   &specs.LinuxPids{Limit: &pids},
			CPU:    &specs.LinuxCPU{Shares: &shares},
		}}
	}, "sleep")
	rules := []string{"jail:c1:memoryuse:deny=536870912", "jail:c1:maxproc:deny=100", "jail:c1:openfiles:deny=1024"}
	if p := e.plan(b, "c1"); !slices.Equal(p.Rctl, rules) {
		t.Errorf("plan rctl = %q, want %q", p.Rctl, rules)
	}
	r := e.create("c1", b)
	if !strings.Contains(r.stderr, "linux.resources.cpu.shares: not applied") {
		t.Errorf("%s\nwant a warning for cpu.shares", r)
	}
	e.checkOpsExact(0,
		jailGetMissing("c1"), e.jailSetOp(b, "c1"),
		rctlAdd(rules[0]), rctlAdd(rules[1]), rctlAdd(rules[2]),
		jailAttach(1),
	)
	e.checkRules("c1", rules...)
	from := len(e.ops())
	e.mustRunj("delete", "--force", "c1")
	e.checkOpsExact(from, rctlRemove("jail:c1"), jailGet("c1"), jailRemove(1))
	e.checkRules("c1")
}

// TestRctlInvalidAnnotation: plan and create refuse an org.freebsd.rctl
// rule rctl would not take, naming the annotation, before any kernel
// operation.
func TestRctlInvalidAnnotation(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ value, want string }{
		{"memoryuse:deny=lots", `"memoryuse:deny=lots": amount "lots"`},
		{"maxproc:deny=10,bogus:deny=1", `[1]: "bogus:deny=1": unknown resource "bogus"`},
		{"maxproc:explode=1", `"maxproc:explode=1"`},
	} {
		t.Run(tc.value, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			b := e.bundle(func(s *specs.Spec) { s.Annotations = map[string]string{"org.freebsd.rctl": tc.value} }, "sleep")
			for _, cmd := range [][]string{{"plan", "--format", "json", "--bundle", b, "c1"}, {"create", "--bundle", b, "c1"}} {
				r := e.fails(`config.json: annotations["org.freebsd.rctl"]`, cmd...)
				if !strings.Contains(r.stderr, tc.want) {
					t.Errorf("%s\nwant %q", r, tc.want)
				}
			}
			e.checkOpsExact(0)
			e.checkRootEmpty()
		})
	}
}

// TestStats: events --stats prints one event in go-runc's shape with the
// number of processes and the limits of the rules.
func TestStats(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.create("c1", e.bundle(nil, "spawn", "3"))
	st := e.state("c1")
	e.mustRunj("start", "c1")
	waitFor(t, "the process and its 3 children", func() bool { return len(sessionMembers(t, st.Pid)) == 4 })
	e.mustRunj("update", "--memory", "1073741824", "--pids-limit", "10", "c1")

	r := e.mustRunj("events", "--stats", "c1")
	if strings.Count(r.stdout, "\n") != 1 {
		t.Fatalf("events --stats = %q, want one line", r.stdout)
	}
	var ev runc.Event
	if err := json.Unmarshal([]byte(r.stdout), &ev); err != nil || ev.Stats == nil {
		t.Fatalf("events --stats = %q: %v", r.stdout, err)
	}
	if s := ev.Stats; ev.Type != "stats" || ev.ID != "c1" || s.Pids.Current != 4 || s.Pids.Limit != 10 ||
		s.Memory.Usage.Limit != 1<<30 || s.Memory.Usage.Usage == 0 {
		t.Errorf("events --stats = %+v (stats %+v), want type stats, id c1, 4 of 10 pids, memory used of 1GiB", ev, s)
	}
	// (go-runc's Stats is not used: with its default Monitor, which
	// waits for the command at once, it races the command's exit for the
	// output pipe.)

	e.mustRunj("kill", "--all", "c1", "KILL")
	e.waitStatus("c1", "stopped")
	e.fails("container not running", "events", "--stats", "c1")
}

// TestEventsInterval: without --stats, events prints a stats event every
// interval until the container stops, then exits 0.
func TestEventsInterval(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.create("c1", e.bundle(nil, "sleep"))
	e.mustRunj("start", "c1")
	cmd, wait := e.background(cmdOpts{}, "events", "--interval", "100ms", "c1")
	out := cmd.Stdout.(*os.File).Name()
	waitFor(t, "two stats events", func() bool { return strings.Count(readFile(t, out), "\n") >= 2 })
	e.mustRunj("kill", "c1", "KILL")
	r := wait()
	if r.code != 0 || r.stderr != "" {
		t.Errorf("%s\nwant exit 0 once the container stopped", r)
	}
	lines := strings.Split(strings.TrimSuffix(r.stdout, "\n"), "\n")
	for i, l := range lines {
		var ev runc.Event
		if err := json.Unmarshal([]byte(l), &ev); err != nil || ev.Type != "stats" || ev.ID != "c1" || ev.Stats == nil {
			t.Errorf("event %d = %q (%v), want a stats event of c1", i, l, err)
			continue
		}
		if i < 2 && ev.Stats.Pids.Current != 1 {
			t.Errorf("event %d: pids.current = %d, want 1", i, ev.Stats.Pids.Current)
		}
	}
	e.waitStatus("c1", "stopped")
}

// TestRacctDisabled: on a kernel with racct disabled, update, stats and a
// create with rules fail naming kern.racct.enable; the failed create is
// undone and a container that tried can still be deleted.
func TestRacctDisabled(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.extra = []string{"RUNJ_GO_SIMKERNEL_NO_RACCT=1"}
	disabled := "rctl: racct is disabled in the kernel; set kern.racct.enable=1 in /boot/loader.conf and reboot"
	e.create("c1", e.bundle(nil, "sleep"))
	from := len(e.ops())
	e.fails("kern.racct.enable", "update", "--pids-limit", "5", "c1")
	e.fails("kern.racct.enable", "events", "--stats", "c1")
	e.checkOpsExact(from, simOp{Op: "rctl_add_rule", Name: "jail:c1:maxproc:deny=5", Error: disabled})
	from = len(e.ops())
	e.mustRunj("delete", "--force", "c1")
	e.checkOpsExact(from, simOp{Op: "rctl_remove_rule", Name: "jail:c1", Error: disabled}, jailGet("c1"), jailRemove(1))
	e.checkGone("c1")

	b := e.bundle(func(s *specs.Spec) { s.Annotations = map[string]string{"org.freebsd.rctl": "maxproc:deny=10"} }, "sleep")
	from = len(e.ops())
	e.fails("kern.racct.enable", "create", "--bundle", b, "c2")
	e.checkOpsExact(from,
		jailGetMissing("c2"), e.jailSetOp(b, "c2"),
		simOp{Op: "rctl_add_rule", Name: "jail:c2:maxproc:deny=10", Error: disabled},
		simOp{Op: "rctl_remove_rule", Name: "jail:c2", Error: disabled},
		jailGet("c2"), jailRemove(2),
	)
	e.checkRootEmpty()
	e.checkNoJails()
}

// TestFeatures: features prints the runtime-spec features document.
func TestFeatures(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	r := e.mustRunj("features")
	var f features.Features
	dec := json.NewDecoder(strings.NewReader(r.stdout))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&f); err != nil {
		t.Fatalf("features: %v\n%s", err, r.stdout)
	}
	if f.OCIVersionMin != "1.0.0" || f.OCIVersionMax != "1.3.0" {
		t.Errorf("features versions %s..%s, want 1.0.0..1.3.0", f.OCIVersionMin, f.OCIVersionMax)
	}
	if want := []string{"prestart", "createRuntime", "createContainer", "startContainer", "poststart", "poststop"}; !slices.Equal(f.Hooks, want) {
		t.Errorf("features hooks = %q, want %q", f.Hooks, want)
	}
	for _, o := range []string{"ro", "rw", "nosuid", "noexec", "noatime", "bind", "rbind"} {
		if !slices.Contains(f.MountOptions, o) {
			t.Errorf("features mountOptions %q lacks %q", f.MountOptions, o)
		}
	}
	honoured := strings.Split(f.Annotations["org.freebsd.runj-go.annotations.honoured"], ",")
	for _, a := range []string{"org.freebsd.parentJail", "org.freebsd.jail.vnet", "org.freebsd.rctl"} {
		if !slices.Contains(honoured, a) {
			t.Errorf("features annotations: honoured %q lacks %q", honoured, a)
		}
	}
	if f.Annotations["org.freebsd.runj-go.version"] == "" {
		t.Errorf("features annotations = %v, want the version", f.Annotations)
	}
	e.checkRootEmpty()
	e.checkOpsExact(0)
}
