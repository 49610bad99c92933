package main

import (
	"encoding/json"
	"fmt"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/runj-go/runj-go/oci"
)

func (a *app) psCommand() *cobra.Command {
	var format string
	cmd := &cobra.Command{
		Use:   "ps [--format table|json] ID",
		Short: "list the processes of a container, from the kernel's process table",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			// go-runc's Top passes its ps options as one argument, empty
			// by default.
			if len(args) > 2 || len(args) == 2 && args[1] != "" {
				return fmt.Errorf("ps: arguments for ps(1) (%q) are not supported: runj-go reads the process table itself", args[1:])
			}
			r, err := a.runtime()
			if err != nil {
				return err
			}
			ps, err := r.Procs(args[0])
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			switch format {
			case "json":
				pids := make([]int, len(ps))
				for i, p := range ps {
					pids[i] = p.Pid
				}
				return json.NewEncoder(out).Encode(pids)
			case "table":
				w := tabwriter.NewWriter(out, 6, 1, 2, ' ', 0)
				fmt.Fprint(w, "PID\tPPID\tPGID\tSID\tSTAT\tCOMMAND\n")
				for _, p := range ps {
					fmt.Fprintf(w, "%d\t%d\t%d\t%d\t%s\t%s\n", p.Pid, p.PPid, p.Pgid, p.Sid, p.State, p.Comm)
				}
				return w.Flush()
			}
			return fmt.Errorf("--format: %q is not table or json", format)
		},
	}
	cmd.Flags().StringVarP(&format, "format", "f", "table", "output format: table or json")
	cmd.Flags().SetInterspersed(false)
	return cmd
}

func (a *app) pauseCommand() *cobra.Command {
	return a.idCommand("pause ID", "stop every process of a container (SIGSTOP)", "container id", (*oci.Runtime).Pause)
}

func (a *app) resumeCommand() *cobra.Command {
	return a.idCommand("resume ID", "continue the processes of a paused container (SIGCONT)", "container id", (*oci.Runtime).Resume)
}

func (a *app) featuresCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "features",
		Short: "print the runtime-spec features document: what runj-go supports",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return printJSON(cmd, oci.Features(version))
		},
	}
}
