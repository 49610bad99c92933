//go:build freebsd

package netns

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"runtime"
	"strconv"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/runj-go/runj-go/internal/kld"
)

// The constants of ifreq.go and route.go come from FreeBSD's headers;
// golang.org/x/sys/unix generates its own from the same headers with cgo.
// A difference fails the FreeBSD build here: [0]struct{} only takes a
// [0]struct{}. x/sys/unix has no SIOCAIFADDR_IN6 or SIOCDIFADDR_IN6, and
// its SIOCAIFADDR is FreeBSD 9's, now OSIOCAIFADDR, for the 64-byte
// struct oifaliasreq; the kernel ignores ifra_vhid under that number
// (sys/netinet/in.c: in_aifaddr_ioctl).
var (
	_ [0]struct{} = [SIOCSIFFLAGS ^ unix.SIOCSIFFLAGS]struct{}{}
	_ [0]struct{} = [SIOCGIFFLAGS ^ unix.SIOCGIFFLAGS]struct{}{}
	_ [0]struct{} = [SIOCDIFADDR ^ unix.SIOCDIFADDR]struct{}{}
	_ [0]struct{} = [SIOCSIFNAME ^ unix.SIOCSIFNAME]struct{}{}
	_ [0]struct{} = [SIOCSIFMTU ^ unix.SIOCSIFMTU]struct{}{}
	_ [0]struct{} = [SIOCSIFVNET ^ unix.SIOCSIFVNET]struct{}{}
	_ [0]struct{} = [SIOCSIFRVNET ^ unix.SIOCSIFRVNET]struct{}{}
	_ [0]struct{} = [SIOCIFDESTROY ^ unix.SIOCIFDESTROY]struct{}{}
	_ [0]struct{} = [SIOCSDRVSPEC ^ unix.SIOCSDRVSPEC]struct{}{}
	_ [0]struct{} = [SIOCIFCREATE2 ^ unix.SIOCIFCREATE2]struct{}{}
	_ [0]struct{} = [osiocaifaddr ^ unix.SIOCAIFADDR]struct{}{}

	_ [0]struct{} = [IFNAMSIZ ^ unix.IFNAMSIZ]struct{}{}
	_ [0]struct{} = [IFF_UP ^ unix.IFF_UP]struct{}{}
	_ [0]struct{} = [afLocal ^ unix.AF_LOCAL]struct{}{}
	_ [0]struct{} = [afInet ^ unix.AF_INET]struct{}{}
	_ [0]struct{} = [afInet6 ^ unix.AF_INET6]struct{}{}
	_ [0]struct{} = [afLink ^ unix.AF_LINK]struct{}{}
	_ [0]struct{} = [afRoute ^ unix.AF_ROUTE]struct{}{}
	_ [0]struct{} = [sizeofSockaddrIn ^ unix.SizeofSockaddrInet4]struct{}{}
	_ [0]struct{} = [sizeofSockaddrIn6 ^ unix.SizeofSockaddrInet6]struct{}{}

	_ [0]struct{} = [RTM_VERSION ^ unix.RTM_VERSION]struct{}{}
	_ [0]struct{} = [RTM_ADD ^ unix.RTM_ADD]struct{}{}
	_ [0]struct{} = [RTM_DELETE ^ unix.RTM_DELETE]struct{}{}
	_ [0]struct{} = [RTM_NEWADDR ^ unix.RTM_NEWADDR]struct{}{}
	_ [0]struct{} = [RTM_IFINFO ^ unix.RTM_IFINFO]struct{}{}
	_ [0]struct{} = [rtfUp ^ unix.RTF_UP]struct{}{}
	_ [0]struct{} = [rtfGateway ^ unix.RTF_GATEWAY]struct{}{}
	_ [0]struct{} = [rtfHost ^ unix.RTF_HOST]struct{}{}
	_ [0]struct{} = [rtfStatic ^ unix.RTF_STATIC]struct{}{}
	_ [0]struct{} = [rtaDst ^ unix.RTA_DST]struct{}{}
	_ [0]struct{} = [rtaGateway ^ unix.RTA_GATEWAY]struct{}{}
	_ [0]struct{} = [rtaNetmask ^ unix.RTA_NETMASK]struct{}{}
	_ [0]struct{} = [rtaIfp ^ unix.RTA_IFP]struct{}{}
	_ [0]struct{} = [rtaIfa ^ unix.RTA_IFA]struct{}{}
	_ [0]struct{} = [rtaBrd ^ unix.RTA_BRD]struct{}{}
	_ [0]struct{} = [rtaxNetmask ^ unix.RTAX_NETMASK]struct{}{}
	_ [0]struct{} = [rtaxIfp ^ unix.RTAX_IFP]struct{}{}
	_ [0]struct{} = [rtaxIfa ^ unix.RTAX_IFA]struct{}{}
	_ [0]struct{} = [rtaxMax ^ unix.RTAX_MAX]struct{}{}
	_ [0]struct{} = [NET_RT_IFLISTL ^ unix.NET_RT_IFLISTL]struct{}{}
	_ [0]struct{} = [sizeofRtMsghdr ^ unix.SizeofRtMsghdr]struct{}{}
	_ [0]struct{} = [saAlign ^ unsafe.Sizeof(int(0))]struct{}{} // sizeof(long)

	// Header offsets, against x/sys/unix's cgo-generated structs.
	_ [0]struct{} = [offRtmFlags ^ unsafe.Offsetof(unix.RtMsghdr{}.Flags)]struct{}{}
	_ [0]struct{} = [offRtmAddrs ^ unsafe.Offsetof(unix.RtMsghdr{}.Addrs)]struct{}{}
	_ [0]struct{} = [offRtmSeq ^ unsafe.Offsetof(unix.RtMsghdr{}.Seq)]struct{}{}
	_ [0]struct{} = [offIfmAddrs ^ unsafe.Offsetof(unix.IfaMsghdr{}.Addrs)]struct{}{}
	_ [0]struct{} = [offIfmFlags ^ unsafe.Offsetof(unix.IfaMsghdr{}.Flags)]struct{}{}
	_ [0]struct{} = [offIfmIndex ^ unsafe.Offsetof(unix.IfaMsghdr{}.Index)]struct{}{}
	_ [0]struct{} = [offIfmIndex ^ unsafe.Offsetof(unix.IfMsghdr{}.Index)]struct{}{}
	_ [0]struct{} = [5 ^ unsafe.Offsetof(unix.RawSockaddrDatalink{}.Nlen)]struct{}{}
	_ [0]struct{} = [8 ^ unsafe.Offsetof(unix.RawSockaddrDatalink{}.Data)]struct{}{}
	_ [0]struct{} = [4 ^ unsafe.Offsetof(unix.RawSockaddrInet4{}.Addr)]struct{}{}
	_ [0]struct{} = [8 ^ unsafe.Offsetof(unix.RawSockaddrInet6{}.Addr)]struct{}{}
	_ [0]struct{} = [24 ^ unsafe.Offsetof(unix.RawSockaddrInet6{}.Scope_id)]struct{}{}
)

// AddAddress adds p to interface ifname (AddAddressRequest).
func AddAddress(ifname string, p netip.Prefix) error {
	return do(AddAddressRequest(ifname, p))
}

// DeleteAddress removes p's address from interface ifname
// (DeleteAddressRequest).
func DeleteAddress(ifname string, p netip.Prefix) error {
	return do(DeleteAddressRequest(ifname, p))
}

// MoveToVnet moves interface ifname into the vnet of jail jid and returns
// its name there (MoveToVnetRequest).
func MoveToVnet(ifname string, jid int) (string, error) {
	return doName(MoveToVnetRequest(ifname, jid))
}

// ReclaimFromVnet moves interface ifname out of the vnet of jail jid back
// into the caller's and returns its name there (ReclaimFromVnetRequest).
func ReclaimFromVnet(ifname string, jid int) (string, error) {
	return doName(ReclaimFromVnetRequest(ifname, jid))
}

// CreateClone creates an interface of cloner name ("epair", "bridge")
// and returns the created interface's name (CreateCloneRequest). Without
// such a cloner the kernel answers EINVAL (sys/net/if_clone.c:
// if_clone_create) and loads nothing itself: CreateClone then loads the
// cloner's module, if_<name> (if_bridge, if_epair), as ifconfig(8) does
// (sbin/ifconfig/ifconfig.c: ifmaybeload), and tries once more.
func CreateClone(name string) (string, error) {
	created, err := doName(CreateCloneRequest(name))
	if errors.Is(err, unix.EINVAL) {
		if lerr := kld.Load(kld.ClonerModule(name)); lerr != nil {
			return "", fmt.Errorf("%w (%v)", err, lerr)
		}
		return doName(CreateCloneRequest(name))
	}
	return created, err
}

// DestroyClone destroys the cloned interface name.
func DestroyClone(name string) error {
	return do(DestroyCloneRequest(name))
}

// Rename renames interface ifname to newname.
func Rename(ifname, newname string) error {
	return do(RenameRequest(ifname, newname))
}

// AddBridgeMember adds interface member to bridge.
func AddBridgeMember(bridge, member string) error {
	return do(BridgeAddMemberRequest(bridge, member))
}

// DeleteBridgeMember removes interface member from bridge.
func DeleteBridgeMember(bridge, member string) error {
	return do(BridgeDeleteMemberRequest(bridge, member))
}

// SetMTU sets the MTU of interface ifname (SetMTURequest).
func SetMTU(ifname string, mtu int) error {
	return do(SetMTURequest(ifname, mtu))
}

// SetUp brings interface ifname up: it reads its flags and, unless
// IFF_UP is set, sets them again with IFF_UP, as ifconfig(8) does.
func SetUp(ifname string) error {
	get, err := GetFlagsRequest(ifname)
	if err != nil {
		return err
	}
	if err := do(get, nil); err != nil {
		return err
	}
	flags, err := get.Flags()
	if err != nil || flags&IFF_UP != 0 {
		return err
	}
	return do(SetFlagsRequest(ifname, flags|IFF_UP))
}

// AddDefaultRoute adds the default route via gw to the routing table of
// the caller's vnet, as `route add -inet default gw` (or -inet6) does. A
// link-local IPv6 gateway's zone may name its interface.
func AddDefaultRoute(gw netip.Addr) error {
	return defaultRoute(RTM_ADD, "RTM_ADD", gw)
}

// DeleteDefaultRoute deletes the default route via gw.
func DeleteDefaultRoute(gw netip.Addr) error {
	return defaultRoute(RTM_DELETE, "RTM_DELETE", gw)
}

func defaultRoute(typ int, op string, gw netip.Addr) error {
	if z := gw.Zone(); z != "" {
		if _, err := strconv.ParseUint(z, 10, 32); err != nil {
			ifc, err := net.InterfaceByName(z)
			if err != nil {
				return fmt.Errorf("%s default via %s: %w", op, gw, err)
			}
			gw = gw.WithZone(strconv.Itoa(ifc.Index))
		}
	}
	msg, err := DefaultRouteMessage(typ, 1, gw)
	if err != nil {
		return err
	}
	fd, err := unix.Socket(unix.AF_ROUTE, unix.SOCK_RAW|unix.SOCK_CLOEXEC, unix.AF_UNSPEC)
	if err != nil {
		return fmt.Errorf("%s default via %s: socket: %w", op, gw, err)
	}
	defer unix.Close(fd)
	// The kernel answers a write with the message's errno: EEXIST for a
	// route that exists, ESRCH for one to delete that does not.
	n, err := unix.Write(fd, msg)
	if err != nil {
		return fmt.Errorf("%s default via %s: %w", op, gw, err)
	}
	if n != len(msg) {
		return fmt.Errorf("%s default via %s: wrote %d of %d bytes", op, gw, n, len(msg))
	}
	return nil
}

// Interfaces lists the interfaces of the caller's vnet and their
// addresses, from sysctl net.routetable.0.0.NET_RT_IFLISTL.0 (CTL_NET,
// PF_ROUTE, protocol 0, all families, NET_RT_IFLISTL, all interfaces),
// as getifaddrs(3) does.
func Interfaces() ([]Iface, error) {
	mib := [6]int32{unix.CTL_NET, unix.AF_ROUTE, 0, 0, NET_RT_IFLISTL, 0}
	// The list can grow between asking its size and reading it, which
	// fails with ENOMEM; getifaddrs tries 5 times.
	var err error
	for range 5 {
		var b []byte
		if b, err = sysctl(mib[:]); err == nil {
			return ParseIfList(b)
		}
		if !errors.Is(err, unix.ENOMEM) {
			break
		}
	}
	return nil, fmt.Errorf("sysctl net.routetable.0.0.%d.0: %w", NET_RT_IFLISTL, err)
}

// sysctl reads the value of mib with __sysctl(2): its size, then itself.
func sysctl(mib []int32) ([]byte, error) {
	var n uintptr
	if _, _, errno := unix.Syscall6(unix.SYS___SYSCTL, uintptr(unsafe.Pointer(&mib[0])), uintptr(len(mib)), 0, uintptr(unsafe.Pointer(&n)), 0, 0); errno != 0 {
		return nil, errno
	}
	if n == 0 {
		return nil, nil
	}
	b := make([]byte, n)
	if _, _, errno := unix.Syscall6(unix.SYS___SYSCTL, uintptr(unsafe.Pointer(&mib[0])), uintptr(len(mib)), uintptr(unsafe.Pointer(&b[0])), uintptr(unsafe.Pointer(&n)), 0, 0); errno != 0 {
		return nil, errno
	}
	return b[:n], nil
}

// doName makes r and returns the interface name the kernel left in it.
func doName(r Request, err error) (string, error) {
	if err := do(r, err); err != nil {
		return "", err
	}
	return r.IfName()
}

// do makes the ioctl r on a new socket of r's family, unless err, the
// error of building r, is set. Errors name the request and wrap the
// errno: "SIOCAIFADDR em0 10.0.0.5/32: file exists".
func do(r Request, err error) error {
	if err != nil {
		return err
	}
	if err := r.check(); err != nil {
		return err
	}
	fd, err := unix.Socket(r.Family, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("%s: socket: %w", r, err)
	}
	defer unix.Close(fd)
	if r.Data != nil {
		// The kernel reads the buffer during the call; Data was
		// allocated by the encoder on the heap, which Go does not
		// move, and KeepAlive keeps it until the call returns.
		binary.NativeEndian.PutUint64(r.Arg[r.DataOffset:], uint64(uintptr(unsafe.Pointer(&r.Data[0]))))
	}
	_, _, errno := unix.Syscall(unix.SYS_IOCTL, uintptr(fd), uintptr(r.Code), uintptr(unsafe.Pointer(&r.Arg[0])))
	runtime.KeepAlive(r.Data)
	if errno != 0 {
		return fmt.Errorf("%s: %w", r, errno)
	}
	return nil
}
