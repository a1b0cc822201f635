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
FX, WORK = os.path.abspath(FX), os.path.abspath(WORK)
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
        other = build(label, [x if x != "-O2" else "-O0" for x in cmd],
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


# --------------------------------------------------------- split DWARF

def xtor(name):
    """A C++ constructor's or destructor's variants (C1/C2, D1/D2) are one
    function under several symbols: the same name here."""
    return re.sub(r"([CD])[0-9]E", r"\1E", name)


def same_text(a, b):
    ta, tb = a + ".text", b + ".text"
    run(["objcopy", "-O", "binary", "-j", ".text", a, ta])
    run(["objcopy", "-O", "binary", "-j", ".text", b, tb])
    return open(ta, "rb").read() == open(tb, "rb").read()


def split_build(d, cc, srcs, v):
    """Objects compiled in d (the .dwo files' comp dir), linked there."""
    os.makedirs(d, exist_ok=True)
    objs = []
    for src in srcs:
        o = os.path.join(d, os.path.basename(src) + ".o")
        run([cc, "-O2", f"-gdwarf-{v}", "-gsplit-dwarf", "-c", src, "-o", o],
            cwd=d)
        objs.append(o)
    exe = os.path.join(d, "prog")
    run([cc, *objs, "-Wl,--build-id", "-o", exe], cwd=d)
    return exe


def item_split():
    """gcc/clang -gsplit-dwarf, DWARF 5 skeleton units and GNU DWARF 4
    split units: loose .dwo files under the comp dir and beside the
    binary, and .dwp packages (binutils dwp, llvm-dwp: .debug_cu_index
    versions 2 and 5). Inline chains come from the split units."""
    need("dwp", "llvm-dwp")
    for name, cc, cxx in COMPILERS:
        for v in (4, 5):
            for lang, comp, srcs in (("c", cc, ["fx.c", "fx2.c"]),
                                     ("c++", cxx, ["cx.cpp", "cx2.cpp"])):
                label = f"{lang} {name} dwarf{v}"
                d = os.path.join(WORK, "split", slug(label))
                srcs = [os.path.join(FX, x) for x in srcs]
                plain = build(label, [comp, "-O2", f"-gdwarf-{v}", *srcs],
                              os.path.join(d, "plain"))
                exe = split_build(os.path.join(d, "build"), comp, srcs, v)
                addrs = text_addrs(exe)
                if same_text(plain, exe):
                    want, _ = symbolize(plain, addrs)
                    oracle = "plain build"
                else:
                    want = llvm(exe, addrs)
                    oracle = "llvm-symbolizer"
                got, _ = symbolize(exe, addrs)
                compare(f"{label} .dwo in comp dir ({oracle})", want, got,
                        addrs)
                # Moved to another machine: binary and .dwo files side by
                # side, the comp dir gone.
                moved = os.path.join(d, "moved")
                shutil.rmtree(moved, ignore_errors=True)
                shutil.copytree(os.path.join(d, "build"), moved)
                shutil.rmtree(os.path.join(d, "build"))
                got, _ = symbolize(os.path.join(moved, "prog"), addrs)
                compare(f"{label} .dwo beside the binary", want, got, addrs)
                # Packages: the .dwo files gone, PROG.dwp beside it.
                dwos = [os.path.join(moved, f) for f in os.listdir(moved)
                        if f.endswith(".dwo")]
                # binutils dwp 2.40 cannot package DWARF 5 units (it
                # writes a version 2 index with dwo_id 0 and drops units);
                # llvm-dwp 14 loops on some gcc DWARF 5 .dwo files.
                for tool in ("dwp", "llvm-dwp") if v < 5 else ("llvm-dwp",):
                    pd = os.path.join(d, "pkg-" + tool)
                    shutil.rmtree(pd, ignore_errors=True)
                    os.makedirs(pd)
                    shutil.copy(os.path.join(moved, "prog"), pd)
                    r = subprocess.run(["timeout", "60", tool, "-o",
                                        os.path.join(pd, "prog.dwp"), *dwos],
                                       stdout=subprocess.PIPE,
                                       stderr=subprocess.PIPE, text=True)
                    if r.returncode != 0:
                        print(f"{label} {tool}: cannot package "
                              f"({r.stderr.strip()[:60]}): not compared")
                        continue
                    got, _ = symbolize(os.path.join(pd, "prog"), addrs)
                    compare(f"{label} {tool} package", want, got, addrs)
                    # A stripped binary whose debug file (app-dbg.debug,
                    # by its debug link) has the package beside it.
                    app = os.path.join(pd, "app")
                    dbgf = os.path.join(pd, "app-dbg.debug")
                    run(["objcopy", "--only-keep-debug",
                         os.path.join(pd, "prog"), dbgf])
                    run(["objcopy", "--strip-debug", "--add-gnu-debuglink=" +
                         dbgf, os.path.join(pd, "prog"), app])
                    os.rename(os.path.join(pd, "prog.dwp"),
                              os.path.join(pd, "app-dbg.dwp"))
                    got, _ = symbolize(app, addrs)
                    compare(f"{label} {tool} package beside the debug file",
                            want, got, addrs)
                # No split unit anywhere: frames may be missing, never
                # wrong — the symbol's name alone, no line (a skeleton's
                # row may be an inlined callee's).
                for w in dwos:
                    os.unlink(w)
                got, _ = symbolize(os.path.join(moved, "prog"), addrs)
                # (a cold part is named by its symbol, foo.cold)
                ok = {a for a in addrs if got.get(a) == [("??", "??:0")] or
                      (want.get(a) and len(got.get(a) or []) == 1 and
                       got[a][0][1] == "??:?" and
                       (xtor(got[a][0][0]) == xtor(want[a][-1][0]) or
                        got[a][0][0].startswith(want[a][-1][0] + ".")))}
                compare(f"{label} no .dwo: names only, no wrong line",
                        {a: True for a in addrs}, {a: a in ok for a in addrs},
                        addrs)


# ------------------------------------------------------- MiniDebugInfo

def minidebuginfo(exe, out):
    """Fedora's recipe: the function symbols .dynsym lacks, in an
    xz-compressed ELF in .gnu_debugdata of a fully stripped binary."""
    dyn = set(run(["nm", "-D", "--format=posix", "--defined-only", exe])
              .stdout.split("\n"))
    dyn = {l.split()[0] for l in dyn if l.strip()}
    funcs = [l.split() for l in run(["nm", "--format=posix",
                                     "--defined-only", exe]).stdout.splitlines()]
    keep = sorted({f[0] for f in funcs if len(f) > 1 and f[1] in "TtWw"} - dyn)
    kf, dbg, mini = out + ".keep", out + ".debug", out + ".mini"
    open(kf, "w").write("\n".join(keep) + "\n")
    run(["objcopy", "--only-keep-debug", exe, dbg])
    run(["objcopy", "-S", "--remove-section", ".gdb_index", "--remove-section",
         ".comment", "--keep-symbols=" + kf, dbg, mini])
    run(["xz", "-f", mini])
    run(["strip", "--strip-all", "--remove-section", ".comment", exe, "-o", out])
    run(["objcopy", "--add-section", ".gnu_debugdata=" + mini + ".xz", out])
    return out


def item_minidebuginfo():
    """.gnu_debugdata (xz, liblzma): a fully stripped binary names every
    function as a binary with its whole .symtab and no DWARF does."""
    need("xz")
    for label, cmd in fixtures():
        d = os.path.join(WORK, "minidebuginfo", slug(label))
        plain = build(label, cmd, os.path.join(d, "plain"))
        addrs = text_addrs(plain)
        nodebug = os.path.join(d, "nodebug")
        run(["objcopy", "--strip-debug", plain, nodebug])
        want, _ = symbolize(nodebug, addrs)
        stripped = os.path.join(d, "stripped")
        run(["strip", "--strip-all", plain, "-o", stripped])
        got, _ = symbolize(stripped, addrs)
        names = sum(1 for a in addrs if got.get(a, [("??",)])[0][0] != "??")
        print(f"{label} stripped, no MiniDebugInfo: {names} addresses named")
        got, _ = symbolize(minidebuginfo(plain, os.path.join(d, "mini")), addrs)
        compare(f"{label} MiniDebugInfo", want, got, addrs)


# ------------------------------------------------------------ fallback

NODEBUG_SRC = """
__attribute__((noinline)) int nodebug_fn(int x) { return x * 3 + 1; }
"""


def item_fallback():
    """A stripped binary whose debug file has no answer for an address
    (here: a function built without -g, its symbol missing from the debug
    file's .symtab) is named from the binary's own .dynsym."""
    for label, cmd in fixtures(versions=(5,)):
        d = os.path.join(WORK, "fallback", slug(label))
        os.makedirs(d, exist_ok=True)
        nd = os.path.join(d, "nodebug.c")
        open(nd, "w").write(NODEBUG_SRC)
        ndo = os.path.join(d, "nodebug.o")
        run(["gcc", "-O2", "-c", nd, "-o", ndo])
        plain = build(label, [*cmd, ndo, "-rdynamic"], os.path.join(d, "plain"))
        addrs = text_addrs(plain)
        want, _ = symbolize(plain, addrs)
        dbg = os.path.join(d, "prog.debug")
        run(["objcopy", "--only-keep-debug", "--strip-symbol=nodebug_fn",
             plain, dbg])
        prog = os.path.join(d, "prog")
        run(["objcopy", "--strip-all", "--add-gnu-debuglink=" + dbg, plain,
             prog])
        got, _ = symbolize(prog, addrs)
        nd_addrs = [a for a in addrs if want[a][0][0] == "nodebug_fn"]
        if not nd_addrs:
            print(f"{label}: nodebug_fn not found")
            global failures
            failures += 1
        compare(f"{label} debug file without the symbol", want, got, addrs)


# ---------------------------------------------------------- decompression

def elf_with_sections(path, secs):
    """A minimal ELF64 file: the given (name, flags, bytes) sections."""
    import struct
    names = b"\0.shstrtab\0" + b"".join(n.encode() + b"\0" for n, _, _ in secs)
    body, shdrs, off = b"", [], 64
    name_off = {}
    pos = 11
    for n, _, _ in secs:
        name_off[n] = pos
        pos += len(n) + 1
    data = [(names, 1, 3, 0)] + [(b, name_off[n], 1, fl) for n, fl, b in secs]
    for blob, noff, typ, fl in data:
        pad = (-off) % 8
        body += b"\0" * pad
        off += pad
        shdrs.append(struct.pack("<IIQQQQIIQQ", noff, typ, fl, 0, off,
                                 len(blob), 0, 0, 8 if fl else 1, 0))
        body += blob
        off += len(blob)
    pad = (-off) % 8
    body += b"\0" * pad
    off += pad
    shoff = off
    sh = struct.pack("<IIQQQQIIQQ", 0, 0, 0, 0, 0, 0, 0, 0, 0, 0) + b"".join(shdrs)
    ehdr = b"\x7fELF\x02\x01\x01" + b"\0" * 9 + struct.pack(
        "<HHIQQQIHHHHHH", 2, 62, 1, 0x1000, 0, shoff, 0, 64, 0, 0, 64,
        len(secs) + 2, 1)
    open(path, "wb").write(ehdr + body + sh)


def item_budget():
    """A small ELF whose zstd sections (and xz .gnu_debugdata) really
    expand to 900 MB each must not make the symbolizer allocate
    gigabytes: the decompression budget (per file, per symbolizer)."""
    import struct
    need("zstd", "xz")
    d = os.path.join(WORK, "budget")
    os.makedirs(d, exist_ok=True)
    size = 900 << 20
    z = subprocess.run(f"head -c {size} /dev/zero | zstd -19 -q -c",
                       shell=True, stdout=subprocess.PIPE, check=True).stdout
    x = subprocess.run(f"head -c {size} /dev/zero | xz -9 -c", shell=True,
                       stdout=subprocess.PIPE, check=True).stdout
    chdr = struct.pack("<IIQQ", 2, 0, size, 1)  # ELFCOMPRESS_ZSTD
    secs = [(n, 0x800, chdr + z) for n in
            (".debug_info", ".debug_abbrev", ".debug_line", ".debug_str",
             ".debug_ranges")]
    secs.append((".gnu_debugdata", 0, x))
    bomb = os.path.join(d, "bomb")
    elf_with_sections(bomb, secs)
    kb = os.path.getsize(bomb) // 1024
    # The peak RSS of this one child (wait4), not of the compressors.
    p = subprocess.Popen([*FS.split(), "symbolize", "-e", bomb, "-f",
                          "0x1000"], stdout=subprocess.PIPE, text=True)
    out = p.stdout.read()
    _, status, ru = os.wait4(p.pid, 0)
    rss = ru.ru_maxrss
    print(f"{kb} KiB file claiming 6 x 900 MiB: status {status}, "
          f"peak RSS {rss // 1024} MiB, answer {out.split()}")
    global failures
    if status != 0 or rss > 256 * 1024 or out.split() != ["??", "??:0"]:
        print("FAIL: the budget did not hold")
        failures += 1


# ---------------------------------------------------- relocatable objects

def placed_sections(obj):
    """Each allocated section of an object at the address faststack
    gives it: one after the other in section order, aligned."""
    out = run(["readelf", "-SW", obj]).stdout
    at, res = 0, {}
    for line in out.splitlines():
        m = re.match(r"\s*\[\s*(\d+)\]\s+(\S+)\s+(\S+)\s+[0-9a-f]+\s+"
                     r"[0-9a-f]+\s+([0-9a-f]+)\s+[0-9a-f]+\s+(\S*)\s+\d+\s+"
                     r"\d+\s+(\d+)", line)
        if not m or "A" not in m.group(5):
            continue
        al = max(int(m.group(6)), 1)
        at = (at + al - 1) // al * al
        res[int(m.group(1))] = (m.group(2), at, int(m.group(4), 16),
                                "X" in m.group(5))
        at += int(m.group(4), 16)
    return res


def rela_info_type(path, rtype):
    """Sets the type of the first relocation of .rela.debug_info."""
    import struct
    data = bytearray(open(path, "rb").read())
    shoff, = struct.unpack_from("<Q", data, 0x28)
    shnum, shstrndx = struct.unpack_from("<HH", data, 0x3c)
    sh = [struct.unpack_from("<IIQQQQIIQQ", data, shoff + 64 * i)
          for i in range(shnum)]
    stroff = sh[shstrndx][4]
    for h in sh:
        name = data[stroff + h[0]:data.index(b"\0", stroff + h[0])]
        if name == b".rela.debug_info":
            struct.pack_into("<I", data, h[4] + 8, rtype)
    open(path, "wb").write(data)


def item_rel():
    """gcc -g -c: an object's .rela.debug_* applied (x86-64 64/32 and the
    section-relative offsets into .debug_str, .debug_line, ...), its
    sections placed one after the other. Every address of every code
    section answers as the same byte of the linked program does."""
    for name, cc, cxx in COMPILERS:
        for v in (4, 5):
            for lang, comp, srcs in (("c", cc, ["fx.c", "fx2.c"]),
                                     ("c++", cxx, ["cx.cpp", "cx2.cpp"])):
                label = f"{lang} {name} dwarf{v}"
                d = os.path.join(WORK, "rel", slug(label))
                os.makedirs(d, exist_ok=True)
                objs = []
                for src in srcs:
                    o = os.path.join(d, src + ".o")
                    run([comp, "-O2", f"-gdwarf-{v}", "-c",
                         os.path.join(FX, src), "-o", o])
                    objs.append(o)
                prog = os.path.join(d, "prog")
                run([comp, *objs, "-o", prog])
                obj = objs[0]
                secs = placed_sections(obj)
                # Where each code section of the object went in the
                # program: by a function symbol defined in it.
                psyms = {}
                for l in run(["nm", "--defined-only", prog]).stdout.splitlines():
                    f = l.split()
                    if len(f) == 3:
                        psyms.setdefault(f[2], int(f[0], 16))
                want_addr, oaddrs = {}, []
                for l in run(["readelf", "-sW", obj]).stdout.splitlines():
                    f = l.split()
                    if len(f) < 8 or f[3] != "FUNC" or not f[6].isdigit():
                        continue
                    idx = int(f[6])
                    if idx not in secs or f[7] not in psyms:
                        continue
                    sname, at, size, code = secs[idx]
                    base = psyms[f[7]] - int(f[1], 16)
                    for off in range(size):
                        want_addr[at + off] = base + off
                oaddrs = sorted(want_addr)
                got, _ = symbolize(obj, oaddrs)
                linked, _ = symbolize(prog, [want_addr[a] for a in oaddrs])
                want = {a: linked.get(want_addr[a]) for a in oaddrs}
                compare(f"{label} {os.path.basename(obj)} "
                        f"({len(secs)} sections)", want, got, oaddrs)
                # A relocation it does not know (R_X86_64_PC64 written over
                # the first of .rela.debug_info): the DWARF is refused, no
                # name or line is read at an unrelocated offset.
                bad = os.path.join(d, "bad.o")
                shutil.copy(obj, bad)
                rela_info_type(bad, 24)
                got, _ = symbolize(bad, oaddrs)
                nodw = {a for a in oaddrs
                        if all(loc in ("??:0", "??:?") for _, loc in got[a])}
                compare(f"{label} unknown relocation: no DWARF answer",
                        {a: True for a in oaddrs},
                        {a: a in nodw for a in oaddrs}, oaddrs)


# ------------------------------------------------------------ debuginfod

def free_port():
    import socket
    with socket.socket() as so:
        so.bind(("127.0.0.1", 0))
        return so.getsockname()[1]


def wait_for(url, secs):
    import time
    import urllib.request
    end = time.time() + secs
    while time.time() < end:
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                if r.status == 200:
                    return True
        except Exception:
            time.sleep(0.3)
    return False


def item_debuginfod():
    """A real debuginfod server on loopback over a folder of debug files
    (its sources visible only to it: a private mount namespace), a
    stripped binary and a raw trace from 'another host': debug info and
    sources come from the server into a private client cache."""
    import time
    need("debuginfod", "unshare")
    if not any(os.path.exists(p + "/libdebuginfod.so.1") for p in
               ("/usr/lib/x86_64-linux-gnu", "/usr/lib64", "/usr/lib")):
        print("SKIP: libdebuginfod.so.1 is not installed")
        sys.exit(77)
    d = os.path.join(WORK, "debuginfod")
    real, virt = os.path.join(d, "real"), os.path.join(d, "src")
    srv, cache = os.path.join(d, "server"), os.path.join(d, "cache")
    for x in (real, virt, srv, cache):
        os.makedirs(x, exist_ok=True)
    # Built from sources under src/, which then move to real/: only the
    # server (src/ bind-mounted from real/ in its namespace) has them.
    for f in ("fx.c", "fx2.c", "fx.h"):
        shutil.copy(os.path.join(FX, f), virt)
    plain = os.path.join(d, "plain")
    run(["gcc", "-O2", "-g", os.path.join(virt, "fx.c"),
         os.path.join(virt, "fx2.c"), "-Wl,--build-id", "-o", plain])
    for f in ("fx.c", "fx2.c", "fx.h"):
        shutil.move(os.path.join(virt, f), os.path.join(real, f))
    shutil.copy(plain, os.path.join(srv, "prog.debug"))
    stripped = os.path.join(d, "prog")
    run(["strip", "--strip-debug", plain, "-o", stripped])
    bid = re.search(r"Build ID: ([0-9a-f]+)",
                    run(["readelf", "-n", plain]).stdout).group(1)
    port = free_port()
    log = open(os.path.join(d, "server.log"), "w")
    server = subprocess.Popen(
        ["unshare", "-m", "sh", "-c",
         f"mount --bind {real} {virt} && exec debuginfod -F -p {port} "
         f"-d :memory: -t 0 -g 0 {srv}"], stdout=log, stderr=log)
    global failures
    try:
        url = f"http://127.0.0.1:{port}"
        if not wait_for(f"{url}/buildid/{bid}/debuginfo", 60):
            print("FAIL: the debuginfod server did not serve the debug file")
            failures += 1
            return
        env = dict(os.environ, DEBUGINFOD_URLS=url,
                   DEBUGINFOD_CACHE_PATH=cache, DEBUGINFOD_PROGRESS="0")
        env.pop("FASTSTACK_DEBUG_ROOT", None)
        addrs = text_addrs(plain)
        want, _ = symbolize(plain, addrs)
        noenv = dict(env)
        noenv.pop("DEBUGINFOD_URLS")
        got, _ = symbolize(stripped, addrs, env=noenv)
        named = sum(1 for a in addrs if got[a][0][1] not in ("??:0", "??:?"))
        print(f"without DEBUGINFOD_URLS: {named} addresses with a line")
        got, _ = symbolize(stripped, addrs, env=env)
        compare("stripped binary, debug info from debuginfod", want, got, addrs)
        cached = os.path.exists(os.path.join(cache, bid, "debuginfo"))
        print(f"client cache has {bid[:12]}/debuginfo: {cached}")
        if not cached:
            failures += 1
        # A raw trace from another host: neither binary, debug file nor
        # source here; annotated from the server.
        off = [a for a in addrs if len(want[a]) == 3][0]
        trace = f"#0  0x{off:x} /elsewhere/prog+0x{off:x} build-id={bid}\n"
        p = subprocess.run([*FS.split(), "symbolize", "--format", "go",
                            "--source"], input=trace, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True, env=env)
        src_line = open(os.path.join(real, "fx.c")).read().split("\n")[7]
        ok = "fx_leaf" in p.stdout and src_line.strip() in p.stdout
        print("raw trace from another host, annotated:",
              "ok" if ok else "FAIL\n" + p.stdout + p.stderr)
        failures += not ok
        # On a terminal, a progress line while downloading (then erased).
        if shutil.which("script"):
            tty_cache = cache + "-tty"
            shutil.rmtree(tty_cache, ignore_errors=True)
            tenv = dict(env, DEBUGINFOD_CACHE_PATH=tty_cache)
            p = subprocess.run(["script", "-qec", f"{FS} symbolize -e "
                                f"{stripped} -f 0x{off:x}", "/dev/null"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True, env=tenv)
            ok = "downloading debug info" in p.stdout and "fx_" in p.stdout
            print("progress line on a terminal:", "ok" if ok else
                  "FAIL " + repr(p.stdout[-300:]))
            failures += not ok
        # Not there at all: one warning per module, never a silent ??.
        p = subprocess.run([*FS.split(), "symbolize", "-f"],
                           input=trace.replace(bid, "ab" * 20) * 3,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           text=True, env=env)
        ok = p.stderr.count("warning") == 1 and p.stdout.count("??") == 6
        print("unknown module: one warning:", "ok" if ok else "FAIL " + p.stderr)
        failures += not ok
    finally:
        server.terminate()
        server.wait()
    # A server that accepts and never answers: the timeout holds.
    import socket
    lsock = socket.socket()
    lsock.bind(("127.0.0.1", 0))
    lsock.listen(4)
    env = dict(os.environ, DEBUGINFOD_URLS=f"http://127.0.0.1:"
               f"{lsock.getsockname()[1]}", DEBUGINFOD_CACHE_PATH=cache + "2")
    t0 = time.time()
    got, _ = symbolize(stripped, addrs[:1], extra=["--debuginfod-timeout=2"],
                       env=env)
    took = time.time() - t0
    lsock.close()
    ok = took < 20 and got[addrs[0]][0][1] in ("??:0", "??:?")
    print(f"silent server, 2 s timeout: {took:.1f} s", "ok" if ok else "FAIL")
    failures += not ok


# -------------------------------------------------------- data symbols

TLS_SRC = """
__thread long fs_tls_a = 5;
__thread char fs_tls_b[64];
int fs_data_arr[10] = {1};
static char fs_bss[100];
const char fs_ro[] = "read-only";
int main(void) { fs_bss[0] = 1; return fs_data_arr[0] + fs_tls_a + fs_bss[1]; }
"""


def data_answers(binary, addrs, extra=()):
    inp = "".join("0x%x\n" % a for a in addrs)
    p = subprocess.run([*FS.split(), "symbolize", "-e", binary, "--data",
                        *extra], input=inp, stdout=subprocess.PIPE, text=True)
    return p.stdout.split("\n\n")[:len(addrs)]


def item_data():
    """--data names STT_OBJECT addresses as llvm-symbolizer's DATA does
    (name, start, size), in a plain binary and in a stripped one with a
    debug file; STT_TLS at its initial value in the PT_TLS image."""
    d = os.path.join(WORK, "data")
    os.makedirs(d, exist_ok=True)
    src = os.path.join(d, "data.c")
    open(src, "w").write(TLS_SRC)
    for name, cc, _ in COMPILERS:
        plain = build(name, [cc, "-O2", "-g", src], os.path.join(d, name))
        syms = []
        for l in run(["nm", "-S", "--defined-only", plain]).stdout.splitlines():
            f = l.split()
            if len(f) == 4 and f[2] in "DdBbRr" and int(f[1], 16) > 0:
                syms.append((f[3], int(f[0], 16), int(f[1], 16)))
        addrs = sorted({a for _, st, sz in syms
                        for a in (st, st + sz // 2, st + sz - 1)})
        inp = "".join("DATA 0x%x\n" % a for a in addrs)
        llvm_out = subprocess.run(["llvm-symbolizer", "--obj=" + plain],
                                  input=inp, stdout=subprocess.PIPE,
                                  text=True).stdout.split("\n\n")
        want = {a: llvm_out[i].strip() for i, a in enumerate(addrs)}
        got = {a: t.strip() for a, t in zip(addrs, data_answers(plain, addrs))}
        compare(f"{name} --data against llvm-symbolizer DATA", want, got, addrs)
        dbg = os.path.join(d, name + ".debug")
        stripped = os.path.join(d, name + "-stripped")
        run(["objcopy", "--only-keep-debug", plain, dbg])
        run(["objcopy", "--strip-all", "--add-gnu-debuglink=" + dbg, plain,
             stripped])
        got = {a: t.strip() for a, t in
               zip(addrs, data_answers(stripped, addrs))}
        compare(f"{name} --data, stripped binary + debug file", want, got,
                addrs)
        # Thread-locals: PT_TLS p_vaddr + the symbol's value.
        tls = int(re.search(r"TLS\s+0x[0-9a-f]+\s+0x([0-9a-f]+)",
                            run(["readelf", "-lW", plain]).stdout).group(1), 16)
        tsyms = {}
        for l in run(["readelf", "-sW", plain]).stdout.splitlines():
            f = l.split()
            if len(f) >= 8 and f[3] == "TLS" and f[7].startswith("fs_tls"):
                tsyms[f[7]] = (tls + int(f[1], 16), int(f[2]))
        taddrs = [st + k for st, sz in tsyms.values() for k in (0, sz - 1)]
        want = {st + k: f"{n}\n{st} {sz}" for n, (st, sz) in tsyms.items()
                for k in (0, sz - 1)}
        got = {a: t.strip() for a, t in zip(taddrs, data_answers(plain, taddrs))}
        compare(f"{name} --data thread-locals", want, got, taddrs)


# ------------------------------------------------- traces from other hosts

def item_hosts():
    """Raw trace lines whose module path is another host's: found with
    --search-path by base name and by build-id, with --debug-dir by the
    build-id of its debug file; a file of the same name with another
    build-id is not used; one warning per module that is not found."""
    d = os.path.join(WORK, "hosts")
    for label, cmd in fixtures(versions=(5,)):
        dd = os.path.join(d, slug(label))
        plain = build(label, cmd, os.path.join(dd, "plain"))
        other = build(label, [x if x != "-O2" else "-O0" for x in cmd],
                      os.path.join(dd, "x"))
        bid = re.search(r"Build ID: ([0-9a-f]+)",
                        run(["readelf", "-n", plain]).stdout).group(1)
        addrs = text_addrs(plain)[::7]
        want, _ = symbolize(plain, addrs)
        trace = "".join(f"#{i}  0x{a:x} /build/host/bin/prog+0x{a:x} "
                        f"build-id={bid}\n" for i, a in enumerate(addrs))
        sp = os.path.join(dd, "by-name")
        os.makedirs(sp, exist_ok=True)
        shutil.copy(plain, os.path.join(sp, "prog"))
        byid = os.path.join(dd, "by-id", ".build-id", bid[:2])
        os.makedirs(byid, exist_ok=True)
        shutil.copy(plain, os.path.join(byid, bid[2:]))
        root = os.path.join(dd, "root", ".build-id", bid[:2])
        os.makedirs(root, exist_ok=True)
        run(["objcopy", "--only-keep-debug", plain,
             os.path.join(root, bid[2:] + ".debug")])
        wrong = os.path.join(dd, "wrong")
        os.makedirs(wrong, exist_ok=True)
        shutil.copy(other, os.path.join(wrong, "prog"))
        cases = [("--search-path, base name", ["--search-path", f"{wrong}:{sp}"]),
                 ("--search-path, build-id", ["--search-path",
                                              os.path.join(dd, "by-id")]),
                 ("--debug-dir, build-id", ["--debug-dir",
                                            os.path.join(dd, "root")])]
        env = dict(os.environ)
        env.pop("DEBUGINFOD_URLS", None)
        env.pop("FASTSTACK_DEBUG_ROOT", None)
        for what, args in cases:
            p = subprocess.run([*FS.split(), "symbolize", "-f", "-i", "-a",
                                *args], input=trace.replace("#", "#"),
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True, env=env)
            # -a prints each raw line's offset: the same blocks.
            got = blocks(p.stdout)
            compare(f"{label} {what}", want, got, addrs)
        p = subprocess.run([*FS.split(), "symbolize", "-f", "--search-path",
                            wrong], input=trace, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True, env=env)
        ok = (p.stderr.count("warning") == 1 and
              p.stdout.count("??\n??:0") == len(addrs))
        print(f"{label} another build of the same name: not used, one "
              f"warning:", "ok" if ok else "FAIL " + p.stderr[:200])
        global failures
        failures += not ok


ITEMS = {"data": item_data, "hosts": item_hosts, "debuginfod": item_debuginfod, "rel": item_rel, "dwz": item_dwz, "split": item_split,
         "minidebuginfo": item_minidebuginfo, "fallback": item_fallback,
         "budget": item_budget}

if __name__ == "__main__":
    shutil.rmtree(os.path.join(WORK, ITEM), ignore_errors=True)
    ITEMS[ITEM]()
    print("FAIL" if failures else "ok")
    sys.exit(1 if failures else 0)
