// Package jailspec turns a validated OCI bundle into the parameters of a
// FreeBSD jail, and encodes parameters for jail_set(2) and jail_get(2).
package jailspec

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/netip"
	"strings"
)

// Sharing is the value of a jailsys parameter (host, ip4, ip6, vnet,
// sysvmsg, sysvsem, sysvshm). sys/sys/jail.h: JAIL_SYS_DISABLE 0,
// JAIL_SYS_NEW 1, JAIL_SYS_INHERIT 2.
type Sharing int32

const (
	Disable Sharing = 0
	New     Sharing = 1
	Inherit Sharing = 2
)

var sharingNames = map[Sharing]string{Disable: "disable", New: "new", Inherit: "inherit"}

func (s Sharing) String() string {
	if n, ok := sharingNames[s]; ok {
		return n
	}
	return fmt.Sprintf("Sharing(%d)", int32(s))
}

// ParseSharing parses "new", "inherit" or "disable".
func ParseSharing(v string) (Sharing, bool) {
	for s, n := range sharingNames {
		if n == v {
			return s, true
		}
	}
	return 0, false
}

// Kind is the type of a jail parameter's value, as the kernel reads it.
type Kind int

const (
	// String is a NUL-terminated string.
	String Kind = iota
	// Int is a 32-bit integer in host byte order.
	Int
	// Bool is a flag passed by name ("persist") or negated name
	// ("nopersist") with no value.
	Bool
	// Sys is a jailsys parameter: an Int holding a Sharing value.
	Sys
	// IP4 is a packed array of struct in_addr.
	IP4
	// IP6 is a packed array of struct in6_addr.
	IP6
)

// Param is one jail parameter with its typed value.
type Param struct {
	Name  string
	Kind  Kind
	Str   string       // String
	Int   int32        // Int, Sys
	Bool  bool         // Bool
	Addrs []netip.Addr // IP4, IP6
}

// StringParam, IntParam, BoolParam, SysParam and AddrParam build parameters.
func StringParam(name, v string) Param    { return Param{Name: name, Kind: String, Str: v} }
func IntParam(name string, v int32) Param { return Param{Name: name, Kind: Int, Int: v} }
func BoolParam(name string, v bool) Param { return Param{Name: name, Kind: Bool, Bool: v} }
func SysParam(name string, v Sharing) Param {
	return Param{Name: name, Kind: Sys, Int: int32(v)}
}
func AddrParam(name string, kind Kind, addrs []netip.Addr) Param {
	return Param{Name: name, Kind: kind, Addrs: addrs}
}

// Value returns the parameter's value as jail(8) users read it: a string,
// a number, a boolean, a jailsys name, or a list of address strings.
func (p Param) Value() any {
	switch p.Kind {
	case String:
		return p.Str
	case Int:
		return p.Int
	case Bool:
		return p.Bool
	case Sys:
		return Sharing(p.Int).String()
	default:
		out := make([]string, len(p.Addrs))
		for i, a := range p.Addrs {
			out[i] = a.String()
		}
		return out
	}
}

// Params is an ordered list of jail parameters.
type Params []Param

// Get returns the parameter named name.
func (ps Params) Get(name string) (Param, bool) {
	for _, p := range ps {
		if p.Name == name {
			return p, true
		}
	}
	return Param{}, false
}

// MarshalJSON writes the parameters as one object in their order, each
// value as Value returns it.
func (ps Params) MarshalJSON() ([]byte, error) {
	var buf bytes.Buffer
	buf.WriteByte('{')
	for i, p := range ps {
		if i > 0 {
			buf.WriteByte(',')
		}
		k, err := json.Marshal(p.Name)
		if err != nil {
			return nil, err
		}
		v, err := json.Marshal(p.Value())
		if err != nil {
			return nil, err
		}
		buf.Write(k)
		buf.WriteByte(':')
		buf.Write(v)
	}
	buf.WriteByte('}')
	return buf.Bytes(), nil
}

// NegatedName is the name that sets a boolean parameter to false: "no"
// before the last component ("allow.raw_sockets" -> "allow.noraw_sockets").
// sys/kern/kern_jail.c (vfs_flagopt over pr_flag_bool and pr_flag_allow) and
// jail(8) both read it this way.
func NegatedName(name string) string {
	if i := strings.LastIndexByte(name, '.'); i >= 0 {
		return name[:i+1] + "no" + name[i+1:]
	}
	return "no" + name
}
