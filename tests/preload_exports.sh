#!/bin/bash
# test_preload_exports: the preload objects of `faststack run` and
# `faststack profile` export exactly their interposers — no faststack_*
# copy, no libiberty (cplus_demangle_v3, java_demangle_v3, ...) — and the
# shared library exports only faststack_* and the C++ throw entry points
# it interposes (docs/exceptions.md).
set -u
fails=0
exports() { nm -D --defined-only "$1" | awk '{print $3}' | sort | tr '\n' ' '; }
want() {
  got=$(exports "$1")
  if [ "$got" = "$2" ]; then echo "ok: $(basename "$1"): $got"
  else echo "FAIL: $(basename "$1") exports: $got (want $2)"; fails=1; fi
}
want "$1" "_ZSt17rethrow_exceptionNSt15__exception_ptr13exception_ptrE __cxa_rethrow __cxa_throw dlopen pthread_create "
want "$2" "pthread_create "
other=$(nm -D --defined-only "$3" | awk '{print $3}' | grep -v '^faststack_' |
  grep -v -x -e __cxa_throw -e __cxa_rethrow \
    -e _ZSt17rethrow_exceptionNSt15__exception_ptr13exception_ptrE | tr '\n' ' ')
if [ -z "$other" ]; then echo "ok: libfaststack.so exports only faststack_*"
else echo "FAIL: libfaststack.so also exports: $other"; fails=1; fi
exit $fails
