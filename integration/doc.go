// Package integration holds runj-go's end-to-end tests: on Linux against
// the real binary built with the simulated kernel (-tags simkernel), and on
// FreeBSD against real jails (-tags integration, run as root with
// `make integration`).
package integration
