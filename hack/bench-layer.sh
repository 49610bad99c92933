#!/bin/sh
# Compares rootfs.ApplyLayer with GNU tar unpacking the same generated
# 200 MB layer to the same disk, side by side, and prints the ratio.
# Runs alternate between the two, so that a busy machine slows both.
#
#   hack/bench-layer.sh                    3 runs of 3 iterations each
#   BENCHTIME=5x COUNT=5 hack/bench-layer.sh
#   RUNJ_GO_BENCH_DIR=/some/disk hack/bench-layer.sh   measure another disk
#
# Every iteration unpacks into a new directory and nothing is removed until
# all runs are done: on ext4, files created soon after thousands were
# removed are much slower to create. This needs about
# 2 * COUNT * (iterations + 1) * 215 MB of free space.
set -eu
cd "$(dirname "$0")/.."
benchtime=${BENCHTIME:-3x}
count=${COUNT:-3}
go=${GO:-go}

tmp=$(mktemp -d)
trap 'rm -rf "$tmp" "${work:-}"' EXIT
work=$(mktemp -d "${RUNJ_GO_BENCH_DIR:-${TMPDIR:-/tmp}}/runj-go-bench.XXXXXX")
export RUNJ_GO_BENCH_DIR="$work"
$go test -c -o "$tmp/rootfs.test" ./rootfs
i=0
while [ "$i" -lt "$count" ]; do
	(cd rootfs && "$tmp/rootfs.test" -test.run '^$' \
		-test.bench '^Benchmark(ApplyLayer|GNUTar)$' \
		-test.benchtime "$benchtime") | tee -a "$tmp/out"
	i=$((i + 1))
done
echo
awk -v runs="$count" -v benchtime="$benchtime" '
function median(v, n,    i, j, t) {
	for (i = 2; i <= n; i++)
		for (j = i; j > 1 && v[j-1] > v[j]; j--) { t = v[j]; v[j] = v[j-1]; v[j-1] = t }
	return n % 2 ? v[(n+1)/2] : (v[n/2] + v[n/2+1]) / 2
}
function mbs(    i) { for (i = 2; i <= NF; i++) if ($i == "MB/s") return $(i-1); return "" }
/^BenchmarkApplyLayer(-[0-9]+)?[ \t]/ { a[++na] = mbs() }
/^BenchmarkGNUTar(-[0-9]+)?[ \t]/     { g[++ng] = mbs() }
END {
	if (na == 0) { print "no BenchmarkApplyLayer result"; exit 1 }
	ma = median(a, na)
	printf "unpacking the generated layer (median of %d runs of %s):\n", runs, benchtime
	printf "  %-22s %8.1f MB/s\n", "runj-go ApplyLayer", ma
	if (ng == 0) { print "  GNU tar: not found (tried gtar and tar), no ratio"; exit 0 }
	mg = median(g, ng)
	printf "  %-22s %8.1f MB/s\n", "GNU tar -x", mg
	printf "  %-22s %8.2f  (ApplyLayer / GNU tar; the goal is >= 1)\n", "ratio", ma / mg
}' "$tmp/out"
