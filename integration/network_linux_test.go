//go:build linux

package integration

import (
	"encoding/json"
	"maps"
	"slices"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// The network end-to-end tests (issue 5): address aliases on host
// interfaces, interfaces moved into a vnet jail and back, parent jails,
// each with its undo on delete and on a failed create. The simulated
// kernel's host has lo0 (127.0.0.1/8, ::1/128) and the interfaces named in
// RUNJ_GO_SIMKERNEL_IFACES (default em0).

func jailNet(j specs.FreeBSDJail) func(*specs.Spec) {
	return func(s *specs.Spec) { s.FreeBSD = &specs.FreeBSD{Jail: &j} }
}

func addAddressOp(iface, prefix string) simOp {
	return simOp{Op: "add_address", Target: iface, Name: prefix}
}

func deleteAddressOp(iface, prefix string) simOp {
	return simOp{Op: "delete_address", Target: iface, Name: prefix}
}

// iface returns the simulated kernel's interface name in vnet (0: the
// host's), failing the test when there is none.
func (e *env) iface(name string, vnet int) simIface {
	e.t.Helper()
	for _, i := range e.simTable().Ifaces {
		if i.Name == name && i.Vnet == vnet {
			return i
		}
	}
	e.t.Fatalf("no interface %s in vnet %d: %+v", name, vnet, e.simTable().Ifaces)
	return simIface{}
}

func (e *env) checkAddrs(name string, want ...string) {
	e.t.Helper()
	if got := e.iface(name, 0).Addrs; !slices.Equal(got, want) {
		e.t.Errorf("addresses of %s = %q, want %q", name, got, want)
	}
}

// TestNetworkAddresses: with interface set, each ip4Addr (/32) and
// ip6Addr (/128) is added to it before the jail exists and removed, in
// reverse, after the jail is gone.
func TestNetworkAddresses(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	b := e.bundle(jailNet(specs.FreeBSDJail{Interface: "em0", Ip4Addr: []string{"10.0.0.5", "10.0.0.6"}, Ip6Addr: []string{"fd00::5"}}), "sleep")
	e.create("c1", b)
	e.checkOpsExact(0,
		addAddressOp("em0", "10.0.0.5/32"), addAddressOp("em0", "10.0.0.6/32"), addAddressOp("em0", "fd00::5/128"),
		jailGetMissing("c1"), e.jailSetOp(b, "c1"), jailAttach(1),
	)
	e.checkAddrs("em0", "10.0.0.5/32", "10.0.0.6/32", "fd00::5/128")
	e.mustRunj("start", "c1")

	from := len(e.ops())
	e.mustRunj("delete", "--force", "c1")
	e.checkOpsExact(from,
		jailGet("c1"), jailRemove(1),
		deleteAddressOp("em0", "fd00::5/128"), deleteAddressOp("em0", "10.0.0.6/32"), deleteAddressOp("em0", "10.0.0.5/32"),
	)
	e.checkAddrs("em0")
	e.checkGone("c1")
	e.checkNoJails()
}

// TestNetworkAddressAlreadyThere: an address the interface had before
// create is used but neither added nor removed.
func TestNetworkAddressAlreadyThere(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	b := e.bundle(jailNet(specs.FreeBSDJail{Interface: "lo0", Ip4Addr: []string{"127.0.0.1", "127.0.0.2"}}), "sleep")
	e.create("c1", b)
	e.checkOpsExact(0, addAddressOp("lo0", "127.0.0.2/32"), jailGetMissing("c1"), e.jailSetOp(b, "c1"), jailAttach(1))
	e.checkAddrs("lo0", "127.0.0.1/8", "::1/128", "127.0.0.2/32")
	from := len(e.ops())
	e.mustRunj("delete", "--force", "c1")
	e.checkOpsExact(from, jailGet("c1"), jailRemove(1), deleteAddressOp("lo0", "127.0.0.2/32"))
	e.checkAddrs("lo0", "127.0.0.1/8", "::1/128")
}

// TestNetworkAddressFailures: a missing interface fails create before
// anything is done; a failure after some addresses, or after the jail,
// undoes everything.
func TestNetworkAddressFailures(t *testing.T) {
	t.Parallel()
	addrs := specs.FreeBSDJail{Interface: "em0", Ip4Addr: []string{"10.0.0.5", "10.0.0.6"}}
	t.Run("missing_interface", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t)
		b := e.bundle(jailNet(specs.FreeBSDJail{Interface: "em9", Ip4Addr: []string{"10.0.0.5"}}), "sleep")
		e.fails(`freebsd.jail.interface: "em9" is not an interface of this host`, "create", "--bundle", b, "c1")
		e.checkOpsExact(0)
		e.checkRootEmpty()
		e.checkNoJails()
	})
	t.Run("second_address_fails", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t)
		b := e.bundle(jailNet(addrs), "sleep")
		e.extra = []string{"RUNJ_GO_SIMKERNEL_FAIL=add_address@2"}
		e.fails("add 10.0.0.6/32 to em0: add_address: simkernel: injected failure", "create", "--bundle", b, "c1")
		e.extra = nil
		e.checkOpsExact(0,
			addAddressOp("em0", "10.0.0.5/32"),
			simOp{Op: "add_address", Target: "em0", Name: "10.0.0.6/32", Error: "add_address: simkernel: injected failure"},
			deleteAddressOp("em0", "10.0.0.5/32"),
		)
		e.checkAddrs("em0")
		e.checkRootEmpty()
		e.checkNoJails()
	})
	t.Run("init_fails", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t)
		b := e.bundle(jailNet(addrs), "sleep")
		e.extra = []string{"RUNJ_GO_SIMKERNEL_FAIL=jail_attach"}
		e.fails("jail_attach: simkernel: injected failure", "create", "--bundle", b, "c1")
		e.extra = nil
		e.checkOpsExact(0,
			addAddressOp("em0", "10.0.0.5/32"), addAddressOp("em0", "10.0.0.6/32"),
			jailGetMissing("c1"), e.jailSetOp(b, "c1"),
			simOp{Op: "jail_attach", Jid: 1, Error: "jail_attach: simkernel: injected failure"},
			jailGet("c1"), jailRemove(1),
			deleteAddressOp("em0", "10.0.0.6/32"), deleteAddressOp("em0", "10.0.0.5/32"),
		)
		e.checkAddrs("em0")
		e.checkRootEmpty()
		e.checkNoJails()
	})
}

// TestNetworkVnet: vnet new moves each vnetInterfaces entry into the jail
// after jail_set and brings the jail's lo0 up from inside it (a
// re-executed runtime attached to the jail); delete moves the interfaces
// back, in reverse, before it removes the jail.
func TestNetworkVnet(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.extra = []string{"RUNJ_GO_SIMKERNEL_IFACES=em0,em1,epair0b"}
	b := e.bundle(jailNet(specs.FreeBSDJail{Vnet: "new", VnetInterfaces: []string{"em1", "epair0b"}}), "sleep")
	e.create("c1", b)
	e.checkOpsExact(0,
		jailGetMissing("c1"), e.jailSetOp(b, "c1"),
		simOp{Op: "move_to_vnet", Jid: 1, Target: "em1"},
		simOp{Op: "move_to_vnet", Jid: 1, Target: "epair0b"},
		jailAttach(1), // the runtime that configures lo0
		simOp{Op: "add_address", Target: "lo0", Name: "127.0.0.1/8"},
		simOp{Op: "ifup", Jid: 1, Target: "lo0"},
		jailAttach(1), // init
	)
	for _, name := range []string{"em1", "epair0b"} {
		e.iface(name, 1)
	}
	if lo := e.iface("lo0", 1); !lo.Up {
		t.Errorf("lo0 of the jail's vnet is down: %+v", lo)
	}
	e.mustRunj("start", "c1")

	from := len(e.ops())
	e.mustRunj("delete", "--force", "c1")
	e.checkOpsExact(from,
		simOp{Op: "reclaim_from_vnet", Jid: 1, Target: "epair0b"},
		simOp{Op: "reclaim_from_vnet", Jid: 1, Target: "em1"},
		jailGet("c1"), jailRemove(1),
	)
	var names []string
	for _, i := range e.simTable().Ifaces {
		if i.Vnet != 0 {
			t.Errorf("interface %s left in vnet %d", i.Name, i.Vnet)
		}
		names = append(names, i.Name)
	}
	if want := []string{"lo0", "em0", "em1", "epair0b"}; !slices.Equal(names, want) {
		t.Errorf("interfaces after delete = %q, want %q", names, want)
	}
	e.checkNoJails()
}

// TestNetworkVnetFailures: an interface that is missing, or in another
// container's vnet already, or a jail whose lo0 cannot be brought up,
// fails create and undoes it all.
func TestNetworkVnetFailures(t *testing.T) {
	t.Parallel()
	ifaces := "RUNJ_GO_SIMKERNEL_IFACES=em0,em1"
	t.Run("missing", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t)
		e.extra = []string{ifaces}
		b := e.bundle(jailNet(specs.FreeBSDJail{Vnet: "new", VnetInterfaces: []string{"em7"}}), "sleep")
		e.fails(`freebsd.jail.vnetInterfaces[0]: "em7" is not an interface of this host`, "create", "--bundle", b, "c1")
		e.checkOpsExact(0, jailGetMissing("c1"), e.jailSetOp(b, "c1"), jailGet("c1"), jailRemove(1))
		e.checkRootEmpty()
		e.checkNoJails()
	})
	t.Run("in_another_vnet", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t)
		e.extra = []string{ifaces}
		e.create("c1", e.bundle(jailNet(specs.FreeBSDJail{Vnet: "new", VnetInterfaces: []string{"em1"}}), "sleep"))
		from := len(e.ops())
		b := e.bundle(jailNet(specs.FreeBSDJail{Vnet: "new", VnetInterfaces: []string{"em0", "em1"}}), "sleep")
		e.fails(`freebsd.jail.vnetInterfaces[1]: "em1" is not an interface of this host (missing, or in another vnet)`, "create", "--bundle", b, "c2")
		e.checkOpsExact(from,
			jailGetMissing("c2"), e.jailSetOp(b, "c2"),
			simOp{Op: "move_to_vnet", Jid: 2, Target: "em0"},
			simOp{Op: "reclaim_from_vnet", Jid: 2, Target: "em0"},
			jailGet("c2"), jailRemove(2),
		)
		e.iface("em0", 0)
		e.iface("em1", 1) // still c1's
		if ids := e.listIDs(); !slices.Equal(ids, []string{"c1"}) {
			t.Errorf("containers = %v, want c1", ids)
		}
		if j := e.liveJails(); !slices.Equal(j, []string{"c1"}) {
			t.Errorf("jails = %v, want c1", j)
		}
	})
	t.Run("lo0_up_fails", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t)
		e.extra = []string{ifaces, "RUNJ_GO_SIMKERNEL_FAIL=ifup"}
		b := e.bundle(jailNet(specs.FreeBSDJail{Vnet: "new", VnetInterfaces: []string{"em0", "em1"}}), "sleep")
		e.fails("ifup: simkernel: injected failure", "create", "--bundle", b, "c1")
		e.checkOpsExact(0,
			jailGetMissing("c1"), e.jailSetOp(b, "c1"),
			simOp{Op: "move_to_vnet", Jid: 1, Target: "em0"},
			simOp{Op: "move_to_vnet", Jid: 1, Target: "em1"},
			jailAttach(1),
			simOp{Op: "add_address", Target: "lo0", Name: "127.0.0.1/8"},
			simOp{Op: "ifup", Jid: 1, Target: "lo0", Error: "ifup: simkernel: injected failure"},
			simOp{Op: "reclaim_from_vnet", Jid: 1, Target: "em1"},
			simOp{Op: "reclaim_from_vnet", Jid: 1, Target: "em0"},
			jailGet("c1"), jailRemove(1),
		)
		e.iface("em0", 0)
		e.iface("em1", 0)
		e.checkRootEmpty()
		e.checkNoJails()
	})
}

// TestNetworkParent: a container under a parent jail gets the jail
// "<parent>.<id>"; a missing parent is a clear error; deleting the parent
// needs --force while it has children, which then go first.
func TestNetworkParent(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	child := e.bundle(jailNet(specs.FreeBSDJail{Parent: "pod"}), "sleep")
	e.fails(`freebsd.jail.parent: jail "pod" does not exist`, "create", "--bundle", child, "c1")
	e.checkOpsExact(0, jailGetMissing("pod"))
	e.checkRootEmpty()

	e.create("pod", e.bundle(nil, "sleep"))
	from := len(e.ops())
	e.create("c1", child)
	// The parent by annotation, as podman sends it.
	annotated := e.bundle(func(s *specs.Spec) { s.Annotations = map[string]string{"org.freebsd.parentJail": "pod"} }, "sleep")
	e.create("c2", annotated)
	e.checkOpsExact(from,
		jailGet("pod"), jailGetMissing("pod.c1"), e.jailSetOp(child, "c1"), jailAttach(2),
		jailGet("pod"), jailGetMissing("pod.c2"), e.jailSetOp(annotated, "c2"), jailAttach(3),
	)
	if j := e.liveJails(); !slices.Equal(j, []string{"pod", "pod.c1", "pod.c2"}) {
		t.Errorf("jails = %v, want pod, pod.c1, pod.c2", j)
	}
	if s := e.state("c1"); s.Annotations["org.freebsd.jail.jid"] != "2" {
		t.Errorf("state of c1 = %+v, want jid 2", s)
	}

	before := e.snapshot("pod")
	e.fails("cannot delete container pod: containers c1, c2 run in child jails of its jail", "delete", "pod")
	e.checkUnchanged(before, "pod")

	from = len(e.ops())
	e.mustRunj("delete", "--force", "pod")
	e.checkOpsExact(from,
		jailGet("pod.c1"), jailRemove(2),
		jailGet("pod.c2"), jailRemove(3),
		jailGet("pod"), jailRemove(1),
	)
	for _, id := range []string{"pod", "c1", "c2"} {
		e.checkGone(id)
	}
	e.checkNoJails()
}

// TestNetworkPlan: the network part of `runj-go plan --format json` for
// each way a container gets its network.
func TestNetworkPlan(t *testing.T) {
	t.Parallel()
	add := func(iface, addr string) planNetOp {
		return planNetOp{Op: "add-address", Interface: iface, Address: addr}
	}
	move := func(iface string) planNetOp { return planNetOp{Op: "move-interface", Interface: iface} }
	for _, tc := range []struct {
		name        string
		jail        specs.FreeBSDJail
		annotations map[string]string
		wantName    string
		wantParent  string
		wantNet     []planNetOp
		// wantParams are the network parameters of jail_set: ip4,
		// ip4.addr, ip6, ip6.addr and vnet; absent ones are absent.
		wantParams map[string]any
	}{
		{
			name:       "inherit",
			wantParams: map[string]any{"ip4": "inherit", "ip6": "inherit"},
		},
		{
			name:       "disable",
			jail:       specs.FreeBSDJail{Ip4: "disable", Ip6: "disable"},
			wantParams: map[string]any{"ip4": "disable", "ip6": "disable"},
		},
		{
			name: "addresses without interface",
			jail: specs.FreeBSDJail{Ip4Addr: []string{"10.1.0.1"}, Ip6Addr: []string{"fd00::1"}},
			wantParams: map[string]any{
				"ip4": "new", "ip4.addr": []any{"10.1.0.1"}, "ip6": "new", "ip6.addr": []any{"fd00::1"},
			},
		},
		{
			name:    "addresses with interface",
			jail:    specs.FreeBSDJail{Interface: "em0", Ip4Addr: []string{"10.1.0.1", "10.1.0.2"}, Ip6Addr: []string{"fd00::1"}},
			wantNet: []planNetOp{add("em0", "10.1.0.1/32"), add("em0", "10.1.0.2/32"), add("em0", "fd00::1/128")},
			wantParams: map[string]any{
				"ip4": "new", "ip4.addr": []any{"10.1.0.1", "10.1.0.2"}, "ip6": "new", "ip6.addr": []any{"fd00::1"},
			},
		},
		{
			name:       "ip4 address with interface",
			jail:       specs.FreeBSDJail{Interface: "lo0", Ip4Addr: []string{"127.0.0.2"}},
			wantNet:    []planNetOp{add("lo0", "127.0.0.2/32")},
			wantParams: map[string]any{"ip4": "new", "ip4.addr": []any{"127.0.0.2"}, "ip6": "disable"},
		},
		{
			name:        "addresses by annotation",
			annotations: map[string]string{"org.freebsd.jail.ip4.addr": "10.1.0.1,10.1.0.2"},
			wantParams:  map[string]any{"ip4": "new", "ip4.addr": []any{"10.1.0.1", "10.1.0.2"}, "ip6": "disable"},
		},
		{
			name:       "vnet with interfaces",
			jail:       specs.FreeBSDJail{Vnet: "new", VnetInterfaces: []string{"em1", "epair0b"}},
			wantNet:    []planNetOp{move("em1"), move("epair0b")},
			wantParams: map[string]any{"vnet": "new"},
		},
		{
			name:        "vnet by annotation",
			annotations: map[string]string{"org.freebsd.jail.vnet": "new"},
			wantParams:  map[string]any{"vnet": "new"},
		},
		{
			name:       "parent",
			jail:       specs.FreeBSDJail{Parent: "pod"},
			wantName:   "pod.c1",
			wantParent: "pod",
			wantParams: map[string]any{"ip4": "inherit", "ip6": "inherit"},
		},
		{
			name:       "parent sharing its vnet",
			jail:       specs.FreeBSDJail{Parent: "pod", Vnet: "inherit"},
			wantName:   "pod.c1",
			wantParent: "pod",
			wantParams: map[string]any{"ip4": "inherit", "ip6": "inherit"},
		},
		{
			name:        "parent by annotation",
			annotations: map[string]string{"org.freebsd.parentJail": "pod"},
			wantName:    "pod.c1",
			wantParent:  "pod",
			wantParams:  map[string]any{"ip4": "inherit", "ip6": "inherit"},
		},
	} {
		t.Run(strings.ReplaceAll(tc.name, " ", "_"), func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			b := e.bundle(func(s *specs.Spec) {
				s.FreeBSD = &specs.FreeBSD{Jail: &tc.jail}
				s.Annotations = tc.annotations
			}, "sleep")
			p := e.plan(b, "c1")
			if tc.wantName == "" {
				tc.wantName = "c1"
			}
			if p.Jail.Name != tc.wantName || p.Jail.Parent != tc.wantParent {
				t.Errorf("plan jail name %q parent %q, want %q and %q", p.Jail.Name, p.Jail.Parent, tc.wantName, tc.wantParent)
			}
			if tc.wantNet == nil {
				tc.wantNet = []planNetOp{}
			}
			if p.Network == nil || !slices.Equal(p.Network, tc.wantNet) {
				t.Errorf("plan network = %+v, want %+v", p.Network, tc.wantNet)
			}
			var params map[string]any
			if err := json.Unmarshal(p.Jail.Params, &params); err != nil {
				t.Fatal(err)
			}
			got := map[string]any{}
			for _, k := range []string{"ip4", "ip4.addr", "ip6", "ip6.addr", "vnet"} {
				if v, ok := params[k]; ok {
					got[k] = v
				}
			}
			if !maps.EqualFunc(got, tc.wantParams, func(a, b any) bool {
				ja, _ := json.Marshal(a)
				jb, _ := json.Marshal(b)
				return string(ja) == string(jb)
			}) {
				t.Errorf("plan network parameters = %v, want %v", got, tc.wantParams)
			}
			if params["name"] != tc.wantName {
				t.Errorf("plan jail name parameter = %v, want %s", params["name"], tc.wantName)
			}
			if ops := e.rawOps(0); len(ops) != 0 {
				t.Errorf("plan made kernel ops %q", ops)
			}
		})
	}
}

// TestParentWithoutSuser: a child jail may not be given a permission its
// parent lacks (kern_jail_set: EPERM). allow.suser and
// allow.reserved_ports are left to the kernel's default unless asked
// for, so a container goes under a parent made without them; asking for
// one explicitly there fails, and the failed create leaves nothing.
func TestParentWithoutSuser(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	allow := func(parent, suser string) func(*specs.Spec) {
		return func(s *specs.Spec) {
			s.Annotations = map[string]string{"org.freebsd.jail.allow.suser": suser}
			if parent != "" {
				s.Annotations["org.freebsd.parentJail"] = parent
			}
		}
	}
	e.create("pod", e.bundle(allow("", "0"), "sleep"))
	e.create("c1", e.bundle(jailNet(specs.FreeBSDJail{Parent: "pod"}), "sleep"))
	e.fails("create jail pod.c2: jail_set: allow.suser under parent \"pod\" without it: operation not permitted",
		"create", "--bundle", e.bundle(allow("pod", "1"), "sleep"), "c2")
	e.checkGone("c2")
	e.mustRunj("delete", "--force", "pod")
	e.checkNoJails()
}
