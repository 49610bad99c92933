package procs

import (
	"errors"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// childEnv makes the test binary act as a child process for these tests
// instead of running them: "exit" exits at once, "wait" exits when its
// stdin reaches EOF.
const childEnv = "PROCS_TEST_CHILD"

func TestMain(m *testing.M) {
	switch os.Getenv(childEnv) {
	case "exit":
		os.Exit(0)
	case "wait":
		_, _ = io.Copy(io.Discard, os.Stdin)
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// startWaiting starts a child that lives until the test ends, in a new
// session when setsid is set.
func startWaiting(t *testing.T, setsid bool) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), childEnv+"=wait")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: setsid}
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		stdin.Close()
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	return cmd
}

// forkExiting starts a child that exits at once, and waits until it has
// exited without reaping it: it is a zombie until the caller calls Wait4.
func forkExiting(t *testing.T) int {
	t.Helper()
	pid, err := syscall.ForkExec(os.Args[0], []string{os.Args[0]}, &syscall.ProcAttr{
		// GORACE: a race-enabled child would otherwise sleep a second
		// before exiting (atexit_sleep_ms defaults to 1000).
		Env:   append(os.Environ(), childEnv+"=exit", "GORACE=atexit_sleep_ms=0"),
		Files: []uintptr{os.Stdin.Fd(), os.Stdout.Fd(), os.Stderr.Fd()},
	})
	if err != nil {
		t.Fatal(err)
	}
	var info unix.Siginfo
	if err := unix.Waitid(unix.P_PID, pid, &info, unix.WEXITED|unix.WNOWAIT, nil); err != nil {
		t.Fatal(err)
	}
	return pid
}

func wait4(t *testing.T, pid int) {
	t.Helper()
	var ws syscall.WaitStatus
	if _, err := syscall.Wait4(pid, &ws, 0, nil); err != nil {
		t.Fatal(err)
	}
}

func TestGetSelf(t *testing.T) {
	got, err := Get(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	sid, err := unix.Getsid(0)
	if err != nil {
		t.Fatal(err)
	}
	comm := filepath.Base(os.Args[0])
	comm = comm[:min(len(comm), 15)] // TASK_COMM_LEN 16, less the NUL
	want := Info{Pid: os.Getpid(), PPid: os.Getppid(), Pgid: unix.Getpgrp(), Sid: sid, Comm: comm}
	// The main thread may be running or sleeping in the Go scheduler.
	if got.State != Running && got.State != Sleeping {
		t.Errorf("state %v, want running or sleeping", got.State)
	}
	if got.Start == 0 {
		t.Error("start 0")
	}
	got.State, got.Start = 0, 0
	if got != want {
		t.Errorf("got  %+v\nwant %+v", got, want)
	}
}

func TestStartIdentifiesAProcess(t *testing.T) {
	self, err := Get(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	again, err := Get(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if again.Start != self.Start {
		t.Errorf("start changed between two reads: %d, %d", self.Start, again.Start)
	}
	if ok, err := Alive(self.Pid, self.Start); !ok || err != nil {
		t.Errorf("Alive(self) = %v, %v; want true", ok, err)
	}
	if ok, err := Alive(self.Pid, self.Start+1); ok || err != nil {
		t.Errorf("Alive(self, another start) = %v, %v; want false: a reused pid is another process", ok, err)
	}

	// starttime counts clock ticks (USER_HZ, 100 a second on every Linux
	// arch Go supports): let more than one pass so that a process started
	// now cannot share this one's.
	time.Sleep(50 * time.Millisecond)
	child, err := Get(startWaiting(t, false).Process.Pid)
	if err != nil {
		t.Fatal(err)
	}
	if child.Start <= self.Start {
		t.Errorf("child started after this process has start %d, this process %d", child.Start, self.Start)
	}
	if child.PPid != self.Pid || child.Exited() {
		t.Errorf("child %+v: want a live child of %d", child, self.Pid)
	}
}

func TestZombieThenReaped(t *testing.T) {
	pid := forkExiting(t)
	zombie, err := Get(pid)
	if err != nil {
		wait4(t, pid)
		t.Fatal(err)
	}
	if zombie.State != Zombie || !zombie.Exited() {
		t.Errorf("exited, unreaped child: state %v, want zombie", zombie.State)
	}
	if ok, err := Alive(pid, zombie.Start); ok || err != nil {
		t.Errorf("Alive(zombie) = %v, %v; want false", ok, err)
	}

	wait4(t, pid)
	if _, err := Get(pid); !errors.Is(err, ErrNotFound) {
		t.Errorf("reaped child: got %v, want ErrNotFound", err)
	}
	if ok, err := Alive(pid, zombie.Start); ok || err != nil {
		t.Errorf("Alive(reaped) = %v, %v; want false", ok, err)
	}
}

func TestStopped(t *testing.T) {
	cmd := startWaiting(t, false)
	pid := cmd.Process.Pid
	if err := cmd.Process.Signal(syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	var info unix.Siginfo
	if err := unix.Waitid(unix.P_PID, pid, &info, unix.WSTOPPED|unix.WNOWAIT, nil); err != nil {
		t.Fatal(err)
	}
	got, err := Get(pid)
	if err != nil {
		t.Fatal(err)
	}
	if got.State != Stopped || got.Exited() {
		t.Errorf("stopped child: state %v, want stopped", got.State)
	}
}

func TestGetNotFound(t *testing.T) {
	for _, pid := range []int{0, -1, math.MaxInt32 + 1} {
		if got, err := Get(pid); !errors.Is(err, ErrNotFound) {
			t.Errorf("Get(%d) = %+v, %v; want ErrNotFound", pid, got, err)
		}
		if ok, err := Alive(pid, 0); ok || err != nil {
			t.Errorf("Alive(%d) = %v, %v; want false", pid, ok, err)
		}
	}
}

func TestAll(t *testing.T) {
	child := startWaiting(t, false).Process.Pid
	infos, err := All()
	if err != nil {
		t.Fatal(err)
	}
	pids := make([]int, len(infos))
	for i, info := range infos {
		pids[i] = info.Pid
	}
	if !slices.IsSorted(pids) || len(slices.Compact(slices.Clone(pids))) != len(pids) {
		t.Errorf("pids not sorted or not unique: %v", pids)
	}
	for _, want := range []int{os.Getpid(), child} {
		if !slices.Contains(pids, want) {
			t.Errorf("pid %d missing from %v", want, pids)
		}
	}
}

func TestInSessions(t *testing.T) {
	child := startWaiting(t, true).Process.Pid
	other := startWaiting(t, false).Process.Pid

	// setsid(2) makes the child the leader of session child.
	got, err := InSessions(child)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].Pid != child || got[0].Sid != child {
		t.Errorf("InSessions(%d) = %+v, want only the child", child, got)
	}

	sid, err := unix.Getsid(0)
	if err != nil {
		t.Fatal(err)
	}
	got, err = InSessions(child, sid)
	if err != nil {
		t.Fatal(err)
	}
	var pids []int
	for _, i := range got {
		if i.Sid != child && i.Sid != sid {
			t.Errorf("%+v is in neither session", i)
		}
		pids = append(pids, i.Pid)
	}
	for _, want := range []int{child, other, os.Getpid()} {
		if !slices.Contains(pids, want) {
			t.Errorf("pid %d missing from InSessions(%d, %d) = %v", want, child, sid, pids)
		}
	}

	if got, err := InSessions(); got != nil || err != nil {
		t.Errorf("InSessions() = %v, %v; want nothing", got, err)
	}
}

func TestInJail(t *testing.T) {
	if _, err := InJail(1); !errors.Is(err, errors.ErrUnsupported) || !strings.Contains(err.Error(), "only on FreeBSD") {
		t.Errorf("InJail on Linux: %v, want ErrUnsupported", err)
	}
	if _, err := InJail(0); err == nil || errors.Is(err, errors.ErrUnsupported) {
		t.Errorf("InJail(0): %v, want jail 0 (the host) refused", err)
	}
}

// stat returns a /proc/PID/stat line as Linux 6.x prints it, with comm and
// state in place.
func stat(comm, state string) string {
	return "4242 (" + comm + ") " + state + " 1 4240 4200 34816 4242 4194304 180 0 0 0 1 2 0 0 20 0 1 0 987654 " +
		"5996544 880 18446744073709551615 1 1 0 0 0 0 0 0 65536 0 0 0 17 3 0 0 0 0 0 0 0 0 0 0 0 0 0\n"
}

func TestParseStat(t *testing.T) {
	base := Info{Pid: 4242, PPid: 1, Pgid: 4240, Sid: 4200, Start: 987654, State: Sleeping}
	with := func(comm string, state State) Info {
		i := base
		i.Comm, i.State = comm, state
		return i
	}
	for _, c := range []struct {
		name, line string
		want       Info
	}{
		{"plain", stat("sh", "S"), with("sh", Sleeping)},
		{"comm_with_spaces", stat("my app", "R"), with("my app", Running)},
		{"comm_with_parentheses", stat("a b) (c) S 9 9", "Z"), with("a b) (c) S 9 9", Zombie)},
		{"comm_with_newline", stat("x\ny", "T"), with("x\ny", Stopped)},
		{"empty_comm", stat("", "D"), with("", Waiting)},
		{"tracing_stop", stat("gdb me", "t"), with("gdb me", Stopped)},
		{"dead", stat("sh", "X"), with("sh", Dead)},
		{"idle_kernel_thread", stat("kworker/0:1-events", "I"), with("kworker/0:1-events", Sleeping)},
		{"unknown_state", stat("sh", "P"), with("sh", Unknown)},
		{"pid_1_has_parent_0", strings.Replace(stat("init", "S"), ") S 1 ", ") S 0 ", 1), func() Info {
			i := with("init", Sleeping)
			i.PPid = 0
			return i
		}()},
		{"exiting_without_signal_handlers", strings.Replace(stat("sh", "X"), " 4240 4200 ", " -1 -1 ", 1), func() Info {
			i := with("sh", Dead)
			i.Pgid, i.Sid = -1, -1
			return i
		}()},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := parseStat([]byte(c.line))
			if err != nil {
				t.Fatal(err)
			}
			if got != c.want {
				t.Errorf("got  %+v\nwant %+v", got, c.want)
			}
		})
	}
}

func TestParseStatErrors(t *testing.T) {
	good := stat("sh", "S")
	fields := strings.Fields(good)
	for _, c := range []struct{ name, line, want string }{
		{"empty", "", "no (comm)"},
		{"no_parentheses", "4242 sh S 1 2 3", "no (comm)"},
		{"close_before_open", "4242 )sh( S", "no (comm)"},
		{"bad_pid", "x" + good, "bad pid"},
		{"pid_0", "0" + good[4:], "bad pid"},
		{"truncated_before_starttime", strings.Join(fields[:21], " "), "fields after (comm)"},
		{"long_state", stat("sh", "SS"), "bad state"},
		{"bad_ppid", strings.Replace(good, ") S 1 ", ") S x ", 1), "bad ppid"},
		{"negative_session", strings.Replace(good, " 4200 ", " -4200 ", 1), "bad session"},
		{"pgrp_below_minus_1", strings.Replace(good, " 4240 ", " -2 ", 1), "bad pgrp"},
		{"negative_starttime", strings.Replace(good, " 987654 ", " -1 ", 1), "bad starttime"},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := parseStat([]byte(c.line))
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("got %+v, %v; want error containing %q", got, err, c.want)
			}
		})
	}
}

func FuzzParseStat(f *testing.F) {
	f.Add(stat("sh", "S"))
	f.Add(stat("a) (b", "Z"))
	f.Add("1 (x) R")
	f.Add("")
	if b, err := os.ReadFile("/proc/self/stat"); err == nil {
		f.Add(string(b))
	}
	f.Fuzz(func(t *testing.T, line string) {
		info, err := parseStat([]byte(line))
		if err != nil {
			return
		}
		// Linux prints -1 for the group and session of an exiting task.
		if info.Pid <= 0 || info.PPid < 0 || info.Pgid < -1 || info.Sid < -1 {
			t.Fatalf("%q: %+v", line, info)
		}
		if !strings.Contains(line, "("+info.Comm+")") {
			t.Fatalf("%q: comm %q is not between parentheses", line, info.Comm)
		}
	})
}
