#!/usr/bin/env python3
"""bench_readme.py — the README's measured figures, from bench/RESULTS.md.

Reads the tables `make bench` wrote (scripts/bench.sh) and replaces the
part of README.md between the markers

    <!-- measured:begin -->   and   <!-- measured:end -->

with the headline figures computed from them (ranges over the depths
measured, ratios as the tables give them), with the date, commit and
machine of the run. Without a results file the section says so. The
figures are never typed by hand: edit the benchmarks, or this script.

Usage: bench_readme.py [--check] RESULTS.md README.md
  --check: change nothing; exit 1 when the README's section is not what
           the results file gives (a figure typed or edited by hand).
"""
import os
import re
import sys

BEGIN = "<!-- measured:begin -->"
END = "<!-- measured:end -->"


def tables(text):
    """{bench name: its verbatim output}."""
    out = {}
    for m in re.finditer(r"^## (bench_\w+)\n\n```\n(.*?)^```", text,
                         re.S | re.M):
        out[m.group(1)] = m.group(2)
    return out


def meta(text):
    rows = dict(re.findall(r"^\| ([^|]+?) \| (.*?) \|$", text, re.M))
    return rows


def rng(vals, fmt="{:.1f}"):
    """'a–b' over vals (one value when they round the same)."""
    lo, hi = fmt.format(min(vals)), fmt.format(max(vals))
    return lo if lo == hi else f"{lo}–{hi}"


def ns(v):
    return f"{v:,.0f}"


def capture(t):
    kinds = {"frame": "fp", "code without": "nofp", "through libc": "libc"}
    kind = None
    rows = {}
    objects = {}
    for line in t.splitlines():
        if line.startswith("== "):
            kind = next((k for p, k in kinds.items()
                         if line[3:].startswith(p)), None)
            continue
        m = re.match(r"^(\d+)\s+(faststack auto|faststack fp|faststack cfi|"
                     r"glibc backtrace\(\)|unw_backtrace\(\)|"
                     r"_Unwind_Backtrace\(\)|libbacktrace simple)\s+"
                     r"([\d.]+)\s+([\d.]+)\s+(\d+)\s+([\d.]+)x\s+(\S+)", line)
        if m and kind:
            rows.setdefault((kind, m.group(2)), []).append(
                (int(m.group(1)), float(m.group(4)), float(m.group(6))))
            objects[m.group(2)] = m.group(7)
    need = [("fp", "faststack auto"), ("nofp", "faststack auto"),
            ("fp", "unw_backtrace()"), ("nofp", "unw_backtrace()")]
    if any(k not in rows for k in need):
        return None
    per = lambda k, m: [r[1] for r in rows[(k, m)]]
    ratio = lambda k, m: [r[2] for r in rows[(k, m)]]
    depths = sorted({r[0] for r in rows[("fp", "faststack auto")]})
    s = (f"capture (`bench_capture`, warm, depths {depths[0]}–{depths[-1]}): "
         f"faststack {rng(per('fp', 'faststack auto'), '{:.2f}')} ns per "
         f"frame on frame-pointer code and "
         f"{rng(per('nofp', 'faststack auto'), '{:.2f}')} on "
         f"`-fomit-frame-pointer` code; libunwind's `unw_backtrace()` "
         f"({objects['unw_backtrace()']}) takes "
         f"{rng(ratio('fp', 'unw_backtrace()'))}× as long on frame-pointer "
         f"code and {rng(ratio('nofp', 'unw_backtrace()'))}× on frameless "
         f"code")
    if ("nofp", "glibc backtrace()") in rows:
        both = ratio("fp", "glibc backtrace()") + \
            ratio("nofp", "glibc backtrace()")
        s += (f", glibc's `backtrace()` ({objects['glibc backtrace()']}) "
              f"{rng(both, '{:.0f}')}×")
    return s + "."


def symbolize(t):
    inproc = {}
    for m in re.finditer(r"^(faststack|libbacktrace|libdw \(dwfl\))\s+"
                         r"([\d.]+) ms\s+([\d.]+) ms\s+(\d+) ns\s+([\d.]+)x\s+"
                         r"(\d+) ns (cache hit|lookup)", t, re.M):
        inproc[m.group(1)] = (float(m.group(4)), float(m.group(6)),
                              float(m.group(2)))
    offline = {}
    for m in re.finditer(r"^(faststack|addr2line|llvm-symbolizer|"
                         r"eu-addr2line)\s+([\d.]+) s\s+([\d.]+) MiB\s+"
                         r"([\d.]+)x", t, re.M):
        offline[m.group(1)] = (float(m.group(2)), float(m.group(3)),
                               float(m.group(4)))
    n = re.search(r"symbolize: ([\d,]+) PCs", t)
    if "faststack" not in inproc or "libbacktrace" not in inproc:
        return None
    fs, bt = inproc["faststack"], inproc["libbacktrace"]
    s = (f"symbolization (`bench_symbolize`, {n.group(1) if n else 'the'} "
         f"PCs): like for like, each PC looked up once, faststack "
         f"{ns(fs[0])} ns per PC and libbacktrace {ns(bt[0])} "
         f"(libbacktrace takes {bt[0] / fs[0]:.1f}× as long); a PC asked "
         f"again is a PC-cache "
         f"hit for faststack, {ns(fs[1])} ns (libbacktrace has no answer "
         f"cache and looks it up again: {ns(bt[1])} ns); first answer "
         f"{fs[2]:.1f} ms after exec")
    if all(k in offline for k in ("faststack", "addr2line",
                                  "llvm-symbolizer")):
        o = offline
        s += (f". Offline, `faststack symbolize` is "
              f"{o['addr2line'][2]:.1f}× faster than addr2line and "
              f"{o['llvm-symbolizer'][2]:.1f}× than llvm-symbolizer, with "
              f"{o['faststack'][1] / o['llvm-symbolizer'][1]:.2f}× "
              f"llvm-symbolizer's peak memory")
    return s + "."


def annotate(t):
    rows = {}
    for m in re.finditer(r"^(\d+)\s+\(([abcd])\) .*?\s+(\d+)\s+(\d+)\s+"
                         r"(\d+)\s+(\d+)\s+([\d.]+)\s+([\d.]+)$", t, re.M):
        rows[(int(m.group(1)), m.group(2))] = dict(
            cap=int(m.group(3)), frames=int(m.group(4)), ns=float(m.group(5)),
            allocs=float(m.group(7)), opens=float(m.group(8)))
    depths = sorted({d for d, _ in rows})
    if not depths or any((d, v) not in rows for d in depths for v in "bcd"):
        return None
    cap = rows[(depths[0], "c")]["cap"]
    deep = [d for d in depths if d > cap]
    warm = [rows[(d, "d")] for d in depths]
    s = "annotated traces (`bench_annotate`, gin style): "
    if deep:
        s += (f"cold, {rng([rows[(d, 'c')]['ns'] / rows[(d, 'b')]['ns'] for d in deep], '{:.2f}')}"
              f"× the time of the article's algorithm at depths "
              f"{deep[0]}–{deep[-1]} (both capped at {cap} frames); ")
    s += (f"warm, {rng([w['ns'] / 1000 for w in warm], '{:.1f}')} µs per "
          f"trace at depths {depths[0]}–{depths[-1]}, with "
          f"{max(w['allocs'] for w in warm):g} allocations and "
          f"{max(w['opens'] for w in warm):g} files opened per trace.")
    return s


def tracer(t):
    m = re.search(r"^faststack \(auto\)\s+([\d.]+)\s+([+-][\d.]+)%"
                  r"(?:\s+(\d+)-(\d+))?", t, re.M)
    if not m:
        return None
    base = re.search(r"^none\s+[\d.]+\s+[+-][\d.]+%\s+(\d+)-(\d+)", t, re.M)
    spread = ""
    if m.group(3) and base:
        spread = (f"; the rounds ranged over {m.group(3)}–{m.group(4)} ns per "
                  f"hand-off with tracing and {base.group(1)}–{base.group(2)} "
                  f"without, a spin that falls back to a futex sleep")
    return (f"tracing (`bench_tracer`, a stack captured and interned per "
            f"futex hand-off): faststack adds {m.group(2)}% to a hand-off "
            f"(target: at most +30%){spread}.")


def stacktable(t):
    r = dict(re.findall(r"^(1|2, each its own stack|2, the same stack)\s+"
                        r"([\d.]+)$", t, re.M))
    if len(r) != 3:
        return None
    return (f"stack table (`bench_stacktable`, interning a 32-PC stack "
            f"already in the table): {r['1']} ns with one thread, "
            f"{r['2, each its own stack']} ns per insert with two threads at "
            f"once ({r['2, the same stack']} ns when both insert the same "
            f"stack).")


def profiler(t):
    m1 = re.search(r"^100 Hz\s+[\d.]+\s+([+-][\d.]+)%", t, re.M)
    m2 = re.search(r"^1000 Hz\s+[\d.]+\s+([+-][\d.]+)%", t, re.M)
    if not (m1 and m2):
        return None
    return (f"CPU profiler (`bench_profile_overhead`): {m1.group(1)}% CPU "
            f"at 100 Hz, {m2.group(1)}% at 1000 Hz.")


def crash(t):
    """The standing cost of `faststack run`, install time, fault to
    report under the supervisor."""
    cost = {}
    for prog in ("sleep 1", "idle C++"):
        m = re.search(rf"^{re.escape(prog)}\s+faststack run\s+[\d.]+\s+"
                      r"([\d.]+)\s+[\d.]+\s+([\d.]+)", t, re.M)
        if not m:
            return None
        cost[prog] = (m.group(1), m.group(2))
    inst = re.search(r"^install time, ms\s+([\d.]+)", t, re.M)
    rss = re.search(r"^RSS added, MiB\s+([\d.]+)", t, re.M)
    sup = re.search(r"^faststack run \(the supervisor symbolizes\)\s+\w+\s+"
                    r"[\d.]+\s+([\d.]+)", t, re.M)
    size = re.search(r"linked into a ([\d.]+ MB) program", t)
    if not (inst and rss and sup and size):
        return None
    return (f"crash handler (`bench_crash`): `faststack run` adds "
            f"{cost['sleep 1'][0]} ms of CPU and {cost['sleep 1'][1]} MiB "
            f"(summed peak RSS) to `/bin/sleep 1`, {cost['idle C++'][0]} ms "
            f"and {cost['idle C++'][1]} MiB to an idle C++ program "
            f"(target: at most 20 ms and 4 MiB); linked into a {size.group(1)} "
            f"program, `faststack_crash_install` takes {inst.group(1)} ms "
            f"and adds {rss.group(1)} MiB; from the fault to the last line of "
            f"a named report under `faststack run`: {sup.group(1)} ms.")


def exceptions(t):
    r = dict(re.findall(r"^(\d+)\s+[\d.]+\s+[\d.]+\s+([\d.]+)x", t, re.M))
    if not all(d in r for d in ("1", "10", "100")):
        return None
    return (f"C++ exceptions (`bench_exceptions`, throw+catch with the "
            f"throw's trace recorded, against recording off): "
            f"{r['1']}× at depth 1, {r['10']}× at depth 10 (target: at most "
            f"1.2×), {r['100']}× at depth 100.")


def section(results_path):
    rel = "bench/RESULTS.md"
    text = open(results_path).read() if os.path.exists(results_path) else ""
    m, t = meta(text), tables(text)
    if not t:
        return (f"No results yet: `make bench` runs every benchmark and "
                f"writes [{rel}]({rel}) and this section from it.")
    head = (f"Measured by `make bench` on {m.get('date', '?')[:10]} "
            f"(commit {m.get('commit', '?')}; {m.get('CPU', '?')}, "
            f"{m.get('cores', '?').split(' ')[0]} cores, "
            f"{m.get('kernel', '?')}, glibc {m.get('glibc', '?').split()[-1]}; "
            f"load average {m.get('load average (1, 5, 15 min) before', '?').split()[0]}"
            f" before, "
            f"{m.get('load average (1, 5, 15 min) after', '?').split()[0]}"
            f" after). Every table, verbatim: [{rel}]({rel}).")
    lines = [head, ""]
    for name, fn in (("bench_capture", capture), ("bench_symbolize", symbolize),
                     ("bench_annotate", annotate), ("bench_tracer", tracer),
                     ("bench_stacktable", stacktable),
                     ("bench_profile_overhead", profiler),
                     ("bench_crash", crash), ("bench_exceptions", exceptions)):
        got = fn(t[name]) if name in t else None
        if got:
            lines.append("* " + got)
        else:
            print(f"bench_readme: {name}: no table or not understood; "
                  f"left out", file=sys.stderr)
    return "\n".join(lines)


def main():
    args = sys.argv[1:]
    check = bool(args) and args[0] == "--check"
    if check:
        args = args[1:]
    if len(args) != 2:
        print(__doc__)
        return 2
    results, readme = args
    text = open(readme).read()
    if text.count(BEGIN) != 1 or text.count(END) != 1:
        print(f"bench_readme: {readme} needs one {BEGIN} ... {END}",
              file=sys.stderr)
        return 1
    a, b = text.index(BEGIN) + len(BEGIN), text.index(END)
    body = ("\n<!-- generated by scripts/bench_readme.py from "
            "bench/RESULTS.md: not edited by hand -->\n" +
            section(results) + "\n")
    new = text[:a] + body + text[b:]
    if check:
        if new != text:
            print(f"bench_readme: {readme}'s measured section is not what "
                  f"{results} gives; run python3 scripts/bench_readme.py "
                  f"{results} {readme} (or make bench)")
            return 1
        print(f"bench_readme: {readme}'s measured section matches {results}")
        return 0
    if new != text:
        open(readme, "w").write(new)
    print(f"bench_readme: {readme} measured section from {results}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
