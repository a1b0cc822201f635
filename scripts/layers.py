#!/usr/bin/env python3
"""layers.py BUILD_DIR — checks faststack's layering on the built objects.

The library's stages, in the only order they may use each other:
    common -> modules -> capture -> symbolize -> annotate -> format -> sinks
A file may use symbols of its own stage and of earlier ones, never of a
later one. Within a stage, files may not form a cycle either. And the
command-line tools (tools/) may use only the public API (faststack_*).

It reads the symbol tables of the objects CMake built (nm), so it checks
what the code does, not what its #includes say. Every offending reference
is printed with the symbol and both files; exit status 1 if there is one.
"""
import os
import subprocess
import sys

STAGES = ["common", "modules", "capture", "symbolize", "annotate", "format",
          "sinks"]


def symbols(obj):
    """(defined, undefined) global symbol names of one object file."""
    out = subprocess.run(["nm", "-P", obj], capture_output=True, text=True,
                         check=True).stdout
    defined, undefined = set(), set()
    for line in out.splitlines():
        parts = line.split()
        if len(parts) < 2:
            continue
        name, kind = parts[0], parts[1]
        if kind == "U":
            undefined.add(name)
        elif kind in "TDBRVWGS" or kind in "iu":
            defined.add(name)
    return defined, undefined


def objects(root, sub):
    found = []
    for d, _, files in os.walk(root):
        for f in files:
            if f.endswith(".c.o") and sub in d.replace(os.sep, "/"):
                found.append(os.path.join(d, f))
    return sorted(found)


def source_of(obj, marker):
    """src/<stage>/<file>.c from .../faststack_objects.dir/src/<stage>/x.c.o"""
    p = obj.replace(os.sep, "/")
    return p[p.index(marker) + len(marker):-2]


def cycles(graph):
    """Strongly connected components with more than one file (Tarjan)."""
    index, low, stack, on, out = {}, {}, [], set(), []
    counter = [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    sys.setrecursionlimit(10000)
    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def main():
    build = sys.argv[1] if len(sys.argv) > 1 else "build"
    marker = "faststack_objects.dir/"
    lib = objects(build, marker + "src/")
    if not lib:
        print("layers: no library objects under %s (build first)" % build)
        return 2
    owner, uses = {}, {}
    for o in lib:
        src = source_of(o, marker)
        d, u = symbols(o)
        for s in d:
            owner.setdefault(s, src)
        uses[src] = u
    bad = 0
    graph = {}
    for src, undef in sorted(uses.items()):
        stage = src.split("/")[1]
        if stage not in STAGES:
            print("layers: %s is in no stage folder (%s)" % (src,
                                                          ", ".join(STAGES)))
            bad += 1
            continue
        for s in sorted(undef):
            dst = owner.get(s)
            if not dst or dst == src:
                continue
            # FS_REQUIRE_INIT's anchors only make a static link pull in a
            # stage's load-time setup: a link, not a use.
            if s.endswith("_init_anchor") and dst.split("/")[1] == stage:
                continue
            dstage = dst.split("/")[1]
            if STAGES.index(dstage) > STAGES.index(stage):
                print("layers: %s uses %s from %s: %s comes after %s" %
                      (src, s, dst, dstage, stage))
                bad += 1
            graph.setdefault(src, set()).add(dst)
    for comp in cycles(graph):
        print("layers: a cycle between files: " + " <-> ".join(comp))
        for a in comp:
            for s in sorted(uses[a]):
                if owner.get(s) in comp and owner.get(s) != a:
                    print("    %s uses %s from %s" % (a, s, owner[s]))
        bad += 1
    tool_marker = "faststack_cli.dir/"
    for o in objects(build, tool_marker):
        _, undef = symbols(o)
        for s in sorted(undef):
            if s in owner and not s.startswith("faststack_"):
                print("layers: tools/%s uses %s from %s: tools use only "
                      "the public API" % (source_of(o, tool_marker), s,
                                          owner[s]))
                bad += 1
    if bad:
        print("layers: %d problem(s)" % bad)
        return 1
    print("layers: %d files in %d stages, no reference to a later stage, "
          "no cycle" % (len(lib), len(STAGES)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
