//go:build simkernel

package kernel

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/runj-go/runj-go/jailspec"
	"github.com/runj-go/runj-go/oci/procs"
	"github.com/runj-go/runj-go/rootfs"
)

// The simulated kernel, for end-to-end tests on any OS. It keeps its jails
// in a JSON file, appends every operation to ops.jsonl, runs container
// processes on the host (chrooted into the jail path when running as root)
// and tracks the processes of a jail by session: every process the runtime
// puts into a jail is a session leader, so its descendants share its
// session id.
//
// Environment:
//
//	RUNJ_GO_SIMKERNEL_DIR   where the simulated kernel keeps its files
//	                        (default: <root>/.simkernel)
//	RUNJ_GO_SIMKERNEL_FAIL  operations to fail, comma-separated, each
//	                        "op" or "op@N" (fail the Nth call, counting
//	                        from 1, across processes), optionally
//	                        followed by ":ERRNO" to fail with that errno
//	                        ("unmount@1:EBUSY")

// SimDirEnv and SimFailEnv name the simulated kernel's environment.
const (
	SimDirEnv  = "RUNJ_GO_SIMKERNEL_DIR"
	SimFailEnv = "RUNJ_GO_SIMKERNEL_FAIL"
)

// Open returns the simulated kernel keeping its files under
// $RUNJ_GO_SIMKERNEL_DIR, or root/.simkernel.
func Open(root string) (Kernel, error) {
	dir := os.Getenv(SimDirEnv)
	if dir == "" {
		dir = filepath.Join(root, ".simkernel") // a dot name is never a container id
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("simkernel: %w", err)
	}
	// Files are reached through a descriptor of the directory, not by
	// path: a process that attached to a jail is chrooted into it and
	// still records its operations (fexecve of an in-jail hook).
	files, err := os.OpenRoot(dir)
	if err != nil {
		return nil, fmt.Errorf("simkernel: %w", err)
	}
	return &sim{dir: dir, files: files}, nil
}

type sim struct {
	dir   string
	files *os.Root
	// attached is the jail this process attached to, 0 before.
	attached int
}

type simJail struct {
	Name     string          `json:"name"`
	Path     string          `json:"path"`
	Params   json.RawMessage `json:"params"`
	Sessions []int           `json:"sessions"`
	// Leaders holds each session leader's start time, by session id.
	Leaders map[int]uint64 `json:"leaders,omitempty"`
	Vnet    bool           `json:"vnet,omitempty"`
}

type simTable struct {
	NextJid int              `json:"nextJid"`
	Jails   map[int]*simJail `json:"jails"`
	Calls   map[string]int   `json:"calls"`
	// Mounts are the mount points, in mount order, with their types.
	Mounts []simMount `json:"mounts"`
	// Rulesets holds the devfs rulesets the runtime made.
	Rulesets map[uint16][]rootfs.DevfsRule `json:"rulesets"`
	// Rctl holds the rctl rules by jail name.
	Rctl map[string][]string `json:"rctl"`
	// Ifaces are the network interfaces of every vnet.
	Ifaces []*simIface `json:"ifaces"`
	// Routes are the static routes of every vnet.
	Routes []simRoute `json:"routes,omitempty"`
}

// Op is one recorded kernel operation.
type Op struct {
	Op     string          `json:"op"`
	Jid    int             `json:"jid,omitempty"`
	Name   string          `json:"name,omitempty"`
	Params jailspec.Params `json:"params,omitempty"`
	Argv   []string        `json:"argv,omitempty"`
	// nmount and unmount
	FSType string      `json:"fstype,omitempty"`
	Target string      `json:"target,omitempty"`
	Flags  int         `json:"flags,omitempty"`
	Iov    [][2]string `json:"iov,omitempty"`
	// devfs rules
	Mountpoint string            `json:"mountpoint,omitempty"`
	Ruleset    uint16            `json:"ruleset,omitempty"`
	Rule       *rootfs.DevfsRule `json:"rule,omitempty"`
	// set_mtu
	MTU   int    `json:"mtu,omitempty"`
	Error string `json:"error,omitempty"`
}

// update runs fn on the jail table under an exclusive lock and saves it.
func (s *sim) update(fn func(t *simTable) error) error {
	lock, err := s.files.OpenFile("lock", os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return err
	}
	defer lock.Close()
	if err := unix.Flock(int(lock.Fd()), unix.LOCK_EX); err != nil {
		return err
	}
	t := &simTable{NextJid: 1, Jails: map[int]*simJail{}, Calls: map[string]int{}}
	const name = "jails.json"
	if data, err := s.files.ReadFile(name); err == nil {
		if err := json.Unmarshal(data, t); err != nil {
			return fmt.Errorf("simkernel: %s: %w", filepath.Join(s.dir, name), err)
		}
	} else if !errors.Is(err, os.ErrNotExist) {
		return err
	}
	ferr := fn(t)
	data, err := json.Marshal(t)
	if err != nil {
		return err
	}
	if err := s.files.WriteFile(name+".tmp", data, 0o600); err != nil {
		return err
	}
	if err := s.files.Rename(name+".tmp", name); err != nil {
		return err
	}
	return ferr
}

// call counts an operation, fails it when RUNJ_GO_SIMKERNEL_FAIL asks, and
// records it in ops.jsonl.
func (s *sim) call(t *simTable, op Op, do func() error) error {
	t.Calls[op.Op]++
	err := injected(op.Op, t.Calls[op.Op])
	if err == nil {
		err = do()
	}
	if err != nil {
		op.Error = err.Error()
	}
	if rerr := s.record(op); rerr != nil {
		return rerr
	}
	return err
}

// injected returns the failure RUNJ_GO_SIMKERNEL_FAIL asks of the nth call
// of op, or nil: "op[@N][:ERRNO]", the errno by its name (unix.ErrnoName).
func injected(op string, n int) error {
	for _, f := range strings.Split(os.Getenv(SimFailEnv), ",") {
		f, errname, _ := strings.Cut(strings.TrimSpace(f), ":")
		name, at, hasAt := strings.Cut(f, "@")
		if name != op || (hasAt && at != fmt.Sprint(n)) {
			continue
		}
		if errname == "" {
			return fmt.Errorf("%s: simkernel: injected failure", op)
		}
		for e := syscall.Errno(1); e < 256; e++ {
			if unix.ErrnoName(e) == errname {
				return fmt.Errorf("%s: simkernel: injected failure: %w", op, e)
			}
		}
		return fmt.Errorf("%s: simkernel: injected failure: unknown errno name %q in %s", op, errname, SimFailEnv)
	}
	return nil
}

func (s *sim) record(op Op) error {
	line, err := json.Marshal(op)
	if err != nil {
		return err
	}
	f, err := s.files.OpenFile("ops.jsonl", os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = f.Write(append(line, '\n'))
	return err
}

func (s *sim) CreateJail(ps jailspec.Params) (int, error) {
	name, _ := ps.Get("name")
	path, _ := ps.Get("path")
	var jid int
	err := s.update(func(t *simTable) error {
		return s.call(t, Op{Op: "jail_set", Name: name.Str, Params: ps}, func() error {
			for _, j := range t.Jails {
				if j.Name == name.Str {
					return fmt.Errorf("jail_set: jail %q already exists: %w", name.Str, syscall.EEXIST)
				}
			}
			parent, _, hasParent := cutLast(name.Str, ".")
			if hasParent && !t.hasJail(parent) {
				return fmt.Errorf("jail_set: parent jail %q not found: %w", parent, syscall.ENOENT)
			}
			if err := t.checkJailParams(parent, ps); err != nil {
				return err
			}
			if st, err := os.Stat(path.Str); err != nil || !st.IsDir() {
				return fmt.Errorf("jail_set: path %q: %w", path.Str, syscall.ENOENT)
			}
			params, err := json.Marshal(ps)
			if err != nil {
				return err
			}
			jid = t.NextJid
			t.NextJid++
			t.Jails[jid] = &simJail{Name: name.Str, Path: path.Str, Params: params}
			t.newJailNet(jid, ps)
			return nil
		})
	})
	return jid, err
}

// checkJailParams refuses what FreeBSD's jail_set refuses in the
// parameters runj-go builds:
//   - any vnet parameter next to any ip4 or ip6 parameter, whatever their
//     values (sys/kern/kern_jail.c, kern_jail_set: "vnet jails cannot
//     have IP address restrictions");
//   - sysvmsg, sysvsem or sysvshm new or inherit under a parent that has
//     it disabled, as a jail made without the parameter has
//     (sys/kern/sysv_msg.c msg_prison_check, sysv_sem.c sem_prison_check,
//     sysv_shm.c shm_prison_check: EPERM);
//   - an allow.* permission asked for under a parent that was made
//     without it (kern_jail_set: pr_allow & ~ppr->pr_allow, EPERM).
func (t *simTable) checkJailParams(parent string, ps jailspec.Params) error {
	_, vnet := ps.Get("vnet")
	_, ip4 := ps.Get("ip4")
	_, ip6 := ps.Get("ip6")
	if vnet && (ip4 || ip6) {
		return fmt.Errorf("jail_set: vnet jails cannot have IP address restrictions: %w", syscall.EINVAL)
	}
	if parent == "" {
		return nil
	}
	var parentParams map[string]any
	for _, j := range t.Jails {
		if j.Name == parent {
			if err := json.Unmarshal(j.Params, &parentParams); err != nil {
				return err
			}
		}
	}
	for _, p := range ps {
		if p.Kind == jailspec.Bool && p.Bool && strings.HasPrefix(p.Name, "allow.") && parentParams[p.Name] == false {
			return fmt.Errorf("jail_set: %s under parent %q without it: %w", p.Name, parent, syscall.EPERM)
		}
	}
	for _, name := range []string{"sysvmsg", "sysvsem", "sysvshm"} {
		p, ok := ps.Get(name)
		if !ok || jailspec.Sharing(p.Int) == jailspec.Disable {
			continue
		}
		if v := parentParams[name]; v != jailspec.New.String() && v != jailspec.Inherit.String() {
			return fmt.Errorf("jail_set: %s %s under parent %q without it: %w", name, jailspec.Sharing(p.Int), parent, syscall.EPERM)
		}
	}
	return nil
}

func (t *simTable) hasJail(name string) bool {
	for _, j := range t.Jails {
		if j.Name == name {
			return true
		}
	}
	return false
}

func cutLast(s, sep string) (string, string, bool) {
	i := strings.LastIndex(s, sep)
	if i < 0 {
		return "", s, false
	}
	return s[:i], s[i+len(sep):], true
}

func (s *sim) LookupJail(name string) (int, error) {
	jid := 0
	err := s.update(func(t *simTable) error {
		return s.call(t, Op{Op: "jail_get", Name: name}, func() error {
			for id, j := range t.Jails {
				if j.Name == name {
					jid = id
					return nil
				}
			}
			return fmt.Errorf("jail_get %q: %w", name, jailspec.ErrNotFound)
		})
	})
	return jid, err
}

func (s *sim) RemoveJail(jid int) error {
	return s.update(func(t *simTable) error {
		return s.call(t, Op{Op: "jail_remove", Jid: jid}, func() error {
			j, ok := t.Jails[jid]
			if !ok {
				return fmt.Errorf("jail_remove %d: %w", jid, syscall.EINVAL)
			}
			for _, child := range t.Jails {
				if strings.HasPrefix(child.Name, j.Name+".") {
					return fmt.Errorf("jail_remove %d: jail %q has child %q: %w", jid, j.Name, child.Name, syscall.EBUSY)
				}
			}
			// jail_remove kills every process in the jail
			// (sys/kern/kern_jail.c: prison_remove -> killpg of each).
			killSessions(j.liveSessions())
			t.endJailNet(jid)
			delete(t.Jails, jid)
			return nil
		})
	})
}

func killSessions(sids []int) {
	members, err := procs.InSessions(sids...)
	if err != nil {
		return
	}
	for _, p := range members {
		syscall.Kill(p.Pid, syscall.SIGKILL)
	}
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		left, err := procs.InSessions(sids...)
		if err != nil || len(live(left)) == 0 {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func live(ps []procs.Info) []procs.Info {
	var out []procs.Info
	for _, p := range ps {
		if !p.Exited() {
			out = append(out, p)
		}
	}
	return out
}

// AttachJail makes the calling process's session a member of the jail and,
// when running as root, chroots into the jail's path.
func (s *sim) AttachJail(jid int) error {
	var path string
	err := s.update(func(t *simTable) error {
		return s.call(t, Op{Op: "jail_attach", Jid: jid}, func() error {
			j, ok := t.Jails[jid]
			if !ok {
				return fmt.Errorf("jail_attach %d: %w", jid, syscall.EINVAL)
			}
			sid, err := unix.Getsid(0)
			if err != nil {
				return err
			}
			if sid != os.Getpid() {
				return fmt.Errorf("jail_attach: simkernel tracks jails by session; pid %d must be a session leader", os.Getpid())
			}
			j.Sessions = append(j.Sessions, sid)
			if info, err := procs.Get(sid); err == nil {
				if j.Leaders == nil {
					j.Leaders = map[int]uint64{}
				}
				j.Leaders[sid] = info.Start
			}
			path = t.underlying(j.Path)
			s.attached = jid
			return nil
		})
	})
	if err != nil || os.Geteuid() != 0 {
		return err
	}
	if err := unix.Chroot(path); err != nil {
		return fmt.Errorf("jail_attach: chroot %s: %w", path, err)
	}
	return os.Chdir("/")
}

func (s *sim) JailProcs(jid int) ([]procs.Info, error) {
	var sids []int
	err := s.update(func(t *simTable) error {
		j, ok := t.Jails[jid]
		if !ok {
			return fmt.Errorf("jail %d: %w", jid, jailspec.ErrNotFound)
		}
		sids = append(sids, j.liveSessions()...)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return procs.InSessions(sids...)
}

// Fexecve records the call and executes the program open at fd.
func (s *sim) Fexecve(fd uintptr, argv, env []string) error {
	err := s.update(func(t *simTable) error {
		return s.call(t, Op{Op: "fexecve", Argv: argv}, func() error { return nil })
	})
	if err != nil {
		return err
	}
	return fexecve(fd, argv, env)
}

// liveSessions returns the jail's session ids that still name its
// sessions. Linux keeps a pid from reuse while it is any live process's
// session id, but once every member of a session has gone its id can
// return as the pid, and session, of an unrelated process: a session
// whose id now has another leader than the one that attached is over.
func (j *simJail) liveSessions() []int {
	var out []int
	for _, sid := range j.Sessions {
		start, known := j.Leaders[sid]
		if leader, err := procs.Get(sid); known && err == nil && leader.Sid == sid && leader.Start != start {
			continue
		}
		out = append(out, sid)
	}
	return out
}
