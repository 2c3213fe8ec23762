#!/usr/bin/env bash
# Build and run the image decoder's libFuzzer target.
#   tests/fuzz/run.sh SECONDS [JOBS]
# New inputs go to $BUILD/fuzz/work (never into the tree); the seed corpus
# tests/fuzz/corpus is read. Exit 0 only if libFuzzer found nothing.
set -euo pipefail
cd "$(dirname "$0")/../.."
secs=${1:?usage: run.sh SECONDS [JOBS]}
jobs=${2:-1}
build=${NC_BUILD:-$PWD/build}
make -s -C tests/fuzz BUILD="$build"
mkdir -p "$build/fuzz/work"
cd "$build/fuzz"
rm -f crash-* leak-* timeout-* oom-*
args=(-max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1)
if [ "$jobs" -gt 1 ]; then
	args+=(-jobs="$jobs" -workers="$jobs")
fi
rc=0
./fuzz_image "${args[@]}" work "$OLDPWD/tests/fuzz/corpus" || rc=$?
if ls crash-* leak-* timeout-* oom-* >/dev/null 2>&1; then
	echo "fuzz: findings in $build/fuzz:" crash-* leak-* timeout-* oom-* 2>/dev/null
	exit 1
fi
exit $rc
