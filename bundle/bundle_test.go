package bundle

import (
	"bytes"
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sirupsen/logrus"
	"github.com/sirupsen/logrus/hooks/test"
)

// minimalConfig is the smallest config.json that validates.
const minimalConfig = `{"ociVersion": "1.3.0", "root": {"path": "rootfs"}}`

func nullLog() logrus.FieldLogger {
	l, _ := test.NewNullLogger()
	return l
}

// writeBundle creates a bundle directory holding config and, when withRoot,
// an empty rootfs directory.
func writeBundle(t *testing.T, config string, withRoot bool) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, ConfigFile), []byte(config), 0o644); err != nil {
		t.Fatal(err)
	}
	if withRoot {
		if err := os.Mkdir(filepath.Join(dir, "rootfs"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// padConfig extends dir/config.json to size bytes with NULs (a sparse
// file: quick to make).
func padConfig(t *testing.T, dir string, size int64) {
	t.Helper()
	if err := os.Truncate(filepath.Join(dir, ConfigFile), size); err != nil {
		t.Fatal(err)
	}
}

func TestLoad(t *testing.T) {
	elsewhere := t.TempDir()
	tests := []struct {
		name     string
		rootPath string
		wantRoot func(dir string) string
	}{
		{
			name:     "relative root.path resolves against the bundle directory",
			rootPath: "rootfs",
			wantRoot: func(dir string) string { return filepath.Join(dir, "rootfs") },
		},
		{
			name:     "relative root.path is cleaned",
			rootPath: "./rootfs/../rootfs/",
			wantRoot: func(dir string) string { return filepath.Join(dir, "rootfs") },
		},
		{
			name:     "absolute root.path is used as it is",
			rootPath: elsewhere,
			wantRoot: func(string) string { return elsewhere },
		},
		{
			name:     "absolute root.path is cleaned",
			rootPath: elsewhere + "/./",
			wantRoot: func(string) string { return elsewhere },
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, _ := json.Marshal(map[string]any{"ociVersion": "1.3.0", "root": map[string]string{"path": tt.rootPath}})
			dir := writeBundle(t, string(cfg), true)
			b, err := Load(dir, nullLog())
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			if b.Path != dir {
				t.Errorf("Path = %q, want %q", b.Path, dir)
			}
			if want := tt.wantRoot(dir); b.Root != want {
				t.Errorf("Root = %q, want %q", b.Root, want)
			}
			if b.Spec.Root.Path != tt.rootPath {
				t.Errorf("Spec.Root.Path = %q, want it unchanged: %q", b.Spec.Root.Path, tt.rootPath)
			}
		})
	}
}

func TestLoad_relative_bundle_directory_becomes_absolute(t *testing.T) {
	dir := writeBundle(t, minimalConfig, true)
	t.Chdir(filepath.Dir(dir))
	b, err := Load(filepath.Base(dir), nullLog())
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if b.Path != dir {
		t.Errorf("Path = %q, want %q", b.Path, dir)
	}
	if want := filepath.Join(dir, "rootfs"); b.Root != want {
		t.Errorf("Root = %q, want %q", b.Root, want)
	}
}

func TestLoad_config_of_exactly_the_size_limit_is_parsed(t *testing.T) {
	// Trailing garbage makes Parse fail fast; that it gets to say so shows
	// the size check let the file through.
	dir := writeBundle(t, minimalConfig, true)
	padConfig(t, dir, maxConfigSize)
	_, err := Load(dir, nullLog())
	if want := "config.json: unexpected data after the top-level object"; err == nil || err.Error() != want {
		t.Fatalf("Load of a %d-byte config.json: error %v, want %q", maxConfigSize, err, want)
	}
}

func TestLoadErrors(t *testing.T) {
	tests := []struct {
		name  string
		setup func(t *testing.T) string // returns the bundle directory
		want  []string                  // substrings of the error
		is    error                     // errors.Is target, if any
	}{
		{
			name:  "missing bundle directory is reported with its path",
			setup: func(t *testing.T) string { return filepath.Join(t.TempDir(), "nope") },
			want:  []string{"bundle /", "/nope: open /", "config.json: no such file or directory"},
			is:    fs.ErrNotExist,
		},
		{
			name:  "bundle without config.json is reported",
			setup: func(t *testing.T) string { return t.TempDir() },
			want:  []string{"config.json: no such file or directory"},
			is:    fs.ErrNotExist,
		},
		{
			name: "config.json that is a directory is reported",
			setup: func(t *testing.T) string {
				dir := t.TempDir()
				if err := os.Mkdir(filepath.Join(dir, ConfigFile), 0o755); err != nil {
					t.Fatal(err)
				}
				return dir
			},
			want: []string{"read config.json: ", "is a directory"},
		},
		{
			name: "config.json larger than the limit is rejected",
			setup: func(t *testing.T) string {
				dir := writeBundle(t, minimalConfig, true)
				padConfig(t, dir, maxConfigSize+1)
				return dir
			},
			want: []string{"config.json is larger than 16777216 bytes"},
		},
		{
			name:  "missing root directory is rejected",
			setup: func(t *testing.T) string { return writeBundle(t, minimalConfig, false) },
			want:  []string{`config.json: root.path: "rootfs": no such file or directory`},
		},
		{
			name: "missing absolute root directory is rejected",
			setup: func(t *testing.T) string {
				return writeBundle(t, `{"ociVersion": "1.3.0", "root": {"path": "/nonexistent/runj-go/rootfs"}}`, false)
			},
			want: []string{`config.json: root.path: "/nonexistent/runj-go/rootfs": no such file or directory`},
		},
		{
			name: "root that is not a directory is rejected",
			setup: func(t *testing.T) string {
				dir := writeBundle(t, minimalConfig, false)
				if err := os.WriteFile(filepath.Join(dir, "rootfs"), nil, 0o644); err != nil {
					t.Fatal(err)
				}
				return dir
			},
			want: []string{`config.json: root.path: "rootfs" is not a directory`},
		},
		{
			name: "invalid config.json is rejected before the root is looked at",
			setup: func(t *testing.T) string {
				return writeBundle(t, `{"ociVersion": "2.0.0", "root": {"path": "rootfs"}}`, false)
			},
			want: []string{`config.json: ociVersion: "2.0.0" is not supported`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := Load(tt.setup(t), nullLog())
			if err == nil {
				t.Fatal("Load succeeded, want an error")
			}
			if b != nil {
				t.Errorf("Load returned a bundle along with error %v", err)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
			if tt.is != nil && !errors.Is(err, tt.is) {
				t.Errorf("error %v is not %v", err, tt.is)
			}
		})
	}
}

func TestParse(t *testing.T) {
	tests := []struct {
		name   string
		config string
		want   string // the whole error; "" for success
	}{
		{name: "minimal config is accepted", config: minimalConfig},
		{name: "trailing white space is accepted", config: minimalConfig + "\n\t \n"},
		{
			name:   "trailing garbage after the object is rejected",
			config: minimalConfig + " x",
			want:   "config.json: unexpected data after the top-level object",
		},
		{
			name:   "a second object after the first is rejected",
			config: minimalConfig + minimalConfig,
			want:   "config.json: unexpected data after the top-level object",
		},
		{
			name:   "a stray closing brace is rejected",
			config: minimalConfig + "}",
			want:   "config.json: unexpected data after the top-level object",
		},
		{
			name:   "a boolean given as a string names the field",
			config: `{"ociVersion": "1.3.0", "root": {"path": "rootfs"}, "process": {"terminal": "yes", "args": ["sh"], "cwd": "/"}}`,
			want:   "config.json: process.terminal: cannot use JSON string as bool",
		},
		{
			name:   "a negative uid names the field",
			config: `{"ociVersion": "1.3.0", "root": {"path": "rootfs"}, "process": {"user": {"uid": -1}, "args": ["sh"], "cwd": "/"}}`,
			want:   "config.json: process.user.uid: cannot use JSON number -1 as uint32",
		},
		{
			name:   "enforceStatfs given as a string names the field",
			config: `{"ociVersion": "1.3.0", "root": {"path": "rootfs"}, "freebsd": {"jail": {"enforceStatfs": "2"}}}`,
			want:   "config.json: freebsd.jail.enforceStatfs: cannot use JSON string as int",
		},
		{
			name:   "an allow flag given as a string names the field",
			config: `{"ociVersion": "1.3.0", "root": {"path": "rootfs"}, "freebsd": {"jail": {"allow": {"suser": "no"}}}}`,
			want:   "config.json: freebsd.jail.allow.suser: cannot use JSON string as bool",
		},
		{
			name:   "ociVersion given as a number names the field",
			config: `{"ociVersion": 1, "root": {"path": "rootfs"}}`,
			want:   "config.json: ociVersion: cannot use JSON number as string",
		},
		{
			name:   "a top-level array is rejected",
			config: `[]`,
			want:   "config.json: json: cannot unmarshal array into Go value of type specs.Spec",
		},
		{
			name:   "malformed JSON is rejected",
			config: `{"ociVersion": "1.3.0",}`,
			want:   "config.json: invalid character '}' looking for beginning of object key string",
		},
		{
			name:   "truncated JSON is rejected",
			config: `{"ociVersion": "1.3.0"`,
			want:   "config.json: unexpected EOF",
		},
		{
			name:   "validation errors are returned",
			config: `{"ociVersion": "1.3.0"}`,
			want:   "config.json: root.path: is required",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := Parse([]byte(tt.config), "/bundle", nullLog())
			if tt.want == "" {
				if err != nil {
					t.Fatalf("Parse: %v", err)
				}
				if b.Path != "/bundle" || b.Root != "/bundle/rootfs" {
					t.Errorf("Path, Root = %q, %q; want /bundle, /bundle/rootfs", b.Path, b.Root)
				}
				return
			}
			if err == nil {
				t.Fatalf("Parse succeeded, want %q", tt.want)
			}
			if err.Error() != tt.want {
				t.Errorf("error = %q\nwant    %q", err, tt.want)
			}
			if b != nil {
				t.Errorf("Parse returned a bundle along with an error")
			}
		})
	}
}

func TestParse_type_error_is_a_FieldError(t *testing.T) {
	_, err := Parse([]byte(`{"ociVersion": "1.3.0", "root": {"path": 7}}`), "/bundle", nullLog())
	var fe *FieldError
	if !errors.As(err, &fe) {
		t.Fatalf("error %v (%T) is not a *FieldError", err, err)
	}
	if fe.Path != "root.path" {
		t.Errorf("Path = %q, want root.path", fe.Path)
	}
}

func TestParseAllowSet(t *testing.T) {
	tests := []struct {
		name    string
		freebsd string // the freebsd member, "" for none
		want    map[string]bool
	}{
		{name: "no freebsd section sets nothing", want: map[string]bool{}},
		{name: "freebsd section without jail sets nothing", freebsd: `{"devices": []}`, want: map[string]bool{}},
		{name: "jail without allow sets nothing", freebsd: `{"jail": {"host": "new"}}`, want: map[string]bool{}},
		{name: "empty allow sets nothing", freebsd: `{"jail": {"allow": {}}}`, want: map[string]bool{}},
		{
			name:    "explicit true is captured",
			freebsd: `{"jail": {"allow": {"rawSockets": true}}}`,
			want:    map[string]bool{"rawSockets": true},
		},
		{
			name:    "explicit false is captured",
			freebsd: `{"jail": {"allow": {"suser": false, "reservedPorts": false, "chflags": false}}}`,
			want:    map[string]bool{"suser": false, "reservedPorts": false, "chflags": false},
		},
		{
			name: "every allow flag is captured",
			freebsd: `{"jail": {"allow": {"setHostname": true, "rawSockets": false, "chflags": true, "quotas": false,
				"socketAf": true, "mlock": false, "reservedPorts": true, "suser": false}}}`,
			want: map[string]bool{"setHostname": true, "rawSockets": false, "chflags": true, "quotas": false,
				"socketAf": true, "mlock": false, "reservedPorts": true, "suser": false},
		},
		{
			name:    "null counts as absent",
			freebsd: `{"jail": {"allow": {"suser": null, "mlock": true}}}`,
			want:    map[string]bool{"mlock": true},
		},
		{
			name:    "the mount list is not a boolean",
			freebsd: `{"jail": {"allow": {"mount": ["tmpfs"]}}}`,
			want:    map[string]bool{},
		},
		{
			name:    "keys match case-insensitively like the spec decoder",
			freebsd: `{"jail": {"allow": {"SetHostname": true, "SUSER": false}}}`,
			want:    map[string]bool{"setHostname": true, "suser": false},
		},
		{
			name:    "the last of repeated keys counts like in the spec",
			freebsd: `{"jail": {"allow": {"chflags": true, "chflags": false}}}`,
			want:    map[string]bool{"chflags": false},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := minimalConfig
			if tt.freebsd != "" {
				cfg = `{"ociVersion": "1.3.0", "root": {"path": "rootfs"}, "freebsd": ` + tt.freebsd + `}`
			}
			b, err := Parse([]byte(cfg), "/bundle", nullLog())
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if b.AllowSet == nil {
				t.Fatal("AllowSet is nil, want an empty map at least")
			}
			if len(b.AllowSet) != len(tt.want) {
				t.Errorf("AllowSet = %v, want %v", b.AllowSet, tt.want)
			}
			for k, v := range tt.want {
				if got, ok := b.AllowSet[k]; !ok || got != v {
					t.Errorf("AllowSet[%q] = %v, %v; want %v, true", k, got, ok, v)
				}
			}
			// Whatever AllowSet records must agree with the decoded spec.
			if len(tt.want) > 0 {
				a := b.Spec.FreeBSD.Jail.Allow
				spec := map[string]bool{"setHostname": a.SetHostname, "rawSockets": a.RawSockets, "chflags": a.Chflags,
					"quotas": a.Quotas, "socketAf": a.SocketAf, "mlock": a.Mlock, "reservedPorts": a.ReservedPorts, "suser": a.Suser}
				for k, v := range b.AllowSet {
					if spec[k] != v {
						t.Errorf("AllowSet[%q] = %v but the spec has %v", k, v, spec[k])
					}
				}
			}
		})
	}
}

// containerdConfig is the shape of a spec that containerd generates: a
// linux section and Linux-only process settings next to what FreeBSD uses.
const containerdConfig = `{
	"ociVersion": "1.1.0",
	"process": {
		"user": {"uid": 0, "gid": 0},
		"args": ["/bin/sh"],
		"env": ["PATH=/bin:/usr/bin"],
		"cwd": "/",
		"capabilities": {"bounding": ["CAP_CHOWN"], "effective": ["CAP_CHOWN"], "permitted": ["CAP_CHOWN"]},
		"apparmorProfile": "cri-containerd.apparmor.d",
		"selinuxLabel": "system_u:system_r:container_t:s0",
		"oomScoreAdj": -998,
		"ioPriority": {"class": "IOPRIO_CLASS_BE", "priority": 4},
		"scheduler": {"policy": "SCHED_OTHER"},
		"execCPUAffinity": {"initial": "0"},
		"noNewPrivileges": true
	},
	"root": {"path": "rootfs"},
	"mounts": [{"destination": "/dev", "type": "devfs", "source": "devfs", "options": ["ruleset=4"]}],
	"linux": {
		"namespaces": [{"type": "pid"}, {"type": "ipc"}, {"type": "uts"}, {"type": "mount"}, {"type": "network"}],
		"maskedPaths": ["/proc/kcore"],
		"readonlyPaths": ["/proc/sys"],
		"resources": {"devices": [{"allow": false, "access": "rwm"}]},
		"cgroupsPath": "/default/ctr"
	}
}`

func TestParse_containerd_spec_loads_and_logs_what_it_ignores_at_debug(t *testing.T) {
	log, hook := test.NewNullLogger()
	log.SetLevel(logrus.DebugLevel)
	b, err := Parse([]byte(containerdConfig), "/bundle", log)
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	if b.Spec.Linux == nil {
		t.Error("the linux section was dropped from the spec")
	}
	want := map[string]bool{
		"section=linux":                 false,
		"field=process.capabilities":    false,
		"field=process.apparmorProfile": false,
		"field=process.selinuxLabel":    false,
		"field=process.oomScoreAdj":     false,
		"field=process.ioPriority":      false,
		"field=process.scheduler":       false,
		"field=process.execCPUAffinity": false,
	}
	for _, e := range hook.AllEntries() {
		if e.Level != logrus.DebugLevel {
			t.Errorf("logged %q at %s, want debug", e.Message, e.Level)
		}
		for k, v := range e.Data {
			key := k + "=" + v.(string)
			if _, ok := want[key]; !ok {
				t.Errorf("unexpected log entry %q with %s", e.Message, key)
			}
			want[key] = true
		}
	}
	for key, seen := range want {
		if !seen {
			t.Errorf("nothing logged for %s", key)
		}
	}
}

func TestParse_other_platform_sections_are_logged_at_debug(t *testing.T) {
	for _, section := range []string{"linux", "windows", "solaris", "vm", "zos"} {
		t.Run(section+"_is_ignored", func(t *testing.T) {
			log, hook := test.NewNullLogger()
			log.SetLevel(logrus.DebugLevel)
			body := `{}`
			if section == "vm" {
				body = `{"hypervisor": {"path": "/bin/vm"}, "kernel": {"path": "/boot/kernel"}}`
			}
			cfg := `{"ociVersion": "1.3.0", "root": {"path": "rootfs"}, "` + section + `": ` + body + `}`
			if _, err := Parse([]byte(cfg), "/bundle", log); err != nil {
				t.Fatalf("Parse: %v", err)
			}
			e := hook.LastEntry()
			if len(hook.AllEntries()) != 1 || e.Level != logrus.DebugLevel || e.Data["section"] != section {
				t.Errorf("log entries = %v, want one debug entry with section=%s", hook.AllEntries(), section)
			}
		})
	}
}

func TestParse_FreeBSD_spec_logs_nothing(t *testing.T) {
	log, hook := test.NewNullLogger()
	log.SetLevel(logrus.DebugLevel)
	if _, err := Parse([]byte(minimalConfig), "/bundle", log); err != nil {
		t.Fatalf("Parse: %v", err)
	}
	if n := len(hook.AllEntries()); n != 0 {
		t.Errorf("%d log entries, want none: %v", n, hook.AllEntries())
	}
}

func TestDefaultSpec_validates(t *testing.T) {
	if err := Validate(DefaultSpec(), nullLog()); err != nil {
		t.Fatalf("Validate(DefaultSpec()): %v", err)
	}
}

func TestDefaultSpec_is_a_fresh_value_each_call(t *testing.T) {
	a := DefaultSpec()
	a.Process.Args[0] = "/bin/csh"
	a.Mounts[0].Options[0] = "ruleset=5"
	if b := DefaultSpec(); b.Process.Args[0] != "/bin/sh" || b.Mounts[0].Options[0] != "ruleset=4" {
		t.Errorf("DefaultSpec shares state between calls: %v %v", b.Process.Args, b.Mounts[0].Options)
	}
}

func TestWriteSpec_writes_a_bundle_that_loads(t *testing.T) {
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, "rootfs"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := WriteSpec(dir, DefaultSpec()); err != nil {
		t.Fatalf("WriteSpec: %v", err)
	}
	data, err := os.ReadFile(filepath.Join(dir, ConfigFile))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasSuffix(data, []byte("}\n")) {
		t.Errorf("config.json does not end in a newline")
	}
	b, err := Load(dir, nullLog())
	if err != nil {
		t.Fatalf("Load of the written spec: %v", err)
	}
	got, _ := json.Marshal(b.Spec)
	want, _ := json.Marshal(DefaultSpec())
	if !bytes.Equal(got, want) {
		t.Errorf("spec read back differs:\n got %s\nwant %s", got, want)
	}
	if st, err := os.Stat(filepath.Join(dir, ConfigFile)); err != nil || st.Mode().Perm()&0o022 != 0 {
		t.Errorf("config.json mode = %v (%v), want no group or other write", st.Mode(), err)
	}
}

func TestWriteSpec_refuses_to_overwrite(t *testing.T) {
	dir := t.TempDir()
	name := filepath.Join(dir, ConfigFile)
	if err := os.WriteFile(name, []byte("keep me"), 0o644); err != nil {
		t.Fatal(err)
	}
	err := WriteSpec(dir, DefaultSpec())
	if err == nil || !strings.Contains(err.Error(), name+" already exists") {
		t.Fatalf("WriteSpec over an existing file: error %v, want %q", err, name+" already exists")
	}
	if data, _ := os.ReadFile(name); string(data) != "keep me" {
		t.Errorf("existing config.json was changed to %q", data)
	}
}

func TestWriteSpec_into_a_missing_directory_fails(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "missing")
	if err := WriteSpec(dir, DefaultSpec()); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("WriteSpec: error %v, want not-exist", err)
	}
}
