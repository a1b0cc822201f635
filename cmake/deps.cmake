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

# libzstd (Debian libzstd-dev): SHF_COMPRESSED debug sections with zstd.
if(NOT FASTSTACK_HAVE_ZSTD)
  find_library(FASTSTACK_LIBZSTD zstd)
  if(NOT FASTSTACK_LIBZSTD OR NOT EXISTS /usr/include/zstd.h)
    message(FATAL_ERROR "libzstd-dev is missing: sudo apt-get install libzstd-dev")
  endif()
  set(FASTSTACK_HAVE_ZSTD ON)
  list(APPEND FASTSTACK_PRIVATE_LIBS zstd)
  string(APPEND FASTSTACK_PC_EXTRA_LIBS " -lzstd")
endif()

# libiberty (Debian libiberty-dev): the C++ demangler. Its callback form,
# cplus_demangle_v3_callback, allocates nothing. Static only (Debian ships
# no shared libiberty); the shared library keeps its symbols hidden with
# --exclude-libs (set in the top CMakeLists.txt).
if(NOT FASTSTACK_HAVE_IBERTY)
  find_library(FASTSTACK_LIBIBERTY iberty)
  if(NOT FASTSTACK_LIBIBERTY OR NOT EXISTS /usr/include/libiberty/demangle.h)
    message(FATAL_ERROR "libiberty-dev is missing: sudo apt-get install libiberty-dev")
  endif()
  set(FASTSTACK_HAVE_IBERTY ON)
  list(APPEND FASTSTACK_PRIVATE_LIBS iberty)
  string(APPEND FASTSTACK_PC_EXTRA_LIBS " -liberty")
endif()
