# The DWARF reader. Fixtures are built with both compilers at every
# DWARF version/opt level we claim, uncompressed so the test's tiny ELF
# reader can hand sections over directly.
set(FS_DWARF_FIXTURES)
set(FX_DIR ${CMAKE_CURRENT_SOURCE_DIR}/dwarf_fixture)
# A compiler that is missing leaves its fixtures out (configuration fails
# instead under FASTSTACK_REQUIRE_PEERS).
foreach(cc gcc clang)
  fs_find_peer(FS_${cc}_PATH PROGRAM ${cc} ${cc})
  if(NOT FS_${cc}_PATH)
    continue()
  endif()
  foreach(opt O0 O2)
    foreach(ver 4 5)
      set(out ${CMAKE_CURRENT_BINARY_DIR}/fx_${cc}_${opt}_dwarf${ver})
      add_custom_command(OUTPUT ${out}
        COMMAND ${FS_${cc}_PATH} -${opt} -gdwarf-${ver} -gz=none -fno-pie -no-pie
                ${FX_DIR}/fx.c ${FX_DIR}/fx2.c -o ${out}
        DEPENDS ${FX_DIR}/fx.c ${FX_DIR}/fx2.c ${FX_DIR}/fx.h VERBATIM)
      list(APPEND FS_DWARF_FIXTURES ${out})
    endforeach()
  endforeach()
endforeach()
# C++: deep STL inline chains, long template names, linkage names.
set(FS_CXX_PKG_g++ g++)
set(FS_CXX_PKG_clang++ clang)
foreach(cxx g++ clang++)
  fs_find_peer(FS_CXX_${cxx} PROGRAM ${cxx} ${FS_CXX_PKG_${cxx}})
  if(NOT FS_CXX_${cxx})
    continue()
  endif()
  foreach(ver 4 5)
    string(REPLACE "+" "p" tag ${cxx})
    set(out ${CMAKE_CURRENT_BINARY_DIR}/cx_${tag}_O2_dwarf${ver})
    add_custom_command(OUTPUT ${out}
      COMMAND ${FS_CXX_${cxx}} -O2 -gdwarf-${ver} -gz=none ${FX_DIR}/cx.cpp -o ${out}
      DEPENDS ${FX_DIR}/cx.cpp VERBATIM)
    list(APPEND FS_DWARF_FIXTURES ${out})
  endforeach()
endforeach()
add_custom_target(dwarf_fixtures ALL DEPENDS ${FS_DWARF_FIXTURES})
fs_add_test(test_dwarf SOURCES test_dwarf.c ARGS ${FS_DWARF_FIXTURES}
            TIMEOUT 300)
add_dependencies(test_dwarf dwarf_fixtures)
