package main

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/runj-go/runj-go/oci"
)

func (a *app) netnsCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "netns",
		Short: "named network jails: vnet jails on a host bridge that containers share (pods), like ip netns",
		Long: `A named network jail is a persistent vnet jail with no process of its own,
whose network is one end of an epair; the other end is a member of a bridge on
the host. Containers join it with freebsd.jail.parent (or the
org.freebsd.parentJail annotation) set to its name and vnet "inherit", and
share its network stack. netns exec runs a host command inside it.`,
		Args: cobra.NoArgs,
	}
	cmd.AddCommand(a.netnsCreateCommand(), a.netnsListCommand(), a.netnsDeleteCommand(), a.netnsExecCommand())
	return cmd
}

func (a *app) netnsCreateCommand() *cobra.Command {
	var o oci.NetJailOpts
	cmd := &cobra.Command{
		Use:   "create [--bridge IF] [--address CIDR]... [--gateway IP]... [--mtu N] NAME",
		Short: "create a network jail on a host bridge, with addresses and default routes",
		Args:  exactArgs(1, "network jail name"),
		RunE: func(_ *cobra.Command, args []string) error {
			r, err := a.runtime()
			if err != nil {
				return err
			}
			_, err = r.CreateNetJail(args[0], o)
			return err
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.Bridge, "bridge", oci.DefaultBridge, "host bridge the jail's epair joins; made and brought up when the host has no such interface (bridgeN names only)")
	f.StringArrayVar(&o.Addresses, "address", nil, "address of the jail, with its prefix length (10.88.0.2/24, fd00:88::2/64); repeatable")
	f.StringArrayVar(&o.Gateways, "gateway", nil, "default gateway of the jail, one IPv4 and one IPv6 at most; repeatable")
	f.IntVar(&o.MTU, "mtu", 0, "MTU of the jail's interface (default: the kernel's, 1500)")
	return cmd
}

func (a *app) netnsListCommand() *cobra.Command {
	var format string
	cmd := &cobra.Command{
		Use:   "list [--format table|json]",
		Short: "list network jails and the containers that use them",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if format != "table" && format != "json" {
				return fmt.Errorf("--format: %q is not table or json", format)
			}
			r, err := a.runtime()
			if err != nil {
				return err
			}
			all, err := r.NetJails()
			if err != nil {
				return err
			}
			if format == "json" {
				return json.NewEncoder(cmd.OutOrStdout()).Encode(all)
			}
			return netnsTable(cmd, all)
		},
	}
	cmd.Flags().StringVarP(&format, "format", "f", "table", "output format: table or json")
	return cmd
}

func netnsTable(cmd *cobra.Command, all []oci.NetJailInfo) error {
	w := tabwriter.NewWriter(cmd.OutOrStdout(), 8, 1, 3, ' ', 0)
	fmt.Fprint(w, "NAME\tJID\tADDRESSES\tBRIDGE\tCONTAINERS\n")
	for _, n := range all {
		jid := strconv.Itoa(n.JID)
		if !n.Ready {
			jid += " (not ready)"
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\n", n.Name, jid, orDash(n.Addresses), n.Bridge, orDash(n.Containers))
	}
	return w.Flush()
}

func orDash(list []string) string {
	if len(list) == 0 {
		return "-"
	}
	return strings.Join(list, ",")
}

func (a *app) netnsDeleteCommand() *cobra.Command {
	return a.idCommand("delete NAME", "delete a network jail, its epair and the bridge it made; refused while containers use it", "network jail name", (*oci.Runtime).DeleteNetJail)
}

func (a *app) netnsExecCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "exec NAME [--] COMMAND [ARGS...]",
		Short: "run a host command inside a network jail with the caller's environment, credentials and stdio",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(_ *cobra.Command, args []string) error {
			name, argv := args[0], args[1:]
			if len(argv) > 0 && argv[0] == "--" {
				argv = argv[1:]
			}
			if len(argv) == 0 {
				return fmt.Errorf("netns exec %s: give the command to run", name)
			}
			r, err := a.runtime()
			if err != nil {
				return err
			}
			p, err := r.ExecNetJail(name, argv)
			if err != nil {
				return err
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
	// The command's own flags are not runj-go's.
	cmd.Flags().SetInterspersed(false)
	return cmd
}
