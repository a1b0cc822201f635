# Issue 8: stack table, pprof and folded writers, CPU profiler.
fs_add_test(test_stacktable SOURCES test_stacktable.c
            COPTS -O1 -fno-omit-frame-pointer -fno-optimize-sibling-calls
            LIBS -rdynamic Threads::Threads)

# The written profile must be accepted by Go's pprof (golang-go): -raw
# parses every message, -top must show the two stacks' leaf functions.
find_program(FS_GO go)
if(FS_GO)
  add_test(NAME test_pprof_go
    COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/pprof_go.sh
            $<TARGET_FILE:test_stacktable> ${FS_GO})
  set_tests_properties(test_pprof_go PROPERTIES TIMEOUT 180)
else()
  message(STATUS "go not found: pprof acceptance tests are skipped")
endif()
