package main

import (
	"fmt"
	"os"
	"runtime/debug"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"github.com/sirupsen/logrus"
	"github.com/spf13/cobra"
)

// version is set at link time by the Makefile.
var (
	version = "0.1.0-dev"
	commit  = ""
)

// app holds the global flags and what they set up.
type app struct {
	root      string
	logPath   string
	logFormat string
	debug     bool
	// Accepted for runc compatibility and ignored: FreeBSD has no
	// cgroups, and jails need root.
	systemdCgroup bool
	rootless      string

	log     *logrus.Logger
	logFile *os.File
}

func newApp() *app {
	l := logrus.New()
	l.SetOutput(os.Stderr)
	return &app{log: l}
}

func (a *app) rootCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:           "runj-go",
		Short:         "OCI container runtime for FreeBSD jails",
		Version:       version,
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error {
			return a.setup()
		},
	}
	cmd.SetVersionTemplate(versionText())
	f := cmd.PersistentFlags()
	f.StringVar(&a.root, "root", "/var/run/runj-go", "directory for the state of containers")
	f.StringVar(&a.logPath, "log", "", "append log messages to this file instead of stderr")
	f.StringVar(&a.logFormat, "log-format", "text", "log format: text or json")
	f.BoolVar(&a.debug, "debug", false, "log debug messages")
	f.BoolVar(&a.systemdCgroup, "systemd-cgroup", false, "accepted for runc compatibility; ignored")
	f.StringVar(&a.rootless, "rootless", "auto", "accepted for runc compatibility; ignored")
	cmd.AddCommand(a.specCommand(), a.planCommand(), a.bundleCommand())
	cmd.AddCommand(a.lifecycleCommands()...)
	cmd.AddCommand(a.netnsCommand())
	return cmd
}

// setup applies the logging flags before any command runs.
func (a *app) setup() error {
	switch a.logFormat {
	case "text":
		a.log.SetFormatter(&logrus.TextFormatter{DisableColors: true})
	case "json":
		a.log.SetFormatter(&logrus.JSONFormatter{TimestampFormat: "2006-01-02T15:04:05Z07:00"})
	default:
		return fmt.Errorf("--log-format: %q is not text or json", a.logFormat)
	}
	if a.debug {
		a.log.SetLevel(logrus.DebugLevel)
	}
	if a.logPath != "" {
		f, err := os.OpenFile(a.logPath, os.O_WRONLY|os.O_APPEND|os.O_CREATE|os.O_SYNC, 0o644)
		if err != nil {
			return fmt.Errorf("--log: %w", err)
		}
		a.logFile = f
		a.log.SetOutput(f)
	}
	return nil
}

func versionText() string {
	rev := commit
	if info, ok := debug.ReadBuildInfo(); ok && rev == "" {
		for _, s := range info.Settings {
			if s.Key == "vcs.revision" {
				rev = s.Value
			}
		}
	}
	if rev == "" {
		rev = "unknown"
	}
	return fmt.Sprintf("runj-go version {{.Version}}\ncommit: %s\nspec: %s\n", rev, specs.Version)
}
