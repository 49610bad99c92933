//go:build integration && freebsd

package integration

import (
	"bufio"
	"crypto/rand"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"net"
	"net/netip"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/runj-go/runj-go/jailspec"
	"github.com/runj-go/runj-go/netns"
)

// Named network jails (`runj-go netns`) on a real kernel. Each test uses
// a bridge and an IPv4 subnet no host interface has: a bridge unit from
// 1000 up, and a /24 of 198.18.0.0/15, the range RFC 2544 sets aside for
// benchmarking, so that the tests neither disturb nor depend on the
// host's own network.

// netJail is a network jail a test made, deleted at the end of the test
// (after the containers in it, whose cleanups run first).
type netJail struct {
	s      *suite
	name   string
	bridge string
}

// netnsInfo is one entry of `netns list --format json`.
type netnsInfo struct {
	Name          string   `json:"name"`
	JID           int      `json:"jid"`
	Bridge        string   `json:"bridge"`
	HostInterface string   `json:"hostInterface"`
	Interface     string   `json:"interface"`
	Addresses     []string `json:"addresses"`
	Ready         bool     `json:"ready"`
	Containers    []string `json:"containers"`
}

// newNetJail creates a network jail on a bridge of its own with flags.
func (s *suite) newNetJail(flags ...string) *netJail {
	s.t.Helper()
	n := &netJail{s: s, name: newID("ns"), bridge: unusedBridge(s.t)}
	s.t.Cleanup(n.cleanup)
	args := append(append([]string{"netns", "create", "--bridge", n.bridge}, flags...), n.name)
	s.mustRunj(args...)
	return n
}

func (n *netJail) cleanup() {
	t := n.s.t
	if r := n.s.runj("netns", "delete", n.name); r.code != 0 && !strings.Contains(r.stderr, "does not exist") {
		t.Errorf("cleanup: %v", r)
	}
	jid, err := jailspec.Lookup(n.name)
	if err == nil {
		t.Errorf("cleanup: jail %s (jid %d) survived netns delete; removing it", n.name, jid)
		jailspec.Remove(jid)
	}
	if _, err := net.InterfaceByName(n.bridge); err == nil {
		t.Errorf("cleanup: bridge %s, which netns create made, survived netns delete; destroying it", n.bridge)
		netns.DestroyClone(n.bridge)
	}
}

// info is the network jail as netns list shows it.
func (n *netJail) info() netnsInfo {
	n.s.t.Helper()
	r := n.s.mustRunj("netns", "list", "--format", "json")
	var all []netnsInfo
	if err := json.Unmarshal([]byte(r.stdout), &all); err != nil {
		n.s.t.Fatalf("netns list: %v\n%s", err, r.stdout)
	}
	i := slices.IndexFunc(all, func(i netnsInfo) bool { return i.Name == n.name })
	if i < 0 {
		n.s.t.Fatalf("netns list has no %s: %s", n.name, r.stdout)
	}
	return all[i]
}

// unusedBridge is the name of a bridge the host does not have.
func unusedBridge(t *testing.T) string {
	t.Helper()
	for range 100 {
		name := fmt.Sprintf("bridge%d", 1000+randUint(9000))
		if _, err := net.InterfaceByName(name); err != nil {
			return name
		}
	}
	t.Fatal("found no unused bridge unit")
	return ""
}

// unusedSubnet returns the host's and the jail's address on a /24 of
// 198.18.0.0/15 on which the host has no address.
func unusedSubnet(t *testing.T) (host, jail netip.Prefix) {
	t.Helper()
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		t.Fatal(err)
	}
	for range 100 {
		n := randUint(512)
		subnet := netip.PrefixFrom(netip.AddrFrom4([4]byte{198, 18 + byte(n/256), byte(n % 256), 0}), 24)
		if !slices.ContainsFunc(addrs, func(a net.Addr) bool {
			ipnet, ok := a.(*net.IPNet)
			if !ok {
				return false
			}
			ip, ok := netip.AddrFromSlice(ipnet.IP)
			return ok && subnet.Contains(ip.Unmap())
		}) {
			base := subnet.Addr().As4()
			base[3] = 1
			host = netip.PrefixFrom(netip.AddrFrom4(base), 24)
			base[3] = 2
			return host, netip.PrefixFrom(netip.AddrFrom4(base), 24)
		}
	}
	t.Fatal("found no unused subnet of 198.18.0.0/15")
	return
}

func randUint(n uint32) uint32 {
	var b [4]byte
	rand.Read(b[:])
	return binary.NativeEndian.Uint32(b[:]) % n
}

// TestNetnsBridgeReachesTheHost creates a network jail on a bridge that
// create makes, gives the bridge the host's address on the jail's subnet
// (SIOCAIFADDR, as the runtime adds aliases), and has `netns exec` run
// ctrhelper dial inside the jail against a TCP listener on that host
// address: the connection comes from the jail's address, through the
// epair and the bridge. Delete takes the jail, the epair and the bridge
// away.
func TestNetnsBridgeReachesTheHost(t *testing.T) {
	s := newSuite(t)
	hostAddr, jailAddr := unusedSubnet(t)
	n := s.newNetJail("--address", jailAddr.String(), "--gateway", hostAddr.Addr().String(), "--mtu", "1400")
	jid := lookupJail(t, n.name)
	ps := jailParams(t, n.name, sysParam("vnet"), boolParam("persist"), stringParam("path"))
	for _, want := range []struct {
		name string
		v    any
	}{{"vnet", "new"}, {"persist", true}, {"path", "/"}} {
		if p, _ := ps.Get(want.name); p.Value() != want.v {
			t.Errorf("jail %s: %s = %v, want %v", n.name, want.name, p.Value(), want.v)
		}
	}
	info := n.info()
	if info.JID != jid || !info.Ready || info.Bridge != n.bridge || !slices.Equal(info.Addresses, []string{jailAddr.String()}) {
		t.Errorf("netns list: %+v; want jid %d on %s with %s", info, jid, n.bridge, jailAddr)
	}
	if _, err := net.InterfaceByName(info.HostInterface); err != nil {
		t.Errorf("the epair's host end %s: %v", info.HostInterface, err)
	}
	if _, err := net.InterfaceByName(info.Interface); err == nil {
		t.Errorf("the epair's jail end %s is still on the host", info.Interface)
	}

	if err := netns.AddAddress(n.bridge, hostAddr); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", net.JoinHostPort(hostAddr.Addr().String(), "0"))
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	from := make(chan string, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			from <- err.Error()
			return
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(cmdTimeout))
		from <- c.RemoteAddr().(*net.TCPAddr).IP.String()
		line, _ := bufio.NewReader(c).ReadString('\n')
		fmt.Fprintf(c, "echo: %s", line)
	}()
	helper := filepath.Join(s.dir, "ctrhelper")
	installHelper(t, helper)
	r := s.mustRunj("netns", "exec", n.name, "--", helper, "dial", ln.Addr().String(), "from the jail")
	if got := strings.TrimSpace(r.stdout); got != "echo: from the jail" {
		t.Errorf("dial from the jail printed %q, want the host's echo", got)
	}
	select {
	case got := <-from:
		if got != jailAddr.Addr().String() {
			t.Errorf("the host's listener saw a connection from %s, want the jail's address %s", got, jailAddr.Addr())
		}
	case <-time.After(pollTimeout):
		t.Error("the host's listener got no connection")
	}

	s.mustRunj("netns", "delete", n.name)
	checkNoJail(t, n.name)
	for _, ifname := range []string{info.HostInterface, n.bridge} {
		if _, err := net.InterfaceByName(ifname); err == nil {
			t.Errorf("interface %s survived netns delete", ifname)
		}
	}
}

// TestNetnsPodTalksOverLoopback runs a pod: two containers whose jails are
// children of one network jail (vnet inherit) share its network stack, so
// one reaches the other's listener on 127.0.0.1, the network jail's
// loopback, not the host's. netns delete is refused while they exist.
func TestNetnsPodTalksOverLoopback(t *testing.T) {
	s := newSuite(t)
	n := s.newNetJail()
	inPod := func(sp *specs.Spec) {
		sp.FreeBSD = &specs.FreeBSD{Jail: &specs.FreeBSDJail{Parent: n.name, Vnet: specs.FreeBSDShareInherit}}
	}
	const addr = "127.0.0.1:7777"
	srv := s.newContainer("srv", inPod, "listen", addr)
	srv.jail = n.name + "." + srv.id
	cli := s.newContainer("cli", func(sp *specs.Spec) {
		// As podman sends it.
		sp.Annotations = map[string]string{jailspec.AnnotationParent: n.name, "org.freebsd.jail.vnet": "inherit"}
	}, "dial", addr, "hello pod")
	cli.jail = n.name + "." + cli.id

	srv.mustCreate()
	srv.mustStart()
	eventually(t, "the server to listen", func() (bool, string) {
		out := srv.output()
		return strings.HasPrefix(out, "listening"), out
	})
	cli.mustCreate()
	netJID := lookupJail(t, n.name)
	for _, c := range []*container{srv, cli} {
		ps := jailParams(t, c.jail, intParam("parent"), sysParam("vnet"))
		if p, _ := ps.Get("parent"); p.Value() != int32(netJID) {
			t.Errorf("jail %s: parent %v, want the network jail %d", c.jail, p.Value(), netJID)
		}
		if p, _ := ps.Get("vnet"); p.Value() != "inherit" {
			t.Errorf("jail %s: vnet %v, want inherit", c.jail, p.Value())
		}
	}
	if got := n.info().Containers; len(got) != 2 {
		t.Errorf("netns list: containers %v, want %s and %s", got, srv.id, cli.id)
	}
	s.failsWith("network jail is in use by container(s)", "netns", "delete", n.name)

	cli.mustStart()
	cli.waitStatus(specs.StateStopped)
	if got := cli.output(); got != "echo: hello pod\n" {
		t.Errorf("client printed %q (stderr %q), want the server's echo", got, readFile(t, cli.stderr))
	}
	srv.waitStatus(specs.StateStopped)

	s.mustRunj("delete", cli.id)
	s.mustRunj("delete", srv.id)
	s.mustRunj("netns", "delete", n.name)
	checkNoJail(t, n.name)
}
