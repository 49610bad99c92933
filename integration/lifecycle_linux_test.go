//go:build linux

package integration

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// TestLifecycle walks one container through create, state, list, start,
// its exit, delete, and checks the process it ran and the kernel
// operations in order.
func TestLifecycle(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	umask := uint32(0o027)
	bundle := e.bundle(func(s *specs.Spec) {
		s.Process.Env = []string{"PATH=/bin", "GREETING=hello world", "EMPTY="}
		s.Process.Cwd = "/work"
		s.Process.User = specs.User{UID: 1000, GID: 1001, AdditionalGids: []uint32{10, 20}, Umask: &umask}
		// Go programs raise their own soft NOFILE limit to hard-1 when it
		// is lower (syscall/rlimit.go), so ctrhelper sees soft = hard-1
		// exactly when the runtime set these limits.
		s.Process.Rlimits = []specs.POSIXRlimit{{Type: "RLIMIT_NOFILE", Hard: 300, Soft: 299}}
		s.Process.NoNewPrivileges = true
		s.Annotations = map[string]string{"com.example.owner": "e2e"}
	}, "print", "two words", "")
	// A relative --bundle is made absolute.
	rel, err := filepath.Rel(mustGetwd(t), bundle)
	if err != nil {
		t.Fatal(err)
	}
	created := e.create("c1", rel)
	if created.stdout != "" {
		t.Errorf("create printed %q, want nothing before start", created.stdout)
	}

	st := e.state("c1")
	if st.ID != "c1" || st.Status != "created" || st.Bundle != bundle || st.Rootfs != filepath.Join(bundle, "rootfs") {
		t.Errorf("state after create = %+v, want id c1, created, bundle %s", st, bundle)
	}
	if st.OCIVersion != specs.Version {
		t.Errorf("state ociVersion = %q, want %q", st.OCIVersion, specs.Version)
	}
	if st.Pid <= 0 || !alive(st.Pid) {
		t.Errorf("state pid = %d, want the live init process", st.Pid)
	}
	if _, err := time.Parse(time.RFC3339Nano, st.Created); err != nil {
		t.Errorf("state created = %q: %v", st.Created, err)
	}
	if st.Annotations["com.example.owner"] != "e2e" {
		t.Errorf("state annotations = %v, want the bundle's", st.Annotations)
	}
	// create looks the name up (it must be free), creates the jail and
	// attaches init to it.
	ops := e.checkOps(0, createOps...)
	if ops[0].Name != "c1" {
		t.Errorf("create looked up jail %q, want c1", ops[0].Name)
	}
	if jid := strconv.Itoa(ops[2].Jid); st.Annotations["org.freebsd.jail.jid"] != jid {
		t.Errorf("annotation org.freebsd.jail.jid = %q, want %s (the jail attached to)", st.Annotations["org.freebsd.jail.jid"], jid)
	}
	checkJailSet(t, e, ops[1], "c1", bundle)

	checkList(t, e, st)

	e.mustRunj("start", "c1")
	out := waitOutput(t, created.outPath)
	rep := parseReport(t, out)
	if want := []string{"ctrhelper", "print", "two words", ""}; !slices.Equal(rep.Args, want) {
		t.Errorf("process args = %q, want %q", rep.Args, want)
	}
	if want := []string{"PATH=/bin", "GREETING=hello world", "EMPTY="}; !slices.Equal(rep.Env, want) {
		t.Errorf("process env = %q, want exactly %q", rep.Env, want)
	}
	if rep.Cwd != "/work" {
		t.Errorf("process cwd = %q, want /work (inside the jail's root)", rep.Cwd)
	}
	if rep.UID != 1000 || rep.GID != 1001 || !slices.Equal(rep.Groups, []int{10, 20}) {
		t.Errorf("process uid/gid/groups = %d/%d/%v, want 1000/1001/[10 20]", rep.UID, rep.GID, rep.Groups)
	}
	if rep.Umask != 0o027 {
		t.Errorf("process umask = %#o, want 027", rep.Umask)
	}
	if rep.NoFile != [2]uint64{299, 300} {
		t.Errorf("process RLIMIT_NOFILE = %v, want [299 300]", rep.NoFile)
	}
	if !slices.Equal(rep.OpenFds, []int{0, 1, 2}) {
		t.Errorf("process open fds = %v, want only stdio", rep.OpenFds)
	}
	if rep.Pid != st.Pid || rep.SessionID != st.Pid {
		t.Errorf("process pid/sid = %d/%d, want init's pid %d (init executes the process, as a session leader)", rep.Pid, rep.SessionID, st.Pid)
	}
	if rep.Tty {
		t.Error("process has a terminal, want none")
	}

	stopped := e.waitStatus("c1", "stopped")
	if stopped.Pid != 0 {
		t.Errorf("state pid of a stopped container = %d, want none", stopped.Pid)
	}
	if stopped.Annotations["org.freebsd.jail.jid"] != st.Annotations["org.freebsd.jail.jid"] {
		t.Errorf("stopped annotations = %v", stopped.Annotations)
	}
	if r := e.mustRunj("delete", "c1"); r.stdout != "" || r.stderr != "" {
		t.Errorf("delete printed %s", r)
	}
	e.checkGone("c1")
	ops = e.checkOps(0, slices.Concat(createOps, deleteOps)...)
	if ops[3].Name != "c1" || ops[4].Jid != ops[2].Jid {
		t.Errorf("delete looked up %q and removed jid %d, want c1 and %d", ops[3].Name, ops[4].Jid, ops[2].Jid)
	}
	e.checkNoJails()
	if r := e.mustRunj("list", "-q"); r.stdout != "" {
		t.Errorf("list -q after delete = %q, want nothing", r.stdout)
	}
}

func mustGetwd(t *testing.T) string {
	t.Helper()
	wd, err := filepath.Abs(".")
	if err != nil {
		t.Fatal(err)
	}
	return wd
}

// checkJailSet checks the parameters create gave jail_set: the name and
// path, the defaults DESIGN.md documents, and exactly what `runj-go plan`
// shows for the bundle.
func checkJailSet(t *testing.T, e *env, op kernelOp, id, bundle string) {
	t.Helper()
	if op.Name != id {
		t.Errorf("jail_set name = %q, want %q", op.Name, id)
	}
	got := jsonParams(t, op.Params)
	want := map[string]any{
		"name": id, "path": filepath.Join(bundle, "rootfs"), "persist": true,
		"ip4": "inherit", "ip6": "inherit", "host": "inherit",
		"sysvmsg": "new", "sysvsem": "new", "sysvshm": "new",
		"enforce_statfs": json.Number("2"),
	}
	for name, v := range want {
		if g, ok := paramValue(got, name); !ok || g != v {
			t.Errorf("jail_set %s = %v (set: %t), want %v", name, g, ok, v)
		}
	}
	if len(got) < 3 || got[0].Name != "name" || got[1].Name != "path" {
		t.Errorf("jail_set params = %v, want name and path first", got)
	}
	plan := e.mustRunj("plan", "--format", "json", "--bundle", bundle, id)
	var p struct {
		Jail struct {
			Params json.RawMessage `json:"params"`
		} `json:"jail"`
	}
	if err := json.Unmarshal([]byte(plan.stdout), &p); err != nil {
		t.Fatalf("plan: %v\n%s", err, plan.stdout)
	}
	if planned := jsonParams(t, p.Jail.Params); !slices.EqualFunc(got, planned, func(a, b param) bool { return a == b }) {
		t.Errorf("jail_set params differ from the plan:\n got  %v\n plan %v", got, planned)
	}
}

// checkList checks list in its three formats against state.
func checkList(t *testing.T, e *env, st ociState) {
	t.Helper()
	r := e.mustRunj("list", "--format", "json")
	// The fields go-runc's Container decodes, with their JSON types.
	var raw []map[string]json.RawMessage
	if err := json.Unmarshal([]byte(r.stdout), &raw); err != nil || len(raw) != 1 {
		t.Fatalf("list --format json = %q (%v), want one container", r.stdout, err)
	}
	var got struct {
		ID          string            `json:"id"`
		Pid         int               `json:"pid"`
		Status      string            `json:"status"`
		Bundle      string            `json:"bundle"`
		Rootfs      string            `json:"rootfs"`
		Created     time.Time         `json:"created"`
		Annotations map[string]string `json:"annotations"`
	}
	for _, k := range []string{"id", "pid", "status", "bundle", "rootfs", "created", "annotations"} {
		if _, ok := raw[0][k]; !ok {
			t.Errorf("list --format json: no %q in %s", k, r.stdout)
		}
	}
	data, _ := json.Marshal(raw[0])
	if err := json.Unmarshal(data, &got); err != nil {
		t.Fatalf("list --format json: %v\n%s", err, r.stdout)
	}
	created, _ := time.Parse(time.RFC3339Nano, st.Created)
	if got.ID != st.ID || got.Pid != st.Pid || got.Status != "created" || got.Bundle != st.Bundle ||
		got.Rootfs != st.Rootfs || !got.Created.Equal(created) || got.Annotations["org.freebsd.jail.jid"] == "" {
		t.Errorf("list --format json = %+v, want the state %+v", got, st)
	}

	r = e.mustRunj("list")
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	if len(lines) != 2 || !slices.Equal(strings.Fields(lines[0]), []string{"ID", "PID", "STATUS", "BUNDLE", "CREATED"}) {
		t.Fatalf("list = %q, want a header and one row", r.stdout)
	}
	if f := strings.Fields(lines[1]); len(f) != 5 || f[0] != st.ID || f[1] != strconv.Itoa(st.Pid) || f[2] != "created" || f[3] != st.Bundle || f[4] != st.Created {
		t.Errorf("list row = %q, want %s %d created %s %s", lines[1], st.ID, st.Pid, st.Bundle, st.Created)
	}

	if r = e.mustRunj("list", "-q"); r.stdout != st.ID+"\n" {
		t.Errorf("list -q = %q, want %q", r.stdout, st.ID+"\n")
	}
}

// TestListMany lists several containers, sorted, in every format, and an
// empty root.
func TestListMany(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	if r := e.mustRunj("list", "--format", "json"); strings.TrimSpace(r.stdout) != "[]" {
		t.Errorf("list --format json of an empty root = %q, want []", r.stdout)
	}
	b := e.bundle(nil, "sleep")
	for _, id := range []string{"web", "db", "cache"} {
		e.create(id, b)
	}
	e.mustRunj("start", "db")
	if r := e.mustRunj("list", "-q"); r.stdout != "cache\ndb\nweb\n" {
		t.Errorf("list -q = %q, want cache, db, web", r.stdout)
	}
	var all []ociState
	r := e.mustRunj("list", "--format=json")
	if err := json.Unmarshal([]byte(r.stdout), &all); err != nil || len(all) != 3 {
		t.Fatalf("list --format=json = %q (%v)", r.stdout, err)
	}
	for _, s := range all {
		want := "created"
		if s.ID == "db" {
			want = "running"
		}
		if s.Status != want || s.Pid == 0 {
			t.Errorf("list: %s is %s pid %d, want %s with a pid", s.ID, s.Status, s.Pid, want)
		}
	}
	e.fails("--format", "list", "--format", "yaml")
}

// TestCredentials checks the credentials of running container processes
// from the host (/proc/PID/status), for several containers: on Linux
// setgroups(2) and no_new_privs are per thread, and init must set them on
// the thread that executes the process.
func TestCredentials(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	b := e.bundle(func(s *specs.Spec) {
		s.Process.User = specs.User{UID: 1000, GID: 1001, AdditionalGids: []uint32{10, 20}}
		s.Process.NoNewPrivileges = true
	}, "sleep")
	want := map[string]string{
		"Uid":        "1000\t1000\t1000\t1000",
		"Gid":        "1001\t1001\t1001\t1001",
		"Groups":     "10 20",
		"NoNewPrivs": "1",
	}
	// Several containers, concurrently: which thread executes the
	// process is up to the Go scheduler.
	var wg sync.WaitGroup
	for i := range 8 {
		id := "c" + strconv.Itoa(i)
		wg.Go(func() {
			for _, args := range [][]string{{"create", "--bundle", b, id}, {"start", id}} {
				if r := e.runj(args...); r.code != 0 {
					t.Errorf("%s", r)
					return
				}
			}
		})
	}
	wg.Wait()
	for i := range 8 {
		id := "c" + strconv.Itoa(i)
		pid := e.state(id).Pid
		status := readFile(t, "/proc/"+strconv.Itoa(pid)+"/status")
		for k, v := range want {
			if got := statusField(status, k); got != v {
				t.Errorf("%s: %s of the process = %q, want %q", id, k, got, v)
			}
		}
	}
}

// statusField returns a field of /proc/PID/status.
func statusField(status, name string) string {
	for _, line := range strings.Split(status, "\n") {
		if v, ok := strings.CutPrefix(line, name+":"); ok {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// TestListCreating: a container whose create has not saved its state yet
// (or died before it did) lists in a shape go-runc decodes, and delete
// --force removes it.
func TestListCreating(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.create("done", e.bundle(nil, "sleep"))
	// What the state store leaves when create dies right after it made
	// the container's directory: the directory and its lock file.
	if err := os.Mkdir(filepath.Join(e.root, "early"), 0o711); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(e.root, "early", "lock"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	r := e.mustRunj("list", "--format", "json")
	var list []struct {
		ID      string    `json:"id"`
		Status  string    `json:"status"`
		Created time.Time `json:"created"` // as go-runc decodes it
	}
	if err := json.Unmarshal([]byte(r.stdout), &list); err != nil {
		t.Fatalf("list --format json does not decode as go-runc's containers: %v\n%s", err, r.stdout)
	}
	if len(list) != 2 || list[0].ID != "done" || list[1].ID != "early" || list[1].Status != "creating" {
		t.Errorf("list = %+v, want done and early (creating)", list)
	}
	e.mustRunj("delete", "--force", "early")
	e.checkGone("early")
}
