# Profiles: zlib for gzip'd pprof output; Go's pprof to check it.
demo_pkgs+=(zlib1g-dev)
check_pkgs+=(zlib1g-dev golang-go)
bench_pkgs+=(zlib1g-dev)
