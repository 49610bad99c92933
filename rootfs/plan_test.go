package rootfs

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// planTree makes a bundle with a root file system holding /etc/hosts and
// a symlink /var/run -> ../run, plus a bind source.
func planTree(t *testing.T) Layout {
	t.Helper()
	b := t.TempDir()
	root := filepath.Join(b, "rootfs")
	for _, d := range []string{"etc", "run", "var", "src"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(root, "etc/hosts"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("../run", filepath.Join(root, "var/run")); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(b, "data"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(b, "hosts"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	return Layout{Bundle: b, Root: root}
}

func TestPlan(t *testing.T) {
	l := planTree(t)
	spec := &specs.Spec{Mounts: []specs.Mount{
		{Destination: "/dev", Type: "devfs", Source: "devfs"},
		{Destination: "/jail/dev", Type: "devfs", Source: "devfs", Options: []string{"ruleset=10"}},
		{Destination: "/var/run", Type: "tmpfs", Source: "tmpfs", Options: []string{"size=1m", "nosuid"}},
		{Destination: "/data", Type: "bind", Source: "data", Options: []string{"ro"}},
		{Destination: "/etc/hosts", Source: "hosts", Options: []string{"rbind", "rprivate"}},
	}}
	got, err := Plan(spec, l)
	if err != nil {
		t.Fatal(err)
	}
	type summary struct {
		Type, Source, Destination string
		Flags                     int
		Opts                      []string
		File                      bool
		Ignored                   []string
	}
	var sums []summary
	for _, m := range got {
		s := summary{Type: m.Type, Source: m.Source, Destination: strings.TrimPrefix(m.Destination, l.Bundle), Flags: m.Request.Flags, File: m.File, Ignored: m.Ignored}
		for _, o := range m.Request.Opts {
			s.Opts = append(s.Opts, o.String())
		}
		sums = append(sums, s)
	}
	want := []summary{
		{Type: "devfs", Source: "devfs", Destination: "/rootfs/dev", Opts: []string{"ruleset=4"}},
		{Type: "devfs", Source: "devfs", Destination: "/rootfs/jail/dev", Opts: []string{"ruleset=10"}},
		{Type: "tmpfs", Source: "tmpfs", Destination: "/rootfs/run", Flags: MntNosuid, Opts: []string{"size=1m"}},
		{Type: "nullfs", Source: filepath.Join(l.Bundle, "data"), Destination: "/rootfs/data", Flags: MntRdonly},
		{Type: "nullfs", Source: filepath.Join(l.Bundle, "hosts"), Destination: "/rootfs/etc/hosts", File: true, Ignored: []string{"rprivate"}},
	}
	if !reflect.DeepEqual(sums, want) {
		t.Errorf("Plan =\n%+v\nwant\n%+v", sums, want)
	}
	if spec.Mounts[0].Options != nil {
		t.Errorf("Plan changed the spec's options: %v", spec.Mounts[0].Options)
	}
}

func TestPlan_read_only_root_moves_mount_points(t *testing.T) {
	l := planTree(t)
	l.MountRoot = filepath.Join(l.Bundle, "ro")
	got, err := Plan(&specs.Spec{Mounts: []specs.Mount{{Destination: "/var/run", Type: "tmpfs", Source: "tmpfs"}}}, l)
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(l.MountRoot, "run"); got[0].Destination != want {
		t.Errorf("destination %s, want %s", got[0].Destination, want)
	}
	ro, err := ReadOnlyRoot(l)
	if err != nil {
		t.Fatal(err)
	}
	if ro.Type != "nullfs" || ro.Request.Source != l.Root || ro.Request.Target != l.MountRoot || ro.Request.Flags != MntRdonly {
		t.Errorf("ReadOnlyRoot = %+v", ro.Request)
	}
}

func TestPlan_errors_name_the_mount(t *testing.T) {
	l := planTree(t)
	if err := os.Symlink("/etc", filepath.Join(l.Root, "abs")); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name string
		m    specs.Mount
		want string
	}{
		{"dotdot escape", specs.Mount{Destination: "/../../etc", Type: "tmpfs", Source: "tmpfs"}, `config.json: mounts[0] (tmpfs on /../../etc): `},
		{"absolute symlink", specs.Mount{Destination: "/abs/x", Type: "tmpfs", Source: "tmpfs"}, `config.json: mounts[0] (tmpfs on /abs/x): `},
		{"reserved option", specs.Mount{Destination: "/x", Type: "tmpfs", Source: "tmpfs", Options: []string{"fspath=/"}}, `config.json: mounts[0] (tmpfs on /x): `},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Plan(&specs.Spec{Mounts: []specs.Mount{tt.m}}, l)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Plan error = %v, want it to contain %q", err, tt.want)
			}
		})
	}
}
