# Debug information as distributions ship it: liblzma for MiniDebugInfo
# (.gnu_debugdata); the tools that make the test variants (dwz; dwp is in
# binutils; xz) and the debuginfod server the tests run on loopback
# (libdebuginfod itself is loaded at run time, never linked).
demo_pkgs+=(liblzma-dev)
check_pkgs+=(liblzma-dev xz-utils zstd dwz binutils llvm debuginfod libdebuginfod1)
bench_pkgs+=(liblzma-dev dwz binutils llvm)
