package netns

import (
	"encoding/binary"
	"errors"
	"net/netip"
	"strings"
	"testing"
	"unsafe"
)

// skipBigEndian skips tests whose expected bytes are little-endian, the
// byte order of amd64 and arm64, the architectures runj-go ships for.
func skipBigEndian(t *testing.T) {
	t.Helper()
	if binary.NativeEndian.Uint16([]byte{1, 0}) != 1 {
		t.Skip("expected bytes are little-endian")
	}
}

// skipNotLP64 skips tests that lay out Go mirrors of C structs, which
// match FreeBSD's only where Go's alignment is LP64's.
func skipNotLP64(t *testing.T) {
	t.Helper()
	if unsafe.Sizeof(uintptr(0)) != 8 || unsafe.Alignof(uint64(0)) != 8 {
		t.Skip("struct mirrors need a 64-bit host")
	}
}

// ioc is _IOC of sys/sys/ioccom.h, written out again for the test:
// _IOC(inout, group, num, len) = inout | ((len & IOCPARM_MASK) << 16) |
// (group << 8) | num, IOCPARM_MASK = (1 << IOCPARM_SHIFT) - 1 with
// IOCPARM_SHIFT 13.
func ioc(inout uint32, group byte, num uint8, size uintptr) uint32 {
	return inout | (uint32(size)&(1<<13-1))<<16 | uint32(group)<<8 | uint32(num)
}

const (
	testIOCIn    = 0x80000000 // IOC_IN
	testIOCOut   = 0x40000000 // IOC_OUT
	testIOCInOut = testIOCIn | testIOCOut
)

// Go mirrors of the C structs, transcribed from second sources rather
// than from the headers: the Rust libc crate's FreeBSD bindings
// (rust-lang/libc src/unix/bsd/freebsdlike/freebsd/mod.rs: ifreq,
// ifaliasreq, oifaliasreq, ifdrv, if_msghdrl, ifa_msghdrl),
// slackhq/nebula's overlay/tun_freebsd.go (ifreqAlias6 and addrLifetime:
// struct in6_aliasreq) and golang.org/x/sys/unix's cgo-generated
// ztypes_freebsd_amd64.go (RawSockaddrInet4, RawSockaddrInet6,
// RawSockaddrDatalink, RtMsghdr, RtMetrics). On a 64-bit host Go lays
// them out as a C compiler does on LP64 FreeBSD.
type (
	mirrorSockaddr struct { // struct sockaddr, libc crate
		Len, Family uint8
		Data        [14]byte
	}
	mirrorSockaddrIn struct { // RawSockaddrInet4
		Len, Family uint8
		Port        uint16
		Addr        [4]byte
		Zero        [8]int8
	}
	mirrorSockaddrIn6 struct { // RawSockaddrInet6
		Len, Family uint8
		Port        uint16
		Flowinfo    uint32
		Addr        [16]byte
		ScopeID     uint32
	}
	mirrorSockaddrDl struct { // RawSockaddrDatalink
		Len, Family            uint8
		Index                  uint16
		Type, Nlen, Alen, Slen uint8
		Data                   [46]int8
	}
	mirrorIfreq struct { // libc crate: ifreq, ifr_ifru's largest member ifreq_buffer
		Name   [16]byte
		Length uint64         // size_t
		Buffer unsafe.Pointer // void *
	}
	mirrorIfaliasreq struct { // libc crate: ifaliasreq
		Name                  [16]byte
		Addr, Broadaddr, Mask mirrorSockaddr
		Vhid                  int32
	}
	mirrorOifaliasreq struct { // libc crate: oifaliasreq
		Name                  [16]byte
		Addr, Broadaddr, Mask mirrorSockaddr
	}
	mirrorIfdrv struct { // libc crate: ifdrv
		Name [16]byte
		Cmd  uint64 // c_ulong
		Len  uint64 // size_t
		Data unsafe.Pointer
	}
	mirrorAddrLifetime struct { // nebula: addrLifetime
		Expire, Preferred uint64
		Vltime, Pltime    uint32
	}
	mirrorIn6Aliasreq struct { // nebula: ifreqAlias6
		Name                      [16]byte
		Addr, DstAddr, PrefixMask mirrorSockaddrIn6
		Flags                     uint32
		Lifetime                  mirrorAddrLifetime
		VHid                      uint32
	}
	mirrorRtMetrics struct { // RtMetrics: 11 u_long and Filler [3]uint64
		Locks, Mtu, Hopcount, Expire, Recvpipe, Sendpipe, Ssthresh, Rtt, Rttvar, Pksent, Weight uint64
		Filler                                                                                  [3]uint64
	}
	mirrorRtMsghdr struct { // RtMsghdr
		Msglen                               uint16
		Version, Type                        uint8
		Index                                uint16
		_                                    uint16
		Flags, Addrs, Pid, Seq, Errno, Fmask int32
		Inits                                uint64
		Rmx                                  mirrorRtMetrics
	}
)

// The ioc transcription is checked against ioctl numbers that
// golang.org/x/sys/unix generated from FreeBSD's headers with cgo
// (zerrors_freebsd_amd64.go and zerrors_freebsd_arm64.go agree).
func TestIOCMatchesXSysUnixFreeBSD(t *testing.T) {
	for _, tt := range []struct {
		name string
		got  uint32
		want uint32
	}{
		{"SIOCGIFMTU _IOWR('i', 51, struct ifreq)", ioc(testIOCInOut, 'i', 51, 32), 0xc0206933},
		{"SIOCSIFMTU _IOW('i', 52, struct ifreq)", ioc(testIOCIn, 'i', 52, 32), 0x80206934},
		{"SIOCGDRVSPEC _IOWR('i', 123, struct ifdrv)", ioc(testIOCInOut, 'i', 123, 40), 0xc028697b},
	} {
		if tt.got != tt.want {
			t.Errorf("%s = %#x, want %#x", tt.name, tt.got, tt.want)
		}
	}
}

// Each ioctl number is pinned three ways: the constant ifreq.go computes,
// _IOC applied to the size of the second source's mirror struct, and a
// literal from a second source: x/sys/unix's zerrors_freebsd_{amd64,
// arm64}.go, which ioctl_freebsd.go also checks when building for
// FreeBSD, or slackhq/nebula's overlay/tun_freebsd.go, which calls
// 0x8088691b OSIOCAIFADDR_IN6 though it is _IOW('i', 27, ...), the
// current SIOCAIFADDR_IN6, and sends it with its 136-byte ifreqAlias6.
// No second source lists the FreeBSD values of SIOCAIFADDR and
// SIOCDIFADDR_IN6: SIOCAIFADDR's size is the libc crate's ifaliasreq,
// and SIOCDIFADDR_IN6's is struct in6_ifreq, ifr_name and a union whose
// largest member is struct icmp6_ifstat, 17 input and 17 output
// uint64_t counters in sys/netinet6/in6_var.h; macOS, whose in6_ifreq
// comes from the same KAME code, has the same 0x81206919.
func TestIoctlNumbers(t *testing.T) {
	skipNotLP64(t)
	ifreq := unsafe.Sizeof(mirrorIfreq{})
	for _, tt := range []struct {
		name   string
		got    uint32
		ioc    uint32
		second uint32
	}{
		{"SIOCSIFFLAGS", SIOCSIFFLAGS, ioc(testIOCIn, 'i', 16, ifreq), 0x80206910},
		{"SIOCGIFFLAGS", SIOCGIFFLAGS, ioc(testIOCInOut, 'i', 17, ifreq), 0xc0206911},
		{"SIOCDIFADDR", SIOCDIFADDR, ioc(testIOCIn, 'i', 25, ifreq), 0x80206919},
		{"SIOCSIFNAME", SIOCSIFNAME, ioc(testIOCIn, 'i', 40, ifreq), 0x80206928},
		{"SIOCSIFMTU", SIOCSIFMTU, ioc(testIOCIn, 'i', 52, ifreq), 0x80206934},
		{"SIOCSIFVNET", SIOCSIFVNET, ioc(testIOCInOut, 'i', 90, ifreq), 0xc020695a},
		{"SIOCSIFRVNET", SIOCSIFRVNET, ioc(testIOCInOut, 'i', 91, ifreq), 0xc020695b},
		{"SIOCIFDESTROY", SIOCIFDESTROY, ioc(testIOCIn, 'i', 121, ifreq), 0x80206979},
		{"SIOCSDRVSPEC", SIOCSDRVSPEC, ioc(testIOCIn, 'i', 123, unsafe.Sizeof(mirrorIfdrv{})), 0x8028697b},
		{"SIOCIFCREATE2", SIOCIFCREATE2, ioc(testIOCInOut, 'i', 124, ifreq), 0xc020697c},
		{"OSIOCAIFADDR (x/sys/unix's SIOCAIFADDR)", osiocaifaddr, ioc(testIOCIn, 'i', 26, unsafe.Sizeof(mirrorOifaliasreq{})), 0x8040691a},
		{"SIOCAIFADDR_IN6", SIOCAIFADDR_IN6, ioc(testIOCIn, 'i', 27, unsafe.Sizeof(mirrorIn6Aliasreq{})), 0x8088691b},
		{"SIOCAIFADDR", SIOCAIFADDR, ioc(testIOCIn, 'i', 43, unsafe.Sizeof(mirrorIfaliasreq{})), 0x8044692b},
		{"SIOCDIFADDR_IN6", SIOCDIFADDR_IN6, ioc(testIOCIn, 'i', 25, 16+34*8), 0x81206919},
	} {
		if tt.got != tt.ioc || tt.got != tt.second {
			t.Errorf("%s = %#x; _IOC of the mirror gives %#x, the second source %#x", tt.name, tt.got, tt.ioc, tt.second)
		}
	}
}

// TestIfreqLayouts pins the sizes and field offsets ifreq.go uses against
// the Go mirrors of the second sources.
func TestIfreqLayouts(t *testing.T) {
	skipNotLP64(t)
	for _, tt := range []struct {
		name      string
		got, want uintptr
	}{
		{"sizeof(struct sockaddr_in)", sizeofSockaddrIn, unsafe.Sizeof(mirrorSockaddrIn{})},
		{"sockaddr_in.sin_addr", 4, unsafe.Offsetof(mirrorSockaddrIn{}.Addr)},
		{"sizeof(struct sockaddr_in6)", sizeofSockaddrIn6, unsafe.Sizeof(mirrorSockaddrIn6{})},
		{"sockaddr_in6.sin6_addr", 8, unsafe.Offsetof(mirrorSockaddrIn6{}.Addr)},
		{"sockaddr_in6.sin6_scope_id", 24, unsafe.Offsetof(mirrorSockaddrIn6{}.ScopeID)},
		{"sizeof(struct ifreq)", sizeofIfreq, unsafe.Sizeof(mirrorIfreq{})},
		{"ifreq.ifr_ifru", offIfrIfru, unsafe.Offsetof(mirrorIfreq{}.Length)},
		{"sizeof(struct ifaliasreq)", sizeofIfaliasreq, unsafe.Sizeof(mirrorIfaliasreq{})},
		{"ifaliasreq.ifra_addr", offIfraAddr, unsafe.Offsetof(mirrorIfaliasreq{}.Addr)},
		{"ifaliasreq.ifra_broadaddr", offIfraBroadaddr, unsafe.Offsetof(mirrorIfaliasreq{}.Broadaddr)},
		{"ifaliasreq.ifra_mask", offIfraMask, unsafe.Offsetof(mirrorIfaliasreq{}.Mask)},
		{"ifaliasreq.ifra_vhid", offIfraVhid, unsafe.Offsetof(mirrorIfaliasreq{}.Vhid)},
		{"sizeof(struct oifaliasreq)", sizeofOifaliasreq, unsafe.Sizeof(mirrorOifaliasreq{})},
		{"sizeof(struct in6_aliasreq)", sizeofIn6Aliasreq, unsafe.Sizeof(mirrorIn6Aliasreq{})},
		{"in6_aliasreq.ifra_addr", offIn6raAddr, unsafe.Offsetof(mirrorIn6Aliasreq{}.Addr)},
		{"in6_aliasreq.ifra_dstaddr", offIn6raDstaddr, unsafe.Offsetof(mirrorIn6Aliasreq{}.DstAddr)},
		{"in6_aliasreq.ifra_prefixmask", offIn6raPrefixmask, unsafe.Offsetof(mirrorIn6Aliasreq{}.PrefixMask)},
		{"in6_aliasreq.ifra_flags", offIn6raFlags, unsafe.Offsetof(mirrorIn6Aliasreq{}.Flags)},
		{"in6_aliasreq.ifra_lifetime.ia6t_expire", offIn6raExpire, unsafe.Offsetof(mirrorIn6Aliasreq{}.Lifetime)},
		{"in6_aliasreq.ifra_lifetime.ia6t_preferred", offIn6raPreferred, unsafe.Offsetof(mirrorIn6Aliasreq{}.Lifetime) + unsafe.Offsetof(mirrorAddrLifetime{}.Preferred)},
		{"in6_aliasreq.ifra_lifetime.ia6t_vltime", offIn6raVltime, unsafe.Offsetof(mirrorIn6Aliasreq{}.Lifetime) + unsafe.Offsetof(mirrorAddrLifetime{}.Vltime)},
		{"in6_aliasreq.ifra_lifetime.ia6t_pltime", offIn6raPltime, unsafe.Offsetof(mirrorIn6Aliasreq{}.Lifetime) + unsafe.Offsetof(mirrorAddrLifetime{}.Pltime)},
		{"in6_aliasreq.ifra_vhid", offIn6raVhid, unsafe.Offsetof(mirrorIn6Aliasreq{}.VHid)},
		{"sizeof(struct ifdrv)", sizeofIfdrv, unsafe.Sizeof(mirrorIfdrv{})},
		{"ifdrv.ifd_cmd", offIfdCmd, unsafe.Offsetof(mirrorIfdrv{}.Cmd)},
		{"ifdrv.ifd_len", offIfdLen, unsafe.Offsetof(mirrorIfdrv{}.Len)},
		{"ifdrv.ifd_data", offIfdData, unsafe.Offsetof(mirrorIfdrv{}.Data)},
	} {
		if tt.got != tt.want {
			t.Errorf("%s = %d, the second source gives %d", tt.name, tt.got, tt.want)
		}
	}
}

// TestIfbreqSize pins sizeof(struct ifbreq), which the bridge requires as
// ifd_len exactly. FreeBSD's sys/net/if_bridgevar.h declares it as in
// ifbreq below, ending in uint8_t pad[32]; newer headers, with VLAN
// filtering on bridges, take uint16_t ifbr_pvid and ifbr_vlanproto from
// the pad and keep the size, as a Rust binding of such a header shows
// (ifbreq15, "80 bytes on amd64").
func TestIfbreqSize(t *testing.T) {
	skipNotLP64(t)
	type ifbreq struct {
		Ifsname                              [16]byte
		Ifsflags, Stpflags, PathCost         uint32
		Portno, Priority, Proto, Role, State uint8
		Addrcnt, Addrmax, Addrexceeded       uint32
		Pad                                  [32]uint8
	}
	type ifbreq15 struct {
		Ifsname                              [16]byte
		Ifsflags, Stpflags, PathCost         uint32
		Portno, Priority, Proto, Role, State uint8
		Addrcnt, Addrmax, Addrexceeded       uint32
		Pvid, Vlanproto                      uint16
		Pad                                  [28]uint8
	}
	if a, b := unsafe.Sizeof(ifbreq{}), unsafe.Sizeof(ifbreq15{}); sizeofIfbreq != a || sizeofIfbreq != b {
		t.Errorf("sizeofIfbreq = %d, the headers give %d and %d", sizeofIfbreq, a, b)
	}
}

// ifreqBytes builds an expected struct ifreq-based argument: the name,
// NUL-padded, then the given bytes at their offsets.
func ifreqBytes(size int, name string, at map[int][]byte) []byte {
	b := make([]byte, size)
	copy(b, name)
	for off, v := range at {
		copy(b[off:], v)
	}
	return b
}

func checkRequest(t *testing.T, r Request, op string, code uint32, family int, str string, arg []byte) {
	t.Helper()
	if r.Op != op || r.Code != code || r.Family != family {
		t.Errorf("request %s %#x family %d, want %s %#x family %d", r.Op, r.Code, r.Family, op, code, family)
	}
	if r.String() != str {
		t.Errorf("String() = %q, want %q", r.String(), str)
	}
	if string(r.Arg) != string(arg) {
		t.Errorf("Arg:\n got %x\nwant %x", r.Arg, arg)
	}
	if err := r.check(); err != nil {
		t.Errorf("check: %v", err)
	}
}

func TestAddAddressRequest(t *testing.T) {
	skipBigEndian(t)
	for _, tt := range []struct {
		name   string
		ifname string
		prefix string
		op     string
		code   uint32
		family int
		str    string
		arg    []byte
	}{
		{
			name: "ipv4_alias_/32", ifname: "em0", prefix: "10.0.0.5/32",
			op: "SIOCAIFADDR", code: SIOCAIFADDR, family: 2, str: "SIOCAIFADDR em0 10.0.0.5/32",
			arg: ifreqBytes(68, "em0", map[int][]byte{
				16: {16, 2, 0, 0, 10, 0, 0, 5},        // ifra_addr: sin_len, AF_INET, port 0, address
				48: {16, 2, 0, 0, 255, 255, 255, 255}, // ifra_mask; ifra_broadaddr, ifra_vhid zero
			}),
		},
		{
			name: "ipv4_/24_keeps_host_bits", ifname: "vtnet0", prefix: "192.0.2.10/24",
			op: "SIOCAIFADDR", code: SIOCAIFADDR, family: 2, str: "SIOCAIFADDR vtnet0 192.0.2.10/24",
			arg: ifreqBytes(68, "vtnet0", map[int][]byte{
				16: {16, 2, 0, 0, 192, 0, 2, 10},
				48: {16, 2, 0, 0, 255, 255, 255, 0},
			}),
		},
		{
			name: "ipv6_alias_/128", ifname: "em0", prefix: "2001:db8::5/128",
			op: "SIOCAIFADDR_IN6", code: SIOCAIFADDR_IN6, family: 28, str: "SIOCAIFADDR_IN6 em0 2001:db8::5/128",
			arg: ifreqBytes(136, "em0", map[int][]byte{
				16:  {28, 28, 0, 0, 0, 0, 0, 0, 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 5},                                     // ifra_addr
				72:  {28, 28, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, // ifra_prefixmask
				120: {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff},                                                                           // ia6t_vltime, ia6t_pltime
			}),
		},
		{
			name: "ipv6_/64", ifname: "em0", prefix: "2001:db8:1:2::7/64",
			op: "SIOCAIFADDR_IN6", code: SIOCAIFADDR_IN6, family: 28, str: "SIOCAIFADDR_IN6 em0 2001:db8:1:2::7/64",
			arg: ifreqBytes(136, "em0", map[int][]byte{
				16:  {28, 28, 0, 0, 0, 0, 0, 0, 0x20, 0x01, 0x0d, 0xb8, 0, 1, 0, 2, 0, 0, 0, 0, 0, 0, 0, 7},
				72:  {28, 28, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff},
				120: {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff},
			}),
		},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r, err := AddAddressRequest(tt.ifname, netip.MustParsePrefix(tt.prefix))
			if err != nil {
				t.Fatal(err)
			}
			checkRequest(t, r, tt.op, tt.code, tt.family, tt.str, tt.arg)
			if r.Data != nil {
				t.Errorf("Data = %x, want none", r.Data)
			}
		})
	}
}

func TestDeleteAddressRequest(t *testing.T) {
	skipBigEndian(t)
	r, err := DeleteAddressRequest("em0", netip.MustParsePrefix("10.0.0.5/32"))
	if err != nil {
		t.Fatal(err)
	}
	// ifr_addr always has sin_len and AF_INET: without them the kernel
	// deletes the interface's first address.
	checkRequest(t, r, "SIOCDIFADDR", SIOCDIFADDR, 2, "SIOCDIFADDR em0 10.0.0.5/32",
		ifreqBytes(32, "em0", map[int][]byte{16: {16, 2, 0, 0, 10, 0, 0, 5}}))

	r, err = DeleteAddressRequest("lo0", netip.MustParsePrefix("fd00::1/128"))
	if err != nil {
		t.Fatal(err)
	}
	checkRequest(t, r, "SIOCDIFADDR_IN6", SIOCDIFADDR_IN6, 28, "SIOCDIFADDR_IN6 lo0 fd00::1/128",
		ifreqBytes(288, "lo0", map[int][]byte{16: {28, 28, 0, 0, 0, 0, 0, 0, 0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}}))
}

func TestVnetRequests(t *testing.T) {
	skipBigEndian(t)
	r, err := MoveToVnetRequest("epair0b", 7)
	if err != nil {
		t.Fatal(err)
	}
	checkRequest(t, r, "SIOCSIFVNET", SIOCSIFVNET, 1, "SIOCSIFVNET epair0b jail 7",
		ifreqBytes(32, "epair0b", map[int][]byte{16: {7, 0, 0, 0}})) // ifr_jid

	r, err = ReclaimFromVnetRequest("vtnet1", 0x01020304)
	if err != nil {
		t.Fatal(err)
	}
	checkRequest(t, r, "SIOCSIFRVNET", SIOCSIFRVNET, 1, "SIOCSIFRVNET vtnet1 jail 16909060",
		ifreqBytes(32, "vtnet1", map[int][]byte{16: {4, 3, 2, 1}}))

	// The kernel reports the name in the vnet back in ifr_name.
	copy(r.Arg, "vtnet9\x00")
	if name, err := r.IfName(); err != nil || name != "vtnet9" {
		t.Errorf("IfName() = %q, %v; want vtnet9", name, err)
	}
}

func TestCloneRequests(t *testing.T) {
	r, err := CreateCloneRequest("epair")
	if err != nil {
		t.Fatal(err)
	}
	// ifr_data is NULL: no cloner parameters.
	checkRequest(t, r, "SIOCIFCREATE2", SIOCIFCREATE2, 1, "SIOCIFCREATE2 epair", ifreqBytes(32, "epair", nil))
	copy(r.Arg, "epair12a\x00")
	if name, err := r.IfName(); err != nil || name != "epair12a" {
		t.Errorf("IfName() = %q, %v; want epair12a", name, err)
	}

	r, err = DestroyCloneRequest("bridge0")
	if err != nil {
		t.Fatal(err)
	}
	checkRequest(t, r, "SIOCIFDESTROY", SIOCIFDESTROY, 1, "SIOCIFDESTROY bridge0", ifreqBytes(32, "bridge0", nil))
}

func TestFlagsRequests(t *testing.T) {
	skipBigEndian(t)
	get, err := GetFlagsRequest("lo0")
	if err != nil {
		t.Fatal(err)
	}
	checkRequest(t, get, "SIOCGIFFLAGS", SIOCGIFFLAGS, 1, "SIOCGIFFLAGS lo0", ifreqBytes(32, "lo0", nil))
	// As the kernel answers: ifr_flags 0x8048 (IFF_LOOPBACK, IFF_RUNNING,
	// IFF_MULTICAST), ifr_flagshigh 0x0002 (IFF_PPROMISC 0x20000).
	copy(get.Arg[16:], []byte{0x48, 0x80, 0x02, 0x00})
	flags, err := get.Flags()
	if err != nil || flags != 0x28048 {
		t.Fatalf("Flags() = %#x, %v; want 0x28048", flags, err)
	}

	set, err := SetFlagsRequest("lo0", flags|IFF_UP)
	if err != nil {
		t.Fatal(err)
	}
	checkRequest(t, set, "SIOCSIFFLAGS", SIOCSIFFLAGS, 1, "SIOCSIFFLAGS lo0 flags 0x28049",
		ifreqBytes(32, "lo0", map[int][]byte{16: {0x49, 0x80, 0x02, 0x00}}))
}

func TestSetMTURequest(t *testing.T) {
	skipBigEndian(t)
	r, err := SetMTURequest("epair0b", 1400)
	if err != nil {
		t.Fatal(err)
	}
	// ifr_mtu, an int, at the start of ifr_ifru: 1400 = 0x578.
	checkRequest(t, r, "SIOCSIFMTU", SIOCSIFMTU, 1, "SIOCSIFMTU epair0b mtu 1400",
		ifreqBytes(32, "epair0b", map[int][]byte{16: {0x78, 0x05, 0, 0}}))
	for _, mtu := range []int{IF_MINMTU, IF_MAXMTU} {
		if _, err := SetMTURequest("em0", mtu); err != nil {
			t.Errorf("MTU %d: %v", mtu, err)
		}
	}
	for _, mtu := range []int{0, -1, IF_MINMTU - 1, IF_MAXMTU + 1, 1 << 20} {
		if _, err := SetMTURequest("em0", mtu); err == nil || !strings.Contains(err.Error(), "the kernel takes an MTU from 72 to 65535") {
			t.Errorf("MTU %d: error %v, want the kernel's range", mtu, err)
		}
	}
}

func TestRenameRequest(t *testing.T) {
	r, err := RenameRequest("epair3b", "eth0")
	if err != nil {
		t.Fatal(err)
	}
	checkRequest(t, r, "SIOCSIFNAME", SIOCSIFNAME, 1, "SIOCSIFNAME epair3b to eth0", ifreqBytes(32, "epair3b", nil))
	// ifr_data points to the new name, NUL-terminated within IFNAMSIZ.
	if want := ifreqBytes(16, "eth0", nil); string(r.Data) != string(want) || r.DataOffset != 16 {
		t.Errorf("Data %x at %d, want %x at 16", r.Data, r.DataOffset, want)
	}
}

func TestBridgeRequests(t *testing.T) {
	skipBigEndian(t)
	for _, tt := range []struct {
		cmd byte
		str string
		fn  func(string, string) (Request, error)
	}{
		{BRDGADD, "SIOCSDRVSPEC bridge0 BRDGADD epair0a", BridgeAddMemberRequest},
		{BRDGDEL, "SIOCSDRVSPEC bridge0 BRDGDEL epair0a", BridgeDeleteMemberRequest},
	} {
		r, err := tt.fn("bridge0", "epair0a")
		if err != nil {
			t.Fatal(err)
		}
		checkRequest(t, r, "SIOCSDRVSPEC", SIOCSDRVSPEC, 1, tt.str, ifreqBytes(40, "bridge0", map[int][]byte{
			16: {tt.cmd, 0, 0, 0, 0, 0, 0, 0}, // ifd_cmd
			24: {80, 0, 0, 0, 0, 0, 0, 0},     // ifd_len: sizeof(struct ifbreq); ifd_data filled by the call
		}))
		if want := ifreqBytes(80, "epair0a", nil); string(r.Data) != string(want) || r.DataOffset != 32 {
			t.Errorf("Data %x at %d, want ifbreq %x at 32", r.Data, r.DataOffset, want)
		}
	}
}

// Every encoder's argument is exactly as long as its request number says
// the kernel copies in (IOCPARM_LEN), and the pointer slot fits.
func TestRequestSizesMatchNumbers(t *testing.T) {
	p4, p6 := netip.MustParsePrefix("10.0.0.1/32"), netip.MustParsePrefix("fd00::1/128")
	var rs []Request
	add := func(r Request, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		rs = append(rs, r)
	}
	add(AddAddressRequest("em0", p4))
	add(AddAddressRequest("em0", p6))
	add(DeleteAddressRequest("em0", p4))
	add(DeleteAddressRequest("em0", p6))
	add(MoveToVnetRequest("em0", 1))
	add(ReclaimFromVnetRequest("em0", 1))
	add(CreateCloneRequest("epair"))
	add(DestroyCloneRequest("epair0a"))
	add(GetFlagsRequest("em0"))
	add(SetFlagsRequest("em0", IFF_UP))
	add(RenameRequest("em0", "net0"))
	add(SetMTURequest("em0", 9000))
	add(BridgeAddMemberRequest("bridge0", "em0"))
	add(BridgeDeleteMemberRequest("bridge0", "em0"))
	for _, r := range rs {
		if n := int(r.Code>>16) & (1<<13 - 1); n != len(r.Arg) {
			t.Errorf("%s: %d bytes for a request of %d", r, len(r.Arg), n)
		}
		if err := r.check(); err != nil {
			t.Error(err)
		}
	}

	bad := rs[0]
	bad.Arg = bad.Arg[:32]
	if err := bad.check(); err == nil {
		t.Error("check accepted a 32-byte argument for SIOCAIFADDR")
	}
	bad = rs[len(rs)-1]
	bad.DataOffset = 36
	if err := bad.check(); err == nil {
		t.Error("check accepted a data pointer past the argument")
	}
}

func TestRequestErrors(t *testing.T) {
	p := netip.MustParsePrefix("10.0.0.5/32")
	for _, tt := range []struct {
		name string
		err  error
		want string
	}{
		{"name_of_16_bytes", second(AddAddressRequest("abcdefghijklmnop", p)), `invalid interface name: "abcdefghijklmnop" is 16 bytes, more than 15`},
		{"empty_name", second(DeleteAddressRequest("", p)), "invalid interface name: empty"},
		{"name_with_NUL", second(GetFlagsRequest("em\x000")), "contains a NUL byte"},
		{"invalid_prefix", second(AddAddressRequest("em0", netip.Prefix{})), "invalid address prefix"},
		{"ipv4_mapped", second(AddAddressRequest("em0", netip.MustParsePrefix("::ffff:10.0.0.5/128"))), "IPv4-mapped"},
		{"jail_0", second(MoveToVnetRequest("em0", 0)), "SIOCSIFVNET em0 jail 0: jail id 0 is not a jail"},
		{"negative_jail", second(ReclaimFromVnetRequest("em0", -3)), "jail id -3 is not a jail"},
		{"jail_beyond_int", second(MoveToVnetRequest("em0", 1<<31)), "is not a jail"},
		{"long_new_name", second(RenameRequest("em0", "a-very-long-name")), "SIOCSIFNAME em0 to a-very-long-name: new name: invalid interface name"},
		{"long_member", second(BridgeAddMemberRequest("bridge0", "a-very-long-name")), "SIOCSDRVSPEC bridge0 BRDGADD a-very-long-name: member: invalid interface name"},
		{"long_bridge", second(BridgeAddMemberRequest("a-very-long-name", "em0")), "invalid interface name"},
		{"long_clone", second(CreateCloneRequest("a-very-long-name")), "invalid interface name"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if tt.err == nil || !strings.Contains(tt.err.Error(), tt.want) {
				t.Errorf("error %v, want one containing %q", tt.err, tt.want)
			}
		})
	}
	if err := second(SetFlagsRequest("0123456789abcdef", 1)); !errors.Is(err, ErrIfName) {
		t.Errorf("SetFlagsRequest with a 16-byte name: %v, want ErrIfName", err)
	}
}

func second[T any](_ T, err error) error { return err }

func TestReplyErrors(t *testing.T) {
	r, err := CreateCloneRequest("epair")
	if err != nil {
		t.Fatal(err)
	}
	copy(r.Arg, "0123456789abcdef") // no NUL within IFNAMSIZ
	if _, err := r.IfName(); err == nil {
		t.Error("IfName accepted a name without NUL")
	}
	clear(r.Arg)
	if _, err := r.IfName(); err == nil {
		t.Error("IfName accepted an empty name")
	}
	if _, err := (Request{Op: "X", Arg: make([]byte, 8)}).IfName(); err == nil {
		t.Error("IfName accepted an 8-byte argument")
	}
	if _, err := (Request{Op: "X", Arg: make([]byte, 68)}).Flags(); err == nil {
		t.Error("Flags accepted a 68-byte argument")
	}
}
