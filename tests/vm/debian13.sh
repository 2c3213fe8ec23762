# Host-side, sourced by common.sh: Debian 13's own kernels in the test bed.
#
# Debian 13 ("trixie") names its kernels X.Y.Z+deb13-FLAVOUR, in trixie and
# in trixie-backports alike. They are built with gcc-14 and their kbuild tools
# are linked against Debian 13's glibc, so this Debian 12 host can build no
# module for them. The suite does what a Debian 13 machine does: DKMS builds
# nestckpt.ko inside a minimal Debian 13 root (mmdebstrap) that holds dkms,
# make and the kernels' headers (whose dependencies bring gcc-14). Kernel
# images and the index that names the current kernels come from the archive
# (archive.sh); nothing of the host's apt configuration is used or changed.

# A Debian 13 machine with the default sources, and the backports suite.
NC_D13_SUITES=${NC_D13_SUITES:-trixie trixie-updates trixie-security}
NC_D13_BACKPORTS=${NC_D13_BACKPORTS:-trixie-backports}

nc_is_d13() { case $1 in *+deb13-*) return 0 ;; *) return 1 ;; esac; }

# nc_d13_table DIR SUITE...: DIR/table, one line per linux-* package of the
# suites: "SUITE NAME VERSION FILENAME SHA256 DEPENDS" (DEPENDS without
# blanks, "-" for none).
nc_d13_table() {
	local dir=$1 s
	shift
	: >"$dir/table"
	for s in "$@"; do
		nc_archive_index "$s" "$dir"
		awk -v suite="$s" 'BEGIN { RS = ""; FS = "\n" }
		{
			name = ver = file = sum = dep = ""
			for (i = 1; i <= NF; i++) {
				if ($i ~ /^Package: /) name = substr($i, 10)
				else if ($i ~ /^Version: /) ver = substr($i, 10)
				else if ($i ~ /^Filename: /) file = substr($i, 11)
				else if ($i ~ /^SHA256: /) sum = substr($i, 9)
				else if ($i ~ /^Depends: /) dep = substr($i, 10)
			}
			if (name !~ /^linux-/) next
			gsub(/ /, "", dep)
			print suite, name, ver, file, sum, (dep == "" ? "-" : dep)
		}' "$dir/$s.Packages" >>"$dir/table"
		rm -f "$dir/$s.Packages"
	done
}

# nc_d13_pick TABLE NAME: NAME's line of the highest version in TABLE (the
# one apt would take among suites of equal priority).
nc_d13_pick() {
	local best='' bv='' line v
	while read -r line; do
		v=$(echo "$line" | cut -d' ' -f3)
		if [ -z "$best" ] || dpkg --compare-versions "$v" gt "$bv"; then
			best=$line bv=$v
		fi
	done < <(awk -v n="$2" '$2 == n' "$1")
	echo "$best"
}

# nc_d13_deps LINE: the package names LINE depends on (first alternative).
nc_d13_deps() {
	echo "$1" | cut -d' ' -f6 | tr ',' '\n' | sed 's/|.*//; s/(.*//; s/:any$//' | grep -v '^-$'
}

# nc_d13_resolve stable|backports: the kernel a Debian 13 machine gets from
# linux-image-amd64 (stable: its default suites; backports: trixie-backports),
# as "KVER SUITE IMAGE_VERSION HEADERS_VERSION".
nc_d13_resolve() {
	local suites
	case $1 in
	stable) suites=$NC_D13_SUITES ;;
	backports) suites=$NC_D13_BACKPORTS ;;
	*) nc_die "nc_d13_resolve: stable or backports, not '$1'" ;;
	esac
	(
		tmp=$(mktemp -d "${TMPDIR:-/tmp}/nc-d13-index.XXXXXX") || exit 1
		trap 'rm -rf "$tmp"' EXIT
		# shellcheck disable=SC2086 # a list of suites
		nc_d13_table "$tmp" $suites
		meta=$(nc_d13_pick "$tmp/table" linux-image-amd64)
		[ -n "$meta" ] || nc_die "Debian 13 ($suites) has no linux-image-amd64"
		img=$(nc_d13_deps "$meta" | grep -E '^linux-image-.+-amd64$' | grep -v '^linux-image-amd64$' | head -n 1)
		kver=${img#linux-image-}
		nc_is_d13 "$kver" || nc_die "Debian 13's linux-image-amd64 ($suites) depends on no X+deb13 kernel: '$img'"
		hdr=$(nc_d13_pick "$tmp/table" "linux-headers-$kver")
		[ -n "$hdr" ] || nc_die "Debian 13 ($suites) has no linux-headers-$kver"
		echo "$kver $(echo "$meta" | cut -d' ' -f1) $(echo "$meta" | cut -d' ' -f3) $(echo "$hdr" | cut -d' ' -f3)"
	)
}

# nc_d13_unpack_kernel KVER TMP: the packages of linux-image-KVER (the one a
# Debian 13 user installs; from 7.x it is split into linux-binary-, linux-
# modules- and linux-base-KVER) unpacked into TMP/root; the caller holds
# the kernel's cache lock (nc_fetch_kernel).
nc_d13_unpack_kernel() {
	local kver=$1 tmp=$2 i=0 name line suite file sum dep
	local -a todo=("linux-image-$kver")
	# shellcheck disable=SC2086 # lists of suites
	nc_d13_table "$tmp" $NC_D13_SUITES $NC_D13_BACKPORTS
	while [ $i -lt ${#todo[@]} ]; do
		name=${todo[$i]}
		i=$((i + 1))
		grep -q "^$name " "$tmp/root/.packages" 2>/dev/null && continue
		line=$(nc_d13_pick "$tmp/table" "$name")
		[ -n "$line" ] || nc_die "kernel $kver: Debian 13 has no package $name"
		read -r suite name _ file sum _ <<<"$line"
		nc_archive_get "$suite" "$file" "$sum" "$tmp/pkg.deb"
		dpkg-deb -x "$tmp/pkg.deb" "$tmp/root" || nc_die "kernel $kver: cannot unpack $file"
		echo "$name $(echo "$line" | cut -d' ' -f3) $suite" >>"$tmp/root/.packages"
		# The kernel's own parts: the dependencies named after it.
		for dep in $(nc_d13_deps "$line"); do
			case $dep in linux-*-"$kver") todo+=("$dep") ;; esac
		done
	done
	rm -f "$tmp/pkg.deb" "$tmp"/*.InRelease "$tmp/table"
}

# The mirrors of a Debian 13 machine with backports, as apt source lines.
nc_d13_sources() {
	local s
	for s in $NC_D13_SUITES $NC_D13_BACKPORTS; do
		echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $(nc_archive_mirror "$s") $s main"
	done
}

# nc_d13_chroot ROOT COMMAND...: COMMAND inside ROOT with /proc mounted, in a
# mount namespace of its own (nothing stays mounted when it ends).
nc_d13_chroot() {
	unshare --mount --propagation private sh -c \
		'r=$1; shift; mount -t proc proc "$r/proc" && exec chroot "$r" "$@"' sh "$@"
}

# nc_d13_buildroot KVER...: a Debian 13 root with dkms and the headers of each
# KVER, made once into the cache (prints it). dpkg-query's view of it is in
# ROOT/.packages.
nc_d13_buildroot() {
	local name root
	name=d13-build-$(echo "$@" | tr ' ' '_')
	root=$NC_CACHE/$name
	[ -e "$root/.complete" ] && { echo "$root"; return; }
	(
		nc_cache_lock "$name"
		[ -e "$root/.complete" ] && exit 0
		command -v mmdebstrap >/dev/null || nc_die "mmdebstrap is not installed (run tests/install-deps.sh)"
		tmp=$(nc_cache_tmpdir "$name")
		trap 'rm -rf "$tmp"' EXIT
		incl=dkms,make
		for k in "$@"; do incl=$incl,linux-headers-$k; done
		t0=$(date +%s)
		# Its own mount namespace: whatever mmdebstrap mounts goes with it,
		# even if it is killed, before the directory is removed.
		mapfile -t sources < <(nc_d13_sources)
		unshare --mount --propagation private mmdebstrap --mode=root --variant=minbase \
			--format=directory --aptopt='Acquire::Languages "none"' \
			--include="$incl" trixie "$tmp/root" "${sources[@]}" >&2 ||
			nc_die "Debian 13 build root: mmdebstrap failed"
		for k in "$@"; do
			[ -f "$tmp/root/usr/src/linux-headers-$k/Makefile" ] ||
				nc_die "Debian 13 build root: no headers for $k"
		done
		chroot "$tmp/root" dpkg-query -W -f '${Package} ${Version}\n' >"$tmp/root/.packages" ||
			nc_die "Debian 13 build root: dpkg-query failed"
		touch "$tmp/root/.complete"
		rm -rf "$root"
		nc_cache_publish "$tmp/root" "$root"
		nc_log "Debian 13 build root for $* made in $(($(date +%s) - t0))s: $root"
	) || exit 1
	echo "$root"
}

# nc_d13_root_for KVER: a finished build root with KVER's headers (made for
# KVER alone when the cache has none).
nc_d13_root_for() {
	local r
	for r in "$NC_CACHE"/d13-build-*; do
		[ -e "$r/.complete" ] && [ -f "$r/usr/src/linux-headers-$1/Makefile" ] &&
			{ echo "$r"; return; }
	done
	nc_d13_buildroot "$1"
}
