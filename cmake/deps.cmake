# External libraries from Debian packages. Each is linked by name (like
# libmd in the top CMakeLists.txt), so the exported static target stays
# relocatable, and added to faststack.pc's Libs.private.

# fs_require_lib(LIB HEADER PACKAGE): LIB must be installed with HEADER,
# else configuration stops and names the Debian package to install.
function(fs_require_lib lib header package)
  string(TOUPPER ${lib} up)
  if(FASTSTACK_HAVE_${up})
    return()
  endif()
  find_library(FASTSTACK_LIB_${up} ${lib})
  if(NOT FASTSTACK_LIB_${up} OR NOT EXISTS ${header})
    message(FATAL_ERROR "${package} is missing: sudo apt-get install ${package}")
  endif()
  set(FASTSTACK_HAVE_${up} ON PARENT_SCOPE)
  set(FASTSTACK_PRIVATE_LIBS ${FASTSTACK_PRIVATE_LIBS} ${lib} PARENT_SCOPE)
  set(FASTSTACK_PC_EXTRA_LIBS "${FASTSTACK_PC_EXTRA_LIBS} -l${lib}" PARENT_SCOPE)
endfunction()

# zlib: gzip for pprof profiles, zlib-compressed debug sections.
fs_require_lib(z /usr/include/zlib.h zlib1g-dev)
# libzstd: zstd-compressed debug sections.
fs_require_lib(zstd /usr/include/zstd.h libzstd-dev)
# libiberty: the C++ demangler (cplus_demangle_v3_callback allocates
# nothing). Static only in Debian; the shared library keeps its symbols
# hidden with --exclude-libs (top CMakeLists.txt).
fs_require_lib(iberty /usr/include/libiberty/demangle.h libiberty-dev)
# liblzma: MiniDebugInfo (.gnu_debugdata, an xz-compressed ELF image).
fs_require_lib(lzma /usr/include/lzma.h liblzma-dev)
