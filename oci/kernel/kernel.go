// Package kernel is runj-go's platform seam: the few kernel operations the
// lifecycle needs, each taking already-encoded, typed input. The FreeBSD
// implementation makes the syscalls; on other systems every operation
// fails clearly; the simulated kernel (build tag simkernel, tests only)
// records each operation and runs processes on the host.
package kernel

import (
	"errors"
	"fmt"
	"net/netip"
	"runtime"

	"github.com/runj-go/runj-go/jailspec"
	"github.com/runj-go/runj-go/netns"
	"github.com/runj-go/runj-go/oci/procs"
	"github.com/runj-go/runj-go/oci/rctl"
	"github.com/runj-go/runj-go/rootfs"
)

// Kernel is the set of kernel operations the lifecycle uses.
type Kernel interface {
	// CreateJail creates a persistent jail with the given parameters
	// (jail_set with JAIL_CREATE) and returns its jail id.
	CreateJail(params jailspec.Params) (int, error)
	// LookupJail returns the jail id of the jail named name, or an error
	// wrapping jailspec.ErrNotFound.
	LookupJail(name string) (int, error)
	// RemoveJail removes a jail, killing the processes left in it
	// (jail_remove).
	RemoveJail(jid int) error
	// AttachJail moves the calling process into a jail (jail_attach).
	AttachJail(jid int) error
	// JailProcs lists the processes in a jail.
	JailProcs(jid int) ([]procs.Info, error)
	// Fexecve replaces the calling process with the program open at fd.
	// It returns only on failure.
	Fexecve(fd uintptr, argv, env []string) error

	// Mount performs one nmount(2).
	Mount(req rootfs.Request) error
	// Unmount unmounts target; flags may hold rootfs.MntForce.
	Unmount(target string, flags int) error

	// The devfs rule operations act through the devfs mounted at
	// mountpoint (sys/fs/devfs/devfs.h DEVFSIO_*).
	DevfsNextFreeRuleset(mountpoint string, min uint16) (uint16, error)
	DevfsRules(mountpoint string, ruleset uint16) ([]rootfs.DevfsRule, error)
	DevfsAddRule(mountpoint string, r rootfs.DevfsRule) error
	DevfsUseRuleset(mountpoint string, ruleset uint16) error
	DevfsApplyRuleset(mountpoint string, ruleset uint16) error
	DevfsDeleteRuleset(mountpoint string, ruleset uint16) error

	// The rctl(8) operations (rctl_add_rule(2), rctl_remove_rule(2),
	// rctl_get_racct(2), rctl_get_rules(2)).
	RctlAddRule(r rctl.Rule) error
	RctlRemoveRules(filter string) error
	RctlRacct(filter string) (map[string]int64, error)
	RctlRules(filter string) ([]rctl.Rule, error)

	// Network operations act on the calling process's vnet: the host's,
	// or a jail's once attached to it (sys/net/if.h, sys/sockio.h).
	Interfaces() ([]netns.Iface, error)
	AddAddress(ifname string, p netip.Prefix) error
	DeleteAddress(ifname string, p netip.Prefix) error
	SetUp(ifname string) error
	// MoveToVnet moves a host interface into a jail's vnet (SIOCSIFVNET)
	// and ReclaimFromVnet moves it back (SIOCSIFRVNET); both return the
	// name the kernel reports for it.
	MoveToVnet(ifname string, jid int) (string, error)
	ReclaimFromVnet(ifname string, jid int) (string, error)
	// CreateClone creates an interface of a cloner (SIOCIFCREATE2) and
	// returns its name: "bridge" numbers a bridge, "bridge3" asks for
	// that unit, "epair" makes a pair and returns its "a" end
	// ("epair0a"; the other end is "epair0b").
	CreateClone(name string) (string, error)
	// DestroyClone destroys a cloned interface (SIOCIFDESTROY).
	// Destroying either end of an epair destroys both, wherever the
	// other end is (sys/net/if_epair.c: epair_clone_destroy).
	DestroyClone(name string) error
	// AddBridgeMember adds interface member to a bridge (SIOCSDRVSPEC
	// BRDGADD).
	AddBridgeMember(bridge, member string) error
	// SetMTU sets an interface's MTU (SIOCSIFMTU).
	SetMTU(ifname string, mtu int) error
	// AddDefaultRoute adds the default route of gw's family via gw, with
	// an RTM_ADD message on a routing socket.
	AddDefaultRoute(gw netip.Addr) error
}

// ErrUnsupported is returned by every kernel operation on systems other than
// FreeBSD.
var ErrUnsupported = fmt.Errorf("runj-go runs containers only on FreeBSD; this host is %s", runtime.GOOS)

// IsUnsupported reports whether err comes from a system without jails.
func IsUnsupported(err error) bool { return errors.Is(err, ErrUnsupported) }
