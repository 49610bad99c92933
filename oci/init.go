package oci

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"path"
	"runtime"
	"strconv"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/runj-go/runj-go/oci/kernel"
)

// Init is the body of the hidden `runj-go init` command: the process that
// becomes the container process. It reads its configuration from the
// descriptor named by InitPipeEnv, joins the jail and sets up the console;
// for create it then waits while the runtime runs the create hooks, as
// runc's init does, so that a hook may still provide the program or the
// working directory. It then sets the limits, credentials and working
// directory, resolves the program, reports ready, waits on the exec fifo
// (create) and executes the process. It returns only on failure.
func Init(k kernel.Kernel) error {
	// Some credentials are per thread on Linux (setgroups(2) through
	// x/sys/unix, PR_SET_NO_NEW_PRIVS): they must be set on the thread
	// that executes the process. The thread is never unlocked; init ends
	// in exec or exits.
	runtime.LockOSThread()
	fd, err := strconv.Atoi(os.Getenv(InitPipeEnv))
	if err != nil {
		return fmt.Errorf("init: %s is not set: runj-go init is started by the runtime, not by hand", InitPipeEnv)
	}
	os.Unsetenv(InitPipeEnv)
	pipe := os.NewFile(uintptr(fd), "init-pipe")
	dec := json.NewDecoder(pipe)
	var cfg initConfig
	if err := dec.Decode(&cfg); err != nil {
		return fmt.Errorf("init: read configuration: %w", err)
	}
	unix.CloseOnExec(fd)
	if cfg.Hook != nil {
		return runHookInJail(k, &cfg, pipe)
	}
	if cfg.Net != nil {
		return configureJailNet(k, &cfg, pipe)
	}
	var path string
	err = joinJail(k, &cfg)
	if err == nil && cfg.WaitHooks {
		if err := reply(pipe, initReply{Attached: true}); err != nil {
			return err
		}
		var next initProceed
		if err := dec.Decode(&next); err != nil || !next.Proceed {
			// The runtime gave up (a hook failed): it kills init.
			return ErrReported
		}
	}
	if err == nil {
		path, err = prepareProcess(&cfg)
	}
	if err != nil {
		if reply(pipe, initReply{Error: err.Error()}) != nil {
			return err
		}
		return ErrReported
	}
	if err := reply(pipe, initReply{Ready: true}); err != nil {
		return err
	}
	if cfg.FifoFd >= 0 {
		pipe.Close()
		if err := waitStart(cfg.FifoFd); err != nil {
			return err
		}
	}
	// Everything from here on is closed by the exec (close_range with
	// CLOSE_RANGE_CLOEXEC). For exec, the pipe stays open until then: the
	// runtime reads end of file when the exec succeeded, and the error
	// when it did not.
	if err := closeExtraFds(3 + cfg.PreserveFds); err != nil {
		return execFailed(pipe, &cfg, err)
	}
	err = unix.Exec(path, cfg.Process.Args, cfg.Process.Env)
	return execFailed(pipe, &cfg, fmt.Errorf("exec %s: %w", cfg.Process.Args[0], err))
}

// execFailed ends init when it could not execute the process. For exec
// the runtime still reads the pipe and reports err; for create, start has
// returned already, and err goes to the process's stderr.
func execFailed(pipe *os.File, cfg *initConfig, err error) error {
	if cfg.FifoFd < 0 && reply(pipe, initReply{Error: err.Error()}) == nil {
		return ErrReported
	}
	return err
}

// ErrReported is returned by Init when it has sent its error to the
// runtime, which reports it: init exits with status 1 and prints nothing.
var ErrReported = errors.New("init: error reported to the runtime")

func reply(w io.Writer, r initReply) error {
	return json.NewEncoder(w).Encode(r)
}

// joinJail sets up the console and attaches to the jail.
func joinJail(k kernel.Kernel, cfg *initConfig) error {
	p := cfg.Process
	var slave *os.File
	if p.Terminal {
		var err error
		if slave, err = setupConsole(cfg.ConsoleFd, p.ConsoleSize); err != nil {
			return err
		}
	}
	if err := k.AttachJail(cfg.JID); err != nil {
		return err
	}
	if slave != nil {
		return useTerminal(slave)
	}
	return nil
}

// prepareProcess does everything else short of executing the process, in
// the jail, and returns the resolved program path.
func prepareProcess(cfg *initConfig) (string, error) {
	p := cfg.Process
	if err := setRlimits(p.Rlimits); err != nil {
		return "", err
	}
	if err := setCredentials(p.User); err != nil {
		return "", err
	}
	if p.User.Umask != nil {
		unix.Umask(int(*p.User.Umask))
	}
	if p.NoNewPrivileges {
		if err := setNoNewPrivileges(); err != nil {
			return "", fmt.Errorf("noNewPrivileges: %w", err)
		}
	}
	if err := os.Chdir(p.Cwd); err != nil {
		return "", fmt.Errorf("process.cwd %q: %w", p.Cwd, unwrapPathError(err))
	}
	return lookPath(p.Args[0], p.Env)
}

// setupConsole allocates a pty, sends its master to the console socket
// the way runc does, and returns the slave.
func setupConsole(consoleFd int, size *specs.Box) (*os.File, error) {
	if consoleFd < 0 {
		return nil, errors.New("process.terminal is set but there is no console socket")
	}
	master, slaveName, err := openPty()
	if err != nil {
		return nil, fmt.Errorf("allocate pty: %w", err)
	}
	defer master.Close()
	if size != nil {
		ws := &unix.Winsize{Row: uint16(size.Height), Col: uint16(size.Width)}
		if err := unix.IoctlSetWinsize(int(master.Fd()), unix.TIOCSWINSZ, ws); err != nil {
			return nil, fmt.Errorf("process.consoleSize: %w", err)
		}
	}
	slave, err := os.OpenFile(slaveName, os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		return nil, fmt.Errorf("open pty %s: %w", slaveName, err)
	}
	if err := sendFd(consoleFd, slaveName, master); err != nil {
		slave.Close()
		return nil, fmt.Errorf("send pty master to console socket: %w", err)
	}
	unix.Close(consoleFd)
	return slave, nil
}

// useTerminal makes slave the controlling terminal and stdio of the
// process, which is a session leader (the runtime started it with setsid).
func useTerminal(slave *os.File) error {
	fd := int(slave.Fd())
	if err := unix.IoctlSetInt(fd, unix.TIOCSCTTY, 0); err != nil {
		return fmt.Errorf("make pty the controlling terminal: %w", err)
	}
	for i := 0; i < 3; i++ {
		if err := unix.Dup2(fd, i); err != nil {
			return fmt.Errorf("pty as stdio: %w", err)
		}
	}
	return slave.Close()
}

// sendFd sends f over the unix socket fd as runc does: one message with
// name as data and the descriptor in SCM_RIGHTS.
func sendFd(sock int, name string, f *os.File) error {
	return unix.Sendmsg(sock, []byte(name), unix.UnixRights(int(f.Fd())), nil, 0)
}

func setRlimits(limits []specs.POSIXRlimit) error {
	for i, l := range limits {
		res, ok := rlimitResource(l.Type)
		if !ok {
			return fmt.Errorf("process.rlimits[%d].type: %q is not available on this system", i, l.Type)
		}
		if err := unix.Setrlimit(res, &unix.Rlimit{Cur: rlim(l.Soft), Max: rlim(l.Hard)}); err != nil {
			return fmt.Errorf("process.rlimits[%d]: setrlimit %s: %w", i, l.Type, err)
		}
	}
	return nil
}

// setCredentials sets the supplementary groups, then the group, then the
// user: the order in which each step still has the privilege it needs.
func setCredentials(u specs.User) error {
	groups := supplementaryGroups(u.GID, u.AdditionalGids)
	if err := unix.Setgroups(groups); err != nil {
		return fmt.Errorf("process.user.additionalGids: setgroups %v: %w", groups, err)
	}
	if err := unix.Setgid(int(u.GID)); err != nil {
		return fmt.Errorf("process.user.gid: setgid %d: %w", u.GID, err)
	}
	if err := unix.Setuid(int(u.UID)); err != nil {
		return fmt.Errorf("process.user.uid: setuid %d: %w", u.UID, err)
	}
	return nil
}

// lookPath resolves the program as execvp would, with the container's
// PATH, inside the jail (the process is already attached).
func lookPath(arg0 string, env []string) (string, error) {
	if strings.Contains(arg0, "/") {
		if err := executable(arg0); err != nil {
			return "", fmt.Errorf("exec: %q: %w", arg0, err)
		}
		return arg0, nil
	}
	pathEnv := ""
	for _, e := range env {
		if v, ok := strings.CutPrefix(e, "PATH="); ok {
			pathEnv = v
		}
	}
	for _, dir := range strings.Split(pathEnv, ":") {
		if dir == "" {
			dir = "."
		}
		p := path.Join(dir, arg0)
		if executable(p) == nil {
			return p, nil
		}
	}
	return "", fmt.Errorf("exec: %q: executable file not found in $PATH", arg0)
}

func executable(p string) error {
	st, err := os.Stat(p)
	if err != nil {
		return unwrapPathError(err)
	}
	if st.IsDir() {
		return errors.New("is a directory")
	}
	if err := unix.Access(p, unix.X_OK); err != nil {
		return err
	}
	return nil
}

func unwrapPathError(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// waitStart blocks until start writes to the exec fifo. The fifo was
// opened read-write on the host, so the read blocks until data comes.
func waitStart(fd int) error {
	buf := make([]byte, 1)
	for {
		n, err := unix.Read(fd, buf)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return fmt.Errorf("wait for start: %w", err)
		}
		if n == 1 {
			return unix.Close(fd)
		}
	}
}

// closeExtraFds marks every descriptor from first on close-on-exec, so the
// process inherits only stdio and the preserved descriptors.
func closeExtraFds(first int) error {
	if err := closeFrom(first); err != nil {
		return fmt.Errorf("close descriptors from %d: %w", first, err)
	}
	return nil
}

// runHookInJail attaches to the jail and executes the hook's program by
// descriptor, or by its path inside the jail. Its stdin is the state JSON;
// the runtime enforces the timeout.
func runHookInJail(k kernel.Kernel, cfg *initConfig, pipe *os.File) error {
	pipe.Close()
	if err := k.AttachJail(cfg.JID); err != nil {
		return err
	}
	if err := closeExtraFds(3); err != nil {
		return err
	}
	if cfg.Hook.Path != "" {
		err := unix.Exec(cfg.Hook.Path, cfg.Hook.Args, cfg.Hook.Env)
		return fmt.Errorf("exec %s: %w", cfg.Hook.Path, err)
	}
	// The hook's descriptor stays open across the exec: an interpreter
	// (#!) reads the script through /dev/fd/N.
	if _, err := unix.FcntlInt(uintptr(cfg.Hook.Fd), unix.F_SETFD, 0); err != nil {
		return fmt.Errorf("hook descriptor: %w", err)
	}
	return k.Fexecve(uintptr(cfg.Hook.Fd), cfg.Hook.Args, cfg.Hook.Env)
}

// configureJailNet attaches to a vnet jail and configures its network,
// then reports to the runtime.
func configureJailNet(k kernel.Kernel, cfg *initConfig, pipe *os.File) error {
	err := k.AttachJail(cfg.JID)
	if err == nil {
		err = cfg.Net.apply(k)
	}
	if err != nil {
		if reply(pipe, initReply{Error: err.Error()}) != nil {
			return err
		}
		return ErrReported
	}
	return reply(pipe, initReply{Ready: true})
}

// apply configures the network of the vnet the process is in.
func (n *initNet) apply(k kernel.Kernel) error {
	for _, ifc := range n.Ifaces {
		if ifc.MTU != 0 {
			if err := k.SetMTU(ifc.Name, ifc.MTU); err != nil {
				return fmt.Errorf("set the MTU of %s: %w", ifc.Name, err)
			}
		}
		for _, a := range ifc.Addrs {
			p, err := netip.ParsePrefix(a)
			if err != nil {
				return err
			}
			if err := k.AddAddress(ifc.Name, p); err != nil {
				return fmt.Errorf("add %s to %s: %w", p, ifc.Name, err)
			}
		}
		if err := k.SetUp(ifc.Name); err != nil {
			return fmt.Errorf("bring up %s: %w", ifc.Name, err)
		}
	}
	for _, g := range n.Gateways {
		gw, err := netip.ParseAddr(g)
		if err != nil {
			return err
		}
		if err := k.AddDefaultRoute(gw); err != nil {
			return fmt.Errorf("add the default route via %s: %w", gw, err)
		}
	}
	return nil
}
