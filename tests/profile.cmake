# Profiles: stack table, pprof and folded writers, CPU profiler.
fs_add_test(test_stacktable SOURCES test_stacktable.c
            COPTS -O1 -fno-omit-frame-pointer -fno-optimize-sibling-calls
            LIBS -rdynamic Threads::Threads)

# The written profile must be accepted by Go's pprof (golang-go): -raw
# parses every message, -top must show the two stacks' leaf functions.
fs_find_peer(FS_GO PROGRAM go golang-go)
if(FS_GO)
  add_test(NAME test_pprof_go
    COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/pprof_go.sh
            $<TARGET_FILE:test_stacktable> ${FS_GO})
  set_tests_properties(test_pprof_go PROPERTIES TIMEOUT 180)
else()
  fs_skip_tests("go (golang-go) not found" test_pprof_go test_profile_cli)
endif()

# The CPU profiler end to end: `faststack profile` on an unmodified
# program (tests/prof_target.c), checked with go tool pprof.
add_executable(prof_target prof_target.c)
target_compile_options(prof_target PRIVATE -O1 -fno-omit-frame-pointer
                       -fno-inline)
target_link_libraries(prof_target PRIVATE Threads::Threads)
if(FS_GO AND TARGET faststack_cli)
  add_test(NAME test_profile_cli
    COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/profile_cli.sh
            $<TARGET_FILE:faststack_cli> $<TARGET_FILE:prof_target> ${FS_GO})
  set_tests_properties(test_profile_cli PROPERTIES TIMEOUT 240)
endif()

# C++ names in profiles: two template instances stay apart in pprof -top.
find_program(FS_T_CXX g++)
if(FS_GO AND FS_T_CXX)
  add_test(NAME test_pprof_cxx
    COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/pprof_cxx.sh ${FS_T_CXX}
            ${PROJECT_SOURCE_DIR}/include $<TARGET_FILE:faststack_static>
            "${FASTSTACK_STATIC_LINK_FLAGS}" ${FS_GO})
  set_tests_properties(test_pprof_cxx PROPERTIES TIMEOUT 180 LABELS no-asan)
endif()
# The profiler in process, on every platform tier (no preload).
fs_add_test(test_profiler SOURCES test_profiler.c
            COPTS -O1 -fno-omit-frame-pointer -fno-optimize-sibling-calls
            LIBS -rdynamic Threads::Threads)
