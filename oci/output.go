package oci

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
)

// WriteJSON writes the plan as indented JSON, the machine-readable output
// of `runj-go plan --format json`.
func (p *Plan) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(p)
}

// WriteText writes the plan for people: the jail and its parameters, the
// mounts, the network operations and the process, one setting a line.
func (p *Plan) WriteText(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "jail %s", p.Jail.Name)
	if p.Jail.Parent != "" {
		fmt.Fprintf(&b, " (child of %s)", p.Jail.Parent)
	}
	b.WriteString("\n")
	for _, prm := range p.Jail.Params {
		v, _ := json.Marshal(prm.Value())
		fmt.Fprintf(&b, "  %s = %s\n", prm.Name, v)
	}
	b.WriteString("mounts\n")
	for _, m := range p.Mounts {
		fmt.Fprintf(&b, "  %s %s on %s", m.Type, m.Source, m.Destination)
		if len(m.Options) > 0 {
			fmt.Fprintf(&b, " (%s)", strings.Join(m.Options, ","))
		}
		b.WriteString("\n")
	}
	b.WriteString("network\n")
	for _, op := range p.Network {
		fmt.Fprintf(&b, "  %s %s", op.Op, op.Interface)
		if op.Address != "" {
			fmt.Fprintf(&b, " %s", op.Address)
		}
		b.WriteString("\n")
	}
	if len(p.Devices) > 0 {
		b.WriteString("devices\n")
		for _, d := range p.Devices {
			mode := "unchanged"
			if d.Mode != nil {
				mode = fmt.Sprintf("%#o", uint32(*d.Mode))
			}
			fmt.Fprintf(&b, "  /dev/%s mode %s\n", d.Path, mode)
		}
	}
	if len(p.Rctl) > 0 {
		b.WriteString("rctl\n")
		for _, r := range p.Rctl {
			fmt.Fprintf(&b, "  %s\n", r)
		}
	}
	if pp := p.Process; pp != nil {
		fmt.Fprintf(&b, "process\n  args = %q\n  cwd = %s\n  user = %d:%d", pp.Args, pp.Cwd, pp.User.UID, pp.User.GID)
		if len(pp.User.AdditionalGids) > 0 {
			fmt.Fprintf(&b, " groups %v", pp.User.AdditionalGids)
		}
		fmt.Fprintf(&b, "\n  terminal = %t\n  env = %q\n", pp.Terminal, pp.Env)
	}
	_, err := io.WriteString(w, b.String())
	return err
}
