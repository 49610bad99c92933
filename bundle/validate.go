package bundle

import (
	"fmt"
	"maps"
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"github.com/sirupsen/logrus"
)

// Supported ociVersion range: 1.0.0 through 1.3.x.
const (
	minMajor, minMinor = 1, 0
	maxMajor, maxMinor = 1, 3
)

// maxHostnameLen is MAXHOSTNAMELEN - 1 (sys/sys/param.h: MAXHOSTNAMELEN 256).
const maxHostnameLen = 255

// Validate checks a spec for what runj-go can apply on FreeBSD. It reports
// every problem found, each naming the JSON path and the offending value.
// Sections and fields that only other platforms use are ignored, logged at
// debug level: containerd's FreeBSD specs carry them.
func Validate(spec *specs.Spec, log logrus.FieldLogger) error {
	var errs Errors
	validateVersion(spec.Version, &errs)
	if spec.Root == nil || spec.Root.Path == "" {
		errs.Add("root.path", "is required")
	}
	validateHostname(spec, &errs)
	if spec.Process != nil {
		validateProcess(spec.Process, "process", &errs)
		logIgnoredProcess(spec.Process, log)
	}
	for i, m := range spec.Mounts {
		validateMount(m, fmt.Sprintf("mounts[%d]", i), &errs)
	}
	validateHooks(spec.Hooks, &errs)
	if spec.FreeBSD != nil {
		for i, d := range spec.FreeBSD.Devices {
			validateDevice(d, fmt.Sprintf("freebsd.devices[%d]", i), &errs)
		}
	}
	logIgnoredSections(spec, log)
	return errs.Err()
}

// semver is MAJOR.MINOR.PATCH with an optional pre-release or build suffix
// (semver.org); runtime-spec's own development versions look like
// "1.3.1-dev".
var semver = regexp.MustCompile(`^(0|[1-9][0-9]{0,8})\.(0|[1-9][0-9]{0,8})\.(0|[1-9][0-9]{0,8})([-+][0-9A-Za-z.+-]+)?$`)

func validateVersion(v string, errs *Errors) {
	m := semver.FindStringSubmatch(v)
	if m == nil {
		errs.Add("ociVersion", "%q is not a semantic version", v)
		return
	}
	major, _ := strconv.Atoi(m[1])
	minor, _ := strconv.Atoi(m[2])
	if major < minMajor || major > maxMajor || (major == minMajor && minor < minMinor) || (major == maxMajor && minor > maxMinor) {
		errs.Add("ociVersion", "%q is not supported (runj-go supports %d.%d.0 to %d.%d.x)", v, minMajor, minMinor, maxMajor, maxMinor)
	}
}

func validateHostname(spec *specs.Spec, errs *Errors) {
	for _, f := range []struct{ path, v string }{{"hostname", spec.Hostname}, {"domainname", spec.Domainname}} {
		if len(f.v) > maxHostnameLen {
			errs.Add(f.path, "%q is longer than %d bytes", f.v, maxHostnameLen)
		}
		if strings.ContainsFunc(f.v, isControl) {
			errs.Add(f.path, "%q contains a control character", f.v)
		}
	}
}

// ValidateProcess checks a process description from file; exec uses it for
// --process files and for the process it derives from the container's.
func ValidateProcess(p *specs.Process, file string) error {
	var errs Errors
	validateProcess(p, "process", &errs)
	for _, e := range errs {
		e.File = file
	}
	return errs.Err()
}

func validateProcess(p *specs.Process, prefix string, errs *Errors) {
	if len(p.Args) == 0 || p.Args[0] == "" {
		errs.Add(prefix+".args", "must name the program to run")
	}
	if p.Cwd == "" || !path.IsAbs(p.Cwd) {
		errs.Add(prefix+".cwd", "%q is not an absolute path", p.Cwd)
	}
	for i, e := range p.Env {
		if k, _, ok := strings.Cut(e, "="); !ok || k == "" || strings.ContainsRune(e, 0) {
			errs.Add(fmt.Sprintf("%s.env[%d]", prefix, i), "%q is not KEY=VALUE", e)
		}
	}
	if p.ConsoleSize != nil && !p.Terminal {
		errs.Add(prefix+".consoleSize", "is set but %s.terminal is false", prefix)
	}
	if p.User.Username != "" {
		errs.Add(prefix+".user.username", "%q: FreeBSD processes take numeric uid and gid, not a Windows user name", p.User.Username)
	}
	if p.CommandLine != "" {
		errs.Add(prefix+".commandLine", "is Windows-only; use %s.args", prefix)
	}
	// Keyed by resource: RLIMIT_AS and RLIMIT_VMEM are the same limit.
	seen := map[int]string{}
	for i, r := range p.Rlimits {
		at := fmt.Sprintf("%s.rlimits[%d]", prefix, i)
		res, ok := Rlimits[r.Type]
		if !ok {
			errs.Add(at+".type", "%q is not a FreeBSD resource limit (known: %s)", r.Type, strings.Join(rlimitNames(), ", "))
			continue
		}
		if prev, dup := seen[res]; dup && prev == r.Type {
			errs.Add(at+".type", "%q is given more than once", r.Type)
		} else if dup {
			errs.Add(at+".type", "%q is the same resource limit as %q, given before", r.Type, prev)
		}
		seen[res] = r.Type
		if r.Soft > r.Hard {
			errs.Add(at, "soft limit %d is above hard limit %d", r.Soft, r.Hard)
		}
	}
}

func rlimitNames() []string {
	names := make([]string, 0, len(Rlimits))
	for n := range Rlimits {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

func validateMount(m specs.Mount, at string, errs *Errors) {
	if m.Destination == "" || !path.IsAbs(m.Destination) {
		errs.Add(at+".destination", "%q is not an absolute path", m.Destination)
	}
	if len(m.UIDMappings) > 0 || len(m.GIDMappings) > 0 {
		errs.Add(at, "uidMappings and gidMappings (id-mapped mounts) are not available on FreeBSD")
	}
	for j, o := range m.Options {
		if o == "" || strings.ContainsRune(o, 0) {
			errs.Add(fmt.Sprintf("%s.options[%d]", at, j), "%q is not a mount option", o)
		}
	}
}

func validateHooks(h *specs.Hooks, errs *Errors) {
	if h == nil {
		return
	}
	lists := []struct {
		name  string
		hooks []specs.Hook
	}{
		//lint:ignore SA1019 prestart is deprecated but runtime.md still runs it.
		{"prestart", h.Prestart}, {"createRuntime", h.CreateRuntime},
		{"createContainer", h.CreateContainer}, {"startContainer", h.StartContainer},
		{"poststart", h.Poststart}, {"poststop", h.Poststop},
	}
	for _, l := range lists {
		for i, hk := range l.hooks {
			at := fmt.Sprintf("hooks.%s[%d]", l.name, i)
			if !path.IsAbs(hk.Path) {
				errs.Add(at+".path", "%q is not an absolute path", hk.Path)
			}
			if hk.Timeout != nil && *hk.Timeout <= 0 {
				errs.Add(at+".timeout", "%d is not a positive number of seconds", *hk.Timeout)
			}
			for j, e := range hk.Env {
				if k, _, ok := strings.Cut(e, "="); !ok || k == "" {
					errs.Add(fmt.Sprintf("%s.env[%d]", at, j), "%q is not KEY=VALUE", e)
				}
			}
		}
	}
}

func validateDevice(d specs.FreeBSDDevice, at string, errs *Errors) {
	clean := path.Clean(d.Path)
	if d.Path == "" || path.IsAbs(d.Path) || clean == ".." || strings.HasPrefix(clean, "../") || clean != d.Path {
		errs.Add(at+".path", "%q is not a clean path relative to /dev", d.Path)
	}
	if d.Mode != nil && *d.Mode&^0o7777 != 0 {
		errs.Add(at+".mode", "%d (%#o) has bits beyond the permission bits 07777", uint32(*d.Mode), uint32(*d.Mode))
	}
}

func isControl(r rune) bool { return r < 0x20 || r == 0x7f }

func logIgnoredProcess(p *specs.Process, log logrus.FieldLogger) {
	ignored := map[string]bool{
		"process.capabilities":    p.Capabilities != nil,
		"process.apparmorProfile": p.ApparmorProfile != "",
		"process.selinuxLabel":    p.SelinuxLabel != "",
		"process.oomScoreAdj":     p.OOMScoreAdj != nil,
		"process.ioPriority":      p.IOPriority != nil,
		"process.scheduler":       p.Scheduler != nil,
		"process.execCPUAffinity": p.ExecCPUAffinity != nil,
	}
	for _, name := range slices.Sorted(maps.Keys(ignored)) {
		if ignored[name] {
			log.WithField("field", name).Debug("ignoring Linux-only process setting")
		}
	}
}

func logIgnoredSections(spec *specs.Spec, log logrus.FieldLogger) {
	ignored := map[string]bool{
		"linux":   spec.Linux != nil,
		"windows": spec.Windows != nil,
		"solaris": spec.Solaris != nil,
		"vm":      spec.VM != nil,
		"zos":     spec.ZOS != nil,
	}
	for _, name := range slices.Sorted(maps.Keys(ignored)) {
		if ignored[name] {
			log.WithField("section", name).Debug("ignoring section for another platform")
		}
	}
}
