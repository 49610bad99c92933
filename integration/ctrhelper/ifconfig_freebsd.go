package main

import (
	"encoding/json"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"

	"github.com/runj-go/runj-go/netns"
)

// ifconfig runs `ctrhelper ifconfig IF ADDR/PREFIX [MODE ARGS...]` in the
// caller's vnet (inside a vnet jail, the jail's): it adds the address to
// interface IF and brings IF up with the runtime's own ioctls
// (netns.AddAddress, netns.SetUp; a container has no ifconfig(8)), prints
// the vnet's interfaces as one JSON line {"interfaces": [...]}
// (netns.Interfaces), and then, when MODE is given, execs itself as
// `ctrhelper MODE ARGS...`: one container process can configure its
// vnet and then use it.
func ifconfig(args []string) {
	if len(args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: ctrhelper ifconfig IF ADDR/PREFIX [MODE ARGS...]")
		os.Exit(2)
	}
	ifname := args[0]
	p, err := netip.ParsePrefix(args[1])
	check(err)
	check(netns.AddAddress(ifname, p))
	check(netns.SetUp(ifname))
	ifs, err := netns.Interfaces()
	check(err)
	check(json.NewEncoder(os.Stdout).Encode(map[string]any{"interfaces": ifs}))
	if rest := args[2:]; len(rest) > 0 {
		// The container's args[0] is ctrhelper's absolute path in the
		// jail; os.Executable is the fallback.
		self := os.Args[0]
		if !filepath.IsAbs(self) {
			exe, err := os.Executable()
			check(err)
			self = exe
		}
		check(unix.Exec(self, append([]string{os.Args[0]}, rest...), os.Environ()))
	}
}
