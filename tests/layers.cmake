# The layering of src/ (scripts/layers.py): no stage uses a later stage, no
# cycle between files, and tools/ uses only the public API — read from the
# built objects' symbol tables.
find_package(Python3 COMPONENTS Interpreter REQUIRED)
add_test(NAME test_layers
  COMMAND ${Python3_EXECUTABLE} ${PROJECT_SOURCE_DIR}/scripts/layers.py
          ${PROJECT_BINARY_DIR})
set_tests_properties(test_layers PROPERTIES TIMEOUT 60)
