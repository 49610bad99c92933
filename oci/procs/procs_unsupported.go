//go:build !linux && !freebsd

package procs

import (
	"errors"
	"fmt"
	"runtime"
)

func unsupported() error {
	return fmt.Errorf("reading the process table is not implemented on %s: %w", runtime.GOOS, errors.ErrUnsupported)
}

func get(int) (Info, error)      { return Info{}, unsupported() }
func all() ([]Info, error)       { return nil, unsupported() }
func inJail(int) ([]Info, error) { return nil, unsupported() }
