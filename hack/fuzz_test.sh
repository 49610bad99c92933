#!/bin/sh
# Checks hack/fuzz.sh's classifier: only the coordinator's bare deadline
# race is tolerated; crashers, test errors and build failures are not.
set -eu
cd "$(dirname "$0")"
fail=0
check() {
	want=$1 log=testdata/fuzzlog/$2
	if ./fuzz.sh --classify "$log"; then got=tolerated; else got=failure; fi
	if [ "$got" != "$want" ]; then
		echo "hack/fuzz.sh --classify $log: got $got, want $want"
		fail=1
	fi
}
check tolerated race.log
check failure crash.log
check failure deadline-and-crash.log
check failure seed.log
check failure build.log
exit "$fail"
