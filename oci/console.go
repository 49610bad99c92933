package oci

import (
	"fmt"
	"io"
	"os"
	"time"

	"github.com/containerd/console"
	"golang.org/x/sys/unix"
)

// Terminal is the runtime's own side of a container terminal, for run and
// exec in the foreground without a console socket: it receives the pty
// master from init and copies between it and the runtime's stdio, which is
// put in raw mode when it is a terminal.
type Terminal struct {
	local, remote *os.File
	master        console.Console
	current       console.Console
	// copied is closed when the copy of the pty's output ends: when the
	// last holder of the slave has closed it.
	copied chan struct{}
}

// drainTimeout bounds how long the runtime waits, once the process has
// exited, for the rest of its output: a child it left behind may hold the
// terminal open.
const drainTimeout = time.Second

// NewTerminal makes the socket pair over which init sends the pty master.
func NewTerminal() (*Terminal, error) {
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	return &Terminal{local: os.NewFile(uintptr(fds[0]), "console"), remote: os.NewFile(uintptr(fds[1]), "console-remote")}, nil
}

// receive takes the pty master from init and starts copying.
func (t *Terminal) receive() error {
	t.remote.Close()
	f, err := recvFd(t.local)
	if err != nil {
		return fmt.Errorf("receive pty: %w", err)
	}
	t.master, err = console.ConsoleFromFile(f)
	if err != nil {
		return err
	}
	if cur, err := console.ConsoleFromFile(os.Stdin); err == nil {
		if ws, err := cur.Size(); err == nil {
			t.master.Resize(ws)
		}
		if cur.SetRaw() == nil {
			t.current = cur
		}
	}
	go io.Copy(t.master, os.Stdin)
	t.copied = make(chan struct{})
	go func() {
		io.Copy(os.Stdout, t.master)
		close(t.copied)
	}()
	return nil
}

// drain waits until the output the process wrote before it exited is
// copied.
func (t *Terminal) drain() {
	if t.copied == nil {
		return
	}
	select {
	case <-t.copied:
	case <-time.After(drainTimeout):
	}
}

// Resize copies the runtime's terminal size to the container's (SIGWINCH).
func (t *Terminal) Resize() {
	if t.master != nil && t.current != nil {
		t.master.ResizeFrom(t.current)
	}
}

// Close restores the runtime's terminal.
func (t *Terminal) Close() {
	if t.current != nil {
		t.current.Reset()
	}
	t.local.Close()
}

// recvFd receives one descriptor sent as runc sends a pty master.
func recvFd(sock *os.File) (*os.File, error) {
	name := make([]byte, 4096)
	oob := make([]byte, unix.CmsgSpace(4))
	n, oobn, _, _, err := unix.Recvmsg(int(sock.Fd()), name, oob, 0)
	if err != nil {
		return nil, err
	}
	msgs, err := unix.ParseSocketControlMessage(oob[:oobn])
	if err != nil || len(msgs) != 1 {
		return nil, fmt.Errorf("expected one control message, got %d (%v)", len(msgs), err)
	}
	fds, err := unix.ParseUnixRights(&msgs[0])
	if err != nil || len(fds) != 1 {
		return nil, fmt.Errorf("expected one descriptor, got %d (%v)", len(fds), err)
	}
	return os.NewFile(uintptr(fds[0]), string(name[:n])), nil
}
