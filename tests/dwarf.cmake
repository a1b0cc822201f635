# Issue 3: DWARF reader. Fixtures are built with both compilers at every
# DWARF version/opt level we claim, uncompressed so the test's tiny ELF
# reader can hand sections over directly.
set(FS_DWARF_FIXTURES)
set(FX_DIR ${CMAKE_CURRENT_SOURCE_DIR}/dwarf_fixture)
foreach(cc gcc clang)
  find_program(FS_${cc}_PATH ${cc})
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
add_custom_target(dwarf_fixtures ALL DEPENDS ${FS_DWARF_FIXTURES})
fs_add_test(test_dwarf SOURCES test_dwarf.c ARGS ${FS_DWARF_FIXTURES}
            TIMEOUT 300)
add_dependencies(test_dwarf dwarf_fixtures)
