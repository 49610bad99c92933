package jailspec

import (
	"fmt"
	"maps"
	"net/netip"
	"regexp"
	"slices"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/runj-go/runj-go/bundle"
)

// Jail is the complete description of a container's jail.
type Jail struct {
	// ID is the container id.
	ID string
	// Name is the full jail name given to jail_set: the id, or
	// "<parent>.<id>" under a parent jail.
	Name string
	// Parent is the parent jail's name, empty for a child of the host.
	Parent string
	// Params are the parameters passed to jail_set, in order.
	Params Params
	// Interface is the host interface that carries the ip4.addr and
	// ip6.addr aliases, if any.
	Interface string
	// VnetInterfaces are moved into the jail's vnet.
	VnetInterfaces []string
	// Warnings are settings that are valid but probably not what the
	// user meant.
	Warnings []string
}

// Annotations from ocijail that podman on FreeBSD sends today.
const (
	AnnotationParent  = "org.freebsd.parentJail"
	annotationJail    = "org.freebsd.jail."
	annotationAllow   = annotationJail + "allow."
	annotationVnet    = annotationJail + "vnet"
	annotationIP4Addr = annotationJail + "ip4.addr"
	annotationIP6Addr = annotationJail + "ip6.addr"
)

// allowFlag maps a freebsd.jail.allow boolean to its jail parameter and the
// default that applies when config.json does not mention it.
type allowFlag struct {
	json, param string
	def         bool
}

// allowFlags lists every boolean of freebsd.jail.allow. Defaults follow
// config-freebsd.md: all off except reservedPorts and suser, which are also
// on in the kernel's JAIL_DEFAULT_ALLOW (sys/kern/kern_jail.c) and so are
// not passed unless config.json sets them.
var allowFlags = []allowFlag{
	{"setHostname", "allow.set_hostname", false},
	{"rawSockets", "allow.raw_sockets", false},
	{"chflags", "allow.chflags", false},
	{"quotas", "allow.quotas", false},
	{"socketAf", "allow.socket_af", false},
	{"mlock", "allow.mlock", false},
	{"reservedPorts", "allow.reserved_ports", true},
	{"suser", "allow.suser", true},
}

var (
	// paramName is what a jail parameter name built from user input may
	// look like: lowercase words joined by '.' or '_'.
	paramName = regexp.MustCompile(`^[a-z0-9][a-z0-9_]*(\.[a-z0-9][a-z0-9_]*)*$`)
	fsName    = regexp.MustCompile(`^[a-z0-9][a-z0-9_]*$`)
)

// ifNameMax is IFNAMSIZ - 1 (sys/net/if.h: IFNAMSIZ 16).
const ifNameMax = 15

// Translate computes the jail for container id from a validated bundle,
// following config-freebsd.md and the defaults in DESIGN.md. It reports
// every invalid or contradictory setting at once.
func Translate(b *bundle.Bundle, id string) (*Jail, error) {
	var errs bundle.Errors
	if err := ValidateID(id); err != nil {
		return nil, err
	}
	t := translator{spec: b.Spec, allowSet: b.AllowSet, errs: &errs}
	t.jail = jailSection(t.spec)
	j := &Jail{ID: id, Name: id}
	j.Parent = t.parent(id)
	if j.Parent != "" {
		j.Name = j.Parent + "." + id
	}
	j.Params = Params{StringParam("name", j.Name), StringParam("path", b.Root), BoolParam("persist", true)}
	j.Params = append(j.Params, t.host()...)
	vnet := t.vnet()
	net, iface, vifs := t.network(vnet)
	j.Params = append(j.Params, net...)
	j.Interface, j.VnetInterfaces = iface, vifs
	j.Params = append(j.Params, t.sysv()...)
	statfs := t.enforceStatfs()
	j.Params = append(j.Params, IntParam("enforce_statfs", statfs))
	allow, mounts := t.allow()
	j.Params = append(j.Params, allow...)
	if mounts > 0 && statfs == 2 {
		j.Warnings = append(j.Warnings, "freebsd.jail.allow.mount is set but enforceStatfs is 2: the jail cannot mount anything unless enforceStatfs is 0 or 1 (jail(8))")
	}
	if err := errs.Err(); err != nil {
		return nil, err
	}
	return j, nil
}

func jailSection(spec *specs.Spec) *specs.FreeBSDJail {
	if spec.FreeBSD == nil || spec.FreeBSD.Jail == nil {
		return &specs.FreeBSDJail{}
	}
	return spec.FreeBSD.Jail
}

func sortedKeys[V any](m map[string]V) []string { return slices.Sorted(maps.Keys(m)) }

type translator struct {
	spec     *specs.Spec
	jail     *specs.FreeBSDJail
	allowSet map[string]bool
	errs     *bundle.Errors
}

func annotationPath(key string) string { return fmt.Sprintf("annotations[%q]", key) }

func (t *translator) annotation(key string) (string, bool) {
	v, ok := t.spec.Annotations[key]
	return v, ok
}

// parent returns the parent jail's name. The kernel keeps the full name
// "<parent>.<id>" in a MAXHOSTNAMELEN buffer (sys/sys/jail.h: pr_name), so
// the parent also bounds how long the id may be.
func (t *translator) parent(id string) string {
	p, at := t.jail.Parent, "freebsd.jail.parent"
	if p == "" {
		if v, ok := t.annotation(AnnotationParent); ok {
			p, at = v, annotationPath(AnnotationParent)
		}
	}
	if p == "" {
		return ""
	}
	for i, part := range strings.Split(p, ".") {
		if err := ValidateID(part); err != nil {
			t.errs.Add(at, "%q is not a jail name (component %d: %v)", p, i, err)
			return ""
		}
	}
	if n := len(p) + 1 + len(id); n > MaxNameLen {
		t.errs.Add(at, "%q makes the jail name %d bytes long, more than %d", p, n, MaxNameLen)
		return ""
	}
	return p
}

// sharing reads a jailsys value from the freebsd section or, when that is
// unset, from an annotation. allowed lists the values the parameter takes.
func (t *translator) sharing(v specs.FreeBSDSharing, field, annotation string, allowed ...Sharing) (Sharing, bool) {
	val, at := string(v), "freebsd.jail."+field
	if val == "" && annotation != "" {
		if a, ok := t.annotation(annotation); ok {
			val, at = a, annotationPath(annotation)
		}
	}
	if val == "" {
		return 0, false
	}
	s, ok := ParseSharing(val)
	if ok {
		for _, a := range allowed {
			if a == s {
				return s, true
			}
		}
	}
	names := make([]string, len(allowed))
	for i, a := range allowed {
		names[i] = fmt.Sprintf("%q", a.String())
	}
	t.errs.Add(at, "%q is not one of %s", val, strings.Join(names, ", "))
	return 0, false
}

func (t *translator) host() Params {
	named := t.spec.Hostname != "" || t.spec.Domainname != ""
	host, set := t.sharing(t.jail.Host, "host", "", New, Inherit)
	if !set {
		host = Inherit
		if named {
			host = New
		}
	}
	if host == Inherit && named {
		t.errs.Add("freebsd.jail.host", "%q cannot be used with hostname %q or domainname %q: the jail would share the host's names", "inherit", t.spec.Hostname, t.spec.Domainname)
	}
	ps := Params{SysParam("host", host)}
	if t.spec.Hostname != "" {
		ps = append(ps, StringParam("host.hostname", t.spec.Hostname))
	}
	if t.spec.Domainname != "" {
		ps = append(ps, StringParam("host.domainname", t.spec.Domainname))
	}
	return ps
}

func (t *translator) vnet() Sharing {
	v, set := t.sharing(t.jail.Vnet, "vnet", annotationVnet, New, Inherit)
	if !set {
		return Inherit
	}
	return v
}

// addrs parses the addresses of one family from the freebsd section or, when
// it has none, from the comma-separated annotation.
func (t *translator) addrs(list []string, field, annotation string, want4 bool) []netip.Addr {
	at := "freebsd.jail." + field
	if len(list) == 0 {
		if v, ok := t.annotation(annotation); ok && v != "" {
			list, at = strings.Split(v, ","), annotationPath(annotation)
		}
	}
	family := "IPv6"
	if want4 {
		family = "IPv4"
	}
	var out []netip.Addr
	for i, s := range list {
		s = strings.TrimSpace(s)
		a, err := netip.ParseAddr(s)
		if err != nil || a.Is4() != want4 || a.Zone() != "" || (!want4 && a.Is4In6()) {
			t.errs.Add(fmt.Sprintf("%s[%d]", at, i), "%q is not an %s address", s, family)
			continue
		}
		out = append(out, a)
	}
	return out
}

func (t *translator) network(vnet Sharing) (Params, string, []string) {
	ip4 := t.addrs(t.jail.Ip4Addr, "ip4Addr", annotationIP4Addr, true)
	ip6 := t.addrs(t.jail.Ip6Addr, "ip6Addr", annotationIP6Addr, false)
	anyAddr := len(ip4) > 0 || len(ip6) > 0
	iface := t.jail.Interface
	if iface != "" {
		validateIfName(iface, "freebsd.jail.interface", t.errs)
		if !anyAddr {
			t.errs.Add("freebsd.jail.interface", "%q is set but there is no ip4Addr or ip6Addr to add to it", iface)
		}
	}
	for i, name := range t.jail.VnetInterfaces {
		validateIfName(name, fmt.Sprintf("freebsd.jail.vnetInterfaces[%d]", i), t.errs)
	}
	// vnet is passed only when new: the parameter exists only in kernels
	// with options VIMAGE, inherit is the kernel's default, and the kernel
	// refuses any ip4 or ip6 parameter next to any vnet parameter,
	// whatever their values: in kern_jail_set (sys/kern/kern_jail.c) a
	// jailsys parameter that is present adds its flags to ch_flags
	// (PR_VNET for vnet, PR_IP4_USER for ip4, PR_IP6_USER for ip6), and
	// ch_flags with PR_VNET and either of the others fails with "vnet
	// jails cannot have IP address restrictions".
	var ps Params
	if vnet == New {
		ps = append(ps, SysParam("vnet", vnet))
	}
	if vnet == New {
		if iface != "" {
			t.errs.Add("freebsd.jail.interface", "%q cannot be used with vnet %q: a vnet jail has its own interfaces (use vnetInterfaces)", iface, "new")
		}
		if anyAddr {
			t.errs.Add("freebsd.jail.vnet", "%q cannot be used with ip4Addr or ip6Addr: addresses of a vnet jail are configured inside it", "new")
		}
	} else if len(t.jail.VnetInterfaces) > 0 {
		t.errs.Add("freebsd.jail.vnetInterfaces", "%q need vnet %q to be moved into", t.jail.VnetInterfaces, "new")
	}
	ps = append(ps, t.family("ip4", t.jail.Ip4, ip4, IP4, vnet, anyAddr)...)
	ps = append(ps, t.family("ip6", t.jail.Ip6, ip6, IP6, vnet, anyAddr)...)
	return ps, iface, t.jail.VnetInterfaces
}

// family computes ip4 or ip6 and its address list. Unset, it is new when the
// family has addresses, disable when only the other family has, inherit
// otherwise; a vnet jail leaves it to the kernel (config-freebsd.md).
func (t *translator) family(name string, v specs.FreeBSDSharing, addrs []netip.Addr, kind Kind, vnet Sharing, anyAddr bool) Params {
	s, set := t.sharing(v, name, "", New, Inherit, Disable)
	if set && vnet == New {
		t.errs.Add("freebsd.jail."+name, "%q cannot be used with vnet %q: a vnet jail has its own network stack, and the kernel refuses IP restrictions on it", s, "new")
		return nil
	}
	if !set {
		switch {
		case vnet == New:
			return nil
		case len(addrs) > 0:
			s = New
		case anyAddr:
			s = Disable
		default:
			s = Inherit
		}
	}
	if len(addrs) > 0 && s != New {
		t.errs.Add("freebsd.jail."+name, "%q cannot be used with %sAddr: addresses restrict the jail, which needs %s %q", s, name, name, "new")
	}
	ps := Params{SysParam(name, s)}
	if len(addrs) > 0 {
		ps = append(ps, AddrParam(name+".addr", kind, addrs))
	}
	return ps
}

func validateIfName(name, at string, errs *bundle.Errors) {
	if name == "" || len(name) > ifNameMax || strings.ContainsFunc(name, func(r rune) bool {
		return r <= ' ' || r >= 0x7f || r == '/' || r == ':'
	}) {
		errs.Add(at, "%q is not a network interface name (1 to %d printable characters)", name, ifNameMax)
	}
}

func (t *translator) sysv() Params {
	var ps Params
	for _, f := range []struct {
		name string
		v    specs.FreeBSDSharing
	}{{"sysvmsg", t.jail.SysVMsg}, {"sysvsem", t.jail.SysVSem}, {"sysvshm", t.jail.SysVShm}} {
		s, set := t.sharing(f.v, f.name, annotationJail+f.name, New, Inherit, Disable)
		if !set {
			s = New
		}
		ps = append(ps, SysParam(f.name, s))
	}
	return ps
}

func (t *translator) enforceStatfs() int32 {
	if t.jail.EnforceStatfs == nil {
		return 2
	}
	v := *t.jail.EnforceStatfs
	if v < 0 || v > 2 {
		t.errs.Add("freebsd.jail.enforceStatfs", "%d is not 0, 1 or 2", v)
		return 2
	}
	return int32(v)
}

// allow returns the allow.* parameters and how many file system types the
// jail may mount.
func (t *translator) allow() (Params, int) {
	annotated := t.allowAnnotations()
	var ps Params
	for _, f := range allowFlags {
		v, ok := t.allowSet[f.json]
		if !ok {
			v, ok = annotated[f.param]
		}
		delete(annotated, f.param)
		if !ok && f.def {
			// Left to the kernel, whose default is on for a jail whose
			// parent has it (sys/kern/kern_jail.c: JAIL_DEFAULT_ALLOW &
			// ppr->pr_allow): asked for explicitly under a parent that
			// lacks it, jail_set fails with EPERM.
			continue
		}
		if !ok {
			v = f.def
		}
		ps = append(ps, BoolParam(f.param, v))
	}
	var mounts []string
	if a := t.jail.Allow; a != nil {
		for i, fs := range a.Mount {
			if !fsName.MatchString(fs) {
				t.errs.Add(fmt.Sprintf("freebsd.jail.allow.mount[%d]", i), "%q is not a file system type name", fs)
				continue
			}
			mounts = append(mounts, fs)
		}
	}
	// allow.mount.<fs> annotations count only when the freebsd section
	// lists no file system: the section wins, and a stray annotation must
	// not add or, passed later, revoke a type (the kernel keeps the last
	// of repeated options).
	for _, name := range sortedKeys(annotated) {
		fs, ok := strings.CutPrefix(name, "allow.mount.")
		if !ok {
			continue
		}
		if annotated[name] && (t.jail.Allow == nil || len(t.jail.Allow.Mount) == 0) {
			mounts = append(mounts, fs)
		}
		delete(annotated, name)
	}
	ps = append(ps, BoolParam("allow.mount", len(mounts) > 0))
	for _, fs := range mounts {
		ps = append(ps, BoolParam("allow.mount."+fs, true))
	}
	// Remaining annotations name allow parameters the freebsd section has
	// no field for (allow.nfsd, allow.read_msgbuf, ...): pass them on, so
	// the kernel checks the name.
	delete(annotated, "allow.mount")
	for _, name := range sortedKeys(annotated) {
		ps = append(ps, BoolParam(name, annotated[name]))
	}
	return ps, len(mounts)
}

// allowAnnotations parses org.freebsd.jail.allow.<name> annotations, keyed
// by jail parameter name ("allow.raw_sockets").
func (t *translator) allowAnnotations() map[string]bool {
	out := map[string]bool{}
	for key, v := range t.spec.Annotations {
		name, ok := strings.CutPrefix(key, annotationAllow)
		if !ok {
			continue
		}
		if !paramName.MatchString(name) {
			t.errs.Add(annotationPath(key), "%q does not name a jail allow parameter", name)
			continue
		}
		switch strings.ToLower(v) {
		case "true", "1":
			out["allow."+name] = true
		case "false", "0":
			out["allow."+name] = false
		default:
			t.errs.Add(annotationPath(key), "%q is not true, false, 1 or 0", v)
		}
	}
	return out
}
