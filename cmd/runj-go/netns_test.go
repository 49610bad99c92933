package main

import (
	"bytes"
	"io"
	"strings"
	"testing"
)

// netnsCLI runs runj-go --root root ARGS in this process, on this host's
// kernel: on Linux every kernel operation fails.
func netnsCLI(t *testing.T, root string, args ...string) (string, error) {
	t.Helper()
	a := newApp()
	a.log.SetOutput(io.Discard)
	cmd := a.rootCommand()
	var out bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(io.Discard)
	cmd.SetArgs(append([]string{"--root", root}, args...))
	err := cmd.Execute()
	a.close()
	return out.String(), err
}

func TestNetnsList_of_an_empty_root(t *testing.T) {
	root := t.TempDir()
	out, err := netnsCLI(t, root, "netns", "list")
	if err != nil || strings.Join(strings.Fields(out), " ") != "NAME JID ADDRESSES BRIDGE CONTAINERS" {
		t.Errorf("netns list = %q, %v; want the header", out, err)
	}
	out, err = netnsCLI(t, root, "netns", "list", "-f", "json")
	if err != nil || out != "[]\n" {
		t.Errorf("netns list -f json = %q, %v; want []", out, err)
	}
}

func TestNetns_command_line_errors(t *testing.T) {
	for _, tt := range []struct {
		name string
		args []string
		want string
	}{
		{"list_format", []string{"list", "--format", "yaml"}, `--format: "yaml" is not table or json`},
		{"create_without_name", []string{"create"}, "expects 1 argument(s) (network jail name)"},
		{"create_bad_name", []string{"create", "a.b"}, `network jail name: container id "a.b" contains '.'`},
		{"create_bad_address", []string{"create", "--address", "10.0.0.2", "pod"}, `--address "10.0.0.2": not an address with a prefix length`},
		{"create_bad_mtu", []string{"create", "--mtu", "20", "pod"}, "--mtu 20: the kernel takes an MTU from 72 to 65535"},
		{"create_needs_the_kernel", []string{"create", "pod"}, "runs containers only on FreeBSD"},
		{"delete_unknown", []string{"delete", "pod"}, "network jail does not exist: pod"},
		{"exec_without_command", []string{"exec", "pod", "--"}, "netns exec pod: give the command to run"},
		{"exec_unknown", []string{"exec", "pod", "--", "ls", "-l"}, "network jail does not exist: pod"},
		{"exec_flags_belong_to_the_command", []string{"exec", "pod", "ls", "--format", "x"}, "network jail does not exist: pod"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			root := t.TempDir()
			_, err := netnsCLI(t, root, append([]string{"netns"}, tt.args...)...)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %v, want one containing %q", err, tt.want)
			}
			// A failed create leaves no record behind.
			if out, err := netnsCLI(t, root, "netns", "list", "-f", "json"); err != nil || out != "[]\n" {
				t.Errorf("netns list after the error = %q, %v; want []", out, err)
			}
		})
	}
}
