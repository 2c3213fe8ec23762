# Host-side helpers for the emulated test bed; sourced by tests/vm/*.sh.
# Stock Debian kernels are fetched with apt-get download and unpacked into a
# cache, nestckpt.ko is built by DKMS from this tree, and an initramfs is
# assembled from busybox, the kernel's own modules, CRIU and our binaries.

NC_TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
NC_BUILD=${NC_BUILD:-$NC_TOP/build}
NC_CACHE=${NC_CACHE:-/var/cache/nestckpt}

# nc_die MESSAGE: stop with an error. Where a test run set NC_FAIL_LABEL (run.sh),
# the message is also a FAIL line of its own on the run's output (fd 3), so a
# run that fails before its guest boots names why.
nc_die() {
	echo "error: $*" >&2
	if [ -n "${NC_FAIL_LABEL:-}" ]; then
		echo "FAIL: $NC_FAIL_LABEL/setup: $*" >&3
		[ -z "${NC_FAIL_MARK:-}" ] || : >"$NC_FAIL_MARK"
	fi
	exit 1
}
nc_log() { echo "# $*" >&2; }

# "6.1" or "6.12" -> the newest installed matching headers; "d13" and
# "d13-backports" -> the kernel Debian 13 (with backports) installs today
# (debian13.sh); anything else is taken as a full release name (e.g.
# 6.1.0-57-amd64, 7.3.4+deb13-amd64).
nc_resolve_kver() {
	local want=$1 found
	case $want in
	6.1 | 6.12)
		found=$(ls -d /usr/src/linux-headers-"$want".*-amd64 2>/dev/null |
			grep -v -e -cloud- -e -rt- | sed 's|.*/linux-headers-||' |
			sort -V | tail -n 1)
		[ -n "$found" ] || nc_die "no linux-headers-$want.*-amd64 installed (run tests/install-deps.sh)"
		echo "$found"
		;;
	d13) nc_d13_resolve stable | cut -d' ' -f1 ;;
	d13-backports) nc_d13_resolve backports | cut -d' ' -f1 ;;
	*) echo "$want" ;;
	esac
}

# Shared artifacts in the cache (kernel images, the criu 4 tree, ...) may be
# wanted by several runs at once. Each is prepared under its own lock, built in
# a private temporary directory beside its final place, and renamed into place
# whole; a run never deletes a directory another run may be filling or using.

# nc_cache_lock NAME: hold the cache lock NAME until the calling (sub)shell
# exits. Every caller of a fetch runs it in $(...), so the lock is dropped
# when that command substitution ends, successful or not.
nc_cache_lock() {
	local fd
	mkdir -p "$NC_CACHE" || nc_die "cannot create the cache $NC_CACHE"
	exec {fd}>"$NC_CACHE/.$1.lock" || nc_die "cannot open $NC_CACHE/.$1.lock"
	flock "$fd" || nc_die "cannot lock $NC_CACHE/.$1.lock"
}

# nc_cache_tmpdir NAME: a new private directory in the cache (same file system
# as the final place, so the rename is atomic); removed when the caller's
# shell exits unless it was renamed into place.
nc_cache_tmpdir() {
	local d
	d=$(mktemp -d "$NC_CACHE/.$1.tmp.XXXXXX") || nc_die "cannot create a temporary directory in $NC_CACHE"
	# apt-get download writes as _apt where it can.
	chmod 0755 "$d"
	echo "$d"
}

# nc_cache_publish TMP FINAL: move a finished TMP to FINAL in one rename.
nc_cache_publish() {
	chmod 0755 "$1"
	mv -T "$1" "$2" || nc_die "cannot move $1 to $2"
}

# The kernel image of KVER unpacked into the cache (prints the root; the
# image's packages and versions are listed in ROOT/.packages): Debian 12's
# linux-image-KVER-unsigned through apt, Debian 13's kernels from the archive
# (debian13.sh).
nc_fetch_kernel() {
	local kver=$1 root=$NC_CACHE/kernel-$1 tmp
	[ -f "$root/boot/vmlinuz-$kver" ] && { echo "$root"; return; }
	(
		nc_cache_lock "kernel-$kver"
		# Another run may have finished it while this one waited.
		[ -f "$root/boot/vmlinuz-$kver" ] && exit 0
		tmp=$(nc_cache_tmpdir "kernel-$kver")
		trap 'rm -rf "$tmp"' EXIT
		mkdir "$tmp/root"
		if nc_is_d13 "$kver"; then
			nc_d13_unpack_kernel "$kver" "$tmp"
		else
			nc_apt_unpack_kernel "$kver" "$tmp"
		fi
		# Debian 13 ships modules under /usr/lib (merged /usr); depmod -b and
		# modprobe -d look in ROOT/lib, as on a merged-/usr system.
		[ -e "$tmp/root/lib" ] || [ ! -d "$tmp/root/usr/lib/modules" ] || ln -s usr/lib "$tmp/root/lib"
		# From 7.x the image is installed to /boot by its maintainer script.
		if [ ! -e "$tmp/root/boot/vmlinuz-$kver" ] && [ -f "$tmp/root/lib/modules/$kver/vmlinuz" ]; then
			mkdir -p "$tmp/root/boot"
			ln -s "../lib/modules/$kver/vmlinuz" "$tmp/root/boot/vmlinuz-$kver"
		fi
		depmod -b "$tmp/root" "$kver" || nc_die "kernel $kver: depmod failed"
		[ -f "$tmp/root/boot/vmlinuz-$kver" ] || nc_die "kernel $kver: its packages have no boot/vmlinuz-$kver"
		# A half-made directory from an older version of this script.
		rm -rf "$root"
		nc_cache_publish "$tmp/root" "$root"
	) || exit 1
	echo "$root"
}

# nc_apt_unpack_kernel KVER TMP: linux-image-KVER-unsigned of this host's
# apt sources, unpacked into TMP/root.
nc_apt_unpack_kernel() {
	local kver=$1 tmp=$2 pkg=linux-image-$1-unsigned deb
	(cd "$tmp" && apt-get download "$pkg" >&2) ||
		nc_die "kernel $kver: apt-get download $pkg failed"
	deb=$(ls "$tmp"/"$pkg"_*.deb 2>/dev/null | head -n 1)
	[ -n "$deb" ] || nc_die "kernel $kver: apt-get download left no $pkg .deb"
	dpkg -x "$deb" "$tmp/root" || nc_die "kernel $kver: dpkg -x $deb failed"
	dpkg-deb -f "$deb" Package Version | awk '{ printf "%s ", $2 } END { print "" }' >"$tmp/root/.packages"
	rm -f "$deb"
}

nc_pkg_version() {
	sed -n 's/^PACKAGE_VERSION="\{0,1\}\([^"]*\)"\{0,1\}$/\1/p' "$NC_TOP/dkms.conf"
}

# Build and install nestckpt.ko for KVER through DKMS from a clean copy of this
# tree, refusing any compiler warning; copies the module to
# $NC_BUILD/ko/KVER/nestckpt.ko and prints that path. Debian 13's kernels are
# built by Debian 13's DKMS in its build root (debian13.sh).
nc_dkms_build() {
	# A DKMS tree and its /usr/src/nestckpt-VERSION are one per machine (or
	# build root): one build at a time.
	if nc_is_d13 "$1"; then
		local root
		root=$(nc_d13_root_for "$1") || exit 1
		(
			nc_cache_lock d13-dkms
			NC_DKMS_ROOT=$root nc_dkms_build_locked "$1"
		)
	else
		(
			nc_cache_lock dkms
			NC_DKMS_ROOT='' nc_dkms_build_locked "$1"
		)
	fi
}

# nc_dkms COMMAND...: COMMAND on this host or, with NC_DKMS_ROOT set, in that
# Debian 13 root.
nc_dkms() {
	if [ -n "${NC_DKMS_ROOT:-}" ]; then nc_d13_chroot "$NC_DKMS_ROOT" "$@"; else "$@"; fi
}

nc_dkms_build_locked() {
	local kver=$1 ver src ko out=$NC_BUILD/ko/$1 mlog r=${NC_DKMS_ROOT:-}
	ver=$(nc_pkg_version)
	[ -n "$ver" ] || nc_die "cannot read PACKAGE_VERSION from dkms.conf"
	src=$r/usr/src/nestckpt-$ver
	if nc_dkms dkms status -m nestckpt -v "$ver" 2>/dev/null | grep -q .; then
		nc_dkms dkms remove -m nestckpt -v "$ver" --all >&2 || nc_die "dkms remove failed"
	fi
	rm -rf "$src"
	mkdir -p "$src"
	# Only what the module build needs; DKMS must not see build/ or caches.
	cp -a "$NC_TOP/dkms.conf" "$NC_TOP/module" "$NC_TOP/uapi" "$src/"
	[ -f "$NC_TOP/VERSION" ] && cp -a "$NC_TOP/VERSION" "$src/"
	make -s -C "$src/module" clean KVER="$kver" >/dev/null 2>&1 || true
	# DKMS 3.0 (Debian 12) leaves make.log in build/; 3.2 (Debian 13) moves it
	# beside the built module once the build succeeded.
	mlog=$r/var/lib/dkms/nestckpt/$ver/build/make.log
	nc_dkms dkms add -m nestckpt -v "$ver" >&2 || nc_die "dkms add failed"
	nc_dkms dkms build -m nestckpt -v "$ver" -k "$kver" >&2 || {
		cat "$mlog" >&2 2>/dev/null
		nc_die "dkms build for $kver failed"
	}
	[ -f "$mlog" ] || mlog=$r/var/lib/dkms/nestckpt/$ver/$kver/$(uname -m)/log/make.log
	[ -f "$mlog" ] || nc_die "dkms build for $kver left no make.log to check for warnings"
	if grep -i -E 'warning:|error:' "$mlog" >&2; then
		nc_die "the module build for $kver is not warning-free (see above)"
	fi
	nc_dkms dkms install -m nestckpt -v "$ver" -k "$kver" --force >&2 || nc_die "dkms install for $kver failed"
	ko=$(find "$r"/lib/modules/"$kver"/updates "$r"/lib/modules/"$kver"/extra -name 'nestckpt.ko*' 2>/dev/null | head -n 1)
	[ -n "$ko" ] || nc_die "dkms installed no nestckpt.ko for $kver"
	mkdir -p "$out"
	nc_unpack_ko "$ko" "$out/nestckpt.ko"
	echo "$out/nestckpt.ko"
}

# nc_unpack_ko FILE DEST: a module as plain ELF (busybox insmod reads no
# compressed module).
nc_unpack_ko() {
	case $1 in
	*.xz) xz -dc "$1" >"$2" ;;
	*.zst) zstd -qdc "$1" >"$2" ;;
	*) cp "$1" "$2" ;;
	esac
}

# Copy a binary and every shared library it needs into ROOT.
nc_copy_with_libs() {
	local root=$1 bin=$2 dest=${3:-$2} lib
	mkdir -p "$root/$(dirname "$dest")"
	cp -L "$bin" "$root/$dest"
	for lib in $(ldd "$bin" 2>/dev/null | grep -o '/[^ ]*'); do
		[ -e "$root$lib" ] && continue
		mkdir -p "$root$(dirname "$lib")"
		cp -L "$lib" "$root$lib"
	done
}

# Copy a kernel module and its dependencies (in load order) from the unpacked
# kernel into ROOT and append "insmod PATH ARGS" lines to ROOT/etc/nc-modules.
# Compressed modules are stored decompressed: busybox insmod reads raw ELF.
nc_add_module() {
	local root=$1 kroot=$2 kver=$3 mod=$4
	shift 4
	local line path rel dest
	modprobe -d "$kroot" -S "$kver" --show-depends "$mod" >"$root/.deps" 2>&1 ||
		nc_die "kernel $kver has no module $mod: $(cat "$root/.deps")"
	while read -r line; do
		case $line in builtin*) continue ;; esac
		path=$(echo "$line" | awk '{print $2}')
		rel=${path#"$kroot"}
		dest=${rel%.xz}
		dest=${dest%.zst}
		if [ ! -f "$root$dest" ]; then
			mkdir -p "$root$(dirname "$dest")"
			nc_unpack_ko "$path" "$root$dest"
			# The named module gets the caller's arguments, its dependencies none.
			if [ "$(basename "$dest" .ko)" = "$(echo "$mod" | tr _ -)" ] ||
				[ "$(basename "$dest" .ko)" = "$mod" ]; then
				echo "$dest $*" >>"$root/etc/nc-modules"
			else
				echo "$dest" >>"$root/etc/nc-modules"
			fi
		fi
	done <"$root/.deps"
	rm -f "$root/.deps"
}

. "$NC_TOP/tests/vm/archive.sh"
. "$NC_TOP/tests/vm/debian13.sh"
