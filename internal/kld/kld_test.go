package kld

import "testing"

func TestParamModule(t *testing.T) {
	for name, want := range map[string]string{
		"allow.mount.tmpfs":   "tmpfs",
		"allow.mount.fusefs":  "fusefs",
		"allow.mount.nullfs":  "nullfs",
		"sysvshm":             "sysvshm",
		"sysvmsg":             "sysvmsg",
		"linux":               "linux",
		"linux.osrelease":     "linux",
		"allow.mount":         "",
		"allow.raw_sockets":   "",
		"linuxfoo":            "",
		"vnet":                "",
		"host.hostname":       "",
		"allow.mount.":        "",
		"security.jail.param": "",
	} {
		if got := ParamModule(name); got != want {
			t.Errorf("ParamModule(%q) = %q, want %q", name, got, want)
		}
	}
}

func TestClonerModule(t *testing.T) {
	for name, want := range map[string]string{
		"bridge0":  "if_bridge",
		"bridge12": "if_bridge",
		"epair":    "if_epair",
		"vlan7":    "if_vlan",
		"tap":      "if_tap",
	} {
		if got := ClonerModule(name); got != want {
			t.Errorf("ClonerModule(%q) = %q, want %q", name, got, want)
		}
	}
}
