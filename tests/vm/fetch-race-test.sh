#!/usr/bin/env bash
# The suite's fetch steps, started twice at once on an empty cache, must both
# succeed and agree: each shared artifact is downloaded once, under its lock,
# and moved into place whole (common.sh). Uses a cache of its own.
#   tests/vm/fetch-race-test.sh KVER...   (Debian 12's or Debian 13's kernels)
set -uo pipefail
. "$(dirname "$0")/common.sh"
. "$(dirname "$0")/criu4.sh"

[ $# -gt 0 ] || { echo "usage: fetch-race-test.sh KVER..."; exit 2; }
kvers=("$@")
NC_CACHE=$(mktemp -d "${TMPDIR:-/tmp}/nc-cache-race.XXXXXX")
export NC_CACHE
trap 'rm -rf "$NC_CACHE"' EXIT
out=$NC_CACHE/.out
mkdir -p "$out"

# One run of the suite's fetch steps, as run.sh takes them.
fetch_all() { # TAG
	local kver kroot criu4
	for kver in "${kvers[@]}"; do
		kroot=$(nc_fetch_kernel "$kver") || return 1
		echo "$kroot"
	done
	criu4=$(nc_fetch_criu4) || return 1
	echo "$criu4"
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

[ "$(cat "$out/a")" = "$(cat "$out/b")" ] ||
	{ echo "the runs disagree: '$(cat "$out/a")' vs '$(cat "$out/b")'"; exit 1; }
criu4=$(tail -n 1 "$out/a")
i=0
for kver in "${kvers[@]}"; do
	i=$((i + 1))
	kroot=$(sed -n "${i}p" "$out/a")
	[ "$kroot" = "$NC_CACHE/kernel-$kver" ] || { echo "kernel root is '$kroot'"; exit 1; }
	[ -f "$kroot/boot/vmlinuz-$kver" ] || { echo "no vmlinuz-$kver in $kroot"; exit 1; }
	[ -s "$kroot/lib/modules/$kver/modules.dep" ] || { echo "no modules.dep in $kroot"; exit 1; }
	modprobe -d "$kroot" -S "$kver" --show-depends kvm-amd >/dev/null ||
		{ echo "kvm-amd's dependencies cannot be resolved in $kroot"; exit 1; }
	# Each package of the image was unpacked once.
	dups=$(cut -d' ' -f1 "$kroot/.packages" | sort | uniq -d)
	[ -z "$dups" ] || { echo "kernel $kver packages unpacked twice: $dups"; exit 1; }
done
nc_criu4_ready "$criu4" || { echo "criu 4 tree $criu4 is incomplete"; exit 1; }
grep -q '^criu ' "$criu4/.packages" || { echo "criu 4 tree lists no criu package"; exit 1; }
# Each artifact was downloaded once: one package list line per package.
dups=$(cut -d' ' -f1 "$criu4/.packages" | sort | uniq -d)
[ -z "$dups" ] || { echo "criu 4 packages unpacked twice: $dups"; exit 1; }
# Nothing half-made is left behind.
left=$(find "$NC_CACHE" -maxdepth 1 -name '.*.tmp.*')
[ -z "$left" ] || { echo "temporary directories left in the cache: $left"; exit 1; }
echo "both runs got $(head -n -1 "$out/a" | tr '\n' ' ')and $criu4"
