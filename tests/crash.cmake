# The crash handler, thread dumps and `faststack run`. Each case
# of crash_cases.c (and crash_plain.c under `faststack run`) runs as a
# subprocess of crash_driver.py, which checks the report, the faulting
# function and line and the call chain (addr2line on the raw frames, and
# the in-process names when the lookup table is on), the signal the
# process died by, and that it ended in time.
set(FS_CRASH_OPTS -O1 -g -fno-omit-frame-pointer -mno-omit-leaf-frame-pointer
    -fno-optimize-sibling-calls -fno-inline)
add_library(crashlib SHARED crash_lib.c)
target_compile_options(crashlib PRIVATE ${FS_CRASH_OPTS})
add_executable(crash_cases crash_cases.c)
target_compile_options(crash_cases PRIVATE ${FS_CRASH_OPTS})
target_compile_definitions(crash_cases PRIVATE _GNU_SOURCE
  CRASH_LIB="$<TARGET_FILE:crashlib>")
target_link_libraries(crash_cases PRIVATE faststack_static Threads::Threads
                      ${CMAKE_DL_LIBS})
add_dependencies(crash_cases crashlib)
# Not linked with faststack: the `faststack run` case.
add_executable(crash_plain crash_plain.c)
target_compile_options(crash_plain PRIVATE ${FS_CRASH_OPTS})
target_link_libraries(crash_plain PRIVATE Threads::Threads)

# The unwinder's reach into frameless libc code (abort, strlen, qsort...)
# is the CFI unwinder's: with it in the tree those chain checks are
# strict; without it they are reported as XFAIL (needs CFI), never dropped.
file(GLOB FS_CRASH_CFI_SOURCES ${PROJECT_SOURCE_DIR}/src/cfi.c
     ${PROJECT_SOURCE_DIR}/src/unwind_cfi*.c)
if(FS_CRASH_CFI_SOURCES)
  set(FS_CRASH_CFI 1)
else()
  set(FS_CRASH_CFI 0)
endif()

find_package(Python3 COMPONENTS Interpreter)
if(Python3_FOUND AND TARGET faststack_cli)
  set(FS_CRASH_CASES null rodata overflow_main overflow_thread abort assert
      fpe trap sigbus strlen memcpy qsort double_free threads8 dlopen all50
      chain nested watchdog dump none output crash_core table color run
      run_overflow_thread run_dump)
  foreach(c ${FS_CRASH_CASES})
    add_test(NAME crash_${c}
      COMMAND ${Python3_EXECUTABLE} ${CMAKE_CURRENT_SOURCE_DIR}/crash_driver.py
              --case ${c} --cases $<TARGET_FILE:crash_cases>
              --plain $<TARGET_FILE:crash_plain>
              --faststack $<TARGET_FILE:faststack_cli>
              --lib $<TARGET_FILE:crashlib>
              --src ${CMAKE_CURRENT_SOURCE_DIR} --cfi ${FS_CRASH_CFI})
    # Sanitizers install their own fault handlers, which we chain to: the
    # process then ends with the sanitizer's exit code, not the signal.
    set_tests_properties(crash_${c} PROPERTIES TIMEOUT 30 LABELS "crash;no-asan")
  endforeach()
  # Five crashes in one case.
  set_tests_properties(crash_color PROPERTIES TIMEOUT 90)
  # In the sanitizer build: chaining to ASan's own handler.
  if(FASTSTACK_SANITIZE)
    add_test(NAME crash_asan_chain
      COMMAND ${Python3_EXECUTABLE} ${CMAKE_CURRENT_SOURCE_DIR}/crash_driver.py
              --case asan_chain --cases $<TARGET_FILE:crash_cases>
              --plain $<TARGET_FILE:crash_plain>
              --faststack $<TARGET_FILE:faststack_cli>
              --lib $<TARGET_FILE:crashlib>
              --src ${CMAKE_CURRENT_SOURCE_DIR} --cfi ${FS_CRASH_CFI})
    set_tests_properties(crash_asan_chain PROPERTIES TIMEOUT 60 LABELS crash)
  endif()
endif()

# The faststack command's polish: colour, usage errors, help texts.
if(TARGET faststack_cli)
  add_test(NAME test_cli_polish
    COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/cli_polish.sh
            $<TARGET_FILE:faststack_cli> $<TARGET_FILE:crash_plain>
            $<TARGET_FILE:prof_target>)
  set_tests_properties(test_cli_polish PROPERTIES TIMEOUT 120 LABELS no-asan)
endif()
