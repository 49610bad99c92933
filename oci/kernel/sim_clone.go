//go:build simkernel

package kernel

import (
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"syscall"
)

// The simulated kernel's cloned interfaces, bridges, MTUs and routes. A
// clone is made in the caller's vnet: "epair" makes epairNa and epairNb
// (the lowest unit free), each the other's peer; destroying either
// destroys both, wherever the other is. "bridge" makes bridgeN; a member
// records its bridge. Routes are kept per vnet and need a gateway on a
// subnet of an interface that is up, as the kernel's do.

// simCloners are the cloners the simulated kernel knows.
var simCloners = []string{"epair", "bridge"}

type simRoute struct {
	Vnet    int    `json:"vnet"`
	Dst     string `json:"dst"`
	Gateway string `json:"gateway"`
}

// cloneName returns the cloner of name ("epair", "bridge") and the name of
// the interface a create of name makes in the table: the unit asked for,
// or the lowest free one. ok is false for a name no cloner matches.
func (t *simTable) cloneName(name string) (cloner, created string, ok bool) {
	for _, c := range simCloners {
		unit, found := strings.CutPrefix(name, c)
		if !found || strings.Trim(unit, "0123456789") != "" {
			continue
		}
		suffix := ""
		if c == "epair" {
			suffix = "a"
		}
		if unit != "" {
			return c, name + suffix, true
		}
		for n := 0; ; n++ {
			created = c + strconv.Itoa(n)
			if !t.anyIface(created) && !t.anyIface(created+"a") && !t.anyIface(created+"b") {
				return c, created + suffix, true
			}
		}
	}
	return "", "", false
}

// anyIface reports whether an interface of that name exists in any vnet.
func (t *simTable) anyIface(name string) bool {
	return slices.ContainsFunc(t.ifaces(), func(i *simIface) bool { return i.Name == name })
}

func (s *sim) CreateClone(name string) (string, error) {
	var created string
	err := s.update(func(t *simTable) error {
		cloner, n, ok := t.cloneName(name)
		created = n
		return s.call(t, Op{Op: "create_clone", Target: name, Name: created, Jid: s.attached}, func() error {
			vnet := t.vnetOf(s.attached)
			if !ok {
				return fmt.Errorf("SIOCIFCREATE2 %s: no cloner: %w", name, syscall.EINVAL)
			}
			names := []string{created}
			if cloner == "epair" {
				names = append(names, strings.TrimSuffix(created, "a")+"b")
			}
			for _, n := range names {
				if t.anyIface(n) {
					return fmt.Errorf("SIOCIFCREATE2 %s: %s: %w", name, n, syscall.EEXIST)
				}
			}
			for i, n := range names {
				ifc := &simIface{Name: n, Vnet: vnet, Home: vnet, Cloner: cloner}
				if len(names) == 2 {
					ifc.Peer = names[1-i]
				}
				t.Ifaces = append(t.ifaces(), ifc)
			}
			return nil
		})
	})
	if err != nil {
		return "", err
	}
	return created, nil
}

func (s *sim) DestroyClone(name string) error {
	return s.ifaceOp(Op{Op: "destroy_clone", Target: name, Jid: s.attached}, func(t *simTable, i *simIface) error {
		if i.Cloner == "" {
			return fmt.Errorf("SIOCIFDESTROY %s: not a cloned interface: %w", name, syscall.EINVAL)
		}
		t.destroyClone(i)
		return nil
	})
}

// destroyClone removes a cloned interface, its epair peer and, for a
// bridge, the membership of its members.
func (t *simTable) destroyClone(i *simIface) {
	gone := []*simIface{i}
	for _, j := range t.ifaces() {
		if i.Peer != "" && j.Cloner == i.Cloner && j.Name == i.Peer && j.Peer == i.Name {
			gone = append(gone, j)
		}
	}
	for _, g := range gone {
		for _, j := range t.Ifaces {
			if j.Bridge == g.Name && j.Vnet == g.Vnet {
				j.Bridge = ""
			}
		}
	}
	t.Ifaces = slices.DeleteFunc(t.Ifaces, func(j *simIface) bool { return slices.Contains(gone, j) })
}

// AddBridgeMember follows sys/net/if_bridge.c: bridge_ioctl_add. The
// first member sets the bridge's MTU; a later one takes the bridge's.
func (s *sim) AddBridgeMember(bridge, member string) error {
	op := Op{Op: "bridge_add_member", Target: bridge, Name: member, Jid: s.attached}
	return s.ifaceOp(op, func(t *simTable, br *simIface) error {
		if br.Cloner != "bridge" {
			return fmt.Errorf("SIOCSDRVSPEC %s BRDGADD %s: not a bridge: %w", bridge, member, syscall.EINVAL)
		}
		m := t.iface(member, br.Vnet)
		switch {
		case m == nil:
			return fmt.Errorf("SIOCSDRVSPEC %s BRDGADD %s: %w", bridge, member, syscall.ENOENT)
		case m.Bridge == bridge:
			return fmt.Errorf("SIOCSDRVSPEC %s BRDGADD %s: %w", bridge, member, syscall.EEXIST)
		case m.Bridge != "" || m.Cloner == "bridge":
			return fmt.Errorf("SIOCSDRVSPEC %s BRDGADD %s: %w", bridge, member, syscall.EBUSY)
		}
		first := !slices.ContainsFunc(t.Ifaces, func(i *simIface) bool { return i.Bridge == bridge && i.Vnet == br.Vnet })
		if first {
			br.MTU = m.MTU
		} else {
			m.MTU = br.MTU
		}
		m.Bridge = bridge
		return nil
	})
}

// SetMTU refuses what sys/net/if.c: ifhwioctl refuses: an MTU outside
// IF_MINMTU..IF_MAXMTU, and any change on a bridge member.
func (s *sim) SetMTU(ifname string, mtu int) error {
	return s.ifaceOp(Op{Op: "set_mtu", Target: ifname, MTU: mtu, Jid: s.attached}, func(_ *simTable, i *simIface) error {
		switch {
		case mtu < 72 || mtu > 65535:
			return fmt.Errorf("SIOCSIFMTU %s mtu %d: %w", ifname, mtu, syscall.EINVAL)
		case i.Bridge != "":
			return fmt.Errorf("SIOCSIFMTU %s mtu %d: member of %s: %w", ifname, mtu, i.Bridge, syscall.EOPNOTSUPP)
		}
		i.MTU = mtu
		return nil
	})
}

// AddDefaultRoute adds the default route of gw's family to the caller's
// vnet. As RTM_ADD, it fails with EEXIST when there is one, and with
// ENETUNREACH when gw is on no subnet of an interface that is up (a
// link-local IPv6 gateway needs its zone to name such an interface).
func (s *sim) AddDefaultRoute(gw netip.Addr) error {
	return s.update(func(t *simTable) error {
		return s.call(t, Op{Op: "add_default_route", Name: gw.String(), Jid: s.attached}, func() error {
			vnet := t.vnetOf(s.attached)
			dst := netip.IPv4Unspecified()
			if !gw.Is4() {
				dst = netip.IPv6Unspecified()
			}
			def := netip.PrefixFrom(dst, 0).String()
			if slices.ContainsFunc(t.Routes, func(r simRoute) bool { return r.Vnet == vnet && r.Dst == def }) {
				return fmt.Errorf("RTM_ADD default via %s: %w", gw, syscall.EEXIST)
			}
			if !t.onLink(vnet, gw) {
				return fmt.Errorf("RTM_ADD default via %s: %w", gw, syscall.ENETUNREACH)
			}
			t.Routes = append(t.Routes, simRoute{Vnet: vnet, Dst: def, Gateway: gw.String()})
			return nil
		})
	})
}

// onLink reports whether gw is reachable directly from an interface of
// vnet that is up.
func (t *simTable) onLink(vnet int, gw netip.Addr) bool {
	for _, i := range t.ifaces() {
		if i.Vnet != vnet || !i.Up {
			continue
		}
		if gw.Is6() && gw.IsLinkLocalUnicast() {
			if gw.Zone() == i.Name {
				return true
			}
			continue
		}
		for _, a := range i.Addrs {
			if p, err := netip.ParsePrefix(a); err == nil && p.Masked().Contains(gw) {
				return true
			}
		}
	}
	return false
}
