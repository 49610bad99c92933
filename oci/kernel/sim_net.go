//go:build simkernel

package kernel

import (
	"fmt"
	"net/netip"
	"os"
	"slices"
	"strings"
	"syscall"

	"github.com/runj-go/runj-go/jailspec"
	"github.com/runj-go/runj-go/netns"
)

// The simulated kernel's network: interfaces by vnet (0 is the host's, a
// vnet jail has its own, with its own lo0), their addresses and flags. The
// host's interfaces are lo0 (127.0.0.1/8, ::1/128) and those named in
// RUNJ_GO_SIMKERNEL_IFACES (comma-separated; default em0; a bridgeN there
// is a bridge). A process's vnet is the host's until it attaches to a
// vnet jail, or to a child jail of one.

// SimIfacesEnv names the simulated host's interfaces besides lo0.
const SimIfacesEnv = "RUNJ_GO_SIMKERNEL_IFACES"

type simIface struct {
	Name  string   `json:"name"`
	Vnet  int      `json:"vnet"` // jail id; 0 for the host
	Home  int      `json:"home"` // the vnet it was created in
	Up    bool     `json:"up"`
	Addrs []string `json:"addrs,omitempty"`
	// Cloner made the interface ("epair", "bridge"); empty for the
	// host's own. Peer is the other end of an epair.
	Cloner string `json:"cloner,omitempty"`
	Peer   string `json:"peer,omitempty"`
	// Bridge is the bridge the interface is a member of.
	Bridge string `json:"bridge,omitempty"`
	// MTU is the interface's MTU; 0 is the default, 1500.
	MTU int `json:"mtu,omitempty"`
}

// ifaces returns the interface table, made on first use.
func (t *simTable) ifaces() []*simIface {
	if t.Ifaces == nil {
		names := []string{"em0"}
		if v, ok := os.LookupEnv(SimIfacesEnv); ok {
			names = strings.FieldsFunc(v, func(r rune) bool { return r == ',' })
		}
		t.Ifaces = []*simIface{{Name: "lo0", Up: true, Addrs: []string{"127.0.0.1/8", "::1/128"}}}
		for _, n := range names {
			i := &simIface{Name: n, Up: true}
			if c, _, ok := t.cloneName(n); ok && c == "bridge" {
				i.Cloner = c // a bridge the host made before
			}
			t.Ifaces = append(t.Ifaces, i)
		}
	}
	return t.Ifaces
}

func (t *simTable) iface(name string, vnet int) *simIface {
	for _, i := range t.ifaces() {
		if i.Name == name && i.Vnet == vnet {
			return i
		}
	}
	return nil
}

// vnetOf is the vnet a process attached to jail jid uses: the jail's own
// when it was created with vnet new, else its parent's: a child jail
// named "parent.child" with vnet inherit shares the vnet of its parent
// (a named network jail's, for a pod).
func (t *simTable) vnetOf(jid int) int {
	for {
		j, ok := t.Jails[jid]
		if !ok {
			return 0
		}
		if j.Vnet {
			return jid
		}
		parent, _, ok := cutLast(j.Name, ".")
		if !ok {
			return 0
		}
		jid = t.jidOf(parent)
	}
}

// jidOf is the jail id of the jail named name, 0 if there is none.
func (t *simTable) jidOf(name string) int {
	for id, j := range t.Jails {
		if j.Name == name {
			return id
		}
	}
	return 0
}

// newJailNet gives a vnet jail its own lo0.
func (t *simTable) newJailNet(jid int, ps jailspec.Params) {
	if p, ok := ps.Get("vnet"); ok && jailspec.Sharing(p.Int) == jailspec.New {
		t.Jails[jid].Vnet = true
		t.Ifaces = append(t.ifaces(), &simIface{Name: "lo0", Vnet: jid, Home: jid})
	}
}

// endJailNet returns the interfaces in a removed jail's vnet to their home
// and destroys the ones made there (with their epair peers), and drops
// the vnet's routes.
func (t *simTable) endJailNet(jid int) {
	var made []*simIface
	for _, i := range t.ifaces() {
		if i.Home == jid && i.Cloner != "" {
			made = append(made, i)
		}
	}
	for _, i := range made {
		t.destroyClone(i)
	}
	t.Ifaces = slices.DeleteFunc(t.ifaces(), func(i *simIface) bool { return i.Home == jid })
	for _, i := range t.Ifaces {
		if i.Vnet == jid {
			i.Vnet, i.Addrs, i.Up, i.Bridge = i.Home, nil, false, ""
		}
	}
	t.Routes = slices.DeleteFunc(t.Routes, func(r simRoute) bool { return r.Vnet == jid })
}

func (s *sim) Interfaces() ([]netns.Iface, error) {
	var out []netns.Iface
	err := s.update(func(t *simTable) error {
		vnet := t.vnetOf(s.attached)
		for n, i := range t.ifaces() {
			if i.Vnet != vnet {
				continue
			}
			ni := netns.Iface{Name: i.Name, Index: n + 1}
			if i.Up {
				ni.Flags = netns.IFF_UP
			}
			for _, a := range i.Addrs {
				ni.Addrs = append(ni.Addrs, netip.MustParsePrefix(a))
			}
			out = append(out, ni)
		}
		return nil
	})
	return out, err
}

func (s *sim) ifaceOp(op Op, do func(t *simTable, i *simIface) error) error {
	return s.update(func(t *simTable) error {
		return s.call(t, op, func() error {
			i := t.iface(op.Target, t.vnetOf(s.attached))
			if i == nil {
				return fmt.Errorf("%s %s: %w", op.Op, op.Target, syscall.ENXIO)
			}
			return do(t, i)
		})
	})
}

func (s *sim) AddAddress(ifname string, p netip.Prefix) error {
	return s.ifaceOp(Op{Op: "add_address", Target: ifname, Name: p.String()}, func(_ *simTable, i *simIface) error {
		if !slices.Contains(i.Addrs, p.String()) {
			i.Addrs = append(i.Addrs, p.String())
		}
		return nil
	})
}

func (s *sim) DeleteAddress(ifname string, p netip.Prefix) error {
	return s.ifaceOp(Op{Op: "delete_address", Target: ifname, Name: p.String()}, func(_ *simTable, i *simIface) error {
		n := len(i.Addrs)
		i.Addrs = slices.DeleteFunc(i.Addrs, func(a string) bool { return a == p.String() })
		if len(i.Addrs) == n {
			return fmt.Errorf("delete_address %s %s: %w", ifname, p, syscall.EADDRNOTAVAIL)
		}
		return nil
	})
}

func (s *sim) SetUp(ifname string) error {
	return s.ifaceOp(Op{Op: "ifup", Target: ifname, Jid: s.attached}, func(_ *simTable, i *simIface) error {
		i.Up = true
		return nil
	})
}

func (s *sim) MoveToVnet(ifname string, jid int) (string, error) {
	err := s.ifaceOp(Op{Op: "move_to_vnet", Target: ifname, Jid: jid}, func(t *simTable, i *simIface) error {
		if t.vnetOf(jid) != jid {
			return fmt.Errorf("move_to_vnet %s: jail %d has no vnet: %w", ifname, jid, syscall.EINVAL)
		}
		// if_vmove detaches the interface, which leaves its bridge
		// (sys/net/if_bridge.c: bridge_ifdetach).
		i.Vnet, i.Addrs, i.Up, i.Bridge = jid, nil, false, ""
		return nil
	})
	return ifname, err
}

func (s *sim) ReclaimFromVnet(ifname string, jid int) (string, error) {
	err := s.update(func(t *simTable) error {
		return s.call(t, Op{Op: "reclaim_from_vnet", Target: ifname, Jid: jid}, func() error {
			i := t.iface(ifname, jid)
			if i == nil || i.Home == jid {
				return fmt.Errorf("reclaim_from_vnet %s from %d: %w", ifname, jid, syscall.ENXIO)
			}
			i.Vnet, i.Addrs = i.Home, nil
			return nil
		})
	})
	return ifname, err
}
