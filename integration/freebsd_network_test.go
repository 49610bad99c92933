//go:build integration && freebsd

package integration

import (
	"bufio"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/runj-go/runj-go/netns"
)

// The network of a container on the host's stack and in a vnet of its
// own, on a real kernel (issue 5, item 6): ip4 inherit, ip4.addr
// restricting binds, the aliases create adds to a host interface and
// delete removes, and an interface moved into a vnet jail. The tests
// look at interfaces the way the runtime does, through netns.Interfaces
// (sysctl NET_RT_IFLISTL), and change them with its ioctls (netns).
//
// Addresses the tests put on the host's lo0 are drawn at random from
// 127.0.0.0/8 (outside 127.0.0.0/16) and fd00::/8 and checked to be on no
// interface, so that an alias an interrupted run left behind is never
// mistaken for one the runtime added, nor removed as one. The vnet test
// uses 192.0.2.0/24 (TEST-NET-1, RFC 5737) on an epair of its own.

// loopbackIface is the host's loopback interface.
const loopbackIface = "lo0"

// hostIface returns interface name of the host, failing the test if it
// has none.
func hostIface(t *testing.T, name string) netns.Iface {
	t.Helper()
	ifs, err := netns.Interfaces()
	if err != nil {
		t.Fatal(err)
	}
	i := slices.IndexFunc(ifs, func(i netns.Iface) bool { return i.Name == name })
	if i < 0 {
		t.Fatalf("the host has no interface %s", name)
	}
	return ifs[i]
}

// hasIface reports whether the host (the test's vnet) has interface name.
func hasIface(t *testing.T, name string) bool {
	t.Helper()
	ifs, err := netns.Interfaces()
	if err != nil {
		t.Fatal(err)
	}
	return slices.ContainsFunc(ifs, func(i netns.Iface) bool { return i.Name == name })
}

// onHost reports whether any interface of the host has address a.
func onHost(t *testing.T, a netip.Addr) bool {
	t.Helper()
	ifs, err := netns.Interfaces()
	if err != nil {
		t.Fatal(err)
	}
	return slices.ContainsFunc(ifs, func(i netns.Iface) bool { return i.HasAddr(a) })
}

// unusedAddr returns a random address that no host interface has and
// that is not one of taken: an IPv4 one of 127.0.0.0/8 outside
// 127.0.0.0/16, or (v6) an IPv6 one of fd00::/8.
func unusedAddr(t *testing.T, v6 bool, taken ...netip.Addr) netip.Addr {
	t.Helper()
	for range 100 {
		var a netip.Addr
		if v6 {
			var b [16]byte
			b[0] = 0xfd
			rand.Read(b[1:])
			a = netip.AddrFrom16(b)
		} else {
			a = netip.AddrFrom4([4]byte{127, 1 + byte(randUint(254)), byte(randUint(256)), 1 + byte(randUint(254))})
		}
		if !slices.Contains(taken, a) && !onHost(t, a) {
			return a
		}
	}
	t.Fatal("found no unused address")
	return netip.Addr{}
}

// hostPrefix is a's host prefix: a/32 or a/128, as the runtime adds aliases.
func hostPrefix(a netip.Addr) netip.Prefix { return netip.PrefixFrom(a, a.BitLen()) }

// removeAtCleanup registers a cleanup that removes the addresses of ps
// from interface ifname when it still has them: addresses the test added
// itself, and aliases the runtime should have removed (the test fails on
// those by itself). Register it before the container, whose cleanup (a
// delete --force) must run first.
func removeAtCleanup(t *testing.T, ifname string, ps ...netip.Prefix) {
	t.Helper()
	t.Cleanup(func() {
		ifs, err := netns.Interfaces()
		if err != nil {
			t.Errorf("cleanup: %v", err)
			return
		}
		i := slices.IndexFunc(ifs, func(i netns.Iface) bool { return i.Name == ifname })
		if i < 0 {
			return
		}
		for _, p := range ps {
			if ifs[i].HasAddr(p.Addr()) {
				if err := netns.DeleteAddress(ifname, p); err != nil {
					t.Errorf("cleanup: %v", err)
				}
			}
		}
	})
}

// echoListener listens on TCP host:0 in the test, on the host's stack. It
// answers one connection's first line with "echo: LINE" and sends the
// connection's remote address on from (or what went wrong).
func echoListener(t *testing.T, host netip.Addr) (addr string, from <-chan string) {
	t.Helper()
	ln, err := net.Listen("tcp", netip.AddrPortFrom(host, 0).String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	ch := make(chan string, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			ch <- err.Error()
			return
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(cmdTimeout))
		ch <- c.RemoteAddr().(*net.TCPAddr).IP.String()
		line, _ := bufio.NewReader(c).ReadString('\n')
		fmt.Fprintf(c, "echo: %s", line)
	}()
	return ln.Addr().String(), ch
}

// checkPeer checks that the listener of from got a connection from want.
func checkPeer(t *testing.T, from <-chan string, want netip.Addr) {
	t.Helper()
	select {
	case got := <-from:
		if got != want.String() {
			t.Errorf("the host's listener saw a connection from %s, want %s", got, want)
		}
	case <-time.After(pollTimeout):
		t.Error("the host's listener got no connection")
	}
}

// TestIP4InheritReachesHostListener runs a container with the default
// network, ip4 inherit (the host's stack, unrestricted), that dials a
// TCP listener of the test on the host's 127.0.0.1. The connection comes
// from 127.0.0.1 itself: in a jail restricted to addresses, 127.0.0.1 is
// rewritten to the jail's own address (sys/netinet/in_jail.c:
// prison_remote_ip4, prison_local_ip4), and the connection would come
// from that address, if it reached the listener at all.
func TestIP4InheritReachesHostListener(t *testing.T) {
	s := newSuite(t)
	lo := netip.MustParseAddr("127.0.0.1")
	addr, from := echoListener(t, lo)
	c := s.newContainer("inherit", nil, "dial", addr, "from the jail")
	c.mustCreate()
	if v := jailParamValue(t, c.jail, sysParam("ip4")); v != "inherit" {
		t.Errorf("jail %s: ip4 = %v, want inherit", c.jail, v)
	}
	c.mustStart()
	c.waitStatus(specs.StateStopped)
	if got := c.output(); got != "echo: from the jail\n" {
		t.Errorf("dial from the jail printed %q (stderr %q), want the host's echo", got, readFile(t, c.stderr))
	}
	checkPeer(t, from, lo)
	s.mustRunj("delete", c.id)
	c.checkGone()
}

// bindResult is one line of `ctrhelper bind` (integration/ctrhelper:
// BindResult).
type bindResult struct {
	Addr  string `json:"addr"`
	Bound string `json:"bound"`
	Errno string `json:"errno"`
	Error string `json:"error"`
}

// parseBinds decodes ctrhelper bind's output, keyed by the address asked
// for.
func parseBinds(t *testing.T, out string) map[string]bindResult {
	t.Helper()
	res := map[string]bindResult{}
	dec := json.NewDecoder(strings.NewReader(out))
	for dec.More() {
		var r bindResult
		if err := dec.Decode(&r); err != nil {
			t.Fatalf("ctrhelper bind output: %v\n%q", err, out)
		}
		res[r.Addr] = r
	}
	return res
}

// TestIP4AddrRestrictsBinds restricts a jail to one IPv4 address, aliased
// onto lo0 for the test through freebsd.jail.interface so that it exists
// on the host, and has the container try to listen on several addresses.
// The jail semantics (sys/netinet/in_jail.c: prison_local_ip4, called by
// in_pcbbind_setup for every bind) are:
//
//   - the jail's own address binds as itself;
//   - INADDR_ANY binds the jail's address, as the jail has only one;
//   - 127.0.0.1 (INADDR_LOOPBACK), not the jail's, is rewritten to the
//     jail's first address: it binds too, as the jail's address;
//   - any other address fails with EADDRNOTAVAIL, even one the host has:
//     the test puts a second alias on lo0 and checks that the host can
//     listen on it, so that the failure is the jail's refusal and not a
//     missing address;
//   - IPv6 fails altogether: with only IPv4 addresses given the runtime
//     sets ip6 disable (the errno depends on where the kernel refuses, at
//     socket(2) or bind(2), and is not checked).
//
// Delete removes the alias create added and leaves the test's own.
func TestIP4AddrRestrictsBinds(t *testing.T) {
	s := newSuite(t)
	jailAddr := unusedAddr(t, false)
	other := unusedAddr(t, false, jailAddr)
	removeAtCleanup(t, loopbackIface, hostPrefix(jailAddr), hostPrefix(other))
	if err := netns.AddAddress(loopbackIface, hostPrefix(other)); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp4", netip.AddrPortFrom(other, 0).String())
	if err != nil {
		t.Fatalf("the host cannot listen on %s, which the test put on %s: %v", other, loopbackIface, err)
	}
	ln.Close()

	port0 := func(a netip.Addr) string { return netip.AddrPortFrom(a, 0).String() }
	own, any4, lo, lo6 := port0(jailAddr), "0.0.0.0:0", "127.0.0.1:0", "[::1]:0"
	c := s.newContainer("bind", func(sp *specs.Spec) {
		sp.FreeBSD = &specs.FreeBSD{Jail: &specs.FreeBSDJail{Interface: loopbackIface, Ip4Addr: []string{jailAddr.String()}}}
	}, "bind", own, any4, lo, port0(other), lo6)
	c.mustCreate()
	if !hostIface(t, loopbackIface).HasAddr(jailAddr) {
		t.Errorf("after create, %s does not have the jail's address %s", loopbackIface, jailAddr)
	}
	if v := jailParamValue(t, c.jail, ip4Param("ip4.addr", 1)); !slices.Equal(v.([]string), []string{jailAddr.String()}) {
		t.Errorf("jail %s: ip4.addr = %v, want [%s]", c.jail, v, jailAddr)
	}
	c.mustStart()
	c.waitStatus(specs.StateStopped)
	res := parseBinds(t, c.output())
	for _, addr := range []string{own, any4, lo} {
		r, ok := res[addr]
		if !ok {
			t.Errorf("bind %s: no result (stderr %q)", addr, readFile(t, c.stderr))
			continue
		}
		if ap, err := netip.ParseAddrPort(r.Bound); err != nil || ap.Addr() != jailAddr || r.Error != "" {
			t.Errorf("bind %s in the jail: bound %q, error %q; want it bound to the jail's address %s", addr, r.Bound, r.Error, jailAddr)
		}
	}
	if r, ok := res[port0(other)]; !ok || r.Errno != "EADDRNOTAVAIL" {
		t.Errorf("bind %s, a host address that is not the jail's: %+v; want EADDRNOTAVAIL", port0(other), r)
	}
	if r, ok := res[lo6]; !ok || r.Error == "" {
		t.Errorf("bind %s in a jail with ip6 disable: %+v; want a failure", lo6, r)
	}

	s.mustRunj("delete", c.id)
	c.checkGone()
	lo0 := hostIface(t, loopbackIface)
	if lo0.HasAddr(jailAddr) {
		t.Errorf("after delete, %s still has %s, which create added", loopbackIface, jailAddr)
	}
	if !lo0.HasAddr(other) {
		t.Errorf("after delete, %s lost %s, which the test added", loopbackIface, other)
	}
}

// TestAliasesAppearAndDisappear names lo0 as the jail's interface with an
// IPv4 and an IPv6 address it does not have, and 127.0.0.1 (and ::1, when
// the host has it) that it has. After create lo0 carries the new ones as
// /32 and /128 aliases (SIOCAIFADDR, SIOCAIFADDR_IN6) and the jail is
// restricted to all of them; after delete the new ones are gone and the
// ones lo0 had before are still there.
func TestAliasesAppearAndDisappear(t *testing.T) {
	s := newSuite(t)
	lo4, lo6 := netip.MustParseAddr("127.0.0.1"), netip.MustParseAddr("::1")
	before := hostIface(t, loopbackIface)
	if !before.HasAddr(lo4) {
		t.Fatalf("%s has no %s: %v", loopbackIface, lo4, before.Addrs)
	}
	a4, a6 := unusedAddr(t, false), unusedAddr(t, true)
	removeAtCleanup(t, loopbackIface, hostPrefix(a4), hostPrefix(a6))
	kept := []netip.Addr{lo4}
	ip6 := []string{a6.String()}
	if before.HasAddr(lo6) {
		kept = append(kept, lo6)
		ip6 = append(ip6, lo6.String())
	} else {
		t.Logf("%s has no %s: only %s is checked to be kept", loopbackIface, lo6, lo4)
	}
	c := s.newContainer("alias", func(sp *specs.Spec) {
		sp.FreeBSD = &specs.FreeBSD{Jail: &specs.FreeBSDJail{
			Interface: loopbackIface,
			Ip4Addr:   []string{a4.String(), lo4.String()},
			Ip6Addr:   ip6,
		}}
	}, "sleep")
	c.mustCreate()
	after := hostIface(t, loopbackIface)
	for _, p := range []netip.Prefix{hostPrefix(a4), hostPrefix(a6)} {
		if !slices.Contains(after.Addrs, p) {
			t.Errorf("after create, %s has no alias %s: %v", loopbackIface, p, after.Addrs)
		}
	}
	for _, a := range kept {
		if !after.HasAddr(a) {
			t.Errorf("after create, %s lost %s: %v", loopbackIface, a, after.Addrs)
		}
	}
	ps := jailParams(t, c.jail, ip4Param("ip4.addr", 2), ip6Param("ip6.addr", len(ip6)))
	for _, f := range []struct {
		name string
		want []string
	}{{"ip4.addr", []string{a4.String(), lo4.String()}}, {"ip6.addr", ip6}} {
		p, _ := ps.Get(f.name)
		got, _ := p.Value().([]string)
		// kern_jail_set sorts the addresses after the first.
		if !sameAddrSet(got, f.want) {
			t.Errorf("jail %s: %s = %v, want %v", c.jail, f.name, got, f.want)
		}
	}
	c.mustStart()
	c.waitStatus(specs.StateRunning)

	s.mustRunj("delete", "--force", c.id)
	c.checkGone()
	after = hostIface(t, loopbackIface)
	for _, a := range []netip.Addr{a4, a6} {
		if after.HasAddr(a) {
			t.Errorf("after delete, %s still has %s, which create added", loopbackIface, a)
		}
	}
	for _, a := range kept {
		if !after.HasAddr(a) {
			t.Errorf("after delete, %s lost %s, which it had before create", loopbackIface, a)
		}
	}
}

func sameAddrSet(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}

// TestAliasesUndoneOnFailedCreate fails two creates whose aliases would
// go on lo0: one at a createRuntime hook, after create added the aliases
// and made the jail, which must then remove both; one because the named
// interface does not exist, which must fail before adding anything.
func TestAliasesUndoneOnFailedCreate(t *testing.T) {
	s := newSuite(t)
	a4, a6 := unusedAddr(t, false), unusedAddr(t, true)
	removeAtCleanup(t, loopbackIface, hostPrefix(a4), hostPrefix(a6))
	jail := &specs.FreeBSDJail{Interface: loopbackIface, Ip4Addr: []string{a4.String()}, Ip6Addr: []string{a6.String()}}

	hook := s.newContainer("ahook", nil)
	spec := baseSpec("sleep")
	spec.FreeBSD = &specs.FreeBSD{Jail: jail}
	helper := hook.hostPath(helperInJail)
	spec.Hooks = &specs.Hooks{CreateRuntime: []specs.Hook{{Path: helper, Args: []string{"ctrhelper", "exit", "3"}}}}
	hook.writeSpec(spec)
	if r := hook.create(); r.code != 1 || r.err != nil {
		t.Fatalf("create with a failing createRuntime hook: want exit 1, got %v\ncontainer stderr: %s", r, readFile(t, hook.stderr))
	}
	hook.checkGone()
	lo0 := hostIface(t, loopbackIface)
	for _, a := range []netip.Addr{a4, a6} {
		if lo0.HasAddr(a) {
			t.Errorf("after a failed create, %s still has %s", loopbackIface, a)
		}
	}

	missing := "rjgnone0"
	if hasIface(t, missing) {
		t.Fatalf("the host has an interface %s", missing)
	}
	c := s.newContainer("anoif", func(sp *specs.Spec) {
		j := *jail
		j.Interface = missing
		sp.FreeBSD = &specs.FreeBSD{Jail: &j}
	}, "sleep")
	r := c.create()
	if want := "is not an interface of this host"; r.code != 1 || r.err != nil || !strings.Contains(r.stderr, want) {
		t.Fatalf("create with interface %s: want exit 1 and %q, got %v", missing, want, r)
	}
	c.checkGone()
	for _, a := range []netip.Addr{a4, a6} {
		if onHost(t, a) {
			t.Errorf("after a create that failed on a missing interface, the host has %s", a)
		}
	}
}

// epairPair creates an epair on the host and returns its two ends; the
// test destroys it at its end (both ends go, wherever the b end is).
func epairPair(t *testing.T) (a, b string) {
	t.Helper()
	a, err := netns.CreateClone("epair")
	if err != nil {
		t.Fatalf("create an epair (is if_epair loaded? kldload if_epair): %v", err)
	}
	t.Cleanup(func() {
		if err := netns.DestroyClone(a); err != nil {
			t.Errorf("cleanup: destroy %s: %v", a, err)
		}
	})
	if !strings.HasSuffix(a, "a") {
		t.Fatalf("the epair cloner created %q, not an a end", a)
	}
	return a, strings.TrimSuffix(a, "a") + "b"
}

// ifconfigOutput is the first line `ctrhelper ifconfig` prints: the
// interfaces of its vnet.
type ifconfigOutput struct {
	Interfaces []netns.Iface `json:"interfaces"`
}

// TestVnetEpairPingsAcross gives a container a vnet of its own with the b
// end of an epair the test created moved into it; the a end stays on the
// host with 192.0.2.1/24. runj-go only moves the interface in and brings
// the jail's lo0 up, so the container configures its end itself:
// ctrhelper ifconfig (the runtime's own ioctls, inside the jail's vnet)
// gives it 192.0.2.2/24 and brings it up, prints the vnet's interfaces,
// then dials a listener of the test on 192.0.2.1. "Pings across" is this
// TCP exchange through the epair, not ICMP: no ping(8) in the container,
// and the test needs no raw socket. Delete moves the b end back to the
// host.
func TestVnetEpairPingsAcross(t *testing.T) {
	s := newSuite(t)
	hostAddr := netip.MustParsePrefix("192.0.2.1/24")
	jailAddr := netip.MustParsePrefix("192.0.2.2/24")
	ifs, err := netns.Interfaces()
	if err != nil {
		t.Fatal(err)
	}
	for _, i := range ifs {
		for _, p := range i.Addrs {
			if p.Addr().Is4() && hostAddr.Masked().Contains(p.Addr()) {
				t.Skipf("%s has %s, on the test's subnet %s (TEST-NET-1, RFC 5737)", i.Name, p, hostAddr.Masked())
			}
		}
	}
	a, b := epairPair(t) // destroyed after the container is deleted
	if !hasIface(t, b) {
		t.Fatalf("epair: created %s but the host has no %s", a, b)
	}
	if err := netns.AddAddress(a, hostAddr); err != nil {
		t.Fatal(err)
	}
	if err := netns.SetUp(a); err != nil {
		t.Fatal(err)
	}
	addr, from := echoListener(t, hostAddr.Addr())

	c := s.newContainer("vnet", func(sp *specs.Spec) {
		sp.FreeBSD = &specs.FreeBSD{Jail: &specs.FreeBSDJail{Vnet: specs.FreeBSDShareNew, VnetInterfaces: []string{b}}}
	}, "ifconfig", b, jailAddr.String(), "dial", addr, "across the epair")
	c.mustCreate()
	if v := jailParamValue(t, c.jail, sysParam("vnet")); v != "new" {
		t.Errorf("jail %s: vnet = %v, want new", c.jail, v)
	}
	if hasIface(t, b) {
		t.Errorf("after create, %s is still on the host", b)
	}
	if !hasIface(t, a) {
		t.Errorf("after create, the host lost %s", a)
	}

	c.mustStart()
	c.waitStatus(specs.StateStopped)
	out := c.output()
	first, rest, _ := strings.Cut(out, "\n")
	var in ifconfigOutput
	if err := json.Unmarshal([]byte(first), &in); err != nil {
		t.Fatalf("ctrhelper ifconfig printed %q (stderr %q): %v", out, readFile(t, c.stderr), err)
	}
	ifaces := map[string]netns.Iface{}
	for _, i := range in.Interfaces {
		ifaces[i.Name] = i
	}
	if i, ok := ifaces["lo0"]; !ok || i.Flags&netns.IFF_UP == 0 {
		t.Errorf("in the jail's vnet, lo0 is missing or down (create brings it up): %+v", in.Interfaces)
	} else {
		t.Logf("in the jail's vnet, lo0 is up with %v", i.Addrs)
	}
	if i, ok := ifaces[b]; !ok || i.Flags&netns.IFF_UP == 0 || !slices.Contains(i.Addrs, jailAddr) {
		t.Errorf("in the jail's vnet, %s is not up with %s: %+v", b, jailAddr, in.Interfaces)
	}
	if _, ok := ifaces[a]; ok {
		t.Errorf("in the jail's vnet there is the host's end %s: %+v", a, in.Interfaces)
	}
	if rest != "echo: across the epair\n" {
		t.Errorf("dial from the jail printed %q after the interfaces (stderr %q), want the host's echo", rest, readFile(t, c.stderr))
	}
	checkPeer(t, from, jailAddr.Addr())

	s.mustRunj("delete", c.id)
	c.checkGone()
	if !hasIface(t, b) {
		t.Errorf("after delete, %s is not back on the host", b)
	}
}
