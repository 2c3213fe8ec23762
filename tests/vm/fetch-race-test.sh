#!/usr/bin/env bash
# The suite's fetch steps, started twice at once on an empty cache, must both
# succeed and agree: each shared artifact is downloaded once, under its lock,
# and moved into place whole (common.sh). Uses a cache of its own.
#   tests/vm/fetch-race-test.sh KVER
set -uo pipefail
. "$(dirname "$0")/common.sh"
. "$(dirname "$0")/criu4.sh"

kver=${1:?usage: fetch-race-test.sh KVER}
NC_CACHE=$(mktemp -d "${TMPDIR:-/tmp}/nc-cache-race.XXXXXX")
export NC_CACHE
trap 'rm -rf "$NC_CACHE"' EXIT
out=$NC_CACHE/.out
mkdir -p "$out"

# One run of the suite's fetch steps, as run.sh takes them.
fetch_all() { # TAG
	local kroot criu4
	kroot=$(nc_fetch_kernel "$kver") || return 1
	criu4=$(nc_fetch_criu4) || return 1
	echo "$kroot $criu4"
}

for tag in a b; do
	fetch_all $tag >"$out/$tag" 2>"$out/$tag.err" &
	eval "pid_$tag=$!"
done
bad=0
for tag in a b; do
	pid_var=pid_$tag
	if ! wait "${!pid_var}"; then
		echo "run $tag failed:"
		sed 's/^/  /' "$out/$tag.err"
		bad=1
	fi
done
[ $bad = 0 ] || exit 1

read -r kroot criu4 <"$out/a"
[ "$(cat "$out/a")" = "$(cat "$out/b")" ] ||
	{ echo "the runs disagree: '$(cat "$out/a")' vs '$(cat "$out/b")'"; exit 1; }
[ "$kroot" = "$NC_CACHE/kernel-$kver" ] || { echo "kernel root is '$kroot'"; exit 1; }
[ -f "$kroot/boot/vmlinuz-$kver" ] || { echo "no vmlinuz-$kver in $kroot"; exit 1; }
[ -s "$kroot/lib/modules/$kver/modules.dep" ] || { echo "no modules.dep in $kroot"; exit 1; }
modprobe -d "$kroot" -S "$kver" --show-depends kvm-amd >/dev/null ||
	{ echo "kvm-amd's dependencies cannot be resolved in $kroot"; exit 1; }
nc_criu4_ready "$criu4" || { echo "criu 4 tree $criu4 is incomplete"; exit 1; }
grep -q '^criu ' "$criu4/.packages" || { echo "criu 4 tree lists no criu package"; exit 1; }
# Each artifact was downloaded once: one package list line per package.
dups=$(cut -d' ' -f1 "$criu4/.packages" | sort | uniq -d)
[ -z "$dups" ] || { echo "criu 4 packages unpacked twice: $dups"; exit 1; }
# Nothing half-made is left behind.
left=$(find "$NC_CACHE" -maxdepth 1 -name '.*.tmp.*')
[ -z "$left" ] || { echo "temporary directories left in the cache: $left"; exit 1; }
echo "both runs got $kroot and $criu4"
