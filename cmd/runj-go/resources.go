package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"time"

	runc "github.com/containerd/go-runc"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"github.com/spf13/cobra"
)

type updateFlags struct {
	resources            string
	memory               int64
	pidsLimit            int64
	cpuQuota             int64
	cpuPeriod            uint64
	memorySet, pidsSet   bool
	cpuQuotaSet, cpuPerS bool
}

func (a *app) updateCommand() *cobra.Command {
	var f updateFlags
	cmd := &cobra.Command{
		Use:   "update [--resources FILE|-] [--memory N] [--pids-limit N] [--cpu-quota N --cpu-period N] ID",
		Short: "change a container's resource limits (rctl rules on its jail)",
		Args:  exactArgs(1, "container id"),
		RunE: func(cmd *cobra.Command, args []string) error {
			fl := cmd.Flags()
			f.memorySet, f.pidsSet = fl.Changed("memory"), fl.Changed("pids-limit")
			f.cpuQuotaSet, f.cpuPerS = fl.Changed("cpu-quota"), fl.Changed("cpu-period")
			res, err := readResources(f, cmd.InOrStdin())
			if err != nil {
				return err
			}
			r, err := a.runtime()
			if err != nil {
				return err
			}
			unsupported, err := r.Update(args[0], res)
			for _, u := range unsupported {
				a.log.WithField("id", args[0]).Warn(u)
			}
			return err
		},
	}
	fl := cmd.Flags()
	fl.StringVarP(&f.resources, "resources", "r", "", "LinuxResources JSON file, or - for stdin (go-runc's update)")
	fl.Int64Var(&f.memory, "memory", 0, "memory limit in bytes (memoryuse:deny); -1 removes it")
	fl.Int64Var(&f.pidsLimit, "pids-limit", 0, "process limit (maxproc:deny); -1 removes it")
	fl.Int64Var(&f.cpuQuota, "cpu-quota", 0, "CPU quota in microseconds per --cpu-period (pcpu:deny); -1 removes it")
	fl.Uint64Var(&f.cpuPeriod, "cpu-period", 0, "CPU period in microseconds (default 100000)")
	return cmd
}

// readResources reads --resources and puts the flags on top, as runc does.
func readResources(f updateFlags, stdin io.Reader) (*specs.LinuxResources, error) {
	res := &specs.LinuxResources{}
	if f.resources != "" {
		var data []byte
		var err error
		if f.resources == "-" {
			data, err = io.ReadAll(io.LimitReader(stdin, 1<<20))
		} else {
			data, err = os.ReadFile(f.resources)
		}
		if err != nil {
			return nil, fmt.Errorf("--resources: %w", err)
		}
		if err := json.Unmarshal(data, res); err != nil {
			return nil, fmt.Errorf("--resources %s: %w", f.resources, err)
		}
	}
	if f.memorySet {
		if res.Memory == nil {
			res.Memory = &specs.LinuxMemory{}
		}
		res.Memory.Limit = &f.memory
	}
	if f.pidsSet {
		res.Pids = &specs.LinuxPids{Limit: &f.pidsLimit}
	}
	if f.cpuQuotaSet || f.cpuPerS {
		if res.CPU == nil {
			res.CPU = &specs.LinuxCPU{}
		}
		if f.cpuQuotaSet {
			res.CPU.Quota = &f.cpuQuota
		}
		if f.cpuPerS {
			res.CPU.Period = &f.cpuPeriod
		}
	}
	return res, nil
}

func (a *app) eventsCommand() *cobra.Command {
	var stats bool
	var interval time.Duration
	cmd := &cobra.Command{
		Use:   "events [--stats] [--interval DURATION] ID",
		Short: "print the container's resource statistics as JSON events: once with --stats, else every interval until it stops",
		Args:  exactArgs(1, "container id"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if interval <= 0 {
				return fmt.Errorf("--interval: %s is not a positive duration", interval)
			}
			r, err := a.runtime()
			if err != nil {
				return err
			}
			enc := json.NewEncoder(cmd.OutOrStdout())
			id := args[0]
			for {
				s, err := r.Stats(id)
				if err != nil {
					if !stats {
						if running, rerr := r.Running(id); rerr == nil && !running {
							return nil
						}
					}
					return err
				}
				if err := enc.Encode(runc.Event{Type: "stats", ID: id, Stats: s}); err != nil {
					return err
				}
				if stats {
					return nil
				}
				time.Sleep(interval)
			}
		},
	}
	cmd.Flags().BoolVar(&stats, "stats", false, "print one stats event and exit")
	cmd.Flags().DurationVar(&interval, "interval", 5*time.Second, "time between stats events")
	return cmd
}
