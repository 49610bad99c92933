// Package rootfs plans and performs the mounts of a container's root file
// system.
package rootfs

import (
	"path/filepath"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// Mount is one planned mount. Destination is the host path under the
// container's root.
type Mount struct {
	Type        string   `json:"type"`
	Source      string   `json:"source"`
	Destination string   `json:"destination"`
	Options     []string `json:"options"`
}

// DefaultDevfsRuleset is the devfs ruleset of a devfs mount that names
// none: 4, devfsrules_jail in /etc/defaults/devfs.rules, the ruleset
// jail(8) uses.
const DefaultDevfsRuleset = "4"

// Plan lists the mounts of spec in order, with destinations as host paths
// under root.
func Plan(spec *specs.Spec, root string) []Mount {
	mounts := make([]Mount, 0, len(spec.Mounts))
	for _, m := range spec.Mounts {
		opts := append([]string{}, m.Options...)
		if m.Type == "devfs" && !hasOption(opts, "ruleset") {
			opts = append(opts, "ruleset="+DefaultDevfsRuleset)
		}
		mounts = append(mounts, Mount{
			Type:        m.Type,
			Source:      m.Source,
			Destination: filepath.Join(root, filepath.Clean("/"+m.Destination)),
			Options:     opts,
		})
	}
	return mounts
}

// hasOption reports whether opts has key or key=value.
func hasOption(opts []string, key string) bool {
	for _, o := range opts {
		if o == key || strings.HasPrefix(o, key+"=") {
			return true
		}
	}
	return false
}
