# The README's measured figures are what bench/RESULTS.md (written by
# `make bench`) gives: scripts/bench_readme.py regenerates the section
# between its markers and this test fails when the README says anything
# else there (a figure typed or edited by hand).
find_package(Python3 COMPONENTS Interpreter REQUIRED)
add_test(NAME test_readme_measured
  COMMAND ${Python3_EXECUTABLE} ${PROJECT_SOURCE_DIR}/scripts/bench_readme.py
          --check ${PROJECT_SOURCE_DIR}/bench/RESULTS.md
          ${PROJECT_SOURCE_DIR}/README.md)
set_tests_properties(test_readme_measured PROPERTIES TIMEOUT 60)
