# Issue 3: the symbolizer on a live process (vDSO, glibc's debug file,
# dlopen, replaced files) and on corrupt files.
fs_add_test(test_symbolize SOURCES test_symbolize.c
            LIBS -rdynamic ${CMAKE_DL_LIBS})
target_compile_definitions(test_symbolize PRIVATE
  MODTEST_LIB="$<TARGET_FILE:modtest>")
add_dependencies(test_symbolize modtest)
