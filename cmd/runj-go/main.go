// Command runj-go is an OCI runtime for FreeBSD jails with runc's command
// line, so containerd (through go-runc), podman and buildah can drive it.
package main

import (
	"fmt"
	"os"

	"github.com/sirupsen/logrus"
)

func main() {
	os.Exit(run(os.Args[1:]))
}

// run executes one command and returns the exit status: 0, 1 on any
// error, or the container's status for run and exec.
func run(args []string) int {
	app := newApp()
	cmd := app.rootCommand()
	cmd.SetArgs(args)
	err := cmd.Execute()
	defer app.close()
	if err == nil {
		return 0
	}
	if st, ok := err.(exitStatus); ok {
		return int(st)
	}
	app.reportError(err)
	return 1
}

// exitStatus is returned by commands that exit with a status of their own
// without an error message: run and exec pass on the container's status.
type exitStatus int

func (e exitStatus) Error() string { return fmt.Sprintf("exit status %d", int(e)) }

// reportError writes err to stderr and, with --log, to the log file in the
// chosen format: containerd reads the last error line of that file.
func (a *app) reportError(err error) {
	if a.logFile != nil {
		a.log.Error(err.Error())
	}
	fmt.Fprintln(os.Stderr, "runj-go: "+err.Error())
}

func (a *app) close() {
	if a.logFile != nil {
		a.logFile.Close()
	}
}

var _ logrus.FieldLogger = (*logrus.Logger)(nil)
