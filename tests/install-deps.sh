#!/usr/bin/env bash
# Install everything the build, the demonstration and the suite need on a
# Debian 12 machine, as root. Idempotent; safe to run on every invocation.
set -euo pipefail

if [ "$(id -u)" != 0 ]; then
	echo "error: run as root (apt-get, dkms and the emulators need it)" >&2
	exit 1
fi
export DEBIAN_FRONTEND=noninteractive

apt-get update -q

# The 6.12 ABI that Debian 12 serves today (backports kernel, e.g. 6.12.117+deb12).
h612=$(apt-cache search --names-only '^linux-headers-6\.12\.[0-9]+\+deb12-amd64$' |
	awk '{print $1}' | sort -V | tail -n 1)
if [ -z "$h612" ]; then
	echo "error: Debian 12's archive offers no linux-headers-6.12.*+deb12-amd64" >&2
	exit 1
fi

apt-get install -y -q --no-install-recommends \
	build-essential make gcc libc6-dev pkg-config \
	protobuf-c-compiler libprotobuf-c-dev clang libclang-rt-14-dev \
	dkms kmod linux-headers-amd64 "$h612" \
	qemu-system-x86 bochs bochsbios vgabios isolinux syslinux-common genisoimage \
	busybox-static cpio xz-utils zstd \
	criu liburing-dev \
	openssl curl gpgv \
	mmdebstrap
