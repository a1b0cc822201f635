# Capture, module map, raw format, installation.
set(FS_FP_OPTS -O1 -fno-omit-frame-pointer -mno-omit-leaf-frame-pointer
    -fno-optimize-sibling-calls)
fs_add_test(test_capture SOURCES test_capture.c COPTS ${FS_FP_OPTS}
            LIBS -rdynamic Threads::Threads)
fs_add_test(test_signal SOURCES test_signal.c COPTS ${FS_FP_OPTS}
            LIBS -rdynamic Threads::Threads)
fs_add_test(test_format_raw SOURCES test_format_raw.c)

add_library(modtest SHARED libmodtest.c)
fs_add_test(test_modules SOURCES test_modules.c LIBS -rdynamic ${CMAKE_DL_LIBS})
target_compile_definitions(test_modules PRIVATE
  MODTEST_LIB="$<TARGET_FILE:modtest>")
add_dependencies(test_modules modtest)

# Builds consumers against an installed tree (in the sanitizer build
# with the sanitizer flags, FS_TEST_CFLAGS, which its libraries need).
add_test(NAME test_install_consumer
  COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/install_consumer.sh
          ${PROJECT_BINARY_DIR} ${CMAKE_CURRENT_SOURCE_DIR}/consumer)
set_tests_properties(test_install_consumer PROPERTIES TIMEOUT 300)

# faststack as a CMake subproject (add_subdirectory and FetchContent):
# builds two copies of the library, hence the time.
add_test(NAME test_subproject_consumer
  COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/subproject_consumer.sh
          ${PROJECT_SOURCE_DIR})
# RUN_SERIAL: its compiles would starve the timed crash cases.
set_tests_properties(test_subproject_consumer PROPERTIES LABELS no-asan
                     TIMEOUT 900 RUN_SERIAL TRUE)
# The same frames by construction, from code without frame pointers: the
# walk's CFI steps alone (on aarch64 this is the cross-checked CFI test,
# libunwind's test_cfi needing an x86-64 libunwind).
# test_signal_nofp's faulting leaf saves no return address on aarch64: the
# walk from the ucontext takes it from the link register.
foreach(t capture signal)
  fs_add_test(test_${t}_nofp SOURCES test_${t}.c
              COPTS -O2 -fomit-frame-pointer -fno-optimize-sibling-calls
                    -DFS_TEST_NOFP=1
              LIBS -rdynamic Threads::Threads)
endforeach()
