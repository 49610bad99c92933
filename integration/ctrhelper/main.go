// Command ctrhelper is the container process of the end-to-end tests. It is
// built statically and copied into test root file systems.
//
//	ctrhelper print              print what the process sees as JSON
//	ctrhelper exit N             exit with status N
//	ctrhelper sleep              sleep until killed
//	ctrhelper spawn N            start N sleeping children, then sleep
//	ctrhelper hook FILE          append argv and stdin as a JSON line to FILE
//	ctrhelper echo TEXT...       print TEXT and exit 0
//	ctrhelper fs OP PATH...      run file system operations (see fs.go)
//	ctrhelper alloc MB...        map and write memory (see resources.go)
//	ctrhelper reserve MB...      map memory without writing it
//	ctrhelper forkbomb N         start children until fork fails
//	ctrhelper forkloop           keep starting short-lived children
//	ctrhelper listen ADDR        answer one TCP connection on ADDR (see net.go)
//	ctrhelper dial ADDR [TEXT]   send TEXT over TCP to ADDR, print the answer
//	ctrhelper bind ADDR...       try to listen on each ADDR (see bind.go)
//	ctrhelper ifconfig IF CIDR [MODE ARGS...]
//	                             configure IF in the vnet, then run MODE
//	                             (FreeBSD only; see ifconfig_freebsd.go)
package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/runj-go/runj-go/integration/internal/ctrreport"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: ctrhelper print|exit|sleep|spawn|hook|echo|fs|alloc|reserve|forkbomb|forkloop|listen|dial|bind|ifconfig ...")
		os.Exit(2)
	}
	switch os.Args[1] {
	case "print":
		check(json.NewEncoder(os.Stdout).Encode(report()))
	case "exit":
		n, err := strconv.Atoi(arg(2))
		check(err)
		os.Exit(n)
	case "sleep":
		sleep()
	case "spawn":
		n, err := strconv.Atoi(arg(2))
		check(err)
		self, err := os.Executable()
		if err != nil {
			self = os.Args[0]
		}
		for i := 0; i < n; i++ {
			check(exec.Command(self, "sleep").Start())
		}
		sleep()
	case "hook":
		in, err := io.ReadAll(os.Stdin)
		check(err)
		line, err := json.Marshal(map[string]any{"argv": os.Args, "stdin": json.RawMessage(orNull(in)), "env": os.Environ()})
		check(err)
		f, err := os.OpenFile(arg(2), os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
		check(err)
		_, err = f.Write(append(line, '\n'))
		check(err)
		check(f.Close())
		if code := os.Getenv("HOOK_EXIT"); code != "" {
			n, _ := strconv.Atoi(code)
			fmt.Fprintln(os.Stderr, "hook failing on purpose")
			os.Exit(n)
		}
		if os.Getenv("HOOK_SLEEP") != "" {
			sleep()
		}
	case "echo":
		fmt.Println(strings.Join(os.Args[2:], " "))
	case "fs":
		fsOps(os.Args[2:])
	case "alloc", "reserve":
		allocModes(os.Args[1] == "alloc", os.Args[2:])
	case "forkbomb":
		n, err := strconv.Atoi(arg(2))
		check(err)
		forkbomb(n)
	case "forkloop":
		forkloop()
	case "listen":
		listen(arg(2))
	case "dial":
		dial(arg(2), os.Args[3:])
	case "bind":
		bindAddrs(os.Args[2:])
	case "ifconfig":
		ifconfig(os.Args[2:])
	default:
		fmt.Fprintf(os.Stderr, "ctrhelper: unknown mode %q\n", os.Args[1])
		os.Exit(2)
	}
}

func arg(i int) string {
	if len(os.Args) <= i {
		fmt.Fprintf(os.Stderr, "ctrhelper %s: missing argument\n", os.Args[1])
		os.Exit(2)
	}
	return os.Args[i]
}

func orNull(b []byte) []byte {
	if !json.Valid(b) {
		q, _ := json.Marshal(string(b))
		return q
	}
	return b
}

func sleep() {
	for {
		time.Sleep(time.Hour)
	}
}

func report() ctrreport.Report {
	r := ctrreport.Report{Args: os.Args, Env: os.Environ(), UID: os.Getuid(), GID: os.Getgid(), Pid: os.Getpid()}
	r.Groups, _ = os.Getgroups()
	r.Cwd, _ = os.Getwd()
	r.Umask = syscall.Umask(0)
	syscall.Umask(r.Umask)
	var lim unix.Rlimit
	if unix.Getrlimit(unix.RLIMIT_NOFILE, &lim) == nil {
		r.NoFile = [2]uint64{uint64(lim.Cur), uint64(lim.Max)}
	}
	if ws, err := unix.IoctlGetWinsize(0, unix.TIOCGWINSZ); err == nil {
		r.Tty, r.TtyRows, r.TtyCols = true, int(ws.Row), int(ws.Col)
	}
	r.Hostname, _ = os.Hostname()
	r.SessionID, _ = unix.Getsid(0)
	for fd := 0; fd < 64; fd++ {
		if _, err := unix.FcntlInt(uintptr(fd), unix.F_GETFD, 0); err == nil {
			r.OpenFds = append(r.OpenFds, fd)
		}
	}
	return r
}

func check(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, "ctrhelper:", err)
		os.Exit(1)
	}
}
