# pitwall: thin wrapper around Meson and Ninja.
#
#   make demo    install what is missing, build, run the demo
#   make test    install what is missing, build, run every test
#   make asan    the unit, CLI and fuzz (corpus replay) suites under AddressSanitizer + UBSan
#   make fuzz    each libFuzzer harness for FUZZ_SECONDS (60) with clang; not part of make test
#   make format  reformat the C sources; make format-check verifies them
#   make bench   install what is missing, build build-bench (release), run every benchmark and write
#                bench/RESULTS.md (bench/README.md); not part of make test

BUILD ?= build
ASAN_BUILD ?= build-asan
FUZZ_BUILD ?= build-fuzz
BENCH_BUILD ?= build-bench
C_SOURCES = $(shell git ls-files '*.c' '*.h' 2>/dev/null || find src tests -name '*.[ch]')

.PHONY: all setup build test demo asan fuzz bench format format-check clean

all: build

setup:
	@scripts/setup

build: setup
	@[ -f $(BUILD)/build.ninja ] || meson setup $(BUILD) >/dev/null
	@[ -z "$(PW_VECTORS)" ] || meson configure $(BUILD) -Dvectors="$(abspath $(PW_VECTORS))"
	@ninja -C $(BUILD) >/dev/null || ninja -C $(BUILD)

test: build
	@scripts/run-tests $(BUILD)

demo: build
	@PITWALL=$(CURDIR)/$(BUILD)/pitwall scripts/demo

asan: setup
	@[ -f $(ASAN_BUILD)/build.ninja ] || meson setup $(ASAN_BUILD) \
		-Db_sanitize=address,undefined -Db_lundef=false -Dbuildtype=debug >/dev/null
	@[ -z "$(PW_VECTORS)" ] || meson configure $(ASAN_BUILD) -Dvectors="$(abspath $(PW_VECTORS))"
	@ninja -C $(ASAN_BUILD) >/dev/null || ninja -C $(ASAN_BUILD)
	@ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
	 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	 scripts/run-tests $(ASAN_BUILD) --suite unit --suite cli --suite fuzz

fuzz:
	@FUZZ_BUILD=$(FUZZ_BUILD) scripts/fuzz $(FUZZ_PARSERS)

bench: setup
	@[ -f $(BENCH_BUILD)/build.ninja ] || meson setup $(BENCH_BUILD) \
		-Dbuildtype=release -Dbench=true >/dev/null
	@meson configure $(BENCH_BUILD) -Dbench=true >/dev/null
	@ninja -C $(BENCH_BUILD) >/dev/null || ninja -C $(BENCH_BUILD)
	@bench/run.sh $(BENCH_BUILD)

format:
	@clang-format -i $(C_SOURCES)

format-check:
	@clang-format --dry-run --Werror $(C_SOURCES) && echo "format: ok"

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(FUZZ_BUILD) $(BENCH_BUILD)
