#!/usr/bin/env python3
"""Seeds for the fuzz targets of debug information as distributions ship
it, generated from the DWARF fixtures at build time: dwz'd sections with
their supplementary file and split units (fuzz_dwarf_info), .dwp indexes
of versions 2 and 5 (fuzz_dwp), a relocatable object and a MiniDebugInfo
binary (fuzz_elf). A tool that is missing (dwz, dwp, llvm-dwp, xz) only
means fewer seeds.

Usage: gen_seeds.py OUTDIR FIXTURE_DIR"""
import os
import shutil
import struct
import subprocess
import sys
import tempfile

OUT, FX = sys.argv[1], os.path.abspath(sys.argv[2])
MAIN = [".debug_info", ".debug_abbrev", ".debug_line", ".debug_str",
        ".debug_line_str", ".debug_str_offsets", ".debug_addr",
        ".debug_ranges", ".debug_rnglists", ".debug_aranges"]
SUP = [".debug_info", ".debug_abbrev", ".debug_str"]
DWO = [".debug_info.dwo", ".debug_abbrev.dwo", ".debug_line.dwo",
       ".debug_str.dwo", ".debug_str_offsets.dwo", ".debug_rnglists.dwo"]


def sections(path):
    """name -> bytes of an uncompressed ELF64 file's sections."""
    d = open(path, "rb").read()
    shoff, = struct.unpack_from("<Q", d, 0x28)
    shnum, shstrndx = struct.unpack_from("<HH", d, 0x3c)
    sh = [struct.unpack_from("<IIQQQQIIQQ", d, shoff + 64 * i)
          for i in range(shnum)]
    so = sh[shstrndx][4]
    res = {}
    for h in sh:
        name = d[so + h[0]:d.index(b"\0", so + h[0])].decode()
        if h[1] != 8:  # not NOBITS
            res[name] = d[h[4]:h[4] + h[5]]
    return res


def pack(addr, groups):
    out = struct.pack("<Q", addr)
    for secs, names in groups:
        for n in names:
            b = secs.get(n, b"") if secs else b""
            out += struct.pack("<I", len(b)) + b
    return out


def text_start(secs_path):
    out = subprocess.run(["nm", secs_path], stdout=subprocess.PIPE,
                         text=True).stdout
    for l in out.splitlines():
        f = l.split()
        if len(f) == 3 and f[2] == "fx_other":
            return int(f[0], 16)
    return 0x1000


def run(cmd, **kw):
    return subprocess.run(cmd, stdout=subprocess.DEVNULL,
                          stderr=subprocess.DEVNULL, **kw).returncode == 0


def main():
    for t in ("dwarf_info", "dwp", "elf"):
        os.makedirs(os.path.join(OUT, t), exist_ok=True)
    tmp = tempfile.mkdtemp()
    srcs = [os.path.join(FX, "fx.c"), os.path.join(FX, "fx2.c")]
    try:
        for v in (4, 5):
            a, b = os.path.join(tmp, f"a{v}"), os.path.join(tmp, f"b{v}")
            run(["gcc", "-O2", f"-gdwarf-{v}", "-gz=none", *srcs, "-o", a])
            run(["gcc", "-O1", f"-gdwarf-{v}", "-gz=none", *srcs, "-o", b])
            common = os.path.join(tmp, f"common{v}")
            if shutil.which("dwz") and run(["dwz", "-m", common, a, b]):
                seed = pack(text_start(a), [(sections(a), MAIN),
                                            (sections(common), SUP)])
                open(os.path.join(OUT, "dwarf_info", f"dwz_gcc_dwarf{v}"),
                     "wb").write(seed)
            for cc in ("gcc", "clang"):
                split_seeds(tmp, cc, v, srcs)
        rel_and_mini(tmp, srcs)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


def split_seeds(tmp, cc, v, srcs):
    """Skeleton sections with the second unit's .dwo; .dwp indexes."""
    if True:
        if True:
            d = os.path.join(tmp, f"split_{cc}{v}")
            os.makedirs(d)
            objs = []
            for s in srcs:
                o = os.path.join(d, os.path.basename(s) + ".o")
                run([cc, "-O2", f"-gdwarf-{v}", "-gsplit-dwarf", "-gz=none",
                     "-c", s, "-o", o], cwd=d)
                objs.append(o)
            exe = os.path.join(d, "prog")
            run([cc, *objs, "-o", exe])
            dwo = [o[:-2] + ".dwo" for o in objs if "fx2" in o][0]
            if not os.path.exists(dwo):
                dwo = os.path.join(d, "fx2.dwo")
            if os.path.exists(exe) and os.path.exists(dwo):
                seed = pack(text_start(exe), [(sections(exe), MAIN),
                                              (None, SUP),
                                              (sections(dwo), DWO)])
                open(os.path.join(OUT, "dwarf_info", f"split_{cc}_dwarf{v}"),
                     "wb").write(seed)
            for tool in ("dwp", "llvm-dwp"):
                dwos = [o[:-2] + ".dwo" for o in objs]
                dwos = [x if os.path.exists(x) else
                        os.path.join(d, os.path.basename(x)[:-6] + ".dwo")
                        for x in dwos]
                pkg = os.path.join(d, tool + ".dwp")
                if not shutil.which(tool) or not run(
                        ["timeout", "60", tool, "-o", pkg, *dwos]):
                    continue
                idx = sections(pkg).get(".debug_cu_index", b"")
                # the first used slot's id
                uid = 0
                if len(idx) >= 16:
                    nslots, = struct.unpack_from("<I", idx, 12)
                    for k in range(nslots):
                        sig, = struct.unpack_from("<Q", idx, 16 + 8 * k)
                        if sig:
                            uid = sig
                            break
                open(os.path.join(OUT, "dwp", f"{tool}_{cc}_dwarf{v}"),
                     "wb").write(struct.pack("<Q", uid) + idx)


def rel_and_mini(tmp, srcs):
    """A relocatable object (.rela.debug_*) and a MiniDebugInfo binary."""
    if True:
        o = os.path.join(tmp, "fx.o")
        if run(["gcc", "-O2", "-g", "-gz=none", "-c", srcs[0], "-o", o]):
            shutil.copy(o, os.path.join(OUT, "elf", "rel_gcc_fx.o"))
        o = os.path.join(tmp, "cfx.o")
        if run(["clang", "-O2", "-gdwarf-5", "-gz=none", "-c", srcs[0], "-o",
                o]):
            shutil.copy(o, os.path.join(OUT, "elf", "rel_clang_fx.o"))
        exe = os.path.join(tmp, "a5")
        mini = os.path.join(tmp, "mini")
        if shutil.which("xz") and run(["objcopy", "--only-keep-debug", exe,
                                       mini]) and run(["xz", "-f", mini]):
            stripped = os.path.join(tmp, "stripped")
            if run(["strip", "--strip-all", exe, "-o", stripped]) and run(
                    ["objcopy", "--add-section",
                     ".gnu_debugdata=" + mini + ".xz", stripped]):
                shutil.copy(stripped, os.path.join(OUT, "elf", "minidebuginfo"))


if __name__ == "__main__":
    sys.exit(main())
