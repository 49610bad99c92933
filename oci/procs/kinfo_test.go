package procs

import (
	"bytes"
	"reflect"
	"strings"
	"testing"
	"unsafe"
)

// godefsKinfoProc is struct kinfo_proc as cmd/cgo -godefs printed it on
// 64-bit FreeBSD, copied from gopsutil: shirou/gopsutil
// process/process_freebsd_riscv64.go (commit ca182ca7b85a, generated from
// process/types_freebsd.go), with the pointer fields as uint64 as that
// project's own generator script does for amd64. riscv64, amd64 and arm64
// are all LP64 with a 64-bit time_t, so the layout is theirs too.
//
// It is a second, independent source for the offsets in kinfo.go, which
// were worked out by hand from sys/sys/user.h. Go lays out this struct as
// a C compiler does on a 64-bit target, so unsafe.Offsetof gives the C
// offsets, and tests build kernel records from it without using the
// constants under test.
type godefsKinfoProc struct {
	Structsize     int32
	Layout         int32
	Args           uint64
	Paddr          uint64
	Addr           uint64
	Tracep         uint64
	Textvp         uint64
	Fd             uint64
	Vmspace        uint64
	Wchan          uint64
	Pid            int32
	Ppid           int32
	Pgid           int32
	Tpgid          int32
	Sid            int32
	Tsid           int32
	Jobc           int16
	Spare_short1   int16
	Tdev_freebsd11 uint32
	Siglist        [16]byte
	Sigmask        [16]byte
	Sigignore      [16]byte
	Sigcatch       [16]byte
	Uid            uint32
	Ruid           uint32
	Svuid          uint32
	Rgid           uint32
	Svgid          uint32
	Ngroups        int16
	Spare_short2   int16
	Groups         [16]uint32
	Size           uint64
	Rssize         int64
	Swrss          int64
	Tsize          int64
	Dsize          int64
	Ssize          int64
	Xstat          uint16
	Acflag         uint16
	Pctcpu         uint32
	Estcpu         uint32
	Slptime        uint32
	Swtime         uint32
	Cow            uint32
	Runtime        uint64
	Start          godefsTimeval
	Childtime      godefsTimeval
	Flag           int64
	Kiflag         int64
	Traceflag      int32
	Stat           uint8
	Nice           int8
	Lock           uint8
	Rqindex        uint8
	Oncpu_old      uint8
	Lastcpu_old    uint8
	Tdname         [17]uint8
	Wmesg          [9]uint8
	Login          [18]uint8
	Lockname       [9]uint8
	Comm           [20]uint8
	Emul           [17]uint8
	Loginclass     [18]uint8
	Moretdname     [4]uint8
	Sparestrings   [46]uint8
	Spareints      [2]int32
	Tdev           uint64
	Oncpu          int32
	Lastcpu        int32
	Tracer         int32
	Flag2          int32
	Fibnum         int32
	Cr_flags       uint32
	Jid            int32
	Numthreads     int32
	Tid            int32
	Pri            godefsPriority
	Rusage         godefsRusage
	Rusage_ch      godefsRusage
	Pcb            uint64
	Kstack         uint64
	Udata          uint64
	Tdaddr         uint64
	Pd             uint64
	Spareptrs      [5]uint64
	Sparelongs     [12]int64
	Sflag          int64
	Tdflags        int64
}

type godefsTimeval struct {
	Sec  int64
	Usec int64
}

type godefsRusage struct {
	Utime    godefsTimeval
	Stime    godefsTimeval
	Maxrss   int64
	Ixrss    int64
	Idrss    int64
	Isrss    int64
	Minflt   int64
	Majflt   int64
	Nswap    int64
	Inblock  int64
	Oublock  int64
	Msgsnd   int64
	Msgrcv   int64
	Nsignals int64
	Nvcsw    int64
	Nivcsw   int64
}

type godefsPriority struct {
	Class  uint8
	Level  uint8
	Native uint8
	User   uint8
}

// needLP64 skips tests that rely on Go laying out godefsKinfoProc as a C
// compiler does for LP64; on 32-bit hosts int64 is only 4-byte aligned.
func needLP64(t testing.TB) {
	t.Helper()
	if unsafe.Sizeof(uintptr(0)) != 8 {
		t.Skip("godefsKinfoProc mirrors the LP64 layout; this host is 32-bit")
	}
}

func TestKinfoProcLayout(t *testing.T) {
	needLP64(t)
	var k godefsKinfoProc
	// gopsutil's generated sizeOfKinfoProc is 0x440.
	if got := unsafe.Sizeof(k); got != 0x440 || kinfoProcSize != 0x440 {
		t.Fatalf("sizeof(kinfo_proc): godefs %d, kinfoProcSize %d, want both 1088", got, kinfoProcSize)
	}
	for _, c := range []struct {
		name      string
		off, want uintptr
	}{
		{"ki_structsize", offStructsize, unsafe.Offsetof(k.Structsize)},
		{"ki_pid", offPid, unsafe.Offsetof(k.Pid)},
		{"ki_ppid", offPPid, unsafe.Offsetof(k.Ppid)},
		{"ki_pgid", offPgid, unsafe.Offsetof(k.Pgid)},
		{"ki_sid", offSid, unsafe.Offsetof(k.Sid)},
		{"ki_start", offStart, unsafe.Offsetof(k.Start)},
		{"ki_stat", offStat, unsafe.Offsetof(k.Stat)},
		{"ki_comm", offComm, unsafe.Offsetof(k.Comm)},
		{"ki_jid", offJid, unsafe.Offsetof(k.Jid)},
	} {
		if c.off != c.want {
			t.Errorf("offset of %s: %d, godefs says %d", c.name, c.off, c.want)
		}
	}
	if commSize != len(k.Comm) {
		t.Errorf("commSize %d, godefs ki_comm is %d bytes", commSize, len(k.Comm))
	}
	if unsafe.Sizeof(k.Start) != 16 {
		t.Errorf("struct timeval is %d bytes, want 16", unsafe.Sizeof(k.Start))
	}
}

const testBoot = 1_700_000_000_000_000 // kern.boottime in µs, November 2023

// kernelRecord returns a kinfo_proc the way the kernel would write it for
// a process, every field this package does not read set to a non-zero
// junk byte so that an offset off by a few bytes reads junk.
func kernelRecord(pid int32, f func(*godefsKinfoProc)) godefsKinfoProc {
	var k godefsKinfoProc
	raw := unsafe.Slice((*byte)(unsafe.Pointer(&k)), unsafe.Sizeof(k))
	for i := range raw {
		raw[i] = 0xa5
	}
	k.Structsize = int32(unsafe.Sizeof(k))
	k.Pid, k.Ppid, k.Pgid, k.Sid, k.Jid = pid, 1, pid, pid, 0
	k.Start = godefsTimeval{Sec: testBoot/1e6 + 60, Usec: 250}
	k.Stat = sSLEEP
	copy(k.Comm[:], "sh\x00")
	if f != nil {
		f(&k)
	}
	return k
}

func recordBytes(ks ...godefsKinfoProc) []byte {
	var b []byte
	for i := range ks {
		b = append(b, unsafe.Slice((*byte)(unsafe.Pointer(&ks[i])), unsafe.Sizeof(ks[i]))...)
	}
	return b
}

func TestParseKinfoProc(t *testing.T) {
	needLP64(t)
	for _, c := range []struct {
		name string
		rec  godefsKinfoProc
		boot int64
		want Info
	}{{
		name: "every_field_read_from_its_offset",
		rec: kernelRecord(4242, func(k *godefsKinfoProc) {
			k.Ppid, k.Pgid, k.Tpgid, k.Sid, k.Tsid, k.Jid = 4000, 4100, 4101, 4200, 4201, 7
			k.Numthreads, k.Cr_flags = 3, 9
			k.Start = godefsTimeval{Sec: testBoot/1e6 + 12, Usec: 345678}
			k.Childtime = godefsTimeval{Sec: 1, Usec: 1}
			k.Stat = sSTOP
			copy(k.Comm[:], "nginx\x00")
		}),
		boot: testBoot,
		want: Info{Pid: 4242, PPid: 4000, Pgid: 4100, Sid: 4200, Jid: 7, Start: 12_345_678, State: Stopped, Comm: "nginx"},
	}, {
		name: "start_is_relative_to_boot_so_a_clock_step_keeps_it",
		rec: kernelRecord(10, func(k *godefsKinfoProc) {
			k.Start = godefsTimeval{Sec: testBoot/1e6 + 3600 + 12, Usec: 345678}
		}),
		boot: testBoot + 3600*1e6,
		want: Info{Pid: 10, PPid: 1, Pgid: 10, Sid: 10, Start: 12_345_678, State: Sleeping, Comm: "sh"},
	}, {
		name: "proc0_started_at_boot",
		rec: kernelRecord(0, func(k *godefsKinfoProc) {
			k.Ppid = 0
			k.Start = godefsTimeval{Sec: testBoot / 1e6}
			copy(k.Comm[:], "kernel\x00")
		}),
		boot: testBoot,
		want: Info{Pid: 0, PPid: 0, Pgid: 0, Sid: 0, Start: 0, State: Sleeping, Comm: "kernel"},
	}, {
		name: "comm_of_COMMLEN_bytes",
		rec: kernelRecord(11, func(k *godefsKinfoProc) {
			copy(k.Comm[:], "abcdefghijklmnopqrs\x00")
		}),
		boot: testBoot,
		want: Info{Pid: 11, PPid: 1, Pgid: 11, Sid: 11, Start: 60_000_250, State: Sleeping, Comm: "abcdefghijklmnopqrs"},
	}, {
		name: "comm_without_NUL_stops_at_the_field_end",
		rec: kernelRecord(12, func(k *godefsKinfoProc) {
			copy(k.Comm[:], "abcdefghijklmnopqrst")
		}),
		boot: testBoot,
		want: Info{Pid: 12, PPid: 1, Pgid: 12, Sid: 12, Start: 60_000_250, State: Sleeping, Comm: "abcdefghijklmnopqrst"},
	}} {
		t.Run(c.name, func(t *testing.T) {
			got, err := parseKinfoProcs(recordBytes(c.rec), c.boot)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != 1 || got[0] != c.want {
				t.Errorf("got %+v\nwant [%+v]", got, c.want)
			}
		})
	}
}

func TestParseKinfoProcStates(t *testing.T) {
	needLP64(t)
	// sys/sys/proc.h
	want := map[uint8]State{
		0: Unknown, 1: Forking, 2: Running, 3: Sleeping, 4: Stopped,
		5: Zombie, 6: Waiting, 7: Waiting, 8: Unknown, 0xa5: Unknown,
	}
	for stat, state := range want {
		rec := kernelRecord(5, func(k *godefsKinfoProc) { k.Stat = stat })
		got, err := parseKinfoProcs(recordBytes(rec), testBoot)
		if err != nil {
			t.Fatal(err)
		}
		if got[0].State != state {
			t.Errorf("ki_stat %d: state %v, want %v", stat, got[0].State, state)
		}
	}
}

func TestParseKinfoProcsArray(t *testing.T) {
	needLP64(t)
	b := recordBytes(
		kernelRecord(30, func(k *godefsKinfoProc) { k.Jid = 2 }),
		kernelRecord(20, func(k *godefsKinfoProc) { k.Stat = sZOMB }),
		kernelRecord(10, nil),
	)
	got, err := parseKinfoProcs(b, testBoot)
	if err != nil {
		t.Fatal(err)
	}
	var pids []int
	for _, i := range got {
		pids = append(pids, i.Pid)
	}
	if !reflect.DeepEqual(pids, []int{30, 20, 10}) || got[0].Jid != 2 || got[1].State != Zombie {
		t.Errorf("got %+v", got)
	}

	got, err = parseKinfoProcs(nil, testBoot)
	if err != nil || len(got) != 0 {
		t.Errorf("empty sysctl result: %v, %v; want no processes", got, err)
	}
}

func TestParseKinfoProcErrors(t *testing.T) {
	needLP64(t)
	good := recordBytes(kernelRecord(1, nil))
	for _, c := range []struct {
		name string
		b    []byte
		want string
	}{
		{"truncated_record", good[:kinfoProcSize-1], "not a multiple of 1088"},
		{"trailing_partial_record", append(bytes.Clone(good), good[:8]...), "not a multiple of 1088"},
		{"i386_structsize", recordBytes(kernelRecord(1, func(k *godefsKinfoProc) { k.Structsize = 768 })), "ki_structsize 768"},
		{"second_record_bad", recordBytes(kernelRecord(1, nil), kernelRecord(2, func(k *godefsKinfoProc) { k.Structsize = 0 })), "kinfo_proc 1: ki_structsize 0"},
		{"start_before_boot", recordBytes(kernelRecord(1, func(k *godefsKinfoProc) { k.Start.Sec = testBoot/1e6 - 1 })), "before the boot time"},
		{"usec_out_of_range", recordBytes(kernelRecord(1, func(k *godefsKinfoProc) { k.Start.Usec = 1e6 })), "is not a time"},
		{"negative_sec", recordBytes(kernelRecord(1, func(k *godefsKinfoProc) { k.Start.Sec = -1 })), "is not a time"},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := parseKinfoProcs(c.b, testBoot)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("got %+v, %v; want error containing %q", got, err, c.want)
			}
		})
	}
}

func FuzzParseKinfoProc(f *testing.F) {
	if unsafe.Sizeof(uintptr(0)) == 8 {
		f.Add(recordBytes(kernelRecord(1, nil)), int64(testBoot))
		f.Add(recordBytes(kernelRecord(1, nil), kernelRecord(2, nil)), int64(0))
		f.Add(recordBytes(kernelRecord(1, nil))[:100], int64(testBoot))
	}
	f.Add([]byte{}, int64(-1))
	f.Fuzz(func(t *testing.T, b []byte, boot int64) {
		infos, err := parseKinfoProcs(b, boot)
		if err != nil {
			return
		}
		if len(infos)*kinfoProcSize != len(b) {
			t.Fatalf("%d records from %d bytes", len(infos), len(b))
		}
		for _, i := range infos {
			if len(i.Comm) > commSize || strings.IndexByte(i.Comm, 0) >= 0 {
				t.Fatalf("comm %q", i.Comm)
			}
		}
	})
}
