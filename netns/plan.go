// Package netns plans and performs a container's network set-up: address
// aliases on host interfaces and interfaces moved into vnet jails.
package netns

import (
	"net/netip"

	"github.com/runj-go/runj-go/jailspec"
)

// Op kinds.
const (
	// OpAddAddress adds Address as an alias of the host interface
	// Interface (a /32 or /128), removed again on delete.
	OpAddAddress = "add-address"
	// OpMoveInterface moves the host interface Interface into the jail's
	// vnet, and back to the host on delete.
	OpMoveInterface = "move-interface"
)

// Op is one planned network operation.
type Op struct {
	Op        string `json:"op"`
	Interface string `json:"interface"`
	Address   string `json:"address,omitempty"`
}

// Plan lists the network operations for a jail, in the order create
// performs them.
func Plan(j *jailspec.Jail) []Op {
	ops := []Op{}
	if j.Interface != "" {
		for _, name := range []string{"ip4.addr", "ip6.addr"} {
			p, ok := j.Params.Get(name)
			if !ok {
				continue
			}
			for _, a := range p.Addrs {
				ops = append(ops, Op{Op: OpAddAddress, Interface: j.Interface, Address: prefix(a).String()})
			}
		}
	}
	for _, ifc := range j.VnetInterfaces {
		ops = append(ops, Op{Op: OpMoveInterface, Interface: ifc})
	}
	return ops
}

func prefix(a netip.Addr) netip.Prefix { return netip.PrefixFrom(a, a.BitLen()) }
