package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/runj-go/runj-go/integration/internal/ctrreport"
)

// fsOps runs `ctrhelper fs OP PATH [OP PATH]...` and prints one ctrreport.FSResult
// per operation, as a JSON line, in order. The operations are:
//
//	write PATH   create or truncate PATH and write PATH and a newline to it
//	read PATH    read the file PATH
//	stat PATH    lstat(2) PATH
//	ls DIR       list the names in DIR, sorted
//	statfs PATH  statfs(2) PATH (FreeBSD only)
//
// A failed operation is reported in its result, not by the exit status,
// and the next one runs: a test asks for a failure (EROFS) as often as
// for a success.
func fsOps(args []string) {
	if len(args) == 0 || len(args)%2 != 0 {
		fmt.Fprintln(os.Stderr, "usage: ctrhelper fs OP PATH [OP PATH]...")
		os.Exit(2)
	}
	enc := json.NewEncoder(os.Stdout)
	for i := 0; i < len(args); i += 2 {
		check(enc.Encode(fsOp(args[i], args[i+1])))
	}
}

func fsOp(op, path string) ctrreport.FSResult {
	r := ctrreport.FSResult{Op: op, Path: path}
	var err error
	switch op {
	case "write":
		err = os.WriteFile(path, []byte(path+"\n"), 0o644)
	case "read":
		var b []byte
		b, err = os.ReadFile(path)
		r.Data = string(b)
	case "stat":
		var fi os.FileInfo
		if fi, err = os.Lstat(path); err == nil {
			r.Mode = fi.Mode()
		}
	case "ls":
		var des []os.DirEntry
		des, err = os.ReadDir(path)
		r.Names = []string{}
		for _, de := range des {
			r.Names = append(r.Names, de.Name())
		}
	case "statfs":
		r.Statfs, err = statfs(path)
	default:
		fmt.Fprintf(os.Stderr, "ctrhelper fs: unknown operation %q\n", op)
		os.Exit(2)
	}
	if err != nil {
		r.Errno = errnoName(err)
	}
	return r
}

func errnoName(err error) string {
	var errno syscall.Errno
	if errors.As(err, &errno) {
		if name := unix.ErrnoName(errno); name != "" {
			return name
		}
	}
	return err.Error()
}
