# The layering of src/ (scripts/layers.py): no stage uses a later stage, no
# cycle between files, and tools/ uses only the public API — read from the
# built objects' symbol tables.
find_package(Python3 COMPONENTS Interpreter REQUIRED)
add_test(NAME test_layers
  COMMAND ${Python3_EXECUTABLE} ${PROJECT_SOURCE_DIR}/scripts/layers.py
          ${PROJECT_BINARY_DIR})
set_tests_properties(test_layers PROPERTIES TIMEOUT 60)

# The public header's signal-safety tags (scripts/as_tags.py): every
# FASTSTACK_API function's comment begins with exactly one of [AS-safe]
# and [not AS-safe], and states it nowhere else.
add_test(NAME test_as_tags
  COMMAND ${Python3_EXECUTABLE} ${PROJECT_SOURCE_DIR}/scripts/as_tags.py
          ${PROJECT_SOURCE_DIR}/include/faststack.h)
set_tests_properties(test_as_tags PROPERTIES TIMEOUT 60)

# One style (.clang-format): every C file but the DWARF fixtures, whose
# line numbers the DWARF tests check.
find_program(FS_CLANG_FORMAT NAMES clang-format-14 clang-format)
if(FS_CLANG_FORMAT)
  add_test(NAME test_style
    COMMAND bash ${PROJECT_SOURCE_DIR}/scripts/style.sh ${FS_CLANG_FORMAT})
  set_tests_properties(test_style PROPERTIES TIMEOUT 120
    WORKING_DIRECTORY ${PROJECT_SOURCE_DIR})
else()
  fs_peer_missing(clang-format clang-format)
  fs_skip_tests("clang-format not found" test_style)
endif()

# What the shared objects export: the preloads only their interposers,
# the library only faststack_*.
if(TARGET faststack_preload AND TARGET faststack_preload_profile)
  add_test(NAME test_preload_exports
    COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/preload_exports.sh
            $<TARGET_FILE:faststack_preload>
            $<TARGET_FILE:faststack_preload_profile> $<TARGET_FILE:faststack>)
  set_tests_properties(test_preload_exports PROPERTIES TIMEOUT 60)
endif()
