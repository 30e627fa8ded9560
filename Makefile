# SPDX-License-Identifier: MIT
# cvpn: the Custom VPN lab as real software. See README.md.

PKG_CONFIG ?= pkg-config
# What installs the packages below; make demo and make check run it first.
DEPS ?= tests/deps.sh
PREFIX ?= /usr/local
DESTDIR ?=
BINDIR ?= $(PREFIX)/bin
MANDIR ?= $(PREFIX)/share/man
BUILD ?= build
VERSION := 0.1.0

CC ?= cc
CFLAGS ?= -O2 -g
# "override" keeps these when CFLAGS is given on the command line (make check's sanitizer build).
override CFLAGS += -std=c11 -Wall -Wextra -Werror -Wshadow -Wformat=2 -D_GNU_SOURCE -MMD -MP
override CFLAGS += -DCVPN_VERSION='"$(VERSION)"' -Icommon
override CFLAGS += $(shell $(PKG_CONFIG) --cflags libcrypto 2>/dev/null)
override CFLAGS += $(shell $(PKG_CONFIG) --cflags libmnl libcap libseccomp 2>/dev/null)
# These are read when this Makefile is parsed, before any recipe runs, so that
# make demo and make check can install the packages first (deps) and then
# build in a new make, which reads them again.
CRYPTO_LIBS := $(shell $(PKG_CONFIG) --libs libcrypto 2>/dev/null)
SERVER_LIBS := $(shell $(PKG_CONFIG) --libs libuv 2>/dev/null) -lpthread
CLIENT_LIBS := $(shell $(PKG_CONFIG) --libs readline 2>/dev/null)
TEST_LIBS := $(shell $(PKG_CONFIG) --libs cmocka 2>/dev/null)
# The operating-system layer of the IP VPN: TUN over rtnetlink, privilege drop, seccomp.
OS_LIBS := $(shell $(PKG_CONFIG) --libs libmnl libcap libseccomp 2>/dev/null)

# $(call need,PKG,DEBIAN_PACKAGE): a recipe line that names a library pkg-config
# does not know, instead of leaving the linker to list undefined references.
need = @$(PKG_CONFIG) --exists $(1) || { echo "cvpn: the build needs $(1), which pkg-config does not find: run 'make deps' as root, or: sudo apt-get install $(2)" >&2; exit 1; }
# The checks for OS_LIBS, as recipe lines.
define need_os
$(call need,libmnl,libmnl-dev)
$(call need,libcap,libcap-dev)
$(call need,libseccomp,libseccomp-dev)
endef

ifeq ($(V),1)
Q :=
else
Q := @
endif

COMMON_SRC := $(wildcard common/*.c)
SERVER_SRC := $(wildcard server/*.c)
CLIENT_SRC := $(wildcard client/*.c)
MITM_SRC := $(wildcard mitm/*.c)
UNIT_SRC := $(wildcard tests/unit/test_*.c)
UNIT_HELPERS := $(filter-out tests/unit/test_%.c,$(wildcard tests/unit/*.c))

COMMON_OBJ := $(COMMON_SRC:%.c=$(BUILD)/%.o)
SERVER_OBJ := $(SERVER_SRC:%.c=$(BUILD)/%.o)
CLIENT_OBJ := $(CLIENT_SRC:%.c=$(BUILD)/%.o)
MITM_OBJ := $(MITM_SRC:%.c=$(BUILD)/%.o)
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)
UNIT_HELPER_OBJ := $(UNIT_HELPERS:%.c=$(BUILD)/%.o)
OSPROBE_BIN := $(BUILD)/tests/osprobe

SERVER_BIN := $(BUILD)/cvpn-server
CLIENT_BIN := $(BUILD)/cvpn-client
MITM_BIN := $(BUILD)/cvpn-mitm

.PHONY: all unit check check-unit demo deps captures install install-wireshark uninstall clean

all: $(SERVER_BIN) $(CLIENT_BIN) $(MITM_BIN)

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $@")
	$(Q)$(CC) $(CFLAGS) -c -o $@ $<

# Made afresh each time: ar only adds and replaces, so the object of a source
# renamed or deleted since (after a git pull, say) would stay and break the link.
$(BUILD)/libcvpn.a: $(COMMON_OBJ)
	@$(if $(Q),echo "  AR      $@")
	$(Q)rm -f $@ && $(AR) rcs $@ $^

$(SERVER_BIN): $(SERVER_OBJ) $(BUILD)/libcvpn.a
	$(call need,libuv,libuv1-dev)
	$(call need,libcrypto,libssl-dev)
	$(need_os)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(CFLAGS) -o $@ $^ $(SERVER_LIBS) $(CRYPTO_LIBS) $(OS_LIBS) $(LDFLAGS)

$(CLIENT_BIN): $(CLIENT_OBJ) $(BUILD)/libcvpn.a
	$(call need,readline,libreadline-dev)
	$(call need,libcrypto,libssl-dev)
	$(need_os)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(CFLAGS) -o $@ $^ $(CLIENT_LIBS) $(CRYPTO_LIBS) $(OS_LIBS) $(LDFLAGS)

$(MITM_BIN): $(MITM_OBJ) $(BUILD)/libcvpn.a
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(CFLAGS) -o $@ $^ $(CRYPTO_LIBS) $(LDFLAGS)

$(BUILD)/tests/test_%: $(BUILD)/tests/unit/test_%.o $(UNIT_HELPER_OBJ) $(BUILD)/libcvpn.a
	$(call need,cmocka,libcmocka-dev)
	$(need_os)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(CFLAGS) -o $@ $^ $(TEST_LIBS) $(CRYPTO_LIBS) $(OS_LIBS) -lpthread $(LDFLAGS)

# What tests/integration/test_tundev.sh runs as root in network namespaces: a
# TUN, a privilege drop and a libuv packet loop under the sandbox, one per command.
$(OSPROBE_BIN): $(BUILD)/tests/helpers/osprobe.o $(BUILD)/libcvpn.a
	$(call need,libuv,libuv1-dev)
	$(need_os)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(CFLAGS) -o $@ $^ $(SERVER_LIBS) $(OS_LIBS) $(LDFLAGS)

unit: $(UNIT_BIN) $(OSPROBE_BIN)

# Installs the Debian packages the build and the tests need (as root), or
# says exactly what to run.
deps:
	@$(DEPS)

# All tests: unit and engine tests (also under ASan+UBSan), integration,
# interoperability with the independent Python peer, and the reference capture.
# Each build is a new make, started after deps: it reads the libraries that
# deps may just have installed.
RUN_TESTS ?= tests/run.sh
check: deps
	$(MAKE) all unit bench-tools
	$(MAKE) BUILD=build/asan CC=clang \
	    CFLAGS="-O1 -g -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer" all unit
	$(RUN_TESTS) $(BUILD) build/asan

check-unit: unit
	tests/run.sh --unit-only $(BUILD)

demo: deps
	$(MAKE) all
	tests/demo.sh $(BUILD)

# Records fresh captures of real sessions with their key logs (root, or an
# unprivileged user namespace); see captures/README.md.
captures: all
	captures/make-captures.sh $(BUILD) captures

docs/sequence.png: docs/sequence.msc
	mscgen -T png -o $@ $<

install: all
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man1
	install -m 0755 $(SERVER_BIN) $(CLIENT_BIN) $(MITM_BIN) $(DESTDIR)$(BINDIR)/
	install -m 0644 docs/cvpn-server.1 docs/cvpn-client.1 docs/cvpn-mitm.1 $(DESTDIR)$(MANDIR)/man1/

# Copies the dissector into the user's personal Wireshark plugin folder.
WIRESHARK_PLUGINS ?= $(HOME)/.local/lib/wireshark/plugins
install-wireshark:
	install -d $(WIRESHARK_PLUGINS)
	install -m 0644 captures/wireshark/cvpn.lua $(WIRESHARK_PLUGINS)/cvpn.lua

uninstall:
	rm -f $(DESTDIR)$(BINDIR)/cvpn-server $(DESTDIR)$(BINDIR)/cvpn-client $(DESTDIR)$(BINDIR)/cvpn-mitm
	rm -f $(DESTDIR)$(MANDIR)/man1/cvpn-server.1 $(DESTDIR)$(MANDIR)/man1/cvpn-client.1 \
	    $(DESTDIR)$(MANDIR)/man1/cvpn-mitm.1

clean:
	rm -rf build

# Fuzzing (tests/fuzz/fuzz.mk) and benchmarks (bench/bench.mk) keep their rules beside their code.
-include tests/fuzz/fuzz.mk
-include bench/bench.mk

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
