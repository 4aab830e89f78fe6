#!/bin/sh
# run.sh: build the libFuzzer harnesses and run each for SECONDS seconds.
#   sh tests/fuzz/run.sh [SECONDS]        (default 60; `make fuzz` passes FUZZ_SECONDS)
# Works from any directory.  Binaries, logs, the scratch corpora and any crash
# artifacts go to build/fuzz/; the seed corpora in tests/fuzz/corpus/ are only
# read (copied to build/fuzz/corpus-NAME first), so a run never grows them.
# Prints "fuzz NAME: ok (N runs)" or "fuzz NAME: FAILED" per harness and exits
# non-zero if any failed.  Needs no network.
set -eu

SECONDS_EACH=${1:-60}
case $SECONDS_EACH in
'' | *[!0-9]*) echo "usage: sh tests/fuzz/run.sh SECONDS" >&2; exit 2 ;;
esac
[ "$SECONDS_EACH" -ge 1 ] || { echo "run.sh: SECONDS must be at least 1" >&2; exit 2; }

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT"
# FUZZ_OUT: another directory for a run beside another's (two runs of one harness share files).
OUT=${FUZZ_OUT:-$ROOT/build/fuzz}
mkdir -p "$OUT/tmp"

# FUZZ_CC and FUZZ_CFLAGS (appended) are for experiments, e.g.
# FUZZ_CFLAGS=-DFUZZ_ENCODE_MIN_CAP=1 shows idheader_encode's small-cap overflow
# (tests/fuzz/crashes/README).
CC=${FUZZ_CC:-clang}
CFLAGS="-g -O1 -std=c11 -D_GNU_SOURCE -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all -Icommon -Iwrapper -Itools ${FUZZ_CFLAGS:-}"
COMMON=$(ls common/*.c)

# The wrapper sources and libraries each harness needs (never wrapper/main.c).
sources() {
	case $1 in
	idheader) echo "wrapper/idheader.c" ;;
	record | config | freeze | pathclean) echo "" ;;
	logread) echo "tools/jsonread.c tools/logread.c tools/vhost.c" ;;
	queue) echo "tools/queue.c" ;;
	rewrite) echo "tools/rewrite.c" ;;
	smtp) echo "wrapper/smtp.c" ;;
	phpscan) echo "-Iinstaller installer/phpscan.c installer/util.c" ;;
	fpmstatus) echo "wrapper/fpmstatus.c" ;;
	kproto) echo "wrapper/kproto.c wrapper/kencode.c" ;;
	origin) echo "wrapper/caller.c wrapper/origin.c wrapper/fpmstatus.c" ;;
	esac
}
libs() {
	case $1 in
	record) echo "-lconfig -ljson-c" ;;
	logread) echo "-lconfig -lz" ;;
	*) echo "-lconfig" ;;
	esac
}

# Say where things are when something fails; stdout keeps one line per harness.
explain() {
	echo "  $1 log: $2" >&2
	tail -n 40 "$2" | sed 's/^/  | /' >&2
}

export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_stack_use_after_return=1:strict_string_checks=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
export TMPDIR="$OUT/tmp"

failed=0
for name in ${FUZZ_ONLY:-message idheader record config classify state spool logread queue smtp fpmstatus kproto origin freeze rewrite pathclean phpscan}; do
	bin=$OUT/fuzz_$name
	log=$OUT/fuzz_$name.log
	corpus=$OUT/corpus-$name
	artifacts=$OUT/artifacts-$name/

	# shellcheck disable=SC2046,SC2086
	if ! $CC $CFLAGS -o "$bin" "tests/fuzz/fuzz_$name.c" $COMMON $(sources $name) \
	    $(libs $name) >"$OUT/fuzz_$name.build.log" 2>&1; then
		echo "fuzz $name: FAILED"
		explain "build" "$OUT/fuzz_$name.build.log"
		failed=1
		continue
	fi

	rm -rf "$corpus" "$artifacts"
	mkdir -p "$corpus" "$artifacts"
	if [ -d "tests/fuzz/corpus/$name" ]; then
		cp tests/fuzz/corpus/"$name"/* "$corpus"/ 2>/dev/null || true
	fi

	# stdin from /dev/null: nothing a harness does may wait for a terminal.
	if "$bin" -max_total_time="$SECONDS_EACH" -timeout=10 -rss_limit_mb=2048 \
	    -print_final_stats=1 -artifact_prefix="$artifacts" "$corpus" \
	    </dev/null >"$log" 2>&1; then
		runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
		rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -n 1)
		echo "fuzz $name: ok (${runs:-?} runs)"
		echo "fuzz $name: ${rate:-?} execs/s, corpus $(find "$corpus" -type f | wc -l) inputs" >"$OUT/fuzz_$name.summary"
	else
		echo "fuzz $name: FAILED"
		for a in "$artifacts"*; do
			if [ -e "$a" ]; then
				echo "  reproducer: $a (run: $bin $a)" >&2
			fi
		done
		explain "run" "$log"
		failed=1
	fi
done
exit $failed
