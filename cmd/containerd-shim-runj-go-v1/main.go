//go:build linux || freebsd

package main

import (
	"context"
	"fmt"
	"os"

	"github.com/containerd/containerd/v2/pkg/shim"
	"github.com/containerd/containerd/v2/pkg/shutdown"
	"github.com/containerd/containerd/v2/plugins"
	"github.com/containerd/plugin"
	"github.com/containerd/plugin/registry"

	runjshim "github.com/runj-go/runj-go/shim"
)

func main() {
	// The shim, not containerd's per-OS default (none on FreeBSD), makes
	// itself the subreaper.
	if err := runjshim.Subreaper(); err != nil {
		fmt.Fprintln(os.Stderr, "containerd-shim-runj-go-v1:", err)
		os.Exit(1)
	}
	registry.Register(&plugin.Registration{
		Type:     plugins.TTRPCPlugin,
		ID:       "task",
		Requires: []plugin.Type{plugins.EventPlugin, plugins.InternalPlugin},
		InitFn: func(ic *plugin.InitContext) (any, error) {
			pp, err := ic.GetByID(plugins.EventPlugin, "publisher")
			if err != nil {
				return nil, err
			}
			sd, err := ic.GetByID(plugins.InternalPlugin, "shutdown")
			if err != nil {
				return nil, err
			}
			return runjshim.New(ic.Context, pp.(shim.Publisher), sd.(shutdown.Service))
		},
	})
	shim.RunShim(context.Background(), runjshim.Manager{}, func(c *shim.Config) { c.NoSubreaper = true })
}
