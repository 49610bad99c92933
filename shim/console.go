//go:build linux || freebsd

package shim

import (
	"context"
	"fmt"
	"io"
	"net/url"
	"sync"
	"syscall"

	"github.com/containerd/console"
	"github.com/containerd/fifo"
)

// copyConsole copies containerd's stdin fifo to the terminal and the
// terminal to the stdout fifo (a terminal has no separate stderr). Only
// fifos are supported for a terminal, not binary:// loggers. closeIn runs
// once stdin is at its end.
func copyConsole(ctx context.Context, c console.Console, stdin, stdout string, wg *sync.WaitGroup, closeIn func()) error {
	if u, err := url.Parse(stdout); err == nil && u.Scheme != "" && u.Scheme != "fifo" && u.Scheme != "file" {
		return fmt.Errorf("terminal output to %s: runj-go's shim copies a terminal only to fifos", u.Scheme)
	}
	if stdin != "" {
		in, err := fifo.OpenFifo(context.Background(), stdin, syscall.O_RDONLY|syscall.O_NONBLOCK, 0)
		if err != nil {
			return err
		}
		go func() {
			io.Copy(c, in)
			closeIn()
			in.Close()
		}()
	}
	if stdout == "" {
		return nil
	}
	outw, err := fifo.OpenFifo(ctx, stdout, syscall.O_WRONLY, 0)
	if err != nil {
		return err
	}
	// Holding the fifo open for reading too keeps the writer from failing
	// while containerd reopens its end.
	outr, err := fifo.OpenFifo(ctx, stdout, syscall.O_RDONLY, 0)
	if err != nil {
		outw.Close()
		return err
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		io.Copy(outw, c)
		outw.Close()
		outr.Close()
	}()
	return nil
}
