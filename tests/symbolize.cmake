# Issue 3: the symbolizer on a live process (vDSO, glibc's debug file,
# dlopen, replaced files) and on corrupt files.
fs_add_test(test_symbolize SOURCES test_symbolize.c
            LIBS -rdynamic ${CMAKE_DL_LIBS} Threads::Threads)
target_compile_definitions(test_symbolize PRIVATE
  MODTEST_LIB="$<TARGET_FILE:modtest>")
add_dependencies(test_symbolize modtest)
# Allocation counting: nothing is allocated once warm. The sanitizers
# replace malloc themselves, so the sanitizer build skips it.
fs_add_test(test_noalloc SOURCES test_noalloc.c
            COPTS -O1 -g -fno-omit-frame-pointer -fno-optimize-sibling-calls
            LABELS no-asan)
