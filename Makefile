# The two set-up commands (`make demo`, `make test`) and the benchmark run.
BUILD ?= build
JOBS ?= 2

.PHONY: all deps build test demo bench clean

all: build

deps:
	@bash scripts/install-deps.sh

$(BUILD)/CMakeCache.txt:
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null

build: deps $(BUILD)/CMakeCache.txt
	cmake --build $(BUILD) -j$(JOBS)

test: build
	cd $(BUILD) && ctest --output-on-failure -j$(JOBS) --timeout 300

demo: build
	bash scripts/demo.sh $(BUILD)/tide

bench: build
	TIDE_BENCH_DEPS=1 bash scripts/install-deps.sh
	bash bench/run.sh $(BUILD)/tide

clean:
	rm -rf $(BUILD)
