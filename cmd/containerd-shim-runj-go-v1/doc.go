// Command containerd-shim-runj-go-v1 is containerd's shim for runj-go
// (runtime io.containerd.runj-go.v1); it builds on Linux and FreeBSD.
package main
