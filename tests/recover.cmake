# faststack_recover. Helpers are real frames (-fno-inline, no
# sibling calls) with dynamic symbols (-rdynamic) so the test can check the
# faulting function's PC range and the caller chain exactly.
fs_add_test(test_recover SOURCES test_recover.c
            COPTS -O1 -g -fno-inline -fno-omit-frame-pointer
                  -fno-optimize-sibling-calls
            LIBS -rdynamic Threads::Threads
            LABELS recover TIMEOUT 60)

# The http-recovery example end to end (when libmicrohttpd-dev is there):
# /panic answers 500 and logs the masked request and the faulting function
# and line, /abort too, /ok still answers 200, SIGTERM stops it cleanly.
find_package(Python3 COMPONENTS Interpreter)
if(NOT TARGET http-recovery AND FASTSTACK_BUILD_EXAMPLES)
  fs_peer_missing("libmicrohttpd (the http-recovery example)" libmicrohttpd-dev)
  fs_skip_tests("the http-recovery example needs libmicrohttpd-dev"
                recover_http_text recover_http_json)
elseif(TARGET http-recovery AND Python3_FOUND)
  # The server faults on purpose (a NULL member access): UBSan would stop
  # it before the CPU faults. The library it links stays sanitized.
  if(FASTSTACK_SANITIZE)
    target_compile_options(http-recovery PRIVATE -fno-sanitize=undefined)
  endif()
  foreach(fmt text json)
    add_test(NAME recover_http_${fmt}
      COMMAND ${Python3_EXECUTABLE} ${CMAKE_CURRENT_SOURCE_DIR}/recover_http.py
              --server $<TARGET_FILE:http-recovery>
              --src ${PROJECT_SOURCE_DIR}/examples/http-recovery/server.c
              --log ${fmt})
    set_tests_properties(recover_http_${fmt} PROPERTIES TIMEOUT 60
                         LABELS recover)
  endforeach()
endif()
