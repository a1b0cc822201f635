# Symbolize stage: zstd-compressed debug sections, the C++ demangler;
# peers and oracles for the differential tests and benchmarks.
demo_pkgs+=(zlib1g-dev libzstd-dev libiberty-dev)
check_pkgs+=(zlib1g-dev libzstd-dev libiberty-dev llvm binutils elfutils libc6-dbg)
bench_pkgs+=(zlib1g-dev libzstd-dev libiberty-dev llvm)
