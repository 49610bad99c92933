package oci

import (
	"bytes"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sirupsen/logrus"

	"github.com/runj-go/runj-go/bundle"
	"github.com/runj-go/runj-go/jailspec"
)

// FuzzLoadTranslate feeds arbitrary config.json data and container ids
// through everything `runj-go plan` does: bundle.Parse, jailspec.Translate,
// NewPlan and every output format. None of it may panic, and what succeeds
// must be consistent.
func FuzzLoadTranslate(f *testing.F) {
	configs, err := filepath.Glob(filepath.Join(goldenBundles, "*", bundle.ConfigFile))
	if err != nil || len(configs) == 0 {
		f.Fatalf("no seed configs under %s: %v", goldenBundles, err)
	}
	for _, name := range configs {
		data, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data, filepath.Base(filepath.Dir(name)))
	}
	f.Add([]byte(`{"ociVersion": "1.3.0", "root": {"path": "rootfs"}}`), "ctr")
	f.Add([]byte(`{"ociVersion": "1.3.0", "root": {"path": "/"}, "freebsd": {"jail": {"parent": "a.b", "vnet": "new", "vnetInterfaces": ["x"], "allow": {"mount": ["tmpfs"]}}}}`), "c")
	f.Add([]byte(`{"ociVersion": "1.0.0", "root": {"path": "r"}, "annotations": {"org.freebsd.jail.allow.mount.zfs": "1", "org.freebsd.jail.ip4.addr": "10.0.0.1,", "org.freebsd.parentJail": "p"}}`), "x")
	f.Add([]byte(`{}`), "")
	f.Add([]byte(`null`), "1")

	log := logrus.New()
	log.SetOutput(io.Discard)

	f.Fuzz(func(t *testing.T, data []byte, id string) {
		b, err := bundle.Parse(data, "/bundle", log)
		if err != nil {
			return
		}
		j, terr := jailspec.Translate(b, id)
		p, perr := NewPlan(b, id, "/run/runj-go")
		// Mounts are resolved in the bundle's root file system, which
		// does not exist here: only they may fail where Translate did not.
		hasFS := len(b.Spec.Mounts) > 0 || b.Spec.Root.Readonly
		if (terr == nil) != (perr == nil) && !(terr == nil && hasFS) {
			t.Fatalf("Translate error %v but NewPlan error %v", terr, perr)
		}
		if perr != nil {
			return
		}
		if err := jailspec.ValidateID(id); err != nil {
			t.Fatalf("planned a jail for invalid id %q: %v", id, err)
		}
		if p.Jail.Name != j.Name || (j.Name != id && !strings.HasSuffix(j.Name, "."+id)) {
			t.Fatalf("jail name %q (plan %q) for id %q", j.Name, p.Jail.Name, id)
		}
		if len(j.Name) > jailspec.MaxNameLen {
			t.Fatalf("jail name %q is longer than %d bytes", j.Name, jailspec.MaxNameLen)
		}
		if first, _ := p.Jail.Params.Get("name"); first.Str != j.Name {
			t.Fatalf("name parameter %q, want %q", first.Str, j.Name)
		}
		var buf bytes.Buffer
		if err := p.WriteJSON(&buf); err != nil {
			t.Fatalf("WriteJSON: %v", err)
		}
		if !json.Valid(buf.Bytes()) {
			t.Fatalf("WriteJSON wrote invalid JSON: %s", buf.Bytes())
		}
		if err := p.WriteJailConf(io.Discard, id); err != nil {
			t.Fatalf("WriteJailConf: %v", err)
		}
		if err := p.WriteText(io.Discard); err != nil {
			t.Fatalf("WriteText: %v", err)
		}
	})
}
