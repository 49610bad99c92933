package bundle

import (
	"errors"
	"io/fs"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// validSpec is a spec with every section Validate looks at filled in
// validly, so that each test case breaks exactly one thing.
func validSpec() *specs.Spec {
	timeout := 5
	mode := fs.FileMode(0o660)
	return &specs.Spec{
		Version:    "1.3.0",
		Root:       &specs.Root{Path: "rootfs"},
		Hostname:   "web",
		Domainname: "example.org",
		Process: &specs.Process{
			Terminal:    true,
			ConsoleSize: &specs.Box{Height: 24, Width: 80},
			Args:        []string{"/bin/sh", "-c", "true"},
			Env:         []string{"PATH=/bin", "EMPTY="},
			Cwd:         "/var/tmp",
			Rlimits: []specs.POSIXRlimit{
				{Type: "RLIMIT_NOFILE", Soft: 1024, Hard: 4096},
				{Type: "RLIMIT_AS", Soft: 1 << 30, Hard: 1 << 30},
			},
		},
		Mounts: []specs.Mount{
			{Destination: "/dev", Type: "devfs", Source: "devfs", Options: []string{"ruleset=4"}},
			{Destination: "/tmp", Type: "tmpfs", Source: "tmpfs"},
		},
		Hooks: &specs.Hooks{
			CreateRuntime: []specs.Hook{{Path: "/usr/local/bin/hook", Args: []string{"hook"}, Env: []string{"A=1"}, Timeout: &timeout}},
			Poststop:      []specs.Hook{{Path: "/usr/local/bin/hook"}},
		},
		FreeBSD: &specs.FreeBSD{Devices: []specs.FreeBSDDevice{{Path: "pf", Mode: &mode}, {Path: "usb/0.1.0"}}},
	}
}

func TestValidate_valid_spec_passes(t *testing.T) {
	if err := Validate(validSpec(), nullLog()); err != nil {
		t.Fatalf("Validate: %v", err)
	}
}

func TestValidate(t *testing.T) {
	zero, negative := 0, -1
	badMode := fs.FileMode(0o10644)
	tests := []struct {
		name   string
		mutate func(s *specs.Spec)
		// want lists the expected errors in order; each is the start of
		// one FieldError's message.
		want []string
	}{
		{
			name:   "missing process is accepted",
			mutate: func(s *specs.Spec) { s.Process = nil },
		},
		{
			name:   "missing root is rejected",
			mutate: func(s *specs.Spec) { s.Root = nil },
			want:   []string{"config.json: root.path: is required"},
		},
		{
			name:   "empty root.path is rejected",
			mutate: func(s *specs.Spec) { s.Root.Path = "" },
			want:   []string{"config.json: root.path: is required"},
		},
		{
			name:   "hostname longer than 255 bytes is rejected",
			mutate: func(s *specs.Spec) { s.Hostname = strings.Repeat("h", 256) },
			want:   []string{`config.json: hostname: "` + strings.Repeat("h", 256) + `" is longer than 255 bytes`},
		},
		{
			name:   "hostname of 255 bytes is accepted",
			mutate: func(s *specs.Spec) { s.Hostname = strings.Repeat("h", 255) },
		},
		{
			name:   "hostname with a control character is rejected",
			mutate: func(s *specs.Spec) { s.Hostname = "web\n1" },
			want:   []string{`config.json: hostname: "web\n1" contains a control character`},
		},
		{
			name:   "domainname longer than 255 bytes is rejected",
			mutate: func(s *specs.Spec) { s.Domainname = strings.Repeat("d", 300) },
			want:   []string{`config.json: domainname: "` + strings.Repeat("d", 300) + `" is longer than 255 bytes`},
		},
		{
			name:   "domainname with DEL is rejected",
			mutate: func(s *specs.Spec) { s.Domainname = "example\x7forg" },
			want:   []string{`config.json: domainname: "example\x7forg" contains a control character`},
		},
		{
			name:   "process without args is rejected",
			mutate: func(s *specs.Spec) { s.Process.Args = nil },
			want:   []string{"config.json: process.args: must name the program to run"},
		},
		{
			name:   "process with an empty program is rejected",
			mutate: func(s *specs.Spec) { s.Process.Args = []string{"", "x"} },
			want:   []string{"config.json: process.args: must name the program to run"},
		},
		{
			name:   "relative cwd is rejected",
			mutate: func(s *specs.Spec) { s.Process.Cwd = "var/tmp" },
			want:   []string{`config.json: process.cwd: "var/tmp" is not an absolute path`},
		},
		{
			name:   "empty cwd is rejected",
			mutate: func(s *specs.Spec) { s.Process.Cwd = "" },
			want:   []string{`config.json: process.cwd: "" is not an absolute path`},
		},
		{
			name:   "env entry without '=' is rejected",
			mutate: func(s *specs.Spec) { s.Process.Env = []string{"PATH=/bin", "JUSTAKEY"} },
			want:   []string{`config.json: process.env[1]: "JUSTAKEY" is not KEY=VALUE`},
		},
		{
			name:   "env entry with an empty key is rejected",
			mutate: func(s *specs.Spec) { s.Process.Env = []string{"=value"} },
			want:   []string{`config.json: process.env[0]: "=value" is not KEY=VALUE`},
		},
		{
			name:   "env entry with a NUL is rejected",
			mutate: func(s *specs.Spec) { s.Process.Env = []string{"A=b\x00c"} },
			want:   []string{`config.json: process.env[0]: "A=b\x00c" is not KEY=VALUE`},
		},
		{
			name:   "consoleSize without terminal is rejected",
			mutate: func(s *specs.Spec) { s.Process.Terminal = false },
			want:   []string{"config.json: process.consoleSize: is set but process.terminal is false"},
		},
		{
			name:   "Windows user name is rejected",
			mutate: func(s *specs.Spec) { s.Process.User.Username = "ContainerUser" },
			want:   []string{`config.json: process.user.username: "ContainerUser": FreeBSD processes take numeric uid and gid`},
		},
		{
			name:   "Windows commandLine is rejected",
			mutate: func(s *specs.Spec) { s.Process.CommandLine = "cmd.exe /c dir" },
			want:   []string{"config.json: process.commandLine: is Windows-only; use process.args"},
		},
		{
			name:   "rlimit with unknown type is rejected",
			mutate: func(s *specs.Spec) { s.Process.Rlimits = []specs.POSIXRlimit{{Type: "RLIMIT_FOO", Soft: 1, Hard: 1}} },
			want:   []string{`config.json: process.rlimits[0].type: "RLIMIT_FOO" is not a FreeBSD resource limit (known: RLIMIT_AS, RLIMIT_CORE,`},
		},
		{
			name:   "Linux-only rlimit is rejected",
			mutate: func(s *specs.Spec) { s.Process.Rlimits[1].Type = "RLIMIT_NICE" },
			want:   []string{`config.json: process.rlimits[1].type: "RLIMIT_NICE" is not a FreeBSD resource limit`},
		},
		{
			name: "rlimit given twice is rejected",
			mutate: func(s *specs.Spec) {
				s.Process.Rlimits = append(s.Process.Rlimits, specs.POSIXRlimit{Type: "RLIMIT_NOFILE", Soft: 1, Hard: 1})
			},
			want: []string{`config.json: process.rlimits[2].type: "RLIMIT_NOFILE" is given more than once`},
		},
		{
			name: "RLIMIT_VMEM after RLIMIT_AS is rejected as the same limit",
			mutate: func(s *specs.Spec) {
				s.Process.Rlimits = append(s.Process.Rlimits, specs.POSIXRlimit{Type: "RLIMIT_VMEM", Soft: 1, Hard: 1})
			},
			want: []string{`config.json: process.rlimits[2].type: "RLIMIT_VMEM" is the same resource limit as "RLIMIT_AS"`},
		},
		{
			name:   "rlimit with soft above hard is rejected",
			mutate: func(s *specs.Spec) { s.Process.Rlimits[0].Soft = 8192 },
			want:   []string{"config.json: process.rlimits[0]: soft limit 8192 is above hard limit 4096"},
		},
		{
			name:   "every FreeBSD rlimit is accepted",
			mutate: func(s *specs.Spec) { s.Process.Rlimits = everyRlimit() },
		},
		{
			name:   "relative mount destination is rejected",
			mutate: func(s *specs.Spec) { s.Mounts[1].Destination = "tmp" },
			want:   []string{`config.json: mounts[1].destination: "tmp" is not an absolute path`},
		},
		{
			name:   "empty mount destination is rejected",
			mutate: func(s *specs.Spec) { s.Mounts[0].Destination = "" },
			want:   []string{`config.json: mounts[0].destination: "" is not an absolute path`},
		},
		{
			name: "id-mapped mount is rejected",
			mutate: func(s *specs.Spec) {
				s.Mounts[1].UIDMappings = []specs.LinuxIDMapping{{ContainerID: 0, HostID: 1000, Size: 1}}
			},
			want: []string{"config.json: mounts[1]: uidMappings and gidMappings (id-mapped mounts) are not available on FreeBSD"},
		},
		{
			name: "gid-mapped mount is rejected",
			mutate: func(s *specs.Spec) {
				s.Mounts[0].GIDMappings = []specs.LinuxIDMapping{{ContainerID: 0, HostID: 1000, Size: 1}}
			},
			want: []string{"config.json: mounts[0]: uidMappings and gidMappings (id-mapped mounts) are not available on FreeBSD"},
		},
		{
			name:   "empty mount option is rejected",
			mutate: func(s *specs.Spec) { s.Mounts[0].Options = []string{"ro", ""} },
			want:   []string{`config.json: mounts[0].options[1]: "" is not a mount option`},
		},
		{
			name:   "mount option with a NUL is rejected",
			mutate: func(s *specs.Spec) { s.Mounts[1].Options = []string{"size=1m\x00"} },
			want:   []string{`config.json: mounts[1].options[0]: "size=1m\x00" is not a mount option`},
		},
		{
			name:   "hook with a relative path is rejected",
			mutate: func(s *specs.Spec) { s.Hooks.CreateRuntime[0].Path = "hook" },
			want:   []string{`config.json: hooks.createRuntime[0].path: "hook" is not an absolute path`},
		},
		{
			name: "hook paths of every kind are checked",
			mutate: func(s *specs.Spec) {
				bad := []specs.Hook{{Path: "ok"}}
				//lint:ignore SA1019 prestart is deprecated but runtime.md still runs it.
				s.Hooks = &specs.Hooks{Prestart: bad, CreateRuntime: bad, CreateContainer: bad, StartContainer: bad, Poststart: bad, Poststop: bad}
			},
			want: []string{
				`config.json: hooks.prestart[0].path: "ok" is not an absolute path`,
				`config.json: hooks.createRuntime[0].path: "ok" is not an absolute path`,
				`config.json: hooks.createContainer[0].path: "ok" is not an absolute path`,
				`config.json: hooks.startContainer[0].path: "ok" is not an absolute path`,
				`config.json: hooks.poststart[0].path: "ok" is not an absolute path`,
				`config.json: hooks.poststop[0].path: "ok" is not an absolute path`,
			},
		},
		{
			name:   "hook timeout of zero is rejected",
			mutate: func(s *specs.Spec) { s.Hooks.CreateRuntime[0].Timeout = &zero },
			want:   []string{"config.json: hooks.createRuntime[0].timeout: 0 is not a positive number of seconds"},
		},
		{
			name:   "negative hook timeout is rejected",
			mutate: func(s *specs.Spec) { s.Hooks.Poststop[0].Timeout = &negative },
			want:   []string{"config.json: hooks.poststop[0].timeout: -1 is not a positive number of seconds"},
		},
		{
			name:   "hook env entry without '=' is rejected",
			mutate: func(s *specs.Spec) { s.Hooks.CreateRuntime[0].Env = []string{"A=1", "B"} },
			want:   []string{`config.json: hooks.createRuntime[0].env[1]: "B" is not KEY=VALUE`},
		},
		{
			name:   "absolute device path is rejected",
			mutate: func(s *specs.Spec) { s.FreeBSD.Devices[0].Path = "/dev/pf" },
			want:   []string{`config.json: freebsd.devices[0].path: "/dev/pf" is not a clean path relative to /dev`},
		},
		{
			name:   "empty device path is rejected",
			mutate: func(s *specs.Spec) { s.FreeBSD.Devices[1].Path = "" },
			want:   []string{`config.json: freebsd.devices[1].path: "" is not a clean path relative to /dev`},
		},
		{
			name:   "device path leaving /dev is rejected",
			mutate: func(s *specs.Spec) { s.FreeBSD.Devices[0].Path = "../etc/passwd" },
			want:   []string{`config.json: freebsd.devices[0].path: "../etc/passwd" is not a clean path relative to /dev`},
		},
		{
			name:   "device path of .. is rejected",
			mutate: func(s *specs.Spec) { s.FreeBSD.Devices[0].Path = ".." },
			want:   []string{`config.json: freebsd.devices[0].path: ".." is not a clean path relative to /dev`},
		},
		{
			name:   "unclean device path is rejected",
			mutate: func(s *specs.Spec) { s.FreeBSD.Devices[1].Path = "usb//0.1.0" },
			want:   []string{`config.json: freebsd.devices[1].path: "usb//0.1.0" is not a clean path relative to /dev`},
		},
		{
			name:   "device mode beyond the permission bits is rejected",
			mutate: func(s *specs.Spec) { s.FreeBSD.Devices[0].Mode = &badMode },
			want:   []string{"config.json: freebsd.devices[0].mode: 4516 (010644) has bits beyond the permission bits 07777"},
		},
		{
			name: "several errors are reported at once",
			mutate: func(s *specs.Spec) {
				s.Version = "garbage"
				s.Root.Path = ""
				s.Process.Cwd = "."
				s.Process.Rlimits[0].Type = "RLIMIT_FOO"
				s.Mounts[1].Destination = "tmp"
				s.FreeBSD.Devices[0].Path = "/pf"
			},
			want: []string{
				`config.json: ociVersion: "garbage" is not a semantic version`,
				"config.json: root.path: is required",
				`config.json: process.cwd: "." is not an absolute path`,
				`config.json: process.rlimits[0].type: "RLIMIT_FOO" is not a FreeBSD resource limit`,
				`config.json: mounts[1].destination: "tmp" is not an absolute path`,
				`config.json: freebsd.devices[0].path: "/pf" is not a clean path relative to /dev`,
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := validSpec()
			tt.mutate(s)
			checkErrors(t, Validate(s, nullLog()), tt.want)
		})
	}
}

func everyRlimit() []specs.POSIXRlimit {
	var rl []specs.POSIXRlimit
	for _, name := range rlimitNames() {
		if name == "RLIMIT_VMEM" { // the same limit as RLIMIT_AS
			continue
		}
		rl = append(rl, specs.POSIXRlimit{Type: name, Soft: 1, Hard: 2})
	}
	return rl
}

// checkErrors asserts that err is an Errors holding exactly the FieldErrors
// whose messages start with want, in order; no want means no error.
func checkErrors(t *testing.T, err error, want []string) {
	t.Helper()
	if len(want) == 0 {
		if err != nil {
			t.Fatalf("unexpected error: %v", err)
		}
		return
	}
	var errs Errors
	if !errors.As(err, &errs) {
		t.Fatalf("error %v (%T) is not bundle.Errors", err, err)
	}
	if len(errs) != len(want) {
		t.Errorf("%d errors, want %d:\n%v", len(errs), len(want), err)
	}
	for i := 0; i < len(errs) && i < len(want); i++ {
		if got := errs[i].Error(); !strings.HasPrefix(got, want[i]) {
			t.Errorf("error %d = %q\nwant it to start %q", i, got, want[i])
		}
	}
	// The joined message carries every error, one a line.
	if got := strings.Count(err.Error(), "\n") + 1; got != len(errs) {
		t.Errorf("Error() has %d lines for %d errors", got, len(errs))
	}
}

func TestValidateOCIVersion(t *testing.T) {
	for _, v := range []string{"1.0.0", "1.0.2-dev", "1.1.0", "1.2.1", "1.3.0", "1.3.7-dev", "1.3.0+build.5", specs.Version} {
		t.Run(v+"_is_accepted", func(t *testing.T) {
			s := validSpec()
			s.Version = v
			checkErrors(t, Validate(s, nullLog()), nil)
		})
	}
	for _, v := range []string{"0.9.0", "1.4.0", "2.0.0", "0.0.0", "1.10.0"} {
		t.Run(v+"_is_not_supported", func(t *testing.T) {
			s := validSpec()
			s.Version = v
			checkErrors(t, Validate(s, nullLog()), []string{
				`config.json: ociVersion: "` + v + `" is not supported (runj-go supports 1.0.0 to 1.3.x)`,
			})
		})
	}
	for _, v := range []string{"garbage", "", "1", "1.3", "v1.3.0", "1.3.0garbage", "1.3.0 ", " 1.3.0", "+1.3.0", "1.-3.0", "1.3.0-", "1.3.x"} {
		t.Run(strings.ReplaceAll(v, " ", "_")+"_is_not_a_semantic_version", func(t *testing.T) {
			s := validSpec()
			s.Version = v
			checkErrors(t, Validate(s, nullLog()), []string{`config.json: ociVersion: "` + v + `" is not a semantic version`})
		})
	}
}

func TestValidateProcess_names_the_source_in_paths(t *testing.T) {
	p := &specs.Process{Args: []string{"/bin/sh"}, Cwd: "relative", Env: []string{"X"}}
	err := ValidateProcess(p, "proc.json")
	checkErrors(t, err, []string{
		`proc.json: process.cwd: "relative" is not an absolute path`,
		`proc.json: process.env[0]: "X" is not KEY=VALUE`,
	})
	p = &specs.Process{Args: []string{"/bin/sh"}, Cwd: "/"}
	if err := ValidateProcess(p, "config.json"); err != nil {
		t.Errorf("ValidateProcess of a valid process: %v", err)
	}
}

func TestErrors_Err_is_nil_when_empty(t *testing.T) {
	var errs Errors
	if errs.Err() != nil {
		t.Fatal("empty Errors.Err() is not nil")
	}
	errs.Add("hostname", "%q is bad", "x")
	if err := errs.Err(); err == nil || err.Error() != `config.json: hostname: "x" is bad` {
		t.Errorf("Err() = %v", err)
	}
}
