# Issue 4: source line provider and formats.
fs_add_test(test_annotate SOURCES test_annotate.c LIBS md Threads::Threads)
fs_add_test(test_format SOURCES test_format.c)
