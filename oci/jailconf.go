package oci

import (
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/runj-go/runj-go/jailspec"
)

// WriteJailConf writes the plan as a jail.conf(5) stanza that jail(8) would
// turn into the same jail: parameters, fstab-style mount lines, the
// interface aliases and vnet interfaces, and the process as exec.start.
func (p *Plan) WriteJailConf(w io.Writer, id string) error {
	var b strings.Builder
	fmt.Fprintf(&b, "# jail.conf(5) equivalent of runj-go's plan for container %q\n", id)
	fmt.Fprintf(&b, "%s {\n", confName(p.Jail.Name))
	for _, prm := range p.Jail.Params {
		if prm.Name == "name" {
			continue
		}
		fmt.Fprintf(&b, "\t%s;\n", confParam(prm))
	}
	for _, ifc := range p.jail.VnetInterfaces {
		fmt.Fprintf(&b, "\tvnet.interface += %s;\n", confQuote(ifc))
	}
	if p.jail.Interface != "" {
		fmt.Fprintf(&b, "\tinterface = %s;\n", confQuote(p.jail.Interface))
	}
	for _, m := range p.Mounts {
		opts := strings.Join(m.Options, ",")
		if opts == "" {
			opts = "rw"
		}
		line := strings.Join([]string{fstabEscape(m.Source), fstabEscape(m.Destination), fstabEscape(m.Type), fstabEscape(opts), "0", "0"}, " ")
		fmt.Fprintf(&b, "\tmount += %s;\n", confQuote(line))
	}
	if p.Process != nil {
		args := make([]string, len(p.Process.Args))
		for i, a := range p.Process.Args {
			args[i] = shellQuote(a)
		}
		fmt.Fprintf(&b, "\texec.start = %s;\n", confQuote(strings.Join(args, " ")))
	}
	b.WriteString("}\n")
	// rctl rules are not jail parameters: rctl.conf(5) holds them.
	for _, r := range p.Rctl {
		fmt.Fprintf(&b, "# rctl.conf: %s\n", r)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// confParam renders one parameter: booleans as "name" or "noname", as
// jail(8) accepts them, lists comma-separated.
func confParam(p jailspec.Param) string {
	switch p.Kind {
	case jailspec.Bool:
		if p.Bool {
			return p.Name
		}
		return jailspec.NegatedName(p.Name)
	case jailspec.String:
		return p.Name + " = " + confQuote(p.Str)
	case jailspec.Int:
		return p.Name + " = " + strconv.Itoa(int(p.Int))
	case jailspec.Sys:
		return p.Name + " = " + jailspec.Sharing(p.Int).String()
	default:
		addrs := p.Value().([]string)
		for i, a := range addrs {
			addrs[i] = confQuote(a)
		}
		return p.Name + " = " + strings.Join(addrs, ", ")
	}
}

// confName writes a jail name bare when jail.conf(5) reads it as one word,
// quoted otherwise.
func confName(name string) string {
	if strings.IndexFunc(name, func(r rune) bool {
		return !(r == '-' || r == '_' || r == '.' || (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z') || (r >= '0' && r <= '9'))
	}) < 0 {
		return name
	}
	return confQuote(name)
}

// confQuote quotes a string for jail.conf(5): double quotes, with
// backslash escapes for '"', '\\' and '$' (jail.conf expands variables).
func confQuote(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`, `$`, `\$`, "\n", `\n`, "\t", `\t`)
	return `"` + r.Replace(s) + `"`
}

// fstabEscape escapes white space as fstab(5) octal sequences.
func fstabEscape(s string) string {
	r := strings.NewReplacer(`\`, `\134`, " ", `\040`, "\t", `\011`, "\n", `\012`)
	return r.Replace(s)
}

func shellQuote(s string) string {
	if s != "" && strings.IndexFunc(s, func(r rune) bool {
		return !(r == '/' || r == '-' || r == '_' || r == '.' || r == '=' || r == ':' || r == ',' ||
			(r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z') || (r >= '0' && r <= '9'))
	}) < 0 {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
