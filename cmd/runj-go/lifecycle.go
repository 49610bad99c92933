package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"github.com/spf13/cobra"

	"github.com/runj-go/runj-go/oci"
	"github.com/runj-go/runj-go/oci/kernel"
)

func (a *app) lifecycleCommands() []*cobra.Command {
	return []*cobra.Command{
		a.createCommand(), a.startCommand(), a.runCommand(), a.stateCommand(),
		a.listCommand(), a.killCommand(), a.deleteCommand(), a.execCommand(),
		a.psCommand(), a.pauseCommand(), a.resumeCommand(), a.featuresCommand(),
		a.updateCommand(), a.eventsCommand(),
		a.initCommand(),
	}
}

// runtime opens the state root and the kernel.
func (a *app) runtime() (*oci.Runtime, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	args := []string{"--root", a.root, "--log-format", a.logFormat}
	if a.logPath != "" {
		args = append(args, "--log", a.logPath)
	}
	if a.debug {
		args = append(args, "--debug")
	}
	return oci.New(a.root, a.log, self, args)
}

func (a *app) createFlags(cmd *cobra.Command, o *oci.CreateOpts) {
	f := cmd.Flags()
	f.StringVarP(&o.Bundle, "bundle", "b", ".", "bundle directory")
	f.StringVar(&o.PidFile, "pid-file", "", "write the container process's pid to this file")
	f.StringVar(&o.ConsoleSocket, "console-socket", "", "unix socket that receives the pty master when process.terminal is set")
	f.IntVar(&o.PreserveFds, "preserve-fds", 0, "pass this many descriptors after stdio to the process")
	f.Bool("no-pivot", false, "accepted for runc compatibility; ignored")
	f.Bool("no-new-keyring", false, "accepted for runc compatibility; ignored")
	f.String("pidfd-socket", "", "accepted for runc compatibility; ignored")
}

func (a *app) createCommand() *cobra.Command {
	var o oci.CreateOpts
	cmd := &cobra.Command{
		Use:   "create [--bundle DIR] [--pid-file F] [--console-socket S] ID",
		Short: "create a container: its jail and its process, waiting for start",
		Args:  exactArgs(1, "container id"),
		RunE: func(_ *cobra.Command, args []string) error {
			r, err := a.runtime()
			if err != nil {
				return err
			}
			_, err = r.Create(args[0], o)
			return err
		},
	}
	a.createFlags(cmd, &o)
	return cmd
}

func (a *app) startCommand() *cobra.Command {
	return a.idCommand("start ID", "run the process of a created container", "container id", (*oci.Runtime).Start)
}

// idCommand is a command that takes one name and calls the runtime with it.
func (a *app) idCommand(use, short, what string, call func(*oci.Runtime, string) error) *cobra.Command {
	return &cobra.Command{
		Use:   use,
		Short: short,
		Args:  exactArgs(1, what),
		RunE: func(_ *cobra.Command, args []string) error {
			r, err := a.runtime()
			if err != nil {
				return err
			}
			return call(r, args[0])
		},
	}
}

func (a *app) runCommand() *cobra.Command {
	var o oci.CreateOpts
	var detach, keep bool
	cmd := &cobra.Command{
		Use:   "run [--bundle DIR] [--detach] [--keep] ID",
		Short: "create and start a container; without --detach, wait for it and delete it",
		Args:  exactArgs(1, "container id"),
		RunE: func(_ *cobra.Command, args []string) error {
			r, err := a.runtime()
			if err != nil {
				return err
			}
			status, err := r.Run(args[0], o, detach, keep)
			if err != nil {
				return err
			}
			if status != 0 {
				return exitStatus(status)
			}
			return nil
		},
	}
	a.createFlags(cmd, &o)
	cmd.Flags().BoolVarP(&detach, "detach", "d", false, "return once the container runs")
	cmd.Flags().BoolVar(&keep, "keep", false, "do not delete the container after it exits")
	return cmd
}

func (a *app) stateCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "state ID",
		Short: "print the OCI state of a container",
		Args:  exactArgs(1, "container id"),
		RunE: func(cmd *cobra.Command, args []string) error {
			r, err := a.runtime()
			if err != nil {
				return err
			}
			s, err := r.State(args[0])
			if err != nil {
				return err
			}
			return printJSON(cmd, s)
		},
	}
}

func printJSON(cmd *cobra.Command, v any) error {
	enc := json.NewEncoder(cmd.OutOrStdout())
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func (a *app) listCommand() *cobra.Command {
	var format string
	var quiet bool
	cmd := &cobra.Command{
		Use:   "list [--format table|json] [-q]",
		Short: "list containers",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			r, err := a.runtime()
			if err != nil {
				return err
			}
			all, err := r.List()
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			switch {
			case quiet:
				for _, s := range all {
					fmt.Fprintln(out, s.ID)
				}
				return nil
			case format == "json":
				return json.NewEncoder(out).Encode(all)
			case format == "table":
				w := tabwriter.NewWriter(out, 12, 1, 3, ' ', 0)
				fmt.Fprint(w, "ID\tPID\tSTATUS\tBUNDLE\tCREATED\n")
				for _, s := range all {
					fmt.Fprintf(w, "%s\t%d\t%s\t%s\t%s\n", s.ID, s.Pid, s.Status, s.Bundle, s.Created)
				}
				return w.Flush()
			}
			return fmt.Errorf("--format: %q is not table or json", format)
		},
	}
	cmd.Flags().StringVarP(&format, "format", "f", "table", "output format: table or json")
	cmd.Flags().BoolVarP(&quiet, "quiet", "q", false, "print container ids only")
	return cmd
}

func (a *app) killCommand() *cobra.Command {
	var all bool
	cmd := &cobra.Command{
		Use:   "kill [--all] ID [SIGNAL]",
		Short: "send a signal (default TERM) to a container's process, or with --all to every process in its jail",
		Args:  cobra.RangeArgs(1, 2),
		RunE: func(_ *cobra.Command, args []string) error {
			sigName := "TERM"
			if len(args) == 2 {
				sigName = args[1]
			}
			sig, err := oci.ParseSignal(sigName)
			if err != nil {
				return err
			}
			r, err := a.runtime()
			if err != nil {
				return err
			}
			return r.Kill(args[0], sig, all)
		},
	}
	cmd.Flags().BoolVarP(&all, "all", "a", false, "signal every process in the container's jail")
	return cmd
}

func (a *app) deleteCommand() *cobra.Command {
	var force bool
	cmd := &cobra.Command{
		Use:   "delete [--force] ID",
		Short: "delete a stopped container; with --force, kill it first",
		Args:  exactArgs(1, "container id"),
		RunE: func(_ *cobra.Command, args []string) error {
			r, err := a.runtime()
			if err != nil {
				return err
			}
			return r.Delete(args[0], force)
		},
	}
	cmd.Flags().BoolVarP(&force, "force", "f", false, "kill the container's processes if it is not stopped")
	return cmd
}

type execFlags struct {
	process, cwd, user string
	env                []string
	gids               []string
	tty, detach        bool
}

func (a *app) execCommand() *cobra.Command {
	var o oci.ExecOpts
	var f execFlags
	cmd := &cobra.Command{
		Use:   "exec [--process F | ARGS...] [--detach] [--tty] ID [ARGS...]",
		Short: "run a new process in a container",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(_ *cobra.Command, args []string) error {
			r, err := a.runtime()
			if err != nil {
				return err
			}
			o.Process, err = execProcess(r, args[0], args[1:], &f)
			if err != nil {
				return err
			}
			o.ProcessSource = "exec arguments"
			if f.process != "" {
				o.ProcessSource = f.process
			}
			o.Foreground = !f.detach
			p, err := r.Exec(args[0], o)
			if err != nil {
				return err
			}
			if f.detach {
				return p.Release()
			}
			status, err := p.Foreground()
			if err != nil {
				return err
			}
			if status != 0 {
				return exitStatus(status)
			}
			return nil
		},
	}
	fl := cmd.Flags()
	fl.SetInterspersed(false)
	fl.StringVarP(&f.process, "process", "p", "", "JSON file with the process to run (runtime-spec process)")
	fl.BoolVarP(&f.detach, "detach", "d", false, "return once the process runs")
	fl.StringVar(&o.PidFile, "pid-file", "", "write the process's pid to this file")
	fl.StringVar(&o.ConsoleSocket, "console-socket", "", "unix socket that receives the pty master")
	fl.BoolVarP(&f.tty, "tty", "t", false, "allocate a terminal")
	fl.StringVar(&f.cwd, "cwd", "", "working directory in the container")
	fl.StringArrayVarP(&f.env, "env", "e", nil, "set an environment variable (KEY=VALUE)")
	fl.StringVarP(&f.user, "user", "u", "", "UID[:GID] to run as")
	fl.StringArrayVarP(&f.gids, "additional-gids", "g", nil, "additional group id")
	fl.IntVar(&o.PreserveFds, "preserve-fds", 0, "pass this many descriptors after stdio to the process")
	return cmd
}

// execProcess builds the exec'd process: from --process, or from the
// container's own process with the command line's arguments and flags on
// top, as runc does.
func execProcess(r *oci.Runtime, id string, args []string, f *execFlags) (*specs.Process, error) {
	if f.process != "" {
		data, err := os.ReadFile(f.process)
		if err != nil {
			return nil, fmt.Errorf("--process: %w", err)
		}
		var p specs.Process
		if err := json.Unmarshal(data, &p); err != nil {
			return nil, fmt.Errorf("--process %s: %w", f.process, err)
		}
		return &p, nil
	}
	if len(args) == 0 {
		return nil, fmt.Errorf("exec: give the command to run, or --process")
	}
	base, err := r.ContainerProcess(id)
	if err != nil {
		return nil, err
	}
	p := *base
	p.Args = args
	p.Terminal = f.tty
	p.ConsoleSize = nil
	p.Env = append(append([]string{}, p.Env...), f.env...)
	if f.cwd != "" {
		p.Cwd = f.cwd
	}
	if f.user != "" {
		uid, gid, hasGid := strings.Cut(f.user, ":")
		u, err := strconv.ParseUint(uid, 10, 32)
		if err != nil {
			return nil, fmt.Errorf("--user: %q is not UID[:GID]", f.user)
		}
		p.User.UID = uint32(u)
		if hasGid {
			g, err := strconv.ParseUint(gid, 10, 32)
			if err != nil {
				return nil, fmt.Errorf("--user: %q is not UID[:GID]", f.user)
			}
			p.User.GID = uint32(g)
		}
	}
	for _, g := range f.gids {
		n, err := strconv.ParseUint(g, 10, 32)
		if err != nil {
			return nil, fmt.Errorf("--additional-gids: %q is not a group id", g)
		}
		p.User.AdditionalGids = append(p.User.AdditionalGids, uint32(n))
	}
	return &p, nil
}

func (a *app) initCommand() *cobra.Command {
	return &cobra.Command{
		Use:    "init",
		Short:  "internal: the container's init process",
		Hidden: true,
		Args:   cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			k, err := kernel.Open(a.root)
			if err != nil {
				return err
			}
			if err := oci.Init(k); errors.Is(err, oci.ErrReported) {
				return exitStatus(1)
			} else if err != nil {
				return err
			}
			return nil
		},
	}
}
