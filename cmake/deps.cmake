# Optional and later-stage external libraries. Each block appends to
# FASTSTACK_PRIVATE_LIBS / FASTSTACK_PC_EXTRA_LIBS and guards itself so the
# file can be extended by several areas without double-linking.

# zlib (Debian zlib1g-dev): gzip for pprof profiles. Linked by name, like
# libmd, so the exported static target stays relocatable.
if(NOT FASTSTACK_HAVE_ZLIB)
  find_library(FASTSTACK_LIBZ z)
  if(NOT FASTSTACK_LIBZ OR NOT EXISTS /usr/include/zlib.h)
    message(FATAL_ERROR "zlib1g-dev is missing: sudo apt-get install zlib1g-dev")
  endif()
  set(FASTSTACK_HAVE_ZLIB ON)
  list(APPEND FASTSTACK_PRIVATE_LIBS z)
  string(APPEND FASTSTACK_PC_EXTRA_LIBS " -lz")
endif()
