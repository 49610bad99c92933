// Package rctl builds, parses and applies FreeBSD resource limits: rctl(8)
// rules on a jail, and the racct usage counters behind them. It is
// runj-go's counterpart of cgroups: limits from a spec's linux.resources,
// from `runj-go update` and from the org.freebsd.rctl annotation become
// rules here, and statistics come from racct.
//
// Everything but rctl_freebsd.go is portable: the rule syntax, its
// validation against the kernel's tables, the LinuxResources mapping and
// the racct parser are tested on any system. rctl_freebsd.go only makes the
// rctl_*(2) system calls.
package rctl

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Annotation is the annotation whose value is a comma-separated list of
// rules without their subject, applied to the container's jail:
// "memoryuse:deny=512m,maxproc:deny=100".
const Annotation = "org.freebsd.rctl"

// SubjectJail is the only subject runj-go writes rules for.
const SubjectJail = "jail"

// ErrInvalidRule is wrapped by every error about the syntax or the meaning
// of a rule, a filter or an annotation, and by ParseRacct's errors, so that
// callers can tell bad input from a kernel failure with errors.Is.
var ErrInvalidRule = errors.New("invalid rctl rule")

// Rule is one rctl rule, "subject:subject-id:resource:action=amount/per"
// (rctl(8) RULE SYNTAX).
type Rule struct {
	// Subject is what the rule applies to; runj-go uses "jail" only.
	Subject string
	// ID is the subject's id: the jail's name.
	ID string
	// Resource is one of Resources(), for example "memoryuse".
	Resource string
	// Action is one of Actions(), for example "deny" or "sigterm".
	Action string
	// Amount is the limit, in the resource's unit: bytes, a count,
	// seconds (cputime, wallclock) or percent of one CPU (pcpu).
	Amount int64
	// Per is what the amount is counted for: "" counts it for the whole
	// jail (the kernel's default, per = subject); "process" counts it for
	// each process in the jail. ParseRule returns "" for "/jail" because
	// the kernel never prints a per equal to the subject.
	Per string
}

// The tables below are the kernel's: resourcenames and actionnames in
// sys/kern/kern_rctl.c, with each resource's properties from racct_types in
// sys/kern/kern_racct.c (RACCT_* flags from sys/sys/racct.h).
//
// rctl_rule_add (sys/kern/kern_rctl.c) refuses with EOPNOTSUPP:
//   - deny for a resource that is not RACCT_DENIABLE, except memoryuse
//     (RACCT_RSS) and pcpu (RACCT_PCTCPU), which it enforces otherwise;
//   - throttle for a resource that is not RACCT_DECAYING, and for pcpu;
//   - per "process" for an RACCT_SLOPPY resource.
//
// No resource is refused for the jail subject itself.
type resource struct {
	name     string
	deny     bool // deny is accepted
	throttle bool // throttle is accepted
	sloppy   bool // RACCT_SLOPPY: no per "process"
	millions bool // RACCT_IN_MILLIONS: the kernel multiplies the amount by 10^6
}

var resources = []resource{
	{name: "cputime", millions: true},
	{name: "datasize", deny: true},
	{name: "stacksize", deny: true},
	{name: "coredumpsize", deny: true},
	{name: "memoryuse", deny: true},
	{name: "memorylocked", deny: true},
	{name: "maxproc", deny: true},
	{name: "openfiles", deny: true},
	{name: "vmemoryuse", deny: true},
	{name: "pseudoterminals", deny: true, sloppy: true},
	{name: "swapuse", deny: true, sloppy: true},
	{name: "nthr", deny: true},
	{name: "msgqqueued", deny: true, sloppy: true},
	{name: "msgqsize", deny: true, sloppy: true},
	{name: "nmsgq", deny: true, sloppy: true},
	{name: "nsem", deny: true, sloppy: true},
	{name: "nsemop", deny: true},
	{name: "nshm", deny: true, sloppy: true},
	{name: "shmsize", deny: true, sloppy: true},
	{name: "wallclock", millions: true},
	{name: "pcpu", deny: true, millions: true},
	{name: "readbps", throttle: true},
	{name: "writebps", throttle: true},
	{name: "readiops", throttle: true},
	{name: "writeiops", throttle: true},
}

// actions is actionnames (sys/kern/kern_rctl.c): the signals
// RCTL_ACTION_SIGHUP..RCTL_ACTION_SIGTHR, then deny, log, devctl and
// throttle (sys/sys/rctl.h).
var actions = []string{
	"sighup", "sigint", "sigquit", "sigill", "sigtrap", "sigabrt", "sigemt",
	"sigfpe", "sigkill", "sigbus", "sigsegv", "sigsys", "sigpipe", "sigalrm",
	"sigterm", "sigurg", "sigstop", "sigtstp", "sigchld", "sigttin", "sigttou",
	"sigio", "sigxcpu", "sigxfsz", "sigvtalrm", "sigprof", "sigwinch",
	"siginfo", "sigusr1", "sigusr2", "sigthr",
	"deny", "log", "devctl", "throttle",
}

// pers is subjectnames (sys/kern/kern_rctl.c): what an amount can be
// counted for.
var pers = []string{"process", "user", "loginclass", "jail"}

const (
	// maxJailName: prison_racct_find fails, and the rctl call returns
	// ENAMETOOLONG, for a name that does not fit prr_name[MAXHOSTNAMELEN]
	// with its NUL (sys/sys/jail.h struct prison_racct; MAXHOSTNAMELEN is
	// 256 in sys/sys/param.h).
	maxJailName = 256 - 1
	// maxInput: rctl_read_inbuf refuses an input buffer longer than
	// RCTL_MAX_INBUFSIZE (4 KiB) with E2BIG; the length counts the NUL
	// (sys/kern/kern_rctl.c).
	maxInput = 4 * 1024
	// millionsMax: str2int64's caller refuses with ERANGE an amount that
	// overflows when multiplied by 10^6 for an RACCT_IN_MILLIONS resource
	// (sys/kern/kern_rctl.c rctl_string_to_rule).
	millionsMax = (1<<63 - 1) / 1000000
)

// Resources returns the resource names the kernel knows, in the kernel's
// order (sys/kern/kern_rctl.c resourcenames).
func Resources() []string {
	out := make([]string, len(resources))
	for i, r := range resources {
		out[i] = r.name
	}
	return out
}

// Actions returns the action names the kernel knows, in the kernel's order
// (sys/kern/kern_rctl.c actionnames).
func Actions() []string { return append([]string(nil), actions...) }

func lookupResource(name string) (resource, bool) {
	for _, r := range resources {
		if r.name == name {
			return r, true
		}
	}
	return resource{}, false
}

func known(list []string, name string) bool {
	for _, s := range list {
		if s == name {
			return true
		}
	}
	return false
}

// invalid is an ErrInvalidRule with its own message, so that the message
// reads as the reason alone.
type invalid struct{ msg string }

func (e *invalid) Error() string        { return e.msg }
func (e *invalid) Is(target error) bool { return target == ErrInvalidRule }

func invalidf(format string, args ...any) error {
	return &invalid{msg: fmt.Sprintf(format, args...)}
}

// ParseRule parses a full rule, "jail:NAME:resource:action=amount[/per]",
// as rctl(8) -a takes it: the amount may carry a b, k, m, g, t, p or e
// suffix (powers of 1024, expand_number(3)), and names are matched without
// regard to case as the kernel does (strcasecmp in str2value,
// sys/kern/kern_rctl.c). It also parses the rules rctl_get_rules(2)
// returns. The rule is validated as Validate does.
func ParseRule(s string) (Rule, error) {
	r, err := parseRule(s)
	if err != nil {
		return Rule{}, fmt.Errorf("rctl rule %q: %w", s, err)
	}
	return r, nil
}

func parseRule(s string) (Rule, error) {
	fields := strings.SplitN(s, ":", 4)
	if len(fields) < 4 {
		return Rule{}, invalidf("want subject:subject-id:resource:action=amount[/per]")
	}
	subject := strings.ToLower(fields[0])
	if subject != SubjectJail {
		if known(pers, subject) {
			return Rule{}, invalidf("subject %q is not supported: runj-go manages jail rules only", fields[0])
		}
		return Rule{}, invalidf("unknown subject %q", fields[0])
	}
	r, err := parseTail(fields[2], fields[3])
	if err != nil {
		return Rule{}, err
	}
	r.Subject, r.ID = SubjectJail, fields[1]
	if err := r.validate(true); err != nil {
		return Rule{}, err
	}
	return r, nil
}

// parseTail parses "resource" and "action=amount[/per]", checking the
// names but not whether they go together.
func parseTail(res, rest string) (Rule, error) {
	var r Rule
	r.Resource = strings.ToLower(res)
	if r.Resource == "" {
		return Rule{}, invalidf("missing resource")
	}
	if _, ok := lookupResource(r.Resource); !ok {
		return Rule{}, invalidf("unknown resource %q", res)
	}
	action, amountPer, ok := strings.Cut(rest, "=")
	if !ok {
		return Rule{}, invalidf("missing =amount after action %q", rest)
	}
	r.Action = strings.ToLower(action)
	if r.Action == "" {
		return Rule{}, invalidf("missing action")
	}
	if !known(actions, r.Action) {
		return Rule{}, invalidf("unknown action %q", action)
	}
	amount, per, hasPer := strings.Cut(amountPer, "/")
	n, err := parseAmount(amount)
	if err != nil {
		return Rule{}, err
	}
	r.Amount = n
	if hasPer {
		r.Per = strings.ToLower(per)
		if !known(pers, r.Per) {
			return Rule{}, invalidf("unknown per %q", per)
		}
		if r.Per == SubjectJail {
			r.Per = ""
		}
	}
	return r, nil
}

// parseAmount parses a non-negative decimal number with an optional unit
// suffix, as expand_number(3) does for rctl(8) (lib/libutil/expand_number.c:
// b = 1, k = 2^10, m = 2^20, g = 2^30, t = 2^40, p = 2^50, e = 2^60, either
// case). It refuses what expand_number would read differently from a
// decimal number: a sign, "0x" and leading zeros (strtoimax base 0 reads
// them as hexadecimal and octal).
func parseAmount(s string) (int64, error) {
	if s == "" {
		return 0, invalidf("missing amount")
	}
	digits, shift := s, 0
	if i := strings.IndexByte("bkmgtpe", lower(s[len(s)-1])); i >= 0 {
		digits, shift = s[:len(s)-1], 10*i
	}
	if digits == "" || strings.TrimLeft(digits, "0123456789") != "" {
		return 0, invalidf("amount %q: want a non-negative decimal number with an optional b, k, m, g, t, p or e suffix", s)
	}
	if len(digits) > 1 && digits[0] == '0' {
		return 0, invalidf("amount %q: leading zeros are ambiguous (rctl(8) reads them as octal)", s)
	}
	n, err := strconv.ParseInt(digits, 10, 64)
	if err != nil || n > (1<<63-1)>>shift {
		return 0, invalidf("amount %q does not fit in 64 bits", s)
	}
	return n << shift, nil
}

func lower(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

// ParseAnnotation parses the value of the org.freebsd.rctl annotation: rules
// without their subject, separated by commas, such as
// "memoryuse:deny=512m,maxproc:deny=100,openfiles:deny=1024". Blanks around
// a rule are ignored; an empty value has no rules. The rules have the jail
// subject and no ID: the caller sets ID to the jail's name. An error names
// the rule by its position: annotations["org.freebsd.rctl"][1]:
// "maxprc:deny=100": unknown resource "maxprc".
func ParseAnnotation(v string) ([]Rule, error) {
	if strings.TrimSpace(v) == "" {
		return nil, nil
	}
	items := strings.Split(v, ",")
	rules := make([]Rule, 0, len(items))
	for i, item := range items {
		item = strings.TrimSpace(item)
		r, err := parseAnnotationRule(item)
		if err == nil {
			err = duplicate(rules, r)
		}
		if err != nil {
			return nil, fmt.Errorf("annotations[%q][%d]: %q: %w", Annotation, i, item, err)
		}
		rules = append(rules, r)
	}
	return rules, nil
}

func parseAnnotationRule(s string) (Rule, error) {
	if s == "" {
		return Rule{}, invalidf("empty rule")
	}
	res, rest, ok := strings.Cut(s, ":")
	if !ok {
		return Rule{}, invalidf("want resource:action=amount[/per]")
	}
	if strings.Contains(rest, ":") {
		return Rule{}, invalidf("want resource:action=amount[/per], without a subject: the rule applies to the container's jail")
	}
	r, err := parseTail(res, rest)
	if err != nil {
		return Rule{}, err
	}
	r.Subject = SubjectJail
	if err := r.validate(false); err != nil {
		return Rule{}, err
	}
	return r, nil
}

// duplicate refuses a second rule for the same resource, action and per:
// the kernel would keep only one of them (rctl_rule_add removes the rules
// that differ from a new one only by amount, sys/kern/kern_rctl.c).
func duplicate(rules []Rule, r Rule) error {
	for i, o := range rules {
		if o.Resource == r.Resource && o.Action == r.Action && o.per() == r.per() {
			return invalidf("repeats the %s:%s rule at [%d]", r.Resource, r.Action, i)
		}
	}
	return nil
}

// per is the rule's effective per: the subject when Per is empty, as
// sys_rctl_add_rule defaults it (sys/kern/kern_rctl.c).
func (r Rule) per() string {
	if r.Per == "" {
		return r.Subject
	}
	return r.Per
}

// Validate checks a rule before it reaches the kernel: a jail subject with
// a name the kernel accepts, known resource and action names, an amount the
// kernel can hold, and a resource/action/per combination rctl_rule_add does
// not refuse. Names must be lower case, as ParseRule returns them.
func (r Rule) Validate() error {
	if err := r.validate(true); err != nil {
		return fmt.Errorf("rctl rule %q: %w", r.String(), err)
	}
	return nil
}

func (r Rule) validate(needID bool) error {
	if r.Subject != SubjectJail {
		return invalidf("subject %q is not supported: runj-go manages jail rules only", r.Subject)
	}
	if needID || r.ID != "" {
		if err := checkJailName(r.ID); err != nil {
			return err
		}
	}
	res, ok := lookupResource(r.Resource)
	if !ok {
		return invalidf("unknown resource %q", r.Resource)
	}
	if !known(actions, r.Action) {
		return invalidf("unknown action %q", r.Action)
	}
	if r.Per != "" && !known(pers, r.Per) {
		return invalidf("unknown per %q", r.Per)
	}
	if r.Amount < 0 {
		return invalidf("amount %d is negative", r.Amount)
	}
	if res.millions && r.Amount > millionsMax {
		return invalidf("amount %d is too large for %s: the kernel counts it in millionths, at most %d", r.Amount, r.Resource, int64(millionsMax))
	}
	switch {
	case r.Action == "deny" && !res.deny:
		return invalidf("action deny is not supported for %s (the kernel cannot refuse it); use log, devctl or a signal", r.Resource)
	case r.Action == "throttle" && !res.throttle:
		return invalidf("action throttle is supported only for readbps, writebps, readiops and writeiops, not %s", r.Resource)
	case r.Per == "process" && res.sloppy:
		return invalidf("%s cannot be counted per process (the kernel accounts it per jail, user or login class only)", r.Resource)
	}
	return nil
}

// checkJailName checks a jail name as a subject id: the rule syntax
// separates fields with ':' (strsep in rctl_string_to_rule) and
// rctl_get_rules(2) separates rules with ',', so neither can appear in it.
func checkJailName(name string) error {
	switch {
	case name == "":
		return invalidf("missing jail name")
	case len(name) > maxJailName:
		return invalidf("jail name is %d bytes; rctl takes at most %d", len(name), maxJailName)
	case strings.ContainsAny(name, ":,\x00"):
		return invalidf("jail name %q contains ':', ',' or NUL, which the rule syntax cannot carry", name)
	}
	return nil
}

// String returns the rule in the kernel's syntax,
// subject:subject-id:resource:action=amount[/per], the amount in decimal as
// rctl_add_rule(2) requires (str2int64 in sys/kern/kern_rctl.c takes no
// suffix) and as rctl_get_rules(2) prints it.
func (r Rule) String() string {
	s := r.Subject + ":" + r.ID + ":" + r.Resource + ":" + r.Action + "=" + strconv.FormatInt(r.Amount, 10)
	if r.Per != "" {
		s += "/" + r.Per
	}
	return s
}

// Filter returns the filter that matches this rule whatever its amount,
// for rctl_remove_rule(2) and rctl_get_rules(2): "jail:NAME" when Resource
// is empty (every rule of the jail), "jail:NAME:resource" when Action is
// empty, else "jail:NAME:resource:action=/per". The per is always spelled
// out ("/jail" for the default) so that removing a jail-wide limit leaves
// a per-process rule for the same resource alone: an empty per would match
// both (rctl_rule_matches, sys/kern/kern_rctl.c).
func (r Rule) Filter() string {
	f := r.Subject + ":" + r.ID
	if r.Resource == "" {
		return f
	}
	f += ":" + r.Resource
	if r.Action == "" {
		return f
	}
	return f + ":" + r.Action + "=/" + r.per()
}

// JailFilter returns the filter that matches every rule of a jail, and
// names the jail for rctl_get_racct(2): "jail:NAME".
func JailFilter(jail string) string { return SubjectJail + ":" + jail }

// checkFilter refuses a filter that does not name one jail, so that a
// mistake can never remove or read every rule on the host (":" matches
// them all, rctl(8)).
func checkFilter(f string) error {
	subject, rest, _ := strings.Cut(f, ":")
	if subject != SubjectJail {
		return fmt.Errorf("rctl filter %q: %w", f, invalidf("want a filter that starts with jail:NAME"))
	}
	name, _, _ := strings.Cut(rest, ":")
	if err := checkJailName(name); err != nil {
		return fmt.Errorf("rctl filter %q: %w", f, err)
	}
	return nil
}
