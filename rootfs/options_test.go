package rootfs

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
)

func strp(s string) *string { return &s }

func TestNewRequestFlags(t *testing.T) {
	const all = MntRdonly | MntNosuid | MntNoexec | MntNoatime | MntNosymfollow | MntUnion
	tests := []struct {
		name    string
		options []string
		want    int
	}{
		{"no_options_no_flags", nil, 0},
		{"ro", []string{"ro"}, MntRdonly},
		{"rdonly_is_ro", []string{"rdonly"}, MntRdonly},
		{"rw", []string{"rw"}, 0},
		{"ro_then_rw_is_rw", []string{"ro", "rw"}, 0},
		{"rw_then_ro_is_ro", []string{"rw", "ro"}, MntRdonly},
		{"noro_clears_ro", []string{"ro", "noro"}, 0},
		{"norw_is_ro", []string{"norw"}, MntRdonly},
		{"nordonly_clears_rdonly", []string{"rdonly", "nordonly"}, 0},
		{"nosuid", []string{"nosuid"}, MntNosuid},
		{"suid", []string{"suid"}, 0},
		{"nosuid_then_suid_is_suid", []string{"nosuid", "suid"}, 0},
		{"suid_then_nosuid_is_nosuid", []string{"suid", "nosuid"}, MntNosuid},
		{"noexec", []string{"noexec"}, MntNoexec},
		{"noexec_then_exec_is_exec", []string{"noexec", "exec"}, 0},
		{"exec_then_noexec_is_noexec", []string{"exec", "noexec"}, MntNoexec},
		{"noatime", []string{"noatime"}, MntNoatime},
		{"noatime_then_atime_is_atime", []string{"noatime", "atime"}, 0},
		{"nosymfollow", []string{"nosymfollow"}, MntNosymfollow},
		{"nosymfollow_then_symfollow", []string{"nosymfollow", "symfollow"}, 0},
		{"sync", []string{"sync"}, MntSynchronous},
		{"async", []string{"async"}, MntAsync},
		{"sync_then_async_is_async", []string{"sync", "async"}, MntAsync},
		{"async_then_sync_is_sync", []string{"async", "sync"}, MntSynchronous},
		{"nosync_clears_sync", []string{"sync", "nosync"}, 0},
		{"noasync_clears_async", []string{"async", "noasync"}, 0},
		{"union", []string{"union"}, MntUnion},
		{"nounion_clears_union", []string{"union", "nounion"}, 0},
		{"rro_is_ro", []string{"rro"}, MntRdonly},
		{"rrw_after_ro_is_rw", []string{"ro", "rrw"}, 0},
		{"rnosuid_is_nosuid", []string{"rnosuid"}, MntNosuid},
		{"rsuid_after_nosuid_is_suid", []string{"nosuid", "rsuid"}, 0},
		{"rnoexec_is_noexec", []string{"rnoexec"}, MntNoexec},
		{"rexec_after_noexec_is_exec", []string{"noexec", "rexec"}, 0},
		{"rnoatime_is_noatime", []string{"rnoatime"}, MntNoatime},
		{"ratime_after_noatime_is_atime", []string{"noatime", "ratime"}, 0},
		{"rnosymfollow_is_nosymfollow", []string{"rnosymfollow"}, MntNosymfollow},
		{"rsymfollow_after_nosymfollow", []string{"nosymfollow", "rsymfollow"}, 0},
		{"all_together", []string{"ro", "nosuid", "noexec", "noatime", "nosymfollow", "union"}, all},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, ignored, err := NewRequest("tmpfs", "tmpfs", "/r/tmp", tt.options)
			if err != nil {
				t.Fatal(err)
			}
			if req.Flags != tt.want {
				t.Errorf("Flags = %#x, want %#x", req.Flags, tt.want)
			}
			if req.Opts != nil || ignored != nil {
				t.Errorf("flag options left Opts %v, ignored %v", req.Opts, ignored)
			}
		})
	}
}

func TestNewRequest(t *testing.T) {
	tests := []struct {
		name                string
		typ, source, target string
		options             []string
		want                Request
		wantIgnored         []string
	}{
		{
			name: "tmpfs_options_pass_through_in_spec_order",
			typ:  "tmpfs", source: "tmpfs", target: "/r/tmp",
			options: []string{"size=64m", "mode=1777", "uid=0", "gid=1001", "inodes=1000", "maxfilesize=1m", "easize=0x10k", "nosuid"},
			want: Request{FSType: "tmpfs", Source: "tmpfs", Target: "/r/tmp", Flags: MntNosuid, Opts: []Opt{
				{"size", strp("64m")}, {"mode", strp("1777")}, {"uid", strp("0")}, {"gid", strp("1001")},
				{"inodes", strp("1000")}, {"maxfilesize", strp("1m")}, {"easize", strp("0x10k")},
			}},
		},
		{
			name: "tmpfs_flag_options_pass_through",
			typ:  "tmpfs", source: "tmpfs", target: "/r/tmp",
			options: []string{"nonc", "nomtime", "pgread"},
			want:    Request{FSType: "tmpfs", Source: "tmpfs", Target: "/r/tmp", Opts: []Opt{{"nonc", nil}, {"nomtime", nil}, {"pgread", nil}}},
		},
		{
			name: "later_size_wins",
			typ:  "tmpfs", source: "tmpfs", target: "/r/tmp",
			options: []string{"size=1m", "mode=755", "size=2m"},
			want:    Request{FSType: "tmpfs", Source: "tmpfs", Target: "/r/tmp", Opts: []Opt{{"mode", strp("755")}, {"size", strp("2m")}}},
		},
		{
			name: "type_bind_is_nullfs",
			typ:  "bind", source: "/host/data", target: "/r/data",
			options: []string{"rbind", "ro"},
			want:    Request{FSType: "nullfs", Source: "/host/data", Target: "/r/data", Flags: MntRdonly},
		},
		{
			name: "bind_option_is_nullfs",
			typ:  "none", source: "/host/data", target: "/r/data",
			options: []string{"bind"},
			want:    Request{FSType: "nullfs", Source: "/host/data", Target: "/r/data"},
		},
		{
			name: "rbind_option_overrides_type",
			typ:  "tmpfs", source: "/host/data", target: "/r/data",
			options:     []string{"nosuid", "rbind", "rprivate"},
			want:        Request{FSType: "nullfs", Source: "/host/data", Target: "/r/data", Flags: MntNosuid},
			wantIgnored: []string{"rprivate"},
		},
		{
			name: "nullfs_type_and_its_options",
			typ:  "nullfs", source: "/host/data", target: "/r/data",
			options: []string{"cache", "nocache"},
			want:    Request{FSType: "nullfs", Source: "/host/data", Target: "/r/data", Opts: []Opt{{"nocache", nil}}},
		},
		{
			name: "devfs_gets_the_default_ruleset",
			typ:  "devfs", source: "devfs", target: "/r/dev",
			want: Request{FSType: "devfs", Source: "devfs", Target: "/r/dev", Opts: []Opt{{"ruleset", strp("4")}}},
		},
		{
			name: "devfs_keeps_its_ruleset",
			typ:  "devfs", source: "devfs", target: "/r/dev",
			options: []string{"ruleset=10"},
			want:    Request{FSType: "devfs", Source: "devfs", Target: "/r/dev", Opts: []Opt{{"ruleset", strp("10")}}},
		},
		{
			name: "devfs_later_ruleset_wins",
			typ:  "devfs", source: "devfs", target: "/r/dev",
			options: []string{"ruleset=5", "ruleset=0"},
			want:    Request{FSType: "devfs", Source: "devfs", Target: "/r/dev", Opts: []Opt{{"ruleset", strp("0")}}},
		},
		{
			name: "devfs_ignores_linux_dev_tmpfs_options",
			typ:  "devfs", source: "devfs", target: "/r/dev",
			options:     []string{"nosuid", "strictatime", "mode=755", "size=65536k", "nr_inodes=1000"},
			want:        Request{FSType: "devfs", Source: "devfs", Target: "/r/dev", Flags: MntNosuid, Opts: []Opt{{"ruleset", strp("4")}}},
			wantIgnored: []string{"strictatime", "mode=755", "size=65536k", "nr_inodes=1000"},
		},
		{
			name: "tmpfs_keeps_mode_and_size",
			typ:  "tmpfs", source: "tmpfs", target: "/r/dev",
			options: []string{"mode=755", "size=65536k"},
			want:    Request{FSType: "tmpfs", Source: "tmpfs", Target: "/r/dev", Opts: []Opt{{"mode", strp("755")}, {"size", strp("65536k")}}},
		},
		{
			name: "fdescfs_options",
			typ:  "fdescfs", source: "fdesc", target: "/r/dev/fd",
			options: []string{"linrdlnk", "nodup", "rdlnk"},
			want:    Request{FSType: "fdescfs", Source: "fdesc", Target: "/r/dev/fd", Opts: []Opt{{"linrdlnk", nil}, {"nodup", nil}, {"rdlnk", nil}}},
		},
		{
			name: "pseudofs_types_keep_their_source",
			typ:  "linprocfs", source: "linproc", target: "/r/proc",
			options: []string{"noexec"},
			want:    Request{FSType: "linprocfs", Source: "linproc", Target: "/r/proc", Flags: MntNoexec},
		},
		{
			name: "empty_source_stays_empty",
			typ:  "procfs", target: "/r/proc",
			want: Request{FSType: "procfs", Target: "/r/proc"},
		},
		{
			name: "key_value_splits_at_the_first_equals_sign",
			typ:  "somefs", source: "x", target: "/r/x",
			options: []string{"a=b=c", "empty=", "word"},
			want:    Request{FSType: "somefs", Source: "x", Target: "/r/x", Opts: []Opt{{"a", strp("b=c")}, {"empty", strp("")}, {"word", nil}}},
		},
		{
			name: "dotted_no_forms_are_one_option",
			typ:  "somefs", source: "x", target: "/r/x",
			options: []string{"x.cache", "y", "x.nocache"},
			want:    Request{FSType: "somefs", Source: "x", Target: "/r/x", Opts: []Opt{{"y", nil}, {"x.nocache", nil}}},
		},
		{
			name: "linux_only_options_are_ignored",
			typ:  "tmpfs", source: "tmpfs", target: "/r/tmp",
			options: []string{
				"private", "rprivate", "shared", "rshared", "slave", "rslave", "unbindable", "runbindable",
				"dev", "nodev", "rdev", "rnodev",
				"relatime", "norelatime", "rrelatime", "rnorelatime",
				"strictatime", "nostrictatime", "rstrictatime", "rnostrictatime",
				"lazytime", "nolazytime", "diratime", "nodiratime", "rdiratime", "rnodiratime",
				"iversion", "noiversion", "mand", "nomand", "silent", "loud",
				"defaults", "dirsync", "idmap", "ridmap", "tmpcopyup",
			},
			want: Request{FSType: "tmpfs", Source: "tmpfs", Target: "/r/tmp"},
			wantIgnored: []string{
				"private", "rprivate", "shared", "rshared", "slave", "rslave", "unbindable", "runbindable",
				"dev", "nodev", "rdev", "rnodev",
				"relatime", "norelatime", "rrelatime", "rnorelatime",
				"strictatime", "nostrictatime", "rstrictatime", "rnostrictatime",
				"lazytime", "nolazytime", "diratime", "nodiratime", "rdiratime", "rnodiratime",
				"iversion", "noiversion", "mand", "nomand", "silent", "loud",
				"defaults", "dirsync", "idmap", "ridmap", "tmpcopyup",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, ignored, err := NewRequest(tt.typ, tt.source, tt.target, tt.options)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(req, tt.want) {
				t.Errorf("request =\n%s\nwant\n%s", dumpRequest(req), dumpRequest(tt.want))
			}
			if !reflect.DeepEqual(ignored, tt.wantIgnored) {
				t.Errorf("ignored = %q, want %q", ignored, tt.wantIgnored)
			}
		})
	}
}

func dumpRequest(r Request) string {
	opts := make([]string, len(r.Opts))
	for i, o := range r.Opts {
		opts[i] = o.String()
		if o.Value == nil {
			opts[i] += " (flag)"
		}
	}
	return fmt.Sprintf("%s %s on %s flags %#x [%s]", r.FSType, r.Source, r.Target, r.Flags, strings.Join(opts, ", "))
}

func TestNewRequestDoesNotChangeOptions(t *testing.T) {
	options := []string{"size=1m", "ro", "size=2m"}
	if _, _, err := NewRequest("tmpfs", "tmpfs", "/r/tmp", options); err != nil {
		t.Fatal(err)
	}
	if want := []string{"size=1m", "ro", "size=2m"}; !reflect.DeepEqual(options, want) {
		t.Errorf("options = %q, want %q", options, want)
	}
}

func TestNewRequestErrors(t *testing.T) {
	tests := []struct {
		name                string
		typ, source, target string
		options             []string
		want                string
	}{
		{"empty_type", "", "x", "/r/x", nil, "mount type is empty"},
		{"type_too_long", "abcdefghijklmnop", "x", "/r/x", nil, "longer than 15 bytes"},
		{"type_with_NUL", "tmp\x00fs", "x", "/r/x", nil, "NUL"},
		{"relative_target", "tmpfs", "tmpfs", "r/tmp", nil, "not an absolute path"},
		{"empty_target", "tmpfs", "tmpfs", "", nil, "not an absolute path"},
		{"target_with_NUL", "tmpfs", "tmpfs", "/r/t\x00mp", nil, "NUL"},
		{"target_too_long", "tmpfs", "tmpfs", "/" + strings.Repeat("a", 1023), nil, "longer than 1023 bytes"},
		{"relative_bind_source", "bind", "data", "/r/data", nil, "not an absolute path"},
		{"empty_bind_source", "none", "", "/r/data", []string{"rbind"}, "not an absolute path"},
		{"source_with_NUL", "tmpfs", "tm\x00pfs", "/r/tmp", nil, "NUL"},
		{"empty_option", "tmpfs", "tmpfs", "/r/tmp", []string{""}, "empty option name"},
		{"empty_option_name", "tmpfs", "tmpfs", "/r/tmp", []string{"=1"}, "empty option name"},
		{"NUL_in_option_name", "somefs", "x", "/r/x", []string{"a\x00b"}, "NUL"},
		{"NUL_in_option_value", "somefs", "x", "/r/x", []string{"a=b\x00c"}, "NUL"},
		{"fspath_option", "tmpfs", "tmpfs", "/r/tmp", []string{"fspath=/"}, `"fspath" is set from the mount`},
		{"nofspath_option", "tmpfs", "tmpfs", "/r/tmp", []string{"nofspath"}, `"fspath" is set from the mount`},
		{"fstype_option", "tmpfs", "tmpfs", "/r/tmp", []string{"fstype=nullfs"}, `"fstype" is set from the mount`},
		{"from_option", "tmpfs", "tmpfs", "/r/tmp", []string{"from=x"}, `"from" is set from the mount`},
		{"target_option", "bind", "/a", "/r/a", []string{"target=/"}, `"target" is set from the mount`},
		{"errmsg_option", "tmpfs", "tmpfs", "/r/tmp", []string{"errmsg"}, `"errmsg" is set from the mount`},
		{"update", "tmpfs", "tmpfs", "/r/tmp", []string{"update"}, "changes an existing mount"},
		{"force", "tmpfs", "tmpfs", "/r/tmp", []string{"force"}, "changes an existing mount"},
		{"reload", "tmpfs", "tmpfs", "/r/tmp", []string{"reload"}, "changes an existing mount"},
		{"export", "bind", "/a", "/r/a", []string{"export"}, "changes an existing mount"},
		{"remount", "bind", "/a", "/r/a", []string{"remount", "ro"}, "changes an existing mount"},
		{"flag_with_value", "tmpfs", "tmpfs", "/r/tmp", []string{"ro=1"}, `"ro" is a mount flag`},
		{"tmpfs_size_percent", "tmpfs", "tmpfs", "/r/tmp", []string{"size=50%"}, "not a size"},
		{"tmpfs_size_without_value", "tmpfs", "tmpfs", "/r/tmp", []string{"size"}, "size needs a value"},
		{"tmpfs_size_empty", "tmpfs", "tmpfs", "/r/tmp", []string{"size="}, "not a size"},
		{"tmpfs_size_negative", "tmpfs", "tmpfs", "/r/tmp", []string{"size=-1"}, "not a size"},
		{"tmpfs_size_two_suffixes", "tmpfs", "tmpfs", "/r/tmp", []string{"size=1mb"}, "not a size"},
		{"tmpfs_size_overflows", "tmpfs", "tmpfs", "/r/tmp", []string{"size=9223372036854775807k"}, "overflows"},
		{"tmpfs_inodes_word", "tmpfs", "tmpfs", "/r/tmp", []string{"inodes=many"}, "not a size"},
		{"tmpfs_maxfilesize_bad", "tmpfs", "tmpfs", "/r/tmp", []string{"maxfilesize=1x"}, "not a size"},
		{"tmpfs_easize_bad", "tmpfs", "tmpfs", "/r/tmp", []string{"easize=08"}, "not a size"},
		{"tmpfs_mode_not_octal", "tmpfs", "tmpfs", "/r/tmp", []string{"mode=999"}, "not an octal mode"},
		{"tmpfs_mode_symbolic", "tmpfs", "tmpfs", "/r/tmp", []string{"mode=u+rwx"}, "not an octal mode"},
		{"tmpfs_mode_0o_prefix", "tmpfs", "tmpfs", "/r/tmp", []string{"mode=0o755"}, "not an octal mode"},
		{"tmpfs_mode_too_big", "tmpfs", "tmpfs", "/r/tmp", []string{"mode=10000"}, "not an octal mode"},
		{"tmpfs_mode_without_value", "tmpfs", "tmpfs", "/r/tmp", []string{"mode"}, "mode needs a value"},
		{"tmpfs_uid_negative", "tmpfs", "tmpfs", "/r/tmp", []string{"uid=-1"}, "not a uid"},
		{"tmpfs_uid_name", "tmpfs", "tmpfs", "/r/tmp", []string{"uid=root"}, "not a uid"},
		{"tmpfs_gid_too_big", "tmpfs", "tmpfs", "/r/tmp", []string{"gid=2147483648"}, "not a gid"},
		{"devfs_ruleset_word", "devfs", "devfs", "/r/dev", []string{"ruleset=jail"}, "not a devfs ruleset"},
		{"devfs_ruleset_too_big", "devfs", "devfs", "/r/dev", []string{"ruleset=65536"}, "not a devfs ruleset"},
		{"devfs_ruleset_without_value", "devfs", "devfs", "/r/dev", []string{"ruleset"}, "ruleset needs a value"},
		{"devfs_noruleset", "devfs", "devfs", "/r/dev", []string{"noruleset"}, "devfs takes no option but ruleset"},
		{"devfs_unknown_option", "devfs", "devfs", "/r/dev", []string{"uid=0"}, "devfs takes no option but ruleset"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, ignored, err := NewRequest(tt.typ, tt.source, tt.target, tt.options)
			if err == nil {
				t.Fatalf("NewRequest = %s, ignored %q; want an error containing %q", dumpRequest(req), ignored, tt.want)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not contain %q", err, tt.want)
			}
		})
	}
}

func TestNewRequestErrorNamesTheOption(t *testing.T) {
	_, _, err := NewRequest("tmpfs", "tmpfs", "/r/tmp", []string{"mode=1777", "size=50%"})
	if err == nil || !strings.HasPrefix(err.Error(), `mount option "size=50%": `) {
		t.Errorf("error = %v, want it to start with the option", err)
	}
}

func TestParseSize(t *testing.T) {
	tests := []struct {
		in   string
		want int64
	}{
		{"0", 0},
		{"10", 10},
		{"10k", 10 << 10},
		{"10K", 10 << 10},
		{"64m", 64 << 20},
		{"2G", 2 << 30},
		{"1t", 1 << 40},
		{"0x10", 16},
		{"0X1f", 31},
		{"0x10k", 16 << 10},
		{"010", 8},
		{"010m", 8 << 20},
		{"0k", 0},
		{"9223372036854775807", 1<<63 - 1},
		{"8388607t", 8388607 << 40},
	}
	for _, tt := range tests {
		got, err := parseSize(tt.in)
		if err != nil || got != tt.want {
			t.Errorf("parseSize(%q) = %d, %v; want %d", tt.in, got, err, tt.want)
		}
	}
	for _, in := range []string{
		"", "k", "m", "-1", "+1", " 1", "1 ", "1_000", "1.5m", "1mb", "1e", "50%",
		"0x", "0xg", "08", "0b1", "0o7", "9223372036854775808", "8388608t",
	} {
		if got, err := parseSize(in); err == nil {
			t.Errorf("parseSize(%q) = %d, want an error", in, got)
		}
	}
}
