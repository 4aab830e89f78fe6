#!/bin/sh
# check.sh: `make check`.  Every test suite, each in its own build directory:
# the cmocka unit drivers, the integration tests on a private install (real
# set-gid runs as an unprivileged user when run as root), both again under
# ASan and UBSan, a short run of every libFuzzer harness, and the docs against
# the programs (tests/docs/check.py).  Ends with one
# "N passed, N failed" line counting individual tests.
set -u
cd "$(dirname "$0")/.."

FUZZ_SECONDS=${FUZZ_CHECK_SECONDS:-15}
out=$(mktemp)
trap 'rm -f "$out"' EXIT
suites_failed=""

suite() {
	name=$1
	shift
	echo "== $name"
	if ! "$@" 2>&1 | tee -a "$out"; then
		suites_failed="$suites_failed [$name]"
	fi
}

# A pipeline's status is tee's: record the command's own.
run() { "$@" || { echo "SUITE FAILED: $*"; return 1; }; }

suite "unit"                      run make -s unit
suite "integration"               run make -s integration
suite "docs"                      run python3 tests/docs/check.py
suite "unit (ASan+UBSan)"         run make -s SAN=1 unit
suite "integration (ASan+UBSan)"  run make -s SAN=1 integration
suite "fuzz (${FUZZ_SECONDS}s each)" run sh tests/fuzz/run.sh "$FUZZ_SECONDS"

grep -q '^SUITE FAILED' "$out" && suites_failed="$suites_failed (see SUITE FAILED above)"
passed=$(awk '
	/^\[  PASSED  \] [0-9]+ test/ { n += $4 }
	/^integration.*: [0-9]+ passed/ { for (i = 1; i <= NF; i++) if ($(i) ~ /^passed/) n += $(i-1) }
	/^fuzz .*: ok/ { n++ }
	/^docs: [0-9]+ passed/ { n += $2 }
	END { print n + 0 }' "$out")
failed=$(awk '
	/^\[  FAILED  \] [0-9]+ test/ { n += $4 }
	/^integration.*: [0-9]+ passed/ { for (i = 1; i <= NF; i++) if ($(i) ~ /^failed/) n += $(i-1) }
	/^fuzz .*: FAILED/ { n++ }
	/^docs: [0-9]+ passed/ { n += $4 }
	/^SUITE FAILED/ { n++ }
	END { print n + 0 }' "$out")
echo
if [ -n "$suites_failed" ] || [ "$failed" != 0 ]; then
	echo "check: failing suites:$suites_failed"
	echo "$passed passed, $failed failed"
	exit 1
fi
echo "$passed passed, $failed failed"
