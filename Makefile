# The two set-up commands (`make demo`, `make test`), the sanitizer suite
# (`make test-sanitize`) and the benchmark run.
BUILD ?= build
JOBS ?= 2

.PHONY: all deps build test test-sanitize demo bench clean

all: build

deps:
	@bash scripts/install-deps.sh

$(BUILD)/CMakeCache.txt:
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null

build: deps $(BUILD)/CMakeCache.txt
	cmake --build $(BUILD) -j$(JOBS)

test: build
	cd $(BUILD) && ctest --output-on-failure -j$(JOBS) --timeout 300

# The whole suite built with AddressSanitizer + UBSan (+ LeakSanitizer): any
# report fails its test. Unit tests halt with a non-zero exit; processes that
# integration tests start log under $(SAN_BUILD)/sanitizer-logs, which
# tests/lib/harness.sh checks (TIDE_SANITIZER_LOG).
SAN_BUILD ?= build-sanitize
SAN_ASAN = detect_leaks=1:halt_on_error=1:abort_on_error=0:exitcode=23
SAN_UBSAN = print_stacktrace=1:halt_on_error=1

test-sanitize: deps
	cmake -S . -B $(SAN_BUILD) -DTIDE_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug >/dev/null
	cmake --build $(SAN_BUILD) -j$(JOBS)
	rm -rf $(SAN_BUILD)/sanitizer-logs && mkdir -p $(SAN_BUILD)/sanitizer-logs
	cd $(SAN_BUILD) && TIDE_SANITIZER_LOG=$(abspath $(SAN_BUILD))/sanitizer-logs \
	  ASAN_OPTIONS=$(SAN_ASAN) UBSAN_OPTIONS=$(SAN_UBSAN) \
	  ctest --output-on-failure -j$(JOBS) --timeout 300

demo: build
	bash scripts/demo.sh $(BUILD)/tide

bench: build
	TIDE_BENCH_DEPS=1 bash scripts/install-deps.sh
	bash bench/run.sh $(BUILD)/tide

clean:
	rm -rf $(BUILD)
