# Clement — one Makefile, out-of-tree builds.
#   make            release build into build/
#   make SAN=1      AddressSanitizer + UBSan build into build/san/
#   make test       install what is missing, build with SAN=1, run unit and integration tests
#   make run        install what is missing, build, start the whole stack natively under ./var
#   make install    install the release build and the systemd units (PREFIX, DESTDIR)
#   make fresh-test make test from a clean clone in a bare Debian 12 container
#   make bench      install what is missing, build, run every benchmark of bench/ (not tests):
#                   tables on stdout and in bench/results/, explained in docs/PERFORMANCE.md
SAN ?= 0
ifeq ($(SAN),1)
BUILD   ?= build/san
SANFLAGS = -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
OPT      = -O1
else
BUILD   ?= build
SANFLAGS =
OPT      = -O2
endif

CC      ?= cc
PKG_CONFIG ?= pkg-config
pc_cflags = $(shell $(PKG_CONFIG) --cflags $(1) 2>/dev/null)
pc_libs   = $(shell $(PKG_CONFIG) --libs $(1) 2>/dev/null)

# Debian 12's libnng-dev ships no .pc file; fall back to -lnng.
NNG_LIBS := $(or $(call pc_libs,nng),-lnng)
COMMON_PKGS := libcjson libmicrohttpd libpq openssl
COMMON_LIBS := $(call pc_libs,$(COMMON_PKGS)) $(NNG_LIBS) -lpthread -lm

WARN    = -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Werror
CFLAGS  ?= $(OPT) -g
ALL_CFLAGS = -std=c11 -D_GNU_SOURCE $(WARN) $(CFLAGS) $(SANFLAGS) -Ilib \
             $(call pc_cflags,$(COMMON_PKGS) libcurl libclamav libargon2) -MMD -MP
LDFLAGS_ALL = $(SANFLAGS) $(LDFLAGS)

# Extra libraries per service (beyond COMMON_LIBS).
# libunbound-dev ships libunbound.pc; lib/dns/ needs it (smtp-edge and its unit test).
UNBOUND_LIBS := $(or $(call pc_libs,libunbound),-lunbound)
LIBS_smtp-edge  = $(UNBOUND_LIBS)
LIBS_policy     = $(call pc_libs,libcurl)
LIBS_scanner    = $(call pc_libs,libclamav)
LIBS_delivery   = $(call pc_libs,libcurl)
LIBS_banstats   = $(call pc_libs,libcurl)
LIBS_admin-api  = $(call pc_libs,libcurl libargon2)
LIBS_clement-migrate =
LIB_EXTRA_LIBS  = $(call pc_libs,libcurl libargon2)

SERVICES := smtp-edge policy scanner delivery banstats admin-api
TOOLS    := clement-migrate clement-rpc clement-passwd

LIB_SRCS  := $(filter-out %_test.c %_fuzz.c,$(wildcard lib/*/*.c))
LIB_OBJS  := $(LIB_SRCS:%.c=$(BUILD)/obj/%.o)
LIBCLEMENT := $(BUILD)/libclement.a

svc_srcs  = $(filter-out %_test.c %_fuzz.c,$(wildcard services/$(1)/*.c))
svc_objs  = $(patsubst %.c,$(BUILD)/obj/%.o,$(call svc_srcs,$(1)))
BINS := $(SERVICES:%=$(BUILD)/bin/clement-%) $(TOOLS:%=$(BUILD)/bin/%)

UNIT_SRCS := $(wildcard lib/*/*_test.c services/*/*_test.c tools/*/*_test.c)
UNIT_BINS := $(patsubst %.c,$(BUILD)/tests/%,$(UNIT_SRCS))

.PHONY: all test test-browser unit-bins run deps clean fuzz images compose-test scale-test fresh-test install bench format lint
all: $(BINS)

# V=1 shows full command lines.
V ?= 0
ifeq ($(V),1)
Q =
else
Q = @
endif

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	@[ "$(V)" = 1 ] || echo "  CC    $<"
	$(Q)$(CC) $(ALL_CFLAGS) -c $< -o $@

$(LIBCLEMENT): $(LIB_OBJS)
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^

define service_rule
$(BUILD)/bin/clement-$(1): $(call svc_objs,$(1)) $(LIBCLEMENT)
	@mkdir -p $$(dir $$@)
	$$(CC) $$(LDFLAGS_ALL) -o $$@ $(call svc_objs,$(1)) $(LIBCLEMENT) $$(LIBS_$(1)) $$(LIB_EXTRA_LIBS) $$(COMMON_LIBS)
endef
$(foreach s,$(SERVICES),$(eval $(call service_rule,$(s))))

# Tools: tools/<name>/*.c -> clement-<tool>.
define tool_rule
$(BUILD)/bin/$(1): $(patsubst %.c,$(BUILD)/obj/%.o,$(filter-out %_test.c %_fuzz.c,$(wildcard tools/$(1)/*.c))) $(LIBCLEMENT)
	@mkdir -p $$(dir $$@)
	$$(CC) $$(LDFLAGS_ALL) -o $$@ $$(filter %.o,$$^) $(LIBCLEMENT) $$(LIB_EXTRA_LIBS) $$(COMMON_LIBS)
endef
$(foreach t,$(TOOLS),$(eval $(call tool_rule,$(t))))

# A unit test of lib/ links libclement; a service's unit test also links that service's
# objects other than main.o, so it can reach the service's internals.
$(BUILD)/tests/lib/%: lib/%.c $(LIBCLEMENT)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(LDFLAGS_ALL) -o $@ $< $(LIBCLEMENT) $(call pc_libs,libclamav) $(LIB_EXTRA_LIBS) $(UNBOUND_LIBS) $(COMMON_LIBS)

define service_test_rule
$(BUILD)/tests/services/$(1)/%: services/$(1)/%.c $(filter-out %/main.o,$(call svc_objs,$(1))) $(LIBCLEMENT)
	@mkdir -p $$(dir $$@)
	$$(CC) $$(ALL_CFLAGS) $$(LDFLAGS_ALL) -o $$@ $$< $(filter-out %/main.o,$(call svc_objs,$(1))) $(LIBCLEMENT) $$(LIBS_$(1)) $$(LIB_EXTRA_LIBS) $$(COMMON_LIBS)
endef
$(foreach s,$(SERVICES),$(eval $(call service_test_rule,$(s))))

unit-bins: $(UNIT_BINS)

# Benchmark helpers (bench/*.c), not part of `all`: built on demand by the bench scripts.
$(BUILD)/bin/policy-load: $(BUILD)/obj/bench/policy-load.o $(LIBCLEMENT)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS_ALL) -o $@ $< $(LIBCLEMENT) $(LIB_EXTRA_LIBS) $(COMMON_LIBS)

deps:
	@scripts/install-deps

# The test build is the sanitizer build; the runners print their summary lines and
# scripts/run-tests exits non-zero when any test failed.
test: deps
	@$(MAKE) --no-print-directory SAN=1 all unit-bins
	@CLEMENT_BUILD=build/san scripts/run-tests; rc=$$?; CLEMENT_BUILD=build/san tests/browser/run || rc=1; exit $$rc

# Only the browser tests of the web UI (Debian's Chromium driven by playwright-core, real stack).
test-browser:
	@$(MAKE) --no-print-directory SAN=1 all
	@CLEMENT_BUILD=build/san tests/browser/run

run: deps
	@$(MAKE) --no-print-directory all
	@scripts/run-stack

# The release build, its data and the systemd units (deploy/systemd/) onto this machine:
# PREFIX (/usr/local), DESTDIR; see README, "Running Clement as systemd services".
install: all
	@BUILD=$(BUILD) scripts/install

fuzz:
	@scripts/run-fuzz

# Benchmarks against Postfix and the other peers (bench/run-all: BENCH=... for a subset).
bench:
	@bench/run-all

format:
	clang-format -i $$(git ls-files '*.c' '*.h')

lint:
	cppcheck --quiet --error-exitcode=1 --enable=warning,performance,portability --inline-suppr -Ilib lib services tools

# Container images of docker-compose.yml; first builds debian:bookworm-slim from Debian's mirror
# when no registry is reachable (scripts/docker-base).
images:
	@scripts/docker-base
	@if docker compose version >/dev/null 2>&1; then docker compose build; else docker-compose build; fi

# The container stack end to end (installs and starts Docker when missing): see scripts/compose-test.
compose-test:
	@scripts/compose-test

# The same images scaled out: two replicas of each service behind HAProxy (PROXY v2), see
# tests/containers/test_scale.py.
scale-test:
	@scripts/compose-test --scale

# `make test` from a clean clone of the current commit in a bare Debian 12 container, as a new
# user would run it (scripts/fresh-test).
fresh-test:
	@scripts/fresh-test

clean:
	rm -rf build

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
