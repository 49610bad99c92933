// Package kld names and loads the kernel modules that provide what
// runj-go asks the kernel for, as jail(8) (lib/libjail/jail.c:
// kldload_param) and ifconfig(8) (sbin/ifconfig/ifconfig.c: ifmaybeload)
// load them: the kernel never loads a module by itself for an unknown
// jail parameter or interface cloner.
package kld

import "strings"

// ParamModule returns the module that registers jail parameter name (its
// positive name), or "" when none does: a file system for allow.mount.X,
// sysvmsg, sysvsem and sysvshm for themselves, linux for linux and
// linux.*. These are the cases libjail's kldload_param handles.
func ParamModule(name string) string {
	switch {
	case strings.HasPrefix(name, "allow.mount."):
		return strings.TrimPrefix(name, "allow.mount.")
	case name == "sysvmsg", name == "sysvsem", name == "sysvshm":
		return name
	case name == "linux", strings.HasPrefix(name, "linux."):
		return "linux"
	}
	return ""
}

// ClonerModule returns the module of the interface cloner of name, an
// interface name with or without its unit number ("bridge0", "epair"):
// if_ and the name without the trailing digits.
func ClonerModule(name string) string {
	return "if_" + strings.TrimRight(name, "0123456789")
}
