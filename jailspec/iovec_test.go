package jailspec

import (
	"bytes"
	"encoding/binary"
	"errors"
	"net/netip"
	"reflect"
	"strings"
	"syscall"
	"testing"
	"unsafe"
)

// hostInt returns the four bytes a C int holding v has on this host, which
// is what the kernel reads an int parameter from. It uses the host's own
// memory layout, independently of encoding/binary.
func hostInt(v int32) []byte {
	b := make([]byte, 4)
	copy(b, unsafe.Slice((*byte)(unsafe.Pointer(&v)), 4))
	return b
}

func addrs(ss ...string) []netip.Addr {
	out := make([]netip.Addr, len(ss))
	for i, s := range ss {
		out[i] = netip.MustParseAddr(s)
	}
	return out
}

// pair is one name/value pair as the kernel sees it.
type pair struct {
	name  string
	value []byte
}

func pairsOf(req Request) []pair {
	var out []pair
	for i := 0; i+1 < len(req); i += 2 {
		out = append(out, pair{string(req[i]), req[i+1]})
	}
	return out
}

func TestEncode(t *testing.T) {
	tests := []struct {
		name string
		ps   Params
		want []pair
	}{
		{
			name: "string_is_NUL_terminated",
			ps:   Params{StringParam("name", "web")},
			want: []pair{{"name\x00", []byte("web\x00")}},
		},
		{
			name: "empty_string_is_a_lone_NUL",
			ps:   Params{StringParam("host.domainname", "")},
			want: []pair{{"host.domainname\x00", []byte{0}}},
		},
		{
			name: "int_is_4_bytes_in_host_order",
			ps:   Params{IntParam("enforce_statfs", 2)},
			want: []pair{{"enforce_statfs\x00", hostInt(2)}},
		},
		{
			name: "negative_int",
			ps:   Params{IntParam("securelevel", -1)},
			want: []pair{{"securelevel\x00", []byte{0xff, 0xff, 0xff, 0xff}}},
		},
		{
			name: "true_bool_is_its_name_without_value",
			ps:   Params{BoolParam("persist", true)},
			want: []pair{{"persist\x00", nil}},
		},
		{
			name: "false_bool_is_its_no_name_without_value",
			ps:   Params{BoolParam("persist", false)},
			want: []pair{{"nopersist\x00", nil}},
		},
		{
			name: "false_allow_puts_no_before_the_last_component",
			ps:   Params{BoolParam("allow.raw_sockets", false)},
			want: []pair{{"allow.noraw_sockets\x00", nil}},
		},
		{
			name: "nested_allow_flags",
			ps: Params{
				BoolParam("allow.mount.tmpfs", false),
				BoolParam("allow.mount.nullfs", true),
			},
			want: []pair{
				{"allow.mount.notmpfs\x00", nil},
				{"allow.mount.nullfs\x00", nil},
			},
		},
		{
			name: "jailsys_values_are_ints",
			ps: Params{
				SysParam("vnet", New),
				SysParam("ip4", Inherit),
				SysParam("sysvshm", Disable),
			},
			want: []pair{
				{"vnet\x00", hostInt(1)},
				{"ip4\x00", hostInt(2)},
				{"sysvshm\x00", hostInt(0)},
			},
		},
		{
			name: "ip4_is_in_network_byte_order",
			ps:   Params{AddrParam("ip4.addr", IP4, addrs("10.0.0.1"))},
			want: []pair{{"ip4.addr\x00", []byte{0x0a, 0x00, 0x00, 0x01}}},
		},
		{
			name: "ip4_list_is_packed_in_order",
			ps:   Params{AddrParam("ip4.addr", IP4, addrs("10.0.0.1", "192.168.1.254", "172.16.0.10"))},
			want: []pair{{"ip4.addr\x00", []byte{
				0x0a, 0x00, 0x00, 0x01,
				0xc0, 0xa8, 0x01, 0xfe,
				0xac, 0x10, 0x00, 0x0a,
			}}},
		},
		{
			name: "empty_ip4_list_has_an_empty_value",
			ps:   Params{AddrParam("ip4.addr", IP4, nil)},
			want: []pair{{"ip4.addr\x00", nil}},
		},
		{
			name: "ip6_is_16_bytes_in_network_byte_order",
			ps:   Params{AddrParam("ip6.addr", IP6, addrs("2001:db8::1"))},
			want: []pair{{"ip6.addr\x00", []byte{
				0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01,
			}}},
		},
		{
			name: "ip6_list_is_packed_in_order",
			ps:   Params{AddrParam("ip6.addr", IP6, addrs("fd00:1:2::a", "::1"))},
			want: []pair{{"ip6.addr\x00", []byte{
				0xfd, 0x00, 0x00, 0x01, 0x00, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x0a,
				0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01,
			}}},
		},
		{
			name: "parameters_keep_their_order",
			ps: Params{
				StringParam("name", "web"),
				StringParam("path", "/var/lib/runj-go/web/rootfs"),
				BoolParam("persist", true),
				IntParam("devfs_ruleset", 4),
			},
			want: []pair{
				{"name\x00", []byte("web\x00")},
				{"path\x00", []byte("/var/lib/runj-go/web/rootfs\x00")},
				{"persist\x00", nil},
				{"devfs_ruleset\x00", hostInt(4)},
			},
		},
		{
			name: "no_parameters_is_just_errmsg",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := Encode(tt.ps)
			if err != nil {
				t.Fatalf("Encode: %v", err)
			}
			got := pairsOf(req)
			if len(req)%2 != 0 || len(got) != len(tt.want)+1 {
				t.Fatalf("Encode gave %d iovecs, want %d", len(req), 2*len(tt.want)+2)
			}
			for i, w := range tt.want {
				if got[i].name != w.name || !bytes.Equal(got[i].value, w.value) {
					t.Errorf("pair %d = %q % x, want %q % x", i, got[i].name, got[i].value, w.name, w.value)
				}
			}
			last := got[len(got)-1]
			if last.name != "errmsg\x00" || len(last.value) != 1024 || bytes.IndexFunc(last.value, func(r rune) bool { return r != 0 }) >= 0 {
				t.Errorf("last pair = %q with %d-byte value, want errmsg with 1024 zero bytes", last.name, len(last.value))
			}
		})
	}
}

func TestEncodeRejects(t *testing.T) {
	tests := []struct {
		name string
		ps   Params
		want string
	}{
		{"empty_name", Params{StringParam("", "x")}, "empty jail parameter name"},
		{"NUL_in_name", Params{StringParam("na\x00me", "x")}, "contains a NUL byte"},
		{"errmsg_as_a_parameter", Params{StringParam("errmsg", "x")}, "reserved"},
		{"NUL_in_string_value", Params{StringParam("host.hostname", "a\x00b")}, `"host.hostname": value contains a NUL byte`},
		{"same_name_twice", Params{StringParam("name", "a"), StringParam("name", "b")}, `"name" given twice`},
		{"bool_twice", Params{BoolParam("persist", true), BoolParam("persist", false)}, `"persist" given twice`},
		{"bool_and_its_no_name", Params{BoolParam("allow.mount", true), BoolParam("allow.nomount", true)}, `"allow.nomount" conflicts with "allow.mount"`},
		{"invalid_jailsys_value", Params{SysParam("vnet", Sharing(3))}, "invalid jailsys value 3"},
		{"ipv6_in_ip4", Params{AddrParam("ip4.addr", IP4, addrs("2001:db8::1"))}, "2001:db8::1 is not an IPv4 address"},
		{"ipv4_mapped_ipv6_in_ip4", Params{AddrParam("ip4.addr", IP4, addrs("::ffff:10.0.0.1"))}, "is not an IPv4 address"},
		{"ipv4_in_ip6", Params{AddrParam("ip6.addr", IP6, addrs("10.0.0.1"))}, "10.0.0.1 is not an IPv6 address"},
		{"ipv6_zone", Params{AddrParam("ip6.addr", IP6, addrs("fe80::1%em0"))}, "zone"},
		{"zero_address", Params{AddrParam("ip4.addr", IP4, []netip.Addr{{}})}, "is not an IPv4 address"},
		{"unknown_kind", Params{{Name: "x", Kind: Kind(42)}}, "unknown kind 42"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := Encode(tt.ps)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Encode = %q, %v; want error containing %q", req, err, tt.want)
			}
		})
	}
}

func TestNegate(t *testing.T) {
	tests := []struct{ name, negated string }{
		{"persist", "nopersist"},
		{"allow.raw_sockets", "allow.noraw_sockets"},
		{"allow.mount", "allow.nomount"},
		{"allow.mount.tmpfs", "allow.mount.notmpfs"},
		{"ip4.saddrsel", "ip4.nosaddrsel"},
	}
	for _, tt := range tests {
		if got := NegatedName(tt.name); got != tt.negated {
			t.Errorf("NegatedName(%q) = %q, want %q", tt.name, got, tt.negated)
		}
		if got, ok := unnegate(tt.negated); !ok || got != tt.name {
			t.Errorf("unnegate(%q) = %q, %v; want %q, true", tt.negated, got, ok, tt.name)
		}
	}
	for _, name := range []string{"persist", "allow.mount", "allow.mount.tmpfs", "host.hostname"} {
		if got, ok := unnegate(name); ok {
			t.Errorf("unnegate(%q) = %q, true; want false", name, got)
		}
	}
}

// testKinds types the parameters the decode tests and the fuzz target use.
var testKinds = map[string]Kind{
	"name":              String,
	"path":              String,
	"host.hostname":     String,
	"jid":               Int,
	"enforce_statfs":    Int,
	"securelevel":       Int,
	"persist":           Bool,
	"allow.raw_sockets": Bool,
	"allow.mount.tmpfs": Bool,
	"vnet":              Sys,
	"host":              Sys,
	"ip4":               Sys,
	"ip4.addr":          IP4,
	"ip6.addr":          IP6,
}

func TestDecodeReadsBackWhatEncodeWrote(t *testing.T) {
	ps := Params{
		StringParam("name", "web"),
		StringParam("path", "/jails/web"),
		StringParam("host.hostname", ""),
		IntParam("enforce_statfs", 2),
		IntParam("securelevel", -1),
		BoolParam("persist", true),
		BoolParam("allow.raw_sockets", false),
		BoolParam("allow.mount.tmpfs", false),
		SysParam("vnet", New),
		SysParam("host", Inherit),
		SysParam("ip4", Disable),
		AddrParam("ip4.addr", IP4, addrs("10.0.0.1", "192.168.1.254")),
		AddrParam("ip6.addr", IP6, addrs("2001:db8::1", "::ffff:10.0.0.1", "fe80::1")),
	}
	req, err := Encode(ps)
	if err != nil {
		t.Fatalf("Encode: %v", err)
	}
	got, err := Decode(req, testKinds)
	if err != nil {
		t.Fatalf("Decode: %v", err)
	}
	if !reflect.DeepEqual(got, ps) {
		t.Errorf("Decode(Encode(ps)) =\n%+v\nwant\n%+v", got, ps)
	}
}

func TestDecodeReadsJailGetResults(t *testing.T) {
	// What kern_jail_get writes back: strings into a larger buffer,
	// booleans as ints, under either name.
	req := Request{
		[]byte("name\x00"), []byte("web\x00\x00\x00\x00\x00"),
		[]byte("persist\x00"), hostInt(1),
		[]byte("allow.noraw_sockets\x00"), hostInt(1),
		[]byte("allow.mount.notmpfs\x00"), hostInt(0),
		[]byte("jid\x00"), hostInt(12),
		[]byte("ip4.addr\x00"), {10, 0, 0, 1, 10, 0, 0, 2},
		[]byte("errmsg\x00"), make([]byte, 1024),
	}
	want := Params{
		StringParam("name", "web"),
		BoolParam("persist", true),
		BoolParam("allow.raw_sockets", false),
		BoolParam("allow.mount.tmpfs", true),
		IntParam("jid", 12),
		AddrParam("ip4.addr", IP4, addrs("10.0.0.1", "10.0.0.2")),
	}
	got, err := Decode(req, testKinds)
	if err != nil {
		t.Fatalf("Decode: %v", err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Decode =\n%+v\nwant\n%+v", got, want)
	}
}

func TestDecodeRejects(t *testing.T) {
	tests := []struct {
		name  string
		pairs [][]byte
		want  string
	}{
		{"odd_number_of_iovecs", [][]byte{[]byte("persist\x00")}, "odd number of iovecs"},
		{"name_without_NUL", [][]byte{[]byte("persist"), nil}, "not NUL-terminated"},
		{"name_with_inner_NUL", [][]byte{[]byte("per\x00sist\x00"), nil}, "not NUL-terminated"},
		{"unknown_parameter", [][]byte{[]byte("allow.foo\x00"), nil}, `"allow.foo": unknown parameter`},
		{"no_name_of_a_non_bool", [][]byte{[]byte("host.nohostname\x00"), []byte("x\x00")}, "unknown parameter"},
		{"string_without_NUL", [][]byte{[]byte("name\x00"), []byte("web")}, "string value is not NUL-terminated"},
		{"short_int", [][]byte{[]byte("jid\x00"), {1, 0, 0}}, "int value is 3 bytes"},
		{"long_int", [][]byte{[]byte("jid\x00"), make([]byte, 8)}, "int value is 8 bytes"},
		{"invalid_jailsys", [][]byte{[]byte("vnet\x00"), hostInt(3)}, "invalid jailsys value 3"},
		{"bool_of_odd_size", [][]byte{[]byte("persist\x00"), {1, 0}}, "boolean value is 2 bytes"},
		{"partial_ip4", [][]byte{[]byte("ip4.addr\x00"), {10, 0, 0, 1, 10}}, "not a multiple of 4"},
		{"partial_ip6", [][]byte{[]byte("ip6.addr\x00"), make([]byte, 15)}, "not a multiple of 16"},
		{"bool_and_its_no_name", [][]byte{[]byte("persist\x00"), nil, []byte("nopersist\x00"), nil}, `"persist" given twice`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ps, err := Decode(tt.pairs, testKinds)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Decode = %+v, %v; want error containing %q", ps, err, tt.want)
			}
		})
	}
}

func TestLookupRequest(t *testing.T) {
	req, err := LookupRequest("web")
	if err != nil {
		t.Fatalf("LookupRequest: %v", err)
	}
	want := Request{
		[]byte("name\x00"), []byte("web\x00"),
		[]byte("jid\x00"), {0, 0, 0, 0},
		[]byte("errmsg\x00"), make([]byte, 1024),
	}
	if !reflect.DeepEqual(req, want) {
		t.Fatalf("LookupRequest(web) = %q, want %q", req, want)
	}
	if jid, err := req.JID(); err != nil || jid != 0 {
		t.Errorf("JID before the call = %d, %v; want 0, nil", jid, err)
	}
	// The kernel writes the jail's id into the jid buffer.
	copy(req[3], hostInt(42))
	if jid, err := req.JID(); err != nil || jid != 42 {
		t.Errorf("JID = %d, %v; want 42, nil", jid, err)
	}

	for _, name := range []string{"", "we\x00b"} {
		if req, err := LookupRequest(name); err == nil {
			t.Errorf("LookupRequest(%q) = %q, want an error", name, req)
		}
	}
}

func TestRequestJIDRejects(t *testing.T) {
	for name, req := range map[string]Request{
		"no_jid":        {[]byte("name\x00"), []byte("web\x00")},
		"short_jid":     {[]byte("jid\x00"), {1, 0}},
		"empty_request": nil,
	} {
		if jid, err := req.JID(); err == nil {
			t.Errorf("%s: JID = %d, want an error", name, jid)
		}
	}
}

func TestErrmsg(t *testing.T) {
	req, err := Encode(Params{BoolParam("allow.foo", true)})
	if err != nil {
		t.Fatal(err)
	}
	if got := req.Errmsg(); got != "" {
		t.Errorf("Errmsg before the call = %q, want empty", got)
	}
	// What vfs_opterror leaves in the buffer: a NUL-terminated message.
	copy(req[len(req)-1], "unknown parameter: allow.foo\x00")
	if got := req.Errmsg(); got != "unknown parameter: allow.foo" {
		t.Errorf("Errmsg = %q", got)
	}

	err = req.syscallError("jail_set", syscall.EINVAL)
	if got, want := err.Error(), "jail_set: unknown parameter: allow.foo: "+syscall.EINVAL.Error(); got != want {
		t.Errorf("error = %q, want %q", got, want)
	}
	if !errors.Is(err, syscall.EINVAL) {
		t.Errorf("errors.Is(%v, EINVAL) = false", err)
	}
	if errors.Is(err, ErrNotFound) {
		t.Errorf("errors.Is(%v, ErrNotFound) = true for an unknown parameter", err)
	}

	var none Request
	if got := none.Errmsg(); got != "" {
		t.Errorf("Errmsg of an empty request = %q", got)
	}
}

func TestSyscallErrorNotFound(t *testing.T) {
	err := error(&SyscallError{Syscall: "jail_remove", Err: syscall.EINVAL, notFound: true})
	if got, want := err.Error(), "jail_remove: "+syscall.EINVAL.Error(); got != want {
		t.Errorf("error = %q, want %q", got, want)
	}
	if !errors.Is(err, ErrNotFound) || !errors.Is(err, syscall.EINVAL) {
		t.Errorf("errors.Is(%v, ErrNotFound/EINVAL) = false, want true", err)
	}
}

// splitChunks reads fuzz input as a list of byte slices, each a 2-byte
// big-endian length and that many bytes (fewer at the end).
func splitChunks(data []byte) [][]byte {
	var out [][]byte
	for len(data) >= 2 {
		n := min(int(binary.BigEndian.Uint16(data)), len(data)-2)
		out = append(out, data[2:2+n:2+n])
		data = data[2+n:]
	}
	return out
}

func joinChunks(chunks [][]byte) []byte {
	var out []byte
	for _, c := range chunks {
		out = binary.BigEndian.AppendUint16(out, uint16(len(c)))
		out = append(out, c...)
	}
	return out
}

func FuzzDecode(f *testing.F) {
	seeds := []Params{
		{StringParam("name", "web"), BoolParam("persist", true), IntParam("enforce_statfs", 2)},
		{BoolParam("allow.raw_sockets", false), BoolParam("allow.mount.tmpfs", true), SysParam("vnet", New)},
		{AddrParam("ip4.addr", IP4, addrs("10.0.0.1", "10.0.0.2")), SysParam("ip4", Disable)},
		{AddrParam("ip6.addr", IP6, addrs("2001:db8::1")), SysParam("host", Inherit)},
	}
	for _, ps := range seeds {
		req, err := Encode(ps)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(joinChunks(req))
	}
	lookup, err := LookupRequest("web")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(joinChunks(lookup))
	f.Add(joinChunks([][]byte{[]byte("nopersist\x00"), hostInt(1)}))
	f.Add(joinChunks([][]byte{[]byte("ip6.addr\x00"), make([]byte, 17)}))
	f.Add([]byte{0, 3, 'j', 'i', 'd'})

	f.Fuzz(func(t *testing.T, data []byte) {
		pairs := splitChunks(data)
		_ = Request(pairs).Errmsg()
		_, _ = Request(pairs).JID()
		ps, err := Decode(pairs, testKinds)
		if err != nil {
			return
		}
		// Whatever decodes must encode, and decode to the same again.
		req, err := Encode(ps)
		if err != nil {
			t.Fatalf("Encode(%+v) after Decode: %v", ps, err)
		}
		again, err := Decode(req, testKinds)
		if err != nil {
			t.Fatalf("Decode(Encode(%+v)): %v", ps, err)
		}
		if !reflect.DeepEqual(again, ps) {
			t.Fatalf("Decode(Encode(ps)) = %+v, want %+v", again, ps)
		}
	})
}
