# The benchmarks' own checks, which run before any timing: bench_capture
# compares every faststack row's frames with libgcc's _Unwind_Backtrace
# on the stacks it times, bench_symbolize every PC's frames with
# libbacktrace's. Here at the smallest budget (`0`: one burst per row) or
# without timings (`--smoke`): in a cross build under the emulator,
# whose timings mean nothing, these checks are what the benchmarks are
# for. (bench/ is added before tests/, so its targets exist here.)
if(FASTSTACK_BUILD_BENCH)
  if(TARGET bench_capture)
    add_test(NAME bench_capture_check COMMAND bench_capture 0)
    set_tests_properties(bench_capture_check PROPERTIES TIMEOUT 300)
  else()
    fs_peer_missing("bench_capture's peers (libunwind, gcc's libbacktrace.a)"
                    libunwind-dev)
  endif()
  if(TARGET bench_symbolize)
    add_test(NAME bench_symbolize_check COMMAND bench_symbolize --smoke)
    set_tests_properties(bench_symbolize_check PROPERTIES TIMEOUT 300)
  else()
    fs_peer_missing("bench_symbolize's peers (libdw, gcc's libbacktrace.a)"
                    libdw-dev)
  endif()
endif()
