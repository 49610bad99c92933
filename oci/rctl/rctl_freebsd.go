//go:build freebsd

package rctl

import (
	"runtime"
	"unsafe"

	"golang.org/x/sys/unix"
)

// The rctl calls share one signature (sys/sys/rctl.h):
//
//	int rctl_xxx(const char *inbufp, size_t inbuflen, char *outbufp, size_t outbuflen);
//
// with the syscall numbers unix.SYS_RCTL_GET_RACCT (525),
// SYS_RCTL_GET_RULES (526), SYS_RCTL_ADD_RULE (528) and
// SYS_RCTL_REMOVE_RULE (529) (sys/kern/syscalls.master). Each needs
// PRIV_RCTL_* (priv_check in sys/kern/kern_rctl.c), that is root on the
// host.
func call(trap uintptr, in, out []byte) error {
	var outp *byte
	if len(out) > 0 {
		outp = &out[0]
	}
	_, _, errno := unix.Syscall6(trap,
		uintptr(unsafe.Pointer(&in[0])), uintptr(len(in)),
		uintptr(unsafe.Pointer(outp)), uintptr(len(out)), 0, 0)
	runtime.KeepAlive(in)
	runtime.KeepAlive(out)
	if errno != 0 {
		return errno
	}
	return nil
}

// AddRule adds r with rctl_add_rule(2), after Validate. A deny rule
// replaces the jail's deny rule for the same resource and per.
func AddRule(r Rule) error {
	if err := r.Validate(); err != nil {
		return err
	}
	s := r.String()
	in, err := kernelInput(s)
	if err != nil {
		return err
	}
	if err := call(unix.SYS_RCTL_ADD_RULE, in, nil); err != nil {
		return callError("rctl_add_rule", s, err)
	}
	return nil
}

// RemoveRules removes the rules matching filter with rctl_remove_rule(2).
// The filter must name a jail (Rule.Filter, JailFilter). No matching rule
// is not an error.
func RemoveRules(filter string) error {
	in, err := input(filter)
	if err != nil {
		return err
	}
	return removeError(filter, call(unix.SYS_RCTL_REMOVE_RULE, in, nil))
}

// GetRacct returns the resource use of the jail that filter names
// ("jail:NAME") with rctl_get_racct(2), parsed by ParseRacct.
func GetRacct(filter string) (map[string]int64, error) {
	s, err := get(unix.SYS_RCTL_GET_RACCT, "rctl_get_racct", filter)
	if err != nil {
		return nil, err
	}
	return ParseRacct(s)
}

// GetRules returns the rules matching filter with rctl_get_rules(2).
func GetRules(filter string) ([]Rule, error) {
	s, err := get(unix.SYS_RCTL_GET_RULES, "rctl_get_rules", filter)
	if err != nil {
		return nil, err
	}
	return parseRules(s)
}

func get(trap uintptr, name, filter string) (string, error) {
	in, err := input(filter)
	if err != nil {
		return "", err
	}
	s, err := readGrowing(func(out []byte) error { return call(trap, in, out) })
	if err != nil {
		return "", callError(name, filter, err)
	}
	return s, nil
}

func input(filter string) ([]byte, error) {
	if err := checkFilter(filter); err != nil {
		return nil, err
	}
	return kernelInput(filter)
}
