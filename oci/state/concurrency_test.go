package state

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
)

func TestCreateConcurrentGoroutines(t *testing.T) {
	s := newStore(t)
	const n = 50
	var (
		wg            sync.WaitGroup
		start         = make(chan struct{})
		won, lost     atomic.Int32
		mu            sync.Mutex
		unexpected    []error
		winnerClosers []*Container
	)
	for range n {
		wg.Go(func() {
			<-start
			c, err := s.Create("shared")
			switch {
			case err == nil:
				won.Add(1)
				mu.Lock()
				winnerClosers = append(winnerClosers, c)
				mu.Unlock()
			case errors.Is(err, ErrExists):
				lost.Add(1)
			default:
				mu.Lock()
				unexpected = append(unexpected, err)
				mu.Unlock()
			}
		})
	}
	close(start)
	wg.Wait()
	for _, c := range winnerClosers {
		c.Close()
	}
	if won.Load() != 1 || lost.Load() != n-1 || len(unexpected) != 0 {
		t.Errorf("%d Creates: %d succeeded, %d got ErrExists, other errors %v; want 1 and %d", n, won.Load(), lost.Load(), unexpected, n-1)
	}
	if got := dirNames(t, s.Root()); !slices.Equal(got, []string{"shared"}) {
		t.Errorf("root holds %q, want only the container (no temporary directories)", got)
	}
}

// helperRootEnv names the state root to TestCreateHelperProcess, which is
// then a child of TestCreateConcurrentProcesses.
const helperRootEnv = "RUNJ_GO_STATE_TEST_HELPER_ROOT"

const exitExists = 3

// TestCreateHelperProcess is not a test: TestCreateConcurrentProcesses
// runs the test binary as many processes, each of which runs only this.
// It waits for its stdin to close, so that all processes race, then
// creates the container "shared".
func TestCreateHelperProcess(t *testing.T) {
	root := os.Getenv(helperRootEnv)
	if root == "" {
		return
	}
	io.Copy(io.Discard, os.Stdin)
	s, err := New(root)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	c, err := s.Create("shared")
	switch {
	case err == nil:
		c.Close()
		os.Exit(0)
	case errors.Is(err, ErrExists):
		os.Exit(exitExists)
	default:
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

func TestCreateConcurrentProcesses(t *testing.T) {
	if testing.Short() {
		t.Skip("starts 50 processes")
	}
	s := newStore(t)
	const n = 50
	release, hold, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	cmds := make([]*exec.Cmd, n)
	stderr := make([]bytes.Buffer, n)
	for i := range cmds {
		cmd := exec.Command(os.Args[0], "-test.run=^TestCreateHelperProcess$", "-test.count=1")
		cmd.Env = append(os.Environ(), helperRootEnv+"="+s.Root())
		cmd.Stdin = release
		cmd.Stderr = &stderr[i]
		if err := cmd.Start(); err != nil {
			hold.Close()
			t.Fatalf("start helper %d: %v", i, err)
		}
		cmds[i] = cmd
	}
	release.Close()
	hold.Close() // all helpers read EOF and race

	won, lost := 0, 0
	for i, cmd := range cmds {
		err := cmd.Wait()
		var exit *exec.ExitError
		switch {
		case err == nil:
			won++
		case errors.As(err, &exit) && exit.ExitCode() == exitExists:
			lost++
		default:
			t.Errorf("helper %d: %v: %s", i, err, stderr[i].Bytes())
		}
	}
	if won != 1 || lost != n-1 {
		t.Errorf("%d processes: %d created, %d got ErrExists; want 1 and %d", n, won, lost, n-1)
	}
	if got := dirNames(t, s.Root()); !slices.Equal(got, []string{"shared"}) {
		t.Errorf("root holds %q, want only the container", got)
	}
}

func TestOpenSerializes(t *testing.T) {
	s := newStore(t)
	c := mustCreate(t, s, "c1")
	if err := c.Save(); err != nil {
		t.Fatal(err)
	}
	c.Close()

	const workers, rounds = 16, 10
	var (
		wg       sync.WaitGroup
		inside   atomic.Int32
		overlaps atomic.Int32
	)
	for range workers {
		wg.Go(func() {
			for range rounds {
				c, err := s.Open("c1")
				if err != nil {
					t.Error(err)
					return
				}
				if inside.Add(1) != 1 {
					overlaps.Add(1)
				}
				// A read-modify-write that loses updates unless holders
				// are serialized.
				c.State().JID++
				runtime.Gosched()
				if err := c.Save(); err != nil {
					t.Error(err)
				}
				inside.Add(-1)
				c.Close()
			}
		})
	}
	wg.Wait()
	if overlaps.Load() != 0 {
		t.Errorf("%d times two holders of one container's lock overlapped", overlaps.Load())
	}
	st, err := s.Load("c1")
	if err != nil {
		t.Fatal(err)
	}
	if st.JID != workers*rounds {
		t.Errorf("counter = %d after %d locked increments: updates were lost", st.JID, workers*rounds)
	}
}

// TestCreateOpenRemoveRace has commands create, open and remove one id
// at once. Whatever the interleaving, at most one may hold the container
// at a time: a command that waited on the lock of a removed container
// must not go on alongside the holder of a new one.
func TestCreateOpenRemoveRace(t *testing.T) {
	s := newStore(t)
	const workers, rounds = 8, 100
	var (
		wg       sync.WaitGroup
		inside   atomic.Int32
		overlaps atomic.Int32
		held     atomic.Int32
	)
	for w := range workers {
		wg.Go(func() {
			for i := range rounds {
				c, err := s.Open("r")
				if errors.Is(err, ErrNotExist) {
					c, err = s.Create("r")
					if errors.Is(err, ErrExists) {
						continue
					}
				}
				if err != nil {
					t.Error(err)
					return
				}
				held.Add(1)
				if inside.Add(1) != 1 {
					overlaps.Add(1)
				}
				runtime.Gosched()
				inside.Add(-1)
				if (w+i)%2 == 0 {
					if err := c.Remove(); err != nil {
						t.Error(err)
					}
				}
				if err := c.Close(); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	if overlaps.Load() != 0 {
		t.Errorf("%d times two commands held the container at once", overlaps.Load())
	}
	if held.Load() == 0 {
		t.Error("no command ever held the container")
	}
	for _, name := range dirNames(t, s.Root()) {
		if name != "r" {
			t.Errorf("root holds %q: a temporary directory was left behind", name)
		}
	}
}
