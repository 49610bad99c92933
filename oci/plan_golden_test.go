package oci

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/sirupsen/logrus"
	"github.com/sirupsen/logrus/hooks/test"

	"github.com/runj-go/runj-go/bundle"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/golden")

const (
	goldenBundles = "testdata/bundles"
	goldenDir     = "testdata/golden"
	// bundlePlaceholder stands for the absolute bundle directory, which
	// differs per checkout, in the golden files.
	bundlePlaceholder = "/BUNDLE"
)

// safePath matches directories that every output format writes unescaped
// (JSON, jail.conf quoting, fstab escaping), so that replacing them with
// the placeholder is exact.
var safePath = regexp.MustCompile(`^[A-Za-z0-9/._+@,:=~-]+$`)

// testBundles lists the bundles under testdata/bundles.
func testBundles(t testing.TB) []string {
	t.Helper()
	entries, err := os.ReadDir(goldenBundles)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		if e.IsDir() {
			names = append(names, e.Name())
		}
	}
	return names
}

// loadTestBundle loads testdata/bundles/name as `runj-go plan` does and
// plans it with the bundle's name as container id.
func loadTestBundle(t *testing.T, name string) (*Plan, string, *test.Hook) {
	t.Helper()
	dir, err := filepath.Abs(filepath.Join(goldenBundles, name))
	if err != nil {
		t.Fatal(err)
	}
	log, hook := test.NewNullLogger()
	log.SetLevel(logrus.DebugLevel)
	b, err := bundle.Load(dir, log)
	if err != nil {
		t.Fatalf("bundle.Load: %v", err)
	}
	p, err := NewPlan(b, name, "/run/runj-go")
	if err != nil {
		t.Fatalf("NewPlan: %v", err)
	}
	return p, dir, hook
}

func TestPlanGolden_covers_the_example_bundles(t *testing.T) {
	got := testBundles(t)
	for _, want := range []string{"containerd", "hostname", "interface", "parent", "podman", "vnet"} {
		if !slices.Contains(got, want) {
			t.Errorf("testdata bundle %q is missing (have %q)", want, got)
		}
	}
}

func TestPlanGolden(t *testing.T) {
	formats := []struct {
		ext   string
		write func(p *Plan, w *bytes.Buffer, id string) error
	}{
		{"json", func(p *Plan, w *bytes.Buffer, _ string) error { return p.WriteJSON(w) }},
		{"jail.conf", func(p *Plan, w *bytes.Buffer, id string) error { return p.WriteJailConf(w, id) }},
		{"txt", func(p *Plan, w *bytes.Buffer, _ string) error { return p.WriteText(w) }},
	}
	for _, name := range testBundles(t) {
		t.Run(name, func(t *testing.T) {
			p, dir, _ := loadTestBundle(t, name)
			if !safePath.MatchString(dir) {
				t.Skipf("the checkout path %q has characters the outputs escape; the golden files cannot name it", dir)
			}
			for _, f := range formats {
				var buf bytes.Buffer
				if err := f.write(p, &buf, name); err != nil {
					t.Fatalf("write %s: %v", f.ext, err)
				}
				got := strings.ReplaceAll(buf.String(), dir, bundlePlaceholder)
				golden := filepath.Join(goldenDir, name+"."+f.ext)
				if *update {
					if err := os.MkdirAll(goldenDir, 0o755); err != nil {
						t.Fatal(err)
					}
					if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
						t.Fatal(err)
					}
					continue
				}
				want, err := os.ReadFile(golden)
				if err != nil {
					t.Fatalf("%v (run go test ./oci -update to create it)", err)
				}
				if got != string(want) {
					t.Errorf("%s differs from %s (run go test ./oci -update and review the diff):\n--- got\n%s\n--- want\n%s", f.ext, golden, got, want)
				}
			}
		})
	}
}

func TestPlanJSON_has_the_documented_keys(t *testing.T) {
	for _, name := range testBundles(t) {
		t.Run(name, func(t *testing.T) {
			p, _, _ := loadTestBundle(t, name)
			var buf bytes.Buffer
			if err := p.WriteJSON(&buf); err != nil {
				t.Fatal(err)
			}
			var doc map[string]json.RawMessage
			if err := json.Unmarshal(buf.Bytes(), &doc); err != nil {
				t.Fatalf("plan JSON does not decode: %v", err)
			}
			for _, key := range []string{"jail", "mounts", "network", "process"} {
				if _, ok := doc[key]; !ok {
					t.Errorf("plan JSON has no %q key", key)
				}
			}
			var jail map[string]json.RawMessage
			if err := json.Unmarshal(doc["jail"], &jail); err != nil {
				t.Fatalf("jail is not an object: %v", err)
			}
			for _, key := range []string{"name", "parent", "params"} {
				if _, ok := jail[key]; !ok {
					t.Errorf("plan JSON has no jail.%s key", key)
				}
			}
			var params map[string]any
			if err := json.Unmarshal(jail["params"], &params); err != nil || params["name"] != p.Jail.Name {
				t.Errorf("jail.params = %s, want an object whose name is %q (%v)", jail["params"], p.Jail.Name, err)
			}
			var mounts, network []any
			if err := json.Unmarshal(doc["mounts"], &mounts); err != nil || mounts == nil {
				t.Errorf("mounts = %s, want an array (%v)", doc["mounts"], err)
			}
			if err := json.Unmarshal(doc["network"], &network); err != nil || network == nil {
				t.Errorf("network = %s, want an array (%v)", doc["network"], err)
			}
		})
	}
}

func TestPlan_of_the_containerd_bundle_ignores_Linux_settings_at_debug(t *testing.T) {
	p, _, hook := loadTestBundle(t, "containerd")
	var ignored []string
	for _, e := range hook.AllEntries() {
		if e.Level != logrus.DebugLevel {
			t.Errorf("logged %q at %s, want debug", e.Message, e.Level)
		}
		for _, v := range e.Data {
			ignored = append(ignored, v.(string))
		}
	}
	slices.Sort(ignored)
	if want := []string{"linux", "process.apparmorProfile", "process.capabilities", "process.oomScoreAdj"}; !slices.Equal(ignored, want) {
		t.Errorf("ignored settings logged: %q, want %q", ignored, want)
	}
	if p.Process == nil || !p.Process.NoNewPrivileges || p.Process.User.UID != 1000 {
		t.Errorf("process plan = %+v, want uid 1000 with noNewPrivileges", p.Process)
	}
}

func TestPlan_warnings_of_the_example_bundles(t *testing.T) {
	for _, name := range testBundles(t) {
		p, _, _ := loadTestBundle(t, name)
		if w := p.Warnings(); len(w) != 0 {
			t.Errorf("%s: warnings %q, want none: the examples show settings that work", name, w)
		}
	}
}
