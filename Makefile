# consign: the two commands are `make demo` and `make check`.
# Both install what is missing (scripts/deps.sh), configure and build first.

BUILD      ?= build
BUILD_ASAN ?= build-asan
CMAKE_ARGS ?=
JOBS       ?= $(shell nproc)
CTEST_ARGS ?=

.PHONY: all deps build build-asan check check-fast demo fuzz bench format clean

all: build

deps:
	@bash scripts/deps.sh

$(BUILD)/build.ninja: | deps
	@cmake -S . -B $(BUILD) -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo $(CMAKE_ARGS) >/dev/null

$(BUILD_ASAN)/build.ninja: | deps
	@cmake -S . -B $(BUILD_ASAN) -G Ninja -DCMAKE_BUILD_TYPE=Debug -DCONSIGN_SANITIZE=ON \
	  -DCONSIGN_BUILD_EXAMPLES=OFF -DCONSIGN_EXAMPLE_AGENT_DIR=$(abspath $(BUILD))/examples/agent \
	  -DCONSIGN_CHROOT_CACHE=$(abspath $(BUILD))/chroots \
	  -DCONSIGN_PACKAGED_LAUNCHER=$(abspath $(BUILD))/target/consign-launch \
	  -DCONSIGN_PACKAGED_CONFIG_TOOL=$(abspath $(BUILD))/agenttools/consign-config \
	  $(CMAKE_ARGS) >/dev/null

build: deps $(BUILD)/build.ninja
	@cmake --build $(BUILD) -j $(JOBS)

build-asan: deps build $(BUILD_ASAN)/build.ninja
	@cmake --build $(BUILD_ASAN) -j $(JOBS)

# Every test in the normal build, then again under ASan+UBSan; ends with ctest's summary.
check: build build-asan
	@echo "== tests (release build)"
	@ctest --test-dir $(BUILD) --output-on-failure -j $(JOBS) $(CTEST_ARGS)
	@echo "== tests (ASan+UBSan build)"
	@ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	  ctest --test-dir $(BUILD_ASAN) --output-on-failure -j $(JOBS) $(CTEST_ARGS)

check-fast: build
	@ctest --test-dir $(BUILD) --output-on-failure -j $(JOBS) $(CTEST_ARGS)

demo: build
	@bash scripts/demo.sh $(BUILD)

bench: build
	@bash bench/pkg.sh $(BUILD) $${BENCH_RUNS:-5}
	@bash bench/repo.sh $(BUILD) $${BENCH_RUNS:-3}
	@bash bench/sfx.sh $(BUILD) $${BENCH_RUNS:-3}
	@bash bench/bootstrap.sh $(BUILD) $${BENCH_RUNS:-5}
	@bash bench/update.sh $(BUILD) $${BENCH_SECONDS:-10}

fuzz:
	@bash scripts/deps.sh --fuzz
	@CC=clang cmake -S . -B build-fuzz -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCONSIGN_FUZZ=ON \
	  -DCONSIGN_BUILD_EXAMPLES=OFF >/dev/null
	@cmake --build build-fuzz -j $(JOBS)
	@bash scripts/fuzz.sh build-fuzz $${FUZZ_SECONDS:-600}

format:
	@git ls-files '*.c' '*.h' | xargs clang-format -i

clean:
	rm -rf $(BUILD) $(BUILD_ASAN) build-fuzz
