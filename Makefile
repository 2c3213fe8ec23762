# nestckpt top-level build. Each component has its own Makefile; this one only
# orders them and passes the shared settings.
#
#   make                 userspace (library, nestckptctl, CRIU plugin, test VMM, unit tests)
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

.PHONY: all userspace lib tools plugin vmm unit module unit-test fuzz check demo install clean

all: userspace module

userspace: lib tools plugin vmm unit

lib:
	$(MAKE) $(SUBVARS) -C lib
tools: lib
	$(MAKE) $(SUBVARS) -C tools
plugin: lib
	$(MAKE) $(SUBVARS) -C criu-plugin
vmm:
	$(MAKE) $(SUBVARS) -C tests/vmm
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

install: tools plugin
	install -D -m 0755 $(BUILD)/bin/nestckptctl $(DESTDIR)$(PREFIX)/bin/nestckptctl
	install -D -m 0644 $(BUILD)/lib/nestckpt_plugin.so $(DESTDIR)$(CRIU_PLUGIN_DIR)/nestckpt_plugin.so

clean:
	rm -rf $(BUILD)
	-$(MAKE) -C module clean KVER=$(KVER)
