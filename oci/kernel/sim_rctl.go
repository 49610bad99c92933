//go:build simkernel

package kernel

import (
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/runj-go/runj-go/oci/procs"
	"github.com/runj-go/runj-go/oci/rctl"
)

// The simulated kernel keeps rctl rules by jail name, as the kernel does
// (they may exist before the jail and outlive it), and answers racct from
// the jail's real processes: maxproc is their number, memoryuse the sum of
// their resident sets (/proc/PID/statm).

// simRctlDisabledEnv makes every rctl call fail as on a kernel without
// racct (kern.racct.enable=0).
const simRctlDisabledEnv = "RUNJ_GO_SIMKERNEL_NO_RACCT"

func (s *sim) rctlEnabled() error {
	if os.Getenv(simRctlDisabledEnv) != "" {
		return rctl.ErrRacctDisabled
	}
	return nil
}

// jailOf returns the jail name a filter "jail:NAME[:...]" names.
func jailOf(filter string) (string, error) {
	parts := strings.SplitN(filter, ":", 3)
	if len(parts) < 2 || parts[0] != rctl.SubjectJail || parts[1] == "" {
		return "", fmt.Errorf("rctl filter %q does not name a jail: %w", filter, rctl.ErrInvalidRule)
	}
	return parts[1], nil
}

func (s *sim) RctlAddRule(r rctl.Rule) error {
	return s.update(func(t *simTable) error {
		return s.call(t, Op{Op: "rctl_add_rule", Name: r.String()}, func() error {
			if err := s.rctlEnabled(); err != nil {
				return err
			}
			if err := r.Validate(); err != nil {
				return err
			}
			if t.Rctl == nil {
				t.Rctl = map[string][]string{}
			}
			rules := t.Rctl[r.ID]
			for i, have := range rules {
				if old, err := rctl.ParseRule(have); err == nil && old.Filter() == r.Filter() {
					rules[i] = r.String()
					return nil
				}
			}
			t.Rctl[r.ID] = append(rules, r.String())
			return nil
		})
	})
}

func (s *sim) RctlRemoveRules(filter string) error {
	return s.update(func(t *simTable) error {
		return s.call(t, Op{Op: "rctl_remove_rule", Name: filter}, func() error {
			if err := s.rctlEnabled(); err != nil {
				return err
			}
			jail, err := jailOf(filter)
			if err != nil {
				return err
			}
			var keep []string
			for _, have := range t.Rctl[jail] {
				if r, err := rctl.ParseRule(have); err != nil || !filterMatches(filter, r) {
					keep = append(keep, have)
				}
			}
			if len(keep) == 0 {
				delete(t.Rctl, jail)
			} else {
				t.Rctl[jail] = keep
			}
			return nil
		})
	})
}

func (s *sim) RctlRules(filter string) ([]rctl.Rule, error) {
	var rules []rctl.Rule
	err := s.update(func(t *simTable) error {
		if err := s.rctlEnabled(); err != nil {
			return err
		}
		jail, err := jailOf(filter)
		if err != nil {
			return err
		}
		for _, have := range t.Rctl[jail] {
			r, err := rctl.ParseRule(have)
			if err != nil {
				return err
			}
			rules = append(rules, r)
		}
		return nil
	})
	return rules, err
}

func (s *sim) RctlRacct(filter string) (map[string]int64, error) {
	jail, err := jailOf(filter)
	if err != nil {
		return nil, err
	}
	var sids []int
	err = s.update(func(t *simTable) error {
		if err := s.rctlEnabled(); err != nil {
			return err
		}
		for _, j := range t.Jails {
			if j.Name == jail {
				sids = append(sids, j.liveSessions()...)
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	members, err := procs.InSessions(sids...)
	if err != nil {
		return nil, err
	}
	racct := map[string]int64{"maxproc": 0, "memoryuse": 0, "cputime": 0}
	for _, p := range live(members) {
		racct["maxproc"]++
		racct["memoryuse"] += residentBytes(p.Pid)
	}
	return racct, nil
}

// residentBytes reads a process's resident set from /proc/PID/statm
// (proc(5): the second field, in pages).
func residentBytes(pid int) int64 {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/statm", pid))
	if err != nil {
		return 0
	}
	fields := strings.Fields(string(data))
	if len(fields) < 2 {
		return 0
	}
	pages, _ := strconv.ParseInt(fields[1], 10, 64)
	return pages * int64(os.Getpagesize())
}

// filterMatches reports whether rule r matches filter
// "jail:NAME[:resource[:action[=[/per]]]]", as rctl_rule_matches does
// (sys/kern/kern_rctl.c): an empty or missing part matches anything.
func filterMatches(filter string, r rctl.Rule) bool {
	parts := strings.SplitN(filter, ":", 4)
	if len(parts) > 2 && parts[2] != "" && parts[2] != r.Resource {
		return false
	}
	if len(parts) > 3 {
		action, rest, _ := strings.Cut(parts[3], "=")
		if action != "" && action != r.Action {
			return false
		}
		if _, per, ok := strings.Cut(rest, "/"); ok && per != "" {
			rper := r.Per
			if rper == "" {
				rper = r.Subject
			}
			if per != rper {
				return false
			}
		}
	}
	return true
}
