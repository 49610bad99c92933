package rootfs

import (
	"bytes"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"syscall"
	"testing"
)

// kernelOpt is one name/value pair as vfs_buildopts reads it: the name up
// to its terminating NUL, and the value's bytes (nil for a NULL, length 0
// value).
type kernelOpt struct {
	name  string
	value []byte
}

// decodeIOV reads iov as the kernel does and checks the rules Encode
// promises: an even count of at least four (sys_nmount), every name
// NUL-terminated with no other NUL (vfs_buildopts), every non-empty value
// other than errmsg's one C string.
func decodeIOV(t *testing.T, iov [][]byte) []kernelOpt {
	t.Helper()
	if len(iov)%2 != 0 || len(iov) < 4 {
		t.Fatalf("%d iovecs: nmount needs an even count of at least 4", len(iov))
	}
	var out []kernelOpt
	for i := 0; i < len(iov); i += 2 {
		name, value := iov[i], iov[i+1]
		if len(name) == 0 || bytes.IndexByte(name, 0) != len(name)-1 {
			t.Fatalf("iovec %d: name %q is not exactly one NUL-terminated string", i, name)
		}
		n := string(name[:len(name)-1])
		if len(value) == 0 {
			value = nil
		} else if n != "errmsg" && bytes.IndexByte(value, 0) != len(value)-1 {
			t.Fatalf("iovec %d: value %q of %q is not exactly one NUL-terminated string", i+1, value, n)
		}
		out = append(out, kernelOpt{n, value})
	}
	return out
}

func cstr(s string) []byte { return append([]byte(s), 0) }

func TestEncode(t *testing.T) {
	errmsg := kernelOpt{"errmsg", make([]byte, 1024)}
	tests := []struct {
		name string
		req  Request
		want []kernelOpt
	}{
		{
			name: "tmpfs_with_values",
			req: Request{FSType: "tmpfs", Source: "tmpfs", Target: "/r/tmp", Opts: []Opt{
				{"size", strp("64m")}, {"mode", strp("1777")},
			}},
			want: []kernelOpt{
				{"fstype", cstr("tmpfs")}, {"fspath", cstr("/r/tmp")}, {"from", cstr("tmpfs")},
				{"size", cstr("64m")}, {"mode", cstr("1777")}, errmsg,
			},
		},
		{
			name: "nullfs_source_is_target",
			req:  Request{FSType: "nullfs", Source: "/host/data", Target: "/r/data"},
			want: []kernelOpt{
				{"fstype", cstr("nullfs")}, {"fspath", cstr("/r/data")}, {"target", cstr("/host/data")}, errmsg,
			},
		},
		{
			name: "flag_option_has_no_value",
			req:  Request{FSType: "fdescfs", Source: "fdesc", Target: "/r/dev/fd", Opts: []Opt{{"linrdlnk", nil}}},
			want: []kernelOpt{
				{"fstype", cstr("fdescfs")}, {"fspath", cstr("/r/dev/fd")}, {"from", cstr("fdesc")},
				{"linrdlnk", nil}, errmsg,
			},
		},
		{
			name: "empty_value_is_a_lone_NUL",
			req:  Request{FSType: "somefs", Target: "/r/x", Opts: []Opt{{"x", strp("")}}},
			want: []kernelOpt{
				{"fstype", cstr("somefs")}, {"fspath", cstr("/r/x")}, {"x", []byte{0}}, errmsg,
			},
		},
		{
			name: "empty_source_sends_no_from",
			req:  Request{FSType: "procfs", Target: "/r/proc"},
			want: []kernelOpt{{"fstype", cstr("procfs")}, {"fspath", cstr("/r/proc")}, errmsg},
		},
		{
			name: "ro_nosuid_noexec_are_also_options",
			req: Request{FSType: "devfs", Source: "devfs", Target: "/r/dev",
				Flags: MntRdonly | MntNosuid | MntNoexec | MntNoatime, Opts: []Opt{{"ruleset", strp("4")}}},
			want: []kernelOpt{
				{"fstype", cstr("devfs")}, {"fspath", cstr("/r/dev")}, {"from", cstr("devfs")},
				{"ro", nil}, {"nosuid", nil}, {"noexec", nil}, {"ruleset", cstr("4")}, errmsg,
			},
		},
		{
			name: "other_flags_are_not_options",
			req:  Request{FSType: "nullfs", Source: "/a", Target: "/b", Flags: MntNoatime | MntNosymfollow | MntUnion | MntSynchronous},
			want: []kernelOpt{
				{"fstype", cstr("nullfs")}, {"fspath", cstr("/b")}, {"target", cstr("/a")}, errmsg,
			},
		},
		{
			name: "longest_names",
			req:  Request{FSType: strings.Repeat("f", 15), Target: "/" + strings.Repeat("t", 1022)},
			want: []kernelOpt{
				{"fstype", cstr(strings.Repeat("f", 15))}, {"fspath", cstr("/" + strings.Repeat("t", 1022))}, errmsg,
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			iov, err := tt.req.Encode()
			if err != nil {
				t.Fatal(err)
			}
			if got := decodeIOV(t, iov); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Encode =\n%q\nwant\n%q", got, tt.want)
			}
		})
	}
}

func TestEncodeErrors(t *testing.T) {
	ok := Request{FSType: "tmpfs", Source: "tmpfs", Target: "/r/tmp"}
	with := func(f func(*Request)) Request {
		r := ok
		f(&r)
		return r
	}
	tests := []struct {
		name string
		req  Request
		want string
	}{
		{"empty_type", with(func(r *Request) { r.FSType = "" }), "empty file system type"},
		{"type_with_NUL", with(func(r *Request) { r.FSType = "tmp\x00" }), "NUL"},
		{"type_16_bytes", with(func(r *Request) { r.FSType = strings.Repeat("f", 16) }), "longer than 15"},
		{"relative_target", with(func(r *Request) { r.Target = "r/tmp" }), "not an absolute path"},
		{"target_with_NUL", with(func(r *Request) { r.Target = "/r\x00" }), "NUL"},
		{"target_1024_bytes", with(func(r *Request) { r.Target = "/" + strings.Repeat("t", 1023) }), "longer than 1023"},
		{"source_with_NUL", with(func(r *Request) { r.Source = "a\x00" }), "NUL"},
		{"relative_nullfs_source", with(func(r *Request) { r.FSType, r.Source = "nullfs", "a" }), "not an absolute path"},
		{"negative_flags", with(func(r *Request) { r.Flags = -1 }), "do not fit"},
		{"flag_bit_31", with(func(r *Request) { r.Flags = 1 << 31 }), "do not fit"},
		{"empty_option_name", with(func(r *Request) { r.Opts = []Opt{{"", nil}} }), "empty option name"},
		{"option_name_with_NUL", with(func(r *Request) { r.Opts = []Opt{{"a\x00", nil}} }), "NUL"},
		{"option_value_with_NUL", with(func(r *Request) { r.Opts = []Opt{{"a", strp("b\x00")}} }), "NUL"},
		{"option_fspath", with(func(r *Request) { r.Opts = []Opt{{"fspath", strp("/")}} }), "fspath"},
		{"option_nofstype", with(func(r *Request) { r.Opts = []Opt{{"nofstype", nil}} }), "fstype"},
		{"option_errmsg", with(func(r *Request) { r.Opts = []Opt{{"errmsg", strp("")}} }), "errmsg"},
		{"option_ro", with(func(r *Request) { r.Opts = []Opt{{"ro", nil}} }), "is a mount flag"},
		{"option_noexec", with(func(r *Request) { r.Opts = []Opt{{"noexec", nil}} }), "is a mount flag"},
		{"option_update", with(func(r *Request) { r.Opts = []Opt{{"update", nil}} }), "changes an existing mount"},
		{"option_twice", with(func(r *Request) { r.Opts = []Opt{{"size", strp("1m")}, {"size", strp("2m")}} }), "would drop"},
		{"option_and_its_no_form", with(func(r *Request) { r.Opts = []Opt{{"nonc", nil}, {"nc", nil}} }), "would drop"},
		{"dotted_option_and_its_no_form", with(func(r *Request) { r.Opts = []Opt{{"a.b.x", nil}, {"a.b.nox", nil}} }), "would drop"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			iov, err := tt.req.Encode()
			if err == nil {
				t.Fatalf("Encode = %q, want an error containing %q", iov, tt.want)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not contain %q", err, tt.want)
			}
		})
	}
}

func TestEncodeGivesEachCallItsOwnErrmsgBuffer(t *testing.T) {
	r := Request{FSType: "tmpfs", Target: "/r/tmp"}
	a, _ := r.Encode()
	b, _ := r.Encode()
	copy(a[len(a)-1], "Invalid fstype")
	if got := Errmsg(b); got != "" {
		t.Errorf("a message written into one call's buffer shows in another's: %q", got)
	}
}

func TestErrmsg(t *testing.T) {
	r := Request{FSType: "tmpfs", Source: "tmpfs", Target: "/r/tmp", Opts: []Opt{{"size", strp("1m")}}}
	iov, err := r.Encode()
	if err != nil {
		t.Fatal(err)
	}
	if got := Errmsg(iov); got != "" {
		t.Errorf("Errmsg before the call = %q, want empty", got)
	}
	// What vfs_filteropt writes: strncpy of its message, then the rest of
	// the buffer as it was.
	buf := iov[len(iov)-1]
	copy(buf, "mount option <sise> is unknown\x00junk")
	if got, want := Errmsg(iov), "mount option <sise> is unknown"; got != want {
		t.Errorf("Errmsg = %q, want %q", got, want)
	}
	// A message that fills the buffer has no NUL.
	for i := range buf {
		buf[i] = 'x'
	}
	if got := Errmsg(iov); got != strings.Repeat("x", 1024) {
		t.Errorf("Errmsg of a full buffer has %d bytes, want 1024", len(got))
	}
	if got := Errmsg([][]byte{cstr("fstype"), cstr("tmpfs")}); got != "" {
		t.Errorf("Errmsg without an errmsg pair = %q", got)
	}
}

func TestSameKernelOpt(t *testing.T) {
	tests := []struct {
		a, b string
		want bool
	}{
		{"size", "size", true},
		{"cache", "nocache", true},
		{"nocache", "cache", true},
		{"nonc", "nc", true},
		{"size", "mode", false},
		{"cache", "nonocache", false},
		{"vfs.cache", "vfs.nocache", true},
		{"a.b.nox", "a.b.x", true},
		{"a.x", "b.nox", false},
		{"ro", "rw", true},
		{"rdonly", "noro", true},
		{"norw", "ro", true},
		{"x.ro", "x.rw", true}, // vfs_equalopts compares ro/rw after the common prefix
		{"ro", "rox", false},
		{"from", "nofrom", true},
		{"fspath", "fspathx", false},
	}
	for _, tt := range tests {
		if got := sameKernelOpt(tt.a, tt.b); got != tt.want {
			t.Errorf("sameKernelOpt(%q, %q) = %v, want %v", tt.a, tt.b, got, tt.want)
		}
		if got := sameKernelOpt(tt.b, tt.a); got != tt.want {
			t.Errorf("sameKernelOpt(%q, %q) = %v, want %v", tt.b, tt.a, got, tt.want)
		}
	}
}

func TestMountError(t *testing.T) {
	present := func(paths ...string) func(string) bool {
		return func(p string) bool {
			for _, q := range paths {
				if p == q {
					return true
				}
			}
			return false
		}
	}
	notAsked := func(p string) bool {
		t.Errorf("exists(%q) asked for an errno other than ENOENT", p)
		return false
	}
	foofs := Request{FSType: "foofs", Source: "foo", Target: "/r/x"}
	null := Request{FSType: "nullfs", Source: "/host/a", Target: "/r/a"}
	tests := []struct {
		name        string
		req         Request
		errno       syscall.Errno
		errmsg      string
		exists      func(string) bool
		wantUnknown bool
		wantMsg     string
	}{
		{
			name: "ENOENT_with_target_present_is_an_unknown_type",
			req:  foofs, errno: syscall.ENOENT, exists: present("/r/x"), wantUnknown: true,
			wantMsg: `nmount foofs on /r/x: file system type "foofs" is unknown to the kernel: ` + syscall.ENOENT.Error(),
		},
		{
			name: "ENOENT_with_target_missing_is_the_target",
			req:  foofs, errno: syscall.ENOENT, exists: present(),
			wantMsg: "nmount foofs on /r/x: " + syscall.ENOENT.Error(),
		},
		{
			name: "nullfs_ENOENT_with_source_missing_is_the_source",
			req:  null, errno: syscall.ENOENT, exists: present("/r/a"),
			wantMsg: "nmount nullfs /host/a on /r/a: " + syscall.ENOENT.Error(),
		},
		{
			name: "nullfs_ENOENT_with_both_present_is_the_type",
			req:  null, errno: syscall.ENOENT, exists: present("/r/a", "/host/a"), wantUnknown: true,
			wantMsg: `nmount nullfs /host/a on /r/a: file system type "nullfs" is unknown to the kernel: ` + syscall.ENOENT.Error(),
		},
		{
			name: "Invalid_fstype_is_an_unknown_type",
			req:  foofs, errno: syscall.EINVAL, errmsg: "Invalid fstype", exists: notAsked, wantUnknown: true,
			wantMsg: `nmount foofs on /r/x: file system type "foofs" is unknown to the kernel: ` + syscall.EINVAL.Error(),
		},
		{
			name: "errmsg_is_in_the_message",
			req:  Request{FSType: "tmpfs", Target: "/r/tmp"}, errno: syscall.EINVAL, errmsg: "mount option <sise> is unknown", exists: notAsked,
			wantMsg: "nmount tmpfs on /r/tmp: mount option <sise> is unknown: " + syscall.EINVAL.Error(),
		},
		{
			name: "no_errmsg",
			req:  Request{FSType: "devfs", Target: "/r/dev"}, errno: syscall.EPERM, exists: notAsked,
			wantMsg: "nmount devfs on /r/dev: " + syscall.EPERM.Error(),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var err error = NewMountError(tt.req, tt.errno, tt.errmsg, tt.exists)
			if got := err.Error(); got != tt.wantMsg {
				t.Errorf("message = %q\nwant      %q", got, tt.wantMsg)
			}
			if got := errors.Is(err, ErrUnknownFSType); got != tt.wantUnknown {
				t.Errorf("errors.Is(err, ErrUnknownFSType) = %v, want %v", got, tt.wantUnknown)
			}
			if !errors.Is(err, tt.errno) {
				t.Errorf("errors.Is(err, %v) = false", tt.errno)
			}
			var me *MountError
			if !errors.As(fmt.Errorf("create: %w", err), &me) || me.Errmsg != tt.errmsg || me.Target != tt.req.Target {
				t.Errorf("errors.As found %+v", me)
			}
		})
	}
}

// wantKernelOpts is what the kernel should read from r's iovecs, built from
// r's fields for FuzzNewRequest.
func wantKernelOpts(r Request) []kernelOpt {
	out := []kernelOpt{{"fstype", cstr(r.FSType)}, {"fspath", cstr(r.Target)}}
	switch {
	case r.FSType == "nullfs":
		out = append(out, kernelOpt{"target", cstr(r.Source)})
	case r.Source != "":
		out = append(out, kernelOpt{"from", cstr(r.Source)})
	}
	if r.Flags&MntRdonly != 0 {
		out = append(out, kernelOpt{"ro", nil})
	}
	if r.Flags&MntNosuid != 0 {
		out = append(out, kernelOpt{"nosuid", nil})
	}
	if r.Flags&MntNoexec != 0 {
		out = append(out, kernelOpt{"noexec", nil})
	}
	for _, o := range r.Opts {
		var v []byte
		if o.Value != nil {
			v = cstr(*o.Value)
		}
		out = append(out, kernelOpt{o.Name, v})
	}
	return append(out, kernelOpt{"errmsg", make([]byte, 1024)})
}

func FuzzNewRequest(f *testing.F) {
	f.Add("tmpfs", "tmpfs", "/r/tmp", "size=64m,mode=1777,ro,nosuid")
	f.Add("bind", "/host/data", "/r/data", "rbind,rro,rprivate,nocache")
	f.Add("devfs", "devfs", "/r/dev", "mode=755,strictatime,ruleset=4")
	f.Add("fdescfs", "fdesc", "/r/dev/fd", "linrdlnk,nodup")
	f.Add("somefs", "x", "/r/x", "a=b=c,x.cache,x.nocache,empty=,sync,async")
	f.Add("tmpfs", "tmpfs", "/r/tmp", "size=0x10k,inodes=010,uid=0,gid=5,nonc")
	f.Fuzz(func(t *testing.T, typ, source, target, opts string) {
		options := strings.Split(opts, ",")
		req, ignored, err := NewRequest(typ, source, target, options)
		if err != nil {
			return
		}
		for _, o := range ignored {
			if !strings.Contains(","+opts+",", ","+o+",") {
				t.Errorf("ignored %q is not one of the options %q", o, options)
			}
		}
		const known = MntRdonly | MntSynchronous | MntNoexec | MntNosuid | MntUnion | MntAsync | MntNosymfollow | MntNoatime
		if req.Flags&^known != 0 || req.Flags&(MntSynchronous|MntAsync) == MntSynchronous|MntAsync {
			t.Errorf("flags %#x", req.Flags)
		}
		if req.FSType == "devfs" && !hasOpt(req.Opts, "ruleset") {
			t.Errorf("devfs request without a ruleset: %+v", req)
		}
		iov, err := req.Encode()
		if err != nil {
			t.Fatalf("NewRequest made a request that Encode refuses: %v", err)
		}
		if got, want := decodeIOV(t, iov), wantKernelOpts(req); !reflect.DeepEqual(got, want) {
			t.Errorf("decoded\n%q\nwant\n%q", got, want)
		}
	})
}
