//go:build simkernel

package kernel

import (
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"syscall"
	"testing"

	"github.com/runj-go/runj-go/jailspec"
)

// newSim is a simulated kernel with its files in a directory of the test.
func newSim(t *testing.T, ifaces string) *sim {
	t.Helper()
	t.Setenv(SimDirEnv, t.TempDir())
	t.Setenv(SimIfacesEnv, ifaces)
	t.Setenv(SimFailEnv, "")
	k, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return k.(*sim)
}

// table is the simulated kernel's table, read under its lock.
func (s *sim) table(t *testing.T) *simTable {
	t.Helper()
	var out *simTable
	if err := s.update(func(tb *simTable) error { out = tb; tb.ifaces(); return nil }); err != nil {
		t.Fatal(err)
	}
	return out
}

func ifaceNames(t *simTable) []string {
	var out []string
	for _, i := range t.ifaces() {
		s := fmt.Sprintf("%d/%s", i.Vnet, i.Name)
		if i.Bridge != "" {
			s += "@" + i.Bridge
		}
		out = append(out, s)
	}
	return out
}

func TestSimClones_epair_ends_are_a_pair_and_go_together(t *testing.T) {
	s := newSim(t, "em0")
	for _, want := range []string{"bridge0", "epair0a", "epair1a", "bridge3"} {
		name := map[string]string{"bridge0": "bridge", "epair0a": "epair", "epair1a": "epair", "bridge3": "bridge3"}[want]
		if got, err := s.CreateClone(name); err != nil || got != want {
			t.Fatalf("CreateClone(%s) = %q, %v; want %s", name, got, err, want)
		}
	}
	if _, err := s.CreateClone("bridge3"); !errors.Is(err, syscall.EEXIST) {
		t.Errorf("second bridge3: %v, want EEXIST", err)
	}
	if _, err := s.CreateClone("tun"); !errors.Is(err, syscall.EINVAL) {
		t.Errorf("unknown cloner: %v, want EINVAL", err)
	}
	if err := s.AddBridgeMember("bridge0", "epair0a"); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		bridge, member string
		want           error
	}{
		{"bridge0", "epair0a", syscall.EEXIST},
		{"bridge3", "epair0a", syscall.EBUSY},
		{"bridge0", "epair9a", syscall.ENOENT},
		{"em0", "epair1a", syscall.EINVAL},
		{"bridge9", "epair1a", syscall.ENXIO},
	} {
		if err := s.AddBridgeMember(tt.bridge, tt.member); !errors.Is(err, tt.want) {
			t.Errorf("AddBridgeMember(%s, %s) = %v, want %v", tt.bridge, tt.member, err, tt.want)
		}
	}
	if err := s.SetMTU("epair0a", 9000); !errors.Is(err, syscall.EOPNOTSUPP) {
		t.Errorf("MTU of a bridge member: %v, want EOPNOTSUPP", err)
	}
	if err := s.SetMTU("epair1b", 71); !errors.Is(err, syscall.EINVAL) {
		t.Errorf("MTU 71: %v, want EINVAL", err)
	}
	if err := s.DestroyClone("em0"); !errors.Is(err, syscall.EINVAL) {
		t.Errorf("destroying em0: %v, want EINVAL", err)
	}
	// Destroying the "b" end destroys the "a" end, which leaves its bridge.
	if err := s.DestroyClone("epair0b"); err != nil {
		t.Fatal(err)
	}
	if got, want := ifaceNames(s.table(t)), []string{"0/lo0", "0/em0", "0/bridge0", "0/epair1a", "0/epair1b", "0/bridge3"}; !slices.Equal(got, want) {
		t.Errorf("interfaces %q, want %q", got, want)
	}
	if err := s.DestroyClone("epair0a"); !errors.Is(err, syscall.ENXIO) {
		t.Errorf("destroying a destroyed epair: %v, want ENXIO", err)
	}
}

func TestSimClones_a_vnet_jail_keeps_its_interfaces_and_routes_and_its_children_share_them(t *testing.T) {
	s := newSim(t, "em0,bridge0")
	path := t.TempDir()
	pod, err := s.CreateJail(jailspec.Params{
		jailspec.StringParam("name", "pod"), jailspec.StringParam("path", "/"), jailspec.SysParam("vnet", jailspec.New),
	})
	if err != nil {
		t.Fatal(err)
	}
	child, err := s.CreateJail(jailspec.Params{
		jailspec.StringParam("name", "pod.web"), jailspec.StringParam("path", path), jailspec.SysParam("vnet", jailspec.Inherit),
	})
	if err != nil {
		t.Fatal(err)
	}
	tb := s.table(t)
	if tb.vnetOf(child) != pod || tb.vnetOf(pod) != pod || tb.vnetOf(0) != 0 {
		t.Errorf("vnets: child %d, pod %d, host %d; want %d, %d, 0", tb.vnetOf(child), tb.vnetOf(pod), tb.vnetOf(0), pod, pod)
	}
	a, err := s.CreateClone("epair")
	if err != nil {
		t.Fatal(err)
	}
	if err := s.AddBridgeMember("bridge0", a); err != nil {
		t.Fatal(err)
	}
	if _, err := s.MoveToVnet("epair0b", pod); err != nil {
		t.Fatal(err)
	}
	// Inside the pod's vnet, as a process attached to its child sees it.
	s.attached = child
	gw := netip.MustParseAddr("10.0.0.1")
	if err := s.AddDefaultRoute(gw); !errors.Is(err, syscall.ENETUNREACH) {
		t.Errorf("route before the address: %v, want ENETUNREACH", err)
	}
	if err := s.AddAddress("epair0b", netip.MustParsePrefix("10.0.0.2/24")); err != nil {
		t.Fatal(err)
	}
	if err := s.AddDefaultRoute(gw); !errors.Is(err, syscall.ENETUNREACH) {
		t.Errorf("route with the interface down: %v, want ENETUNREACH", err)
	}
	if err := s.SetUp("epair0b"); err != nil {
		t.Fatal(err)
	}
	if err := s.AddDefaultRoute(gw); err != nil {
		t.Fatal(err)
	}
	if err := s.AddDefaultRoute(netip.MustParseAddr("10.0.0.9")); !errors.Is(err, syscall.EEXIST) {
		t.Errorf("second default route: %v, want EEXIST", err)
	}
	if err := s.AddDefaultRoute(netip.MustParseAddr("fe80::1%epair0b")); err != nil {
		t.Errorf("link-local IPv6 gateway through epair0b: %v", err)
	}
	s.attached = 0
	if err := s.RemoveJail(child); err != nil {
		t.Fatal(err)
	}
	if err := s.RemoveJail(pod); err != nil {
		t.Fatal(err)
	}
	// The epair end returns home, down and out of the vnet; the routes
	// go with the vnet.
	tb = s.table(t)
	if got, want := ifaceNames(tb), []string{"0/lo0", "0/em0", "0/bridge0", "0/epair0a@bridge0", "0/epair0b"}; !slices.Equal(got, want) {
		t.Errorf("interfaces %q, want %q", got, want)
	}
	if len(tb.Routes) != 0 {
		t.Errorf("routes left: %+v", tb.Routes)
	}
}

func TestSim_jail_set_refuses_what_the_kernel_refuses(t *testing.T) {
	s := newSim(t, "em0")
	path := t.TempDir()
	name := func(n string) jailspec.Param { return jailspec.StringParam("name", n) }
	root := jailspec.StringParam("path", path)
	for _, ps := range []jailspec.Params{
		{name("a"), root, jailspec.SysParam("vnet", jailspec.New), jailspec.SysParam("ip4", jailspec.Inherit)},
		{name("b"), root, jailspec.SysParam("vnet", jailspec.Inherit), jailspec.SysParam("ip6", jailspec.Disable)},
	} {
		if _, err := s.CreateJail(ps); !errors.Is(err, syscall.EINVAL) || !strings.Contains(err.Error(), "vnet jails cannot have IP address restrictions") {
			t.Errorf("jail_set %s: %v, want EINVAL", ps[0].Str, err)
		}
	}
	if _, err := s.CreateJail(jailspec.Params{name("pod"), root, jailspec.SysParam("vnet", jailspec.New)}); err != nil {
		t.Fatal(err)
	}
	_, err := s.CreateJail(jailspec.Params{name("pod.c"), root, jailspec.SysParam("sysvshm", jailspec.New)})
	if !errors.Is(err, syscall.EPERM) {
		t.Errorf("sysvshm new under a parent without it: %v, want EPERM", err)
	}
	if _, err := s.CreateJail(jailspec.Params{name("pod.d"), root, jailspec.SysParam("sysvshm", jailspec.Disable)}); err != nil {
		t.Errorf("sysvshm disable under a parent without it: %v", err)
	}
	if _, err := s.CreateJail(jailspec.Params{name("ipc"), root, jailspec.SysParam("sysvshm", jailspec.New)}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateJail(jailspec.Params{name("ipc.c"), root, jailspec.SysParam("sysvshm", jailspec.Inherit)}); err != nil {
		t.Errorf("sysvshm inherit under a parent with it: %v", err)
	}
	if _, err := s.CreateJail(jailspec.Params{name("nosuser"), root, jailspec.BoolParam("allow.suser", false)}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateJail(jailspec.Params{name("nosuser.a"), root, jailspec.BoolParam("allow.suser", true)}); !errors.Is(err, syscall.EPERM) {
		t.Errorf("allow.suser under a parent without it: %v, want EPERM", err)
	}
	if _, err := s.CreateJail(jailspec.Params{name("nosuser.b"), root, jailspec.BoolParam("allow.raw_sockets", false)}); err != nil {
		t.Errorf("no allow.suser under a parent without it: %v", err)
	}
}
