package procs

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math"
)

// This file decodes FreeBSD's struct kinfo_proc, the record that the
// kern.proc.* sysctls return. golang.org/x/sys/unix does not define it, so
// the layout is taken from the header and pinned in kinfo_test.go against
// the cgo -godefs output gopsutil generated from the same header. The
// decoder is portable so that it is tested where the project is built.
//
// Layout: sys/sys/user.h (freebsd/freebsd-src, commit 29363fb4), struct
// kinfo_proc, for LP64 FreeBSD (amd64, arm64; riscv64 has the same layout).
// Only the fields this package reads have an offset here.
const (
	// KINFO_PROC_SIZE: sys/amd64/include/proc.h and sys/arm64/include/proc.h
	// both define 1088. user.h asks for the size never to change, so a
	// record of another size is another layout (a 32-bit kernel) and is
	// refused rather than misread.
	kinfoProcSize = 1088

	offStructsize = 0   // int ki_structsize
	offPid        = 72  // pid_t ki_pid: after ki_structsize, ki_layout and eight pointers (ki_args .. ki_wchan)
	offPPid       = 76  // pid_t ki_ppid
	offPgid       = 80  // pid_t ki_pgid
	offSid        = 88  // pid_t ki_sid, after ki_tpgid
	offStart      = 336 // struct timeval ki_start: time_t tv_sec, suseconds_t tv_usec, both 64-bit on LP64
	offStat       = 388 // char ki_stat, after ki_childtime, ki_flag, ki_kiflag, ki_traceflag
	offComm       = 447 // char ki_comm[COMMLEN+1]
	commSize      = 20  // user.h: COMMLEN 19, plus the NUL
	offJid        = 592 // int ki_jid
)

// Values of ki_stat. sys/sys/proc.h: SIDL 1, SRUN 2, SSLEEP 3, SSTOP 4,
// SZOMB 5, SWAIT 6, SLOCK 7. fill_kinfo_proc (sys/kern/kern_proc.c) sets
// SZOMB from the process state and SSTOP from P_SHOULDSTOP, so both are
// exact; the others describe the process's first thread.
const (
	sIDL   = 1
	sRUN   = 2
	sSLEEP = 3
	sSTOP  = 4
	sZOMB  = 5
	sWAIT  = 6
	sLOCK  = 7
)

var kinfoStates = map[byte]State{
	sIDL:   Forking,
	sRUN:   Running,
	sSLEEP: Sleeping,
	sSTOP:  Stopped,
	sZOMB:  Zombie,
	sWAIT:  Waiting,
	sLOCK:  Waiting,
}

// parseKinfoProcs decodes the result of a kern.proc.* sysctl: an array of
// struct kinfo_proc, each ki_structsize bytes long. boot is kern.boottime
// in microseconds since the Epoch, read around the same sysctl.
//
// The kernel fills ki_start as the process's start in uptime plus the boot
// time (fill_kinfo_proc_only in sys/kern/kern_proc.c: "kp->ki_start =
// p->p_stats->p_start; ... timevaladd(&kp->ki_start, &boottime)"), and
// setting the clock moves the boot time. Subtracting boot gives back the
// start in uptime, which no clock step changes, so a container does not
// look stopped after ntpd steps the clock.
func parseKinfoProcs(b []byte, boot int64) ([]Info, error) {
	if len(b)%kinfoProcSize != 0 {
		return nil, fmt.Errorf("kinfo_proc array: %d bytes is not a multiple of %d", len(b), kinfoProcSize)
	}
	infos := make([]Info, 0, len(b)/kinfoProcSize)
	for off := 0; off < len(b); off += kinfoProcSize {
		info, err := parseKinfoProc(b[off:off+kinfoProcSize], boot)
		if err != nil {
			return nil, fmt.Errorf("kinfo_proc %d: %w", off/kinfoProcSize, err)
		}
		infos = append(infos, info)
	}
	return infos, nil
}

// parseKinfoProc decodes one struct kinfo_proc. The kernel writes it in its
// own byte order, which is this process's.
func parseKinfoProc(b []byte, boot int64) (Info, error) {
	if len(b) != kinfoProcSize {
		return Info{}, fmt.Errorf("%d bytes, want %d", len(b), kinfoProcSize)
	}
	if size := int32At(b, offStructsize); size != kinfoProcSize {
		return Info{}, fmt.Errorf("ki_structsize %d, want %d (KINFO_PROC_SIZE of LP64 FreeBSD)", size, kinfoProcSize)
	}
	sec := int64(binary.NativeEndian.Uint64(b[offStart:]))
	usec := int64(binary.NativeEndian.Uint64(b[offStart+8:]))
	if sec < 0 || sec > math.MaxInt64/1_000_000-1 || usec < 0 || usec >= 1e6 {
		return Info{}, fmt.Errorf("ki_start {%d, %d} is not a time", sec, usec)
	}
	start := sec*1e6 + usec - boot
	if start < 0 {
		return Info{}, fmt.Errorf("ki_start %d.%06d is before the boot time", sec, usec)
	}
	comm := b[offComm : offComm+commSize]
	if i := bytes.IndexByte(comm, 0); i >= 0 {
		comm = comm[:i]
	}
	return Info{
		Pid:   int(int32At(b, offPid)),
		PPid:  int(int32At(b, offPPid)),
		Pgid:  int(int32At(b, offPgid)),
		Sid:   int(int32At(b, offSid)),
		Jid:   int(int32At(b, offJid)),
		Start: uint64(start),
		State: kinfoStates[b[offStat]],
		Comm:  string(comm),
	}, nil
}

func int32At(b []byte, off int) int32 {
	return int32(binary.NativeEndian.Uint32(b[off:]))
}
