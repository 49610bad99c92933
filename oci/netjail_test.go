package oci

import (
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"

	"github.com/sirupsen/logrus"
	"golang.org/x/sys/unix"

	"github.com/runj-go/runj-go/jailspec"
	"github.com/runj-go/runj-go/netns"
	"github.com/runj-go/runj-go/oci/kernel"
	"github.com/runj-go/runj-go/oci/procs"
	"github.com/runj-go/runj-go/oci/state"
)

func TestPlanNetJail(t *testing.T) {
	for _, tt := range []struct {
		name string
		o    NetJailOpts
		// want is the in-jail configuration, or the error, by substring.
		want *initNet
		err  []string
	}{
		{
			name: "no_options_joins_bridge0_with_lo0_up",
			want: &initNet{Ifaces: []initIface{loopback(), {Name: "epair0b"}}},
		},
		{
			name: "addresses_of_both_families_with_gateways_and_mtu",
			o:    NetJailOpts{Addresses: []string{"10.88.0.2/24", "fd00:88::2/64"}, Gateways: []string{"fd00:88::1", "10.88.0.1"}, MTU: 1400},
			want: &initNet{
				Ifaces:   []initIface{loopback(), {Name: "epair0b", MTU: 1400, Addrs: []string{"10.88.0.2/24", "fd00:88::2/64"}}},
				Gateways: []string{"fd00:88::1", "10.88.0.1"},
			},
		},
		{
			name: "ipv6_link_local_gateway_is_reached_through_the_jail_interface",
			o:    NetJailOpts{Addresses: []string{"2001:db8::2/64"}, Gateways: []string{"fe80::1"}},
			want: &initNet{
				Ifaces:   []initIface{loopback(), {Name: "epair0b", Addrs: []string{"2001:db8::2/64"}}},
				Gateways: []string{"fe80::1%epair0b"},
			},
		},
		{
			name: "ipv4_only_allows_a_small_mtu",
			o:    NetJailOpts{Addresses: []string{"10.0.0.2/8"}, MTU: 576},
			want: &initNet{Ifaces: []initIface{loopback(), {Name: "epair0b", MTU: 576, Addrs: []string{"10.0.0.2/8"}}}},
		},
		{name: "bad_bridge_name", o: NetJailOpts{Bridge: "a-very-long-bridge"}, err: []string{"--bridge: invalid interface name"}},
		{name: "address_without_prefix", o: NetJailOpts{Addresses: []string{"10.0.0.2"}}, err: []string{`--address "10.0.0.2": not an address with a prefix length`}},
		{name: "ipv4_mapped_address", o: NetJailOpts{Addresses: []string{"::ffff:10.0.0.2/120"}}, err: []string{"IPv4-mapped"}},
		{name: "address_twice", o: NetJailOpts{Addresses: []string{"10.0.0.2/24", "10.0.0.2/16"}}, err: []string{`--address "10.0.0.2/16": the address is given twice`}},
		{name: "gateway_not_an_address", o: NetJailOpts{Addresses: []string{"10.0.0.2/24"}, Gateways: []string{"gw"}}, err: []string{`--gateway "gw": not an IP address`}},
		{name: "gateway_with_zone", o: NetJailOpts{Addresses: []string{"fd00::2/64"}, Gateways: []string{"fe80::1%em0"}}, err: []string{"has a zone"}},
		{name: "gateway_off_subnet", o: NetJailOpts{Addresses: []string{"10.0.0.2/24"}, Gateways: []string{"10.0.1.1"}}, err: []string{"is on the subnet of no --address"}},
		{name: "gateway_without_address_of_its_family", o: NetJailOpts{Addresses: []string{"10.0.0.2/24"}, Gateways: []string{"fd00::1"}}, err: []string{"needs an IPv6 --address"}},
		{name: "gateway_is_own_address", o: NetJailOpts{Addresses: []string{"10.0.0.2/24"}, Gateways: []string{"10.0.0.2"}}, err: []string{"is an address of the jail itself"}},
		{name: "two_ipv4_gateways", o: NetJailOpts{Addresses: []string{"10.0.0.2/24"}, Gateways: []string{"10.0.0.1", "10.0.0.3"}}, err: []string{`--gateway "10.0.0.3": a second gateway of the same address family`}},
		{name: "multicast_gateway", o: NetJailOpts{Addresses: []string{"10.0.0.2/24"}, Gateways: []string{"224.0.0.1"}}, err: []string{"not a unicast address"}},
		{name: "mtu_below_the_kernel_minimum", o: NetJailOpts{MTU: 71}, err: []string{"--mtu 71: the kernel takes an MTU from 72 to 65535"}},
		{name: "mtu_above_the_kernel_maximum", o: NetJailOpts{MTU: 65536}, err: []string{"--mtu 65536"}},
		{name: "ipv6_with_a_small_mtu", o: NetJailOpts{Addresses: []string{"fd00::2/64"}, MTU: 1000}, err: []string{"IPv6 needs an MTU of at least 1280"}},
		{
			name: "every_error_at_once",
			o:    NetJailOpts{Bridge: "x\x00", Addresses: []string{"nope"}, Gateways: []string{"10.0.0.1"}, MTU: 1},
			err:  []string{"--bridge", `--address "nope"`, `--gateway "10.0.0.1": needs an IPv4 --address`, "--mtu 1"},
		},
	} {
		t.Run(tt.name, func(t *testing.T) {
			p, err := planNetJail("pod", tt.o)
			if tt.err != nil {
				for _, want := range tt.err {
					if err == nil || !strings.Contains(err.Error(), want) {
						t.Errorf("error %v, want one containing %q", err, want)
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := p.inJail("epair0b"); fmt.Sprint(got) != fmt.Sprint(tt.want) {
				t.Errorf("in the jail:\n got %+v\nwant %+v", got, tt.want)
			}
			if p.bridge != DefaultBridge {
				t.Errorf("bridge %q, want %q", p.bridge, DefaultBridge)
			}
			params, _ := p.params.MarshalJSON()
			if want := `{"name":"pod","path":"/","persist":true,"vnet":"new","sysvmsg":"new","sysvsem":"new","sysvshm":"new"}`; string(params) != want {
				t.Errorf("jail parameters %s, want %s", params, want)
			}
		})
	}
}

func TestPlanNetJail_checks_the_name(t *testing.T) {
	for _, name := range []string{"", "pod.1", "42", "a/b"} {
		if _, err := planNetJail(name, NetJailOpts{}); err == nil || !strings.Contains(err.Error(), "network jail name") {
			t.Errorf("name %q: error %v, want a name error", name, err)
		}
	}
}

func TestEpairPeer(t *testing.T) {
	if b, err := epairPeer("epair12a"); err != nil || b != "epair12b" {
		t.Errorf("epairPeer(epair12a) = %q, %v", b, err)
	}
	for _, a := range []string{"epair0b", "bridge0", "tap0a"} {
		if _, err := epairPeer(a); err == nil {
			t.Errorf("epairPeer(%q) accepted it", a)
		}
	}
}

// fakeKernel is the part of the kernel network jails use, recording each
// operation as "op arg...". An operation listed in fail fails; one that
// the test does not expect panics (the embedded Kernel is nil).
type fakeKernel struct {
	kernel.Kernel
	ops    []string
	fail   map[string]error
	ifaces []string
	jails  map[string]int
	next   int
	// onOp, when set, is called with each operation before it is done.
	onOp func(op string)
}

func newFakeKernel(ifaces ...string) *fakeKernel {
	return &fakeKernel{ifaces: append([]string{"lo0", "em0"}, ifaces...), jails: map[string]int{}, next: 1, fail: map[string]error{}}
}

func (k *fakeKernel) do(op string) error {
	if k.onOp != nil {
		k.onOp(op)
	}
	k.ops = append(k.ops, op)
	return k.fail[op]
}

func (k *fakeKernel) has(name string) bool { return slices.Contains(k.ifaces, name) }

func (k *fakeKernel) Interfaces() ([]netns.Iface, error) {
	var out []netns.Iface
	for _, n := range k.ifaces {
		out = append(out, netns.Iface{Name: n})
	}
	return out, nil
}

func (k *fakeKernel) LookupJail(name string) (int, error) {
	if err := k.do("jail_get " + name); err != nil {
		return 0, err
	}
	if jid, ok := k.jails[name]; ok {
		return jid, nil
	}
	return 0, fmt.Errorf("jail %s: %w", name, jailspec.ErrNotFound)
}

func (k *fakeKernel) CreateJail(ps jailspec.Params) (int, error) {
	name, _ := ps.Get("name")
	if err := k.do("jail_set " + name.Str); err != nil {
		return 0, err
	}
	k.jails[name.Str] = k.next
	k.next++
	return k.jails[name.Str], nil
}

func (k *fakeKernel) RemoveJail(jid int) error {
	if err := k.do(fmt.Sprint("jail_remove ", jid)); err != nil {
		return err
	}
	for n, j := range k.jails {
		if j == jid {
			delete(k.jails, n)
		}
	}
	return nil
}

func (k *fakeKernel) CreateClone(name string) (string, error) {
	if err := k.do("create_clone " + name); err != nil {
		return "", err
	}
	if name != "epair" {
		k.ifaces = append(k.ifaces, name)
		return name, nil
	}
	for n := 0; ; n++ {
		a, b := fmt.Sprintf("epair%da", n), fmt.Sprintf("epair%db", n)
		if !k.has(a) && !k.has(b) {
			k.ifaces = append(k.ifaces, a, b)
			return a, nil
		}
	}
}

func (k *fakeKernel) DestroyClone(name string) error {
	if err := k.do("destroy_clone " + name); err != nil {
		return err
	}
	if !k.has(name) {
		return syscall.ENXIO
	}
	k.ifaces = slices.DeleteFunc(k.ifaces, func(n string) bool {
		return n == name || (strings.HasPrefix(name, "epair") && n == strings.TrimSuffix(name, "a")+"b")
	})
	return nil
}

func (k *fakeKernel) AddBridgeMember(bridge, member string) error {
	return k.do("bridge_add_member " + bridge + " " + member)
}

func (k *fakeKernel) SetUp(name string) error { return k.do("ifup " + name) }

// The epair's "b" end stays listed: the fake has one interface table.
func (k *fakeKernel) MoveToVnet(name string, jid int) (string, error) {
	return name, k.do(fmt.Sprint("move_to_vnet ", name, " ", jid))
}

func (k *fakeKernel) SetMTU(name string, mtu int) error {
	return k.do(fmt.Sprint("set_mtu ", name, " ", mtu))
}

func (k *fakeKernel) AddAddress(name string, p netip.Prefix) error {
	return k.do("add_address " + name + " " + p.String())
}

func (k *fakeKernel) AddDefaultRoute(gw netip.Addr) error {
	return k.do("add_default_route " + gw.String())
}

// inJail stands for the re-executed runtime: it applies the
// configuration to the same fake, recording "configure jid" first.
func (k *fakeKernel) inJail(jid int, n *initNet) error {
	if err := k.do(fmt.Sprint("configure ", jid)); err != nil {
		return err
	}
	return n.apply(k)
}

func newNetRuntime(t *testing.T, k *fakeKernel) *Runtime {
	t.Helper()
	st, err := state.New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	log := logrus.New()
	log.SetOutput(io.Discard)
	return &Runtime{Store: st, Kernel: k, Log: log}
}

// createOps are the operations of creating network jail pod (jail 1) with
// one address and a gateway, when bridge0 must be made.
var createOps = []string{
	"jail_get pod",
	"create_clone bridge0",
	"ifup bridge0",
	"jail_set pod",
	"create_clone epair",
	"bridge_add_member bridge0 epair0a",
	"ifup epair0a",
	"move_to_vnet epair0b 1",
	"configure 1",
	"add_address lo0 127.0.0.1/8",
	"ifup lo0",
	"set_mtu epair0b 1400",
	"add_address epair0b 10.88.0.2/24",
	"ifup epair0b",
	"add_default_route 10.88.0.1",
}

var podOpts = NetJailOpts{Addresses: []string{"10.88.0.2/24"}, Gateways: []string{"10.88.0.1"}, MTU: 1400}

// deleteOps undo them: the epair from the host's end, before the jail
// goes; then the jail, found by name; then the bridge.
var deleteOps = []string{"destroy_clone epair0a", "jail_get pod", "jail_remove 1", "destroy_clone bridge0"}

func TestNetJail_create_records_each_step_and_delete_undoes_them_in_reverse(t *testing.T) {
	k := newFakeKernel()
	r := newNetRuntime(t, k)
	nj, err := r.createNetJail("pod", podOpts, k.inJail)
	if err != nil {
		t.Fatal(err)
	}
	checkOps(t, k, createOps)
	if nj.JID != 1 || nj.HostInterface != "epair0a" || nj.Interface != "epair0b" || nj.Bridge != "bridge0" || !nj.Ready {
		t.Errorf("network jail %+v", nj)
	}
	var rec netJailRecord
	if err := r.Store.Netns().Load("pod", &rec); err != nil {
		t.Fatal(err)
	}
	var kinds []string
	for _, s := range rec.Steps {
		kinds = append(kinds, s.Kind+" "+string(s.Data))
	}
	if want := []string{
		`netns-bridge {"bridge":"bridge0"}`,
		`netns-jail {"jid":1,"name":"pod"}`,
		`netns-epair {"a":"epair0a","b":"epair0b","inJail":"epair0b","jid":1}`,
	}; !slices.Equal(kinds, want) {
		t.Errorf("steps:\n got %q\nwant %q", kinds, want)
	}

	k.ops = nil
	if err := r.DeleteNetJail("pod"); err != nil {
		t.Fatal(err)
	}
	checkOps(t, k, deleteOps)
	checkClean(t, r, k)
	if err := r.DeleteNetJail("pod"); !errors.Is(err, state.ErrNetnsNotExist) {
		t.Errorf("second delete: %v, want ErrNetnsNotExist", err)
	}
}

func checkOps(t *testing.T, k *fakeKernel, want []string) {
	t.Helper()
	if !slices.Equal(k.ops, want) {
		t.Errorf("kernel operations:\n got %q\nwant %q", k.ops, want)
	}
}

// checkClean checks that no jail, clone or record is left.
func checkClean(t *testing.T, r *Runtime, k *fakeKernel) {
	t.Helper()
	if len(k.jails) != 0 || !slices.Equal(k.ifaces, []string{"lo0", "em0"}) {
		t.Errorf("left in the kernel: jails %v, interfaces %v", k.jails, k.ifaces)
	}
	if names, err := r.Store.Netns().List(); err != nil || len(names) != 0 {
		t.Errorf("records left: %v, %v", names, err)
	}
}

func TestNetJail_failed_create_is_undone_in_reverse(t *testing.T) {
	// Every operation of create, failed in turn, with what undoing the
	// steps done so far does.
	undoJail := []string{"jail_get pod", "jail_remove 1"}
	for i, failing := range createOps {
		var undo []string
		switch {
		case i < 2: // before the bridge exists
		case i < 4: // the bridge; the jail is recorded but jail_set failed
			undo = []string{"destroy_clone bridge0"}
			if i == 3 {
				undo = []string{"jail_get pod", "destroy_clone bridge0"}
			}
		case i == 4: // create_clone epair failed
			undo = append(slices.Clone(undoJail), "destroy_clone bridge0")
		default:
			undo = deleteOps
		}
		t.Run(strings.ReplaceAll(failing, " ", "_"), func(t *testing.T) {
			k := newFakeKernel()
			k.fail[failing] = fmt.Errorf("%s: injected", failing)
			r := newNetRuntime(t, k)
			_, err := r.createNetJail("pod", podOpts, k.inJail)
			if err == nil || !strings.Contains(err.Error(), "injected") {
				t.Fatalf("create: %v, want the injected failure", err)
			}
			if i == 0 {
				undo = nil // jail_get failing is no "not found"
			}
			checkOps(t, k, append(slices.Clone(createOps[:i+1]), undo...))
			checkClean(t, r, k)
		})
	}
}

func TestNetJail_delete_finishes_an_undo_that_failed(t *testing.T) {
	k := newFakeKernel()
	k.fail["add_default_route 10.88.0.1"] = errors.New("injected")
	k.fail["jail_remove 1"] = errors.New("jail_remove: injected")
	r := newNetRuntime(t, k)
	_, err := r.createNetJail("pod", podOpts, k.inJail)
	if err == nil || !strings.Contains(err.Error(), "netns delete pod finishes the job") {
		t.Fatalf("create: %v, want the undo's failure", err)
	}
	var rec netJailRecord
	if err := r.Store.Netns().Load("pod", &rec); err != nil || rec.Ready || len(rec.Steps) != 2 {
		t.Fatalf("record after the failed undo: %+v, %v; want the bridge and jail steps left, not ready", rec, err)
	}
	if _, err := r.createNetJail("pod", podOpts, k.inJail); !errors.Is(err, ErrNetJailExists) || !strings.Contains(err.Error(), "did not finish") {
		t.Errorf("create again: %v, want ErrNetJailExists for a create that did not finish", err)
	}
	if _, err := r.ExecNetJail("pod", []string{"true"}); err == nil || !strings.Contains(err.Error(), "not ready") {
		t.Errorf("exec: %v, want not ready", err)
	}
	delete(k.fail, "jail_remove 1")
	k.ops = nil
	if err := r.DeleteNetJail("pod"); err != nil {
		t.Fatal(err)
	}
	checkOps(t, k, []string{"jail_get pod", "jail_remove 1", "destroy_clone bridge0"})
	checkClean(t, r, k)
}

func TestNetJail_uses_an_existing_bridge_and_leaves_it(t *testing.T) {
	k := newFakeKernel("bridge5")
	r := newNetRuntime(t, k)
	if _, err := r.createNetJail("pod", NetJailOpts{Bridge: "bridge5"}, k.inJail); err != nil {
		t.Fatal(err)
	}
	if slices.Contains(k.ops, "create_clone bridge5") || slices.Contains(k.ops, "ifup bridge5") {
		t.Errorf("create touched the existing bridge: %q", k.ops)
	}
	k.ops = nil
	if err := r.DeleteNetJail("pod"); err != nil {
		t.Fatal(err)
	}
	checkOps(t, k, []string{"destroy_clone epair0a", "jail_get pod", "jail_remove 1"})
	if !k.has("bridge5") {
		t.Error("delete destroyed a bridge it did not make")
	}
}

func TestNetJail_makes_only_bridges_named_bridgeN(t *testing.T) {
	k := newFakeKernel()
	r := newNetRuntime(t, k)
	_, err := r.createNetJail("pod", NetJailOpts{Bridge: "lan0"}, k.inJail)
	if err == nil || !strings.Contains(err.Error(), "--bridge lan0: the host has no such interface, and only a bridge named bridgeN can be made") {
		t.Fatalf("create: %v", err)
	}
	checkOps(t, k, []string{"jail_get pod"})
	checkClean(t, r, k)
}

func TestNetJail_a_shared_bridge_goes_with_the_last_network_jail(t *testing.T) {
	k := newFakeKernel()
	r := newNetRuntime(t, k)
	for _, name := range []string{"a", "b"} {
		if _, err := r.createNetJail(name, NetJailOpts{}, k.inJail); err != nil {
			t.Fatal(err)
		}
	}
	k.ops = nil
	if err := r.DeleteNetJail("a"); err != nil {
		t.Fatal(err)
	}
	checkOps(t, k, []string{"destroy_clone epair0a", "jail_get a", "jail_remove 1"})
	k.ops = nil
	if err := r.DeleteNetJail("b"); err != nil {
		t.Fatal(err)
	}
	checkOps(t, k, []string{"destroy_clone epair1a", "jail_get b", "jail_remove 2", "destroy_clone bridge0"})
	checkClean(t, r, k)
}

func TestNetJail_delete_is_refused_while_containers_use_it(t *testing.T) {
	k := newFakeKernel()
	r := newNetRuntime(t, k)
	if _, err := r.createNetJail("pod", NetJailOpts{}, k.inJail); err != nil {
		t.Fatal(err)
	}
	for id, jail := range map[string]string{"web": "pod.web", "db": "pod.db", "other": "podx.other", "pod": "pod"} {
		c, err := r.Store.Create(id)
		if err != nil {
			t.Fatal(err)
		}
		c.State().JailName = jail
		if err := c.Save(); err != nil {
			t.Fatal(err)
		}
		c.Close()
	}
	k.ops = nil
	err := r.DeleteNetJail("pod")
	if !errors.Is(err, ErrNetJailInUse) || !strings.Contains(err.Error(), "cannot delete network jail pod: network jail is in use by container(s) db, web; delete them first") {
		t.Fatalf("delete: %v", err)
	}
	checkOps(t, k, nil)
	list, err := r.NetJails()
	if err != nil || len(list) != 1 || !slices.Equal(list[0].Containers, []string{"db", "web"}) {
		t.Errorf("NetJails = %+v, %v; want pod used by db and web", list, err)
	}
}

func TestInitNet_apply_configures_in_order_and_stops_at_the_first_error(t *testing.T) {
	n := &initNet{
		Ifaces:   []initIface{loopback(), {Name: "epair0b", MTU: 9000, Addrs: []string{"10.0.0.2/24", "fd00::2/64"}}},
		Gateways: []string{"10.0.0.1", "fe80::1%epair0b"},
	}
	k := newFakeKernel()
	if err := n.apply(k); err != nil {
		t.Fatal(err)
	}
	checkOps(t, k, []string{
		"add_address lo0 127.0.0.1/8", "ifup lo0", "set_mtu epair0b 9000", "add_address epair0b 10.0.0.2/24", "add_address epair0b fd00::2/64",
		"ifup epair0b", "add_default_route 10.0.0.1", "add_default_route fe80::1%epair0b",
	})

	k = newFakeKernel()
	k.fail["add_address epair0b 10.0.0.2/24"] = syscall.EEXIST
	if err := n.apply(k); !errors.Is(err, syscall.EEXIST) || !strings.Contains(err.Error(), "add 10.0.0.2/24 to epair0b") {
		t.Errorf("apply: %v, want the failed address", err)
	}
	checkOps(t, k, []string{"add_address lo0 127.0.0.1/8", "ifup lo0", "set_mtu epair0b 9000", "add_address epair0b 10.0.0.2/24"})
}

// A container create holds the network jails' lock shared from the
// parent's lookup through jail_set, so a concurrent netns delete cannot
// remove the parent in between without seeing the container.
func TestCreateJail_holds_the_network_jails_lock_while_it_uses_the_parent(t *testing.T) {
	k := newFakeKernel()
	r := newNetRuntime(t, k)
	if _, err := r.createNetJail("pod", NetJailOpts{}, k.inJail); err != nil {
		t.Fatal(err)
	}
	lock, err := os.Open(filepath.Join(r.Store.Root(), ".netns", "lock"))
	if err != nil {
		t.Fatal(err)
	}
	defer lock.Close()
	held := map[string]bool{}
	k.onOp = func(op string) {
		err := unix.Flock(int(lock.Fd()), unix.LOCK_EX|unix.LOCK_NB)
		held[op] = errors.Is(err, unix.EWOULDBLOCK)
		if err == nil {
			unix.Flock(int(lock.Fd()), unix.LOCK_UN)
		}
	}
	c, err := r.Store.Create("web")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.State().JailName = "pod.web" // as Create saves it before any step
	if err := c.Save(); err != nil {
		t.Fatal(err)
	}
	k.ops = nil
	j := JailPlan{Name: "pod.web", Parent: "pod", Params: jailspec.Params{jailspec.StringParam("name", "pod.web")}}
	if err := r.createJail(c, j); err != nil {
		t.Fatal(err)
	}
	checkOps(t, k, []string{"jail_get pod", "jail_get pod.web", "jail_set pod.web"})
	for _, op := range k.ops {
		if !held[op] {
			t.Errorf("%s: the network jails' lock was not held", op)
		}
	}
	k.onOp = nil
	if err := r.DeleteNetJail("pod"); !errors.Is(err, ErrNetJailInUse) {
		t.Errorf("netns delete after the container's jail_set: %v, want %v", err, ErrNetJailInUse)
	}
	if err := unix.Flock(int(lock.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		t.Errorf("lock after create: %v, want it released", err)
	}
}

func TestCreateJail_missing_parent(t *testing.T) {
	k := newFakeKernel()
	r := newNetRuntime(t, k)
	c, err := r.Store.Create("web")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	j := JailPlan{Name: "pod.web", Parent: "pod", Params: jailspec.Params{jailspec.StringParam("name", "pod.web")}}
	err = r.createJail(c, j)
	if err == nil || err.Error() != `freebsd.jail.parent: jail "pod" does not exist` {
		t.Fatalf("createJail: %v", err)
	}
	checkOps(t, k, []string{"jail_get pod"})
	if len(c.State().Steps) != 0 {
		t.Errorf("steps recorded: %+v", c.State().Steps)
	}
}

// procsKernel is fakeKernel with jail processes.
type procsKernel struct {
	*fakeKernel
	procs map[int][]procs.Info
}

func (k procsKernel) JailProcs(jid int) ([]procs.Info, error) {
	k.ops = append(k.ops, fmt.Sprint("jail_procs ", jid))
	return k.procs[jid], nil
}

// A stopped container's jail id is another jail's once its own jail is
// gone: liveProcs lists nothing then rather than that jail's processes.
func TestLiveProcs_of_a_stopped_container_only_in_its_own_jail(t *testing.T) {
	k := procsKernel{fakeKernel: newFakeKernel(), procs: map[int][]procs.Info{5: {{Pid: 4242}}}}
	r := newNetRuntime(t, k.fakeKernel)
	r.Kernel = k
	st := &state.State{JID: 5, JailName: "c1"}
	for _, tc := range []struct {
		jails map[string]int
		want  int
	}{
		{map[string]int{}, 0},
		{map[string]int{"c1": 7, "other": 5}, 0},
		{map[string]int{"c1": 5}, 1},
	} {
		k.jails = tc.jails
		got, err := r.liveProcs(st, StatusStopped)
		if err != nil || len(got) != tc.want {
			t.Errorf("jails %v: liveProcs = %v, %v; want %d processes", tc.jails, got, err, tc.want)
		}
	}
}
