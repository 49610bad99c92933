package netns

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math/bits"
	"net/netip"
	"slices"
	"strconv"
)

// Routing socket messages (sys/net/route.h): the route messages runj-go
// writes to an AF_ROUTE socket, and the interface list the kernel returns
// for sysctl net.routetable.0.0.NET_RT_IFLISTL.0, the data getifaddrs(3)
// is built from. Layouts are LP64, pinned in route_test.go.

// sys/net/route.h
const (
	RTM_VERSION = 5   // rtm_version of every message
	RTM_ADD     = 0x1 // add a route
	RTM_DELETE  = 0x2 // delete a route
	RTM_NEWADDR = 0xc // an interface address (struct ifa_msghdrl in interface lists)
	RTM_IFINFO  = 0xe // an interface (struct if_msghdrl in interface lists)

	rtfUp      = 0x1   // RTF_UP: route usable
	rtfGateway = 0x2   // RTF_GATEWAY: destination is a gateway
	rtfHost    = 0x4   // RTF_HOST: host entry (net otherwise)
	rtfStatic  = 0x800 // RTF_STATIC: manually added

	rtaDst     = 0x1  // RTA_DST: destination sockaddr present
	rtaGateway = 0x2  // RTA_GATEWAY
	rtaNetmask = 0x4  // RTA_NETMASK
	rtaIfp     = 0x10 // RTA_IFP: interface name (sockaddr_dl)
	rtaIfa     = 0x20 // RTA_IFA: interface address
	rtaBrd     = 0x80 // RTA_BRD: broadcast or point-to-point address

	// The sockaddrs of a message follow its header in the order of
	// their RTAX_* index, each present when bit 1<<index of the
	// header's addrs is set.
	rtaxNetmask = 2 // RTAX_NETMASK
	rtaxIfp     = 4 // RTAX_IFP
	rtaxIfa     = 5 // RTAX_IFA
	rtaxMax     = 8 // RTAX_MAX
)

// NET_RT_IFLISTL is the sysctl net.routetable.0.AF.NET_RT_IFLISTL.INDEX
// that lists interfaces and their addresses with the extensible headers
// if_msghdrl and ifa_msghdrl, which carry their own length (sys/sys/
// socket.h; getifaddrs(3) uses it).
const NET_RT_IFLISTL = 5

// saAlign is sizeof(long): the routing socket pads each sockaddr to a
// multiple of it, and an empty one takes that much (route.h: SA_SIZE).
const saAlign = 8

// struct rt_msghdr (sys/net/route.h): u_short rtm_msglen, u_char
// rtm_version, u_char rtm_type, u_short rtm_index, u_short _rtm_spare1,
// int rtm_flags, int rtm_addrs, pid_t rtm_pid, int rtm_seq, int
// rtm_errno, int rtm_fmask, u_long rtm_inits, struct rt_metrics rtm_rmx
// (14 u_long).
const (
	sizeofRtMsghdr = 152

	offRtmMsglen  = 0
	offRtmVersion = 2
	offRtmType    = 3
	offRtmFlags   = 8
	offRtmAddrs   = 12
	offRtmSeq     = 20
)

// struct if_msghdrl and struct ifa_msghdrl (sys/net/if.h) share their
// first fields with rt_msghdr's msglen, version and type: int addrs at 4,
// int flags at 8, u_short index at 12, a spare u_short, and then u_short
// ifm_len / ifam_len at 16, the header's own length, after which the
// sockaddrs start.
const (
	offIfmAddrs = 4
	offIfmFlags = 8
	offIfmIndex = 12
	offIfmLen   = 16
	minIfmLen   = 20 // through ifm_data_off
)

// saSize is SA_SIZE of route.h for a sockaddr whose sa_len is n.
func saSize(n int) int {
	if n == 0 {
		return saAlign
	}
	return 1 + ((n - 1) | (saAlign - 1))
}

// DefaultRouteMessage returns the routing socket message that adds
// (RTM_ADD) or deletes (RTM_DELETE) the default route of gw's family,
// 0.0.0.0/0 or ::/0, via gw.
func DefaultRouteMessage(typ int, seq int32, gw netip.Addr) ([]byte, error) {
	if !gw.IsValid() {
		return nil, errors.New("default route: no gateway")
	}
	dst := netip.IPv4Unspecified()
	if !gw.Is4() {
		dst = netip.IPv6Unspecified()
	}
	return RouteMessage(typ, seq, netip.PrefixFrom(dst, 0), gw)
}

// RouteMessage returns the routing socket message that adds (RTM_ADD) or
// deletes (RTM_DELETE) the static route to dst via gw, as route(8)
// writes it: a struct rt_msghdr with flags RTF_UP, RTF_GATEWAY,
// RTF_STATIC (and RTF_HOST for a single address), then the destination,
// the gateway and, for a network, the netmask, each a full sockaddr
// padded to a multiple of sizeof(long). The kernel fills in rtm_pid. An
// IPv6 gateway's zone, needed for a link-local one, must be the index of
// its interface: it is sent as sin6_scope_id, which the kernel embeds in
// the address as route(8) does itself (sys/net/rtsock.c: rt_xaddrs,
// sa6_embedscope).
func RouteMessage(typ int, seq int32, dst netip.Prefix, gw netip.Addr) ([]byte, error) {
	if typ != RTM_ADD && typ != RTM_DELETE {
		return nil, fmt.Errorf("route message type %d is neither RTM_ADD nor RTM_DELETE", typ)
	}
	if err := checkPrefix(dst); err != nil {
		return nil, fmt.Errorf("route destination: %w", err)
	}
	if !gw.IsValid() || gw.Is4In6() {
		return nil, fmt.Errorf("route to %s: invalid gateway %s", dst, gw)
	}
	if gw.Is4() != dst.Addr().Is4() {
		return nil, fmt.Errorf("route to %s: gateway %s is of another address family", dst, gw)
	}
	if z := gw.Zone(); z != "" {
		if _, err := strconv.ParseUint(z, 10, 32); err != nil {
			return nil, fmt.Errorf("route to %s: zone of gateway %s is not an interface index", dst, gw)
		}
	}
	flags := rtfUp | rtfGateway | rtfStatic
	addrs := []netip.Addr{dst.Addr(), gw}
	addrBits := rtaDst | rtaGateway
	if dst.Bits() == dst.Addr().BitLen() {
		flags |= rtfHost
	} else {
		addrs = append(addrs, netmask(dst))
		addrBits |= rtaNetmask
	}
	salen := sizeofSockaddrIn6
	if gw.Is4() {
		salen = sizeofSockaddrIn
	}
	b := make([]byte, sizeofRtMsghdr+len(addrs)*saSize(salen))
	binary.NativeEndian.PutUint16(b[offRtmMsglen:], uint16(len(b)))
	b[offRtmVersion] = RTM_VERSION
	b[offRtmType] = byte(typ)
	binary.NativeEndian.PutUint32(b[offRtmFlags:], uint32(flags))
	binary.NativeEndian.PutUint32(b[offRtmAddrs:], uint32(addrBits))
	binary.NativeEndian.PutUint32(b[offRtmSeq:], uint32(seq))
	for i, a := range addrs {
		putSockaddr(b[sizeofRtMsghdr+i*saSize(salen):], a)
	}
	return b, nil
}

// Iface is a network interface as the kernel lists it.
type Iface struct {
	// Name is the interface's name: "em0".
	Name string `json:"name"`
	// Index is the interface's index in its vnet.
	Index int `json:"index"`
	// Flags are its IFF_* flags (if_flags | if_drv_flags).
	Flags uint32 `json:"flags"`
	// Addrs are its IPv4 and IPv6 addresses with their prefix lengths,
	// in the kernel's order. IPv6 link-local addresses carry no zone:
	// their scope is this interface.
	Addrs []netip.Prefix `json:"addrs,omitempty"`
}

// HasAddr reports whether a is one of i's addresses, whatever its
// prefix length.
func (i Iface) HasAddr(a netip.Addr) bool {
	a = a.WithZone("")
	return slices.ContainsFunc(i.Addrs, func(p netip.Prefix) bool { return p.Addr() == a })
}

// ParseIfList parses what sysctl net.routetable.0.0.NET_RT_IFLISTL.0
// returns: for each interface an RTM_IFINFO message (struct if_msghdrl
// and the interface's sockaddr_dl), then one RTM_NEWADDR message (struct
// ifa_msghdrl and the address's netmask, address and broadcast
// sockaddrs) for each of its addresses. Messages of another version or
// type, and addresses of families other than IPv4 and IPv6, are skipped
// as getifaddrs(3) does.
func ParseIfList(b []byte) ([]Iface, error) {
	var ifs []Iface
	for off := 0; off < len(b); {
		if len(b)-off < 4 {
			return nil, fmt.Errorf("interface list: %d bytes left at offset %d, less than a message header", len(b)-off, off)
		}
		n := int(binary.NativeEndian.Uint16(b[off:]))
		if n < 4 || n > len(b)-off {
			return nil, fmt.Errorf("interface list: message at offset %d has length %d, %d bytes left", off, n, len(b)-off)
		}
		msg := b[off : off+n]
		if msg[offRtmVersion] == RTM_VERSION {
			var err error
			ifs, err = parseIfMsg(ifs, msg)
			if err != nil {
				return nil, fmt.Errorf("interface list: message at offset %d: %w", off, err)
			}
		}
		off += n
	}
	return ifs, nil
}

// parseIfMsg adds what the RTM_IFINFO or RTM_NEWADDR message msg says to
// ifs.
func parseIfMsg(ifs []Iface, msg []byte) ([]Iface, error) {
	typ := msg[offRtmType]
	if typ != RTM_IFINFO && typ != RTM_NEWADDR {
		return ifs, nil
	}
	if len(msg) < minIfmLen {
		return nil, fmt.Errorf("message of %d bytes is shorter than its header", len(msg))
	}
	addrs := binary.NativeEndian.Uint32(msg[offIfmAddrs:])
	index := int(binary.NativeEndian.Uint16(msg[offIfmIndex:]))
	hlen := int(binary.NativeEndian.Uint16(msg[offIfmLen:]))
	if hlen < minIfmLen || hlen > len(msg) {
		return nil, fmt.Errorf("header length %d is outside the message of %d bytes", hlen, len(msg))
	}
	sas, err := splitSockaddrs(msg[hlen:], addrs)
	if err != nil {
		return nil, err
	}
	if typ == RTM_IFINFO {
		dl := sas[rtaxIfp]
		if dl == nil {
			return ifs, nil // getifaddrs skips an interface without its name
		}
		name, err := linkName(dl)
		if err != nil {
			return nil, fmt.Errorf("interface %d: %w", index, err)
		}
		flags := binary.NativeEndian.Uint32(msg[offIfmFlags:])
		return append(ifs, Iface{Name: name, Index: index, Flags: flags}), nil
	}
	i := slices.IndexFunc(ifs, func(f Iface) bool { return f.Index == index })
	if i < 0 {
		return nil, fmt.Errorf("address of interface %d, which is not listed before it", index)
	}
	p, ok, err := ifAddr(sas[rtaxIfa], sas[rtaxNetmask])
	if err != nil {
		return nil, fmt.Errorf("address of %s: %w", ifs[i].Name, err)
	}
	if ok {
		ifs[i].Addrs = append(ifs[i].Addrs, p)
	}
	return ifs, nil
}

// splitSockaddrs returns the sockaddrs of b, indexed by RTAX_*, for the
// bits set in addrs; each is cut to its sa_len (empty for sa_len 0).
func splitSockaddrs(b []byte, addrs uint32) ([rtaxMax][]byte, error) {
	var sas [rtaxMax][]byte
	for i := range rtaxMax {
		if addrs&(1<<i) == 0 {
			continue
		}
		if len(b) == 0 {
			return sas, fmt.Errorf("sockaddr %d of addrs %#x is missing", i, addrs)
		}
		n := int(b[0])
		size := saSize(n)
		if size > len(b) {
			return sas, fmt.Errorf("sockaddr %d of %d bytes (%d padded) overruns the message", i, n, size)
		}
		sas[i] = b[:n:n]
		b = b[size:]
	}
	return sas, nil
}

// linkName returns the interface name of a struct sockaddr_dl
// (sys/net/if_dl.h): u_char sdl_len, sdl_family, u_short sdl_index,
// u_char sdl_type, sdl_nlen, sdl_alen, sdl_slen, then sdl_data starting
// with the name.
func linkName(sa []byte) (string, error) {
	if len(sa) < 8 || sa[1] != afLink {
		return "", fmt.Errorf("interface sockaddr of %d bytes is not an AF_LINK sockaddr_dl", len(sa))
	}
	n := int(sa[5])
	if n == 0 || 8+n > len(sa) {
		return "", fmt.Errorf("sockaddr_dl of %d bytes has a name of %d bytes", len(sa), n)
	}
	return string(sa[8 : 8+n]), nil
}

// ifAddr returns an interface address and its prefix length from the
// RTAX_IFA and RTAX_NETMASK sockaddrs of an RTM_NEWADDR message, and
// whether it is an IPv4 or IPv6 one. A netmask may be shorter than its
// sockaddr (sa_len counting only up to the last non-zero byte, older
// kernels trim them) or absent (a single address); its family is the
// address's.
func ifAddr(sa, mask []byte) (netip.Prefix, bool, error) {
	if len(sa) < 2 {
		return netip.Prefix{}, false, nil
	}
	var a netip.Addr
	var maskOff int
	switch sa[1] {
	case afInet:
		if len(sa) < 8 {
			return netip.Prefix{}, false, fmt.Errorf("sockaddr_in of %d bytes", len(sa))
		}
		a = netip.AddrFrom4([4]byte(sa[4:8]))
		maskOff = 4
	case afInet6:
		if len(sa) < 24 {
			return netip.Prefix{}, false, fmt.Errorf("sockaddr_in6 of %d bytes", len(sa))
		}
		a16 := [16]byte(sa[8:24])
		// A link-local address may carry its scope in bytes 2 and 3
		// (KAME's embedded form) when the kernel does not recover it
		// into sin6_scope_id (rtsock.c: V_deembed_scopeid).
		if a16[0] == 0xfe && a16[1]&0xc0 == 0x80 {
			a16[2], a16[3] = 0, 0
		}
		a = netip.AddrFrom16(a16)
		maskOff = 8
	default:
		return netip.Prefix{}, false, nil
	}
	if mask == nil {
		return netip.PrefixFrom(a, a.BitLen()), true, nil
	}
	m := make([]byte, a.BitLen()/8)
	if len(mask) > maskOff {
		copy(m, mask[maskOff:])
	}
	ones, err := prefixLen(m)
	if err != nil {
		return netip.Prefix{}, false, fmt.Errorf("%s: netmask %x: %w", a, m, err)
	}
	return netip.PrefixFrom(a, ones), true, nil
}

// prefixLen returns the number of leading ones of a contiguous netmask.
func prefixLen(m []byte) (int, error) {
	ones := 0
	for i, c := range m {
		if c == 0xff {
			ones += 8
			continue
		}
		ones += bits.LeadingZeros8(^c)
		if c<<bits.LeadingZeros8(^c) != 0 || slices.ContainsFunc(m[i+1:], func(c byte) bool { return c != 0 }) {
			return 0, errors.New("not contiguous")
		}
		break
	}
	return ones, nil
}
