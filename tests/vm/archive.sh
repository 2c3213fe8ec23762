# Host-side, sourced by common.sh: packages of other Debian releases taken
# straight from Debian's archive, nothing installed and the host's apt
# configuration untouched. Each suite's InRelease is checked against the
# Debian 12 machine's archive keyring, its package index against InRelease,
# and every .deb against the index.

NC_DEBIAN_MIRROR=${NC_DEBIAN_MIRROR:-http://deb.debian.org/debian}
NC_DEBIAN_SECURITY_MIRROR=${NC_DEBIAN_SECURITY_MIRROR:-http://deb.debian.org/debian-security}

# nc_archive_mirror SUITE: the archive that serves SUITE.
nc_archive_mirror() {
	case $1 in
	*-security) echo "$NC_DEBIAN_SECURITY_MIRROR" ;;
	*) echo "$NC_DEBIAN_MIRROR" ;;
	esac
}

# nc_archive_index SUITE DIR: DIR/SUITE.Packages, the verified amd64 index of
# SUITE's main component.
nc_archive_index() {
	local suite=$1 dir=$2 base sum
	base=$(nc_archive_mirror "$suite")/dists/$suite
	curl -fsS -m 120 -o "$dir/$suite.InRelease" "$base/InRelease" ||
		nc_die "archive: cannot fetch $suite's InRelease"
	gpgv --keyring /usr/share/keyrings/debian-archive-keyring.gpg "$dir/$suite.InRelease" 2>/dev/null ||
		nc_die "archive: $suite's InRelease does not verify against Debian's keyring"
	sum=$(awk '/^SHA256:/ { s = 1; next } /^[A-Za-z]/ { s = 0 }
		s && $3 == "main/binary-amd64/Packages.xz" { print $1 }' "$dir/$suite.InRelease")
	[ -n "$sum" ] || nc_die "archive: no Packages.xz in $suite's InRelease"
	curl -fsS -m 300 -o "$dir/$suite.Packages.xz" "$base/main/binary-amd64/Packages.xz" ||
		nc_die "archive: cannot fetch $suite's package index"
	echo "$sum  $dir/$suite.Packages.xz" | sha256sum -c --quiet - ||
		nc_die "archive: $suite's package index does not match its InRelease"
	xz -dc "$dir/$suite.Packages.xz" >"$dir/$suite.Packages" ||
		nc_die "archive: cannot unpack $suite's package index"
	rm -f "$dir/$suite.Packages.xz"
}

# nc_archive_get SUITE FILE SHA256 OUT: the .deb FILE (a Filename of SUITE's
# index) into OUT, checked against the index's sum.
nc_archive_get() {
	curl -fsS -m 600 -o "$4" "$(nc_archive_mirror "$1")/$2" ||
		nc_die "archive: cannot fetch $2 ($1)"
	echo "$3  $4" | sha256sum -c --quiet - ||
		nc_die "archive: $2 does not match $1's index"
}
