//go:build integration && freebsd

package integration

import (
	"slices"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/runj-go/runj-go/jailspec"
)

// TestIP4Addr restricts a jail to one IPv4 address. No interface is
// named, so the runtime adds no alias: jail(2) restricts the jail to the
// address whether or not the host has it (127.0.0.2 need not be
// configured). With only IPv4 addresses given, IPv6 is disabled: the jail
// gets no IPv6 address at all.
func TestIP4Addr(t *testing.T) {
	s := newSuite(t)
	c := s.newContainer("ip4", func(sp *specs.Spec) {
		sp.FreeBSD = &specs.FreeBSD{Jail: &specs.FreeBSDJail{Ip4Addr: []string{"127.0.0.2"}}}
	}, "sleep")
	c.mustCreate()
	ps := jailParams(t, c.jail, ip4Param("ip4.addr", 1), ip6Param("ip6.addr", 1))
	if p, _ := ps.Get("ip4.addr"); len(p.Addrs) != 1 || p.Addrs[0].String() != "127.0.0.2" {
		t.Errorf("jail %s: ip4.addr = %v, want [127.0.0.2]", c.jail, p.Addrs)
	}
	if p, _ := ps.Get("ip6.addr"); len(p.Addrs) != 0 {
		t.Errorf("jail %s: ip6.addr = %v, want none (ip6 disable)", c.jail, p.Addrs)
	}
	c.mustStart()
	c.waitStatus(specs.StateRunning)
	s.mustRunj("delete", "--force", c.id)
	c.checkGone()
}

// TestParentJail creates container B with ocijail's annotation
// org.freebsd.parentJail naming container A's jail, as podman does for
// the containers of a pod: B's jail is A's child, "A.B" (kern_jail_set
// splits a hierarchical name at its last '.').
func TestParentJail(t *testing.T) {
	s := newSuite(t)
	a := s.newContainer("pod", nil, "sleep")
	stA := a.mustCreate()
	a.mustStart()
	jidA := stateJID(t, stA)

	b := s.newContainer("member", func(sp *specs.Spec) {
		sp.Annotations = map[string]string{jailspec.AnnotationParent: a.jail}
	}, "print")
	b.jail = a.jail + "." + b.id
	stB := b.mustCreate()
	jidB := stateJID(t, stB)
	if got := lookupJail(t, b.jail); got != jidB {
		t.Fatalf("jail %s has jid %d, the state of %s says %d", b.jail, got, b.id, jidB)
	}
	checkNoJail(t, b.id) // not also a child of the host
	if v := jailParamValue(t, b.jail, intParam("parent")); v != int32(jidA) {
		t.Errorf("jail %s: parent = %v, want %s's jid %d", b.jail, v, a.jail, jidA)
	}
	if ps := pids(liveInJail(t, jidB)); !slices.Equal(ps, []int{stB.Pid}) {
		t.Errorf("live processes of jail %d: %v, want %s's init %d", jidB, ps, b.id, stB.Pid)
	}
	if got := stB.Annotations[jailspec.AnnotationParent]; got != a.jail {
		t.Errorf("state annotation %s = %q, want %q", jailspec.AnnotationParent, got, a.jail)
	}

	b.mustStart()
	b.waitStatus(specs.StateStopped)
	if r := parseReport(t, b.output()); r.Pid != stB.Pid {
		t.Errorf("B's process ran as pid %d, want %d", r.Pid, stB.Pid)
	}
	s.mustRunj("delete", b.id)
	b.checkGone()
	// A and its process are untouched by B's delete.
	if got := lookupJail(t, a.jail); got != jidA {
		t.Errorf("after deleting B, jail %s has jid %d, want %d", a.jail, got, jidA)
	}
	if st := a.state(); st.Status != specs.StateRunning {
		t.Errorf("after deleting B, A is %s", st.Status)
	}
	s.mustRunj("delete", "--force", a.id)
	a.checkGone()
}
