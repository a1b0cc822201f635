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

# Installed: name:arch as asked, a plain name for this machine's
# architecture (or "all": with multiarch, dpkg lists each architecture).
native=$(dpkg --print-architecture)
installed() {
  local want_arch=$native name=$1
  case "$1" in *:*) want_arch=${1##*:}; name=${1%:*} ;; esac
  dpkg-query -W -f='${Status} ${Architecture}\n' "$name" 2>/dev/null |
    grep -Eq "^install ok installed ($want_arch|all)\$"
}
missing=()
for p in "${want[@]}"; do
  installed "$p" || [[ " ${missing[*]} " == *" $p "* ]] || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

# Packages of another architecture (name:arch) need that architecture
# enabled in dpkg first (multiarch), then a fresh package list.
foreign=()
for p in "${missing[@]}"; do
  case "$p" in
    *:*) a=${p##*:}
         if [ "$a" != "$(dpkg --print-architecture)" ] &&
            ! dpkg --print-foreign-architectures | grep -qx "$a" &&
            [[ " ${foreign[*]} " != *" $a "* ]]; then
           foreign+=("$a")
         fi ;;
  esac
done

if [ "$(id -u)" -eq 0 ]; then
  echo "faststack: installing missing packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  for a in "${foreign[@]}"; do
    echo "faststack: enabling the $a architecture (dpkg --add-architecture $a)"
    dpkg --add-architecture "$a"
  done
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
else
  echo "faststack: missing Debian packages: ${missing[*]}" >&2
  for a in "${foreign[@]}"; do
    echo "they need the $a architecture:  sudo dpkg --add-architecture $a && sudo apt-get update" >&2
  done
  echo "install them with:  sudo apt-get install ${missing[*]}" >&2
  exit 1
fi
