# Issue 7: faststack_recover. Helpers are real frames (-fno-inline, no
# sibling calls) with dynamic symbols (-rdynamic) so the test can check the
# faulting function's PC range and the caller chain exactly.
fs_add_test(test_recover SOURCES test_recover.c
            COPTS -O1 -g -fno-inline -fno-omit-frame-pointer
                  -fno-optimize-sibling-calls
            LIBS -rdynamic Threads::Threads
            LABELS recover TIMEOUT 60)
