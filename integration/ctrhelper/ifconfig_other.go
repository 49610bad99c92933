//go:build !freebsd

package main

import (
	"fmt"
	"os"
)

// ifconfig is used by the FreeBSD suite only: it configures an interface
// with FreeBSD's ioctls (see ifconfig_freebsd.go).
func ifconfig([]string) {
	fmt.Fprintln(os.Stderr, "ctrhelper ifconfig: only on FreeBSD")
	os.Exit(1)
}
