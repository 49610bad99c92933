//go:build freebsd

package rctl

import (
	"errors"
	"fmt"
	"os"
	"slices"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

// TestSyscallNumbers pins the rctl syscall numbers of x/sys/unix against
// the standard library's, generated separately from the same
// sys/kern/syscalls.master, and against the numbers themselves.
func TestSyscallNumbers(t *testing.T) {
	tests := []struct {
		name      string
		unix, std uintptr
		want      uintptr
	}{
		{"rctl_get_racct", unix.SYS_RCTL_GET_RACCT, syscall.SYS_RCTL_GET_RACCT, 525},
		{"rctl_get_rules", unix.SYS_RCTL_GET_RULES, syscall.SYS_RCTL_GET_RULES, 526},
		{"rctl_add_rule", unix.SYS_RCTL_ADD_RULE, syscall.SYS_RCTL_ADD_RULE, 528},
		{"rctl_remove_rule", unix.SYS_RCTL_REMOVE_RULE, syscall.SYS_RCTL_REMOVE_RULE, 529},
	}
	for _, tt := range tests {
		if tt.unix != tt.want || tt.std != tt.want {
			t.Errorf("%s: x/sys/unix %d, syscall %d, want %d", tt.name, tt.unix, tt.std, tt.want)
		}
	}
}

// TestRulesOnTheKernel adds, reads and removes a rule with the real
// calls. It needs root and racct enabled; a jail need not exist, since
// prison_racct_find creates the jail's racct by name
// (sys/kern/kern_jail.c).
func TestRulesOnTheKernel(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("rctl calls need root")
	}
	jail := fmt.Sprintf("runj-go-rctl-test-%d", os.Getpid())
	r := Rule{Subject: SubjectJail, ID: jail, Resource: "maxproc", Action: "deny", Amount: 7}
	if err := AddRule(r); errors.Is(err, ErrRacctDisabled) {
		t.Skip(err)
	} else if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = RemoveRules(JailFilter(jail)) })

	// A deny rule for the same resource replaces the first.
	r.Amount = 9
	if err := AddRule(r); err != nil {
		t.Fatal(err)
	}
	rules, err := GetRules(JailFilter(jail))
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(rules, []Rule{r}) {
		t.Errorf("GetRules = %+v, want [%+v]", rules, r)
	}
	racct, err := GetRacct(JailFilter(jail))
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := racct["maxproc"]; !ok {
		t.Errorf("GetRacct = %v, want a maxproc value", racct)
	}
	if err := RemoveRules(r.Filter()); err != nil {
		t.Fatal(err)
	}
	if rules, err := GetRules(JailFilter(jail)); err != nil || len(rules) != 0 {
		t.Errorf("after removal: %+v, %v", rules, err)
	}
	if err := RemoveRules(r.Filter()); err != nil {
		t.Errorf("removing again: %v", err)
	}
}
