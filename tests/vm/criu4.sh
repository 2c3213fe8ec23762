# Host-side, sourced by tests/vm/*.sh after common.sh: CRIU 4.x for the guest.
#
# Debian 12 ships criu 3.17 only. Debian 13 ships criu 4.x, built against a
# newer glibc; its binary runs unchanged here through Debian 13's own dynamic
# loader with Debian 13's libraries beside it. nc_fetch_criu4 takes those
# packages from Debian's archive (InRelease checked against the keyring of
# the Debian 12 machine, every .deb against the signed index) and unpacks
# them into one tree in the cache; nothing is installed on the host.

NC_CRIU4_SUITE=${NC_CRIU4_SUITE:-trixie}
NC_DEBIAN_MIRROR=${NC_DEBIAN_MIRROR:-http://deb.debian.org/debian}

# nc_criu4_closure PACKAGES_FILE: "name filename sha256" of criu and every
# library package it needs, recursively (first alternative of each
# dependency; packages other than libraries and the C runtime are left out:
# they carry no code the loader maps).
nc_criu4_closure() {
	awk '
	/^Package: / { p = $2 }
	/^Filename: / { file[p] = $2 }
	/^SHA256: / { sum[p] = $2 }
	/^(Pre-)?Depends: / {
		sub(/^[A-Za-z-]+: /, "")
		n = split($0, d, /, */)
		for (i = 1; i <= n; i++) {
			sub(/ *\|.*/, "", d[i]); sub(/ *\(.*/, "", d[i]); sub(/:any$/, "", d[i])
			deps[p] = deps[p] " " d[i]
		}
	}
	function want(q,   m, x, i) {
		if (q in seen || !(q ~ /^(lib|criu$|gcc-[0-9]+-base$)/)) return
		seen[q] = 1
		if (!(q in file)) { print "missing " q; return }
		print q, file[q], sum[q]
		m = split(deps[q], x, / +/)
		for (i = 1; i <= m; i++) if (x[i] != "") want(x[i])
	}
	END { want("criu") }' "$1"
}

# nc_fetch_criu4: prints the unpacked tree (criu at usr/sbin/criu in it).
# Made under the cache lock in a private directory and renamed into place
# whole (common.sh), so runs started together share one download.
nc_fetch_criu4() {
	local root=$NC_CACHE/criu4-$NC_CRIU4_SUITE
	nc_criu4_ready "$root" && { echo "$root"; return; }
	(
		nc_cache_lock "criu4-$NC_CRIU4_SUITE"
		nc_criu4_ready "$root" && exit 0
		nc_criu4_unpack "$root"
	) || exit 1
	echo "$root"
}

nc_criu4_ready() { [ -x "$1/usr/sbin/criu" ] && [ -e "$1/.complete" ]; }

# nc_criu4_unpack ROOT: the download itself; the caller holds the lock.
nc_criu4_unpack() {
	local root=$1 tmp idx_sum list name file sum
	tmp=$(nc_cache_tmpdir "criu4-$NC_CRIU4_SUITE")
	# shellcheck disable=SC2064
	trap "rm -rf '$tmp'" EXIT
	curl -fsS -m 120 -o "$tmp/InRelease" "$NC_DEBIAN_MIRROR/dists/$NC_CRIU4_SUITE/InRelease" ||
		nc_die "criu 4: cannot fetch $NC_CRIU4_SUITE's InRelease"
	gpgv --keyring /usr/share/keyrings/debian-archive-keyring.gpg "$tmp/InRelease" 2>/dev/null ||
		nc_die "criu 4: $NC_CRIU4_SUITE's InRelease does not verify against Debian's keyring"
	idx_sum=$(awk '/^SHA256:/ { s = 1; next } /^[A-Za-z]/ { s = 0 }
		s && $3 == "main/binary-amd64/Packages.xz" { print $1 }' "$tmp/InRelease")
	[ -n "$idx_sum" ] || nc_die "criu 4: no Packages.xz in $NC_CRIU4_SUITE's InRelease"
	curl -fsS -m 300 -o "$tmp/Packages.xz" \
		"$NC_DEBIAN_MIRROR/dists/$NC_CRIU4_SUITE/main/binary-amd64/Packages.xz" ||
		nc_die "criu 4: cannot fetch the package index"
	echo "$idx_sum  $tmp/Packages.xz" | sha256sum -c --quiet - ||
		nc_die "criu 4: the package index does not match InRelease"
	xz -dc "$tmp/Packages.xz" >"$tmp/Packages"
	list=$(nc_criu4_closure "$tmp/Packages")
	if echo "$list" | grep -q '^missing '; then
		nc_die "criu 4: $(echo "$list" | grep '^missing ' | tr '\n' ' ')"
	fi
	mkdir "$tmp/root"
	while read -r name file sum; do
		curl -fsS -m 300 -o "$tmp/pkg.deb" "$NC_DEBIAN_MIRROR/$file" ||
			nc_die "criu 4: cannot fetch $file"
		echo "$sum  $tmp/pkg.deb" | sha256sum -c --quiet - ||
			nc_die "criu 4: $file does not match the index"
		dpkg-deb -x "$tmp/pkg.deb" "$tmp/root" || nc_die "criu 4: cannot unpack $file"
		echo "$name $(basename "$file")" >>"$tmp/root/.packages"
	done <<<"$list"
	[ -x "$tmp/root/usr/sbin/criu" ] || nc_die "criu 4: the criu package has no usr/sbin/criu"
	touch "$tmp/root/.complete"
	# A tree left incomplete by an older version of this script.
	rm -rf "$root"
	nc_cache_publish "$tmp/root" "$root"
	nc_log "criu 4: $(grep '^criu ' "$root/.packages" | cut -d' ' -f2) and" \
		"$(($(wc -l <"$root/.packages") - 1)) library packages in $root"
}
