# The symbolizer on a live process (vDSO, glibc's debug file,
# dlopen, replaced files) and on corrupt files.
# The vDSO and glibc parts are tests of their own: each needs what a
# machine may lack (a vDSO; libc6-dbg) and is reported as skipped then.
# -g in every build type: the test reads its own DWARF (the Release tier
# builds without debug information otherwise).
fs_add_test(test_symbolize SOURCES test_symbolize.c
            LIBS -rdynamic ${CMAKE_DL_LIBS} Threads::Threads COPTS -g)
add_library(modtest2 SHARED libmodtest2.c)
target_compile_definitions(test_symbolize PRIVATE
  MODTEST_LIB="$<TARGET_FILE:modtest>" MODTEST2_LIB="$<TARGET_FILE:modtest2>")
add_dependencies(test_symbolize modtest modtest2)
add_test(NAME test_symbolize_vdso COMMAND test_symbolize vdso)
add_test(NAME test_symbolize_libc COMMAND test_symbolize libc)
set_tests_properties(test_symbolize_vdso test_symbolize_libc PROPERTIES
                     TIMEOUT 120)
fs_find_peer(FS_T_NM PROGRAM nm binutils)
fs_find_peer(FS_T_ADDR2LINE PROGRAM addr2line binutils)
fs_find_peer(FS_T_LLVM_SYMBOLIZER PROGRAM llvm-symbolizer llvm)
# glibc's debug file, found by libc's build-id like the symbolizer does.
execute_process(COMMAND readelf -n /lib/x86_64-linux-gnu/libc.so.6
                OUTPUT_VARIABLE FS_T_LIBC_NOTES ERROR_QUIET)
string(REGEX MATCH "Build ID: ([0-9a-f][0-9a-f])([0-9a-f]+)" FS_T_ID
       "${FS_T_LIBC_NOTES}")
if(NOT FS_T_ID OR NOT EXISTS
   "/usr/lib/debug/.build-id/${CMAKE_MATCH_1}/${CMAKE_MATCH_2}.debug")
  fs_peer_missing("glibc's debug file" libc6-dbg)
endif()
# Allocation counting: nothing is allocated once warm. It counts by
# replacing malloc, which ASan replaces itself: the sanitizer build skips
# it (the one no-asan test).
fs_add_test(test_noalloc SOURCES test_noalloc.c
            COPTS -O1 -g -fno-omit-frame-pointer -fno-optimize-sibling-calls
            LABELS no-asan)

# `faststack symbolize` against GNU addr2line, byte for byte (known
# addr2line quirks classified; docs/symbolize.md), streaming, --json, raw
# lines and --format on a crash report.
if(FASTSTACK_BUILD_TOOLS AND FASTSTACK_BUILD_EXAMPLES)
  # It annotates a crash of examples/crash_example, which faults on purpose
  # (a NULL load): UBSan would stop it before the CPU faults, so in the
  # sanitizer build its own code is not instrumented.
  if(FASTSTACK_SANITIZE)
    target_compile_options(crash_example PRIVATE -fno-sanitize=all)
  endif()
  add_test(NAME test_cli_addr2line
    COMMAND python3 ${CMAKE_CURRENT_SOURCE_DIR}/cli_addr2line.py
            $<TARGET_FILE:faststack_cli> ${PROJECT_BINARY_DIR})
  set_tests_properties(test_cli_addr2line PROPERTIES TIMEOUT 300)
  # The differential matrix against llvm-symbolizer (quick: gcc and clang
  # at -O0/-O2, DWARF 4/5, PIE/non-PIE, split and compressed variants);
  # any disagreement outside the explained classes fails.
  add_test(NAME test_symbolize_diff
    COMMAND python3 ${CMAKE_CURRENT_SOURCE_DIR}/diff/symbolize_diff.py
            --tool "$<TARGET_FILE:faststack_cli> symbolize"
            --work ${CMAKE_CURRENT_BINARY_DIR}/symbolize_diff --quick
            --max-unexplained 0 --examples 10)
  set_tests_properties(test_symbolize_diff PROPERTIES TIMEOUT 900)
endif()

# The radix sort behind the symbol table and the function ranges.
fs_add_test(test_sort SOURCES test_sort.c)

# Debug information as distributions ship it (dwz, MiniDebugInfo, split
# DWARF, relocatable objects, data symbols, fallbacks, other hosts,
# debuginfod): every answer equal to the plain -g build's (or to
# llvm-symbolizer's where the code differs). A tool an item needs that is
# missing skips that item (exit 77).
if(FASTSTACK_BUILD_TOOLS)
  foreach(item dwz split minidebuginfo fallback budget rel data hosts
               debuginfod)
    add_test(NAME test_debuginfo_${item}
      COMMAND python3 ${CMAKE_CURRENT_SOURCE_DIR}/debuginfo/variants.py
              $<TARGET_FILE:faststack_cli>
              ${CMAKE_CURRENT_SOURCE_DIR}/dwarf_fixture
              ${CMAKE_CURRENT_BINARY_DIR}/debuginfo ${item})
    set_tests_properties(test_debuginfo_${item} PROPERTIES
      LABELS no-asan TIMEOUT 600 SKIP_RETURN_CODE 77)
  endforeach()
endif()
