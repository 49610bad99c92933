// Package rootfs plans and performs the mounts of a container's root file
// system.
package rootfs

import (
	"fmt"
	"os"
	"path/filepath"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// DefaultDevfsRuleset is the devfs ruleset of a devfs mount that names
// none: 4, devfsrules_jail in /etc/defaults/devfs.rules, the ruleset
// jail(8) uses.
const DefaultDevfsRuleset = "4"

// Mount is one planned mount: the nmount(2) call and what create must
// prepare for it.
type Mount struct {
	// Type is the file system type given to nmount (nullfs for bind
	// mounts).
	Type string `json:"type"`
	// Source is the host path for nullfs, the spec's source otherwise.
	Source string `json:"source"`
	// Destination is the host mount point: the destination resolved
	// beneath the root.
	Destination string `json:"destination"`
	// Options are the spec's options, as given.
	Options []string `json:"options"`

	// Request is the nmount call.
	Request Request `json:"-"`
	// Dest is the destination inside the container, and File whether
	// the mount point is a file (a nullfs mount of a file).
	Dest string `json:"-"`
	File bool   `json:"-"`
	// Ignored are the options nmount does not take (Linux-only ones).
	Ignored []string `json:"-"`
	// ReadOnlyRoot marks the nullfs view that makes the root read-only.
	ReadOnlyRoot bool `json:"-"`
}

// Layout says where the container's file systems go.
type Layout struct {
	// Bundle is the bundle directory, against which relative bind
	// sources resolve.
	Bundle string
	// Root is the container's root file system, in which mount
	// destinations are resolved and created.
	Root string
	// MountRoot is where the container's root appears when it is not
	// Root itself: the read-only nullfs view of Root. Mount points are
	// the resolved destinations moved under it.
	MountRoot string
}

// ReadOnlyRoot is the mount that makes the container's root read-only: a
// nullfs view of the root file system at l.MountRoot, which becomes the
// jail's path.
func ReadOnlyRoot(l Layout) (Mount, error) {
	req, _, err := NewRequest("nullfs", l.Root, l.MountRoot, []string{"ro"})
	if err != nil {
		return Mount{}, err
	}
	return Mount{Type: req.FSType, Source: l.Root, Destination: l.MountRoot, Options: []string{"ro"}, Request: req, Dest: "/", ReadOnlyRoot: true}, nil
}

// Plan resolves and translates the mounts of spec in order. A destination
// that would lead outside the root, or options nmount cannot take, are
// errors naming the mount.
func Plan(spec *specs.Spec, l Layout) ([]Mount, error) {
	mounts := make([]Mount, 0, len(spec.Mounts))
	for i, m := range spec.Mounts {
		pm, err := planMount(m, l)
		if err != nil {
			return nil, fmt.Errorf("config.json: mounts[%d] (%s on %s): %w", i, m.Type, m.Destination, err)
		}
		mounts = append(mounts, pm)
	}
	return mounts, nil
}

func planMount(m specs.Mount, l Layout) (Mount, error) {
	host, _, err := Resolve(l.Root, m.Destination)
	if err != nil {
		return Mount{}, err
	}
	if l.MountRoot != "" {
		rel, err := filepath.Rel(l.Root, host)
		if err != nil {
			return Mount{}, err
		}
		host = filepath.Join(l.MountRoot, rel)
	}
	source := m.Source
	bind := m.Type == "bind" || m.Type == "nullfs" || hasBindOption(m.Options)
	if bind && source != "" && !filepath.IsAbs(source) {
		source = filepath.Join(l.Bundle, source)
	}
	typ := m.Type
	if typ == "" && bind {
		typ = "bind"
	}
	req, ignored, err := NewRequest(typ, source, host, m.Options)
	if err != nil {
		return Mount{}, err
	}
	pm := Mount{
		Type: req.FSType, Source: req.Source, Destination: host,
		Options: append([]string{}, m.Options...), Request: req,
		Dest: m.Destination, Ignored: ignored,
	}
	// A file is mounted on a file. A source that does not exist is left
	// to nmount to report, at create.
	if req.FSType == fsNullfs {
		if st, err := os.Stat(req.Source); err == nil {
			pm.File = !st.IsDir()
		}
	}
	return pm, nil
}

// DevfsRuleset returns the ruleset a planned devfs mount uses.
func (m Mount) DevfsRuleset() (uint16, bool) {
	if m.Type != "devfs" {
		return 0, false
	}
	for _, o := range m.Request.Opts {
		if o.Name == "ruleset" && o.Value != nil {
			var rs uint16
			if _, err := fmt.Sscan(*o.Value, &rs); err == nil {
				return rs, true
			}
		}
	}
	return 0, false
}
