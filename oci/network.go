package oci

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"syscall"

	"github.com/runj-go/runj-go/jailspec"
	"github.com/runj-go/runj-go/netns"
	"github.com/runj-go/runj-go/oci/state"
)

// Undo-log steps of the network.
const (
	stepAddress   = "address"        // an alias create added to a host interface
	stepVnetIface = "vnet-interface" // a host interface moved into the jail's vnet
)

type addressStep struct {
	Interface string `json:"interface"`
	Prefix    string `json:"prefix"`
}

type vnetIfaceStep struct {
	// Interface is its name on the host, InJail its name in the jail.
	Interface string `json:"interface"`
	InJail    string `json:"inJail"`
	JID       int    `json:"jid"`
}

// addAddresses adds the planned aliases to the host interface, before the
// jail exists. An address the interface has already is used but not
// recorded, so delete leaves it.
func (r *Runtime) addAddresses(c *state.Container, plan *Plan) error {
	ops := opsOf(plan, netns.OpAddAddress)
	if len(ops) == 0 {
		return nil
	}
	ifaces, err := r.Kernel.Interfaces()
	if err != nil {
		return err
	}
	for _, op := range ops {
		i := slices.IndexFunc(ifaces, func(i netns.Iface) bool { return i.Name == op.Interface })
		if i < 0 {
			return fmt.Errorf("freebsd.jail.interface: %q is not an interface of this host", op.Interface)
		}
		p, err := netip.ParsePrefix(op.Address)
		if err != nil {
			return err
		}
		if ifaces[i].HasAddr(p.Addr()) {
			r.Log.WithField("interface", op.Interface).WithField("address", p.Addr()).Debug("address is on the interface already; delete leaves it")
			continue
		}
		if err := r.Kernel.AddAddress(op.Interface, p); err != nil {
			return fmt.Errorf("add %s to %s: %w", p, op.Interface, err)
		}
		if err := c.AddStep(stepAddress, addressStep{Interface: op.Interface, Prefix: p.String()}); err != nil {
			return err
		}
	}
	return nil
}

// moveInterfaces moves the planned host interfaces into the new jail's
// vnet and brings up the jail's lo0.
func (r *Runtime) moveInterfaces(c *state.Container, plan *Plan) error {
	jid := c.State().JID
	ops := opsOf(plan, netns.OpMoveInterface)
	if len(ops) > 0 {
		ifaces, err := r.Kernel.Interfaces()
		if err != nil {
			return err
		}
		for i, op := range ops {
			if !slices.ContainsFunc(ifaces, func(i netns.Iface) bool { return i.Name == op.Interface }) {
				return fmt.Errorf("freebsd.jail.vnetInterfaces[%d]: %q is not an interface of this host (missing, or in another vnet)", i, op.Interface)
			}
			name, err := r.Kernel.MoveToVnet(op.Interface, jid)
			if err != nil {
				return fmt.Errorf("move %s into the vnet of jail %d: %w", op.Interface, jid, err)
			}
			if err := c.AddStep(stepVnetIface, vnetIfaceStep{Interface: op.Interface, InJail: name, JID: jid}); err != nil {
				return err
			}
		}
	}
	// lo0 is configured inside the jail's vnet by a re-executed runtime
	// attached to the jail: no ifconfig(8).
	if p, ok := plan.Jail.Params.Get("vnet"); ok && jailspec.Sharing(p.Int) == jailspec.New {
		if err := r.netInJail(jid, &initNet{Ifaces: []initIface{loopback()}}); err != nil {
			return fmt.Errorf("configure lo0 in jail %d: %w", jid, err)
		}
	}
	return nil
}

func opsOf(plan *Plan, kind string) []netns.Op {
	var out []netns.Op
	for _, op := range plan.Network {
		if op.Op == kind {
			out = append(out, op)
		}
	}
	return out
}

// undoNet reverses one network step; ok is false for other steps.
func (r *Runtime) undoNet(step state.Step) (ok bool, err error) {
	switch step.Kind {
	case stepAddress:
		var s addressStep
		if err := json.Unmarshal(step.Data, &s); err != nil {
			return true, err
		}
		p, err := netip.ParsePrefix(s.Prefix)
		if err != nil {
			return true, err
		}
		err = r.Kernel.DeleteAddress(s.Interface, p)
		if errors.Is(err, syscall.EADDRNOTAVAIL) || errors.Is(err, syscall.ENXIO) {
			return true, nil // gone already
		}
		return true, err
	case stepVnetIface:
		var s vnetIfaceStep
		if err := json.Unmarshal(step.Data, &s); err != nil {
			return true, err
		}
		_, err := r.Kernel.ReclaimFromVnet(s.InJail, s.JID)
		// Not in that vnet any more: the jail went and the kernel sent
		// the interface home.
		if errors.Is(err, syscall.ENXIO) || errors.Is(err, syscall.ENOENT) || errors.Is(err, syscall.EINVAL) {
			return true, nil
		}
		return true, err
	}
	return false, nil
}
