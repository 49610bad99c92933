//go:build !linux && !freebsd

package main

import (
	"fmt"
	"os"
	"runtime"
)

func main() {
	fmt.Fprintf(os.Stderr, "containerd-shim-runj-go-v1 runs only on FreeBSD (and Linux for tests); this host is %s\n", runtime.GOOS)
	os.Exit(1)
}
