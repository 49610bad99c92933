//go:build linux

package integration

import (
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// TestCreateFailsHalfWay: init cannot attach to the jail, so create fails
// after jail_set and removes the jail and its state.
func TestCreateFailsHalfWay(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	b := e.bundle(nil, "sleep")
	e.extra = []string{"RUNJ_GO_SIMKERNEL_FAIL=jail_attach"}
	r := e.fails("jail_attach: simkernel: injected failure", "create", "--bundle", b, "c1")
	if n := strings.Count(r.stderr, "injected failure"); n != 1 {
		t.Errorf("%s\nwant the error once, got it %d times", r, n)
	}
	e.checkRootEmpty()
	e.checkNoJails()
	ops := e.checkOps(0, "jail_get!", "jail_set", "jail_attach!", "jail_get", "jail_remove")
	if ops[4].Jid != ops[2].Jid || ops[3].Name != "c1" {
		t.Errorf("undo removed jail %d (%s), want %d (c1)", ops[4].Jid, ops[3].Name, ops[2].Jid)
	}
	if p := processesUnder(b); len(p) != 0 {
		t.Errorf("processes %v left", p)
	}
}

// TestDeleteFinishesFailedCreate: create fails and so does its undo, which
// leaves the container's state; delete --force finishes the job.
func TestDeleteFinishesFailedCreate(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	b := e.bundle(nil, "sleep")
	e.extra = []string{"RUNJ_GO_SIMKERNEL_FAIL=jail_attach,jail_remove"}
	r := e.fails("jail_attach: simkernel: injected failure", "create", "--bundle", b, "c1")
	if !strings.Contains(r.stderr, "jail_remove: simkernel: injected failure") {
		t.Errorf("%s\nwant the failed undo reported", r)
	}
	e.extra = nil
	e.checkOps(0, "jail_get!", "jail_set", "jail_attach!", "jail_get", "jail_remove!")
	if ids := e.listIDs(); !slices.Equal(ids, []string{"c1"}) {
		t.Fatalf("containers after the failed undo = %v, want c1 left", ids)
	}
	if j := e.liveJails(); !slices.Equal(j, []string{"c1"}) {
		t.Fatalf("jails after the failed undo = %v, want c1 left", j)
	}
	if s := e.state("c1"); s.Status != "stopped" {
		t.Errorf("status of the remains = %s, want stopped", s.Status)
	}
	e.fails("container with id exists: c1", "create", "--bundle", b, "c1")
	from := len(e.ops())
	if r := e.mustRunj("delete", "--force", "c1"); r.stderr != "" {
		t.Errorf("delete --force: %s", r)
	}
	e.checkGone("c1")
	e.checkNoJails()
	e.checkOps(from, deleteOps...)
	// The id is free again.
	e.create("c1", b)
}

// TestDeleteAfterCreateKilled: create is killed (SIGKILL) while a
// prestart hook runs, with the jail made and init in it waiting for the
// hooks; init reads end of file from the dead create and exits, and
// delete --force removes what create left.
func TestDeleteAfterCreateKilled(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	b, log := hookBundle(e, func(l hookLog) *specs.Hooks {
		//lint:ignore SA1019 prestart is deprecated but runtime.md still runs it.
		return &specs.Hooks{Prestart: []specs.Hook{l.hook("prestart", "HOOK_SLEEP=1")}}
	}, "sleep")
	t.Cleanup(func() {
		// The hook runs on the host in a session of its own: nothing
		// but the create that was killed knew about it.
		for _, p := range processesWithArg(t, log.marker) {
			syscall.Kill(p, syscall.SIGKILL)
		}
	})
	create, _ := e.background(cmdOpts{}, "create", "--bundle", b, "c1")
	waitFor(t, "the prestart hook", func() bool { return len(log.lines(t)) == 1 })
	if err := create.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	create.Wait()
	e.waitStatus("c1", "stopped")
	if j := e.liveJails(); !slices.Equal(j, []string{"c1"}) {
		t.Fatalf("jails = %v, want c1", j)
	}
	e.mustRunj("delete", "--force", "c1")
	e.checkGone("c1")
	e.checkNoJails()
	e.checkOps(0, slices.Concat(createOps, deleteOps)...)
}

// TestConcurrentCreate: of 50 concurrent creates of one id exactly one
// succeeds; the others fail before they touch the kernel.
func TestConcurrentCreate(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	b := e.bundle(nil, "sleep")
	const n = 50
	results := make([]result, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range results {
		wg.Go(func() {
			<-start
			results[i] = e.runj("create", "--bundle", b, "c1")
		})
	}
	close(start)
	wg.Wait()
	won := 0
	for _, r := range results {
		switch {
		case r.code == 0:
			won++
		case r.code != 1 || !strings.Contains(r.stderr, "container with id exists: c1"):
			t.Errorf("%s\nwant success or \"container with id exists\"", r)
		}
	}
	if won != 1 {
		t.Errorf("%d creates succeeded, want exactly 1", won)
	}
	e.checkOps(0, createOps...)
	if s := e.state("c1"); s.Status != "created" || !alive(s.Pid) {
		t.Errorf("state = %+v, want created with a live init", s)
	}
	if ids := e.listIDs(); !slices.Equal(ids, []string{"c1"}) {
		t.Errorf("containers = %v, want c1", ids)
	}
}

// TestConcurrentStartDelete: of concurrent starts of one container
// exactly one runs the process; concurrent delete --force all succeed and
// remove the jail once.
func TestConcurrentStartDelete(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	created := e.create("c1", e.bundle(nil, "print"))
	const n = 10
	concurrently := func(args ...string) []result {
		results := make([]result, n)
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i := range results {
			wg.Go(func() {
				<-start
				results[i] = e.runj(args...)
			})
		}
		close(start)
		wg.Wait()
		return results
	}
	started := 0
	for _, r := range concurrently("start", "c1") {
		switch {
		case r.code == 0:
			started++
		case !strings.Contains(r.stderr, "container is not in created state"):
			t.Errorf("%s\nwant success or \"not in created state\"", r)
		}
	}
	if started != 1 {
		t.Errorf("%d starts succeeded, want 1", started)
	}
	out := waitOutput(t, created.outPath)
	if n := strings.Count(out, "\n"); n != 1 {
		t.Errorf("the process printed %d reports, want 1:\n%s", n, out)
	}
	e.waitStatus("c1", "stopped")
	from := len(e.ops())
	for _, r := range concurrently("delete", "--force", "c1") {
		if r.code != 0 || r.stderr != "" {
			t.Errorf("%s\nwant success", r)
		}
	}
	e.checkGone("c1")
	e.checkOps(from, deleteOps...)
	e.checkNoJails()
}
