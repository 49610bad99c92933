package bundle

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// DefaultPath is the PATH of DefaultSpec, and of an image that sets none.
const DefaultPath = "/sbin:/bin:/usr/sbin:/usr/bin:/usr/local/sbin:/usr/local/bin"

// DefaultSpec is the FreeBSD-ready config.json that `runj-go spec` writes,
// the counterpart of `runc spec`: /bin/sh on a terminal, root "rootfs",
// devfs with the jail ruleset 4 at /dev and fdescfs at /dev/fd, its own
// hostname and the host's network.
func DefaultSpec() *specs.Spec {
	return &specs.Spec{
		Version: specs.Version,
		Process: &specs.Process{
			Terminal: true,
			User:     specs.User{UID: 0, GID: 0},
			Args:     []string{"/bin/sh"},
			Env: []string{
				"PATH=" + DefaultPath,
				"TERM=xterm",
			},
			Cwd:             "/",
			Rlimits:         []specs.POSIXRlimit{{Type: "RLIMIT_NOFILE", Hard: 1024, Soft: 1024}},
			NoNewPrivileges: true,
		},
		Root:     &specs.Root{Path: "rootfs"},
		Hostname: "runj-go",
		Mounts: []specs.Mount{
			{Destination: "/dev", Type: "devfs", Source: "devfs", Options: []string{"ruleset=4"}},
			{Destination: "/dev/fd", Type: "fdescfs", Source: "fdesc", Options: []string{}},
		},
		FreeBSD: &specs.FreeBSD{Jail: &specs.FreeBSDJail{
			Host: specs.FreeBSDShareNew,
			Ip4:  specs.FreeBSDShareInherit,
			Ip6:  specs.FreeBSDShareInherit,
		}},
	}
}

// WriteSpec writes spec as dir/config.json. It refuses to overwrite an
// existing file.
func WriteSpec(dir string, spec *specs.Spec) error {
	data, err := json.MarshalIndent(spec, "", "\t")
	if err != nil {
		return err
	}
	name := filepath.Join(dir, ConfigFile)
	f, err := os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("%s already exists: remove it first", name)
	}
	if err != nil {
		return err
	}
	if _, err := f.Write(append(data, '\n')); err != nil {
		f.Close()
		os.Remove(name)
		return err
	}
	return f.Close()
}
