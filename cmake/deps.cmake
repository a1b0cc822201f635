# External libraries from Debian packages, found the CMake way
# (find_path/find_library: CMAKE_PREFIX_PATH, sysroots and toolchain files
# apply), never by a fixed path. Each is linked by name, so the exported
# static target stays relocatable, and named in faststack.pc: by its own
# .pc file in Requires.private when it has one, else in Libs.private.

# fs_require_lib(LIB HEADER PACKAGE [PCNAME]): LIB must be installed with
# HEADER (relative to an include directory), else configuration stops and
# names the Debian package to install.
function(fs_require_lib lib header package)
  string(TOUPPER ${lib} up)
  if(FASTSTACK_HAVE_${up})
    return()
  endif()
  find_library(FASTSTACK_LIB_${up} ${lib})
  find_path(FASTSTACK_INC_${up} ${header})
  if(NOT FASTSTACK_LIB_${up} OR NOT FASTSTACK_INC_${up})
    message(FATAL_ERROR "${package} is missing: sudo apt-get install ${package}")
  endif()
  set(FASTSTACK_HAVE_${up} ON PARENT_SCOPE)
  set(FASTSTACK_PRIVATE_LIBS ${FASTSTACK_PRIVATE_LIBS} ${lib} PARENT_SCOPE)
  set(FASTSTACK_DEP_INCLUDES ${FASTSTACK_DEP_INCLUDES} ${FASTSTACK_INC_${up}}
      PARENT_SCOPE)
  if(ARGC GREATER 3)
    set(FASTSTACK_PC_REQUIRES "${FASTSTACK_PC_REQUIRES} ${ARGV3}" PARENT_SCOPE)
  else()
    set(FASTSTACK_PC_EXTRA_LIBS "${FASTSTACK_PC_EXTRA_LIBS} -l${lib}"
        PARENT_SCOPE)
  endif()
endfunction()

# libmd: MD5 of source files (DWARF 5 line tables).
if(FASTSTACK_WITH_LIBMD)
  fs_require_lib(md md5.h libmd-dev libmd)
endif()
# zlib: gzip for pprof profiles, zlib-compressed debug sections.
if(FASTSTACK_WITH_ZLIB)
  fs_require_lib(z zlib.h zlib1g-dev zlib)
endif()
# libzstd: zstd-compressed debug sections.
if(FASTSTACK_WITH_ZSTD)
  fs_require_lib(zstd zstd.h libzstd-dev libzstd)
endif()
# libiberty: the C++ demangler (cplus_demangle_v3_callback allocates
# nothing). Static only in Debian, without a .pc file; the shared library
# keeps its symbols hidden with --exclude-libs (top CMakeLists.txt).
if(FASTSTACK_WITH_DEMANGLE)
  fs_require_lib(iberty libiberty/demangle.h libiberty-dev)
endif()
# liblzma: MiniDebugInfo (.gnu_debugdata, an xz-compressed ELF image).
if(FASTSTACK_WITH_LZMA)
  fs_require_lib(lzma lzma.h liblzma-dev liblzma)
endif()
