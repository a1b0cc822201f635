# Issue 4: source line provider and formats.
fs_add_test(test_annotate SOURCES test_annotate.c LIBS md Threads::Threads)
fs_add_test(test_format SOURCES test_format.c)
# The whole pipeline on a known program (symbolize, annotate, format).
fs_add_test(test_trace SOURCES test_trace.c
            COPTS -O1 -g -fno-omit-frame-pointer -mno-omit-leaf-frame-pointer
                  -fno-optimize-sibling-calls
            LIBS -rdynamic Threads::Threads)
