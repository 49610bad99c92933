package rootfs

import (
	"reflect"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

func TestPlan(t *testing.T) {
	spec := &specs.Spec{Mounts: []specs.Mount{
		{Destination: "/dev", Type: "devfs", Source: "devfs"},
		{Destination: "/jail/dev", Type: "devfs", Source: "devfs", Options: []string{"ruleset=10"}},
		{Destination: "/dev/fd", Type: "fdescfs", Source: "fdesc"},
		{Destination: "/../../etc", Type: "tmpfs", Source: "tmpfs", Options: []string{"size=1m"}},
	}}
	got := Plan(spec, "/b/rootfs")
	want := []Mount{
		{Type: "devfs", Source: "devfs", Destination: "/b/rootfs/dev", Options: []string{"ruleset=4"}},
		{Type: "devfs", Source: "devfs", Destination: "/b/rootfs/jail/dev", Options: []string{"ruleset=10"}},
		{Type: "fdescfs", Source: "fdesc", Destination: "/b/rootfs/dev/fd", Options: []string{}},
		{Type: "tmpfs", Source: "tmpfs", Destination: "/b/rootfs/etc", Options: []string{"size=1m"}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Plan =\n%+v\nwant\n%+v", got, want)
	}
	if spec.Mounts[0].Options != nil {
		t.Errorf("Plan changed the spec's options: %v", spec.Mounts[0].Options)
	}
}
