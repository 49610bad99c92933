package jailspec

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"strings"
)

// Flags of jail_set(2) and jail_get(2), from sys/sys/jail.h.
const (
	// JailCreate creates the jail if it does not exist (JAIL_CREATE 0x01).
	JailCreate = 0x01
	// JailUpdate updates an existing jail (JAIL_UPDATE 0x02).
	JailUpdate = 0x02
	// JailAttach attaches the calling process to the jail once it is set
	// (JAIL_ATTACH 0x04).
	JailAttach = 0x04
	// JailDying lets the call find a jail that is being removed
	// (JAIL_DYING 0x08).
	JailDying = 0x08
)

// errmsgLen is the size of the buffer passed as "errmsg". lib/libjail/jail.h
// JAIL_ERRMSGLEN 1024; the kernel formats into it with
// vsnprintf(errmsg, len, ...) (sys/kern/vfs_mount.c: vfs_opterror), so its
// text is always NUL-terminated and never longer than the buffer.
const errmsgLen = 1024

// errmsgName is the parameter that carries the kernel's error message. It is
// not a jail parameter: kern_jail_set and kern_jail_get skip it when they
// reject unknown parameters (sys/kern/kern_jail.c: strcmp(opt->name,
// "errmsg")).
const errmsgName = "errmsg"

// ErrNotFound reports that no live jail has the requested name or jid.
var ErrNotFound = errors.New("jail not found")

// Request is the argument of one jail_set(2) or jail_get(2) call before it
// becomes an array of struct iovec: parameter names and values alternate,
// two iovecs per parameter (sys/kern/kern_jail.c: sys_jail_set and
// sys_jail_get reject an odd iovcnt with EINVAL), and the last pair is
// "errmsg" with a buffer the kernel writes its error message into.
type Request [][]byte

// Encode builds the jail_set request for ps. Every rule comes from the
// kernel's parsing of the request; see encodeValue.
//
// Encode rejects what the kernel would misread rather than refuse: a name or
// string with an embedded NUL, which the kernel would cut short, and a
// parameter given twice, of which the kernel silently keeps only the last
// (sys/kern/vfs_mount.c: vfs_sanitizeopts, called by vfs_buildopts).
func Encode(ps Params) (Request, error) {
	req := make(Request, 0, 2*len(ps)+2)
	claimed := make(map[string]string, 2*len(ps))
	for _, p := range ps {
		if err := checkName(p.Name); err != nil {
			return nil, err
		}
		// A parameter and its "no" form set the same kernel flag: claim
		// both so that "persist" and "nopersist" cannot both be sent.
		for _, n := range []string{p.Name, NegatedName(p.Name)} {
			switch prev, ok := claimed[n]; {
			case ok && prev == p.Name:
				return nil, fmt.Errorf("jail parameter %q given twice", p.Name)
			case ok:
				return nil, fmt.Errorf("jail parameter %q conflicts with %q", p.Name, prev)
			}
			claimed[n] = p.Name
		}
		name, value, err := encodeValue(p)
		if err != nil {
			return nil, fmt.Errorf("jail parameter %q: %w", p.Name, err)
		}
		req = append(req, cstring(name), value)
	}
	return append(req, cstring(errmsgName), make([]byte, errmsgLen)), nil
}

// encodeValue returns the name and value bytes the kernel expects for p.
func encodeValue(p Param) (string, []byte, error) {
	switch p.Kind {
	case String:
		// String values are C strings: libjail sends strlen + 1 bytes
		// (lib/libjail/jail.c: jailparam_set), and kern_jail_set rejects
		// a name, host.hostname or path whose last byte is not NUL
		// (sys/kern/kern_jail.c: "len == 0 || name[len - 1] != '\0'").
		if strings.IndexByte(p.Str, 0) >= 0 {
			return "", nil, errors.New("value contains a NUL byte")
		}
		return p.Name, cstring(p.Str), nil
	case Int:
		return p.Name, encodeInt(p.Int), nil
	case Sys:
		// jailsys values are an int read with vfs_copyopt(opts, name,
		// &jsys, sizeof(jsys)); anything but JAIL_SYS_DISABLE, _NEW or
		// _INHERIT is EINVAL (sys/kern/kern_jail.c: pr_flag_jailsys loop).
		switch Sharing(p.Int) {
		case Disable, New, Inherit:
			return p.Name, encodeInt(p.Int), nil
		}
		return "", nil, fmt.Errorf("invalid jailsys value %d", p.Int)
	case Bool:
		// Booleans are flags: the kernel only looks for the name, never
		// at the value (sys/kern/kern_jail.c: vfs_flagopt(opts,
		// bf->name, ...) and vfs_flagopt(opts, bf->noname, ...) over
		// pr_flag_bool and pr_flag_allow), and libjail sends them with a
		// NULL value (lib/libjail/jail.c: jailparam_set).
		if p.Bool {
			return p.Name, nil, nil
		}
		// The "no" name is the one the kernel registers for the flag
		// (sys/kern/kern_jail.c: pr_flag_bool {"persist", "nopersist"},
		// pr_flag_allow {"allow.raw_sockets", "allow.noraw_sockets"},
		// prison_add_allow "allow.%s.no%s"), as libjail builds it
		// (lib/libjail/jail.c: noname).
		return NegatedName(p.Name), nil, nil
	case IP4:
		// A packed array of struct in_addr, whose s_addr is in network
		// byte order (netinet/in.h). kern_jail_set rejects a length that
		// is not a multiple of sizeof(struct in_addr).
		value := make([]byte, 0, 4*len(p.Addrs))
		for _, a := range p.Addrs {
			if !a.Is4() {
				return "", nil, fmt.Errorf("%v is not an IPv4 address", a)
			}
			b := a.As4()
			value = append(value, b[:]...)
		}
		return p.Name, value, nil
	case IP6:
		// A packed array of 16-byte struct in6_addr (netinet6/in6.h),
		// length a multiple of sizeof(struct in6_addr) as for ip4.addr.
		// in6_addr has no room for a zone, which would be silently lost.
		value := make([]byte, 0, 16*len(p.Addrs))
		for _, a := range p.Addrs {
			if !a.Is6() {
				return "", nil, fmt.Errorf("%v is not an IPv6 address", a)
			}
			if a.Zone() != "" {
				return "", nil, fmt.Errorf("%v: an IPv6 zone cannot be passed to the kernel", a)
			}
			b := a.As16()
			value = append(value, b[:]...)
		}
		return p.Name, value, nil
	}
	return "", nil, fmt.Errorf("unknown kind %d", p.Kind)
}

// encodeInt encodes an int the way the kernel reads it: vfs_copyopt copies
// exactly sizeof(int) bytes in host byte order and returns EINVAL for any
// other length (sys/kern/vfs_mount.c: vfs_copyopt).
func encodeInt(v int32) []byte {
	return binary.NativeEndian.AppendUint32(nil, uint32(v))
}

// LookupRequest builds the jail_get request that finds the live jail named
// name and reads back its jid. kern_jail_get looks a jail up by "lastjid",
// then by a non-zero "jid", then by "name" (sys/kern/kern_jail.c); the jid
// value sent here is 0, so the name decides, and the kernel overwrites it
// with the jail's id (vfs_setopt(opts, "jid", &pr->pr_id, sizeof(pr->pr_id))).
func LookupRequest(name string) (Request, error) {
	if name == "" || strings.IndexByte(name, 0) >= 0 {
		return nil, fmt.Errorf("invalid jail name %q", name)
	}
	return Request{
		cstring("name"), cstring(name),
		cstring("jid"), make([]byte, 4),
		cstring(errmsgName), make([]byte, errmsgLen),
	}, nil
}

// JID returns the "jid" value of a request, as jail_get wrote it back.
func (r Request) JID() (int, error) {
	v, ok := r.value("jid")
	if !ok {
		return 0, errors.New("request has no jid parameter")
	}
	if len(v) != 4 {
		return 0, fmt.Errorf("jid value is %d bytes, want 4", len(v))
	}
	return int(int32(binary.NativeEndian.Uint32(v))), nil
}

// Errmsg returns the message the kernel wrote into the request's errmsg
// buffer, or "" if it wrote none. The kernel writes one only when the call
// fails (sys/kern/kern_jail.c: "if (error) ... copyout(errmsg, ...)").
func (r Request) Errmsg() string {
	v, _ := r.value(errmsgName)
	if i := bytes.IndexByte(v, 0); i >= 0 {
		v = v[:i]
	}
	return string(v)
}

// value returns the value of the last parameter named name: the one the
// kernel uses when a name repeats (vfs_sanitizeopts keeps the last).
func (r Request) value(name string) ([]byte, bool) {
	for i := len(r) - len(r)%2 - 2; i >= 0; i -= 2 {
		if n, ok := trimNUL(r[i]); ok && n == name {
			return r[i+1], true
		}
	}
	return nil, false
}

// Decode turns a request back into parameters: what Encode produced, or
// what jail_get wrote back. The kernel's bytes carry no types, so kinds
// gives the kind of every parameter by its name; a Bool may also appear
// under its "no" name. The errmsg pair is skipped.
//
// jail_get writes booleans back as ints (sys/kern/kern_jail.c:
// vfs_setopt(opts, bf->name, &i, sizeof(i)) with i 0 or 1) and strings into
// a buffer that may be longer than the string (vfs_setopts, strlcpy), so
// Decode accepts a 4-byte boolean and reads strings up to the first NUL.
func Decode(pairs [][]byte, kinds map[string]Kind) (Params, error) {
	if len(pairs)%2 != 0 {
		return nil, fmt.Errorf("odd number of iovecs (%d)", len(pairs))
	}
	var ps Params
	seen := make(map[string]bool, len(pairs)/2)
	for i := 0; i < len(pairs); i += 2 {
		wire, ok := trimNUL(pairs[i])
		if !ok {
			return nil, fmt.Errorf("iovec %d: name is not NUL-terminated", i)
		}
		if wire == errmsgName {
			continue
		}
		p, err := decodeParam(wire, pairs[i+1], kinds)
		if err != nil {
			return nil, fmt.Errorf("jail parameter %q: %w", wire, err)
		}
		if seen[p.Name] {
			return nil, fmt.Errorf("jail parameter %q given twice", p.Name)
		}
		seen[p.Name] = true
		ps = append(ps, p)
	}
	return ps, nil
}

// decodeParam decodes one name/value pair.
func decodeParam(wire string, value []byte, kinds map[string]Kind) (Param, error) {
	name, negated := wire, false
	kind, ok := kinds[wire]
	if !ok {
		if n, isNo := unnegate(wire); isNo && kinds[n] == Bool {
			name, negated, kind, ok = n, true, Bool, true
		}
	}
	if !ok {
		return Param{}, errors.New("unknown parameter")
	}
	p := Param{Name: name, Kind: kind}
	switch kind {
	case String:
		s, ok := cutNUL(value)
		if !ok {
			return Param{}, errors.New("string value is not NUL-terminated")
		}
		p.Str = s
	case Int, Sys:
		if len(value) != 4 {
			return Param{}, fmt.Errorf("int value is %d bytes, want 4", len(value))
		}
		p.Int = int32(binary.NativeEndian.Uint32(value))
		if kind == Sys {
			switch Sharing(p.Int) {
			case Disable, New, Inherit:
			default:
				return Param{}, fmt.Errorf("invalid jailsys value %d", p.Int)
			}
		}
	case Bool:
		switch len(value) {
		case 0:
			p.Bool = !negated
		case 4:
			p.Bool = (binary.NativeEndian.Uint32(value) != 0) != negated
		default:
			return Param{}, fmt.Errorf("boolean value is %d bytes, want 0 or 4", len(value))
		}
	case IP4, IP6:
		size := 4
		if kind == IP6 {
			size = 16
		}
		if len(value)%size != 0 {
			return Param{}, fmt.Errorf("address list is %d bytes, not a multiple of %d", len(value), size)
		}
		for b := value; len(b) > 0; b = b[size:] {
			if kind == IP4 {
				p.Addrs = append(p.Addrs, netip.AddrFrom4([4]byte(b[:4])))
			} else {
				p.Addrs = append(p.Addrs, netip.AddrFrom16([16]byte(b[:16])))
			}
		}
	default:
		return Param{}, fmt.Errorf("unknown kind %d", kind)
	}
	return p, nil
}

// unnegate reverses NegatedName: it reports the positive name of a name
// whose last component starts with "no" (lib/libjail/jail.c: nononame).
func unnegate(name string) (string, bool) {
	i := strings.LastIndexByte(name, '.')
	last, ok := strings.CutPrefix(name[i+1:], "no")
	if !ok {
		return "", false
	}
	return name[:i+1] + last, true
}

// checkName checks a parameter name before it is sent. The kernel requires
// names to be NUL-terminated (sys/kern/vfs_mount.c: vfs_buildopts, "Ensure
// names are null-terminated strings") and compares them as C strings.
func checkName(name string) error {
	switch {
	case name == "":
		return errors.New("empty jail parameter name")
	case strings.IndexByte(name, 0) >= 0:
		return fmt.Errorf("jail parameter name %q contains a NUL byte", name)
	case name == errmsgName:
		return fmt.Errorf("%q is reserved for the kernel's error message", name)
	}
	return nil
}

// cstring returns s with a terminating NUL.
func cstring(s string) []byte {
	return append([]byte(s), 0)
}

// trimNUL returns b without its terminating NUL, and whether b was exactly
// one NUL-terminated string.
func trimNUL(b []byte) (string, bool) {
	if len(b) == 0 || b[len(b)-1] != 0 || bytes.IndexByte(b, 0) != len(b)-1 {
		return "", false
	}
	return string(b[:len(b)-1]), true
}

// cutNUL returns the C string at the start of b, and whether b holds a NUL.
func cutNUL(b []byte) (string, bool) {
	i := bytes.IndexByte(b, 0)
	if i < 0 {
		return "", false
	}
	return string(b[:i]), true
}

// SyscallError is a failed jail system call. Its message is the call, the
// kernel's errmsg text when it wrote one, and the errno, for example
// "jail_set: unknown parameter: allow.foo: invalid argument".
type SyscallError struct {
	// Syscall is the call's name: "jail_set", "jail_get", "jail_attach"
	// or "jail_remove".
	Syscall string
	// Errmsg is what the kernel wrote into the errmsg buffer; empty when
	// it wrote nothing or the call takes no errmsg.
	Errmsg string
	// Err is the errno.
	Err error

	// notFound is set when the errno means that no such jail exists for
	// this call; errors.Is(err, ErrNotFound) reports it.
	notFound bool
}

func (e *SyscallError) Error() string {
	if e.Errmsg == "" {
		return e.Syscall + ": " + e.Err.Error()
	}
	return e.Syscall + ": " + e.Errmsg + ": " + e.Err.Error()
}

// Unwrap returns the errno, so that errors.Is(err, unix.EPERM) works.
func (e *SyscallError) Unwrap() error { return e.Err }

// Is reports whether target is ErrNotFound and the call found no jail.
func (e *SyscallError) Is(target error) bool {
	return target == ErrNotFound && e.notFound
}

// syscallError returns the error of a failed call that took request r.
func (r Request) syscallError(syscall string, errno error) *SyscallError {
	return &SyscallError{Syscall: syscall, Errmsg: r.Errmsg(), Err: errno}
}
