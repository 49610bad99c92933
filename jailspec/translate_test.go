package jailspec

import (
	"encoding/json"
	"errors"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/sirupsen/logrus/hooks/test"

	"github.com/runj-go/runj-go/bundle"
)

// parseConfig builds a bundle the way Load does, from the smallest valid
// config.json plus members, extra top-level members of its object
// (`"hostname": "web", "freebsd": {...}`). Going through bundle.Parse gets
// AllowSet right.
func parseConfig(t testing.TB, members string) *bundle.Bundle {
	t.Helper()
	cfg := `{"ociVersion": "1.3.0", "root": {"path": "rootfs"}`
	if members != "" {
		cfg += ", " + members
	}
	cfg += "}"
	log, _ := test.NewNullLogger()
	b, err := bundle.Parse([]byte(cfg), t.TempDir(), log)
	if err != nil {
		t.Fatalf("bundle.Parse(%s): %v", cfg, err)
	}
	return b
}

// jailSect wraps freebsd.jail members into a config member.
func jailSect(members string) string { return `"freebsd": {"jail": {` + members + `}}` }

// annotations builds an annotations member from key, value pairs.
func annotations(kv ...string) string {
	m := map[string]string{}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	data, _ := json.Marshal(m)
	return `"annotations": ` + string(data)
}

func join(members ...string) string { return strings.Join(members, ", ") }

// values returns the parameters as name -> Value(), failing on a repeated
// name: the kernel keeps only the last of repeated options, so a repeat
// always hides a conflict.
func values(t *testing.T, ps Params) map[string]any {
	t.Helper()
	out := map[string]any{}
	for _, p := range ps {
		if _, dup := out[p.Name]; dup {
			t.Errorf("parameter %s is given more than once: %v", p.Name, ps)
		}
		out[p.Name] = p.Value()
	}
	return out
}

func TestTranslate_defaults(t *testing.T) {
	b := parseConfig(t, "")
	j, err := Translate(b, "ctr")
	if err != nil {
		t.Fatalf("Translate: %v", err)
	}
	// DESIGN.md "Defaults" and config-freebsd.md, in jail_set order.
	want := Params{
		StringParam("name", "ctr"),
		StringParam("path", filepath.Join(b.Path, "rootfs")),
		BoolParam("persist", true),
		SysParam("host", Inherit),
		SysParam("ip4", Inherit),
		SysParam("ip6", Inherit),
		SysParam("sysvmsg", New),
		SysParam("sysvsem", New),
		SysParam("sysvshm", New),
		IntParam("enforce_statfs", 2),
		BoolParam("allow.set_hostname", false),
		BoolParam("allow.raw_sockets", false),
		BoolParam("allow.chflags", false),
		BoolParam("allow.quotas", false),
		BoolParam("allow.socket_af", false),
		BoolParam("allow.mlock", false),
		BoolParam("allow.mount", false),
	}
	if !reflect.DeepEqual(j.Params, want) {
		t.Errorf("Params =\n%v\nwant\n%v", j.Params, want)
	}
	if j.ID != "ctr" || j.Name != "ctr" || j.Parent != "" || j.Interface != "" || j.VnetInterfaces != nil || j.Warnings != nil {
		t.Errorf("Jail = %+v, want only id and name ctr", j)
	}
}

func TestTranslate_full_config_keeps_parameter_order(t *testing.T) {
	b := parseConfig(t, join(`"hostname": "web"`, `"domainname": "example.org"`, jailSect(`
		"parent": "pod", "host": "new", "ip4": "new", "ip4Addr": ["10.0.0.2"], "ip6": "new", "ip6Addr": ["fd00::2"],
		"interface": "lo1", "sysvmsg": "disable", "sysvsem": "inherit", "sysvshm": "new", "enforceStatfs": 1,
		"allow": {"setHostname": true, "rawSockets": true, "chflags": true, "mount": ["tmpfs", "nullfs"],
			"quotas": true, "socketAf": true, "mlock": true, "reservedPorts": false, "suser": false}`),
		annotations("org.freebsd.jail.allow.nfsd", "true")))
	j, err := Translate(b, "ctr")
	if err != nil {
		t.Fatalf("Translate: %v", err)
	}
	var names []string
	for _, p := range j.Params {
		names = append(names, p.Name)
	}
	want := []string{
		"name", "path", "persist", "host", "host.hostname", "host.domainname",
		"ip4", "ip4.addr", "ip6", "ip6.addr", "sysvmsg", "sysvsem", "sysvshm", "enforce_statfs",
		"allow.set_hostname", "allow.raw_sockets", "allow.chflags", "allow.quotas", "allow.socket_af",
		"allow.mlock", "allow.reserved_ports", "allow.suser",
		"allow.mount", "allow.mount.tmpfs", "allow.mount.nullfs", "allow.nfsd",
	}
	if !reflect.DeepEqual(names, want) {
		t.Errorf("parameter names =\n%q\nwant\n%q", names, want)
	}
	if j.Warnings != nil {
		t.Errorf("Warnings = %q, want none", j.Warnings)
	}
}

type translateCase struct {
	name    string
	id      string // "ctr" when empty
	members string
	want    map[string]any // parameter name -> Value()
	absent  []string       // parameters that must not be passed
	check   func(t *testing.T, j *Jail)
}

func runTranslateCases(t *testing.T, tests []translateCase) {
	t.Helper()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id := tt.id
			if id == "" {
				id = "ctr"
			}
			b := parseConfig(t, tt.members)
			j, err := Translate(b, id)
			if err != nil {
				t.Fatalf("Translate: %v", err)
			}
			got := values(t, j.Params)
			for name, w := range tt.want {
				if g, ok := got[name]; !ok {
					t.Errorf("%s is not passed, want %#v", name, w)
				} else if !reflect.DeepEqual(g, w) {
					t.Errorf("%s = %#v, want %#v", name, g, w)
				}
			}
			for _, name := range tt.absent {
				if g, ok := got[name]; ok {
					t.Errorf("%s = %#v is passed, want it absent", name, g)
				}
			}
			if tt.check != nil {
				tt.check(t, j)
			}
		})
	}
}

func TestTranslate(t *testing.T) {
	runTranslateCases(t, []translateCase{
		// name, parent, path, persist
		{
			name: "name is the container id",
			id:   "my-ctr_1",
			want: map[string]any{"name": "my-ctr_1"},
			check: func(t *testing.T, j *Jail) {
				if j.ID != "my-ctr_1" || j.Name != "my-ctr_1" || j.Parent != "" {
					t.Errorf("ID, Name, Parent = %q, %q, %q", j.ID, j.Name, j.Parent)
				}
			},
		},
		{
			name:    "parent makes the name parent.id",
			members: jailSect(`"parent": "pod"`),
			want:    map[string]any{"name": "pod.ctr"},
			absent:  []string{"parent"},
			check: func(t *testing.T, j *Jail) {
				if j.ID != "ctr" || j.Name != "pod.ctr" || j.Parent != "pod" {
					t.Errorf("ID, Name, Parent = %q, %q, %q", j.ID, j.Name, j.Parent)
				}
			},
		},
		{
			name:    "nested parent makes a three-part name",
			members: jailSect(`"parent": "outer.pod"`),
			want:    map[string]any{"name": "outer.pod.ctr"},
			check: func(t *testing.T, j *Jail) {
				if j.Parent != "outer.pod" {
					t.Errorf("Parent = %q", j.Parent)
				}
			},
		},
		{
			name:    "parent up to the name limit is accepted",
			members: jailSect(`"parent": "` + strings.Repeat("p", MaxNameLen-len(".ctr")) + `"`),
			want:    map[string]any{"name": strings.Repeat("p", MaxNameLen-len(".ctr")) + ".ctr"},
		},
		{
			name:    "absolute root.path is the path",
			members: `"root": {"path": "/jails/web/root"}`,
			want:    map[string]any{"path": "/jails/web/root"},
		},
		{
			name: "persist is always set",
			want: map[string]any{"persist": true},
		},

		// host
		{
			name:   "host is inherit without hostname or domainname",
			want:   map[string]any{"host": "inherit"},
			absent: []string{"host.hostname", "host.domainname"},
		},
		{
			name:    "hostname implies host new",
			members: `"hostname": "web"`,
			want:    map[string]any{"host": "new", "host.hostname": "web"},
			absent:  []string{"host.domainname"},
		},
		{
			name:    "domainname implies host new",
			members: `"domainname": "example.org"`,
			want:    map[string]any{"host": "new", "host.domainname": "example.org"},
			absent:  []string{"host.hostname"},
		},
		{
			name:    "hostname and domainname are both passed",
			members: `"hostname": "web", "domainname": "example.org"`,
			want:    map[string]any{"host": "new", "host.hostname": "web", "host.domainname": "example.org"},
		},
		{
			name:    "explicit host new without names passes no names",
			members: jailSect(`"host": "new"`),
			want:    map[string]any{"host": "new"},
			absent:  []string{"host.hostname", "host.domainname"},
		},
		{
			name:    "explicit host inherit is passed",
			members: jailSect(`"host": "inherit"`),
			want:    map[string]any{"host": "inherit"},
		},

		// ip4, ip6, vnet, interface
		{
			name:   "ip4 and ip6 inherit by default",
			want:   map[string]any{"ip4": "inherit", "ip6": "inherit"},
			absent: []string{"ip4.addr", "ip6.addr", "vnet"},
		},
		{
			name:    "ip4Addr implies ip4 new and disables ip6",
			members: jailSect(`"ip4Addr": ["10.0.0.2", "10.0.0.3"]`),
			want:    map[string]any{"ip4": "new", "ip4.addr": []string{"10.0.0.2", "10.0.0.3"}, "ip6": "disable"},
			absent:  []string{"ip6.addr"},
		},
		{
			name:    "ip6Addr implies ip6 new and disables ip4",
			members: jailSect(`"ip6Addr": ["fd00::2"]`),
			want:    map[string]any{"ip6": "new", "ip6.addr": []string{"fd00::2"}, "ip4": "disable"},
			absent:  []string{"ip4.addr"},
		},
		{
			name:    "addresses of both families make both new",
			members: jailSect(`"ip4Addr": ["10.0.0.2"], "ip6Addr": ["fd00::2", "2001:db8::1"]`),
			want: map[string]any{"ip4": "new", "ip4.addr": []string{"10.0.0.2"},
				"ip6": "new", "ip6.addr": []string{"fd00::2", "2001:db8::1"}},
		},
		{
			name:    "address strings are trimmed and canonicalised",
			members: jailSect(`"ip6Addr": [" FD00:0:0::2 "]`),
			want:    map[string]any{"ip6.addr": []string{"fd00::2"}},
		},
		{
			name:    "explicit ip4 new with addresses is passed",
			members: jailSect(`"ip4": "new", "ip4Addr": ["10.0.0.2"]`),
			want:    map[string]any{"ip4": "new", "ip4.addr": []string{"10.0.0.2"}},
		},
		{
			name:    "explicit ip4 disable and ip6 new without addresses are passed",
			members: jailSect(`"ip4": "disable", "ip6": "new"`),
			want:    map[string]any{"ip4": "disable", "ip6": "new"},
			absent:  []string{"ip4.addr", "ip6.addr"},
		},
		{
			name:    "explicit ip6 disable next to ip4Addr is passed",
			members: jailSect(`"ip4Addr": ["10.0.0.2"], "ip6": "disable"`),
			want:    map[string]any{"ip4": "new", "ip6": "disable"},
		},
		{
			name:    "vnet new omits ip4 and ip6",
			members: jailSect(`"vnet": "new"`),
			want:    map[string]any{"vnet": "new"},
			absent:  []string{"ip4", "ip6", "ip4.addr", "ip6.addr"},
		},
		{
			name:    "vnet inherit is the kernel's default: not passed, ip4 and ip6 inherit",
			members: jailSect(`"vnet": "inherit"`),
			want:    map[string]any{"ip4": "inherit", "ip6": "inherit"},
			absent:  []string{"vnet"},
		},
		{
			name:    "vnet inherit with ip4 and ip6 inherit, as config-freebsd.md advises for a shared vnet",
			members: jailSect(`"vnet": "inherit", "ip4": "inherit", "ip6": "inherit"`),
			want:    map[string]any{"ip4": "inherit", "ip6": "inherit"},
			absent:  []string{"vnet"},
		},
		{
			name:    "vnet new with vnetInterfaces moves them",
			members: jailSect(`"vnet": "new", "vnetInterfaces": ["epair0b", "tap1"]`),
			want:    map[string]any{"vnet": "new"},
			absent:  []string{"vnet.interface", "interface"},
			check: func(t *testing.T, j *Jail) {
				if !reflect.DeepEqual(j.VnetInterfaces, []string{"epair0b", "tap1"}) || j.Interface != "" {
					t.Errorf("VnetInterfaces, Interface = %q, %q", j.VnetInterfaces, j.Interface)
				}
			},
		},
		{
			name:    "interface carries the addresses and is not a kernel parameter",
			members: jailSect(`"interface": "lo1", "ip4Addr": ["127.0.1.2"], "ip6Addr": ["fd00::2"]`),
			want:    map[string]any{"ip4": "new", "ip6": "new"},
			absent:  []string{"interface", "vnet"},
			check: func(t *testing.T, j *Jail) {
				if j.Interface != "lo1" || j.VnetInterfaces != nil {
					t.Errorf("Interface, VnetInterfaces = %q, %q", j.Interface, j.VnetInterfaces)
				}
			},
		},
		{
			name:    "interface name of 15 bytes is accepted",
			members: jailSect(`"interface": "abcdefghijklmn0", "ip4Addr": ["10.0.0.2"]`),
			check: func(t *testing.T, j *Jail) {
				if j.Interface != "abcdefghijklmn0" {
					t.Errorf("Interface = %q", j.Interface)
				}
			},
		},

		// sysv*
		{
			name: "sysv parameters default to new",
			want: map[string]any{"sysvmsg": "new", "sysvsem": "new", "sysvshm": "new"},
		},
		{
			name:    "sysv parameters are passed as given",
			members: jailSect(`"sysvmsg": "inherit", "sysvsem": "disable", "sysvshm": "new"`),
			want:    map[string]any{"sysvmsg": "inherit", "sysvsem": "disable", "sysvshm": "new"},
		},
		{
			name:    "sysvshm disable leaves the others new",
			members: jailSect(`"sysvshm": "disable"`),
			want:    map[string]any{"sysvmsg": "new", "sysvsem": "new", "sysvshm": "disable"},
		},

		// enforce_statfs
		{name: "enforce_statfs defaults to 2", want: map[string]any{"enforce_statfs": int32(2)}},
		{name: "enforceStatfs 0 is passed", members: jailSect(`"enforceStatfs": 0`), want: map[string]any{"enforce_statfs": int32(0)}},
		{name: "enforceStatfs 1 is passed", members: jailSect(`"enforceStatfs": 1`), want: map[string]any{"enforce_statfs": int32(1)}},
		{name: "enforceStatfs 2 is passed", members: jailSect(`"enforceStatfs": 2`), want: map[string]any{"enforce_statfs": int32(2)}},

		// allow.mount
		{
			name:    "allow.mount list allows each type",
			members: jailSect(`"enforceStatfs": 1, "allow": {"mount": ["tmpfs", "nullfs"]}`),
			want:    map[string]any{"allow.mount": true, "allow.mount.tmpfs": true, "allow.mount.nullfs": true},
			check:   noWarnings,
		},
		{
			name:    "empty allow.mount list allows nothing",
			members: jailSect(`"allow": {"mount": []}`),
			want:    map[string]any{"allow.mount": false},
			absent:  []string{"allow.mount.tmpfs"},
			check:   noWarnings,
		},
		{
			name:    "allow.mount with enforceStatfs 2 warns",
			members: jailSect(`"allow": {"mount": ["tmpfs"]}`),
			want:    map[string]any{"allow.mount": true, "allow.mount.tmpfs": true, "enforce_statfs": int32(2)},
			check: func(t *testing.T, j *Jail) {
				if len(j.Warnings) != 1 || !strings.Contains(j.Warnings[0], "freebsd.jail.allow.mount is set but enforceStatfs is 2") {
					t.Errorf("Warnings = %q, want the enforceStatfs warning", j.Warnings)
				}
			},
		},
		{
			name:    "allow.mount with enforceStatfs 0 does not warn",
			members: jailSect(`"enforceStatfs": 0, "allow": {"mount": ["tmpfs"]}`),
			check:   noWarnings,
		},
	})
}

func noWarnings(t *testing.T, j *Jail) {
	t.Helper()
	if j.Warnings != nil {
		t.Errorf("Warnings = %q, want none", j.Warnings)
	}
}

func TestTranslate_allow_flags(t *testing.T) {
	// config-freebsd.md names; defaults as in the kernel's
	// JAIL_DEFAULT_ALLOW (reserved_ports and suser on).
	flags := []struct {
		json, param string
		def         bool
	}{
		{"setHostname", "allow.set_hostname", false},
		{"rawSockets", "allow.raw_sockets", false},
		{"chflags", "allow.chflags", false},
		{"quotas", "allow.quotas", false},
		{"socketAf", "allow.socket_af", false},
		{"mlock", "allow.mlock", false},
		{"reservedPorts", "allow.reserved_ports", true},
		{"suser", "allow.suser", true},
	}
	var tests []translateCase
	for _, f := range flags {
		tests = append(tests,
			translateCase{
				name:   f.json + " unset gives the default",
				want:   defaultWant(f.param, f.def),
				absent: defaultAbsent(f.param, f.def),
			},
			translateCase{
				name:    f.json + " in an allow object without it gives the default",
				members: jailSect(`"allow": {"mount": []}`),
				want:    defaultWant(f.param, f.def),
				absent:  defaultAbsent(f.param, f.def),
			},
			translateCase{
				name:    f.json + " true is passed",
				members: jailSect(`"allow": {"` + f.json + `": true}`),
				want:    map[string]any{f.param: true},
			},
			translateCase{
				name:    f.json + " explicit false is passed",
				members: jailSect(`"allow": {"` + f.json + `": false}`),
				want:    map[string]any{f.param: false},
			},
			translateCase{
				name:    f.json + " null gives the default",
				members: jailSect(`"allow": {"` + f.json + `": null}`),
				want:    defaultWant(f.param, f.def),
				absent:  defaultAbsent(f.param, f.def),
			},
			translateCase{
				name:    f.json + " annotation true is passed",
				members: annotations("org.freebsd.jail."+f.param, "true"),
				want:    map[string]any{f.param: true},
			},
			translateCase{
				name:    f.json + " annotation 0 is passed",
				members: annotations("org.freebsd.jail."+f.param, "0"),
				want:    map[string]any{f.param: false},
			},
			translateCase{
				name:    f.json + " explicit false wins over the annotation",
				members: join(jailSect(`"allow": {"`+f.json+`": false}`), annotations("org.freebsd.jail."+f.param, "1")),
				want:    map[string]any{f.param: false},
			},
			translateCase{
				name:    f.json + " explicit true wins over the annotation",
				members: join(jailSect(`"allow": {"`+f.json+`": true}`), annotations("org.freebsd.jail."+f.param, "false")),
				want:    map[string]any{f.param: true},
			},
		)
	}
	runTranslateCases(t, tests)
}

func TestTranslate_annotations(t *testing.T) {
	runTranslateCases(t, []translateCase{
		{
			name:    "parentJail annotation sets the parent",
			members: annotations("org.freebsd.parentJail", "pod"),
			want:    map[string]any{"name": "pod.ctr"},
			check: func(t *testing.T, j *Jail) {
				if j.Parent != "pod" {
					t.Errorf("Parent = %q", j.Parent)
				}
			},
		},
		{
			name:    "freebsd parent wins over the parentJail annotation",
			members: join(jailSect(`"parent": "pod1"`), annotations("org.freebsd.parentJail", "pod2")),
			want:    map[string]any{"name": "pod1.ctr"},
		},
		{
			name:    "empty parentJail annotation means no parent",
			members: annotations("org.freebsd.parentJail", ""),
			want:    map[string]any{"name": "ctr"},
		},
		{
			name:    "vnet annotation new makes a vnet jail",
			members: annotations("org.freebsd.jail.vnet", "new"),
			want:    map[string]any{"vnet": "new"},
			absent:  []string{"ip4", "ip6"},
		},
		{
			name:    "freebsd vnet wins over the vnet annotation",
			members: join(jailSect(`"vnet": "inherit"`), annotations("org.freebsd.jail.vnet", "new")),
			want:    map[string]any{"ip4": "inherit", "ip6": "inherit"},
			absent:  []string{"vnet"},
		},
		{
			name:    "vnet annotation new with vnetInterfaces moves them",
			members: join(jailSect(`"vnetInterfaces": ["epair0b"]`), annotations("org.freebsd.jail.vnet", "new")),
			check: func(t *testing.T, j *Jail) {
				if !reflect.DeepEqual(j.VnetInterfaces, []string{"epair0b"}) {
					t.Errorf("VnetInterfaces = %q", j.VnetInterfaces)
				}
			},
		},
		{
			name: "sysv annotations are honoured",
			members: annotations("org.freebsd.jail.sysvmsg", "inherit", "org.freebsd.jail.sysvsem", "disable",
				"org.freebsd.jail.sysvshm", "inherit"),
			want: map[string]any{"sysvmsg": "inherit", "sysvsem": "disable", "sysvshm": "inherit"},
		},
		{
			name:    "freebsd sysv settings win over the annotations",
			members: join(jailSect(`"sysvmsg": "new", "sysvshm": "disable"`), annotations("org.freebsd.jail.sysvmsg", "inherit", "org.freebsd.jail.sysvshm", "inherit")),
			want:    map[string]any{"sysvmsg": "new", "sysvsem": "new", "sysvshm": "disable"},
		},
		{
			name:    "ip4.addr annotation is comma-separated",
			members: annotations("org.freebsd.jail.ip4.addr", "10.0.0.2,10.0.0.3, 10.0.0.4"),
			want:    map[string]any{"ip4": "new", "ip4.addr": []string{"10.0.0.2", "10.0.0.3", "10.0.0.4"}, "ip6": "disable"},
		},
		{
			name:    "ip6.addr annotation is comma-separated",
			members: annotations("org.freebsd.jail.ip6.addr", "fd00::2,fd00::3"),
			want:    map[string]any{"ip6": "new", "ip6.addr": []string{"fd00::2", "fd00::3"}, "ip4": "disable"},
		},
		{
			name:    "empty ip4.addr annotation gives no addresses",
			members: annotations("org.freebsd.jail.ip4.addr", ""),
			want:    map[string]any{"ip4": "inherit", "ip6": "inherit"},
			absent:  []string{"ip4.addr"},
		},
		{
			name:    "freebsd ip4Addr wins over the ip4.addr annotation",
			members: join(jailSect(`"ip4Addr": ["10.0.0.9"]`), annotations("org.freebsd.jail.ip4.addr", "10.0.0.2")),
			want:    map[string]any{"ip4.addr": []string{"10.0.0.9"}},
		},
		{
			name:    "freebsd ip6Addr wins over the ip6.addr annotation",
			members: join(jailSect(`"ip6Addr": ["fd00::9"]`), annotations("org.freebsd.jail.ip6.addr", "fd00::2")),
			want:    map[string]any{"ip6.addr": []string{"fd00::9"}},
		},
		{
			name:    "allow annotation values are case-insensitive",
			members: annotations("org.freebsd.jail.allow.raw_sockets", "TRUE", "org.freebsd.jail.allow.suser", "False"),
			want:    map[string]any{"allow.raw_sockets": true, "allow.suser": false},
		},
		{
			name:    "allow annotation without a freebsd field is passed on after the known flags",
			members: annotations("org.freebsd.jail.allow.nfsd", "1", "org.freebsd.jail.allow.read_msgbuf", "false"),
			want:    map[string]any{"allow.nfsd": true, "allow.read_msgbuf": false},
			check: func(t *testing.T, j *Jail) {
				n := len(j.Params)
				if j.Params[n-2].Name != "allow.nfsd" || j.Params[n-1].Name != "allow.read_msgbuf" {
					t.Errorf("last parameters are %v, want allow.nfsd, allow.read_msgbuf in name order", j.Params[n-2:])
				}
			},
		},
		{
			name:    "allow.mount annotations allow each type set to true",
			members: join(jailSect(`"enforceStatfs": 1`), annotations("org.freebsd.jail.allow.mount.tmpfs", "true", "org.freebsd.jail.allow.mount.nullfs", "1", "org.freebsd.jail.allow.mount.zfs", "0")),
			want:    map[string]any{"allow.mount": true, "allow.mount.nullfs": true, "allow.mount.tmpfs": true},
			absent:  []string{"allow.mount.zfs", "allow.mount.nozfs"},
			check:   noWarnings,
		},
		{
			name:    "allow.mount annotation alone allows no type",
			members: annotations("org.freebsd.jail.allow.mount", "true"),
			want:    map[string]any{"allow.mount": false},
		},
		{
			name:    "allow.mount annotation with enforceStatfs 2 warns",
			members: annotations("org.freebsd.jail.allow.mount.tmpfs", "true"),
			want:    map[string]any{"allow.mount.tmpfs": true},
			check: func(t *testing.T, j *Jail) {
				if len(j.Warnings) != 1 {
					t.Errorf("Warnings = %q, want one", j.Warnings)
				}
			},
		},
		{
			name: "freebsd allow.mount list wins over allow.mount annotations",
			members: join(jailSect(`"enforceStatfs": 1, "allow": {"mount": ["tmpfs"]}`),
				annotations("org.freebsd.jail.allow.mount.tmpfs", "false", "org.freebsd.jail.allow.mount.nullfs", "true")),
			want:   map[string]any{"allow.mount": true, "allow.mount.tmpfs": true},
			absent: []string{"allow.mount.nullfs"},
		},
		{
			name:    "other annotations are ignored",
			members: annotations("io.container.manager", "libpod", "org.freebsd.jail.osrelease", "14.2-RELEASE"),
			absent:  []string{"osrelease", "io.container.manager"},
		},
	})
}

func TestTranslateErrors(t *testing.T) {
	tests := []struct {
		name    string
		members string
		want    []string // every error, in order, exactly
	}{
		{
			name:    "bad IPv4 address names its index",
			members: jailSect(`"ip4Addr": ["10.0.0.2", "10.0.0.300"]`),
			want:    []string{`config.json: freebsd.jail.ip4Addr[1]: "10.0.0.300" is not an IPv4 address`},
		},
		{
			name:    "IPv6 address in ip4Addr is rejected",
			members: jailSect(`"ip4Addr": ["fd00::1"]`),
			want:    []string{`config.json: freebsd.jail.ip4Addr[0]: "fd00::1" is not an IPv4 address`},
		},
		{
			name:    "address with a prefix length is rejected",
			members: jailSect(`"ip4Addr": ["10.0.0.2/24"]`),
			want:    []string{`config.json: freebsd.jail.ip4Addr[0]: "10.0.0.2/24" is not an IPv4 address`},
		},
		{
			name:    "IPv4 address in ip6Addr is rejected",
			members: jailSect(`"ip6Addr": ["fd00::2", "10.0.0.2"]`),
			want:    []string{`config.json: freebsd.jail.ip6Addr[1]: "10.0.0.2" is not an IPv6 address`},
		},
		{
			name:    "IPv4-mapped address in ip6Addr is rejected",
			members: jailSect(`"ip6Addr": ["::ffff:10.0.0.2"]`),
			want:    []string{`config.json: freebsd.jail.ip6Addr[0]: "::ffff:10.0.0.2" is not an IPv6 address`},
		},
		{
			name:    "scoped IPv6 address is rejected",
			members: jailSect(`"ip6Addr": ["fe80::1%em0"]`),
			want:    []string{`config.json: freebsd.jail.ip6Addr[0]: "fe80::1%em0" is not an IPv6 address`},
		},
		{
			name:    "empty address is rejected",
			members: jailSect(`"ip4Addr": [""]`),
			want:    []string{`config.json: freebsd.jail.ip4Addr[0]: "" is not an IPv4 address`},
		},
		{
			name:    "bad address in the ip4.addr annotation names the annotation",
			members: annotations("org.freebsd.jail.ip4.addr", "10.0.0.2,bogus"),
			want:    []string{`config.json: annotations["org.freebsd.jail.ip4.addr"][1]: "bogus" is not an IPv4 address`},
		},
		{
			name:    "bad address in the ip6.addr annotation names the annotation",
			members: annotations("org.freebsd.jail.ip6.addr", "10.0.0.2"),
			want:    []string{`config.json: annotations["org.freebsd.jail.ip6.addr"][0]: "10.0.0.2" is not an IPv6 address`},
		},
		{
			name:    "unknown sharing value is rejected",
			members: jailSect(`"ip4": "shared"`),
			want:    []string{`config.json: freebsd.jail.ip4: "shared" is not one of "new", "inherit", "disable"`},
		},
		{
			name:    "sharing values are case-sensitive",
			members: jailSect(`"sysvmsg": "New"`),
			want:    []string{`config.json: freebsd.jail.sysvmsg: "New" is not one of "new", "inherit", "disable"`},
		},
		{
			name:    "bad sysvsem and sysvshm are rejected",
			members: jailSect(`"sysvsem": "yes", "sysvshm": "no"`),
			want: []string{
				`config.json: freebsd.jail.sysvsem: "yes" is not one of "new", "inherit", "disable"`,
				`config.json: freebsd.jail.sysvshm: "no" is not one of "new", "inherit", "disable"`,
			},
		},
		{
			name:    "host disable is rejected",
			members: jailSect(`"host": "disable"`),
			want:    []string{`config.json: freebsd.jail.host: "disable" is not one of "new", "inherit"`},
		},
		{
			name:    "vnet disable is rejected",
			members: jailSect(`"vnet": "disable"`),
			want:    []string{`config.json: freebsd.jail.vnet: "disable" is not one of "new", "inherit"`},
		},
		{
			name:    "bad vnet annotation names the annotation",
			members: annotations("org.freebsd.jail.vnet", "disable"),
			want:    []string{`config.json: annotations["org.freebsd.jail.vnet"]: "disable" is not one of "new", "inherit"`},
		},
		{
			name:    "bad sysvshm annotation names the annotation",
			members: annotations("org.freebsd.jail.sysvshm", "bogus"),
			want:    []string{`config.json: annotations["org.freebsd.jail.sysvshm"]: "bogus" is not one of "new", "inherit", "disable"`},
		},
		{
			name:    "enforceStatfs 3 is rejected",
			members: jailSect(`"enforceStatfs": 3`),
			want:    []string{"config.json: freebsd.jail.enforceStatfs: 3 is not 0, 1 or 2"},
		},
		{
			name:    "enforceStatfs -1 is rejected",
			members: jailSect(`"enforceStatfs": -1`),
			want:    []string{"config.json: freebsd.jail.enforceStatfs: -1 is not 0, 1 or 2"},
		},
		{
			name:    "host inherit with hostname is rejected",
			members: join(`"hostname": "web"`, jailSect(`"host": "inherit"`)),
			want:    []string{`config.json: freebsd.jail.host: "inherit" cannot be used with hostname "web" or domainname "": the jail would share the host's names`},
		},
		{
			name:    "host inherit with domainname is rejected",
			members: join(`"domainname": "example.org"`, jailSect(`"host": "inherit"`)),
			want:    []string{`config.json: freebsd.jail.host: "inherit" cannot be used with hostname "" or domainname "example.org": the jail would share the host's names`},
		},
		{
			name:    "ip4Addr with ip4 inherit is rejected",
			members: jailSect(`"ip4": "inherit", "ip4Addr": ["10.0.0.2"]`),
			want:    []string{`config.json: freebsd.jail.ip4: "inherit" cannot be used with ip4Addr: addresses restrict the jail, which needs ip4 "new"`},
		},
		{
			name:    "ip6Addr with ip6 disable is rejected",
			members: jailSect(`"ip6": "disable", "ip6Addr": ["fd00::2"]`),
			want:    []string{`config.json: freebsd.jail.ip6: "disable" cannot be used with ip6Addr: addresses restrict the jail, which needs ip6 "new"`},
		},
		{
			name:    "addresses with vnet new are rejected",
			members: jailSect(`"vnet": "new", "ip4Addr": ["10.0.0.2"]`),
			want:    []string{`config.json: freebsd.jail.vnet: "new" cannot be used with ip4Addr or ip6Addr: addresses of a vnet jail are configured inside it`},
		},
		{
			name:    "addresses from an annotation with vnet new are rejected",
			members: join(jailSect(`"vnet": "new"`), annotations("org.freebsd.jail.ip6.addr", "fd00::2")),
			want:    []string{`config.json: freebsd.jail.vnet: "new" cannot be used with ip4Addr or ip6Addr`},
		},
		{
			name:    "an explicit ip4 or ip6 with vnet new is rejected",
			members: jailSect(`"vnet": "new", "ip4": "inherit", "ip6": "disable"`),
			want: []string{
				`config.json: freebsd.jail.ip4: "inherit" cannot be used with vnet "new": a vnet jail has its own network stack, and the kernel refuses IP restrictions on it`,
				`config.json: freebsd.jail.ip6: "disable" cannot be used with vnet "new"`,
			},
		},
		{
			name:    "interface with vnet new is rejected",
			members: jailSect(`"vnet": "new", "interface": "em0", "ip4Addr": ["10.0.0.2"]`),
			want: []string{
				`config.json: freebsd.jail.interface: "em0" cannot be used with vnet "new": a vnet jail has its own interfaces (use vnetInterfaces)`,
				`config.json: freebsd.jail.vnet: "new" cannot be used with ip4Addr or ip6Addr`,
			},
		},
		{
			name:    "vnetInterfaces without vnet new are rejected",
			members: jailSect(`"vnetInterfaces": ["epair0b", "tap0"]`),
			want:    []string{`config.json: freebsd.jail.vnetInterfaces: ["epair0b" "tap0"] need vnet "new" to be moved into`},
		},
		{
			name:    "vnetInterfaces with vnet inherit are rejected",
			members: jailSect(`"vnet": "inherit", "vnetInterfaces": ["epair0b"]`),
			want:    []string{`config.json: freebsd.jail.vnetInterfaces: ["epair0b"] need vnet "new" to be moved into`},
		},
		{
			name:    "interface without addresses is rejected",
			members: jailSect(`"interface": "lo1"`),
			want:    []string{`config.json: freebsd.jail.interface: "lo1" is set but there is no ip4Addr or ip6Addr to add to it`},
		},
		{
			name:    "interface name longer than 15 bytes is rejected",
			members: jailSect(`"interface": "abcdefghijklmno0", "ip4Addr": ["10.0.0.2"]`),
			want:    []string{`config.json: freebsd.jail.interface: "abcdefghijklmno0" is not a network interface name (1 to 15 printable characters)`},
		},
		{
			name:    "interface name with a space is rejected",
			members: jailSect(`"interface": "em 0", "ip4Addr": ["10.0.0.2"]`),
			want:    []string{`config.json: freebsd.jail.interface: "em 0" is not a network interface name`},
		},
		{
			name:    "interface alias syntax is rejected",
			members: jailSect(`"interface": "em0:1", "ip4Addr": ["10.0.0.2"]`),
			want:    []string{`config.json: freebsd.jail.interface: "em0:1" is not a network interface name`},
		},
		{
			name:    "bad vnetInterfaces names name their index",
			members: jailSect(`"vnet": "new", "vnetInterfaces": ["epair0b", "", "a/b", "é0"]`),
			want: []string{
				`config.json: freebsd.jail.vnetInterfaces[1]: "" is not a network interface name`,
				`config.json: freebsd.jail.vnetInterfaces[2]: "a/b" is not a network interface name`,
				`config.json: freebsd.jail.vnetInterfaces[3]: "é0" is not a network interface name`,
			},
		},
		{
			name:    "bad allow.mount names name their index",
			members: jailSect(`"enforceStatfs": 1, "allow": {"mount": ["tmpfs", "TMPFS", "nullfs,ro", "", "../x", "allow.mount"]}`),
			want: []string{
				`config.json: freebsd.jail.allow.mount[1]: "TMPFS" is not a file system type name`,
				`config.json: freebsd.jail.allow.mount[2]: "nullfs,ro" is not a file system type name`,
				`config.json: freebsd.jail.allow.mount[3]: "" is not a file system type name`,
				`config.json: freebsd.jail.allow.mount[4]: "../x" is not a file system type name`,
				`config.json: freebsd.jail.allow.mount[5]: "allow.mount" is not a file system type name`,
			},
		},
		{
			name:    "bad allow annotation value is rejected",
			members: annotations("org.freebsd.jail.allow.raw_sockets", "yes"),
			want:    []string{`config.json: annotations["org.freebsd.jail.allow.raw_sockets"]: "yes" is not true, false, 1 or 0`},
		},
		{
			name:    "bad allow annotation name is rejected",
			members: annotations("org.freebsd.jail.allow.Raw-Sockets", "true"),
			want:    []string{`config.json: annotations["org.freebsd.jail.allow.Raw-Sockets"]: "Raw-Sockets" does not name a jail allow parameter`},
		},
		{
			name:    "empty allow annotation name is rejected",
			members: annotations("org.freebsd.jail.allow.", "true"),
			want:    []string{`config.json: annotations["org.freebsd.jail.allow."]: "" does not name a jail allow parameter`},
		},
		{
			name:    "all-digit parent is rejected",
			members: jailSect(`"parent": "123"`),
			want:    []string{`config.json: freebsd.jail.parent: "123" is not a jail name (component 0: container id "123" is all digits, which jail(8) reads as a jail id)`},
		},
		{
			name:    "parent with an empty component is rejected",
			members: jailSect(`"parent": "pod..x"`),
			want:    []string{`config.json: freebsd.jail.parent: "pod..x" is not a jail name (component 1: container id must not be empty)`},
		},
		{
			name:    "parent with a slash is rejected",
			members: jailSect(`"parent": "pod/x"`),
			want:    []string{`config.json: freebsd.jail.parent: "pod/x" is not a jail name (component 0: container id "pod/x" contains '/', which cannot be part of a jail name)`},
		},
		{
			name:    "bad parentJail annotation names the annotation",
			members: annotations("org.freebsd.parentJail", "my pod"),
			want:    []string{`config.json: annotations["org.freebsd.parentJail"]: "my pod" is not a jail name (component 0: container id "my pod" contains white space or a control character)`},
		},
		{
			name:    "parent that makes the jail name too long is rejected",
			members: jailSect(`"parent": "` + strings.Repeat("p", MaxNameLen-len(".ctr")+1) + `"`),
			want:    []string{`config.json: freebsd.jail.parent: "` + strings.Repeat("p", MaxNameLen-len(".ctr")+1) + `" makes the jail name 256 bytes long, more than 255`},
		},
		{
			name: "several errors are reported at once",
			members: join(`"hostname": "web"`, jailSect(`"host": "inherit", "ip4Addr": ["10.0.0.300"], "interface": "lo1",
				"sysvmsg": "maybe", "enforceStatfs": 7, "allow": {"mount": ["Bad"]}`), annotations("org.freebsd.jail.allow.mlock", "on")),
			want: []string{
				`config.json: freebsd.jail.host: "inherit" cannot be used with hostname "web"`,
				`config.json: freebsd.jail.ip4Addr[0]: "10.0.0.300" is not an IPv4 address`,
				`config.json: freebsd.jail.interface: "lo1" is set but there is no ip4Addr or ip6Addr to add to it`,
				`config.json: freebsd.jail.sysvmsg: "maybe" is not one of "new", "inherit", "disable"`,
				`config.json: freebsd.jail.enforceStatfs: 7 is not 0, 1 or 2`,
				`config.json: annotations["org.freebsd.jail.allow.mlock"]: "on" is not true, false, 1 or 0`,
				`config.json: freebsd.jail.allow.mount[0]: "Bad" is not a file system type name`,
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			j, err := Translate(parseConfig(t, tt.members), "ctr")
			if err == nil {
				t.Fatalf("Translate succeeded with %v, want errors", j.Params)
			}
			if j != nil {
				t.Errorf("Translate returned a jail along with an error")
			}
			var errs bundle.Errors
			if !errors.As(err, &errs) {
				t.Fatalf("error %v (%T) is not bundle.Errors", err, err)
			}
			if len(errs) != len(tt.want) {
				t.Errorf("%d errors, want %d:\n%v", len(errs), len(tt.want), err)
			}
			for i := 0; i < len(errs) && i < len(tt.want); i++ {
				if got := errs[i].Error(); !strings.HasPrefix(got, tt.want[i]) {
					t.Errorf("error %d = %q\nwant it to start %q", i, got, tt.want[i])
				}
			}
		})
	}
}

func TestTranslate_rejects_a_bad_id_before_anything_else(t *testing.T) {
	b := parseConfig(t, jailSect(`"enforceStatfs": 9`))
	for _, id := range []string{"", "42", "a.b", "a/b", "a b", "a\x01b", strings.Repeat("x", 256)} {
		j, err := Translate(b, id)
		if err == nil || j != nil {
			t.Errorf("Translate(%q) = %v, %v; want an error", id, j, err)
			continue
		}
		if want := ValidateID(id); err.Error() != want.Error() {
			t.Errorf("Translate(%q) error = %q, want the id error %q", id, err, want)
		}
	}
}

func TestTranslate_does_not_change_the_spec(t *testing.T) {
	b := parseConfig(t, join(`"hostname": "web"`, jailSect(`"ip4Addr": ["10.0.0.2"], "allow": {"mount": ["tmpfs"]}`),
		annotations("org.freebsd.jail.allow.nfsd", "true")))
	before, _ := json.Marshal(b.Spec)
	if _, err := Translate(b, "ctr"); err != nil {
		t.Fatal(err)
	}
	if after, _ := json.Marshal(b.Spec); string(after) != string(before) {
		t.Errorf("spec changed:\n%s\n%s", before, after)
	}
}

func TestParams_MarshalJSON(t *testing.T) {
	ps := Params{
		StringParam("name", `we"b`),
		IntParam("enforce_statfs", 1),
		BoolParam("allow.mount", false),
		SysParam("vnet", New),
		AddrParam("ip4.addr", IP4, addrs("10.0.0.2", "10.0.0.3")),
		AddrParam("ip6.addr", IP6, addrs("fd00::2")),
	}
	data, err := json.Marshal(ps)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"name":"we\"b","enforce_statfs":1,"allow.mount":false,"vnet":"new","ip4.addr":["10.0.0.2","10.0.0.3"],"ip6.addr":["fd00::2"]}`
	if string(data) != want {
		t.Errorf("MarshalJSON =\n%s\nwant\n%s", data, want)
	}
	if data, _ := json.Marshal(Params(nil)); string(data) != "{}" {
		t.Errorf("nil Params marshal to %s, want {}", data)
	}
}

func TestSharing(t *testing.T) {
	for _, s := range []Sharing{Disable, New, Inherit} {
		got, ok := ParseSharing(s.String())
		if !ok || got != s {
			t.Errorf("ParseSharing(%q) = %v, %v", s.String(), got, ok)
		}
	}
	// sys/sys/jail.h: JAIL_SYS_DISABLE 0, JAIL_SYS_NEW 1, JAIL_SYS_INHERIT 2.
	if Disable != 0 || New != 1 || Inherit != 2 {
		t.Errorf("Sharing values %d %d %d do not match sys/sys/jail.h", Disable, New, Inherit)
	}
	if got := Sharing(7).String(); got != "Sharing(7)" {
		t.Errorf("Sharing(7).String() = %q", got)
	}
	if _, ok := ParseSharing("share"); ok {
		t.Error(`ParseSharing("share") succeeded`)
	}
}

// defaultWant and defaultAbsent are what an unset allow flag passes: a
// false default explicitly, a true default not at all, the kernel's
// default being on when the parent jail has it.
func defaultWant(param string, def bool) map[string]any {
	if def {
		return nil
	}
	return map[string]any{param: false}
}

func defaultAbsent(param string, def bool) []string {
	if def {
		return []string{param}
	}
	return nil
}
