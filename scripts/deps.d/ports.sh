# Other platforms (make check-aarch64, make check-musl): the aarch64 cross
# compilers (C, and C++ for the exception tests, whose programs run with
# the arm64 multiarch libstdc++6) and binutils, qemu-user to run the
# tests, the dependencies as arm64 multiarch packages (deps.sh enables the
# arm64 architecture for them), and musl-gcc.
check_pkgs+=(gcc-aarch64-linux-gnu libc6-dev-arm64-cross binutils-aarch64-linux-gnu
             qemu-user zlib1g-dev:arm64 libzstd-dev:arm64 libmd-dev:arm64
             libiberty-dev:arm64 liblzma-dev:arm64 libunwind-dev:arm64
             libdw-dev:arm64 g++-aarch64-linux-gnu libstdc++6:arm64
             libc6-dbg:arm64 musl-tools)
