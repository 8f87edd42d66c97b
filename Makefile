# The two set-up commands (`make demo`, `make test`), the sanitizer suite
# (`make test-sanitize`) and the benchmark run. Each installs only what it
# needs (scripts/install-deps.sh): `make` the build, `make test` also the
# tools and services the tests use.
BUILD ?= build
JOBS ?= 2

.PHONY: all deps test-deps build test test-sanitize fuzz demo bench format format-check clean

all: build

deps:
	@bash scripts/install-deps.sh

test-deps:
	@bash scripts/install-deps.sh --test

$(BUILD)/CMakeCache.txt:
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null

build: deps $(BUILD)/CMakeCache.txt
	cmake --build $(BUILD) -j$(JOBS)

# The SLURM tests need a running SLURM: scripts/with-slurm.sh starts the
# one-node SLURM when none answers and stops it afterwards, keeping ctest's
# exit status; scripts/with-sge.sh does the same for Grid Engine. A test that cannot run here is reported skipped, not passed.
CTEST = ctest --output-on-failure -j$(JOBS) --timeout 300

test: test-deps build
	cd $(BUILD) && bash $(CURDIR)/scripts/with-slurm.sh bash $(CURDIR)/scripts/with-sge.sh $(CTEST)

# The whole suite built with AddressSanitizer + UBSan (+ LeakSanitizer): any
# report fails its test. Unit tests halt with a non-zero exit; processes that
# integration tests start log under $(SAN_BUILD)/sanitizer-logs, which
# tests/lib/harness.sh checks (TIDE_SANITIZER_LOG).
SAN_BUILD ?= build-sanitize
SAN_ASAN = detect_leaks=1:halt_on_error=1:abort_on_error=0:exitcode=23
SAN_UBSAN = print_stacktrace=1:halt_on_error=1

test-sanitize: test-deps
	cmake -S . -B $(SAN_BUILD) -DTIDE_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug >/dev/null
	cmake --build $(SAN_BUILD) -j$(JOBS)
	rm -rf $(SAN_BUILD)/sanitizer-logs && mkdir -p $(SAN_BUILD)/sanitizer-logs
	cd $(SAN_BUILD) && TIDE_SANITIZER_LOG=$(abspath $(SAN_BUILD))/sanitizer-logs \
	  ASAN_OPTIONS=$(SAN_ASAN) UBSAN_OPTIONS=$(SAN_UBSAN) \
	  bash $(CURDIR)/scripts/with-slurm.sh bash $(CURDIR)/scripts/with-sge.sh $(CTEST)

# libFuzzer targets (fuzz/README.md), built with clang, ASan and UBSan into
# $(FUZZ_BUILD) and run one after the other for FUZZ_SECONDS each: regressions
# replayed first, then fuzzing from the committed seeds. Fails when any
# target crashes, leaks or hits UB; the input is saved under
# $(FUZZ_BUILD)/fuzz-artifacts/<target>/. FUZZ_TARGETS picks some (default all).
FUZZ_BUILD ?= build-fuzz
FUZZ_SECONDS ?= 60
FUZZ_TARGETS ?=

fuzz:
	@bash scripts/install-deps.sh --fuzz
	CC=clang cmake -S . -B $(FUZZ_BUILD) -DTIDE_FUZZ=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
	cmake --build $(FUZZ_BUILD) -j$(JOBS) --target fuzz_all
	bash fuzz/run.sh $(FUZZ_BUILD) $(FUZZ_SECONDS) $(FUZZ_TARGETS)

demo: build
	@bash scripts/install-deps.sh --demo
	bash scripts/demo.sh $(BUILD)/tide

bench: build
	@bash scripts/install-deps.sh --bench
	bash bench/run.sh $(BUILD)/tide

# C style (.clang-format, Debian's clang-format): `make format` rewrites the
# sources in place, `make format-check` fails listing any file that differs.
FORMAT_FILES = $(shell git ls-files '*.c' '*.h')

format:
	clang-format -i $(FORMAT_FILES)

format-check:
	@clang-format --dry-run --Werror $(FORMAT_FILES)

clean:
	rm -rf $(BUILD)
