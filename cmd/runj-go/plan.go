package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/runj-go/runj-go/bundle"
	"github.com/runj-go/runj-go/oci"
)

func (a *app) planCommand() *cobra.Command {
	var dir, format string
	cmd := &cobra.Command{
		Use:   "plan [--bundle DIR] [--format text|json|jail.conf] ID",
		Short: "print what create would do for a bundle, without doing it",
		Args:  exactArgs(1, "container id"),
		RunE: func(cmd *cobra.Command, args []string) error {
			id := args[0]
			b, err := bundle.Load(dir, a.log)
			if err != nil {
				return err
			}
			p, err := oci.NewPlan(b, id, a.root)
			if err != nil {
				return err
			}
			for _, w := range p.Warnings() {
				a.log.Warn(w)
			}
			out := cmd.OutOrStdout()
			switch format {
			case "json":
				return p.WriteJSON(out)
			case "jail.conf":
				return p.WriteJailConf(out, id)
			case "text":
				return p.WriteText(out)
			}
			return fmt.Errorf("--format: %q is not text, json or jail.conf", format)
		},
	}
	cmd.Flags().StringVarP(&dir, "bundle", "b", ".", "bundle directory")
	cmd.Flags().StringVar(&format, "format", "text", "output format: text, json or jail.conf")
	return cmd
}

// exactArgs is cobra.ExactArgs with an error that names what is missing.
func exactArgs(n int, what string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) != n {
			return fmt.Errorf("%s: expects %d argument(s) (%s), got %d", cmd.Name(), n, what, len(args))
		}
		return nil
	}
}
