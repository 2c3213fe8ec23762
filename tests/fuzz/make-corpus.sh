#!/usr/bin/env bash
# Rebuild the seed corpus of fuzz_image from the captured fixtures:
# each image twice, with mode byte 0 (as is) and 1 (resealed after mutation).
#   tests/fuzz/make-corpus.sh [BUILD]      (nestckptctl must be built)
set -euo pipefail
cd "$(dirname "$0")/../.."
build=${1:-build}
out=tests/fuzz/corpus
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
rm -rf "$out"
mkdir -p "$out"
for v in svm vmx; do
	"$build/bin/nestckptctl" image-from-capture "tests/fixtures/$v" "$tmp/$v" >/dev/null
	for mode in 0 1; do
		{ printf "\\x0$mode"; cat "$tmp/$v/nestckpt-kvm-0.img"; } >"$out/$v-mode$mode.bin"
	done
done
# A truncated one and a wrong-version one, so the error paths start covered.
head -c 2000 "$out/svm-mode0.bin" >"$out/svm-truncated.bin"
{ printf '\x00NCKPTIMG\x02\x00\x00\x00'; tail -c +14 "$out/vmx-mode0.bin"; } >"$out/vmx-version2.bin"
ls -l "$out"
