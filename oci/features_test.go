package oci

import (
	"encoding/json"
	"io"
	"slices"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"github.com/sirupsen/logrus"

	"github.com/runj-go/runj-go/bundle"
	"github.com/runj-go/runj-go/jailspec"
	"github.com/runj-go/runj-go/rootfs"
)

func TestFeatures(t *testing.T) {
	f := Features("1.2.3")
	if f.OCIVersionMin != "1.0.0" || f.OCIVersionMax != specs.Version {
		t.Errorf("versions %s..%s", f.OCIVersionMin, f.OCIVersionMax)
	}
	// Every hook the runtime runs is listed, in lifecycle order.
	want := []string{"prestart", "createRuntime", "createContainer", "startContainer", "poststart", "poststop"}
	if !slices.Equal(f.Hooks, want) {
		t.Errorf("hooks %v, want %v", f.Hooks, want)
	}
	// Every option the mount planner turns into a flag is listed, and
	// every listed option is one the planner accepts without ignoring it.
	for _, o := range f.MountOptions {
		req, ignored, err := rootfs.NewRequest("tmpfs", "/src", "/x", []string{o})
		if err != nil || len(ignored) > 0 || len(req.Opts) > 0 && o != "bind" && o != "rbind" {
			t.Errorf("listed mount option %q: request %+v, ignored %v, error %v", o, req, ignored, err)
		}
	}
	for _, o := range []string{"ro", "rw", "nosuid", "noexec", "noatime", "nosymfollow", "sync", "async", "union", "bind", "rbind", "rro"} {
		if !slices.Contains(f.MountOptions, o) {
			t.Errorf("mount option %q is applied but not listed", o)
		}
	}
	for _, o := range []string{"rprivate", "nodev", "relatime"} {
		if slices.Contains(f.MountOptions, o) {
			t.Errorf("ignored Linux option %q is listed", o)
		}
	}
	if !slices.Equal(f.PotentiallyUnsafeConfigAnnotations, jailspec.Annotations()) {
		t.Errorf("unsafe annotations %v", f.PotentiallyUnsafeConfigAnnotations)
	}
	// Every honoured annotation changes the jail.
	values := map[string]string{"org.freebsd.jail.vnet": "new", "org.freebsd.jail.ip4.addr": "10.0.0.1", "org.freebsd.jail.ip6.addr": "fd00::1"}
	for _, key := range jailspec.Annotations() {
		value, ok := values[key]
		switch {
		case ok:
		case key == jailspec.AnnotationParent:
			value = "pod"
		case key[len(key)-1] == '.':
			key, value = key+"raw_sockets", "true"
		default:
			value = "disable"
		}
		if got, base := translateWith(t, map[string]string{key: value}), translateWith(t, nil); got == base {
			t.Errorf("annotation %s=%s is listed but changes nothing: %s", key, value, got)
		}
	}
	if f.Annotations["org.freebsd.runj-go.version"] != "1.2.3" {
		t.Errorf("annotations %v", f.Annotations)
	}
	if _, err := json.Marshal(f); err != nil {
		t.Fatal(err)
	}
}

func translateWith(t *testing.T, annotations map[string]string) string {
	t.Helper()
	spec := &specs.Spec{Version: specs.Version, Root: &specs.Root{Path: "/r"}, Annotations: annotations}
	data, err := json.Marshal(spec)
	if err != nil {
		t.Fatal(err)
	}
	b, err := bundleParse(data)
	if err != nil {
		t.Fatal(err)
	}
	j, err := jailspec.Translate(b, "c")
	if err != nil {
		t.Fatal(err)
	}
	out, err := json.Marshal(j)
	if err != nil {
		t.Fatal(err)
	}
	return string(out)
}

func bundleParse(data []byte) (*bundle.Bundle, error) {
	log := logrus.New()
	log.SetOutput(io.Discard)
	return bundle.Parse(data, "/b", log)
}
