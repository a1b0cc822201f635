# Module lookup without _dl_find_object: the same tests with the
# dl_iterate_phdr snapshot forced (what musl and glibc before 2.35 use).
# (The targets are defined by the other area files; add_test resolves
# them at generation time.)
foreach(t test_capture test_signal test_modules test_symbolize test_recover)
  add_test(NAME ${t}_snapshot COMMAND ${t})
  set_tests_properties(${t}_snapshot PROPERTIES TIMEOUT 240
    ENVIRONMENT "FASTSTACK_MODULE_LOOKUP=snapshot;${FS_TEST_EMULATOR_ENV}")
endforeach()

# Static executables: the crash handler, capture and symbolization of the
# executable itself, linked with -static (glibc here; the musl tier links
# everything statically).
include(CheckCSourceCompiles)
set(CMAKE_REQUIRED_LINK_OPTIONS -static)
check_c_source_compiles("int main(void) { return 0; }" FS_T_CAN_STATIC)
unset(CMAKE_REQUIRED_LINK_OPTIONS)
# A static link leaves out .eh_frame_hdr unless asked: the nofp variant,
# walked by CFI alone, needs it.
if(FS_T_CAN_STATIC AND NOT FASTSTACK_SANITIZE)
  fs_add_test(test_static SOURCES test_static.c
              COPTS -O1 -g -fno-omit-frame-pointer -fno-optimize-sibling-calls
              -fno-inline LIBS -static LABELS no-asan)
  fs_add_test(test_static_nofp SOURCES test_static.c
              COPTS -O2 -g -fomit-frame-pointer -fno-optimize-sibling-calls
              -fno-inline LIBS -static -Wl,--eh-frame-hdr LABELS no-asan)
endif()

# aarch64 pointer authentication: the test functions sign their return
# addresses (pac-ret; qemu-user's default CPU implements it), which the
# walk must strip before it checks or stores them.
if(CMAKE_SYSTEM_PROCESSOR MATCHES "aarch64")
  foreach(t capture signal)
    fs_add_test(test_${t}_pac SOURCES test_${t}.c
                COPTS ${FS_FP_OPTS} -mbranch-protection=pac-ret+leaf
                LIBS -rdynamic Threads::Threads)
  endforeach()
  fs_add_test(test_capture_pac_nofp SOURCES test_capture.c
              COPTS -O2 -fomit-frame-pointer -fno-optimize-sibling-calls
              -mbranch-protection=pac-ret+leaf LIBS -rdynamic Threads::Threads)
endif()
