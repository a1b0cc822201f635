# Cross-building for aarch64 Linux on an x86-64 Debian machine:
# gcc-aarch64-linux-gnu, the dependencies as :arm64 multiarch packages,
# and the tests run under qemu-user (CMAKE_CROSSCOMPILING_EMULATOR: ctest
# prefixes every test executable with it; the Python drivers read
# FASTSTACK_TEST_EMULATOR).
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)
set(CMAKE_C_COMPILER aarch64-linux-gnu-gcc)
set(CMAKE_LIBRARY_ARCHITECTURE aarch64-linux-gnu)
set(CMAKE_FIND_ROOT_PATH /usr/aarch64-linux-gnu /usr/lib/aarch64-linux-gnu)
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY BOTH)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE BOTH)
# The programs run with the arm64 multiarch loader and C library
# (libc6:arm64, which the :arm64 -dev packages bring): qemu's -L prefix is
# the root. With -L /usr/aarch64-linux-gnu (the cross toolchain's own
# libc6-arm64-cross) the loader comes from there but the loader's search
# falls through to /lib/aarch64-linux-gnu's C library, a different build:
# the two disagree on private structures and threads hang.
set(CMAKE_CROSSCOMPILING_EMULATOR qemu-aarch64;-L;/)
# pkg-config must see the arm64 .pc files only.
set(ENV{PKG_CONFIG_LIBDIR} /usr/lib/aarch64-linux-gnu/pkgconfig:/usr/share/pkgconfig)
set(ENV{PKG_CONFIG_PATH} "")
