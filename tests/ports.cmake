# Module lookup without _dl_find_object: the same tests with the
# dl_iterate_phdr snapshot forced (what musl and glibc before 2.35 use).
# (The targets are defined by the other area files; add_test resolves
# them at generation time.)
foreach(t test_capture test_signal test_modules test_symbolize test_recover)
  add_test(NAME ${t}_snapshot COMMAND ${t})
  set_tests_properties(${t}_snapshot PROPERTIES TIMEOUT 240
    ENVIRONMENT "FASTSTACK_MODULE_LOOKUP=snapshot;${FS_TEST_EMULATOR_ENV}")
endforeach()
