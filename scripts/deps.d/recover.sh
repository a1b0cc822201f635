# Recovery: the http-recovery example is a libmicrohttpd server;
# its load benchmark drives it with wrk; its test uses python3 (urllib).
demo_pkgs+=(libmicrohttpd-dev pkg-config)
check_pkgs+=(libmicrohttpd-dev pkg-config python3)
bench_pkgs+=(libmicrohttpd-dev pkg-config wrk python3)
