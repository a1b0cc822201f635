#!/usr/bin/env python3
"""Differential test of `faststack symbolize` against llvm-symbolizer.

Generates a corpus of C and C++ programs (static inline helpers,
always_inline chains, templates, lambdas, recursion, functions in headers,
many compile units), builds it over a matrix of compilers, optimization
levels, DWARF versions and PIE/non-PIE, plus a shared library, split debug
info (debuglink and build-id directory) and zlib/zstd-compressed sections.
For thousands of addresses per binary (function entries, call sites,
mid-function and inlined-body addresses) it compares the frames of
`faststack symbolize -f -i -C` with llvm-symbolizer's (function, file and
line of every frame, inline frames included) and prints the agreement per
configuration.

The oracle for a split or compressed variant is llvm-symbolizer on the
same program before splitting/compressing: those transformations must not
change any answer (and llvm-symbolizer 14 cannot read zstd sections).

Usage: symbolize_diff.py --tool CMD --work DIR [--min PCT] [--quick]
       CMD is the symbolizer under test, e.g. "build/tools/faststack
       symbolize" (or "addr2line" to check the harness itself).
"""
import argparse
import os
import random
import re
import shutil
import subprocess
import sys
import zlib

HEADER = r'''
#ifndef CORPUS_H
#define CORPUS_H
static inline __attribute__((always_inline)) int hdr_mix(int a, int b)
{
  int r = a * 31 + b;
  r ^= r >> 3;
  return r;
}
static inline __attribute__((always_inline)) int hdr_chain(int a)
{
  int t = hdr_mix(a, 7);
  t += hdr_mix(t, a);
  return t;
}
int corpus_sink(int v);
#endif
'''

def c_unit(i, n):
    fns = []
    for k in range(n):
        name = f"u{i}_f{k}"
        fns.append(f'''
static inline int {name}_helper(int x)
{{
  int y = x * {k + 3};
  y = hdr_chain(y);
  return y - {i};
}}

__attribute__((noinline)) int {name}(int x)
{{
  int acc = 0;
  for (int j = 0; j < (x & 7); j++)
    acc += {name}_helper(x + j);
  if (x > {1000 + k})
    return corpus_sink(acc);
  return acc + hdr_mix(acc, x);
}}
''')
    rec = f'''
__attribute__((noinline)) int u{i}_rec(int n)
{{
  if (n <= 0)
    return corpus_sink(n);
  return u{i}_rec(n - 1) + 1;
}}
'''
    calls = "\n".join(f"  s += u{i}_f{k}(x + {k});" for k in range(n))
    drv = f'''
__attribute__((noinline)) int u{i}_drive(int x)
{{
  int s = u{i}_rec(x & 3);
{calls}
  return s;
}}
'''
    return '#include "corpus.h"\n' + "".join(fns) + rec + drv

CPP_UNIT = r'''
#include <algorithm>
#include <functional>
#include <vector>
extern "C" int corpus_sink(int v);

namespace corpus {
template <typename T> struct Box {
  T v;
  __attribute__((noinline)) T get(int k) const { return v * k + corpus_sink(k); }
  T twice(int k) const { return get(k) + get(k + 1); }
};

template <typename T> __attribute__((noinline)) T sum(const std::vector<T> &xs)
{
  T s{};
  std::for_each(xs.begin(), xs.end(), [&](const T &x) { s += x * 3; });
  return s;
}

__attribute__((noinline)) int apply(std::function<int(int)> f, int x)
{
  return f(x) + f(x + 1);
}
} // namespace corpus

extern "C" __attribute__((noinline)) int cpp_drive(int x)
{
  corpus::Box<int> b{x};
  corpus::Box<double> d{x * 0.5};
  std::vector<int> xs(8, x);
  std::vector<long> ys(4, x);
  int r = b.twice(x) + (int)d.twice(x) + corpus::sum(xs) + (int)corpus::sum(ys);
  r += corpus::apply([x](int y) { return y * x + corpus_sink(y); }, x);
  std::sort(xs.begin(), xs.end(), [](int a, int c) { return a > c; });
  return r + xs[0];
}
'''

MAIN = r'''
#include <stdio.h>
int corpus_sink(int v) { volatile int s = v; return s; }
%s
extern int cpp_drive(int);
extern int lib_entry(int);
int main(int argc, char **argv)
{
  (void)argv;
  int s = 0;
%s
  s += cpp_drive(argc);
  s += lib_entry(argc);
  printf("%%d\n", s);
  return 0;
}
'''

LIB = r'''
#include "corpus.h"
static inline int lib_helper(int x) { return hdr_chain(x) + 1; }
__attribute__((noinline)) int lib_work(int x)
{
  int s = 0;
  for (int i = 0; i < x; i++) s += lib_helper(i);
  return corpus_sink(s);
}
__attribute__((visibility("default"))) int lib_entry(int x)
{
  return lib_work(x) + hdr_mix(x, 3);
}
'''

def run(cmd, **kw):
    return subprocess.run(cmd, check=True, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, text=True, **kw)

def write_sources(src, units, per_unit):
    os.makedirs(src, exist_ok=True)
    with open(os.path.join(src, "corpus.h"), "w") as f:
        f.write(HEADER)
    for i in range(units):
        with open(os.path.join(src, f"unit{i}.c"), "w") as f:
            f.write(c_unit(i, per_unit))
    with open(os.path.join(src, "cpp_unit.cc"), "w") as f:
        f.write(CPP_UNIT)
    with open(os.path.join(src, "lib.c"), "w") as f:
        f.write(LIB)
    decls = "\n".join(f"int u{i}_drive(int);" for i in range(units))
    calls = "\n".join(f"  s += u{i}_drive(argc);" for i in range(units))
    with open(os.path.join(src, "main.c"), "w") as f:
        f.write(MAIN % (decls, calls))

def build(src, out, cc, cxx, opt, dwarf, pie, units):
    os.makedirs(out, exist_ok=True)
    flags = [opt, f"-gdwarf-{dwarf}", "-fno-omit-frame-pointer"]
    pic = ["-fPIE"] if pie else ["-fno-pie"]
    link = ["-pie"] if pie else ["-no-pie"]
    objs = []
    for name in [f"unit{i}.c" for i in range(units)] + ["main.c"]:
        o = os.path.join(out, name + ".o")
        run([cc, "-c", *flags, *pic, "-I", src, os.path.join(src, name), "-o", o])
        objs.append(o)
    o = os.path.join(out, "cpp_unit.o")
    run([cxx, "-c", *flags, *pic, os.path.join(src, "cpp_unit.cc"), "-o", o])
    objs.append(o)
    lib = os.path.join(out, "libcorpus.so")
    run([cc, "-shared", "-fPIC", *flags, "-I", src, os.path.join(src, "lib.c"),
         "-Wl,--build-id", "-o", lib])
    exe = os.path.join(out, "prog")
    run([cxx, *link, *objs, "-Wl,--build-id", "-L", out, "-lcorpus",
         f"-Wl,-rpath,{out}", "-o", exe])
    return exe, lib

def text_ranges(binary):
    """(start, end) of every function symbol with a size, in .text."""
    out = run(["nm", "-S", "--defined-only", binary]).stdout
    r = []
    for line in out.splitlines():
        p = line.split()
        if len(p) >= 4 and p[2] in ("T", "t", "W", "w"):
            start, size = int(p[0], 16), int(p[1], 16)
            if size:
                r.append((start, start + size))
    return sorted(set(r))

def pick_addresses(binary, limit, seed):
    """Function entries, call sites (the call instruction: a return
    address minus one) and a sample of every other instruction."""
    rnd = random.Random(seed)
    ranges = text_ranges(binary)
    dis = run(["objdump", "-d", "--no-show-raw-insn", binary]).stdout
    insns, calls = [], []
    for line in dis.splitlines():
        m = re.match(r"\s*([0-9a-f]+):\s+(\S+)", line)
        if not m:
            continue
        a = int(m.group(1), 16)
        if not any(lo <= a < hi for lo, hi in ranges[:0]):
            pass
        insns.append(a)
        if m.group(2).startswith("call"):
            calls.append(a)
    inside = [a for a in insns if any(lo <= a < hi for lo, hi in
                                      ranges_for(ranges, a))]
    chosen = set(lo for lo, _ in ranges)
    chosen.update(calls)
    rest = [a for a in inside if a not in chosen]
    rnd.shuffle(rest)
    chosen.update(rest[:max(0, limit - len(chosen))])
    return sorted(chosen)[:limit]

def ranges_for(ranges, a):
    # binary search helper: the range that may contain a
    import bisect
    i = bisect.bisect_right(ranges, (a, float("inf"))) - 1
    return [ranges[i]] if i >= 0 else []

def parse_gnu(text, n):
    """addr2line -f -i output with -a: blocks start with 0x address lines."""
    res, cur = [], None
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        l = lines[i]
        if re.fullmatch(r"0x[0-9a-f]+", l):
            cur = []
            res.append(cur)
            i += 1
            continue
        func = l
        loc = lines[i + 1] if i + 1 < len(lines) else "??:0"
        loc = re.sub(r" \(discriminator \d+\)$", "", loc)
        file, _, line = loc.rpartition(":")
        cur.append((func, file, line))
        i += 2
    return res

def parse_llvm(text):
    """llvm-symbolizer --output-style=GNU -f -i -a: same layout."""
    return parse_gnu(text, 0)

LAMBDA_GNU = re.compile(r"\{lambda\(([^(){}]*)\)#\d+\}")
LAMBDA_LLVM = re.compile(r"'lambda\d*'\(")

def canon_func(func):
    """Demangler style is not a disagreement: GNU's demangler (libiberty,
    used by addr2line and faststack) writes a lambda as {lambda(int)#1},
    LLVM's as 'lambda'(int) and 'lambda0'(...) for the second one. Both
    become 'lambda'(int) here (see docs/symbolize-diff.md)."""
    func = LAMBDA_GNU.sub(lambda m: "'lambda'(" + m.group(1) + ")", func)
    return LAMBDA_LLVM.sub("'lambda'(", func)

def norm(frames):
    out = []
    for func, file, line in frames:
        func = canon_func(func)
        out.append((func, os.path.normpath(file) if file not in ("??", "") else "??",
                    line if line not in ("?", "") else "0"))
    return out

def gnu_demangle(blocks):
    """Demangles the oracle's (mangled) names with binutils' c++filt, the
    GNU demangler that addr2line -C and faststack use: which frame and
    which function is the question, not how two demanglers spell a
    template (LLVM's prints return types and spells some arguments
    differently)."""
    names = sorted({f for b in blocks for f, _, _ in b})
    if not names:
        return blocks
    p = subprocess.run(["c++filt"], input="\n".join(names) + "\n",
                       stdout=subprocess.PIPE, text=True)
    out = p.stdout.split("\n")
    table = dict(zip(names, out[:len(names)])) if len(out) > len(names) else {}
    return [[(table.get(f, f), fi, l) for f, fi, l in b] for b in blocks]

def symbolize(cmd, binary, addrs):
    inp = "".join("0x%x\n" % a for a in addrs)
    if cmd == "llvm":
        argv = ["llvm-symbolizer", "--obj=" + binary, "--output-style=GNU",
                "-f", "-i", "--no-demangle", "-a"]
    else:
        argv = cmd.split() + ["-e", binary, "-f", "-i", "-C", "-a"]
    p = subprocess.run(argv, input=inp, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, text=True)
    blocks = parse_gnu(p.stdout, len(addrs))
    if cmd == "llvm":
        blocks = gnu_demangle(blocks)
    return [norm(b) for b in blocks]

CLONE = re.compile(r"^(.*?)((\.(cold|part|isra|constprop|lto_priv)(\.\d+)?)+"
                   r"|( \[clone \.(cold|part|isra|constprop|lto_priv)(\.\d+)?\])+)$")

def classify(w, g):
    """Why the tool and llvm-symbolizer disagree, for the classes that are
    explained in docs/symbolize.md; None when unexplained."""
    # llvm-symbolizer names the physical frame from the symbol table, so
    # a compiler's clone or split-off part prints as foo.cold or
    # foo [clone .isra.0]; the tool, like addr2line, gives the function's
    # own (DWARF) name, foo.
    if len(w) == len(g) and w[:-1] == g[:-1]:
        m = CLONE.match(w[-1][0])
        if m and m.group(1) == g[-1][0] and w[-1][1:] == g[-1][1:]:
            return "clone-name"
    # llvm-symbolizer extends a size-0 symbol (_init, crtstuff's
    # __do_global_dtors_aux) to the next symbol, a guess; the tool and
    # addr2line say unknown.
    if g == [("??", "??", "0")] and len(w) == 1 and w[0][2] == "0":
        return "unsized-symbol"
    # A C++ name the DWARF records without a linkage name (g++'s inlined
    # lambda "operator()", a template instance "__invoke_impl<...>"):
    # llvm-symbolizer prints it bare, the tool qualifies it by its DWARF
    # scopes ("cpp_drive::{lambda…}::operator()", "std::__invoke_impl<...>").
    if len(w) == len(g) and w != g and all(
            wf[1:] == gf[1:] and (wf[0] == gf[0] or
                                  gf[0].endswith("::" + wf[0]))
            for wf, gf in zip(w, g)):
        return "scope-qualified"
    return None

def compare(tool, oracle_bin, test_bin, addrs, examples, label, classes):
    want = symbolize("llvm", oracle_bin, addrs)
    got = symbolize(tool, test_bin, addrs)
    if len(want) != len(addrs) or len(got) != len(addrs):
        print(f"  {label}: output count mismatch "
              f"(oracle {len(want)}, tool {len(got)}, addresses {len(addrs)})")
        return 0, 0, len(addrs)
    agree = explained = 0
    for a, w, g in zip(addrs, want, got):
        if w == g:
            agree += 1
            continue
        c = classify(w, g)
        classes[c or "unexplained"] = classes.get(c or "unexplained", 0) + 1
        if c:
            explained += 1
        elif len(examples) < 200:
            examples.append((label, a, w, g))
    return agree, explained, len(addrs)

def split_variants(exe, work):
    """The same program: stripped + .gnu_debuglink; stripped + build-id
    directory; zlib- and zstd-compressed debug sections."""
    v = {}
    d = os.path.join(work, "debuglink")
    os.makedirs(d, exist_ok=True)
    dbg = os.path.join(d, "prog.debug")
    stripped = os.path.join(d, "prog")
    run(["objcopy", "--only-keep-debug", exe, dbg])
    run(["objcopy", "--strip-debug", "--add-gnu-debuglink=" + dbg, exe, stripped])
    v["split-debuglink"] = stripped
    bid = re.search(r"Build ID: ([0-9a-f]+)", run(["readelf", "-n", exe]).stdout).group(1)
    root = os.path.join(work, "debugroot")
    bdir = os.path.join(root, ".build-id", bid[:2])
    os.makedirs(bdir, exist_ok=True)
    shutil.copy(dbg, os.path.join(bdir, bid[2:] + ".debug"))
    bexe = os.path.join(work, "buildid-prog")
    run(["objcopy", "--strip-debug", exe, bexe])
    v["split-build-id"] = bexe
    for kind in ("zlib", "zstd"):
        c = os.path.join(work, f"prog-{kind}")
        run(["objcopy", f"--compress-debug-sections={kind}", exe, c])
        v[f"compressed-{kind}"] = c
    return v, root

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--tool", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--min", type=float, default=0.0,
                    help="fail when any configuration agrees less (percent)")
    ap.add_argument("--quick", action="store_true", help="a smaller matrix")
    ap.add_argument("--pcs", type=int, default=2000)
    ap.add_argument("--only", default="", help="regex: configurations to run")
    ap.add_argument("--examples", type=int, default=20)
    ap.add_argument("--max-unexplained", type=int, default=1 << 30,
                    help="fail when more disagreements have no known class")
    a = ap.parse_args()
    shutil.rmtree(a.work, ignore_errors=True)
    src = os.path.join(a.work, "src")
    units = 4 if a.quick else 10
    write_sources(src, units, 6)
    compilers = [("gcc", "gcc", "g++"), ("clang", "clang", "clang++")]
    opts = ["-O0", "-O2"] if a.quick else ["-O0", "-O2", "-O3"]
    dwarfs = [4, 5]
    pies = [True, False]
    total_ok = total = 0
    worst = 100.0
    examples = []
    classes = {}
    total_expl = 0
    print(f"{'configuration':44s} {'agree':>7s} {'of':>6s} {'%':>8s} {'explained':>10s}")
    for cname, cc, cxx in compilers:
        for opt in opts:
            for dw in dwarfs:
                for pie in pies:
                    label = f"{cname} {opt} dwarf{dw} {'pie' if pie else 'nopie'}"
                    out = os.path.join(a.work, label.replace(" ", "_"))
                    exe, lib = build(src, out, cc, cxx, opt, dw, pie, units)
                    rows = [(label, exe, exe), (label + " libcorpus.so", lib, lib)]
                    if pie and dw == 5 and opt == "-O2":
                        variants, root = split_variants(exe, out)
                        os.environ["FASTSTACK_DEBUG_ROOT"] = root
                        for vname, vbin in variants.items():
                            rows.append((f"{label} {vname}", exe, vbin))
                    for lab, oracle, test in rows:
                        if a.only and not re.search(a.only, lab):
                            continue
                        addrs = pick_addresses(oracle, a.pcs,
                                               zlib.crc32(lab.encode()) & 0xffff)
                        ok, ex, n = compare(a.tool, oracle, test, addrs,
                                            examples, lab, classes)
                        total_expl += ex
                        pct = 100.0 * ok / n if n else 0.0
                        worst = min(worst, pct)
                        total_ok += ok
                        total += n
                        print(f"{lab:44s} {ok:7d} {n:6d} {pct:7.2f}% {ex:10d}",
                              flush=True)
    pct = 100.0 * total_ok / total if total else 0
    print(f"{'all':44s} {total_ok:7d} {total:6d} {pct:7.2f}% {total_expl:10d}")
    print("disagreements by class (docs/symbolize.md explains each):")
    for c, k in sorted(classes.items()):
        print(f"  {c:20s} {k:6d}")
    if examples:
        print("\nfirst unexplained disagreements (oracle vs tool):")
        for lab, addr, w, g in examples[:a.examples]:
            print(f"  {lab} 0x{addr:x}\n    llvm: {w}\n    tool: {g}")
    if worst < a.min:
        print(f"FAIL: worst configuration {worst:.2f}% < {a.min}%")
        return 1
    if classes.get("unexplained", 0) > a.max_unexplained:
        print(f"FAIL: {classes['unexplained']} unexplained disagreements "
              f"(allowed {a.max_unexplained})")
        return 1
    return 0

if __name__ == "__main__":
    sys.exit(main())
