# Thin wrapper over CMake. The two commands of the README:
#   make demo   install what is missing, build, run the demo
#   make check  the same plus test dependencies; the whole suite via ctest,
#               then again built with ASan+UBSan
BUILD      ?= build
ASAN_BUILD ?= build-asan
CLANG_BUILD ?= build-clang
FUZZ_BUILD ?= build-fuzz
# Seconds per fuzz target: short in `make check`, as asked in `make fuzz`.
FUZZ_SECONDS ?= 20
JOBS       ?= $(shell nproc)
CMAKE_ARGS ?=

.PHONY: all build demo check check-plain check-clang check-asan check-fuzz check-deb fuzz bench deps clean install

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
	@$(MAKE) --no-print-directory check-deb

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

# Each libFuzzer target for FUZZ_SECONDS, seeded from fuzz/seeds/NAME.
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

bench:
	@bash scripts/deps.sh bench
	@$(MAKE) --no-print-directory build
	@bash scripts/bench.sh $(BUILD)

install: build
	cmake --install $(BUILD) $(if $(PREFIX),--prefix $(PREFIX))

clean:
	rm -rf $(BUILD) $(CLANG_BUILD) $(ASAN_BUILD) $(FUZZ_BUILD)
