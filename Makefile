# Clement — one Makefile, out-of-tree builds.
#   make            release build into build/
#   make SAN=1      AddressSanitizer + UBSan build into build/san/
#   make test       install what is missing, build with SAN=1, make check-arch, check-format, run unit and integration tests
#   make check-arch the include graph, every binary's NEEDED and the images against tools/arch-rules
#   make format     rewrite the C tree to .clang-format (make test fails on a file that differs: scripts/check-format)
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

WARN    = -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Werror
CFLAGS  ?= $(OPT) -g
ALL_CFLAGS = -std=c11 -D_GNU_SOURCE $(WARN) $(CFLAGS) $(SANFLAGS) -Ilib \
             $(call pc_cflags,libcjson libmicrohttpd libpq openssl libcurl libclamav libargon2) -MMD -MP
# --as-needed: a binary records (NEEDED) only the shared libraries it calls, whatever its
# link line names; `make check-arch` holds that list to tools/arch-rules.
LDFLAGS_ALL = $(SANFLAGS) -Wl,--as-needed $(LDFLAGS)

# lib/ is layered, one static library per directory: build/libclement-<layer>.a. The layers,
# what each may use, and which layers each program links are written in tools/arch-rules
# ("layer", "uses"), read here; scripts/check-arch (make check-arch) holds the include graph
# and every binary's NEEDED libraries to the same file. LAYERS is the link order (a layer
# before the ones below it); LLIBS_x the system libraries x's objects call.
ARCH_RULES := tools/arch-rules
arch_rule = $(strip $(shell sed -n 's/^$(1) $(2):\(.*\)/\1/p' $(ARCH_RULES)))
LAYERS := auth mail db dns svc rpc util
LLIBS_util := -lpthread
LLIBS_rpc  := $(NNG_LIBS) $(call pc_libs,libcjson) -lpthread
LLIBS_svc  := $(call pc_libs,libmicrohttpd)
LLIBS_db   := $(call pc_libs,libpq)
LLIBS_mail := $(NNG_LIBS) $(call pc_libs,libcjson libcrypto) -lm
LLIBS_auth := $(call pc_libs,libargon2 libcurl libcrypto)
# libunbound-dev ships libunbound.pc; the fallback is for hosts without it.
LLIBS_dns  := $(or $(call pc_libs,libunbound),-lunbound)

# Each program P: USES_P the layers it links (tools/arch-rules), LIBS_P the system libraries
# its own code calls. A unit test of lib/L/ links L and the layers below it.
SERVICES := smtp-edge policy scanner delivery banstats admin-api
TOOLS    := clement-migrate clement-rpc clement-passwd
$(foreach p,$(SERVICES) $(TOOLS) policy-load,$(eval USES_$(p) := $(call arch_rule,uses,$(p))))
$(foreach l,$(LAYERS),$(eval USES_test-$(l) := $(l) $(call arch_rule,layer,$(l))))
LIBS_smtp-edge := $(call pc_libs,libssl libcrypto)
LIBS_policy    := $(call pc_libs,libpq libcurl)
LIBS_scanner   := $(call pc_libs,libclamav libcurl)
LIBS_delivery  := $(call pc_libs,libcurl)
LIBS_banstats  := $(call pc_libs,libssl libcrypto)
LIBS_admin-api := $(call pc_libs,libmicrohttpd libpq libcurl libcrypto libcjson)
LIBS_policy-load := $(NNG_LIBS) -lpthread

layer_lib  = $(BUILD)/libclement-$(1).a
# link_libs P - the archives (in link order) and system libraries of program P.
link_libs  = $(foreach l,$(filter $(USES_$(1)),$(LAYERS)),$(call layer_lib,$(l))) \
             $(LIBS_$(1)) $(foreach l,$(USES_$(1)),$(LLIBS_$(l)))
link_deps  = $(foreach l,$(filter $(USES_$(1)),$(LAYERS)),$(call layer_lib,$(l)))

layer_srcs = $(filter-out %_test.c %_fuzz.c,$(wildcard lib/$(1)/*.c))
LIB_SRCS  := $(filter-out %_test.c %_fuzz.c,$(wildcard lib/*/*.c))

svc_srcs  = $(filter-out %_test.c %_fuzz.c,$(wildcard services/$(1)/*.c))
svc_objs  = $(patsubst %.c,$(BUILD)/obj/%.o,$(call svc_srcs,$(1)))
BINS := $(SERVICES:%=$(BUILD)/bin/clement-%) $(TOOLS:%=$(BUILD)/bin/%)

UNIT_SRCS := $(wildcard lib/*/*_test.c services/*/*_test.c tools/*/*_test.c)
UNIT_BINS := $(patsubst %.c,$(BUILD)/tests/%,$(UNIT_SRCS))

.PHONY: all test test-browser check-arch unit-bins run deps clean fuzz images compose-test scale-test fresh-test interop-test install bench format check-format lint
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

define layer_rule
$(call layer_lib,$(1)): $(patsubst %.c,$(BUILD)/obj/%.o,$(call layer_srcs,$(1)))
	@mkdir -p $$(dir $$@)
	rm -f $$@ && ar rcs $$@ $$^
endef
$(foreach l,$(LAYERS),$(eval $(call layer_rule,$(l))))

define service_rule
$(BUILD)/bin/clement-$(1): $(call svc_objs,$(1)) $(call link_deps,$(1))
	@mkdir -p $$(dir $$@)
	$$(CC) $$(LDFLAGS_ALL) -o $$@ $(call svc_objs,$(1)) $$(call link_libs,$(1))
endef
$(foreach s,$(SERVICES),$(eval $(call service_rule,$(s))))

# Tools: tools/<name>/*.c -> clement-<tool>.
define tool_rule
$(BUILD)/bin/$(1): $(patsubst %.c,$(BUILD)/obj/%.o,$(filter-out %_test.c %_fuzz.c,$(wildcard tools/$(1)/*.c))) $(call link_deps,$(1))
	@mkdir -p $$(dir $$@)
	$$(CC) $$(LDFLAGS_ALL) -o $$@ $$(filter %.o,$$^) $$(call link_libs,$(1))
endef
$(foreach t,$(TOOLS),$(eval $(call tool_rule,$(t))))

# A unit test of lib/<layer>/ links its layer and the layers below it; a service's unit test
# also links that service's objects other than main.o, so it can reach the service's internals.
define lib_test_rule
$(BUILD)/tests/lib/$(1)/%: lib/$(1)/%.c $(call link_deps,test-$(1))
	@mkdir -p $$(dir $$@)
	$$(CC) $$(ALL_CFLAGS) $$(LDFLAGS_ALL) -o $$@ $$< $$(call link_libs,test-$(1))
endef
$(foreach l,$(LAYERS),$(eval $(call lib_test_rule,$(l))))

define service_test_rule
$(BUILD)/tests/services/$(1)/%: services/$(1)/%.c $(filter-out %/main.o,$(call svc_objs,$(1))) $(call link_deps,$(1))
	@mkdir -p $$(dir $$@)
	$$(CC) $$(ALL_CFLAGS) $$(LDFLAGS_ALL) -o $$@ $$< $(filter-out %/main.o,$(call svc_objs,$(1))) $$(call link_libs,$(1))
endef
$(foreach s,$(SERVICES),$(eval $(call service_test_rule,$(s))))

unit-bins: $(UNIT_BINS)

# The RPC layer is the most threaded code (lib/rpc's server workers share their sockets): in
# the test build its unit test also runs under ThreadSanitizer, which cannot share a binary
# with AddressSanitizer, so it is built from the sources with flags of its own.
TSAN_TEST := $(BUILD)/tests/tsan/lib/rpc/rpc_test
$(TSAN_TEST): lib/rpc/rpc_test.c $(call layer_srcs,rpc) $(call layer_srcs,util)
	@mkdir -p $(dir $@)
	@[ "$(V)" = 1 ] || echo "  CC    $@ (ThreadSanitizer)"
	$(Q)$(CC) -std=c11 -D_GNU_SOURCE $(WARN) -O1 -g -fsanitize=thread -Ilib $(call pc_cflags,libcjson) \
	  -o $@ $^ $(LLIBS_rpc) -lm
ifeq ($(SAN),1)
unit-bins: $(TSAN_TEST)
endif

# Benchmark helpers (bench/*.c), not part of `all`: built on demand by the bench scripts.
$(BUILD)/bin/policy-load: $(BUILD)/obj/bench/policy-load.o $(call link_deps,policy-load)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS_ALL) -o $@ $< $(call link_libs,policy-load)

deps:
	@scripts/install-deps

# The test build is the sanitizer build; the runners print their summary lines and
# scripts/run-tests exits non-zero when any test failed. PYTEST_ARGS go to the integration
# suite's pytest (`make test PYTEST_ARGS='-k dkim'`; scripts/fresh-test: --first-per-module).
PYTEST_ARGS ?=
test: deps
	@$(MAKE) --no-print-directory SAN=1 all unit-bins
	@CLEMENT_BUILD=build/san scripts/check-arch; rc=$$?; scripts/check-format || rc=1; \
	 CLEMENT_BUILD=build/san scripts/run-tests $(PYTEST_ARGS) || rc=1; \
	 CLEMENT_BUILD=build/san tests/browser/run || rc=1; exit $$rc

# The design the build enforces (tools/arch-rules, scripts/check-arch): the include graph,
# `readelf -d` of every binary, and the libraries each runtime image installs.
check-arch: all unit-bins
	@CLEMENT_BUILD=$(BUILD) scripts/check-arch

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

check-format:
	@scripts/check-format

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

# Clement against real MTAs (Debian's Postfix, Exim, Sendmail in containers) in both directions:
# scripts/interop-test, docs/INTEROP.md.
interop-test:
	@scripts/interop-test

# `make test` from a clean clone of the current commit in a bare Debian 12 container, as a new
# user would run it, the integration suite trimmed to each module's first test (scripts/fresh-test).
fresh-test:
	@scripts/fresh-test

clean:
	rm -rf build

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
