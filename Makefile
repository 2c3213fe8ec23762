# nestckpt top-level build. Each component has its own Makefile; this one only
# orders them and passes the shared settings.
#
#   make                 userspace (library, nestckptctl, CRIU plugin, test VMM, QEMU test
#                        guests, unit tests)
#                        and the module for KVER
#   make module KVER=... the module against /usr/src/linux-headers-KVER
#   make unit-test       unit tests, plain and under ASan/UBSan
#   make fuzz            the image decoder's libFuzzer target (clang)
#   make check           the whole suite (tests/run-all.sh), as CI runs it
#   make install         nestckptctl, the CRIU plugin, and the module through DKMS

BUILD ?= $(CURDIR)/build
CC ?= gcc
# Default kernel: the newest installed Debian headers.
KVER ?= $(shell ls -d /usr/src/linux-headers-*-amd64 2>/dev/null | grep -v -e -cloud- -e -rt- | \
	sed 's|.*/linux-headers-||' | sort -V | tail -n 1)
PREFIX ?= /usr/local
CRIU_PLUGIN_DIR ?= /usr/lib/criu

SUBVARS = BUILD=$(BUILD) CC=$(CC)

.PHONY: all userspace lib tools plugin vmm qemu-guests unit bench module unit-test fuzz check demo install uninstall clean

all: userspace module

userspace: lib tools plugin vmm qemu-guests unit bench

lib:
	$(MAKE) $(SUBVARS) -C lib
tools: lib
	$(MAKE) $(SUBVARS) -C tools
plugin: lib
	$(MAKE) $(SUBVARS) -C criu-plugin
vmm:
	$(MAKE) $(SUBVARS) -C tests/vmm
qemu-guests:
	$(MAKE) $(SUBVARS) -C tests/qemu-guests
bench: lib
	$(MAKE) $(SUBVARS) -C bench
unit: lib
	$(MAKE) $(SUBVARS) -C tests/unit

module:
	@test -n "$(KVER)" || { echo "no kernel headers found: install linux-headers-amd64 or set KVER"; exit 1; }
	$(MAKE) -C module KVER=$(KVER)

unit-test: unit
	$(MAKE) $(SUBVARS) -C tests/unit run

fuzz:
	$(MAKE) BUILD=$(BUILD) -C tests/fuzz

check:
	bash tests/run-all.sh

demo:
	bash tests/demo.sh

# The module goes through DKMS (rebuilt on kernel updates): its sources are
# copied to /usr/src/nestckpt-VERSION and installed for KVER (the running
# kernel unless given).  DESTDIR (packaging) installs the files only.
NC_PKG_VERSION := $(shell sed -n 's/^PACKAGE_VERSION="\{0,1\}\([0-9.]*\)"\{0,1\}.*/\1/p' dkms.conf)
DKMS_SRC := /usr/src/nestckpt-$(NC_PKG_VERSION)
INSTALL_KVER ?= $(shell uname -r)

install: tools plugin
	install -D -m 0755 $(BUILD)/bin/nestckptctl $(DESTDIR)$(PREFIX)/bin/nestckptctl
	install -D -m 0644 $(BUILD)/lib/nestckpt_plugin.so $(DESTDIR)$(CRIU_PLUGIN_DIR)/nestckpt_plugin.so
	rm -rf $(DESTDIR)$(DKMS_SRC)
	mkdir -p $(DESTDIR)$(DKMS_SRC)
	cp -a dkms.conf module uapi $(DESTDIR)$(DKMS_SRC)/
	$(MAKE) -s -C $(DESTDIR)$(DKMS_SRC)/module clean KVER=$(INSTALL_KVER) >/dev/null 2>&1 || true
ifeq ($(DESTDIR),)
	-dkms remove -m nestckpt -v $(NC_PKG_VERSION) --all >/dev/null 2>&1
	dkms add -m nestckpt -v $(NC_PKG_VERSION)
	dkms install -m nestckpt -v $(NC_PKG_VERSION) -k $(INSTALL_KVER)
	[ "$(INSTALL_KVER)" != "$$(uname -r)" ] || modprobe nestckpt
endif

uninstall:
	rm -f $(DESTDIR)$(PREFIX)/bin/nestckptctl $(DESTDIR)$(CRIU_PLUGIN_DIR)/nestckpt_plugin.so
	-rmmod nestckpt 2>/dev/null
	-dkms remove -m nestckpt -v $(NC_PKG_VERSION) --all
	rm -rf $(DESTDIR)$(DKMS_SRC)

clean:
	rm -rf $(BUILD)
	-$(MAKE) -C module clean KVER=$(KVER)
