// Package shim is the containerd task service of runj-go's shim,
// containerd-shim-runj-go-v1 (runtime io.containerd.runj-go.v1).
//
// It is a small task service (task API v3) over containerd's own shim
// machinery: pkg/shim runs the binary (bootstrap, ttrpc server, event
// publisher, SIGCHLD reaping), the runc shim's process package holds the
// init and exec state machines and their stdio (fifos, or a console socket
// for a terminal), and every call to the runtime goes through go-runc with
// Command = the runj-go binary, --root, --log BUNDLE/log.json and
// --log-format json, so that runj-go's own error message is what containerd
// reports.
//
// One shim serves one container. Stats answers with
// io.containerd.cgroups.v1.Metrics (github.com/containerd/cgroups/v3/
// cgroup1/stats): a protobuf type `ctr task metrics` prints, filled from
// `runj-go events --stats` (racct on FreeBSD): pids current and limit,
// CPU usage (total, user, kernel, in nanoseconds), memory usage, limit and
// swap. The fields runj-go has no source for stay zero.
package shim
