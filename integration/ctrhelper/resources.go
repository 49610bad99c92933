package main

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// The modes for the resource tests (ps, pause, rctl limits):
//
//	ctrhelper alloc MB...     map MB MiB of anonymous memory and write to
//	                          every page, for each MB in turn; print one
//	                          AllocResult per MB, then sleep holding it all
//	ctrhelper reserve MB...   the same without writing: virtual memory only
//	ctrhelper forkbomb N      start `ctrhelper sleep` children until a fork
//	                          fails or N run; print a ForkResult, then sleep
//	ctrhelper forkloop        keep starting short-lived children
//	                          (`ctrhelper exit 0`) from two goroutines,
//	                          printing one line per child that ended

// AllocResult is one line of `ctrhelper alloc` and `ctrhelper reserve`.
type AllocResult struct {
	MB int `json:"mb"`
	// OK is whether mmap(2) succeeded (and, for alloc, every page was
	// written).
	OK bool `json:"ok"`
	// Touched is whether the pages were written (alloc) or only mapped
	// (reserve).
	Touched bool `json:"touched"`
	// Errno is mmap's errno name ("ENOMEM") when it failed.
	Errno string `json:"errno,omitempty"`
}

// ForkResult is what `ctrhelper forkbomb` prints.
type ForkResult struct {
	// Started is the number of children started (and still running).
	Started int `json:"started"`
	// Errno is the errno name of the fork that failed ("EAGAIN"), empty
	// when N children were started.
	Errno string `json:"errno,omitempty"`
	// Error is the failed start's whole message.
	Error string `json:"error,omitempty"`
}

// allocModes runs alloc and reserve. The memory is mapped with mmap(2),
// not allocated from the Go heap: a refused mmap is an errno to report,
// where a refused heap allocation is a fatal runtime error, and the Go
// runtime never gives mapped memory back behind the test's back.
func allocModes(touch bool, args []string) {
	if len(args) == 0 {
		fmt.Fprintln(os.Stderr, "usage: ctrhelper alloc|reserve MB...")
		os.Exit(2)
	}
	enc := json.NewEncoder(os.Stdout)
	page := os.Getpagesize()
	for _, a := range args {
		mb, err := strconv.Atoi(a)
		check(err)
		r := AllocResult{MB: mb, Touched: touch}
		b, err := unix.Mmap(-1, 0, mb<<20, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_ANON|unix.MAP_PRIVATE)
		if err != nil {
			r.Errno = errnoName(err)
		} else {
			if touch {
				for i := 0; i < len(b); i += page {
					b[i] = 1
				}
			}
			r.OK = true
		}
		check(enc.Encode(r))
	}
	sleep()
}

// forkbomb starts `ctrhelper sleep` children until one cannot be started
// or n run, reports, and sleeps with the children running.
func forkbomb(n int) {
	self := executable()
	var r ForkResult
	for r.Started < n {
		if err := exec.Command(self, "sleep").Start(); err != nil {
			r.Errno, r.Error = errnoName(err), err.Error()
			break
		}
		r.Started++
	}
	check(json.NewEncoder(os.Stdout).Encode(r))
	sleep()
}

// forkloop keeps two goroutines starting and waiting for short-lived
// children, so that at any moment a fork may be under way: the case pause
// must not let escape.
func forkloop() {
	self := executable()
	var mu sync.Mutex
	n := 0
	for i := 0; i < 2; i++ {
		go func() {
			for {
				err := exec.Command(self, "exit", "0").Run()
				mu.Lock()
				n++
				if err != nil {
					fmt.Printf("%d %v\n", n, err)
				} else {
					fmt.Printf("%d\n", n)
				}
				mu.Unlock()
				if err != nil {
					time.Sleep(10 * time.Millisecond)
				}
			}
		}()
	}
	sleep()
}

func executable() string {
	self, err := os.Executable()
	if err != nil {
		return os.Args[0]
	}
	return self
}
