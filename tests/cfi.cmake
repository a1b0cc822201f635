# The CFI unwinder against libunwind's unw_backtrace, on code
# without frame pointers: gcc -O2, gcc -O3 and clang -O2 (the same three
# tests whichever compiler builds the suite).
set(FS_CFI_TESTS test_cfi_O2 test_cfi_O3 test_cfi_clang_O2)
fs_find_peer(FS_T_UNWIND LIBRARY unwind libunwind-dev)
fs_find_peer(FS_T_UNWIND_ARCH LIBRARY unwind-${CMAKE_SYSTEM_PROCESSOR}
             libunwind-dev)
fs_find_peer(FS_T_CLANG PROGRAM clang clang)
if(NOT FS_T_UNWIND OR NOT FS_T_UNWIND_ARCH)
  fs_skip_tests("libunwind (libunwind-dev) not found" ${FS_CFI_TESTS})
  return()
endif()
# Frames in another object, without frame pointers and with them.
add_library(cfitest_fp OBJECT libcfitest.c)
target_compile_options(cfitest_fp PRIVATE -O2 -fno-omit-frame-pointer)
target_compile_definitions(cfitest_fp PRIVATE cfitest_call=cfitest_call_fp)
set_target_properties(cfitest_fp PROPERTIES POSITION_INDEPENDENT_CODE ON)
add_library(cfitest SHARED libcfitest.c $<TARGET_OBJECTS:cfitest_fp>)
target_compile_options(cfitest PRIVATE -O2 -fomit-frame-pointer)
set(FS_CFI_LIBS cfitest ${FS_T_UNWIND} ${FS_T_UNWIND_ARCH} Threads::Threads)
fs_add_test(test_cfi_O2 SOURCES test_cfi.c
            COPTS -O2 -g -fomit-frame-pointer LIBS ${FS_CFI_LIBS})
fs_add_test(test_cfi_O3 SOURCES test_cfi.c
            COPTS -O3 -g -fomit-frame-pointer LIBS ${FS_CFI_LIBS})
if(CMAKE_C_COMPILER_ID STREQUAL "Clang")
  fs_add_test(test_cfi_clang_O2 SOURCES test_cfi.c
              COPTS -O2 -g -fomit-frame-pointer LIBS ${FS_CFI_LIBS})
elseif(FS_T_CLANG)
  # Compiled by clang, linked by the build's compiler. In the sanitizer
  # builds the object carries no instrumentation of its own; the library
  # and the runtime it links are the build's.
  # A cross build asks clang for the target's code.
  set(target "")
  if(CMAKE_CROSSCOMPILING)
    set(target --target=${CMAKE_LIBRARY_ARCHITECTURE})
  endif()
  set(obj ${CMAKE_CURRENT_BINARY_DIR}/test_cfi_clang.o)
  add_custom_command(OUTPUT ${obj}
    COMMAND ${FS_T_CLANG} ${target} -O2 -g -fomit-frame-pointer -D_GNU_SOURCE
            -I${PROJECT_SOURCE_DIR}/include -I${PROJECT_SOURCE_DIR}/src
            -I${CMAKE_CURRENT_SOURCE_DIR}
            -c ${CMAKE_CURRENT_SOURCE_DIR}/test_cfi.c -o ${obj}
    DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/test_cfi.c VERBATIM)
  add_executable(test_cfi_clang_O2 ${obj})
  set_target_properties(test_cfi_clang_O2 PROPERTIES LINKER_LANGUAGE C)
  target_link_libraries(test_cfi_clang_O2 PRIVATE faststack_static ${FS_CFI_LIBS})
  add_test(NAME test_cfi_clang_O2 COMMAND test_cfi_clang_O2)
  set_tests_properties(test_cfi_clang_O2 PROPERTIES TIMEOUT 120)
else()
  fs_skip_tests("clang not found" test_cfi_clang_O2)
endif()
