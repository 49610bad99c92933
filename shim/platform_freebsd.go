package shim

import (
	"context"
	"sync"

	"github.com/containerd/console"
	"github.com/containerd/containerd/v2/pkg/stdio"
)

// The FreeBSD platform copies a terminal with plain reads: containerd's
// console package has no epoller there, and a FreeBSD pty master reads
// EOF once its slave is closed.
type platform struct{}

func newPlatform() (stdio.Platform, error) {
	return platform{}, nil
}

func (platform) CopyConsole(ctx context.Context, c console.Console, id, stdin, stdout, stderr string, wg *sync.WaitGroup) (console.Console, error) {
	if err := copyConsole(ctx, c, stdin, stdout, wg, func() {}); err != nil {
		return nil, err
	}
	return c, nil
}

func (platform) ShutdownConsole(ctx context.Context, c console.Console) error {
	return nil
}

func (platform) Close() error {
	return nil
}
