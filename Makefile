# Thin wrapper over CMake. The two commands of the README:
#   make demo   install what is missing, build, run the demo
#   make check  the same plus test dependencies; every test tier (TESTING.md)
BUILD      ?= build
ASAN_BUILD ?= build-asan
TSAN_BUILD ?= build-tsan
CLANG_BUILD ?= build-clang
RELEASE_BUILD ?= build-release
FUZZ_BUILD ?= build-fuzz
# Seconds per fuzz target: short in `make check`, as asked in `make fuzz`.
FUZZ_SECONDS ?= 20
JOBS       ?= $(shell nproc)
CMAKE_ARGS ?=
# The tiers of `make check`, in order (scripts/check.sh times each).
CHECK_TIERS ?= plain stress clang release asan tsan fuzz deb
# Every tier configures afresh (cheap; a build directory from `make demo`,
# made before the test peers were installed, learns about them) and
# fails when a test peer is missing instead of skipping its tests.
CHECK_CMAKE = -DFASTSTACK_REQUIRE_PEERS=ON $(CMAKE_ARGS)
CTEST = ctest --output-on-failure --no-tests=error -j $(JOBS)

.PHONY: all build demo check check-plain check-stress check-clang check-release \
        check-asan check-tsan check-fuzz check-deb fuzz bench deps clean install

all: build

$(BUILD)/CMakeCache.txt:
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo $(CMAKE_ARGS)

build: $(BUILD)/CMakeCache.txt
	cmake --build $(BUILD) -j $(JOBS)

demo:
	@bash scripts/deps.sh demo
	@$(MAKE) --no-print-directory build
	@bash scripts/demo.sh $(BUILD)

check:
	@bash scripts/deps.sh check
	@bash scripts/check.sh $(CHECK_TIERS)

# gcc, RelWithDebInfo: the build `make demo` and `make bench` use.
check-plain:
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo $(CHECK_CMAKE)
	cmake --build $(BUILD) -j $(JOBS)
	$(CTEST) --test-dir $(BUILD)

# The crash handler's races in loops: the crash cases for concurrent
# faults (threads8), a fault racing exit (exit_race), a vfork child's
# crash and ALL with 50 threads, STRESS_RUNS runs each, at most
# STRESS_SECONDS per case (a case that stops early says how many ran).
STRESS_RUNS ?= 200
STRESS_SECONDS ?= 50
check-stress: build
	FASTSTACK_STRESS_RUNS=$(STRESS_RUNS) FASTSTACK_STRESS_SECONDS=$(STRESS_SECONDS) \
	  ctest --test-dir $(BUILD) --output-on-failure -j $(JOBS) \
	  -R '^crash_(threads8|exit_race|vfork|all50)$$'

# The same suite built with clang: both compilers must stay -Werror clean.
check-clang:
	CC=clang cmake -S . -B $(CLANG_BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo \
	  -DFASTSTACK_BUILD_BENCH=OFF $(CHECK_CMAKE)
	cmake --build $(CLANG_BUILD) -j $(JOBS)
	$(CTEST) --test-dir $(CLANG_BUILD)

# The same suite built as users build releases (-O3, no debug info in the
# library; the tests' own programs keep theirs).
check-release:
	cmake -S . -B $(RELEASE_BUILD) -DCMAKE_BUILD_TYPE=Release \
	  -DFASTSTACK_BUILD_BENCH=OFF $(CHECK_CMAKE)
	cmake --build $(RELEASE_BUILD) -j $(JOBS)
	$(CTEST) --test-dir $(RELEASE_BUILD)

# The whole suite with ASan+UBSan, -fno-sanitize-recover, optimized as
# ASan recommends (-O2: Debug's -O0 made the crash table's build take
# minutes). The fatal signals stay with faststack (ASAN_OPTIONS:
# tests/CMakeLists.txt).
check-asan:
	cmake -S . -B $(ASAN_BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DFASTSTACK_SANITIZE=ON \
	  -DFASTSTACK_BUILD_BENCH=OFF $(CHECK_CMAKE)
	cmake --build $(ASAN_BUILD) -j $(JOBS)
	$(CTEST) --test-dir $(ASAN_BUILD) -LE no-asan

# ThreadSanitizer over the tests labelled tsan: each lock-free structure
# hammered from several threads.
check-tsan:
	cmake -S . -B $(TSAN_BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DFASTSTACK_TSAN=ON \
	  -DFASTSTACK_BUILD_BENCH=OFF -DFASTSTACK_BUILD_EXAMPLES=OFF $(CHECK_CMAKE)
	cmake --build $(TSAN_BUILD) -j $(JOBS) --target fs_tsan_tests
	$(CTEST) --test-dir $(TSAN_BUILD) -L tsan

# Each libFuzzer target for FUZZ_SECONDS, seeded from fuzz/seeds/NAME and
# the seeds the fuzz build generates (fuzz/CMakeLists.txt).
check-fuzz:
	CC=clang cmake -S . -B $(FUZZ_BUILD) -DCMAKE_BUILD_TYPE=Debug -DFASTSTACK_FUZZ=ON \
	  -DFASTSTACK_BUILD_TESTS=OFF -DFASTSTACK_BUILD_BENCH=OFF \
	  -DFASTSTACK_BUILD_EXAMPLES=OFF -DFASTSTACK_BUILD_TOOLS=OFF $(CMAKE_ARGS)
	cmake --build $(FUZZ_BUILD) -j $(JOBS)
	@bash scripts/fuzz.sh $(FUZZ_BUILD) $(FUZZ_SECONDS)

# The Debian packages: built from a copy of the tree, inspected with
# dpkg-deb, unpacked into a scratch root and compiled against.
check-deb:
	JOBS=$(JOBS) bash scripts/check_deb.sh

fuzz:
	@bash scripts/deps.sh check
	@$(MAKE) --no-print-directory check-fuzz FUZZ_SECONDS=$(or $(SECONDS),600)

# Runs every benchmark; writes bench/RESULTS.md (date, commit, machine,
# load, each table) and the README's measured section from it.
bench:
	@bash scripts/deps.sh bench
	@$(MAKE) --no-print-directory build
	@bash scripts/bench.sh $(BUILD)

install: build
	cmake --install $(BUILD) $(if $(PREFIX),--prefix $(PREFIX))

clean:
	rm -rf $(BUILD) $(CLANG_BUILD) $(RELEASE_BUILD) $(ASAN_BUILD) $(TSAN_BUILD) \
	  $(FUZZ_BUILD)
