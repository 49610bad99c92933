package main

import (
	"github.com/spf13/cobra"

	"github.com/runj-go/runj-go/bundle"
)

func (a *app) specCommand() *cobra.Command {
	var dir string
	cmd := &cobra.Command{
		Use:   "spec",
		Short: "write a FreeBSD-ready default config.json into the bundle",
		Args:  cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			return bundle.WriteSpec(dir, bundle.DefaultSpec())
		},
	}
	cmd.Flags().StringVarP(&dir, "bundle", "b", ".", "bundle directory")
	return cmd
}
