//go:build !freebsd && !simkernel

package kernel

import (
	"github.com/runj-go/runj-go/jailspec"
	"github.com/runj-go/runj-go/oci/procs"
)

// Open returns a kernel whose every operation fails with ErrUnsupported:
// jails exist only on FreeBSD.
func Open(root string) (Kernel, error) { return unsupported{}, nil }

type unsupported struct{}

func (unsupported) CreateJail(jailspec.Params) (int, error)   { return 0, ErrUnsupported }
func (unsupported) LookupJail(string) (int, error)            { return 0, ErrUnsupported }
func (unsupported) RemoveJail(int) error                      { return ErrUnsupported }
func (unsupported) AttachJail(int) error                      { return ErrUnsupported }
func (unsupported) JailProcs(int) ([]procs.Info, error)       { return nil, ErrUnsupported }
func (unsupported) Fexecve(uintptr, []string, []string) error { return ErrUnsupported }
