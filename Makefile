# Sluice: one GNU Makefile (style.md §3.8). `make` builds build/sluice.
#   make run      install missing packages, build, start in the foreground with examples/kong.yml
#                 and the example upstream it routes to
#   make test     install missing packages, build, run unit + integration suites
#   make asan     ASan+UBSan build and the same suites against it
#   make fuzz     build libFuzzer targets and run each for FUZZ_SECONDS
#   make bench    wrk against nginx and Sluice side by side, then the config-scale benchmark
#                 (bench/README.md)
#   make lint     install missing packages, then clang-format check, cppcheck, exported-symbol
#                 prefix check

BUILD     ?= build
CC        ?= gcc
PKGS      := libssl libcrypto libnghttp2 libcares sqlite3 libpq hiredis jansson yaml-0.1 libpcre2-8 zlib
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null) -lev -lpthread -lm

WARN   := -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Wformat=2 -Wvla \
          -Wpointer-arith -Wimplicit-fallthrough -Wno-unused-parameter
ifneq ($(CI),)
WARN   += -Werror
endif
OPT    ?= -O2 -g -D_FORTIFY_SOURCE=2 -fstack-protector-strong
CFLAGS += -std=gnu11 -D_GNU_SOURCE $(WARN) $(OPT) -Iinclude -Isrc $(PKG_CFLAGS) -MMD -MP
LDLIBS += $(PKG_LIBS)

MAIN_SRC := src/cli/main.c
LIB_SRC  := $(filter-out $(MAIN_SRC),$(shell find src -name '*.c' | sort))
LIB_OBJ  := $(LIB_SRC:%.c=$(BUILD)/obj/%.o)

UNIT_SRC := $(shell find tests/unit -name '*.c' 2>/dev/null | sort)
UNIT_OBJ := $(UNIT_SRC:%.c=$(BUILD)/obj/%.o)

PY := /usr/bin/python3

.PHONY: all deps run test unit integration wire asan fuzz bench lint clean format

all: $(BUILD)/sluice

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c $< -o $@

$(BUILD)/libsluice.a: $(LIB_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(BUILD)/sluice: $(BUILD)/obj/$(MAIN_SRC:.c=.o) $(BUILD)/libsluice.a
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS)

# One criterion binary for every unit test (`make unit`). `make unit-<area>` builds and runs
# tests/unit/<area> only, linked against src/core, the area itself and the areas it declares below, so
# one area's work in progress never blocks another's test loop.
$(BUILD)/tests/unit: $(UNIT_OBJ) $(BUILD)/libsluice.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS) -lcriterion

UNIT_DEPS_core   :=
UNIT_DEPS_http   :=
UNIT_DEPS_router := http
UNIT_DEPS_config := net router http store schema
UNIT_DEPS_net    :=
UNIT_DEPS_proxy  := http router net config store schema
area_objs = $(patsubst %.c,$(BUILD)/obj/%.o,$(sort $(foreach d,core $(1) $(UNIT_DEPS_$(1)),$(wildcard src/$(d)/*.c src/$(d)/*/*.c))))

.SECONDEXPANSION:
unit_objs = $(patsubst %.c,$(BUILD)/obj/%.o,$(wildcard tests/unit/$(1)/*.c))
.SECONDARY:
$(BUILD)/tests/unit-%: $$(call area_objs,$$*) $$(call unit_objs,$$*)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS) -lcriterion

unit-%: $(BUILD)/tests/unit-%
	$< --jobs 2

deps:
	@./scripts/install-deps.sh test
	@./scripts/install-deps.sh fuzz

unit: $(BUILD)/tests/unit
	$(BUILD)/tests/unit --jobs 2

integration: $(BUILD)/sluice
	SLUICE_BIN=$(abspath $(BUILD)/sluice) $(PY) -m pytest -q tests/integration tests/wire

# The whole suite CI runs: unit, integration and wire tests, then every fuzzer for a short while.
TEST_FUZZ_SECONDS ?= 10
test: deps
	$(MAKE) all $(BUILD)/tests/unit
	$(MAKE) unit
	$(MAKE) integration
	$(MAKE) fuzz FUZZ_SECONDS=$(TEST_FUZZ_SECONDS)

# examples/kong.yml routes /echo to 127.0.0.1:9001: Debian's python3 http.server answers there
# (a page from $(BUILD)/run/www) for as long as Sluice runs. A background job of a non-interactive
# shell ignores Ctrl-C, so the traps stop it however Sluice stops.
run: deps all
	@mkdir -p $(BUILD)/run/www
	@echo 'Hello from the example upstream (python3 -m http.server on 127.0.0.1:9001)' \
		> $(BUILD)/run/www/index.html
	@$(PY) -m http.server 9001 --bind 127.0.0.1 --directory $(BUILD)/run/www \
		> $(BUILD)/run/upstream.log 2>&1 & up=$$!; \
	trap 'kill $$up 2>/dev/null' EXIT INT TERM HUP; \
	echo "example upstream on 127.0.0.1:9001 (pid $$up, log $(BUILD)/run/upstream.log)"; \
	$(BUILD)/sluice start -c examples/sluice.conf -p $(BUILD)/run

asan:
	@./scripts/install-deps.sh test
	$(MAKE) BUILD=build-asan OPT="-O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=undefined" \
		LDFLAGS="-fsanitize=address,undefined" build-asan/sluice build-asan/tests/unit
	@# Each test runs in a child process whose LeakSanitizer report criterion prints but does not
	@# count (the test has passed by then), so the log is searched for reports. One job: with
	@# --jobs 2, criterion 2.4.1's runner leaks 48 bytes of its own in the parent (every full run
	@# on one machine; never with one job).
	ASAN_OPTIONS=detect_leaks=1 build-asan/tests/unit --jobs 1 > build-asan/unit.log 2>&1; \
	  rc=$$?; cat build-asan/unit.log; \
	  if grep -q 'ERROR: LeakSanitizer' build-asan/unit.log; then \
	    echo "make asan: LeakSanitizer reports in the unit tests (build-asan/unit.log)"; exit 1; fi; \
	  exit $$rc
	SLUICE_BIN=$(abspath build-asan/sluice) ASAN_OPTIONS=detect_leaks=0 $(PY) -m pytest -q tests/integration tests/wire

FUZZ_SECONDS ?= 30
FUZZ_TARGETS := $(patsubst fuzz/%.c,%,$(wildcard fuzz/fuzz_*.c))
# The same warnings as the gcc build, so that -Werror in CI covers the fuzzers too.
FUZZ_FLAGS   := -std=gnu11 -D_GNU_SOURCE -O1 -g -fno-omit-frame-pointer -fno-sanitize-recover=undefined \
                $(WARN) -Iinclude -Isrc $(PKG_CFLAGS)
FUZZ_OBJ     := $(LIB_SRC:%.c=build-fuzz/obj/%.o)

# The library is compiled once with coverage and sanitizers; each target links against it. With
# its header dependencies (-MMD, included below), so that a changed struct rebuilds every object
# that uses it: a stale object read the old layout and made fuzz_router report a bool of 254.
build-fuzz/obj/%.o: %.c
	@mkdir -p $(dir $@)
	clang $(FUZZ_FLAGS) -MMD -MP -fsanitize=fuzzer-no-link,address,undefined -c $< -o $@

build-fuzz/fuzz_%: fuzz/fuzz_%.c $(FUZZ_OBJ)
	clang $(FUZZ_FLAGS) -fsanitize=fuzzer,address,undefined -o $@ $^ $(PKG_LIBS)

# Each target runs for FUZZ_SECONDS from its seed corpus (the HTTP/1 ones with fuzz/http.dict, the
# entity inputs with fuzz/entities.dict, sluice.conf with fuzz/conf.dict); a crash, a leak or a
# sanitizer report fails the target (its log is printed).
fuzz:
	@./scripts/install-deps.sh fuzz
	$(MAKE) $(addprefix build-fuzz/,$(FUZZ_TARGETS))
	@set -e; for t in $(FUZZ_TARGETS); do \
	  mkdir -p build-fuzz/corpus-$$t; \
	  case $$t in fuzz_h1_*|fuzz_chunked|fuzz_path) dict=-dict=fuzz/http.dict;; \
	    fuzz_admin_input|fuzz_declarative) dict=-dict=fuzz/entities.dict;; \
	    fuzz_conf) dict=-dict=fuzz/conf.dict;; *) dict=;; esac; \
	  echo "== $$t ($(FUZZ_SECONDS)s)"; \
	  if ! build-fuzz/$$t -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 $$dict \
	       build-fuzz/corpus-$$t fuzz/corpus/$${t#fuzz_} > build-fuzz/$$t.log 2>&1; then \
	    tail -60 build-fuzz/$$t.log; echo "FUZZ FAILURE: $$t"; exit 1; \
	  fi; \
	  grep -E 'number_of_executed_units|peak_rss' build-fuzz/$$t.log; \
	done

bench: all
	@./scripts/install-deps.sh bench
	./bench/run.sh
	/usr/bin/python3 bench/config_scale.py

# The library is built by a second make, which reads pkg-config after the packages are in.
lint:
	@./scripts/install-deps.sh lint
	$(MAKE) $(BUILD)/libsluice.a
	clang-format --dry-run --Werror $$(find src include tests/unit fuzz -name '*.[ch]')
	cppcheck --quiet --error-exitcode=1 --std=c11 --enable=warning,portability \
		--suppress=missingIncludeSystem -Iinclude -Isrc src
	./scripts/check-symbols.sh $(BUILD)/libsluice.a

format:
	clang-format -i $$(find src include tests/unit fuzz -name '*.[ch]')

clean:
	rm -rf build build-asan build-fuzz

-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)
-include $(shell find build-fuzz/obj -name '*.d' 2>/dev/null)
