package oci

import (
	"slices"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"github.com/opencontainers/runtime-spec/specs-go/features"

	"github.com/runj-go/runj-go/jailspec"
	"github.com/runj-go/runj-go/oci/rctl"
	"github.com/runj-go/runj-go/rootfs"
)

// Features is the runtime-spec features document (features.md), derived
// from the tables the runtime itself uses, so it stays true.
func Features(version string) *features.Features {
	var hooks []string
	for _, set := range allHookSets {
		hooks = append(hooks, set.name)
	}
	jail := jailspec.Annotations()
	// org.freebsd.rctl only limits the jail, so it is honoured but not
	// potentially unsafe.
	honoured := append(slices.Clone(jail), rctl.Annotation)
	return &features.Features{
		OCIVersionMin: "1.0.0",
		OCIVersionMax: specs.Version,
		Hooks:         hooks,
		MountOptions:  rootfs.MountOptions(),
		Annotations: map[string]string{
			"org.freebsd.runj-go.version":              version,
			"org.freebsd.runj-go.annotations.honoured": strings.Join(honoured, ","),
		},
		// The ocijail annotations change the jail the container gets.
		PotentiallyUnsafeConfigAnnotations: jail,
	}
}
