# The annotate stage: the source line provider and the formats.
set(FS_T_MD "")
if(FASTSTACK_WITH_LIBMD)
  set(FS_T_MD md)
endif()
fs_add_test(test_annotate SOURCES test_annotate.c LIBS ${FS_T_MD} Threads::Threads)
fs_add_test(test_format SOURCES test_format.c)
fs_add_test(test_names SOURCES test_names.c)
# The whole pipeline on a known program (symbolize, annotate, format).
fs_add_test(test_trace SOURCES test_trace.c
            COPTS -O1 -g -fno-omit-frame-pointer -mno-omit-leaf-frame-pointer
                  -fno-optimize-sibling-calls
            LIBS -rdynamic Threads::Threads)
# Stale sources end to end (clang MD5, gcc mtime): builds its own program.
add_test(NAME test_stale_e2e
  COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/stale_e2e.sh
          ${CMAKE_CURRENT_SOURCE_DIR} ${PROJECT_SOURCE_DIR}/include
          $<TARGET_FILE:faststack_static>
          "${FASTSTACK_STATIC_LINK_FLAGS}")
# Every JSON output against docs/faststack.schema.json (python3-jsonschema;
# skipped when it is not installed).
add_executable(json_outputs json_outputs.c)
target_compile_options(json_outputs PRIVATE -O1 -g -fno-inline
                       -fno-omit-frame-pointer)
target_link_libraries(json_outputs PRIVATE faststack_static)
if(TARGET faststack_cli)
  find_package(Python3 COMPONENTS Interpreter)
  add_test(NAME test_json_schema
    COMMAND ${Python3_EXECUTABLE} ${CMAKE_CURRENT_SOURCE_DIR}/json_schema.py
            ${PROJECT_SOURCE_DIR}/docs/faststack.schema.json
            $<TARGET_FILE:json_outputs> $<TARGET_FILE:faststack_cli>
            $<TARGET_FILE:crash_plain>)
  set_tests_properties(test_json_schema PROPERTIES SKIP_RETURN_CODE 77
                       TIMEOUT 120 LABELS no-asan)
endif()
# C++ names end to end (g++ and clang++): inlined lambdas named with their
# enclosing function, pruned names, filters.
add_test(NAME test_names_cxx
  COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/names_cxx.sh
          ${PROJECT_SOURCE_DIR}/include $<TARGET_FILE:faststack_static>
          "${FASTSTACK_STATIC_LINK_FLAGS}")
set_tests_properties(test_names_cxx PROPERTIES TIMEOUT 180 LABELS no-asan)
set_tests_properties(test_stale_e2e PROPERTIES TIMEOUT 120)
# Stale sources in every other place a source line is shown: `faststack
# symbolize --source -e FILE` (offline), raw lines with --format, and the
# crash handler reading the line at crash time.
if(TARGET faststack_cli)
  add_test(NAME test_stale_offline
    COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/stale_offline.sh
            $<TARGET_FILE:faststack_cli> ${CMAKE_CURRENT_SOURCE_DIR}
            ${PROJECT_SOURCE_DIR}/include $<TARGET_FILE:faststack_static>
            "${FASTSTACK_STATIC_LINK_FLAGS}")
  set_tests_properties(test_stale_offline PROPERTIES TIMEOUT 120)
endif()
fs_add_test(test_md5 SOURCES test_md5.c LIBS ${FS_T_MD})
