//go:build freebsd && !simkernel

package kernel

import (
	"net/netip"
	"os"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/runj-go/runj-go/jailspec"
	"github.com/runj-go/runj-go/netns"
	"github.com/runj-go/runj-go/oci/procs"
	"github.com/runj-go/runj-go/oci/rctl"
	"github.com/runj-go/runj-go/rootfs"
)

// Open returns the host's kernel. root is the runtime's state directory,
// unused on FreeBSD.
func Open(root string) (Kernel, error) { return host{}, nil }

type host struct{}

func (host) CreateJail(ps jailspec.Params) (int, error) {
	return jailspec.Set(ps, jailspec.JailCreate)
}

func (host) LookupJail(name string) (int, error) { return jailspec.Lookup(name) }
func (host) RemoveJail(jid int) error            { return jailspec.Remove(jid) }
func (host) AttachJail(jid int) error            { return jailspec.Attach(jid) }

func (host) JailProcs(jid int) ([]procs.Info, error) { return procs.InJail(jid) }

// Fexecve: sys/kern/syscalls.master: 492 fexecve(int fd, char **argv,
// char **envv).
func (host) Fexecve(fd uintptr, argv, env []string) error {
	argvp, err := syscall.SlicePtrFromStrings(argv)
	if err != nil {
		return err
	}
	envp, err := syscall.SlicePtrFromStrings(env)
	if err != nil {
		return err
	}
	_, _, errno := unix.Syscall(unix.SYS_FEXECVE, fd,
		uintptr(unsafe.Pointer(&argvp[0])), uintptr(unsafe.Pointer(&envp[0])))
	return os.NewSyscallError("fexecve", errno)
}

func (host) Mount(req rootfs.Request) error                   { return rootfs.Nmount(req) }
func (host) Unmount(target string, flags int) error           { return rootfs.Unmount(target, flags) }
func (host) DevfsAddRule(mp string, r rootfs.DevfsRule) error { return rootfs.DevfsAddRule(mp, r) }
func (host) DevfsNextFreeRuleset(mp string, min uint16) (uint16, error) {
	return rootfs.DevfsNextFreeRuleset(mp, min)
}
func (host) DevfsRules(mp string, rs uint16) ([]rootfs.DevfsRule, error) {
	return rootfs.DevfsRules(mp, rs)
}
func (host) DevfsUseRuleset(mp string, rs uint16) error    { return rootfs.DevfsUseRuleset(mp, rs) }
func (host) DevfsApplyRuleset(mp string, rs uint16) error  { return rootfs.DevfsApplyRuleset(mp, rs) }
func (host) DevfsDeleteRuleset(mp string, rs uint16) error { return rootfs.DevfsDeleteRuleset(mp, rs) }

func (host) RctlAddRule(r rctl.Rule) error                { return rctl.AddRule(r) }
func (host) RctlRemoveRules(filter string) error          { return rctl.RemoveRules(filter) }
func (host) RctlRacct(f string) (map[string]int64, error) { return rctl.GetRacct(f) }
func (host) RctlRules(filter string) ([]rctl.Rule, error) { return rctl.GetRules(filter) }

func (host) Interfaces() ([]netns.Iface, error)                { return netns.Interfaces() }
func (host) AddAddress(ifname string, p netip.Prefix) error    { return netns.AddAddress(ifname, p) }
func (host) DeleteAddress(ifname string, p netip.Prefix) error { return netns.DeleteAddress(ifname, p) }
func (host) SetUp(ifname string) error                         { return netns.SetUp(ifname) }
func (host) MoveToVnet(ifname string, jid int) (string, error) { return netns.MoveToVnet(ifname, jid) }
func (host) ReclaimFromVnet(ifname string, jid int) (string, error) {
	return netns.ReclaimFromVnet(ifname, jid)
}

func (host) CreateClone(name string) (string, error) { return netns.CreateClone(name) }
func (host) DestroyClone(name string) error          { return netns.DestroyClone(name) }
func (host) AddBridgeMember(br, member string) error { return netns.AddBridgeMember(br, member) }
func (host) SetMTU(ifname string, mtu int) error     { return netns.SetMTU(ifname, mtu) }
func (host) AddDefaultRoute(gw netip.Addr) error     { return netns.AddDefaultRoute(gw) }
