# The annotate stage: the source line provider and the formats.
fs_add_test(test_annotate SOURCES test_annotate.c LIBS md Threads::Threads)
fs_add_test(test_format SOURCES test_format.c)
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
          "-lmd -lz -lzstd -llzma -liberty -ldl -lpthread")
set_tests_properties(test_stale_e2e PROPERTIES LABELS no-asan TIMEOUT 120)
