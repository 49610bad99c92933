package netns

import (
	"encoding/binary"
	"net/netip"
	"reflect"
	"strings"
	"testing"
	"unsafe"
)

// Go mirrors of the interface list headers, transcribed from the Rust
// libc crate's FreeBSD bindings (rust-lang/libc src/unix/bsd/freebsdlike/
// freebsd/mod.rs: if_msghdrl, ifa_msghdrl) with struct if_data as
// golang.org/x/sys/unix generated it for FreeBSD 11 and later
// (ztypes_freebsd_amd64.go: ifData, sizeofIfData 0x98; golang.org/x/net
// route/zsys_freebsd_amd64.go: sizeofIfDataFreeBSD11 0x98).
type (
	mirrorIfData struct {
		Type, Physical, Addrlen, Hdrlen, LinkState, Vhid uint8
		Datalen                                          uint16
		Mtu, Metric                                      uint32
		Counters                                         [14]uint64 // Baudrate through Hwassist
		Epoch                                            [8]byte
		Lastchange                                       [16]byte
	}
	mirrorIfMsghdrl struct {
		Msglen        uint16
		Version, Type uint8
		Addrs, Flags  int32
		Index, Spare1 uint16
		Len, DataOff  uint16
		Spare2        int32
		Data          mirrorIfData
	}
	mirrorIfaMsghdrl struct {
		Msglen        uint16
		Version, Type uint8
		Addrs, Flags  int32
		Index, Spare1 uint16
		Len, DataOff  uint16
		Metric        int32
		Data          mirrorIfData
	}
)

func TestRouteLayouts(t *testing.T) {
	skipNotLP64(t)
	for _, tt := range []struct {
		name      string
		got, want uintptr
	}{
		// x/sys/unix: SizeofRtMsghdr 0x98; x/net/route:
		// sizeofRtMsghdrFreeBSD10 0x98.
		{"sizeof(struct rt_msghdr)", sizeofRtMsghdr, unsafe.Sizeof(mirrorRtMsghdr{})},
		{"sizeof(struct rt_msghdr) in x/sys/unix", sizeofRtMsghdr, 0x98},
		{"rt_msghdr.rtm_version", offRtmVersion, unsafe.Offsetof(mirrorRtMsghdr{}.Version)},
		{"rt_msghdr.rtm_type", offRtmType, unsafe.Offsetof(mirrorRtMsghdr{}.Type)},
		{"rt_msghdr.rtm_flags", offRtmFlags, unsafe.Offsetof(mirrorRtMsghdr{}.Flags)},
		{"rt_msghdr.rtm_addrs", offRtmAddrs, unsafe.Offsetof(mirrorRtMsghdr{}.Addrs)},
		{"rt_msghdr.rtm_seq", offRtmSeq, unsafe.Offsetof(mirrorRtMsghdr{}.Seq)},
		{"sizeof(struct if_data)", 0x98, unsafe.Sizeof(mirrorIfData{})},
		{"if_msghdrl.ifm_addrs", offIfmAddrs, unsafe.Offsetof(mirrorIfMsghdrl{}.Addrs)},
		{"if_msghdrl.ifm_flags", offIfmFlags, unsafe.Offsetof(mirrorIfMsghdrl{}.Flags)},
		{"if_msghdrl.ifm_index", offIfmIndex, unsafe.Offsetof(mirrorIfMsghdrl{}.Index)},
		{"if_msghdrl.ifm_len", offIfmLen, unsafe.Offsetof(mirrorIfMsghdrl{}.Len)},
		{"if_msghdrl.ifm_data_off + 2", minIfmLen, unsafe.Offsetof(mirrorIfMsghdrl{}.DataOff) + 2},
		{"ifa_msghdrl.ifam_addrs", offIfmAddrs, unsafe.Offsetof(mirrorIfaMsghdrl{}.Addrs)},
		{"ifa_msghdrl.ifam_flags", offIfmFlags, unsafe.Offsetof(mirrorIfaMsghdrl{}.Flags)},
		{"ifa_msghdrl.ifam_index", offIfmIndex, unsafe.Offsetof(mirrorIfaMsghdrl{}.Index)},
		{"ifa_msghdrl.ifam_len", offIfmLen, unsafe.Offsetof(mirrorIfaMsghdrl{}.Len)},
		{"sockaddr_dl.sdl_nlen", 5, unsafe.Offsetof(mirrorSockaddrDl{}.Nlen)},
		{"sockaddr_dl.sdl_data", 8, unsafe.Offsetof(mirrorSockaddrDl{}.Data)},
	} {
		if tt.got != tt.want {
			t.Errorf("%s = %d, the second source gives %d", tt.name, tt.got, tt.want)
		}
	}
}

// SA_SIZE of sys/net/route.h on LP64: sa_len rounded up to a multiple of
// sizeof(long), and sizeof(long) for an empty sockaddr.
func TestSaSize(t *testing.T) {
	for n, want := range map[int]int{0: 8, 1: 8, 7: 8, 8: 8, 9: 16, 16: 16, 28: 32, 54: 56, 56: 56} {
		if got := saSize(n); got != want {
			t.Errorf("saSize(%d) = %d, want %d", n, got, want)
		}
	}
}

func TestRouteMessage(t *testing.T) {
	skipBigEndian(t)
	header := func(msglen int, typ byte, flags uint32, addrs byte, seq uint32) []byte {
		b := make([]byte, 152)
		binary.LittleEndian.PutUint16(b[0:], uint16(msglen)) // rtm_msglen
		b[2] = 5                                             // rtm_version RTM_VERSION
		b[3] = typ                                           // rtm_type
		binary.LittleEndian.PutUint32(b[8:], flags)          // rtm_flags
		b[12] = addrs                                        // rtm_addrs
		binary.LittleEndian.PutUint32(b[20:], seq)           // rtm_seq; rtm_pid is the kernel's
		return b
	}
	cat := func(parts ...[]byte) []byte {
		var b []byte
		for _, p := range parts {
			b = append(b, p...)
		}
		return b
	}
	sin := func(a ...byte) []byte { return append([]byte{16, 2, 0, 0}, append(a, make([]byte, 8)...)...) }
	// sockaddr_in6, 28 bytes, padded to 32.
	sin6 := func(a [16]byte, scope byte) []byte {
		b := make([]byte, 32)
		b[0], b[1] = 28, 28
		copy(b[8:], a[:])
		b[24] = scope
		return b
	}
	for _, tt := range []struct {
		name string
		msg  func() ([]byte, error)
		want []byte
	}{
		{
			name: "ipv4_default_route_add",
			msg:  func() ([]byte, error) { return DefaultRouteMessage(RTM_ADD, 7, netip.MustParseAddr("192.0.2.1")) },
			// RTF_UP|RTF_GATEWAY|RTF_STATIC; RTA_DST|RTA_GATEWAY|RTA_NETMASK
			want: cat(header(200, 1, 0x803, 7, 7), sin(0, 0, 0, 0), sin(192, 0, 2, 1), sin(0, 0, 0, 0)),
		},
		{
			name: "ipv4_default_route_delete",
			msg:  func() ([]byte, error) { return DefaultRouteMessage(RTM_DELETE, -1, netip.MustParseAddr("10.0.0.1")) },
			want: cat(header(200, 2, 0x803, 7, 0xffffffff), sin(0, 0, 0, 0), sin(10, 0, 0, 1), sin(0, 0, 0, 0)),
		},
		{
			name: "ipv6_default_route_via_link_local",
			msg:  func() ([]byte, error) { return DefaultRouteMessage(RTM_ADD, 1, netip.MustParseAddr("fe80::1%3")) },
			want: cat(header(248, 1, 0x803, 7, 1), sin6([16]byte{}, 0),
				sin6([16]byte{0xfe, 0x80, 15: 1}, 3), // sin6_scope_id 3
				sin6([16]byte{}, 0)),
		},
		{
			name: "ipv4_host_route_has_no_netmask",
			msg: func() ([]byte, error) {
				return RouteMessage(RTM_ADD, 2, netip.MustParsePrefix("198.51.100.7/32"), netip.MustParseAddr("10.0.0.1"))
			},
			want: cat(header(184, 1, 0x807, 3, 2), sin(198, 51, 100, 7), sin(10, 0, 0, 1)),
		},
		{
			name: "ipv6_network_route",
			msg: func() ([]byte, error) {
				return RouteMessage(RTM_ADD, 3, netip.MustParsePrefix("2001:db8:1::/48"), netip.MustParseAddr("2001:db8::1"))
			},
			want: cat(header(248, 1, 0x803, 7, 3),
				sin6([16]byte{0x20, 0x01, 0x0d, 0xb8, 0, 1}, 0),
				sin6([16]byte{0x20, 0x01, 0x0d, 0xb8, 15: 1}, 0),
				sin6([16]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, 0)),
		},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.msg()
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != string(tt.want) {
				t.Errorf("message:\n got %x\nwant %x", got, tt.want)
			}
			if len(got)%8 != 0 {
				t.Errorf("message of %d bytes is not padded to sizeof(long)", len(got))
			}
		})
	}
}

func TestRouteMessageErrors(t *testing.T) {
	gw4, gw6 := netip.MustParseAddr("10.0.0.1"), netip.MustParseAddr("fd00::1")
	def4 := netip.MustParsePrefix("0.0.0.0/0")
	for _, tt := range []struct {
		name string
		err  error
		want string
	}{
		{"type_RTM_GET", second(RouteMessage(4, 1, def4, gw4)), "neither RTM_ADD nor RTM_DELETE"},
		{"no_gateway", second(DefaultRouteMessage(RTM_ADD, 1, netip.Addr{})), "no gateway"},
		{"invalid_destination", second(RouteMessage(RTM_ADD, 1, netip.Prefix{}, gw4)), "route destination: invalid address prefix"},
		{"ipv4_gateway_for_ipv6", second(RouteMessage(RTM_ADD, 1, netip.MustParsePrefix("::/0"), gw4)), "another address family"},
		{"ipv6_gateway_for_ipv4", second(RouteMessage(RTM_ADD, 1, def4, gw6)), "another address family"},
		{"ipv4_mapped_gateway", second(RouteMessage(RTM_ADD, 1, def4, netip.MustParseAddr("::ffff:10.0.0.1"))), "invalid gateway"},
		{"named_zone", second(DefaultRouteMessage(RTM_ADD, 1, netip.MustParseAddr("fe80::1%em0"))), "not an interface index"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if tt.err == nil || !strings.Contains(tt.err.Error(), tt.want) {
				t.Errorf("error %v, want one containing %q", tt.err, tt.want)
			}
		})
	}
}

// ifListMsg builds an RTM_IFINFO or RTM_NEWADDR message as the kernel
// writes them for NET_RT_IFLISTL: a 176-byte if_msghdrl or ifa_msghdrl
// whose ifm_len says so, then the sockaddrs in RTAX order, each padded
// with zeros to a multiple of 8 bytes (8 for an empty one).
func ifListMsg(version, typ byte, index uint16, flags uint32, sas map[int][]byte) []byte {
	hlen := int(unsafe.Sizeof(mirrorIfMsghdrl{}))
	b := make([]byte, hlen)
	var addrs uint32
	for i := 0; i < 8; i++ {
		sa, ok := sas[i]
		if !ok {
			continue
		}
		addrs |= 1 << i
		padded := max(8, (len(sa)+7)&^7)
		b = append(b, sa...)
		b = append(b, make([]byte, padded-len(sa))...)
	}
	binary.NativeEndian.PutUint16(b[0:], uint16(len(b)))
	b[2], b[3] = version, typ
	binary.NativeEndian.PutUint32(b[4:], addrs)
	binary.NativeEndian.PutUint32(b[8:], flags)
	binary.NativeEndian.PutUint16(b[12:], index)
	binary.NativeEndian.PutUint16(b[16:], uint16(hlen))
	binary.NativeEndian.PutUint16(b[18:], 24) // ifm_data_off
	return b
}

// sdl is a struct sockaddr_dl as if_attach makes it: 56 bytes (54
// rounded to sizeof(long)), the name, then a 6-byte link address.
func sdl(index uint16, name string) []byte {
	b := make([]byte, 56)
	b[0], b[1] = 56, 18 // sdl_len, AF_LINK
	binary.NativeEndian.PutUint16(b[2:], index)
	b[4], b[5], b[6] = 6, byte(len(name)), 6 // IFT_ETHER, sdl_nlen, sdl_alen
	copy(b[8:], name)
	return b
}

func sin4(a string) []byte {
	b := make([]byte, 16)
	b[0], b[1] = 16, 2
	a4 := netip.MustParseAddr(a).As4()
	copy(b[4:], a4[:])
	return b
}

func sin6addr(a string) []byte {
	b := make([]byte, 28)
	b[0], b[1] = 28, 28
	a16 := netip.MustParseAddr(a).As16()
	copy(b[8:], a16[:])
	return b
}

func cat(msgs ...[]byte) []byte {
	var b []byte
	for _, m := range msgs {
		b = append(b, m...)
	}
	return b
}

// testIfList is what a host with lo0, em0 (several kinds of netmask),
// an interface listed without its name and an epair end without
// addresses returns, with messages parsers skip in between.
func testIfList() []byte {
	const v = RTM_VERSION
	const ifinfo, newaddr = RTM_IFINFO, RTM_NEWADDR
	// Link-local with the scope embedded in bytes 2 and 3, KAME style.
	fe80 := sin6addr("fe80:1::1")
	announce := make([]byte, 24) // struct if_announcemsghdr
	announce[0], announce[2], announce[3] = 24, v, 0x11
	return cat(
		ifListMsg(v, ifinfo, 1, 0x8049, map[int][]byte{rtaxIfp: sdl(1, "lo0")}),
		ifListMsg(v, newaddr, 1, 0, map[int][]byte{
			rtaxNetmask: sin4("255.0.0.0"), rtaxIfa: sin4("127.0.0.1"), 7: sin4("127.0.0.1"),
		}),
		ifListMsg(v, newaddr, 1, 0, map[int][]byte{rtaxNetmask: sin6addr("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"), rtaxIfa: sin6addr("::1")}),
		ifListMsg(v, newaddr, 1, 0, map[int][]byte{rtaxNetmask: sin6addr("ffff:ffff:ffff:ffff::"), rtaxIfa: fe80}),
		announce,
		ifListMsg(v, ifinfo, 2, 0x8843, map[int][]byte{rtaxIfp: sdl(2, "em0")}),
		// A netmask trimmed after its last non-zero byte, as older
		// kernels send it (in_socktrim).
		ifListMsg(v, newaddr, 2, 0, map[int][]byte{
			rtaxNetmask: {7, 2, 0, 0, 255, 255, 255}, rtaxIfa: sin4("10.0.0.5"), 7: sin4("10.0.0.255"),
		}),
		ifListMsg(v, newaddr, 2, 0, map[int][]byte{rtaxIfa: sin4("192.0.2.7")}),
		ifListMsg(v, newaddr, 2, 0, map[int][]byte{rtaxNetmask: {}, rtaxIfa: sin4("198.51.100.9")}),
		ifListMsg(v, newaddr, 2, 0, map[int][]byte{rtaxIfa: sdl(2, "em0")}),
		ifListMsg(4, ifinfo, 9, 0, map[int][]byte{rtaxIfp: {0xff}}), // another version
		ifListMsg(v, ifinfo, 3, 0x1, nil),
		ifListMsg(v, ifinfo, 4, 0, map[int][]byte{rtaxIfp: sdl(4, "epair0b")}),
	)
}

func TestParseIfList(t *testing.T) {
	got, err := ParseIfList(testIfList())
	if err != nil {
		t.Fatal(err)
	}
	pp := netip.MustParsePrefix
	want := []Iface{
		{Name: "lo0", Index: 1, Flags: 0x8049, Addrs: []netip.Prefix{pp("127.0.0.1/8"), pp("::1/128"), pp("fe80::1/64")}},
		{Name: "em0", Index: 2, Flags: 0x8843, Addrs: []netip.Prefix{pp("10.0.0.5/24"), pp("192.0.2.7/32"), pp("198.51.100.9/0")}},
		{Name: "epair0b", Index: 4},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("ParseIfList:\n got %+v\nwant %+v", got, want)
	}
	if got, err := ParseIfList(nil); err != nil || got != nil {
		t.Errorf("ParseIfList(nil) = %v, %v; want nothing", got, err)
	}
}

func TestIfaceHasAddr(t *testing.T) {
	i := Iface{Name: "em0", Addrs: []netip.Prefix{netip.MustParsePrefix("10.0.0.5/24"), netip.MustParsePrefix("fe80::1/64")}}
	for a, want := range map[string]bool{"10.0.0.5": true, "10.0.0.6": false, "fe80::1%em0": true, "fe80::2": false, "::ffff:10.0.0.5": false} {
		if got := i.HasAddr(netip.MustParseAddr(a)); got != want {
			t.Errorf("HasAddr(%s) = %v, want %v", a, got, want)
		}
	}
}

func TestParseIfListErrors(t *testing.T) {
	const v = RTM_VERSION
	const ifinfo, newaddr = RTM_IFINFO, RTM_NEWADDR
	lo0 := ifListMsg(v, ifinfo, 1, 0, map[int][]byte{rtaxIfp: sdl(1, "lo0")})
	withLen := func(b []byte, hlen uint16) []byte {
		binary.NativeEndian.PutUint16(b[16:], hlen)
		return b
	}
	truncated := ifListMsg(v, ifinfo, 1, 0, map[int][]byte{rtaxIfp: sdl(1, "lo0")})[:176+16]
	binary.NativeEndian.PutUint16(truncated, 176+16)
	missing := ifListMsg(v, ifinfo, 1, 0, nil)
	binary.NativeEndian.PutUint32(missing[4:], rtaIfp)
	short6 := sin6addr("::1")[:20]
	short6[0] = 20
	longName := sdl(1, "lo0")
	longName[5] = 60
	for _, tt := range []struct {
		name string
		b    []byte
		want string
	}{
		{"short_header", []byte{1, 2, 3}, "less than a message header"},
		{"length_below_4", []byte{2, 0, v, ifinfo}, "has length 2"},
		{"length_past_end", []byte{100, 0, v, ifinfo, 0, 0, 0, 0}, "has length 100, 8 bytes left"},
		{"shorter_than_header", []byte{12, 0, v, ifinfo, 0, 0, 0, 0, 0, 0, 0, 0}, "shorter than its header"},
		{"header_length_past_end", withLen(ifListMsg(v, ifinfo, 1, 0, nil), 300), "header length 300"},
		{"header_length_too_small", withLen(ifListMsg(v, ifinfo, 1, 0, nil), 8), "header length 8"},
		{"sockaddr_overruns", truncated, "overruns the message"},
		{"sockaddr_missing", missing, "is missing"},
		{"address_before_interface", ifListMsg(v, newaddr, 9, 0, map[int][]byte{rtaxIfa: sin4("10.0.0.1")}), "interface 9, which is not listed"},
		{"interface_sockaddr_not_AF_LINK", ifListMsg(v, ifinfo, 1, 0, map[int][]byte{rtaxIfp: sin4("10.0.0.1")}), "not an AF_LINK sockaddr_dl"},
		{"name_past_sockaddr", ifListMsg(v, ifinfo, 1, 0, map[int][]byte{rtaxIfp: longName}), "has a name of 60 bytes"},
		{"empty_name", ifListMsg(v, ifinfo, 1, 0, map[int][]byte{rtaxIfp: sdl(1, "")}), "has a name of 0 bytes"},
		{"short_sockaddr_in", cat(lo0, ifListMsg(v, newaddr, 1, 0, map[int][]byte{rtaxIfa: {6, 2, 0, 0, 1, 2}})), "address of lo0: sockaddr_in of 6 bytes"},
		{"short_sockaddr_in6", cat(lo0, ifListMsg(v, newaddr, 1, 0, map[int][]byte{rtaxIfa: short6})), "sockaddr_in6 of 20 bytes"},
		{"noncontiguous_netmask", cat(lo0, ifListMsg(v, newaddr, 1, 0, map[int][]byte{rtaxNetmask: sin4("255.0.255.0"), rtaxIfa: sin4("10.1.2.3")})), "10.1.2.3: netmask ff00ff00: not contiguous"},
		{"netmask_with_a_hole_in_a_byte", cat(lo0, ifListMsg(v, newaddr, 1, 0, map[int][]byte{rtaxNetmask: sin4("255.255.241.0"), rtaxIfa: sin4("10.1.2.3")})), "not contiguous"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseIfList(tt.b)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("ParseIfList = %+v, %v; want an error containing %q", got, err, tt.want)
			}
		})
	}
}

func TestPrefixLen(t *testing.T) {
	for _, tt := range []struct {
		mask []byte
		want int
	}{
		{[]byte{0, 0, 0, 0}, 0},
		{[]byte{0x80, 0, 0, 0}, 1},
		{[]byte{255, 255, 255, 0}, 24},
		{[]byte{255, 255, 255, 0xfe}, 31},
		{[]byte{255, 255, 255, 255}, 32},
		{[]byte{255, 255, 255, 255, 255, 255, 255, 255, 0, 0, 0, 0, 0, 0, 0, 0}, 64},
	} {
		if got, err := prefixLen(tt.mask); err != nil || got != tt.want {
			t.Errorf("prefixLen(%x) = %d, %v; want %d", tt.mask, got, err, tt.want)
		}
	}
}

// FuzzParseIfList checks that no input makes ParseIfList panic, and that
// what it accepts is a well-formed list.
func FuzzParseIfList(f *testing.F) {
	full := testIfList()
	f.Add(full)
	f.Add(full[:200])
	f.Add(ifListMsg(RTM_VERSION, RTM_IFINFO, 1, 0, map[int][]byte{rtaxIfp: sdl(1, "lo0")}))
	f.Add([]byte{8, 0, RTM_VERSION, RTM_NEWADDR, 0xff, 0, 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		ifs, err := ParseIfList(b)
		if err != nil {
			return
		}
		for _, i := range ifs {
			if i.Name == "" {
				t.Errorf("interface %d without a name", i.Index)
			}
			for _, p := range i.Addrs {
				if !p.IsValid() || p.Addr().Zone() != "" {
					t.Errorf("%s: address %v", i.Name, p)
				}
			}
		}
	})
}
