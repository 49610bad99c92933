package rctl

import (
	"errors"
	"slices"
	"strings"
	"syscall"
	"testing"
)

func TestKernelInput(t *testing.T) {
	got, err := kernelInput("jail:web:maxproc:deny=10")
	if err != nil {
		t.Fatal(err)
	}
	if want := "jail:web:maxproc:deny=10\x00"; string(got) != want {
		t.Errorf("kernelInput = %q, want %q", got, want)
	}
	// RCTL_MAX_INBUFSIZE counts the NUL.
	if _, err := kernelInput(strings.Repeat("j", 4095)); err != nil {
		t.Errorf("4095 bytes and a NUL: %v", err)
	}
	for _, s := range []string{strings.Repeat("j", 4096), "jail:a\x00b"} {
		if _, err := kernelInput(s); err == nil || !errors.Is(err, ErrInvalidRule) {
			t.Errorf("kernelInput(%.20q...) = %v, want an ErrInvalidRule", s, err)
		}
	}
}

func TestReadGrowing(t *testing.T) {
	t.Run("first_buffer_fits", func(t *testing.T) {
		var sizes []int
		got, err := readGrowing(func(out []byte) error {
			sizes = append(sizes, len(out))
			copy(out, "cputime=0,maxproc=1\x00garbage")
			return nil
		})
		if err != nil || got != "cputime=0,maxproc=1" {
			t.Errorf("got %q, %v", got, err)
		}
		if !slices.Equal(sizes, []int{4096}) {
			t.Errorf("sizes = %v", sizes)
		}
	})
	t.Run("grows_on_ERANGE", func(t *testing.T) {
		answer := strings.Repeat("r", 10000)
		var sizes []int
		got, err := readGrowing(func(out []byte) error {
			sizes = append(sizes, len(out))
			if len(out) < len(answer)+1 {
				return syscall.ERANGE
			}
			copy(out, answer+"\x00")
			return nil
		})
		if err != nil || got != answer {
			t.Errorf("got %d bytes, %v", len(got), err)
		}
		if !slices.Equal(sizes, []int{4096, 8192, 16384}) {
			t.Errorf("sizes = %v", sizes)
		}
	})
	t.Run("stops_at_the_kernel_maximum", func(t *testing.T) {
		var last int
		calls := 0
		_, err := readGrowing(func(out []byte) error {
			calls++
			last = len(out)
			return syscall.ERANGE
		})
		if !errors.Is(err, syscall.ERANGE) {
			t.Errorf("err = %v, want ERANGE", err)
		}
		if last != 16<<20 || calls != 13 {
			t.Errorf("last buffer %d after %d calls, want 16 MiB after 13", last, calls)
		}
	})
	t.Run("other_errors_at_once", func(t *testing.T) {
		calls := 0
		_, err := readGrowing(func([]byte) error { calls++; return syscall.EPERM })
		if !errors.Is(err, syscall.EPERM) || calls != 1 {
			t.Errorf("err = %v after %d calls", err, calls)
		}
	})
	t.Run("no_NUL", func(t *testing.T) {
		got, err := readGrowing(func(out []byte) error {
			for i := range out {
				out[i] = 'x'
			}
			return nil
		})
		if err != nil || len(got) != 4096 {
			t.Errorf("got %d bytes, %v", len(got), err)
		}
	})
}

func TestCallErrorNamesKernRacctEnable(t *testing.T) {
	err := callError("rctl_add_rule", "jail:web:maxproc:deny=10", syscall.ENOSYS)
	if !errors.Is(err, ErrRacctDisabled) {
		t.Fatalf("ENOSYS: %v does not wrap ErrRacctDisabled", err)
	}
	want := `rctl_add_rule "jail:web:maxproc:deny=10": rctl: racct is disabled in the kernel; set kern.racct.enable=1 in /boot/loader.conf and reboot`
	if err.Error() != want {
		t.Errorf("error = %q\nwant   %q", err, want)
	}

	err = callError("rctl_get_racct", "jail:web", syscall.EPERM)
	if !errors.Is(err, syscall.EPERM) || errors.Is(err, ErrRacctDisabled) {
		t.Errorf("EPERM: %v", err)
	}
	if want := `rctl_get_racct "jail:web": ` + syscall.EPERM.Error(); err.Error() != want {
		t.Errorf("error = %q, want %q", err, want)
	}
}

func TestRemoveErrorIgnoresNoMatch(t *testing.T) {
	if err := removeError("jail:web", nil); err != nil {
		t.Errorf("nil: %v", err)
	}
	if err := removeError("jail:web", syscall.ESRCH); err != nil {
		t.Errorf("ESRCH (no rule matched): %v", err)
	}
	if err := removeError("jail:web", syscall.ENOSYS); !errors.Is(err, ErrRacctDisabled) {
		t.Errorf("ENOSYS: %v", err)
	}
	err := removeError("jail:web", syscall.EPERM)
	if !errors.Is(err, syscall.EPERM) || !strings.HasPrefix(err.Error(), `rctl_remove_rule "jail:web": `) {
		t.Errorf("EPERM: %v", err)
	}
}

// TestParseRules parses rctl_get_rules(2) answers as rctl_rule_to_sbuf
// writes them (sys/kern/kern_rctl.c): the per only when it differs from
// the subject, amounts in decimal.
func TestParseRules(t *testing.T) {
	got, err := parseRules("jail:web:memoryuse:deny=536870912,jail:web:openfiles:deny=1024/process,jail:web:maxproc:deny=100")
	if err != nil {
		t.Fatal(err)
	}
	want := []Rule{
		deny("memoryuse", 512<<20),
		{Subject: "jail", ID: "web", Resource: "openfiles", Action: "deny", Amount: 1024, Per: "process"},
		deny("maxproc", 100),
	}
	if !slices.Equal(got, want) {
		t.Errorf("got %+v\nwant %+v", got, want)
	}
	if rules, err := parseRules(""); err != nil || rules != nil {
		t.Errorf("empty answer: %v, %v", rules, err)
	}
	if _, err := parseRules("jail:web:maxproc:deny=1,user:0:maxproc:deny=1"); err == nil || !errors.Is(err, ErrInvalidRule) {
		t.Errorf("a user rule: %v", err)
	}
}
