# Each lock-free structure hammered from several threads (tests/test_race.c),
# one test per structure: capture's rule cache, the symbolizer's PC cache,
# the stack table, the profiler's ring, the module snapshot, the one-call
# trace's cache, and the symbolizer's last error. Labelled tsan: the
# ThreadSanitizer tier (make check-tsan) runs them, where any data race
# fails the test.
# The program: frameless code (CFI steps through the rule cache), real
# frames (no inlining or tail calls, so the expected chains are exact),
# dynamic symbols for the function ranges the checks use.
add_executable(test_race test_race.c)
target_link_libraries(test_race PRIVATE faststack_static -rdynamic
                      ${CMAKE_DL_LIBS} Threads::Threads)
target_include_directories(test_race PRIVATE ${CMAKE_CURRENT_SOURCE_DIR}
                           ${PROJECT_SOURCE_DIR}/src)
target_compile_options(test_race PRIVATE -O2 -g -fomit-frame-pointer
                       -fno-optimize-sibling-calls -fno-inline)
target_compile_definitions(test_race PRIVATE _GNU_SOURCE
  MODTEST_LIB="$<TARGET_FILE:modtest>" MODTEST2_LIB="$<TARGET_FILE:modtest2>")
add_dependencies(test_race modtest modtest2)
add_dependencies(fs_tsan_tests test_race)
foreach(part rulecache pccache stacktable ring modules tracecache lasterror)
  add_test(NAME test_race_${part} COMMAND test_race ${part})
  set_tests_properties(test_race_${part} PROPERTIES LABELS tsan TIMEOUT 300)
endforeach()
