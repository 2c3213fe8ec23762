# Host-side, sourced by tests/vm/*.sh after common.sh: CRIU 4.x for the guest.
#
# Debian 12 ships criu 3.17 only. Debian 13 ships criu 4.x, built against a
# newer glibc; its binary runs unchanged here through Debian 13's own dynamic
# loader with Debian 13's libraries beside it. nc_fetch_criu4 takes those
# packages from Debian's archive (archive.sh: every .deb checked against the
# signed index) and unpacks them into one tree in the cache; nothing is
# installed on the host.

NC_CRIU4_SUITE=${NC_CRIU4_SUITE:-trixie}

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
	local root=$1 tmp list name file sum
	tmp=$(nc_cache_tmpdir "criu4-$NC_CRIU4_SUITE")
	# shellcheck disable=SC2064
	trap "rm -rf '$tmp'" EXIT
	nc_archive_index "$NC_CRIU4_SUITE" "$tmp"
	list=$(nc_criu4_closure "$tmp/$NC_CRIU4_SUITE.Packages")
	if echo "$list" | grep -q '^missing '; then
		nc_die "criu 4: $(echo "$list" | grep '^missing ' | tr '\n' ' ')"
	fi
	mkdir "$tmp/root"
	while read -r name file sum; do
		nc_archive_get "$NC_CRIU4_SUITE" "$file" "$sum" "$tmp/pkg.deb"
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
