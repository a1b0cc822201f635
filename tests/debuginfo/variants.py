#!/usr/bin/env python3
"""Debug information as distributions and build systems ship it, checked
against the same code built plainly with -g.

Each item builds the fixtures (tests/dwarf_fixture: C with inline chains
across a header, two C++ units with deep STL inline chains) with gcc and
clang at DWARF 4 and 5, makes the variant (dwz, MiniDebugInfo, split
DWARF, ...) and compares every answer of `faststack symbolize -f -i -a`
for every address of .text — function, file and line of every frame,
inline frames included — with the plain build's. Where the variant's code
differs from the plain build's (-gsplit-dwarf), the oracle is
llvm-symbolizer on the variant itself (it reads .dwo and .dwp files).

Usage: variants.py FASTSTACK FIXTURE_DIR WORK ITEM
Exit 0: all agree; 1: a disagreement; 77: a tool the item needs is
missing (the test is then skipped, never passed).
"""
import os
import re
import shutil
import subprocess
import sys

FS, FX, WORK, ITEM = sys.argv[1:5]
COMPILERS = [("gcc", "gcc", "g++"), ("clang", "clang", "clang++")]


def run(cmd, **kw):
    return subprocess.run(cmd, check=True, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, text=True, **kw)


def need(*tools):
    for t in tools:
        if not shutil.which(t):
            print(f"SKIP: {t} is not installed")
            sys.exit(77)


def text_addrs(binary):
    """Every address of the executable sections with code."""
    out = run(["readelf", "-SW", binary]).stdout
    addrs = []
    for line in out.splitlines():
        m = re.match(r"\s*\[\s*\d+\]\s+(\S+)\s+PROGBITS\s+([0-9a-f]+)\s+"
                     r"[0-9a-f]+\s+([0-9a-f]+)\s+\S+\s+(\S*X\S*)", line)
        if m and m.group(1).startswith(".text"):
            lo, n = int(m.group(2), 16), int(m.group(3), 16)
            addrs.extend(range(lo, lo + n))
    return addrs


def blocks(text):
    """-a output: '0x...' then (function, file:line) pairs."""
    res, cur = {}, None
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        if re.fullmatch(r"0x[0-9a-f]+", lines[i]):
            cur = int(lines[i], 16)
            res[cur] = []
            i += 1
            continue
        loc = re.sub(r" \(discriminator \d+\)$", "", lines[i + 1])
        res[cur].append((lines[i], loc))
        i += 2
    return res


def symbolize(binary, addrs, extra=(), env=None):
    inp = "".join("0x%x\n" % a for a in addrs)
    p = subprocess.run([*FS.split(), "symbolize", "-e", binary, "-f", "-i",
                        "-a", *extra], input=inp, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, text=True,
                       env=env or os.environ)
    return blocks(p.stdout), p.stderr


def llvm(binary, addrs):
    inp = "".join("0x%x\n" % a for a in addrs)
    p = subprocess.run(["llvm-symbolizer", "--obj=" + binary,
                        "--output-style=GNU", "-f", "-i", "--no-demangle",
                        "-a"], input=inp, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, text=True)
    return blocks(p.stdout)


failures = 0


def compare(label, want, got, addrs, norm=None):
    global failures
    bad = [a for a in addrs if (norm or (lambda x: x))(want.get(a)) !=
           (norm or (lambda x: x))(got.get(a))]
    print(f"{label:48s} {len(addrs) - len(bad):6d}/{len(addrs):6d} agree",
          flush=True)
    for a in bad[:3]:
        print(f"  0x{a:x}\n    want {want.get(a)}\n    got  {got.get(a)}")
    if bad:
        failures += 1
    return not bad


def fixtures(ccs=COMPILERS, versions=(4, 5), extra=()):
    """(label, kind, compile-command builder) of the plain builds."""
    for name, cc, cxx in ccs:
        for v in versions:
            yield (f"c {name} dwarf{v}", [cc, "-O2", f"-gdwarf-{v}", *extra,
                                          f"{FX}/fx.c", f"{FX}/fx2.c"])
            yield (f"c++ {name} dwarf{v}", [cxx, "-O2", f"-gdwarf-{v}", *extra,
                                            f"{FX}/cx.cpp", f"{FX}/cx2.cpp"])


def build(label, cmd, out):
    os.makedirs(os.path.dirname(out), exist_ok=True)
    run([*cmd, "-Wl,--build-id", "-o", out])
    return out


def slug(label):
    return label.replace(" ", "_").replace("+", "p")


# ------------------------------------------------------------------ dwz

def item_dwz():
    """dwz -m (.gnu_debugaltlink, GNU_ref_alt/strp_alt), dwz -5
    (.debug_sup, ref_sup/strp_sup) with a relative link, single-file dwz
    (partial units, DW_TAG_imported_unit), and the alternate file found
    under a debug root's .dwz/ and by build-id."""
    need("dwz")
    for label, cmd in fixtures():
        if "clang dwarf5" in label:
            continue  # dwz 0.15 cannot rewrite .debug_addr
        d = os.path.join(WORK, "dwz", slug(label))
        plain = build(label, cmd, os.path.join(d, "plain"))
        addrs = text_addrs(plain)
        want, _ = symbolize(plain, addrs)
        # -m: two files sharing one alternate file (absolute link).
        for sub in ("m", "m5", "single"):
            os.makedirs(os.path.join(d, sub), exist_ok=True)
        a, b = os.path.join(d, "m", "a"), os.path.join(d, "m", "b")
        shutil.copy(plain, a)
        # A second program to share DIEs with: the same sources at -O1
        # (types and inline functions' abstract trees in common).
        other = build(label, [x if x != "-O2" else "-O1" for x in cmd],
                      os.path.join(d, "other"))
        shutil.copy(other, b)
        common = os.path.join(d, "m", "common.debug")
        run(["dwz", "-m", common, "-M", common, a, b])
        got, _ = symbolize(a, addrs)
        compare(f"{label} dwz -m", want, got, addrs)
        # -5 -r: .debug_sup with a path relative to the file.
        a5 = os.path.join(d, "m5", "a")
        shutil.copy(plain, a5)
        shutil.copy(other, os.path.join(d, "m5", "b"))
        run(["dwz", "-5", "-r", "-m", os.path.join(d, "m5", "sup.debug"),
             a5, os.path.join(d, "m5", "b")])
        got, _ = symbolize(a5, addrs)
        compare(f"{label} dwz -5 -r (.debug_sup)", want, got, addrs)
        # single file: partial units in the file itself.
        s = os.path.join(d, "single", "a")
        shutil.copy(plain, s)
        run(["dwz", s])
        got, _ = symbolize(s, addrs)
        compare(f"{label} dwz (single file)", want, got, addrs)
        # The alternate file moved: found under a debug root's .dwz/ and
        # by its build-id.
        for how in ("dwz-dir", "build-id"):
            root = os.path.join(d, "root-" + how)
            shutil.rmtree(root, ignore_errors=True)
            if how == "dwz-dir":
                os.makedirs(os.path.join(root, ".dwz"))
                shutil.copy(common, os.path.join(root, ".dwz", "common.debug"))
            else:
                bid = re.search(r"Build ID: ([0-9a-f]+)",
                                run(["readelf", "-n", common]).stdout).group(1)
                os.makedirs(os.path.join(root, ".build-id", bid[:2]))
                shutil.copy(common, os.path.join(root, ".build-id", bid[:2],
                                                 bid[2:] + ".debug"))
            moved = os.path.join(d, "m", "common.debug.moved")
            os.rename(common, moved)
            env = dict(os.environ, FASTSTACK_DEBUG_ROOT=root)
            try:
                got, _ = symbolize(a, addrs, env=env)
            finally:
                os.rename(moved, common)
            compare(f"{label} dwz -m, alt file in {how}", want, got, addrs)


ITEMS = {"dwz": item_dwz}

if __name__ == "__main__":
    shutil.rmtree(os.path.join(WORK, ITEM), ignore_errors=True)
    ITEMS[ITEM]()
    print("FAIL" if failures else "ok")
    sys.exit(1 if failures else 0)
