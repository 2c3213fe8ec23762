# Shared settings of the userspace Makefiles (lib, tools, criu-plugin,
# tests/unit).  SRCROOT must be set by the includer.
BUILD ?= $(SRCROOT)/build
override BUILD := $(abspath $(BUILD))
CC ?= cc
AR ?= ar

# The package version has one home: PACKAGE_VERSION in dkms.conf.
NC_VERSION := $(shell sed -n 's/^PACKAGE_VERSION="\{0,1\}\([0-9]*\.[0-9]*\.[0-9]*\)"\{0,1\}[[:space:]]*$$/\1/p' $(SRCROOT)/dkms.conf)
ifeq ($(NC_VERSION),)
$(error cannot read PACKAGE_VERSION from $(SRCROOT)/dkms.conf)
endif

NC_CFLAGS := -std=gnu11 -D_GNU_SOURCE -Wall -Wextra -Werror -O2 -g \
	-I$(SRCROOT)/uapi -I$(SRCROOT)/lib \
	-DNC_PACKAGE_VERSION='"$(NC_VERSION)"' $(EXTRA_CFLAGS)
