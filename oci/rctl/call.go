package rctl

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"syscall"
)

// ErrRacctDisabled is returned when the kernel answers an rctl call with
// ENOSYS: every sys_rctl_* does when racct_enable is false, and when the
// kernel is built without options RCTL (sys/kern/kern_rctl.c). racct is
// off by default in kernels built with RACCT_DEFAULT_TO_DISABLED
// (sys/kern/kern_racct.c), and kern.racct.enable is a boot-time tunable
// (CTLFLAG_RDTUN), so it takes a reboot.
var ErrRacctDisabled = errors.New("rctl: racct is disabled in the kernel; set kern.racct.enable=1 in /boot/loader.conf and reboot")

const (
	// firstOutSize is the output buffer the get calls start with: a
	// jail's racct line and its few rules fit several times over.
	firstOutSize = 4 * 1024
	// maxOutSize is RCTL_MAX_OUTBUFSIZE, the default of
	// kern.racct.rctl.maxbufsize: rctl_get_rules(2) refuses a larger
	// buffer with E2BIG (sys/kern/kern_rctl.c).
	maxOutSize = 16 * 1024 * 1024
)

// kernelInput encodes a rule or filter as the rctl calls read it: a
// NUL-terminated string whose length counts the NUL (copyinstr in
// rctl_read_inbuf, sys/kern/kern_rctl.c).
func kernelInput(s string) ([]byte, error) {
	if strings.IndexByte(s, 0) >= 0 {
		return nil, fmt.Errorf("rctl %q: %w", s, invalidf("contains NUL"))
	}
	if len(s)+1 > maxInput {
		return nil, fmt.Errorf("rctl %q: %w", s, invalidf("%d bytes with its NUL; the kernel takes at most %d", len(s)+1, maxInput))
	}
	return append([]byte(s), 0), nil
}

// readGrowing runs a get call with a buffer that grows while the kernel
// answers ERANGE, which rctl_write_outbuf and the sbuf checks do when the
// answer does not fit (sys/kern/kern_rctl.c), and returns the answer up to
// its NUL.
func readGrowing(call func(out []byte) error) (string, error) {
	for size := firstOutSize; ; size *= 2 {
		out := make([]byte, size)
		err := call(out)
		if err == nil {
			return cString(out), nil
		}
		if !errors.Is(err, syscall.ERANGE) || size >= maxOutSize {
			return "", err
		}
	}
}

func cString(b []byte) string {
	if i := bytes.IndexByte(b, 0); i >= 0 {
		b = b[:i]
	}
	return string(b)
}

// callError names the call and its input in a failed rctl call's error.
func callError(call, input string, err error) error {
	if errors.Is(err, syscall.ENOSYS) {
		err = ErrRacctDisabled
	}
	return fmt.Errorf("%s %q: %w", call, input, err)
}

// removeError is callError for rctl_remove_rule(2), where ESRCH means that
// no rule matched the filter (rctl_rule_remove, sys/kern/kern_rctl.c):
// there was nothing to remove, which is what the caller wanted.
func removeError(filter string, err error) error {
	if err == nil || errors.Is(err, syscall.ESRCH) {
		return nil
	}
	return callError("rctl_remove_rule", filter, err)
}

// parseRules parses what rctl_get_rules(2) returns: rules separated by
// commas, none when empty (sys_rctl_get_rules removes the trailing comma,
// sys/kern/kern_rctl.c).
func parseRules(s string) ([]Rule, error) {
	if s == "" {
		return nil, nil
	}
	items := strings.Split(s, ",")
	rules := make([]Rule, 0, len(items))
	for _, item := range items {
		r, err := ParseRule(item)
		if err != nil {
			return nil, err
		}
		rules = append(rules, r)
	}
	return rules, nil
}
