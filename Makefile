# Thin wrapper over CMake. The two commands of the README:
#   make demo   install what is missing, build, run the demo
#   make check  the same plus test dependencies; the whole suite via ctest,
#               then again built with ASan+UBSan
BUILD      ?= build
ASAN_BUILD ?= build-asan
CLANG_BUILD ?= build-clang
FUZZ_BUILD ?= build-fuzz
AARCH64_BUILD ?= build-aarch64
MUSL_BUILD ?= build-musl
# Seconds per fuzz target: short in `make check`, as asked in `make fuzz`.
FUZZ_SECONDS ?= 20
JOBS       ?= $(shell nproc)
CMAKE_ARGS ?=

.PHONY: all build demo check check-plain check-clang check-asan check-fuzz check-aarch64 check-musl fuzz bench deps clean install

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
	@$(MAKE) --no-print-directory check-plain
	@$(MAKE) --no-print-directory check-clang
	@$(MAKE) --no-print-directory check-asan
	@$(MAKE) --no-print-directory check-fuzz
	@$(MAKE) --no-print-directory check-aarch64
	@$(MAKE) --no-print-directory check-musl

check-plain: build
	ctest --test-dir $(BUILD) --output-on-failure -j $(JOBS)

# The same suite built with clang: both compilers must stay -Werror clean.
check-clang:
	CC=clang cmake -S . -B $(CLANG_BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo \
	  -DFASTSTACK_BUILD_BENCH=OFF $(CMAKE_ARGS)
	cmake --build $(CLANG_BUILD) -j $(JOBS)
	ctest --test-dir $(CLANG_BUILD) --output-on-failure -j $(JOBS)

check-asan:
	cmake -S . -B $(ASAN_BUILD) -DCMAKE_BUILD_TYPE=Debug -DFASTSTACK_SANITIZE=ON \
	  -DFASTSTACK_BUILD_BENCH=OFF $(CMAKE_ARGS)
	cmake --build $(ASAN_BUILD) -j $(JOBS)
	ctest --test-dir $(ASAN_BUILD) --output-on-failure -j $(JOBS) -LE no-asan

# aarch64: cross-built (gcc-aarch64-linux-gnu, :arm64 dependencies) and
# run under qemu-user. Not run there: the tests that drive host tools over
# the build (style, layers, installation, the CLI and pprof scripts),
# `faststack run` (it execs its target, which qemu-user cannot follow
# without binfmt_misc), and all50 (50 threads answering a dump within its
# deadline is a timing test, meaningless under emulation).
AARCH64_SKIP = test_style|test_layers|test_install_consumer|test_stale_e2e|test_pprof_go|test_profile_cli|test_cli_addr2line|test_symbolize_diff|crash_run.*|crash_all50|recover_http_.*
check-aarch64:
	cmake -S . -B $(AARCH64_BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo \
	  -DCMAKE_TOOLCHAIN_FILE=cmake/toolchain-aarch64.cmake \
	  -DFASTSTACK_BUILD_BENCH=OFF $(CMAKE_ARGS)
	cmake --build $(AARCH64_BUILD) -j $(JOBS)
	ctest --test-dir $(AARCH64_BUILD) --output-on-failure -j $(JOBS) \
	  -E '^($(AARCH64_SKIP))$$'

# musl: musl-gcc (musl-tools), everything linked statically (with the
# .eh_frame_hdr table and a build-id, which static links omit otherwise).
# Debian builds zlib, zstd, libiberty and libmd for glibc only: this build
# leaves them out (docs/platforms.md says what changes). Not run there:
# host-tool tests; shared-object cases (dlopen, `faststack run` and
# `faststack profile`, which preload); chains through musl's libc.a,
# which has no unwind tables (abort, assert, strlen, memcpy, qsort,
# double_free; all50's park under syscall); test_symbolize, which reads
# the system's shared libc and its debug file; test_dwarf (three
# addresses of gcc -O2 fixtures linked statically against musl disagree
# with llvm-symbolizer: a symbolizer question, see docs/platforms.md).
MUSL_SKIP = test_style|test_layers|test_install_consumer|test_stale_e2e|test_pprof_go|test_profile_cli|test_cli_addr2line|test_symbolize_diff|crash_run.*|crash_dlopen|crash_all50|crash_abort|crash_assert|crash_strlen|crash_memcpy|crash_qsort|crash_double_free|test_symbolize|test_symbolize_snapshot|test_dwarf|recover_http_.*
check-musl:
	CC=musl-gcc cmake -S . -B $(MUSL_BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo \
	  -DFASTSTACK_WITH_ZLIB=OFF -DFASTSTACK_WITH_ZSTD=OFF \
	  -DFASTSTACK_WITH_DEMANGLE=OFF -DFASTSTACK_WITH_LIBMD=OFF \
	  -DFASTSTACK_BUILD_BENCH=OFF -DFASTSTACK_BUILD_EXAMPLES=OFF \
	  "-DCMAKE_EXE_LINKER_FLAGS=-static -Wl,--eh-frame-hdr -Wl,--build-id" \
	  $(CMAKE_ARGS)
	cmake --build $(MUSL_BUILD) -j $(JOBS)
	ctest --test-dir $(MUSL_BUILD) --output-on-failure -j $(JOBS) \
	  -E '^($(MUSL_SKIP))$$'

# Each libFuzzer target for FUZZ_SECONDS, seeded from fuzz/seeds/NAME.
check-fuzz:
	CC=clang cmake -S . -B $(FUZZ_BUILD) -DCMAKE_BUILD_TYPE=Debug -DFASTSTACK_FUZZ=ON \
	  -DFASTSTACK_BUILD_TESTS=OFF -DFASTSTACK_BUILD_BENCH=OFF \
	  -DFASTSTACK_BUILD_EXAMPLES=OFF -DFASTSTACK_BUILD_TOOLS=OFF $(CMAKE_ARGS)
	cmake --build $(FUZZ_BUILD) -j $(JOBS)
	@bash scripts/fuzz.sh $(FUZZ_BUILD) $(FUZZ_SECONDS)

fuzz:
	@bash scripts/deps.sh check
	@$(MAKE) --no-print-directory check-fuzz FUZZ_SECONDS=$(or $(SECONDS),600)

bench:
	@bash scripts/deps.sh bench
	@$(MAKE) --no-print-directory build
	@bash scripts/bench.sh $(BUILD)

install: build
	cmake --install $(BUILD) $(if $(PREFIX),--prefix $(PREFIX))

clean:
	rm -rf $(BUILD) $(CLANG_BUILD) $(ASAN_BUILD) $(FUZZ_BUILD) $(AARCH64_BUILD) $(MUSL_BUILD)
