//go:build !freebsd && !simkernel

package kernel

import (
	"net/netip"

	"github.com/runj-go/runj-go/jailspec"
	"github.com/runj-go/runj-go/netns"
	"github.com/runj-go/runj-go/oci/procs"
	"github.com/runj-go/runj-go/oci/rctl"
	"github.com/runj-go/runj-go/rootfs"
)

// Open returns a kernel whose every operation fails with ErrUnsupported:
// jails exist only on FreeBSD.
func Open(root string) (Kernel, error) { return unsupported{}, nil }

type unsupported struct{}

func (unsupported) CreateJail(jailspec.Params) (int, error)               { return 0, ErrUnsupported }
func (unsupported) LookupJail(string) (int, error)                        { return 0, ErrUnsupported }
func (unsupported) RemoveJail(int) error                                  { return ErrUnsupported }
func (unsupported) AttachJail(int) error                                  { return ErrUnsupported }
func (unsupported) JailProcs(int) ([]procs.Info, error)                   { return nil, ErrUnsupported }
func (unsupported) Fexecve(uintptr, []string, []string) error             { return ErrUnsupported }
func (unsupported) Mount(rootfs.Request) error                            { return ErrUnsupported }
func (unsupported) Unmount(string, int) error                             { return ErrUnsupported }
func (unsupported) DevfsNextFreeRuleset(string, uint16) (uint16, error)   { return 0, ErrUnsupported }
func (unsupported) DevfsAddRule(string, rootfs.DevfsRule) error           { return ErrUnsupported }
func (unsupported) DevfsRules(string, uint16) ([]rootfs.DevfsRule, error) { return nil, ErrUnsupported }
func (unsupported) DevfsUseRuleset(string, uint16) error                  { return ErrUnsupported }
func (unsupported) DevfsApplyRuleset(string, uint16) error                { return ErrUnsupported }
func (unsupported) DevfsDeleteRuleset(string, uint16) error               { return ErrUnsupported }
func (unsupported) RctlAddRule(rctl.Rule) error                           { return ErrUnsupported }
func (unsupported) RctlRemoveRules(string) error                          { return ErrUnsupported }
func (unsupported) RctlRacct(string) (map[string]int64, error)            { return nil, ErrUnsupported }
func (unsupported) RctlRules(string) ([]rctl.Rule, error)                 { return nil, ErrUnsupported }
func (unsupported) Interfaces() ([]netns.Iface, error)                    { return nil, ErrUnsupported }
func (unsupported) AddAddress(string, netip.Prefix) error                 { return ErrUnsupported }
func (unsupported) DeleteAddress(string, netip.Prefix) error              { return ErrUnsupported }
func (unsupported) SetUp(string) error                                    { return ErrUnsupported }
func (unsupported) MoveToVnet(string, int) (string, error)                { return "", ErrUnsupported }
func (unsupported) ReclaimFromVnet(string, int) (string, error)           { return "", ErrUnsupported }
func (unsupported) CreateClone(string) (string, error)                    { return "", ErrUnsupported }
func (unsupported) DestroyClone(string) error                             { return ErrUnsupported }
func (unsupported) AddBridgeMember(string, string) error                  { return ErrUnsupported }
func (unsupported) SetMTU(string, int) error                              { return ErrUnsupported }
func (unsupported) AddDefaultRoute(netip.Addr) error                      { return ErrUnsupported }
