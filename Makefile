# Thin wrapper over CMake. The two commands of the README:
#   make demo   install what is missing, build, run the demo
#   make check  the same plus test dependencies; every test tier (TESTING.md)
BUILD      ?= build
ASAN_BUILD ?= build-asan
TSAN_BUILD ?= build-tsan
CLANG_BUILD ?= build-clang
RELEASE_BUILD ?= build-release
FUZZ_BUILD ?= build-fuzz
AARCH64_BUILD ?= build-aarch64
MUSL_BUILD ?= build-musl
# Seconds per fuzz target: short in `make check`, as asked in `make fuzz`.
FUZZ_SECONDS ?= 20
JOBS       ?= $(shell nproc)
CMAKE_ARGS ?=
# The tiers of `make check`, in order (scripts/check.sh times each).
CHECK_TIERS ?= plain stress clang release asan tsan fuzz aarch64 musl deb
# Every tier configures afresh (cheap; a build directory from `make demo`,
# made before the test peers were installed, learns about them) and
# fails when a test peer is missing instead of skipping its tests.
CHECK_CMAKE = -DFASTSTACK_REQUIRE_PEERS=ON $(CMAKE_ARGS)
CTEST = ctest --output-on-failure --no-tests=error -j $(JOBS)

.PHONY: all build demo check check-plain check-stress check-clang check-release \
        check-asan check-tsan check-fuzz check-deb check-aarch64 check-musl fuzz \
        bench deps clean install

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
# STRESS_SECONDS per case (a case that stops early says how many ran);
# and six threads faulting at once under `faststack run`, 1,000 times
# whatever those say (early_threads_loop).
STRESS_RUNS ?= 200
STRESS_SECONDS ?= 50
check-stress: build
	FASTSTACK_STRESS_RUNS=$(STRESS_RUNS) FASTSTACK_STRESS_SECONDS=$(STRESS_SECONDS) \
	  ctest --test-dir $(BUILD) --output-on-failure -j $(JOBS) \
	  -R '^crash_(threads8|exit_race|vfork|all50|early_threads_loop)$$'

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

# aarch64: cross-built (gcc-aarch64-linux-gnu, :arm64 dependencies) and
# run under qemu-user. Not run there: the tests that drive host tools over
# the build (style, layers, installation, the CLI and pprof scripts, the
# CLI's help texts, consumers compiled by the host compiler against the
# library: names_cxx, stale_offline, pprof_cxx), `faststack run` (it execs
# its target, which qemu-user cannot follow without binfmt_misc), all50
# (50 threads answering a dump within its deadline is a timing test,
# meaningless under emulation), and the debug-info variants (x86-64
# fixtures built by the host toolchain, dwz, dwp and objcopy, read by
# architecture-neutral readers that the x86-64 tiers run).
AARCH64_SKIP = test_style|test_layers|test_install_consumer|test_stale_e2e|test_pprof_go|test_profile_cli|test_cli_addr2line|test_symbolize_diff|crash_run.*|exceptions_run_.*|crash_all50|recover_http_.*|test_cli_polish|test_names_cxx|test_stale_offline|test_pprof_cxx|test_debuginfo_.*
check-aarch64:
	cmake -S . -B $(AARCH64_BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo \
	  -DCMAKE_TOOLCHAIN_FILE=cmake/toolchain-aarch64.cmake \
	  -DFASTSTACK_BUILD_BENCH=ON $(CMAKE_ARGS)
	cmake --build $(AARCH64_BUILD) -j $(JOBS)
	$(CTEST) --test-dir $(AARCH64_BUILD) \
	  -E '^($(AARCH64_SKIP))$$'

# musl: musl-gcc (musl-tools), everything linked statically (with the
# .eh_frame_hdr table and a build-id, which static links omit otherwise).
# Debian builds zlib, zstd, libiberty and libmd for glibc only: this build
# leaves them out (docs/platforms.md says what changes). Not run there:
# host-tool tests; shared-object cases (dlopen, `faststack run` and
# `faststack profile`, which preload); chains through musl's libc.a,
# which has no unwind tables (abort, assert, strlen, memcpy, qsort,
# double_free, and their early_* twins; all50's park under syscall);
# test_symbolize, which reads the system's shared libc and its debug
# file, and its vDSO and libc variants; the tests that dlopen
# (dlclose_race, race_modules, race_lasterror) or check the shared
# library's exports (preload_exports); the host-side ones that build C++
# consumers or drive the CLI's texts (names_cxx, pprof_cxx, cli_polish);
# and the MiniDebugInfo and debuginfod variants, which need liblzma and
# libdebuginfod, left out of this build.
MUSL_SKIP = test_style|test_layers|test_install_consumer|test_stale_e2e|test_pprof_go|test_profile_cli|test_cli_addr2line|test_symbolize_diff|crash_run.*|crash_dlopen|crash_all50|crash_abort|crash_assert|crash_strlen|crash_memcpy|crash_qsort|crash_double_free|crash_early_strlen3|crash_early_qsort_abort|crash_early_double_free|test_symbolize|test_symbolize_snapshot|test_symbolize_vdso|test_symbolize_libc|recover_http_.*|test_dlclose_race|test_race_modules|test_race_lasterror|test_preload_exports|test_names_cxx|test_pprof_cxx|test_cli_polish|test_debuginfo_minidebuginfo|test_debuginfo_debuginfod
check-musl:
	CC=musl-gcc cmake -S . -B $(MUSL_BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo \
	  -DFASTSTACK_WITH_ZLIB=OFF -DFASTSTACK_WITH_ZSTD=OFF \
	  -DFASTSTACK_WITH_DEMANGLE=OFF -DFASTSTACK_WITH_LIBMD=OFF \
	  -DFASTSTACK_WITH_LZMA=OFF \
	  -DFASTSTACK_BUILD_BENCH=OFF -DFASTSTACK_BUILD_EXAMPLES=OFF \
	  "-DCMAKE_EXE_LINKER_FLAGS=-static -Wl,--eh-frame-hdr -Wl,--build-id" \
	  $(CMAKE_ARGS)
	cmake --build $(MUSL_BUILD) -j $(JOBS)
	$(CTEST) --test-dir $(MUSL_BUILD) \
	  -E '^($(MUSL_SKIP))$$'

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
	  $(FUZZ_BUILD) $(AARCH64_BUILD) $(MUSL_BUILD)
