package bundle

// Rlimits maps the OCI rlimit names a FreeBSD container can use to resource
// numbers. sys/sys/resource.h: RLIMIT_CPU 0 ... RLIMIT_UMTXP 14, RLIMIT_AS is
// RLIMIT_VMEM; RLIMIT_PIPEBUF 15 since FreeBSD 14.2.
var Rlimits = map[string]int{
	"RLIMIT_CPU":     0,
	"RLIMIT_FSIZE":   1,
	"RLIMIT_DATA":    2,
	"RLIMIT_STACK":   3,
	"RLIMIT_CORE":    4,
	"RLIMIT_RSS":     5,
	"RLIMIT_MEMLOCK": 6,
	"RLIMIT_NPROC":   7,
	"RLIMIT_NOFILE":  8,
	"RLIMIT_SBSIZE":  9,
	"RLIMIT_VMEM":    10,
	"RLIMIT_AS":      10,
	"RLIMIT_NPTS":    11,
	"RLIMIT_SWAP":    12,
	"RLIMIT_KQUEUES": 13,
	"RLIMIT_UMTXP":   14,
	"RLIMIT_PIPEBUF": 15,
}
