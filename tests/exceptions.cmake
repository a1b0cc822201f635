# C++ exceptions (src/sinks/exceptions.c, cxxhooks.c, terminate.c). The
# C++ programs are built with each C++ compiler found (g++, clang++: both
# use libstdc++'s runtime), outside CMake's languages like the DWARF
# fixtures: the project stays C. exc_driver.py runs them and checks the
# recorded throw sites against the THROW:/SITE: markers in the sources;
# a compiler that is missing makes its test skip (exit 77).
separate_arguments(FS_EXC_LIBS UNIX_COMMAND "${FASTSTACK_STATIC_LINK_FLAGS}")
set(FS_EXC_OPTS -O1 -g -fno-omit-frame-pointer -fno-optimize-sibling-calls)
find_package(Python3 COMPONENTS Interpreter)
include(CheckSymbolExists)
check_symbol_exists(__GLIBC__ features.h FS_EXC_GLIBC)
foreach(cxx g++ clang++)
  string(REPLACE "+" "p" tag ${cxx})
  # FS_EXC_CXX_<tag>: the compiler and the flags that pick the target.
  # Another C library (musl-gcc) has no C++ compiler here (libstdc++ is
  # built for glibc), and the test skips. A cross build for glibc uses the
  # cross g++ (g++-<triplet>, whose libstdc++ the target's multiarch
  # libstdc++6 matches at run time) and asks clang++ for the target's code,
  # which then takes the cross g++'s headers and libraries.
  set(target "")
  if(NOT FS_EXC_GLIBC)
    set(FS_EXC_${tag} "")
  elseif(cxx STREQUAL "g++" AND CMAKE_CROSSCOMPILING)
    fs_find_peer(FS_EXC_${tag} PROGRAM ${CMAKE_LIBRARY_ARCHITECTURE}-g++
                 g++-${CMAKE_LIBRARY_ARCHITECTURE})
  elseif(cxx STREQUAL "g++")
    fs_find_peer(FS_EXC_${tag} PROGRAM ${cxx} g++)
  else()
    fs_find_peer(FS_EXC_${tag} PROGRAM ${cxx} clang)
    if(CMAKE_CROSSCOMPILING)
      set(target --target=${CMAKE_LIBRARY_ARCHITECTURE})
    endif()
  endif()
  set(FS_EXC_CXX_${tag} ${FS_EXC_${tag}} ${target})
  set(dir ${CMAKE_CURRENT_BINARY_DIR}/exc_${tag})
  set(cases ${dir}/exc_cases)
  set(plain ${dir}/exc_plain)
  set(lib ${dir}/libexc_lib.so)
  # Not in the sanitizer build: its runtime intercepts __cxa_throw itself
  # and ends an aborting process with its own exit code (the tests would
  # skip there anyway: no-asan).
  if(FS_EXC_${tag} AND NOT FASTSTACK_SANITIZE)
    add_custom_command(OUTPUT ${lib}
      COMMAND ${CMAKE_COMMAND} -E make_directory ${dir}
      COMMAND ${FS_EXC_CXX_${tag}} ${FS_EXC_OPTS} -fPIC -shared
              ${CMAKE_CURRENT_SOURCE_DIR}/exc_lib.cpp -o ${lib}
      DEPENDS exc_lib.cpp VERBATIM)
    add_custom_command(OUTPUT ${cases}
      COMMAND ${FS_EXC_CXX_${tag}} ${FS_EXC_OPTS}
              -I${PROJECT_SOURCE_DIR}/include
              ${CMAKE_CURRENT_SOURCE_DIR}/exc_cases.cpp -o ${cases}
              $<TARGET_FILE:faststack_static> ${lib} -Wl,-rpath,${dir}
              ${FS_EXC_LIBS}
      DEPENDS exc_cases.cpp ${lib} faststack_static
              ${PROJECT_SOURCE_DIR}/include/faststack.h VERBATIM)
    add_custom_command(OUTPUT ${plain}
      COMMAND ${FS_EXC_CXX_${tag}} ${FS_EXC_OPTS} -pthread
              ${CMAKE_CURRENT_SOURCE_DIR}/exc_plain.cpp -o ${plain}
      DEPENDS exc_plain.cpp VERBATIM)
    add_custom_command(OUTPUT ${dir}/exc_static
      COMMAND ${FS_EXC_CXX_${tag}} ${FS_EXC_OPTS} -static-libstdc++
              -I${PROJECT_SOURCE_DIR}/include
              ${CMAKE_CURRENT_SOURCE_DIR}/exc_static.cpp -o ${dir}/exc_static
              $<TARGET_FILE:faststack_static> ${FS_EXC_LIBS}
      DEPENDS exc_static.cpp faststack_static VERBATIM)
    add_custom_command(OUTPUT ${dir}/exc_nothrow_shared
      COMMAND ${FS_EXC_CXX_${tag}} ${FS_EXC_OPTS}
              -I${PROJECT_SOURCE_DIR}/include
              ${CMAKE_CURRENT_SOURCE_DIR}/exc_nothrow.cpp
              -o ${dir}/exc_nothrow_shared $<TARGET_FILE:faststack>
              -Wl,-rpath,$<TARGET_FILE_DIR:faststack>
      DEPENDS exc_nothrow.cpp faststack VERBATIM)
    add_custom_command(OUTPUT ${dir}/exc_nothrow_static
      COMMAND ${FS_EXC_CXX_${tag}} ${FS_EXC_OPTS}
              -I${PROJECT_SOURCE_DIR}/include
              -Wl,--undefined=__cxa_throw
              ${CMAKE_CURRENT_SOURCE_DIR}/exc_nothrow.cpp
              -o ${dir}/exc_nothrow_static $<TARGET_FILE:faststack_static>
              ${FS_EXC_LIBS}
      DEPENDS exc_nothrow.cpp faststack_static VERBATIM)
    add_custom_target(exc_programs_${tag} ALL
      DEPENDS ${cases} ${plain} ${dir}/exc_static ${dir}/exc_nothrow_shared
              ${dir}/exc_nothrow_static)
  endif()
  # exceptions_TAG: the programs on their own; exceptions_run_TAG: the
  # program without faststack under `faststack run`.
  if(Python3_FOUND AND TARGET faststack_cli)
    foreach(part main run)
      set(name exceptions_${tag})
      if(part STREQUAL "run")
        set(name exceptions_run_${tag})
      endif()
      add_test(NAME ${name}
        COMMAND ${Python3_EXECUTABLE} ${CMAKE_CURRENT_SOURCE_DIR}/exc_driver.py
                --part ${part} --cases ${cases} --plain ${plain}
                --faststack $<TARGET_FILE:faststack_cli>
                --src ${CMAKE_CURRENT_SOURCE_DIR})
      set_tests_properties(${name} PROPERTIES TIMEOUT 120
                           SKIP_RETURN_CODE 77 LABELS "exceptions;no-asan")
    endforeach()
  endif()
endforeach()
