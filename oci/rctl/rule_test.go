package rctl

import (
	"errors"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// The expectations below are written out from the FreeBSD sources rather
// than derived from the package's tables, so that a wrong table fails.

// kernelResources is resourcenames in sys/kern/kern_rctl.c, in order.
var kernelResources = []string{
	"cputime", "datasize", "stacksize", "coredumpsize", "memoryuse",
	"memorylocked", "maxproc", "openfiles", "vmemoryuse", "pseudoterminals",
	"swapuse", "nthr", "msgqqueued", "msgqsize", "nmsgq", "nsem", "nsemop",
	"nshm", "shmsize", "wallclock", "pcpu", "readbps", "writebps",
	"readiops", "writeiops",
}

// kernelSignals are the signal actions of actionnames in
// sys/kern/kern_rctl.c, in order.
var kernelSignals = []string{
	"sighup", "sigint", "sigquit", "sigill", "sigtrap", "sigabrt", "sigemt",
	"sigfpe", "sigkill", "sigbus", "sigsegv", "sigsys", "sigpipe", "sigalrm",
	"sigterm", "sigurg", "sigstop", "sigtstp", "sigchld", "sigttin",
	"sigttou", "sigio", "sigxcpu", "sigxfsz", "sigvtalrm", "sigprof",
	"sigwinch", "siginfo", "sigusr1", "sigusr2", "sigthr",
}

// noDeny: not RACCT_DENIABLE in racct_types (sys/kern/kern_racct.c) and
// not special-cased (RSS, PCTCPU) by rctl_rule_add.
var noDeny = []string{"cputime", "wallclock", "readbps", "writebps", "readiops", "writeiops"}

// throttleOK: RACCT_DECAYING but not RACCT_PCTCPU.
var throttleOK = []string{"readbps", "writebps", "readiops", "writeiops"}

// sloppy: RACCT_SLOPPY, refused with per process.
var sloppy = []string{"pseudoterminals", "swapuse", "msgqqueued", "msgqsize", "nmsgq", "nsem", "nshm", "shmsize"}

func TestResourcesAndActionsAreTheKernels(t *testing.T) {
	if got := Resources(); !slices.Equal(got, kernelResources) {
		t.Errorf("Resources() = %q\nwant %q", got, kernelResources)
	}
	want := append(slices.Clone(kernelSignals), "deny", "log", "devctl", "throttle")
	if got := Actions(); !slices.Equal(got, want) {
		t.Errorf("Actions() = %q\nwant %q", got, want)
	}
	// The copies are the caller's.
	Resources()[0] = "x"
	Actions()[0] = "x"
	if Resources()[0] != "cputime" || Actions()[0] != "sighup" {
		t.Error("Resources or Actions returned the package's own slice")
	}
}

// TestParseRuleEveryResourceAndAction tries each resource with each action,
// jail-wide and per process, against what rctl_rule_add accepts.
func TestParseRuleEveryResourceAndAction(t *testing.T) {
	actions := append(slices.Clone(kernelSignals), "deny", "log", "devctl", "throttle")
	for _, res := range kernelResources {
		for _, act := range actions {
			for _, per := range []string{"", "/jail", "/process", "/user", "/loginclass"} {
				s := "jail:web:" + res + ":" + act + "=10" + per
				r, err := ParseRule(s)
				var why string
				switch {
				case act == "deny" && slices.Contains(noDeny, res):
					why = "action deny is not supported for " + res
				case act == "throttle" && !slices.Contains(throttleOK, res):
					why = "action throttle is supported only for"
				case per == "/process" && slices.Contains(sloppy, res):
					why = res + " cannot be counted per process"
				}
				if why != "" {
					if err == nil || !strings.Contains(err.Error(), why) || !errors.Is(err, ErrInvalidRule) {
						t.Errorf("ParseRule(%q) error = %v, want one containing %q", s, err, why)
					}
					continue
				}
				if err != nil {
					t.Errorf("ParseRule(%q): %v", s, err)
					continue
				}
				wantPer := strings.TrimPrefix(per, "/")
				if wantPer == "jail" {
					wantPer = ""
				}
				want := Rule{Subject: "jail", ID: "web", Resource: res, Action: act, Amount: 10, Per: wantPer}
				if r != want {
					t.Errorf("ParseRule(%q) = %+v, want %+v", s, r, want)
				}
			}
		}
	}
}

func TestParseRuleAmounts(t *testing.T) {
	tests := []struct {
		amount string
		want   int64
	}{
		{"0", 0},
		{"1", 1},
		{"100", 100},
		{"1b", 1},
		{"7B", 7},
		{"1k", 1 << 10},
		{"1K", 1 << 10},
		{"512m", 512 << 20},
		{"512M", 512 << 20},
		{"2g", 2 << 30},
		{"3G", 3 << 30},
		{"1t", 1 << 40},
		{"5T", 5 << 40},
		{"1p", 1 << 50},
		{"1P", 1 << 50},
		{"1e", 1 << 60},
		{"7E", 7 << 60},
		{"0k", 0},
		{"8388607t", 8388607 << 40},
		{"9223372036854775807", 1<<63 - 1},
		{"9223372036854775807b", 1<<63 - 1},
	}
	for _, tt := range tests {
		t.Run(tt.amount, func(t *testing.T) {
			r, err := ParseRule("jail:web:memoryuse:deny=" + tt.amount)
			if err != nil {
				t.Fatal(err)
			}
			if r.Amount != tt.want {
				t.Errorf("amount %q = %d, want %d", tt.amount, r.Amount, tt.want)
			}
		})
	}
}

func TestParseRuleErrors(t *testing.T) {
	tests := []struct {
		name, rule, want string
	}{
		{"empty", "", "want subject:subject-id:resource:action=amount[/per]"},
		{"too_few_fields", "jail:web:memoryuse", "want subject:subject-id:resource:action=amount[/per]"},
		{"unknown_subject", "prison:web:memoryuse:deny=1", `unknown subject "prison"`},
		{"user_subject", "user:1001:memoryuse:deny=1", `subject "user" is not supported`},
		{"process_subject", "process:1:memoryuse:deny=1", `subject "process" is not supported`},
		{"loginclass_subject", "loginclass:daemon:memoryuse:deny=1", `subject "loginclass" is not supported`},
		{"missing_name", "jail::memoryuse:deny=1", "missing jail name"},
		{"name_with_comma", "jail:a,b:memoryuse:deny=1", `jail name "a,b" contains ':', ',' or NUL`},
		{"name_with_nul", "jail:a\x00b:memoryuse:deny=1", "contains ':', ',' or NUL"},
		{"name_too_long", "jail:" + strings.Repeat("n", 256) + ":memoryuse:deny=1", "jail name is 256 bytes; rctl takes at most 255"},
		{"missing_resource", "jail:web::deny=1", "missing resource"},
		{"unknown_resource", "jail:web:maxprc:deny=1", `unknown resource "maxprc"`},
		{"linux_name", "jail:web:memory:deny=1", `unknown resource "memory"`},
		{"missing_equals", "jail:web:memoryuse:deny", `missing =amount after action "deny"`},
		{"missing_action", "jail:web:memoryuse:=1", "missing action"},
		{"unknown_action", "jail:web:memoryuse:dney=1", `unknown action "dney"`},
		{"signal_without_sig", "jail:web:memoryuse:term=1", `unknown action "term"`},
		{"missing_amount", "jail:web:memoryuse:deny=", "missing amount"},
		{"missing_amount_with_per", "jail:web:memoryuse:deny=/process", "missing amount"},
		{"negative_amount", "jail:web:memoryuse:deny=-1", `amount "-1": want a non-negative decimal number`},
		{"plus_sign", "jail:web:memoryuse:deny=+1", `amount "+1": want a non-negative decimal number`},
		{"hex", "jail:web:memoryuse:deny=0x10", `amount "0x10": want a non-negative decimal`},
		{"octal", "jail:web:memoryuse:deny=010", `amount "010": leading zeros are ambiguous`},
		{"suffix_only", "jail:web:memoryuse:deny=k", `amount "k": want`},
		{"two_suffixes", "jail:web:memoryuse:deny=1kb", `amount "1kb": want`},
		{"unknown_suffix", "jail:web:memoryuse:deny=1x", `amount "1x": want`},
		{"fraction", "jail:web:memoryuse:deny=1.5g", `amount "1.5g": want`},
		{"space", "jail:web:memoryuse:deny= 1", `amount " 1": want`},
		{"overflow", "jail:web:memoryuse:deny=9223372036854775808", `amount "9223372036854775808" does not fit in 64 bits`},
		{"overflow_suffix", "jail:web:memoryuse:deny=8e", `amount "8e" does not fit in 64 bits`},
		{"overflow_t", "jail:web:memoryuse:deny=8388608t", `amount "8388608t" does not fit in 64 bits`},
		{"cputime_millions", "jail:web:cputime:log=9223372036855", "too large for cputime"},
		{"pcpu_millions", "jail:web:pcpu:deny=9223372036855", "too large for pcpu"},
		{"wallclock_millions", "jail:web:wallclock:sigterm=9223372036855", "too large for wallclock"},
		{"unknown_per", "jail:web:memoryuse:deny=1/thread", `unknown per "thread"`},
		{"empty_per", "jail:web:memoryuse:deny=1/", `unknown per ""`},
		{"extra_field", "jail:web:memoryuse:deny=1:2", `amount "1:2": want`},
		{"deny_cputime", "jail:web:cputime:deny=10", "action deny is not supported for cputime"},
		{"deny_wallclock", "jail:web:wallclock:deny=10", "action deny is not supported for wallclock"},
		{"throttle_pcpu", "jail:web:pcpu:throttle=10", "action throttle is supported only for"},
		{"throttle_memoryuse", "jail:web:memoryuse:throttle=10", "action throttle is supported only for"},
		{"swapuse_per_process", "jail:web:swapuse:deny=1/process", "swapuse cannot be counted per process"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := ParseRule(tt.rule)
			if err == nil {
				t.Fatalf("ParseRule(%q) = %+v, want an error containing %q", tt.rule, r, tt.want)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("ParseRule(%q) error = %q, want it to contain %q", tt.rule, err, tt.want)
			}
			if prefix := "rctl rule " + strconv.Quote(tt.rule) + ": "; !strings.HasPrefix(err.Error(), prefix) {
				t.Errorf("error %q does not start with %q", err, prefix)
			}
			if !errors.Is(err, ErrInvalidRule) {
				t.Errorf("error %q does not wrap ErrInvalidRule", err)
			}
		})
	}
}

func TestParseRuleLimitsAtTheEdge(t *testing.T) {
	for _, s := range []string{
		"jail:" + strings.Repeat("n", 255) + ":memoryuse:deny=1",
		"jail:web:cputime:log=9223372036854",
		"jail:web:pcpu:deny=9223372036854",
		"jail:web.child:memoryuse:deny=1",
		"jail:a/b=c:memoryuse:deny=1",
	} {
		if _, err := ParseRule(s); err != nil {
			t.Errorf("ParseRule(%q): %v", s, err)
		}
	}
}

func TestParseRuleIgnoresCaseOfNames(t *testing.T) {
	r, err := ParseRule("JAIL:Web:MemoryUse:DENY=1K/PROCESS")
	if err != nil {
		t.Fatal(err)
	}
	want := Rule{Subject: "jail", ID: "Web", Resource: "memoryuse", Action: "deny", Amount: 1024, Per: "process"}
	if r != want {
		t.Errorf("got %+v, want %+v", r, want)
	}
}

func TestRuleString(t *testing.T) {
	tests := []struct {
		in, want string
	}{
		{"jail:web:memoryuse:deny=512m", "jail:web:memoryuse:deny=536870912"},
		{"jail:web:maxproc:deny=100", "jail:web:maxproc:deny=100"},
		{"jail:web:pcpu:deny=150", "jail:web:pcpu:deny=150"},
		{"jail:web:openfiles:deny=1k/process", "jail:web:openfiles:deny=1024/process"},
		{"jail:web:memoryuse:deny=1g/jail", "jail:web:memoryuse:deny=1073741824"},
		{"jail:web:vmemoryuse:sigterm=2g/user", "jail:web:vmemoryuse:sigterm=2147483648/user"},
		{"jail:web:readbps:throttle=10m", "jail:web:readbps:throttle=10485760"},
		{"jail:web:wallclock:devctl=3600", "jail:web:wallclock:devctl=3600"},
		{"jail:web:nthr:log=0", "jail:web:nthr:log=0"},
		{"jail:web:swapuse:deny=1t/loginclass", "jail:web:swapuse:deny=1099511627776/loginclass"},
	}
	for _, tt := range tests {
		r, err := ParseRule(tt.in)
		if err != nil {
			t.Fatal(err)
		}
		if got := r.String(); got != tt.want {
			t.Errorf("ParseRule(%q).String() = %q, want %q", tt.in, got, tt.want)
		}
		again, err := ParseRule(r.String())
		if err != nil {
			t.Fatalf("ParseRule(%q): %v", r.String(), err)
		}
		if again != r {
			t.Errorf("round trip of %q: %+v, want %+v", tt.in, again, r)
		}
	}
}

func TestRuleFilter(t *testing.T) {
	tests := []struct {
		name string
		rule Rule
		want string
	}{
		{"whole_jail", Rule{Subject: "jail", ID: "web"}, "jail:web"},
		{"resource", Rule{Subject: "jail", ID: "web", Resource: "memoryuse"}, "jail:web:memoryuse"},
		{"jail_wide_rule", Rule{Subject: "jail", ID: "web", Resource: "memoryuse", Action: "deny", Amount: 5}, "jail:web:memoryuse:deny=/jail"},
		{"per_process_rule", Rule{Subject: "jail", ID: "web", Resource: "openfiles", Action: "deny", Amount: 5, Per: "process"}, "jail:web:openfiles:deny=/process"},
		{"signal_rule", Rule{Subject: "jail", ID: "web", Resource: "cputime", Action: "sigxcpu", Amount: 60}, "jail:web:cputime:sigxcpu=/jail"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.rule.Filter(); got != tt.want {
				t.Errorf("Filter() = %q, want %q", got, tt.want)
			}
			if err := checkFilter(tt.rule.Filter()); err != nil {
				t.Errorf("checkFilter(%q): %v", tt.rule.Filter(), err)
			}
		})
	}
	if got := JailFilter("web"); got != "jail:web" {
		t.Errorf("JailFilter = %q", got)
	}
}

func TestCheckFilterRefusesWhatIsNotOneJail(t *testing.T) {
	for _, f := range []string{"", ":", ":::=/", "jail:", "jail::memoryuse", "::maxproc", "user:0", "loginclass:", "jail:a,b", "jail:" + strings.Repeat("n", 256)} {
		err := checkFilter(f)
		if err == nil || !errors.Is(err, ErrInvalidRule) {
			t.Errorf("checkFilter(%q) = %v, want an ErrInvalidRule", f, err)
		}
	}
}

func TestValidate(t *testing.T) {
	ok := Rule{Subject: "jail", ID: "web", Resource: "memoryuse", Action: "deny", Amount: 1}
	if err := ok.Validate(); err != nil {
		t.Fatalf("Validate(%+v): %v", ok, err)
	}
	tests := []struct {
		name   string
		change func(*Rule)
		want   string
	}{
		{"no_subject", func(r *Rule) { r.Subject = "" }, `subject "" is not supported`},
		{"user_subject", func(r *Rule) { r.Subject = "user" }, `subject "user" is not supported`},
		{"no_id", func(r *Rule) { r.ID = "" }, "missing jail name"},
		{"colon_in_id", func(r *Rule) { r.ID = "a:b" }, "contains ':', ',' or NUL"},
		{"upper_case_resource", func(r *Rule) { r.Resource = "MemoryUse" }, `unknown resource "MemoryUse"`},
		{"no_resource", func(r *Rule) { r.Resource = "" }, `unknown resource ""`},
		{"no_action", func(r *Rule) { r.Action = "" }, `unknown action ""`},
		{"bad_per", func(r *Rule) { r.Per = "thread" }, `unknown per "thread"`},
		{"negative", func(r *Rule) { r.Amount = -1 }, "amount -1 is negative"},
		{"pcpu_too_large", func(r *Rule) { r.Resource, r.Amount = "pcpu", 1<<62 }, "too large for pcpu"},
		{"deny_readbps", func(r *Rule) { r.Resource = "readbps" }, "action deny is not supported for readbps"},
		{"sloppy_per_process", func(r *Rule) { r.Resource, r.Per = "nshm", "process" }, "nshm cannot be counted per process"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := ok
			tt.change(&r)
			err := r.Validate()
			if err == nil || !strings.Contains(err.Error(), tt.want) || !errors.Is(err, ErrInvalidRule) {
				t.Errorf("Validate(%+v) = %v, want an ErrInvalidRule containing %q", r, err, tt.want)
			}
		})
	}
}

func TestParseAnnotation(t *testing.T) {
	got, err := ParseAnnotation("memoryuse:deny=512m,maxproc:deny=100,openfiles:deny=1024")
	if err != nil {
		t.Fatal(err)
	}
	want := []Rule{
		{Subject: "jail", Resource: "memoryuse", Action: "deny", Amount: 512 << 20},
		{Subject: "jail", Resource: "maxproc", Action: "deny", Amount: 100},
		{Subject: "jail", Resource: "openfiles", Action: "deny", Amount: 1024},
	}
	if !slices.Equal(got, want) {
		t.Errorf("got %+v\nwant %+v", got, want)
	}

	got, err = ParseAnnotation(" memoryuse:deny=1g/jail , openfiles:deny=64/process,\tpcpu:deny=50 ")
	if err != nil {
		t.Fatal(err)
	}
	want = []Rule{
		{Subject: "jail", Resource: "memoryuse", Action: "deny", Amount: 1 << 30},
		{Subject: "jail", Resource: "openfiles", Action: "deny", Amount: 64, Per: "process"},
		{Subject: "jail", Resource: "pcpu", Action: "deny", Amount: 50},
	}
	if !slices.Equal(got, want) {
		t.Errorf("got %+v\nwant %+v", got, want)
	}

	// The same resource with different actions or pers is not a repeat.
	if _, err := ParseAnnotation("memoryuse:deny=1g,memoryuse:log=900m,memoryuse:deny=100m/process"); err != nil {
		t.Errorf("distinct rules for one resource: %v", err)
	}

	for _, empty := range []string{"", "  "} {
		rules, err := ParseAnnotation(empty)
		if err != nil || rules != nil {
			t.Errorf("ParseAnnotation(%q) = %v, %v; want no rules", empty, rules, err)
		}
	}
}

func TestParseAnnotationErrors(t *testing.T) {
	tests := []struct {
		name, value, want string
	}{
		{"unknown_resource", "memoryuse:deny=512m,maxprc:deny=100", `annotations["org.freebsd.rctl"][1]: "maxprc:deny=100": unknown resource "maxprc"`},
		{"unknown_action", "memoryuse:dney=1", `annotations["org.freebsd.rctl"][0]: "memoryuse:dney=1": unknown action "dney"`},
		{"bad_amount", "memoryuse:deny=lots", `annotations["org.freebsd.rctl"][0]: "memoryuse:deny=lots": amount "lots": want a non-negative decimal number with an optional b, k, m, g, t, p or e suffix`},
		{"with_subject", "jail:web:memoryuse:deny=1", `annotations["org.freebsd.rctl"][0]: "jail:web:memoryuse:deny=1": want resource:action=amount[/per], without a subject`},
		{"no_colon", "memoryuse", `annotations["org.freebsd.rctl"][0]: "memoryuse": want resource:action=amount[/per]`},
		{"empty_item", "memoryuse:deny=1,,maxproc:deny=1", `annotations["org.freebsd.rctl"][1]: "": empty rule`},
		{"trailing_comma", "memoryuse:deny=1,", `annotations["org.freebsd.rctl"][1]: "": empty rule`},
		{"repeat", "maxproc:deny=10,memoryuse:deny=1,maxproc:deny=20", `annotations["org.freebsd.rctl"][2]: "maxproc:deny=20": repeats the maxproc:deny rule at [0]`},
		{"repeat_with_jail_per", "maxproc:deny=10,maxproc:deny=20/jail", `annotations["org.freebsd.rctl"][1]: "maxproc:deny=20/jail": repeats the maxproc:deny rule at [0]`},
		{"deny_cputime", "cputime:deny=60", `annotations["org.freebsd.rctl"][0]: "cputime:deny=60": action deny is not supported for cputime`},
		{"sloppy_per_process", "swapuse:deny=1g/process", `annotations["org.freebsd.rctl"][0]: "swapuse:deny=1g/process": swapuse cannot be counted per process`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rules, err := ParseAnnotation(tt.value)
			if err == nil {
				t.Fatalf("ParseAnnotation(%q) = %+v, want an error", tt.value, rules)
			}
			if !strings.HasPrefix(err.Error(), tt.want) {
				t.Errorf("error = %q\nwant   %q", err, tt.want)
			}
			if !errors.Is(err, ErrInvalidRule) {
				t.Errorf("error %q does not wrap ErrInvalidRule", err)
			}
		})
	}
}

func TestParseAnnotationRulesBecomeJailRules(t *testing.T) {
	rules, err := ParseAnnotation("memoryuse:deny=512m,openfiles:deny=1k/process")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range rules {
		r.ID = "web"
		if err := r.Validate(); err != nil {
			t.Fatal(err)
		}
		got = append(got, r.String())
	}
	want := []string{"jail:web:memoryuse:deny=536870912", "jail:web:openfiles:deny=1024/process"}
	if !slices.Equal(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
}
