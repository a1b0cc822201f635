# bench_symbolize: libdw (elfutils) as an in-process peer; the offline
# peers addr2line (binutils), llvm-symbolizer (llvm), eu-addr2line.
bench_pkgs+=(libdw-dev elfutils llvm binutils python3)
