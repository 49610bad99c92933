package rootfs

import (
	"maps"
	"slices"
)

// MountOptions lists the generic mount options runj-go applies, for the
// runtime-spec features document: the MNT_* flag options in both forms,
// their recursive forms, and bind and rbind. The Linux-only options it
// ignores are not listed.
func MountOptions() []string {
	set := map[string]bool{"bind": true, "rbind": true}
	for _, f := range mountFlags {
		set[f.name] = true
		set["no"+f.name] = true
	}
	for o := range recursiveFlags {
		set[o] = true
	}
	return slices.Sorted(maps.Keys(set))
}
