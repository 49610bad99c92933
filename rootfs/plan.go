// Package rootfs plans and performs the mounts of a container's root file
// system.
package rootfs

import (
	"path/filepath"

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

// Plan lists the mounts of spec in order, with destinations as host paths
// under root.
func Plan(spec *specs.Spec, root string) []Mount {
	mounts := make([]Mount, 0, len(spec.Mounts))
	for _, m := range spec.Mounts {
		opts := m.Options
		if opts == nil {
			opts = []string{}
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
