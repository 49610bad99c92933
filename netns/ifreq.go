package netns

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"strconv"
)

// The interface ioctls runj-go makes, encoded here and made by
// ioctl_freebsd.go. Every struct is laid out as on LP64 FreeBSD (amd64 and
// arm64: long and pointers are 8 bytes, little-endian); the sizes and
// offsets are pinned in ifreq_test.go, and the ioctl numbers are checked
// against golang.org/x/sys/unix's cgo-generated ones when building for
// FreeBSD (ioctl_freebsd.go).

// Address families of sys/sys/socket.h: the socket an ioctl is made on, and
// the sa_family of a sockaddr.
const (
	afUnspec = 0  // AF_UNSPEC
	afLocal  = 1  // AF_LOCAL (AF_UNIX)
	afInet   = 2  // AF_INET
	afRoute  = 17 // AF_ROUTE (PF_ROUTE)
	afLink   = 18 // AF_LINK
	afInet6  = 28 // AF_INET6
)

// sys/net/if.h
const (
	// IFNAMSIZ is the size of an interface name with its NUL: names
	// have at most 15 bytes.
	IFNAMSIZ = 16
	// IFF_UP is the "interface is up" flag of ifr_flags.
	IFF_UP = 0x1
)

// The MTUs the kernel accepts for SIOCSIFMTU (sys/net/if_var.h: IF_MINMTU
// 72, "the size of a TCP/IP header (40) + the minimum mss (32)", and
// IF_MAXMTU 65535; sys/net/if.c: ifhwioctl refuses others with EINVAL).
const (
	IF_MINMTU = 72
	IF_MAXMTU = 65535
)

// ND6_INFINITE_LIFETIME is an address lifetime that never ends
// (sys/netinet6/nd6.h: ((u_int32_t)~0)).
const ND6_INFINITE_LIFETIME = 0xffffffff

// Sizes of the structs, LP64.
const (
	// struct sockaddr_in (sys/netinet/in.h): uint8_t sin_len,
	// sa_family_t sin_family, in_port_t sin_port, struct in_addr
	// sin_addr, char sin_zero[8].
	sizeofSockaddrIn = 16
	// struct sockaddr_in6 (sys/netinet6/in6.h): uint8_t sin6_len,
	// sa_family_t sin6_family, in_port_t sin6_port, uint32_t
	// sin6_flowinfo, struct in6_addr sin6_addr, uint32_t sin6_scope_id.
	sizeofSockaddrIn6 = 28
	// struct ifreq (sys/net/if.h): char ifr_name[IFNAMSIZ], then the
	// union ifr_ifru, whose largest members are struct sockaddr and
	// struct ifreq_buffer { size_t; void * } (16 bytes).
	sizeofIfreq = 32
	// struct ifaliasreq (sys/net/if.h): ifra_name, three struct sockaddr
	// (ifra_addr, ifra_broadaddr, ifra_mask), int ifra_vhid.
	sizeofIfaliasreq = 68
	// struct oifaliasreq (sys/net/if.h, "9.x compat"): ifaliasreq without
	// ifra_vhid.
	sizeofOifaliasreq = 64
	// struct in6_ifreq (sys/netinet6/in6_var.h): ifr_name, then a union
	// whose largest member is struct icmp6_ifstat, 34 uint64_t.
	sizeofIn6Ifreq = 16 + 34*8
	// struct in6_aliasreq (sys/netinet6/in6_var.h): ifra_name, three
	// struct sockaddr_in6 (ifra_addr, ifra_dstaddr, ifra_prefixmask),
	// int ifra_flags, struct in6_addrlifetime ifra_lifetime (time_t
	// ia6t_expire, ia6t_preferred; u_int32_t ia6t_vltime, ia6t_pltime;
	// 8-byte aligned), int ifra_vhid, padded to 8.
	sizeofIn6Aliasreq = 136
	// struct ifdrv (sys/net/if.h): ifd_name, unsigned long ifd_cmd,
	// size_t ifd_len, void *ifd_data.
	sizeofIfdrv = 40
	// struct ifbreq (sys/net/if_bridgevar.h): ifbr_ifsname, then
	// member flags, STP state and counters and a pad that keeps the
	// size when fields are added. The bridge refuses an ifd_len other
	// than this size (sys/net/if_bridge.c: bridge_ioctl, bc_argsize).
	sizeofIfbreq = 80
)

// Field offsets.
const (
	// struct ifreq: every member of ifr_ifru starts here (ifr_addr,
	// ifr_flags, ifr_jid, ifr_data); ifr_flagshigh is ifru_flags[1].
	offIfrIfru      = 16
	offIfrFlagsHigh = 18

	// struct ifaliasreq
	offIfraAddr      = 16
	offIfraBroadaddr = 32
	offIfraMask      = 48
	offIfraVhid      = 64

	// struct in6_aliasreq
	offIn6raAddr       = 16
	offIn6raDstaddr    = 44
	offIn6raPrefixmask = 72
	offIn6raFlags      = 100
	offIn6raExpire     = 104 // ifra_lifetime.ia6t_expire
	offIn6raPreferred  = 112 // ifra_lifetime.ia6t_preferred
	offIn6raVltime     = 120 // ifra_lifetime.ia6t_vltime
	offIn6raPltime     = 124 // ifra_lifetime.ia6t_pltime
	offIn6raVhid       = 128

	// struct ifdrv
	offIfdCmd  = 16
	offIfdLen  = 24
	offIfdData = 32
)

// Bridge commands of SIOCSDRVSPEC (sys/net/if_bridgevar.h).
const (
	BRDGADD = 0 // add bridge member (ifbreq)
	BRDGDEL = 1 // delete bridge member (ifbreq)
)

// The ioctl requests, as _IOW and _IOWR of sys/sys/ioccom.h build them:
// _IOC(inout, group, num, len) = inout | (len & IOCPARM_MASK) << 16 |
// group << 8 | num, with IOC_IN 0x80000000, IOC_OUT 0x40000000 and
// IOCPARM_MASK (1 << 13) - 1.
const (
	iocIn       = 0x80000000
	iocOut      = 0x40000000
	iocInOut    = iocIn | iocOut
	iocParmMask = 1<<13 - 1

	// sys/sys/sockio.h
	SIOCSIFFLAGS  uint32 = iocIn | (sizeofIfreq&iocParmMask)<<16 | 'i'<<8 | 16      // _IOW('i', 16, struct ifreq)
	SIOCGIFFLAGS  uint32 = iocInOut | (sizeofIfreq&iocParmMask)<<16 | 'i'<<8 | 17   // _IOWR('i', 17, struct ifreq)
	SIOCDIFADDR   uint32 = iocIn | (sizeofIfreq&iocParmMask)<<16 | 'i'<<8 | 25      // _IOW('i', 25, struct ifreq)
	SIOCSIFNAME   uint32 = iocIn | (sizeofIfreq&iocParmMask)<<16 | 'i'<<8 | 40      // _IOW('i', 40, struct ifreq)
	SIOCSIFMTU    uint32 = iocIn | (sizeofIfreq&iocParmMask)<<16 | 'i'<<8 | 52      // _IOW('i', 52, struct ifreq)
	SIOCAIFADDR   uint32 = iocIn | (sizeofIfaliasreq&iocParmMask)<<16 | 'i'<<8 | 43 // _IOW('i', 43, struct ifaliasreq)
	SIOCSIFVNET   uint32 = iocInOut | (sizeofIfreq&iocParmMask)<<16 | 'i'<<8 | 90   // _IOWR('i', 90, struct ifreq)
	SIOCSIFRVNET  uint32 = iocInOut | (sizeofIfreq&iocParmMask)<<16 | 'i'<<8 | 91   // _IOWR('i', 91, struct ifreq)
	SIOCIFDESTROY uint32 = iocIn | (sizeofIfreq&iocParmMask)<<16 | 'i'<<8 | 121     // _IOW('i', 121, struct ifreq)
	SIOCSDRVSPEC  uint32 = iocIn | (sizeofIfdrv&iocParmMask)<<16 | 'i'<<8 | 123     // _IOW('i', 123, struct ifdrv)
	SIOCIFCREATE2 uint32 = iocInOut | (sizeofIfreq&iocParmMask)<<16 | 'i'<<8 | 124  // _IOWR('i', 124, struct ifreq)

	// osiocaifaddr is FreeBSD 9's SIOCAIFADDR, kept by the kernel for
	// old binaries (sockio.h: OSIOCAIFADDR _IOW('i', 26, struct
	// oifaliasreq)). golang.org/x/sys/unix calls it SIOCAIFADDR. It is
	// not used; ioctl_freebsd.go pins it to explain that difference.
	osiocaifaddr uint32 = iocIn | (sizeofOifaliasreq&iocParmMask)<<16 | 'i'<<8 | 26

	// sys/netinet6/in6_var.h
	SIOCDIFADDR_IN6 uint32 = iocIn | (sizeofIn6Ifreq&iocParmMask)<<16 | 'i'<<8 | 25    // _IOW('i', 25, struct in6_ifreq)
	SIOCAIFADDR_IN6 uint32 = iocIn | (sizeofIn6Aliasreq&iocParmMask)<<16 | 'i'<<8 | 27 // _IOW('i', 27, struct in6_aliasreq)
)

// A Request is one interface ioctl(2), encoded: the request, the kind of
// socket to make it on and its argument in the kernel's layout. The
// functions below build Requests; ioctl_freebsd.go makes them.
type Request struct {
	// Op is the request's name in FreeBSD's headers: "SIOCAIFADDR".
	Op string `json:"op"`
	// Code is the ioctl request number.
	Code uint32 `json:"code"`
	// Family is the address family of the socket(2) the ioctl is made
	// on. The kernel hands address ioctls to the socket's protocol
	// (in_control for AF_INET, in6_control for AF_INET6) and handles
	// the others on any socket, which are made on AF_LOCAL as
	// ifconfig(8) does so that they work without INET (sys/net/if.c:
	// ifioctl).
	Family int `json:"family"`
	// Interface is the interface the request acts on; Detail, when not
	// empty, the address or member it adds or removes. They name the
	// request in errors: "SIOCAIFADDR em0 10.0.0.5/32".
	Interface string `json:"interface"`
	Detail    string `json:"detail,omitempty"`
	// Arg is the argument. The kernel writes into it for _IOWR requests:
	// SIOCIFCREATE2 and SIOCSIFVNET leave the interface's new name in
	// ifr_name (IfName), SIOCGIFFLAGS its flags (Flags).
	Arg []byte `json:"arg"`
	// Data, when not nil, is a buffer Arg points to: the FreeBSD side
	// stores Data's address at Arg[DataOffset:] just before the call
	// (the ifr_data of SIOCSIFNAME, the ifd_data of SIOCSDRVSPEC). A
	// byte encoding cannot hold a Go pointer.
	Data       []byte `json:"data,omitempty"`
	DataOffset int    `json:"dataOffset,omitempty"`
}

// String names r as errors do: "SIOCAIFADDR em0 10.0.0.5/32".
func (r Request) String() string {
	s := r.Op + " " + r.Interface
	if r.Detail != "" {
		s += " " + r.Detail
	}
	return s
}

// check reports whether r's buffers are as large as the kernel reads:
// Arg the size encoded in the request number (IOCPARM_LEN of
// sys/sys/ioccom.h), with room for the pointer to Data.
func (r Request) check() error {
	if n := int(r.Code>>16) & iocParmMask; len(r.Arg) != n {
		return fmt.Errorf("%s: argument of %d bytes for a request of %d", r, len(r.Arg), n)
	}
	if r.Data != nil && (len(r.Data) == 0 || r.DataOffset < 0 || r.DataOffset > len(r.Arg)-8) {
		return fmt.Errorf("%s: no room for the data pointer at offset %d of the argument", r, r.DataOffset)
	}
	return nil
}

// IfName returns the interface name in r's struct ifreq, as the kernel
// left it: the created interface of SIOCIFCREATE2 ("epair" becomes
// "epair0a"), the name in the vnet after SIOCSIFVNET.
func (r Request) IfName() (string, error) {
	if len(r.Arg) < IFNAMSIZ {
		return "", fmt.Errorf("%s: argument of %d bytes has no interface name", r, len(r.Arg))
	}
	name, _, ok := bytes.Cut(r.Arg[:IFNAMSIZ], []byte{0})
	if !ok {
		return "", fmt.Errorf("%s: interface name is not NUL-terminated", r)
	}
	if len(name) == 0 {
		return "", fmt.Errorf("%s: interface name is empty", r)
	}
	return string(name), nil
}

// Flags returns the interface flags of r's struct ifreq after
// SIOCGIFFLAGS: ifr_flags is the low 16 bits, ifr_flagshigh the high 16
// (sys/net/if.h).
func (r Request) Flags() (uint32, error) {
	if len(r.Arg) != sizeofIfreq {
		return 0, fmt.Errorf("%s: argument of %d bytes is not a struct ifreq", r, len(r.Arg))
	}
	lo := binary.NativeEndian.Uint16(r.Arg[offIfrIfru:])
	hi := binary.NativeEndian.Uint16(r.Arg[offIfrFlagsHigh:])
	return uint32(hi)<<16 | uint32(lo), nil
}

// AddAddressRequest adds p to interface ifname: SIOCAIFADDR with a struct
// ifaliasreq for IPv4, SIOCAIFADDR_IN6 with a struct in6_aliasreq for
// IPv6. p's bits give the netmask, which is always sent: without one the
// kernel would guess a classful mask (sys/netinet/in.c:
// in_aifaddr_ioctl). The IPv4 broadcast address is left for the kernel
// to compute, ifra_vhid is 0 (no CARP), and an IPv6 address gets infinite
// lifetimes and no flags, so the kernel runs duplicate address detection
// as for `ifconfig IF inet6 ADDR alias`: until it completes (about a
// second per net.inet6.ip6.dad_count probe) the address is tentative and
// cannot be bound.
//
// The kernel does not refuse an address the interface already has: it
// removes an IPv4 one and adds it again with the new netmask
// (in_aifaddr_ioctl), and updates an IPv6 one (sys/netinet6/in6.c:
// in6_update_ifa). A caller that must not disturb an existing address
// checks Interfaces first.
func AddAddressRequest(ifname string, p netip.Prefix) (Request, error) {
	r := Request{Interface: ifname, Detail: p.String()}
	if err := checkAddress(ifname, p); err != nil {
		return r, fmt.Errorf("add address %s to %s: %w", p, ifname, err)
	}
	a := p.Addr()
	if a.Is4() {
		r.Op, r.Code, r.Family = "SIOCAIFADDR", SIOCAIFADDR, afInet
		r.Arg = make([]byte, sizeofIfaliasreq)
		copy(r.Arg, ifname)
		putSockaddr(r.Arg[offIfraAddr:], a)
		putSockaddr(r.Arg[offIfraMask:], netmask(p))
		return r, nil
	}
	r.Op, r.Code, r.Family = "SIOCAIFADDR_IN6", SIOCAIFADDR_IN6, afInet6
	r.Arg = make([]byte, sizeofIn6Aliasreq)
	copy(r.Arg, ifname)
	putSockaddr(r.Arg[offIn6raAddr:], a)
	putSockaddr(r.Arg[offIn6raPrefixmask:], netmask(p))
	binary.NativeEndian.PutUint32(r.Arg[offIn6raVltime:], ND6_INFINITE_LIFETIME)
	binary.NativeEndian.PutUint32(r.Arg[offIn6raPltime:], ND6_INFINITE_LIFETIME)
	return r, nil
}

// DeleteAddressRequest removes p's address from interface ifname:
// SIOCDIFADDR with a struct ifreq whose ifr_addr is the address for IPv4,
// SIOCDIFADDR_IN6 with a struct in6_ifreq for IPv6. The kernel matches
// the address alone; p's bits are only reported. The sockaddr always has
// its length and family: an IPv4 one without them would make the kernel
// delete the interface's first address instead (in_difaddr_ioctl:
// deleteAny).
func DeleteAddressRequest(ifname string, p netip.Prefix) (Request, error) {
	r := Request{Interface: ifname, Detail: p.String()}
	if err := checkAddress(ifname, p); err != nil {
		return r, fmt.Errorf("delete address %s from %s: %w", p, ifname, err)
	}
	a := p.Addr()
	if a.Is4() {
		r.Op, r.Code, r.Family = "SIOCDIFADDR", SIOCDIFADDR, afInet
		r.Arg = make([]byte, sizeofIfreq)
	} else {
		r.Op, r.Code, r.Family = "SIOCDIFADDR_IN6", SIOCDIFADDR_IN6, afInet6
		r.Arg = make([]byte, sizeofIn6Ifreq)
	}
	copy(r.Arg, ifname)
	putSockaddr(r.Arg[offIfrIfru:], a)
	return r, nil
}

// MoveToVnetRequest moves interface ifname into the vnet of jail jid
// (SIOCSIFVNET with ifr_jid). The kernel fails with EEXIST when the jail
// shares the caller's vnet or already has an interface of that name, and
// leaves the interface's name in the jail in ifr_name (IfName).
func MoveToVnetRequest(ifname string, jid int) (Request, error) {
	return jidRequest("SIOCSIFVNET", SIOCSIFVNET, ifname, jid)
}

// ReclaimFromVnetRequest moves interface ifname out of the vnet of jail
// jid back into the caller's (SIOCSIFRVNET with ifr_jid). The kernel
// fails with ENXIO when the jail has no such interface.
func ReclaimFromVnetRequest(ifname string, jid int) (Request, error) {
	return jidRequest("SIOCSIFRVNET", SIOCSIFRVNET, ifname, jid)
}

func jidRequest(op string, code uint32, ifname string, jid int) (Request, error) {
	r := Request{Op: op, Code: code, Family: afLocal, Interface: ifname, Detail: "jail " + strconv.Itoa(jid)}
	if err := checkIfName(ifname); err != nil {
		return r, fmt.Errorf("%s: %w", r, err)
	}
	// ifr_jid is an int; jail 0 is the host, which has no parent to
	// find it in (prison_find_child).
	if jid <= 0 || jid > 1<<31-1 {
		return r, fmt.Errorf("%s: jail id %d is not a jail", r, jid)
	}
	r.Arg = ifreqWithName(ifname)
	binary.NativeEndian.PutUint32(r.Arg[offIfrIfru:], uint32(jid))
	return r, nil
}

// CreateCloneRequest creates an interface of a cloner with SIOCIFCREATE2
// and no parameters (ifr_data NULL): name is a cloner ("epair",
// "bridge"), which numbers the interface, or a cloner with a unit
// ("bridge7"). The kernel leaves the created interface's name in
// ifr_name (IfName); an epair pair is named by its "a" end.
func CreateCloneRequest(name string) (Request, error) {
	return nameRequest("SIOCIFCREATE2", SIOCIFCREATE2, name)
}

// DestroyCloneRequest destroys the cloned interface name with
// SIOCIFDESTROY; destroying either end of an epair destroys both.
func DestroyCloneRequest(name string) (Request, error) {
	return nameRequest("SIOCIFDESTROY", SIOCIFDESTROY, name)
}

// GetFlagsRequest reads the flags of interface ifname (SIOCGIFFLAGS);
// Flags returns them.
func GetFlagsRequest(ifname string) (Request, error) {
	return nameRequest("SIOCGIFFLAGS", SIOCGIFFLAGS, ifname)
}

// SetFlagsRequest sets the flags of interface ifname (SIOCSIFFLAGS):
// the low 16 bits in ifr_flags, the high 16 in ifr_flagshigh. The kernel
// ignores the bits only it may change (IFF_CANTCHANGE), so flags read
// with SIOCGIFFLAGS can be sent back with IFF_UP added, as ifconfig(8)
// does.
func SetFlagsRequest(ifname string, flags uint32) (Request, error) {
	r, err := nameRequest("SIOCSIFFLAGS", SIOCSIFFLAGS, ifname)
	if err != nil {
		return r, err
	}
	r.Detail = fmt.Sprintf("flags %#x", flags)
	binary.NativeEndian.PutUint16(r.Arg[offIfrIfru:], uint16(flags))
	binary.NativeEndian.PutUint16(r.Arg[offIfrFlagsHigh:], uint16(flags>>16))
	return r, nil
}

// SetMTURequest sets the MTU of interface ifname (SIOCSIFMTU): ifr_mtu,
// an int, is the first member of ifr_ifru.
func SetMTURequest(ifname string, mtu int) (Request, error) {
	r, err := nameRequest("SIOCSIFMTU", SIOCSIFMTU, ifname)
	if err != nil {
		return r, err
	}
	r.Detail = "mtu " + strconv.Itoa(mtu)
	if mtu < IF_MINMTU || mtu > IF_MAXMTU {
		return r, fmt.Errorf("%s: the kernel takes an MTU from %d to %d", r, IF_MINMTU, IF_MAXMTU)
	}
	binary.NativeEndian.PutUint32(r.Arg[offIfrIfru:], uint32(int32(mtu)))
	return r, nil
}

// RenameRequest renames interface ifname to newname (SIOCSIFNAME). The
// kernel reads the new name from the buffer ifr_data points to
// (copyinstr of at most IFNAMSIZ bytes): Data, NUL-padded.
func RenameRequest(ifname, newname string) (Request, error) {
	r, err := nameRequest("SIOCSIFNAME", SIOCSIFNAME, ifname)
	if err != nil {
		return r, err
	}
	r.Detail = "to " + newname
	if err := checkIfName(newname); err != nil {
		return r, fmt.Errorf("%s: new name: %w", r, err)
	}
	r.Data = ifreqWithName(newname)[:IFNAMSIZ]
	r.DataOffset = offIfrIfru
	return r, nil
}

// BridgeAddMemberRequest adds interface member to the bridge bridge:
// SIOCSDRVSPEC with a struct ifdrv for command BRDGADD whose ifd_data
// points to a struct ifbreq naming the member (Data).
func BridgeAddMemberRequest(bridge, member string) (Request, error) {
	return bridgeRequest(BRDGADD, "BRDGADD", bridge, member)
}

// BridgeDeleteMemberRequest removes interface member from the bridge
// bridge (SIOCSDRVSPEC, BRDGDEL). Destroying a member also removes it.
func BridgeDeleteMemberRequest(bridge, member string) (Request, error) {
	return bridgeRequest(BRDGDEL, "BRDGDEL", bridge, member)
}

func bridgeRequest(cmd uint64, cmdName, bridge, member string) (Request, error) {
	r := Request{Op: "SIOCSDRVSPEC", Code: SIOCSDRVSPEC, Family: afLocal, Interface: bridge, Detail: cmdName + " " + member}
	if err := checkIfName(bridge); err != nil {
		return r, fmt.Errorf("%s: %w", r, err)
	}
	if err := checkIfName(member); err != nil {
		return r, fmt.Errorf("%s: member: %w", r, err)
	}
	r.Arg = make([]byte, sizeofIfdrv)
	copy(r.Arg, bridge)
	binary.NativeEndian.PutUint64(r.Arg[offIfdCmd:], cmd)
	binary.NativeEndian.PutUint64(r.Arg[offIfdLen:], sizeofIfbreq)
	r.Data = make([]byte, sizeofIfbreq)
	copy(r.Data, member) // ifbr_ifsname
	r.DataOffset = offIfdData
	return r, nil
}

// nameRequest is a request whose argument is a struct ifreq holding only
// the interface name, made on an AF_LOCAL socket.
func nameRequest(op string, code uint32, ifname string) (Request, error) {
	r := Request{Op: op, Code: code, Family: afLocal, Interface: ifname}
	if err := checkIfName(ifname); err != nil {
		return r, fmt.Errorf("%s: %w", r, err)
	}
	r.Arg = ifreqWithName(ifname)
	return r, nil
}

// ifreqWithName returns a zeroed struct ifreq with ifr_name set, NUL
// padded; the name has been checked.
func ifreqWithName(ifname string) []byte {
	b := make([]byte, sizeofIfreq)
	copy(b, ifname)
	return b
}

// ErrIfName is wrapped by the errors for interface names the kernel
// cannot take.
var ErrIfName = errors.New("invalid interface name")

// CheckIfName reports whether the kernel can take name as an interface
// name: it must fit ifr_name with its NUL. The error wraps ErrIfName.
func CheckIfName(name string) error { return checkIfName(name) }

// checkIfName accepts names that fit ifr_name with their NUL.
func checkIfName(name string) error {
	switch {
	case name == "":
		return fmt.Errorf("%w: empty", ErrIfName)
	case len(name) > IFNAMSIZ-1:
		return fmt.Errorf("%w: %q is %d bytes, more than %d", ErrIfName, name, len(name), IFNAMSIZ-1)
	case bytes.IndexByte([]byte(name), 0) >= 0:
		return fmt.Errorf("%w: %q contains a NUL byte", ErrIfName, name)
	}
	return nil
}

// checkAddress accepts an interface name and an address prefix.
func checkAddress(ifname string, p netip.Prefix) error {
	if err := checkIfName(ifname); err != nil {
		return err
	}
	return checkPrefix(p)
}

// checkPrefix accepts IPv4 and IPv6 prefixes of an interface address.
func checkPrefix(p netip.Prefix) error {
	a := p.Addr()
	switch {
	case !p.IsValid():
		return fmt.Errorf("invalid address prefix %s", p)
	case a.Is4In6():
		return fmt.Errorf("address %s is an IPv4-mapped IPv6 address; use the IPv4 address", a)
	}
	return nil
}

// netmask returns the mask of p's bits, in p's family.
func netmask(p netip.Prefix) netip.Addr {
	var b [16]byte
	n := p.Addr().BitLen() / 8
	for i := 0; i < p.Bits(); i++ {
		b[i/8] |= 0x80 >> (i % 8)
	}
	if n == 4 {
		return netip.AddrFrom4([4]byte(b[:4]))
	}
	return netip.AddrFrom16(b)
}

// putSockaddr writes a as a struct sockaddr_in or sockaddr_in6 at the
// start of b, with BSD's length byte first, port 0 and the address in
// network byte order. An IPv6 zone must be an interface index, sent as
// sin6_scope_id.
func putSockaddr(b []byte, a netip.Addr) {
	if a.Is4() {
		b[0] = sizeofSockaddrIn
		b[1] = afInet
		a4 := a.As4()
		copy(b[4:8], a4[:])
		return
	}
	b[0] = sizeofSockaddrIn6
	b[1] = afInet6
	a16 := a.As16()
	copy(b[8:24], a16[:])
	if z, err := strconv.ParseUint(a.Zone(), 10, 32); err == nil {
		binary.NativeEndian.PutUint32(b[24:28], uint32(z))
	}
}
