package main

import (
	"encoding/json"
	"fmt"
	"net"
	"net/netip"
	"os"
)

// BindResult is what `ctrhelper bind` prints for one address.
type BindResult struct {
	// Addr is the address as asked for: "127.0.0.2:0", "[::1]:0".
	Addr string `json:"addr"`
	// Bound is the address the listener got (getsockname(2)), which a
	// jail may have rewritten; empty on failure.
	Bound string `json:"bound,omitempty"`
	// Errno is the failure's errno name ("EADDRNOTAVAIL"), or its text
	// when it carries no errno; empty on success.
	Errno string `json:"errno,omitempty"`
	// Error is the failure's whole text.
	Error string `json:"error,omitempty"`
}

// bindAddrs runs `ctrhelper bind ADDR...`: for each ADDR (IP:PORT) it
// binds and listens on a TCP socket of the address's family (tcp4 or
// tcp6, never a dual-stack socket), prints one BindResult as a JSON line
// and closes the socket. A failure is reported in its result, not by the
// exit status, and the next address is tried.
func bindAddrs(addrs []string) {
	if len(addrs) == 0 {
		fmt.Fprintln(os.Stderr, "usage: ctrhelper bind ADDR...")
		os.Exit(2)
	}
	enc := json.NewEncoder(os.Stdout)
	for _, addr := range addrs {
		ap, err := netip.ParseAddrPort(addr)
		check(err)
		network := "tcp4"
		if ap.Addr().Is6() {
			network = "tcp6"
		}
		r := BindResult{Addr: addr}
		if ln, err := net.Listen(network, addr); err != nil {
			r.Errno, r.Error = errnoName(err), err.Error()
		} else {
			r.Bound = ln.Addr().String()
			ln.Close()
		}
		check(enc.Encode(r))
	}
}
