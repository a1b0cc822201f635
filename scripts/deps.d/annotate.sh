# Annotate stage: MD5 of source files (DWARF 5 line tables).
demo_pkgs+=(libmd-dev)
check_pkgs+=(libmd-dev)
bench_pkgs+=(libmd-dev)
