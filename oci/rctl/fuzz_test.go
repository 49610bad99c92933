package rctl

import (
	"errors"
	"maps"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// FuzzParseRule: ParseRule never panics; what it accepts is valid, prints
// in the kernel's syntax (no suffix, lower-case names) and parses back to
// the same rule; what it refuses wraps ErrInvalidRule.
func FuzzParseRule(f *testing.F) {
	for _, s := range []string{
		"jail:web:memoryuse:deny=512m",
		"jail:web:openfiles:deny=1k/process",
		"JAIL:Web:PCPU:DENY=150/JAIL",
		"jail:web:readbps:throttle=10M",
		"jail:web:cputime:sigxcpu=3600",
		"jail:web:maxproc:deny=9223372036854775807",
		"jail:web:memoryuse:deny=8e",
		"jail:web:memoryuse:deny=010",
		"jail::memoryuse:deny=1",
		"user:0:maxproc:deny=1",
		":::=/",
		"jail:a,b:nthr:log=1",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r, err := ParseRule(s)
		if err != nil {
			if !errors.Is(err, ErrInvalidRule) {
				t.Fatalf("ParseRule(%q) error %v does not wrap ErrInvalidRule", s, err)
			}
			return
		}
		if err := r.Validate(); err != nil {
			t.Fatalf("ParseRule(%q) accepted an invalid rule: %v", s, err)
		}
		out := r.String()
		again, err := ParseRule(out)
		if err != nil {
			t.Fatalf("ParseRule(%q) = %+v, whose String %q does not parse: %v", s, r, out, err)
		}
		if again != r {
			t.Fatalf("round trip of %q: %+v, then %+v", s, r, again)
		}
		if again.String() != out {
			t.Fatalf("String not stable: %q, then %q", out, again.String())
		}
		if err := checkFilter(r.Filter()); err != nil {
			t.Fatalf("Filter of %+v: %v", r, err)
		}
		if _, err := kernelInput(out); err != nil {
			t.Fatalf("kernelInput(%q): %v", out, err)
		}
	})
}

// FuzzParseAnnotation: ParseAnnotation never panics; the rules it accepts,
// given the jail's name, are valid, distinct, and give the same rules when
// written back as an annotation.
func FuzzParseAnnotation(f *testing.F) {
	for _, s := range []string{
		"memoryuse:deny=512m,maxproc:deny=100,openfiles:deny=1024",
		" pcpu:deny=50 , openfiles:deny=64/process",
		"memoryuse:deny=512m,maxprc:deny=100",
		"maxproc:deny=1,maxproc:deny=2",
		"jail:web:memoryuse:deny=1",
		",",
		"",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		rules, err := ParseAnnotation(v)
		if err != nil {
			if !errors.Is(err, ErrInvalidRule) {
				t.Fatalf("ParseAnnotation(%q) error %v does not wrap ErrInvalidRule", v, err)
			}
			if !strings.HasPrefix(err.Error(), `annotations["org.freebsd.rctl"][`) {
				t.Fatalf("ParseAnnotation(%q) error %q does not name its position", v, err)
			}
			return
		}
		var items []string
		for _, r := range rules {
			if r.ID != "" || r.Subject != SubjectJail {
				t.Fatalf("ParseAnnotation(%q) rule %+v", v, r)
			}
			r.ID = "web"
			if err := r.Validate(); err != nil {
				t.Fatalf("ParseAnnotation(%q) accepted an invalid rule: %v", v, err)
			}
			items = append(items, strings.TrimPrefix(r.String(), "jail:web:"))
		}
		again, err := ParseAnnotation(strings.Join(items, ","))
		if err != nil {
			t.Fatalf("ParseAnnotation(%q) = %+v, written back as %q: %v", v, rules, items, err)
		}
		if !slices.Equal(again, rules) {
			t.Fatalf("round trip of %q: %+v, then %+v", v, rules, again)
		}
	})
}

// FuzzParseRacct: ParseRacct never panics, and what it accepts, written
// back as the kernel writes it, parses to the same values.
func FuzzParseRacct(f *testing.F) {
	for _, s := range []string{
		jailRacct,
		"",
		"maxproc=1,",
		"maxproc=1,maxproc=2",
		"pcpu=-1",
		"a=+1",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		m, err := ParseRacct(s)
		if err != nil {
			if !errors.Is(err, ErrInvalidRule) {
				t.Fatalf("ParseRacct(%q) error %v does not wrap ErrInvalidRule", s, err)
			}
			return
		}
		var pairs []string
		for _, name := range slices.Sorted(maps.Keys(m)) {
			pairs = append(pairs, name+"="+strconv.FormatInt(m[name], 10))
		}
		again, err := ParseRacct(strings.Join(pairs, ","))
		if err != nil {
			t.Fatalf("ParseRacct(%q) = %v, written back: %v", s, m, err)
		}
		if !maps.Equal(again, m) {
			t.Fatalf("round trip of %q: %v, then %v", s, m, again)
		}
		NewStats(m, nil)
	})
}
