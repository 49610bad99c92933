//go:build integration && freebsd

package integration

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// hookLine is one line `ctrhelper hook FILE NAME` appends to FILE.
type hookLine struct {
	Argv  []string        `json:"argv"`
	Stdin json.RawMessage `json:"stdin"`
	Env   []string        `json:"env"`
}

func (l hookLine) name() string {
	if len(l.Argv) < 4 {
		return "?"
	}
	return l.Argv[3]
}

// hookLines reads the lines of a hook file; a missing file has none.
func hookLines(t *testing.T, path string) []hookLine {
	t.Helper()
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	var out []hookLine
	for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		if line == "" {
			continue
		}
		var l hookLine
		if err := json.Unmarshal([]byte(line), &l); err != nil {
			t.Fatalf("hook file %s: %v: %q", path, err, line)
		}
		out = append(out, l)
	}
	return out
}

func hookNames(ls []hookLine) []string {
	out := make([]string, len(ls))
	for i, l := range ls {
		out[i] = l.name()
	}
	return out
}

// hooksSpec sets every kind of hook, each running ctrhelper to append a
// line naming itself to a file: the host hooks to hostFile, the hooks that
// run inside the jail to jailFile. Both are the same file seen from either
// side, so the lines are in the order the hooks ran, and a jail hook that
// ran on the host instead would write to the host's jailFile and be
// missing.
//
// Every hook's path is ctrhelper's host path, except startContainer's,
// which resolves in the container (runtime.md: createContainer's path
// "MUST resolve in the runtime namespace", startContainer's "in the
// container namespace").
func hooksSpec(c *container, hostFile, jailFile string, env ...string) func(*specs.Spec) {
	timeout := 20
	hook := func(name, path, file string) []specs.Hook {
		return []specs.Hook{{
			Path:    path,
			Args:    []string{"ctrhelper", "hook", file, name},
			Env:     append([]string{"HOOK_NAME=" + name}, env...),
			Timeout: &timeout,
		}}
	}
	onHost := c.hostPath(helperInJail)
	return func(sp *specs.Spec) {
		sp.Hooks = &specs.Hooks{
			//lint:ignore SA1019 prestart is deprecated but runtime.md still runs it.
			Prestart:        hook("prestart", onHost, hostFile),
			CreateRuntime:   hook("createRuntime", onHost, hostFile),
			CreateContainer: hook("createContainer", onHost, jailFile),
			StartContainer:  hook("startContainer", helperInJail, jailFile),
			Poststart:       hook("poststart", onHost, hostFile),
			Poststop:        hook("poststop", onHost, hostFile),
		}
	}
}

// TestHooks runs a container with every kind of hook and checks where and
// in which order they ran, and the state each got on stdin (runtime-spec
// runtime.md, "Lifecycle" and "Hooks").
func TestHooks(t *testing.T) {
	s := newSuite(t)
	c := s.newContainer("hook", nil)
	jailFile := "/tmp/hooks-" + c.id + ".jsonl"
	hostFile := c.hostPath(jailFile)
	spec := baseSpec("hook", jailFile, "process") // the process appends a line too
	hooksSpec(c, hostFile, jailFile)(spec)
	c.writeSpec(spec)
	t.Cleanup(func() {
		// A jail hook run on the host would have written here.
		if _, err := os.Stat(jailFile); err == nil {
			t.Errorf("%s exists on the host: a jail hook ran outside the jail", jailFile)
			os.Remove(jailFile)
		}
	})

	st := c.mustCreate()
	jid := stateJID(t, st)
	if got := hookNames(hookLines(t, hostFile)); !slices.Equal(got, []string{"prestart", "createRuntime", "createContainer"}) {
		t.Fatalf("after create, hooks ran: %v; want prestart, createRuntime, createContainer", got)
	}

	c.mustStart()
	c.waitStatus(specs.StateStopped)
	lines := hookLines(t, hostFile)
	got := hookNames(lines)
	// The process and poststart run concurrently: poststart starts once
	// the process has been released.
	if len(got) != 6 || !slices.Equal(got[:4], []string{"prestart", "createRuntime", "createContainer", "startContainer"}) ||
		!(slices.Equal(got[4:], []string{"process", "poststart"}) || slices.Equal(got[4:], []string{"poststart", "process"})) {
		t.Fatalf("after start, ran: %v; want prestart, createRuntime, createContainer, startContainer, then process and poststart", got)
	}

	s.mustRunj("delete", c.id)
	lines = hookLines(t, hostFile)
	if got := hookNames(lines); len(got) != 7 || got[6] != "poststop" {
		t.Fatalf("after delete, ran: %v; want poststop last", got)
	}
	c.checkGone()

	wantStatus := map[string]specs.ContainerState{
		"prestart":        specs.StateCreating,
		"createRuntime":   specs.StateCreating,
		"createContainer": specs.StateCreating,
		"startContainer":  specs.StateCreated,
		"poststart":       specs.StateRunning,
		"poststop":        specs.StateStopped,
	}
	for _, l := range lines {
		name := l.name()
		want, isHook := wantStatus[name]
		if !isHook {
			continue // the process
		}
		if wantEnv := []string{"HOOK_NAME=" + name}; !slices.Equal(l.Env, wantEnv) {
			t.Errorf("%s hook: environment %q, want exactly %q", name, l.Env, wantEnv)
		}
		var hs specs.State
		if err := json.Unmarshal(l.Stdin, &hs); err != nil {
			t.Errorf("%s hook: stdin is not the state: %v: %s", name, err, l.Stdin)
			continue
		}
		if hs.ID != c.id || hs.Status != want || hs.Bundle != c.bundle || hs.Version == "" {
			t.Errorf("%s hook: state id %q status %q bundle %q version %q; want %q %q %q",
				name, hs.ID, hs.Status, hs.Bundle, hs.Version, c.id, want, c.bundle)
		}
		if name != "poststop" && hs.Pid != st.Pid {
			t.Errorf("%s hook: state pid %d, want the container's %d", name, hs.Pid, st.Pid)
		}
		if hs.Annotations[annotationJID] != strconv.Itoa(jid) {
			t.Errorf("%s hook: state %s = %q, want %d", name, annotationJID, hs.Annotations[annotationJID], jid)
		}
	}
}

// TestHookFailureUndoesCreate fails a createRuntime hook: create fails
// with the hook's output, and runtime.md's lifecycle continues at delete,
// so the jail is removed and poststop runs.
func TestHookFailureUndoesCreate(t *testing.T) {
	s := newSuite(t)
	c := s.newContainer("hfail", nil)
	hostFile := filepath.Join(c.bundle, "hooks.jsonl")
	spec := baseSpec("print")
	hooksSpec(c, hostFile, "/tmp/hooks.jsonl")(spec)
	spec.Hooks.CreateRuntime[0].Env = append(spec.Hooks.CreateRuntime[0].Env, "HOOK_EXIT=3")
	c.writeSpec(spec)

	r := c.create()
	stderr := readFile(t, c.stderr)
	if r.err != nil || r.code != 1 || !strings.Contains(stderr, "createRuntime") || !strings.Contains(stderr, "hook failing on purpose") {
		t.Fatalf("want exit 1 naming the createRuntime hook and its output, got %v\nstderr: %s", r, stderr)
	}
	if got := hookNames(hookLines(t, hostFile)); !slices.Equal(got, []string{"prestart", "createRuntime", "poststop"}) {
		t.Errorf("hooks ran: %v; want prestart, createRuntime (failing), poststop", got)
	}
	if got := hookLines(t, c.hostPath("/tmp/hooks.jsonl")); len(got) != 0 {
		t.Errorf("jail hooks ran after a failed createRuntime hook: %v", hookNames(got))
	}
	c.checkGone()
}
