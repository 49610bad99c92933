//go:build linux

package integration

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// The named network jails (`runj-go netns`) end to end, on the simulated
// kernel, which models clones, epair pairs, bridge membership and routes
// per vnet (oci/kernel/sim_clone.go).

// netnsOp is one recorded kernel operation, written as the tests compare
// it: "op target name mtu=N jid=N", empty fields left out, "!" appended
// when it failed.
type netnsOp struct {
	Op     string `json:"op"`
	Jid    int    `json:"jid"`
	Name   string `json:"name"`
	Target string `json:"target"`
	MTU    int    `json:"mtu"`
	Error  string `json:"error"`
}

func (o netnsOp) String() string {
	s := o.Op
	for _, f := range []string{o.Target, o.Name} {
		if f != "" {
			s += " " + f
		}
	}
	if o.MTU != 0 {
		s += fmt.Sprintf(" mtu=%d", o.MTU)
	}
	if o.Jid != 0 {
		s += fmt.Sprintf(" jid=%d", o.Jid)
	}
	if o.Error != "" {
		s += "!"
	}
	return s
}

// netnsOps returns the recorded operations from index from on, as
// strings.
func (e *env) netnsOps(from int) []string {
	e.t.Helper()
	data, err := os.ReadFile(filepath.Join(e.simDir, "ops.jsonl"))
	if err != nil {
		e.t.Fatal(err)
	}
	var out []string
	for i, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		if i < from {
			continue
		}
		var op netnsOp
		if err := json.Unmarshal([]byte(line), &op); err != nil {
			e.t.Fatalf("ops.jsonl: %v: %s", err, line)
		}
		out = append(out, op.String())
	}
	return out
}

func (e *env) checkNetnsOps(from int, want ...string) {
	e.t.Helper()
	if got := e.netnsOps(from); !slices.Equal(got, want) {
		e.t.Errorf("kernel operations:\n got %q\nwant %q", got, want)
	}
}

// simNet is the simulated kernel's network, from jails.json.
type simNet struct {
	Ifaces []struct {
		Name   string   `json:"name"`
		Vnet   int      `json:"vnet"`
		Up     bool     `json:"up"`
		Addrs  []string `json:"addrs"`
		Cloner string   `json:"cloner"`
		Peer   string   `json:"peer"`
		Bridge string   `json:"bridge"`
		MTU    int      `json:"mtu"`
	} `json:"ifaces"`
	Routes []struct {
		Vnet    int    `json:"vnet"`
		Dst     string `json:"dst"`
		Gateway string `json:"gateway"`
	} `json:"routes"`
}

func (e *env) simNet() simNet {
	e.t.Helper()
	var n simNet
	data, err := os.ReadFile(filepath.Join(e.simDir, "jails.json"))
	if err != nil {
		e.t.Fatal(err)
	}
	if err := json.Unmarshal(data, &n); err != nil {
		e.t.Fatalf("jails.json: %v", err)
	}
	return n
}

// ifaceTable is the simulated interfaces as "vnet/name up bridge mtu
// addrs", sorted.
func (n simNet) ifaceTable() []string {
	var out []string
	for _, i := range n.Ifaces {
		s := fmt.Sprintf("%d/%s", i.Vnet, i.Name)
		if i.Up {
			s += " up"
		}
		if i.Bridge != "" {
			s += " in " + i.Bridge
		}
		if i.MTU != 0 {
			s += fmt.Sprintf(" mtu %d", i.MTU)
		}
		if len(i.Addrs) > 0 {
			s += " " + strings.Join(i.Addrs, ",")
		}
		out = append(out, s)
	}
	slices.Sort(out)
	return out
}

func (n simNet) routeTable() []string {
	var out []string
	for _, r := range n.Routes {
		out = append(out, fmt.Sprintf("%d: %s via %s", r.Vnet, r.Dst, r.Gateway))
	}
	return out
}

// hostOnly is the simulated host's network before any netns create.
var hostOnly = []string{"0/em0 up", "0/lo0 up 127.0.0.1/8,::1/128"}

func (e *env) checkNetwork(ifaces, routes []string) {
	e.t.Helper()
	n := e.simNet()
	if got := n.ifaceTable(); !slices.Equal(got, ifaces) {
		e.t.Errorf("interfaces:\n got %q\nwant %q", got, ifaces)
	}
	if got := n.routeTable(); !slices.Equal(got, routes) {
		e.t.Errorf("routes:\n got %q\nwant %q", got, routes)
	}
}

// netnsInfo is one entry of `netns list --format json`.
type netnsInfo struct {
	Name          string   `json:"name"`
	JID           int      `json:"jid"`
	Bridge        string   `json:"bridge"`
	HostInterface string   `json:"hostInterface"`
	Interface     string   `json:"interface"`
	Addresses     []string `json:"addresses"`
	Gateways      []string `json:"gateways"`
	MTU           int      `json:"mtu"`
	Ready         bool     `json:"ready"`
	Containers    []string `json:"containers"`
}

func (e *env) netnsList() []netnsInfo {
	e.t.Helper()
	r := e.mustRunj("netns", "list", "--format", "json")
	var out []netnsInfo
	if err := json.Unmarshal([]byte(r.stdout), &out); err != nil {
		e.t.Fatalf("netns list: %v\n%s", err, r.stdout)
	}
	return out
}

func TestNetns_create_and_delete_make_and_undo_exactly_these_kernel_operations(t *testing.T) {
	e := newEnv(t)
	e.mustRunj("netns", "create", "--address", "10.88.0.2/24", "--address", "fd00:88::2/64",
		"--gateway", "10.88.0.1", "--gateway", "fe80::1", "--mtu", "1400", "pod1")
	e.checkNetnsOps(0,
		"jail_get pod1!",                    // the name is free
		"create_clone bridge0 bridge0",      // no bridge0 on the host: made
		"ifup bridge0",                      // and brought up
		"jail_set pod1",                     // the persistent vnet jail
		"create_clone epair epair0a",        // the pair
		"bridge_add_member bridge0 epair0a", // the host's end joins the bridge
		"ifup epair0a",                      // and comes up
		"move_to_vnet epair0b jid=1",        // the other end goes into the jail
		"jail_attach jid=1",                 // runj-go init, inside the jail:
		"add_address lo0 127.0.0.1/8",       // what rc.d/netif would give lo0
		"ifup lo0 jid=1",
		"set_mtu epair0b mtu=1400 jid=1",
		"add_address epair0b 10.88.0.2/24",
		"add_address epair0b fd00:88::2/64",
		"ifup epair0b jid=1",
		"add_default_route 10.88.0.1 jid=1",
		"add_default_route fe80::1%epair0b jid=1",
	)
	e.checkNetwork([]string{
		"0/bridge0 up",
		"0/em0 up",
		"0/epair0a up in bridge0",
		"0/lo0 up 127.0.0.1/8,::1/128",
		"1/epair0b up mtu 1400 10.88.0.2/24,fd00:88::2/64",
		"1/lo0 up 127.0.0.1/8",
	}, []string{"1: 0.0.0.0/0 via 10.88.0.1", "1: ::/0 via fe80::1%epair0b"})
	if got := e.liveJails(); !slices.Equal(got, []string{"pod1"}) {
		t.Errorf("jails %v, want [pod1]", got)
	}

	list := e.netnsList()
	want := netnsInfo{
		Name: "pod1", JID: 1, Bridge: "bridge0", HostInterface: "epair0a", Interface: "epair0b",
		Addresses: []string{"10.88.0.2/24", "fd00:88::2/64"}, Gateways: []string{"10.88.0.1", "fe80::1"},
		MTU: 1400, Ready: true, Containers: []string{},
	}
	if len(list) != 1 || fmt.Sprint(list[0]) != fmt.Sprint(want) {
		t.Errorf("netns list:\n got %+v\nwant [%+v]", list, want)
	}
	table := e.mustRunj("netns", "list").stdout
	for _, w := range []string{"NAME", "JID", "ADDRESSES", "BRIDGE", "CONTAINERS", "pod1", "10.88.0.2/24,fd00:88::2/64", "bridge0"} {
		if !strings.Contains(table, w) {
			t.Errorf("netns list table lacks %q:\n%s", w, table)
		}
	}
	e.fails("network jail exists: pod1", "netns", "create", "pod1")

	from := len(e.netnsOps(0))
	e.mustRunj("netns", "delete", "pod1")
	e.checkNetnsOps(from,
		"destroy_clone epair0a", // both ends, before the jail goes
		"jail_get pod1",
		"jail_remove jid=1",
		"destroy_clone bridge0", // made by create, used by no other network jail
	)
	e.checkNetwork(hostOnly, nil)
	e.checkNoJails()
	if l := e.netnsList(); len(l) != 0 {
		t.Errorf("netns list after delete: %+v", l)
	}
	e.fails("network jail does not exist: pod1", "netns", "delete", "pod1")
}

func TestNetns_failed_create_is_undone_in_reverse(t *testing.T) {
	// The operations of a create up to the failing one, then its undo.
	upTo := func(last string) []string {
		all := []string{
			"jail_get pod1!", "create_clone bridge0 bridge0", "ifup bridge0", "jail_set pod1",
			"create_clone epair epair0a", "bridge_add_member bridge0 epair0a", "ifup epair0a",
			"move_to_vnet epair0b jid=1", "jail_attach jid=1", "add_address lo0 127.0.0.1/8", "ifup lo0 jid=1", "set_mtu epair0b mtu=9000 jid=1",
			"add_address epair0b 10.88.0.2/24", "ifup epair0b jid=1", "add_default_route 10.88.0.1 jid=1",
		}
		i := slices.IndexFunc(all, func(s string) bool { return strings.HasPrefix(s, last) })
		out := slices.Clone(all[:i+1])
		out[i] += "!"
		return out
	}
	undoAll := []string{"destroy_clone epair0a", "jail_get pod1", "jail_remove jid=1", "destroy_clone bridge0"}
	for _, tt := range []struct {
		fail string
		want []string
	}{
		{"create_clone@1", upTo("create_clone bridge0")},
		{"jail_set@1", append(upTo("jail_set"), "jail_get pod1!", "destroy_clone bridge0")},
		{"create_clone@2", append(upTo("create_clone epair"), "jail_get pod1", "jail_remove jid=1", "destroy_clone bridge0")},
		{"bridge_add_member@1", append(upTo("bridge_add_member"), undoAll...)},
		{"move_to_vnet@1", append(upTo("move_to_vnet"), undoAll...)},
		{"jail_attach@1", append(upTo("jail_attach"), undoAll...)},
		{"set_mtu@1", append(upTo("set_mtu"), undoAll...)},
		{"add_address@1", append(upTo("add_address lo0"), undoAll...)},
		{"add_address@2", append(upTo("add_address epair0b"), undoAll...)},
		{"add_default_route@1", append(upTo("add_default_route"), undoAll...)},
	} {
		t.Run(tt.fail, func(t *testing.T) {
			e := newEnv(t)
			e.extra = []string{"RUNJ_GO_SIMKERNEL_FAIL=" + tt.fail}
			e.fails("injected failure", "netns", "create", "--address", "10.88.0.2/24", "--gateway", "10.88.0.1", "--mtu", "9000", "pod1")
			e.checkNetnsOps(0, tt.want...)
			e.extra = nil
			e.checkNetwork(hostOnly, nil)
			e.checkNoJails()
			if l := e.netnsList(); len(l) != 0 {
				t.Errorf("netns list after a failed create: %+v", l)
			}
		})
	}
}

func TestNetns_containers_join_it_as_child_jails_and_delete_waits_for_them(t *testing.T) {
	e := newEnv(t)
	e.mustRunj("netns", "create", "--address", "10.88.0.2/24", "pod1")
	// One container names the network jail in the freebsd section, the
	// other with the annotations podman sends.
	web := e.bundle(func(s *specs.Spec) {
		s.FreeBSD = &specs.FreeBSD{Jail: &specs.FreeBSDJail{Parent: "pod1", Vnet: specs.FreeBSDShareInherit}}
	}, "sleep")
	db := e.bundle(func(s *specs.Spec) {
		s.Annotations = map[string]string{"org.freebsd.parentJail": "pod1", "org.freebsd.jail.vnet": "inherit"}
	}, "sleep")
	from := len(e.netnsOps(0))
	e.create("web", web)
	e.create("db", db)
	var jailSets []string
	for _, op := range e.ops()[from:] {
		if op.Op == "jail_set" {
			ps := jsonParams(t, op.Params)
			// vnet inherit is the kernel's default and is not passed:
			// next to ip4 or ip6 the kernel would refuse it.
			vnet, _ := paramValue(ps, "vnet")
			ip4, _ := paramValue(ps, "ip4")
			jailSets = append(jailSets, fmt.Sprintf("%s vnet=%v ip4=%v", op.Name, vnet, ip4))
		}
	}
	if want := []string{"pod1.web vnet=<nil> ip4=inherit", "pod1.db vnet=<nil> ip4=inherit"}; !slices.Equal(jailSets, want) {
		t.Errorf("jails created: %q, want %q", jailSets, want)
	}
	e.mustRunj("start", "web")
	e.waitStatus("web", "running")

	if l := e.netnsList(); len(l) != 1 || !slices.Equal(l[0].Containers, []string{"db", "web"}) {
		t.Errorf("netns list: %+v, want pod1 used by db and web", l)
	}
	from = len(e.netnsOps(0))
	e.fails("cannot delete network jail pod1: network jail is in use by container(s) db, web; delete them first", "netns", "delete", "pod1")
	e.checkNetnsOps(from) // refused before touching the kernel

	e.mustRunj("delete", "--force", "web")
	e.mustRunj("delete", "--force", "db")
	e.fails("network jail exists: pod1", "netns", "create", "pod1")
	e.mustRunj("netns", "delete", "pod1")
	e.checkNoJails()
	e.checkNetwork(hostOnly, nil)
}

func TestNetns_exec_runs_a_host_command_inside_with_the_callers_world(t *testing.T) {
	e := newEnv(t)
	e.mustRunj("netns", "create", "pod1")
	from := len(e.netnsOps(0))
	e.extra = []string{"NETNS_TEST_MARK=here"}
	r := e.mustRunj("netns", "exec", "pod1", "--", helperBin, "print")
	e.checkNetnsOps(from, "jail_get pod1", "jail_attach jid=1")
	rep := parseReport(t, r.stdout)
	cwd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	if rep.Cwd != cwd || rep.UID != os.Getuid() || !slices.Contains(rep.Env, "NETNS_TEST_MARK=here") {
		t.Errorf("netns exec process: cwd %q uid %d env %q; want the caller's: %q, %d, NETNS_TEST_MARK", rep.Cwd, rep.UID, rep.Env, cwd, os.Getuid())
	}
	if r := e.runj("netns", "exec", "pod1", helperBin, "exit", "7"); r.code != 7 {
		t.Errorf("%s\nwant exit status 7", r)
	}
	e.fails("network jail does not exist: pod2", "netns", "exec", "pod2", "--", helperBin, "exit", "0")
	e.fails("give the command to run", "netns", "exec", "pod1", "--")
	e.mustRunj("netns", "delete", "pod1")
}

func TestNetns_a_bridge_made_by_one_network_jail_goes_with_the_last_that_uses_it(t *testing.T) {
	e := newEnv(t)
	e.mustRunj("netns", "create", "pod1")
	e.mustRunj("netns", "create", "pod2")
	from := len(e.netnsOps(0))
	e.mustRunj("netns", "delete", "pod1")
	e.checkNetnsOps(from, "destroy_clone epair0a", "jail_get pod1", "jail_remove jid=1")
	e.checkNetwork([]string{"0/bridge0 up", "0/em0 up", "0/epair1a up in bridge0", "0/lo0 up 127.0.0.1/8,::1/128", "2/epair1b up", "2/lo0 up 127.0.0.1/8"}, nil)
	from = len(e.netnsOps(0))
	e.mustRunj("netns", "delete", "pod2")
	e.checkNetnsOps(from, "destroy_clone epair1a", "jail_get pod2", "jail_remove jid=2", "destroy_clone bridge0")
	e.checkNetwork(hostOnly, nil)

	// A bridge the host has is used as it is and left.
	e2 := newEnv(t)
	e2.extra = []string{"RUNJ_GO_SIMKERNEL_IFACES=em0,bridge7"}
	e2.mustRunj("netns", "create", "--bridge", "bridge7", "pod3")
	e2.fails("--bridge lan0: the host has no such interface", "netns", "create", "--bridge", "lan0", "pod4")
	e2.mustRunj("netns", "delete", "pod3")
	if ops := e2.netnsOps(0); slices.ContainsFunc(ops, func(s string) bool { return strings.Contains(s, "clone bridge7") }) {
		t.Errorf("bridge7 was made or destroyed: %q", ops)
	}
}
