package shim

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/containerd/console"
	"github.com/containerd/containerd/v2/pkg/stdio"
)

// The Linux platform copies a terminal with an epoll loop, as runc's shim
// does: reads of a pty master whose slave closed do not block it.
type platform struct {
	epoller *console.Epoller
}

func newPlatform() (stdio.Platform, error) {
	e, err := console.NewEpoller()
	if err != nil {
		return nil, fmt.Errorf("console epoller: %w", err)
	}
	go e.Wait()
	return &platform{epoller: e}, nil
}

func (p *platform) CopyConsole(ctx context.Context, c console.Console, id, stdin, stdout, stderr string, wg *sync.WaitGroup) (console.Console, error) {
	ec, err := p.epoller.Add(c)
	if err != nil {
		return nil, err
	}
	if err := copyConsole(ctx, ec, stdin, stdout, wg, func() { ec.Shutdown(p.epoller.CloseConsole) }); err != nil {
		return nil, err
	}
	return ec, nil
}

func (p *platform) ShutdownConsole(ctx context.Context, c console.Console) error {
	ec, ok := c.(*console.EpollConsole)
	if !ok {
		return errors.New("not an epoll console")
	}
	return ec.Shutdown(p.epoller.CloseConsole)
}

func (p *platform) Close() error {
	return p.epoller.Close()
}
