#!/usr/bin/env bash
# Installs the Debian packages a make target needs, when they are missing.
# As root it runs apt-get; otherwise it prints the exact command to run.
set -euo pipefail
target=${1:-demo}

demo_pkgs=(cmake make gcc libc6-dev binutils)
check_pkgs=("${demo_pkgs[@]}" pkg-config clang clang-format libclang-rt-14-dev llvm g++
            python3 libunwind-dev)
bench_pkgs=("${demo_pkgs[@]}" libunwind-dev)
# Later stages append to these lists in scripts/deps.d/*.sh
for f in "$(dirname "$0")"/deps.d/*.sh; do [ -e "$f" ] && . "$f"; done

case "$target" in
  demo) want=("${demo_pkgs[@]}") ;;
  check) want=("${check_pkgs[@]}") ;;
  bench) want=("${bench_pkgs[@]}") ;;
  *) echo "deps.sh: unknown target '$target'" >&2; exit 2 ;;
esac

missing=()
# One status line per installed architecture (a machine with a foreign
# architecture has two for multi-arch packages): the native one counts.
native=$(dpkg --print-architecture)
for p in "${want[@]}"; do
  st=$(dpkg-query -W -f='${Architecture} ${Status}\n' "$p" 2>/dev/null || true)
  grep -Eq "^($native|all) install ok installed$" <<<"$st" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -eq 0 ]; then
  echo "faststack: installing missing packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
else
  echo "faststack: missing Debian packages: ${missing[*]}" >&2
  echo "install them with:  sudo apt-get install ${missing[*]}" >&2
  exit 1
fi
