# The crash handler, thread dumps and `faststack run`. Each case
# of crash_cases.c (and crash_plain.c under `faststack run`) runs as a
# subprocess of crash_driver.py, which checks the report, the faulting
# function and line and the call chain (addr2line on the raw frames, and
# the in-process names when the lookup table is on), the signal the
# process died by, and that it ended in time.
set(FS_CRASH_OPTS -O1 -g -fno-omit-frame-pointer -mno-omit-leaf-frame-pointer
    -fno-optimize-sibling-calls -fno-inline)
# The cases fault on purpose (a NULL store, a division by zero, a stack
# overflow): in the sanitizer build their own code is not instrumented
# (UBSan would stop them before the CPU faults, ASan's stack redzones
# move the faulting instruction); the library they link is, and the
# sanitizer runtime is linked in.
if(FASTSTACK_SANITIZE)
  list(APPEND FS_CRASH_OPTS -fno-sanitize=all)
endif()
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

find_package(Python3 COMPONENTS Interpreter)
if(Python3_FOUND AND TARGET faststack_cli)
  set(FS_CRASH_CASES null rodata overflow_main overflow_thread abort assert
      fpe trap sigbus strlen memcpy qsort double_free threads8 dlopen all50
      chain nested watchdog dump none output crash_core table color run
      run_overflow_thread run_dump run_exec output_blocked output_epipe
      stderr_reuse chain_repair exit_race vfork smash_sp truncate_debug
      symbolize_flood early_strlen3 early_qsort_abort early_double_free
      early_threads6 early_overflow early_overflow_thread early_child
      early_shared early_static early_threads_loop run_signals
      run_supervisor run_json spawn_noexec)
  foreach(c ${FS_CRASH_CASES})
    add_test(NAME crash_${c}
      COMMAND ${Python3_EXECUTABLE} ${CMAKE_CURRENT_SOURCE_DIR}/crash_driver.py
              --case ${c} --cases $<TARGET_FILE:crash_cases>
              --plain $<TARGET_FILE:crash_plain>
              --faststack $<TARGET_FILE:faststack_cli>
              --lib $<TARGET_FILE:crashlib>
              --early $<TARGET_FILE:crash_early>
              --src ${CMAKE_CURRENT_SOURCE_DIR})
    # In the sanitizer build ASAN_OPTIONS leave the fatal signals to
    # faststack (tests/CMakeLists.txt); crash_asan_chain below is the case
    # where ASan's own handler comes first. 90 s: `make check-stress` runs
    # the racy cases in loops of at most 50 s; under an emulator, more.
    set_tests_properties(crash_${c} PROPERTIES TIMEOUT 90 LABELS crash)
    if(FS_TEST_EMULATOR_ENV)
      set_tests_properties(crash_${c} PROPERTIES TIMEOUT 240)
    endif()
  endforeach()
  # Five crashes in one case.
  set_tests_properties(crash_color PROPERTIES TIMEOUT 90)
  # 1,000 runs in `make check-stress` (each symbolized by the supervisor).
  set_tests_properties(crash_early_threads_loop PROPERTIES TIMEOUT 1500)
  # In the sanitizer build: chaining to ASan's own handler.
  if(FASTSTACK_SANITIZE)
    add_test(NAME crash_asan_chain
      COMMAND ${Python3_EXECUTABLE} ${CMAKE_CURRENT_SOURCE_DIR}/crash_driver.py
              --case asan_chain --cases $<TARGET_FILE:crash_cases>
              --plain $<TARGET_FILE:crash_plain>
              --faststack $<TARGET_FILE:faststack_cli>
              --lib $<TARGET_FILE:crashlib>
              --early $<TARGET_FILE:crash_early>
              --src ${CMAKE_CURRENT_SOURCE_DIR})
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
# dlclose while other threads resolve the unloaded library's PCs and the
# crash table's builder lists modules: nothing may fault.
add_library(racelib SHARED race_lib.c)
target_compile_options(racelib PRIVATE -O1 -fno-omit-frame-pointer)
fs_add_test(test_dlclose_race SOURCES test_dlclose_race.c
            LIBS Threads::Threads ${CMAKE_DL_LIBS}
            COPTS -fno-omit-frame-pointer
            LABELS crash TIMEOUT 60)
target_compile_definitions(test_dlclose_race PRIVATE
  RACE_LIB="$<TARGET_FILE:racelib>")
add_dependencies(test_dlclose_race racelib)

# A file the symbolizer has mapped is truncated in place: no SIGBUS, and
# answers right or unknown (the fixups of common/fixup.c).
fs_add_test(test_truncate SOURCES test_truncate.c COPTS -O1 -g -fno-inline
            LABELS crash TIMEOUT 60)
set_tests_properties(test_truncate PROPERTIES SKIP_RETURN_CODE 77)

# The crashes of a program's first millisecond (crash_early.c), built as
# programs are built: -O2 without frame pointers (the sanitizer build adds
# them everywhere: taken out again here). Linked with the static library,
# with the shared one, and not at all (under `faststack run`).
set(FS_EARLY_OPTS -O2 -g -fomit-frame-pointer)
if(FASTSTACK_SANITIZE)
  list(APPEND FS_EARLY_OPTS -fno-sanitize=all)
endif()
add_executable(crash_early crash_early.c)
target_compile_options(crash_early PRIVATE ${FS_EARLY_OPTS})
target_compile_definitions(crash_early PRIVATE _GNU_SOURCE LINKED)
target_link_libraries(crash_early PRIVATE faststack_static Threads::Threads)
# (Not where every program is linked statically: the musl tier.)
if(NOT CMAKE_EXE_LINKER_FLAGS MATCHES "-static")
  add_executable(crash_early_shared crash_early.c)
  target_compile_options(crash_early_shared PRIVATE ${FS_EARLY_OPTS})
  target_compile_definitions(crash_early_shared PRIVATE _GNU_SOURCE LINKED)
  target_link_libraries(crash_early_shared PRIVATE faststack Threads::Threads)
endif()
add_executable(crash_early_plain crash_early.c)
target_compile_options(crash_early_plain PRIVATE ${FS_EARLY_OPTS})
target_compile_definitions(crash_early_plain PRIVATE _GNU_SOURCE)
target_link_libraries(crash_early_plain PRIVATE Threads::Threads)
# Statically linked: `faststack run` cannot preload into it (it says so
# before running it), and with libfaststack.a linked in its own handler
# reports to `faststack run` or through itself. Not in the sanitizer
# builds (their runtimes are not linked statically); the linked one only
# where the static archives of the library's dependencies are installed.
if(NOT FASTSTACK_SANITIZE AND NOT FASTSTACK_TSAN)
  include(CheckCSourceCompiles)
  set(CMAKE_REQUIRED_LINK_OPTIONS -static)
  check_c_source_compiles("int main(void) { return 0; }" FS_HAVE_STATIC_LIBC)
  separate_arguments(FS_STATIC_LIBS UNIX_COMMAND
                     "${FASTSTACK_STATIC_LINK_FLAGS}")
  set(CMAKE_REQUIRED_LIBRARIES ${FS_STATIC_LIBS})
  check_c_source_compiles("int main(void) { return 0; }" FS_HAVE_STATIC_DEPS)
  unset(CMAKE_REQUIRED_LINK_OPTIONS)
  unset(CMAKE_REQUIRED_LIBRARIES)
  if(FS_HAVE_STATIC_LIBC)
    add_executable(crash_early_static crash_early.c)
    target_compile_options(crash_early_static PRIVATE ${FS_EARLY_OPTS})
    target_compile_definitions(crash_early_static PRIVATE _GNU_SOURCE)
    target_link_options(crash_early_static PRIVATE -static)
    target_link_libraries(crash_early_static PRIVATE Threads::Threads)
  endif()
  if(FS_HAVE_STATIC_LIBC AND FS_HAVE_STATIC_DEPS)
    add_executable(crash_early_static_linked crash_early.c)
    target_compile_options(crash_early_static_linked PRIVATE ${FS_EARLY_OPTS})
    target_compile_definitions(crash_early_static_linked PRIVATE _GNU_SOURCE
                               LINKED)
    target_link_options(crash_early_static_linked PRIVATE -static
                        -Wl,--eh-frame-hdr)
    # glibc warns at link time about dlopen and friends in a static
    # program (the library looks the C++ runtime up with them; a static
    # program without shared objects finds nothing, as it should): the
    # build stays warning-free.
    include(CheckLinkerFlag)
    check_linker_flag(C "-Wl,--no-warnings" FS_LD_NO_WARNINGS)
    if(FS_LD_NO_WARNINGS)
      target_link_options(crash_early_static_linked PRIVATE -Wl,--no-warnings)
    endif()
    target_link_libraries(crash_early_static_linked PRIVATE faststack_static
                          Threads::Threads)
  endif()
endif()
