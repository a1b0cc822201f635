#!/usr/bin/env python3
"""crash_driver.py — runs one crash case as a subprocess and checks it.

For every case: the process must end within a few seconds, by the signal
the fault raises (WIFSIGNALED + WTERMSIG, as Python's negative return
code), after exactly one report whose header names that signal and its
si_code. The faulting thread's frames are resolved — in-process names from
the lookup table when it is on, else addr2line over the raw
module+offset frames — and must show the faulting function at the marked
line (`FAULT:<name>` comments in the sources) and the call chain up to
main.

Every check is strict. Those marked needs="cfi" (callers of frameless
libc code: abort, strlen, memcpy, qsort, a double free) rely on the DWARF
CFI unwinder, which is always built.
"""
import argparse
import json
import os
import re
import resource
import signal
import subprocess
import sys
import tempfile
import threading
import time

SEGV, BUS, ILL, FPE, ABRT = (signal.SIGSEGV, signal.SIGBUS, signal.SIGILL,
                             signal.SIGFPE, signal.SIGABRT)

args = None
failures = 0
# Time limits are for a machine running the plain build; the sanitizer
# builds run several times slower and say so (tests/CMakeLists.txt).
SLOW = float(os.environ.get("FS_TEST_SLOWDOWN", "1"))
# The ASan+UBSan build: the cases' own code is not instrumented, but the
# sanitizer runtime is linked in. Its frames (interceptors such as
# strlen's, its reporting path) are not the program's: the checks skip
# them. ASan's allocator, not glibc's, finds a double free.
SANITIZED = "-fsanitize=address" in os.environ.get("FS_TEST_CFLAGS", "")
SANITIZER_FRAME = re.compile(r"^(__interceptor_|__asan|__sanitizer|__ubsan|"
                             r"__lsan)")
skipped = []  # checks that could not run here: the case exits 77


quiet = False  # repeated runs (FASTSTACK_STRESS_RUNS): only failures


def note(msg):
    if not quiet or not msg.startswith("ok: "):
        print(msg, flush=True)


def check(what, cond, needs=None, detail=""):
    """needs: None, or 'cfi' (documents that the check relies on the CFI
    unwinder; it is always built, so the check is strict either way)."""
    global failures
    if cond:
        note(f"ok: {what}")
        return True
    failures += 1
    note(f"FAIL: {what}{': ' + detail if detail else ''}")
    return False


def markers():
    res = {}
    for fn in ("crash_cases.c", "crash_lib.c", "crash_plain.c",
               "crash_early.c"):
        with open(os.path.join(args.src, fn)) as f:
            for i, line in enumerate(f, 1):
                m = re.search(r"FAULT:(\w+)", line)
                if m:
                    res[m.group(1)] = (fn, i)
    return res


# Cross-built cases run under an emulator (the aarch64 tier sets
# FASTSTACK_TEST_EMULATOR="qemu-aarch64 -L /" and FASTSTACK_TEST_ADDR2LINE
# to the target's addr2line); it slows every case down, so timeouts grow.
EMULATOR = os.environ.get("FASTSTACK_TEST_EMULATOR", "").split()
ADDR2LINE = os.environ.get("FASTSTACK_TEST_ADDR2LINE", "addr2line")
SLOW = max(SLOW, 4) if EMULATOR else SLOW


def dynamic(path):
    """Is path an ELF program with an interpreter (PT_INTERP): one the
    dynamic loader starts, and so LD_PRELOAD reaches?"""
    import struct
    try:
        with open(path, "rb") as f:
            eh = f.read(64)
            if eh[:4] != b"\x7fELF" or eh[4] != 2:
                return False
            phoff, = struct.unpack_from("<Q", eh, 32)
            phentsize, phnum = struct.unpack_from("<HH", eh, 54)
            f.seek(phoff)
            ph = f.read(phentsize * phnum)
        return any(struct.unpack_from("<I", ph, i * phentsize)[0] == 3
                   for i in range(phnum))
    except (OSError, struct.error):
        return False


# Where the crash handler can hand its report to another process. Under an
# emulator (qemu-user without binfmt_misc) no exec of a target program
# succeeds: neither `faststack run`'s child nor a symbolizer process the
# handler starts (it then prints raw frames itself, which the in-process
# runs check). `faststack run` needs programs the dynamic loader starts
# (not the musl tier's static ones).
SPAWN_OK = not EMULATOR
RUN_OK = None  # decided in main, from the programs built




def run(cmd, env=None, timeout=10, cwd=None, core=False):
    timeout *= SLOW
    e = {k: v for k, v in os.environ.items()
         if not k.startswith("FASTSTACK_") and k != "LD_PRELOAD"}
    e.update(env or {})
    cmd = EMULATOR + list(cmd)
    timeout *= SLOW

    def limits():
        soft, hard = resource.getrlimit(resource.RLIMIT_CORE)
        # No core files from the suite, except where a case asks for one
        # (the CRASH level raises the soft limit to the hard one itself).
        resource.setrlimit(resource.RLIMIT_CORE, (0, hard))

    t0 = time.monotonic()
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         env=e, cwd=cwd, preexec_fn=limits)
    try:
        out, err = p.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        p.kill()
        out, err = p.communicate()
        check(f"{' '.join(cmd)} ends within {timeout} s", False)
    elapsed = time.monotonic() - t0
    out = out.decode(errors="replace")
    err = err.decode(errors="replace")
    return p.returncode, out, err, elapsed


def fill_pipe(fd_path):
    """Fills the pipe or FIFO at fd_path (a path, or /proc/self/fd/N) to
    the brim through a description of its own, so the descriptor the
    child gets stays blocking."""
    w = os.open(fd_path, os.O_WRONLY | os.O_NONBLOCK)
    try:
        while True:
            os.write(w, b"x" * 65536)
    except BlockingIOError:
        pass
    finally:
        os.close(w)


def run_stderr_fd(cmd, fd, env=None, timeout=10):
    """Runs cmd with descriptor fd as its stderr (nobody reads it); returns
    (returncode, elapsed, timed_out)."""
    e = {k: v for k, v in os.environ.items()
         if not k.startswith("FASTSTACK_") and k != "LD_PRELOAD"}
    e.update(env or {})

    def limits():
        resource.setrlimit(resource.RLIMIT_CORE,
                           (0, resource.getrlimit(resource.RLIMIT_CORE)[1]))

    t0 = time.monotonic()
    p = subprocess.Popen(EMULATOR + list(cmd), stdout=subprocess.DEVNULL,
                         stderr=fd, env=e,
                         preexec_fn=limits)
    timed_out = False
    try:
        p.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        timed_out = True
        p.kill()
        p.wait()
    return p.returncode, time.monotonic() - t0, timed_out


def run_stderr_full(cmd, env=None, timeout=10):
    """Runs cmd with its stderr a pipe filled to the brim that nobody
    reads; returns (returncode, elapsed, timed_out)."""
    r, w = os.pipe()
    try:
        fill_pipe(f"/proc/self/fd/{w}")
        return run_stderr_fd(cmd, w, env=env, timeout=timeout)
    finally:
        os.close(r)
        os.close(w)


# ---------------------------------------------------------------- parsing

RAW = re.compile(r"^#(\d+)\s+0x([0-9a-f]+) (\S+)\+0x([0-9a-f]+)")
FUNC = re.compile(r"^(\S.*)\(\.\.\.\)( \(inlined\))?$")
LOC_FILE = re.compile(r"^\t(\S+):(\d+)( \+0x[0-9a-f]+)?$")
LOC_MOD = re.compile(r"^\t(\S+)\+0x([0-9a-f]+)( \+0x[0-9a-f]+)?$")
TITLE = re.compile(r"^(thread \d+.*\]:|\d+ threads with this stack:.*)$")


def sections(text):
    """[(title, [frame...])]; a frame is a dict with func/file/line or
    module/off (to resolve)."""
    secs = []
    cur = None
    lines = text.split("\n")
    i = 0
    while i < len(lines):
        ln = lines[i]
        if TITLE.match(ln):
            title = ln
            if ln[0].isdigit() and i + 1 < len(lines) and \
                    lines[i + 1].startswith("  first: "):
                i += 1
                title += "\n" + lines[i]
            cur = (title, [])
            secs.append(cur)
        elif cur is not None:
            m = RAW.match(ln)
            f = FUNC.match(ln)
            if m:
                cur[1].append({"module": m.group(3), "off": int(m.group(4), 16),
                               "func": None})
            elif f and i + 1 < len(lines):
                fr = {"func": f.group(1), "inlined": bool(f.group(2)),
                      "in_process": True}
                nxt = lines[i + 1]
                lf, lm = LOC_FILE.match(nxt), LOC_MOD.match(nxt)
                if lf:
                    fr["file"], fr["line"] = lf.group(1), int(lf.group(2))
                    i += 1
                elif lm:
                    fr["module"], fr["off"] = lm.group(1), int(lm.group(2), 16)
                    i += 1
                cur[1].append(fr)
            elif ln.strip() == "" or ln.startswith("faststack:"):
                cur = None
        i += 1
    return secs


def resolve(frames):
    """Fills func/file/line of raw frames with addr2line."""
    by_mod = {}
    for fr in frames:
        if fr.get("func") is None and "module" in fr:
            by_mod.setdefault(fr["module"], []).append(fr)
    for mod, frs in by_mod.items():
        if not os.path.exists(mod):
            continue
        cmd = [ADDR2LINE, "-f", "-e", mod] + [hex(f["off"]) for f in frs]
        try:
            out = subprocess.run(cmd, capture_output=True, text=True,
                                 timeout=20).stdout.split("\n")
        except Exception:
            continue
        for k, fr in enumerate(frs):
            if 2 * k + 1 >= len(out):
                break
            fr["func"] = out[2 * k]
            loc = out[2 * k + 1].split(" ")[0]
            if ":" in loc:
                fr["file"], l = loc.rsplit(":", 1)
                fr["line"] = int(l) if l.isdigit() else 0
    for fr in frames:
        if fr.get("func") is None:
            fr["func"] = "??"
    if SANITIZED:
        frames[:] = [f for f in frames
                     if not SANITIZER_FRAME.match(f["func"]) and
                     "/libasan.so" not in f.get("module", "") and
                     "/libubsan.so" not in f.get("module", "")]
    return frames


def names(frames):
    return [f.get("func") or "??" for f in frames]


def chain_ok(frames, chain):
    """chain: names; '*' matches one frame, '...' any number. Anchored at
    frame 0; after a '...' the next name is searched for."""
    ns = names(frames)

    def match(i, j):
        if j == len(chain):
            return True
        c = chain[j]
        if c == "...":
            return any(match(k, j + 1) for k in range(i, len(ns) + 1))
        if i >= len(ns):
            return False
        if c == "*" or ns[i] == c:
            return match(i + 1, j + 1)
        return False

    return match(0, 0)


def has_seq(frames, seq):
    ns = names(frames)
    return any(ns[i:i + len(seq)] == seq for i in range(len(ns)))


def faulting(text):
    for title, frames in sections(text):
        if "faulting]:" in title and "waiting" not in title:
            return resolve(frames)
    return []


def in_libc(frame):
    """A frame in glibc: its module (a raw frame) or, named, its source
    file in glibc's tree (libc6-dbg) or its symbol's name."""
    return ("libc.so" in frame.get("module", "") or
            "sysdeps/" in (frame.get("file") or "") or
            (frame.get("func") or "").startswith(("__str", "__mem")))


def at_line(frames, func, marker):
    fn, line = MARK[marker]
    for f in frames:
        if f.get("func") == func:
            return (os.path.basename(f.get("file") or "") == fn and
                    f.get("line") == line), f
    return False, None


# ------------------------------------------------------------------ cases

def basic(name, report, rc, elapsed, sig, code=None, limit=5.0):
    limit *= SLOW
    check(f"{name}: ends by {sig.name} (WIFSIGNALED, WTERMSIG)", rc == -sig,
          detail=f"return code {rc}")
    limit *= SLOW
    check(f"{name}: ends within {limit} s", elapsed < limit,
          detail=f"{elapsed:.2f} s")
    heads = re.findall(r"^fatal signal (SIG\w+)", report, re.M)
    check(f"{name}: exactly one report", len(heads) == 1, detail=str(heads))
    check(f"{name}: the report names {sig.name}",
          bool(heads) and heads[0] == sig.name)
    if code:
        check(f"{name}: the header explains si_code {code}", code in report)
    check(f"{name}: the header has pid, thread and time",
          re.search(r"^pid \d+, thread \d+ \".*\", \d{4}-\d\d-\d\dT", report,
                    re.M) is not None)


def fault_case(case, sig, chain, marker, func, code=None, needs=None,
               env=None, frame0_func=None):
    """A case whose faulting thread's chain is `chain` and whose `func`
    frame is at the line marked FAULT:marker. Run twice: by default (the
    report symbolized by a process started at crash time: every frame
    named), and with FASTSTACK_SYMBOLIZER=none (printed by the handler
    itself: raw frames, resolved here with addr2line)."""
    result = None
    for mode in ("symbolizer", "in-process") if SPAWN_OK else ("in-process",):
        e = dict(env or {})
        name = case
        if mode == "in-process":
            e["FASTSTACK_SYMBOLIZER"] = "none"
            name = f"{case} [in-process]"
        rc, out, err, el = run([args.cases, case], env=e)
        basic(name, err, rc, el, sig, code)
        frames = faulting(err)
        if mode == "symbolizer":
            check(f"{name}: every frame named by the symbolizer process",
                  bool(frames) and all(f.get("in_process") for f in frames),
                  detail=str(names(frames)[:12]))
        else:
            check(f"{name}: raw frames, the handler's own",
                  bool(frames) and not any(f.get("in_process")
                                           for f in frames),
                  detail=str(names(frames)[:6]))
        if frame0_func:
            check(f"{name}: frame 0 is {frame0_func}",
                  bool(frames) and frames[0]["func"] == frame0_func,
                  detail=str(names(frames)[:3]))
        ok, fr = at_line(frames, func, marker)
        check(f"{name}: {func} at {MARK[marker][0]}:{MARK[marker][1]}", ok,
              needs=needs, detail=str(fr))
        check(f"{name}: chain {' > '.join(chain)}", chain_ok(frames, chain),
              needs=needs, detail=str(names(frames)[:12]))
        result = result or (rc, out, err, frames)
    return result


def case_overflow(case, func, outer, marker):
    rc, out, err, el = run([args.cases, case])
    basic(case, err, rc, el, SEGV, "SEGV_")
    check(f"{case}: recognised as a stack overflow", "stack overflow" in err)
    frames = faulting(err)
    ok, fr = at_line(frames, func, marker)
    # Whichever instruction first touches the page past the end faults:
    # the frame's store or the recursive call pushing its return address.
    ok2, fr2 = at_line(frames, func, marker + "_call")
    # aarch64 allocates the frame in the prologue, whose store faults:
    # the function's own line.
    ok3, fr3 = at_line(frames, func, marker + "_entry")
    ok = ok or ok2 or ok3
    check(f"{case}: frame 0 is {func} at a marked line",
          bool(frames) and frames[0]["func"] == func and ok, detail=str(fr))
    check(f"{case}: the recursion reaches {' > '.join(outer)}",
          has_seq(frames, outer), detail=str(names(frames)[-6:]))
    check(f"{case}: the middle is elided", "frames elided..." in err)


def spawn_noexec():
    """A symbolizer the handler starts that never runs: a regular file
    with execute permission (install's checks pass) that execve refuses,
    being no program (ENOEXEC) or naming a missing interpreter after its
    "#!" (ENOENT); and a seccomp filter that kills the child in execve.
    The handler must learn it before it writes a byte, and print the
    report itself at once: the header stays on stderr when the report
    then faults (nested) or hangs until the watchdog."""
    with tempfile.TemporaryDirectory() as d:
        variants = []
        for what, text in (("not a program", "not a program\n"),
                           ("missing interpreter",
                            "#!/nonexistent/interpreter\n")):
            path = os.path.join(d, what.replace(" ", "_"))
            with open(path, "w") as f:
                f.write(text)
            os.chmod(path, 0o755)
            variants.append((what, {"FASTSTACK_SYMBOLIZER": path}))
        variants.append(("seccomp kills execve", {"CRASH_KILL_EXECVE": "1"}))
        for what, env in variants:
            spawn_noexec_variant(f"spawn_noexec [{what}]", env)


def spawn_noexec_variant(name, env):
    rc, out, err, el = run([args.cases, "null"], env=env)
    if rc == 77:
        skipped.append(f"{name}: no seccomp filter here")
        return
    basic(name, err, rc, el, SEGV, "SEGV_MAPERR")
    frames = faulting(err)
    check(f"{name}: raw frames, the handler's own, the whole chain",
          not any(f.get("in_process") for f in frames) and
          chain_ok(frames, ["null_store", "case_null", "run_case", "main"]),
          detail=str(names(frames)[:6]))
    rc, out, err, el = run([args.cases, "nested"], env=env)
    check(f"{name} nested: ends by the first signal (SIGFPE)", rc == -FPE,
          detail=str(rc))
    check(f"{name} nested: ends quickly", el < 5 * SLOW, detail=f"{el:.2f}")
    note_at = err.find("another fault while reporting")
    check(f"{name} nested: the whole header, then the second fault is noted",
          err.count("fatal signal SIGFPE") == 1 and note_at >= 0 and
          re.search(r"^pid \d+, thread \d+", err[:note_at], re.M)
          is not None, detail=err[-300:])
    rc, out, err, el = run([args.cases, "watchdog"], env=env)
    check(f"{name} watchdog: ends by SIGSEGV after ~1 s",
          rc == -SEGV and 0.8 < el < 5 * SLOW, detail=f"rc {rc}, {el:.2f} s")
    note_at = err.find("watchdog")
    check(f"{name} watchdog: the header before the watchdog's note",
          note_at >= 0 and "fatal signal SIGSEGV" in err[:note_at],
          detail=err[-300:])


# ------------------------------------------------- the first millisecond

def early(kind):
    """crash_early built linked (static library), shared (libfaststack.so),
    plain (not linked: under `faststack run`), static, static_linked."""
    base = args.early
    return base if kind == "linked" else f"{base}_{kind}"


_libc_dbg = None


def libc_has_debug_file():
    """Is libc's separate debug file installed (libc6-dbg)? Then its
    internal functions (__strlen_avx2, __pthread_kill_implementation) have
    names."""
    global _libc_dbg
    if _libc_dbg is None:
        mods = subprocess.run(EMULATOR + [args.faststack, "modules"], text=True,
                              capture_output=True).stdout
        m = re.search(r" (/\S*/libc\.so\.6) build-id=([0-9a-f]+)", mods)
        _libc_dbg = bool(m) and os.path.exists(
            f"/usr/lib/debug/.build-id/{m.group(2)[:2]}/"
            f"{m.group(2)[2:]}.debug")
    return _libc_dbg


# What each early case must show: the signal, the faulting thread's chain,
# the function at the marked line, and libc functions that must be named.
EARLY = {
    "strlen3": (SEGV, "SEGV_MAPERR", ["*", "early_strlen_c", "early_strlen_b",
                                      "early_strlen_a", "case_strlen3",
                                      "main"],
                "early_strlen_c", "early_strlen", []),
    "qsort_abort": (ABRT, "SI_TKILL", ["...", "abort", "early_compare", "...",
                                       "case_qsort_abort", "main"],
                    "early_compare", "early_qsort", ["raise", "abort"]),
    "double_free": (ABRT, "SI_TKILL", ["...", "abort", "...", "free",
                                       "early_free_twice", "case_double_free",
                                       "main"],
                    "early_free_twice", "early_double_free",
                    ["raise", "abort", "free"]),
    "threads6": (SEGV, "SEGV_MAPERR", ["early_thread_fault",
                                       "early_thread_main", "..."],
                 "early_thread_fault", "early_threads", []),
}


def early_check(name, err, rc, el, case, raw=False):
    """The report of one early case, whoever printed it: every frame named,
    the marked line, the chain, libc's functions by name. raw: the
    handler's own raw frames (resolved here with addr2line, which names
    libc's functions its own way): the walk's chain of the program's
    functions only."""
    sig, code, chain, func, marker, libc = EARLY[case]
    basic(name, err, rc, el, sig, code)
    frames = faulting(err)
    if SANITIZED and case == "double_free":
        # ASan's allocator finds it and aborts from its own runtime: the
        # chain from free's interceptor, not glibc's free and abort.
        raw, libc = True, []
    if raw:
        kept = []
        for x in chain:
            x = "..." if x in ("abort", "free") else x
            if not (x == "..." and kept and kept[-1] == "..."):
                kept.append(x)
        chain, libc = kept, []
    else:
        check(f"{name}: every frame named",
              bool(frames) and all(f.get("in_process") for f in frames),
              detail=str(names(frames)))
    ok, fr = at_line(frames, func, marker)
    check(f"{name}: {func} at {MARK[marker][0]}:{MARK[marker][1]}", ok,
          detail=str(fr))
    check(f"{name}: chain {' > '.join(chain)}", chain_ok(frames, chain),
          detail=str(names(frames)[:14]))
    for want in libc:
        check(f"{name}: libc's {want} named", want in names(frames),
              detail=str(names(frames)[:14]))
    if case == "strlen3" and not raw and libc_has_debug_file():
        check(f"{name}: strlen's implementation named (libc6-dbg)",
              bool(frames) and frames[0]["func"].startswith("__strlen"),
              detail=str(names(frames)[:2]))
    if case == "threads6":
        check(f"{name}: one faulting thread's report, not interleaved",
              err.count("faulting]:") == 1 and err.count("\nfaststack:") == 1)
    return frames


def early_overflow(name, err, rc, el, thread, raw=False):
    basic(name, err, rc, el, SEGV, "SEGV_")
    check(f"{name}: recognised as a stack overflow", "stack overflow" in err)
    frames = faulting(err)
    # aarch64 allocates the frame in the prologue, whose store faults:
    # the function's own line.
    ok = any(at_line(frames, "early_recurse", m)[0]
             for m in ("early_overflow", "early_overflow_call",
                       "early_overflow_entry"))
    check(f"{name}: frame 0 is early_recurse at a marked line",
          bool(frames) and frames[0]["func"] == "early_recurse" and ok,
          detail=str(frames[:1]))
    outer = ["early_recurse", "early_overflow_main"] if thread else \
        ["early_recurse", "case_overflow", "main"]
    check(f"{name}: the recursion (no frame pointers) reaches "
          f"{' > '.join(outer[1:])}", has_seq(frames, outer),
          detail=str(names(frames)[-6:]))
    # Under the emulator the raw frames are named by the target's
    # addr2line, which without the target libc's debug file names
    # start_thread by the nearest exported symbol.
    if thread and dynamic(early("linked")) and not (EMULATOR and raw):
        check(f"{name}: ... and the thread's start (glibc's start_thread)",
              "start_thread" in names(frames), detail=str(names(frames)[-4:]))
    check(f"{name}: the middle is elided", "frames elided..." in err)


def early_case(case):
    """One crash of the first millisecond: linked in with the defaults
    (a symbolizer process), printed by the handler itself (raw frames:
    the walk), and under `faststack run` (the supervisor)."""
    runs = [("linked", [early("linked"), case], {}),
            ("in-process", [early("linked"), case],
             {"FASTSTACK_SYMBOLIZER": "none"}),
            ("faststack run", [args.faststack, "run", early("plain"), case],
             {})]
    if SANITIZED and case == "double_free":
        # Under ASan its allocator reports the double free and, asked to,
        # aborts: the same SIGABRT from inside free.
        for how, cmd, env in runs:
            env["ASAN_OPTIONS"] = os.environ.get("ASAN_OPTIONS", "") + \
                ":abort_on_error=1"
    for how, cmd, env in runs:
        if (how == "linked" and not SPAWN_OK) or \
                (how == "faststack run" and not RUN_OK):
            note(f"early_{case} [{how}]: not run here (no exec of the "
                 "target's programs, or no dynamic loader)")
            continue
        rc, out, err, el = run(cmd, env=env)
        name = f"early_{case} [{how}]"
        if how == "in-process":
            frames = faulting(err)
            check(f"{name}: raw frames", bool(frames) and
                  not any(f.get("in_process") for f in frames))
        if case.startswith("overflow"):
            early_overflow(name, err, rc, el, case == "overflow_thread",
                           raw=how == "in-process")
        else:
            early_check(name, err, rc, el, case, raw=how == "in-process")


def early_child():
    """A child process of the program crashes; the program goes on and
    exits 0. Its report comes once, whole, named."""
    if not SPAWN_OK or not RUN_OK:
        skipped.append("no symbolizer process or faststack run here")
        return
    for how, cmd in (("faststack run", [args.faststack, "run", early("plain"),
                                        "child"]),
                     ("linked", [early("linked"), "child"])):
        rc, out, err, el = run(cmd)
        name = f"early_child [{how}]"
        check(f"{name}: the program goes on and exits 0", rc == 0,
              detail=f"rc {rc} {err[-300:]}")
        check(f"{name}: it saw its child die by SIGSEGV",
              "child ended by signal 11" in out, detail=out)
        heads = re.findall(r"^fatal signal (SIG\w+)", err, re.M)
        check(f"{name}: exactly one report (the child's)",
              heads == ["SIGSEGV"], detail=str(heads))
        frames = faulting(err)
        check(f"{name}: the child's chain, named",
              chain_ok(frames, EARLY["strlen3"][2][:-1] + ["case_child",
                                                          "main"]) and
              all(f.get("in_process") for f in frames),
              detail=str(names(frames)))


def early_shared():
    """A program linked with libfaststack.so: two copies of faststack
    under `faststack run` (the preload's installs first; the program's
    install then does nothing), exactly one report, every frame named;
    and linked in alone, with the faststack command next to the library
    as its symbolizer."""
    if not SPAWN_OK or not RUN_OK or not os.path.exists(early("shared")):
        skipped.append("no shared library build, symbolizer process or "
                       "faststack run here")
        return
    for how, cmd in (("faststack run", [args.faststack, "run",
                                        early("shared"), "strlen3"]),
                     ("linked", [early("shared"), "strlen3"])):
        rc, out, err, el = run(cmd)
        early_check(f"early_shared [{how}]", err, rc, el, "strlen3")


def early_static():
    """A statically linked program: LD_PRELOAD cannot reach it, and
    `faststack run` says so before running it; one that links
    libfaststack.a reports through the supervisor (no such message), or
    alone through itself re-executed as its symbolizer."""
    plain, linked = early("static"), early("static_linked")
    if not os.path.exists(plain) or not SPAWN_OK or not RUN_OK:
        skipped.append("no static C library, symbolizer process or "
                       "faststack run here")
        return
    rc, out, err, el = run([args.faststack, "run", plain, "strlen3"])
    check("early_static: dies by SIGSEGV as without faststack", rc == -SEGV,
          detail=str(rc))
    check("early_static: said plainly, before it ran",
          re.search(r"^faststack run: \S*crash_early_static is statically "
                    r"linked: .*faststack_crash_install", err, re.M)
          is not None, detail=err[:400])
    check("early_static: no report (nothing could catch it)",
          "fatal signal" not in err)
    # The message never holds the program back: with standard error a
    # full pipe nobody reads, it is dropped and the program still runs.
    rc, el, hung = run_stderr_full([args.faststack, "run", plain, "strlen3"],
                                   timeout=10 * SLOW)
    check("early_static [stderr a full pipe]: runs and dies by SIGSEGV, "
          "the message dropped", rc == -SEGV and not hung,
          detail=f"rc {rc}, {el:.2f} s")
    if not os.path.exists(linked):
        skipped.append("no static archives of the library's dependencies")
        return
    for how, cmd in (("faststack run", [args.faststack, "run", linked,
                                        "strlen3"]),
                     ("alone: the program itself symbolizes",
                      [linked, "strlen3"])):
        rc, out, err, el = run(cmd)
        name = f"early_static [libfaststack.a, {how}]"
        check(f"{name}: no 'statically linked' message",
              "statically linked" not in err)
        early_check(name, err, rc, el, "strlen3")


def early_threads_loop():
    """Six threads faulting at once, again and again under `faststack
    run`: no hang, no lost report, never two (1,000 runs in `make
    check-stress`, 20 otherwise)."""
    if not RUN_OK:
        skipped.append("no faststack run here")
        return
    stress = "FASTSTACK_STRESS_RUNS" in os.environ
    runs = 1000 if stress else 20
    t0 = time.monotonic()
    bad = []
    for i in range(runs):
        rc, out, err, el = run([args.faststack, "run", early("plain"),
                                "threads6"], timeout=30)
        heads = re.findall(r"^fatal signal (SIG\w+)", err, re.M)
        frames = faulting(err)
        if rc != -SEGV or heads != ["SIGSEGV"] or not chain_ok(
                frames, ["early_thread_fault", "early_thread_main", "..."]):
            bad.append((i, rc, heads, names(frames)[:3]))
            if len(bad) > 5:
                break
    note(f"early_threads_loop: {runs} runs in {time.monotonic() - t0:.1f} s")
    check(f"early_threads_loop: {runs} runs, each one report with the "
          "faulting thread's chain, ending by SIGSEGV", not bad,
          detail=str(bad[:5]))


# ------------------------------------------------------- the supervisor

def clean_env(extra=None):
    e = {k: v for k, v in os.environ.items()
         if not k.startswith("FASTSTACK_") and k != "LD_PRELOAD"}
    e.update(extra or {})
    return e


def proc_state(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0]
    except OSError:
        return "?"


def children_of(pid):
    kids = []
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                with open(f"/proc/{d}/stat") as f:
                    if int(f.read().rsplit(")", 1)[1].split()[1]) == pid:
                        kids.append(int(d))
            except (OSError, ValueError, IndexError):
                pass
    return kids


def wait_line(p, want, timeout=10):
    """Reads p.stdout until a line containing want (or EOF/timeout)."""
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout * SLOW:
        line = p.stdout.readline()
        if not line or want in line:
            return bool(line)
    return False


def finish(p, what, stdin=None):
    """p's stdout to its end and its status; a process that does not end
    is killed and said (a failed check, not an exception)."""
    try:
        return p.communicate(stdin, timeout=15 * SLOW)[0]
    except subprocess.TimeoutExpired:
        states = [proc_state(p.pid)] + [proc_state(k)
                                        for k in children_of(p.pid)]
        os.killpg(p.pid, signal.SIGKILL)
        out = p.communicate()[0]
        check(f"run_signals: {what}: ends", False,
              detail=f"states {states}, output {out!r}")
        return out


def run_signals():
    """Signals and job control with `faststack run` as the parent."""
    fs = args.faststack
    script = ('trap "echo got TERM; exit 7" TERM; trap "echo got INT; '
              'exit 3" INT; trap "echo got QUIT; exit 4" QUIT; '
              'echo ready; while :; do sleep 0.05; done')
    # SIGTERM sent to the supervisor reaches the program.
    p = subprocess.Popen([fs, "run", "--", "sh", "-c", script], text=True,
                         stdout=subprocess.PIPE, env=clean_env(),
                         process_group=0)
    check("run_signals: the program starts", wait_line(p, "ready"))
    os.kill(p.pid, signal.SIGTERM)
    out = finish(p, "SIGTERM")
    check("run_signals: SIGTERM to the supervisor reaches the program, whose "
          "exit status passes through", p.returncode == 7 and
          "got TERM" in out, detail=f"rc {p.returncode} {out!r}")
    # The terminal's SIGINT and SIGQUIT go to the whole process group: the
    # program decides, the supervisor ignores them.
    for sig, want, rc_want in ((signal.SIGINT, "got INT", 3),
                               (signal.SIGQUIT, "got QUIT", 4)):
        p = subprocess.Popen([fs, "run", "--", "sh", "-c", script],
                             text=True, stdout=subprocess.PIPE,
                             env=clean_env(), process_group=0)
        check(f"run_signals [{sig.name}]: the program starts",
              wait_line(p, "ready"))
        os.killpg(p.pid, sig)
        out = finish(p, sig.name)
        check(f"run_signals: {sig.name} to the process group: the program's "
              "trap runs, the supervisor waits for it",
              p.returncode == rc_want and want in out,
              detail=f"rc {p.returncode} {out!r}")
    # Job control: SIGTSTP to the group stops both; SIGCONT continues both.
    # (The program waits in read, not in a child: a vfork'ed child stopped
    # before its exec would hold its parent in D.)
    p = subprocess.Popen([fs, "run", "--", "sh", "-c",
                          "echo ready; read x; echo done $x"], text=True,
                         stdout=subprocess.PIPE, stdin=subprocess.PIPE,
                         env=clean_env(), process_group=0)
    check("run_signals [SIGTSTP]: the program starts", wait_line(p, "ready"))
    kids = children_of(p.pid)
    os.killpg(p.pid, signal.SIGTSTP)
    # Stopped at their next return to user space: a process busy in the
    # kernel (D, R under load) gets there a little later.
    for _ in range(int(80 * SLOW)):
        time.sleep(0.06)
        states = [proc_state(p.pid)] + [proc_state(k) for k in kids]
        if all(st == "T" for st in states):
            break
    check("run_signals: SIGTSTP stops the supervisor and the program",
          bool(kids) and all(st == "T" for st in states), detail=str(states))
    os.killpg(p.pid, signal.SIGCONT)
    out = finish(p, "SIGCONT", "go\n")
    check("run_signals: SIGCONT continues both; the program ends normally",
          p.returncode == 0 and "done go" in out,
          detail=f"rc {p.returncode} {out!r}")
    # Deaths pass through: $? is 128+signal in a shell.
    for sig in (signal.SIGKILL, signal.SIGTERM, signal.SIGSEGV):
        rc, out, err, el = run([fs, "run", "--", "sh", "-c",
                                f"kill -{sig.name[3:]} $$"])
        check(f"run_signals: a program killed by {sig.name}: the supervisor "
              "dies by it too", rc == -sig, detail=str(rc))
    rc, out, err, el = run(["sh", "-c", f"{fs} run -- {args.plain} null; "
                            "echo status=$?"])
    check("run_signals: $? is 128+SIGSEGV in a shell",
          f"status={128 + SEGV}" in out, detail=out)
    check("run_signals: no core of the supervisor's own",
          "faststack: ending" in err)


def run_supervisor():
    """Where reports go under `faststack run`, and when the supervisor
    cannot take them."""
    fs = args.faststack
    # Two children crashing at once: two whole reports, not interleaved.
    rc, out, err, el = run([fs, "run", "--", "sh", "-c",
                            f"{args.plain} null & {args.plain} null & wait"])
    reports = err.split("\nfatal signal ")[1:]
    check("run_supervisor: two children crash at once: two reports",
          len(reports) == 2, detail=err[-600:])
    for k, r in enumerate(reports):
        fr = faulting("\nfatal signal " + r)
        check(f"run_supervisor: report {k + 1} whole (its chain, one footer)",
              chain_ok(fr, ["plain_store", "plain_run", "main"]) and
              r.count("faulting]:") == 1 and r.count("\nfaststack:") == 1,
              detail=r[:400])
    # --output: appended to the file, nothing on stderr.
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "reports.log")
        for _ in range(2):
            rc, out, err, el = run([fs, "run", f"--output={path}", args.plain,
                                    "null"])
            check("run_supervisor --output: ends by SIGSEGV", rc == -SEGV)
            check("run_supervisor --output: nothing on stderr",
                  "fatal signal" not in err, detail=err[-300:])
        text = open(path).read()
        check("run_supervisor --output: both reports appended, named",
              text.count("fatal signal SIGSEGV") == 2 and
              chain_ok(faulting(text), ["plain_store", "plain_run", "main"]),
              detail=text[-400:])
    # The supervisor is gone when the program crashes: the program's
    # handler prints the report itself (through a symbolizer it starts).
    # (The program waits until the supervisor is gone: its parent is then
    # another process.)
    p = subprocess.Popen([fs, "run", "--", "sh", "-c",
                          "while [ $PPID = $(cut -d' ' -f4 /proc/$$/stat) ]; "
                          f"do sleep 0.05; done; exec {args.plain} null"],
                         stderr=subprocess.PIPE, env=clean_env(), text=True)
    time.sleep(0.3 * SLOW)
    os.kill(p.pid, signal.SIGKILL)
    err = p.communicate(timeout=20 * SLOW)[1]
    heads = re.findall(r"^fatal signal (SIG\w+)", err, re.M)
    fr = faulting(err)
    check("run_supervisor: supervisor killed, the program reports itself, "
          "once, named", heads == ["SIGSEGV"] and
          chain_ok(fr, ["plain_store", "plain_run", "main"]) and
          all(f.get("in_process") for f in fr), detail=err[-500:])
    # The program inherits no descriptor from the supervisor.
    rc, out, err, el = run([fs, "run", "--", "sh", "-c",
                            "ls -l /proc/$$/fd/; exit 0"])
    check("run_supervisor: the program inherits no socket of ours",
          rc == 0 and "socket:" not in out and "pipe:" in out,
          detail=out + err)


def run_json():
    """--format json (FASTSTACK_CRASH_FORMAT=json): one JSON object per
    report, with build-ids, from the supervisor and from the symbolizer
    process of a linked program."""
    if not SPAWN_OK or not RUN_OK:
        skipped.append("no symbolizer process or faststack run here")
        return
    for how, cmd, env in (("faststack run", [args.faststack, "run",
                                             "--format=json", args.plain,
                                             "null"], {}),
                          ("linked", [early("linked"), "strlen3"],
                           {"FASTSTACK_CRASH_FORMAT": "json"})):
        rc, out, err, el = run(cmd, env=env)
        name = f"run_json [{how}]"
        check(f"{name}: ends by SIGSEGV", rc == -SEGV, detail=str(rc))
        docs = []
        for line in err.splitlines():
            if line.startswith("{"):
                try:
                    docs.append(json.loads(line))
                except ValueError:
                    check(f"{name}: valid JSON", False, detail=line[:300])
        check(f"{name}: one JSON object, nothing else",
              len(docs) == 1 and len(err.strip().splitlines()) == 1,
              detail=err[-500:])
        if not docs:
            continue
        d = docs[0]
        fr = d.get("threads", [{}])[0].get("frames", [])
        want = "plain_store" if how == "faststack run" else "early_strlen_c"
        check(f"{name}: the crash's fields",
              d.get("report") == "crash" and d.get("signal") == "SIGSEGV" and
              d.get("signo") == 11 and d.get("code_name") == "SEGV_MAPERR" and
              d.get("addr") == "0x0" and d.get("complete") is True and
              d.get("pid", 0) > 0 and d["threads"][0].get("faulting"),
              detail=str({k: v for k, v in d.items() if k != "threads"}))
        check(f"{name}: frames with names, files, lines and build-ids",
              any(f["function"] == want and f["line"] > 0 and f["build_id"]
                  for f in fr) and any(f["function"] == "main" for f in fr),
              detail=str(fr[:3]))


# Cases that repeat themselves when FASTSTACK_STRESS_RUNS is set (the
# others run once): races, run in a loop by `make check-stress`. exit_race,
# truncate_debug and early_threads_loop count their own runs.
REPEATABLE = {"threads8", "all50", "nested", "vfork", "output_epipe",
              "chain_repair", "smash_sp", "stderr_reuse"}


def main():
    global args, MARK, quiet
    ap = argparse.ArgumentParser()
    ap.add_argument("--case", required=True)
    ap.add_argument("--cases", required=True)
    ap.add_argument("--plain", required=True)
    ap.add_argument("--faststack", required=True)
    ap.add_argument("--lib", required=True)
    ap.add_argument("--src", required=True)
    ap.add_argument("--early", required=True)
    args = ap.parse_args()
    for k in ("cases", "plain", "faststack", "lib", "src", "early"):
        setattr(args, k, os.path.abspath(getattr(args, k)))
    MARK = markers()
    global RUN_OK
    RUN_OK = not EMULATOR and dynamic(args.plain)
    c = args.case
    runs = int(os.environ.get("FASTSTACK_STRESS_RUNS", "1"))
    if c not in REPEATABLE:
        runs = 1
    limit = float(os.environ.get("FASTSTACK_STRESS_SECONDS", "120"))
    t0 = time.monotonic()
    done = 0
    for done in range(1, runs + 1):
        rc = one_case(c)
        if rc is not None:
            return rc
        quiet = True
        if failures or time.monotonic() - t0 > limit:
            break
    if runs > 1:
        print(f"crash_{c}: {done} of {runs} runs in "
              f"{time.monotonic() - t0:.1f} s")
    if failures:
        print(f"crash_{c}: FAIL ({failures} failed)")
        return 1
    if skipped:
        print(f"crash_{c}: skipped: {'; '.join(skipped)}")
        return 77
    print(f"crash_{c}: ok")
    return 0


def one_case(c):
    """Runs case c once; None when done (failures counted), else the exit
    status to return at once (2 unknown, 77 cannot run here)."""
    std = ["run_case", "main"]

    if c.startswith("early_") and c[6:] in list(EARLY) + ["overflow",
                                                         "overflow_thread"]:
        early_case(c[6:])
    elif c == "early_child":
        early_child()
    elif c == "early_shared":
        early_shared()
    elif c == "early_static":
        early_static()
    elif c == "early_threads_loop":
        early_threads_loop()
    elif c == "run_signals":
        run_signals()
    elif c == "run_supervisor":
        run_supervisor()
    elif c == "run_json":
        run_json()
    elif c == "null":
        fault_case(c, SEGV, ["null_store", "case_null"] + std, "null",
                   "null_store", "SEGV_MAPERR", frame0_func="null_store")
    elif c == "rodata":
        fault_case(c, SEGV, ["rodata_store", "case_rodata"] + std, "rodata",
                   "rodata_store", "SEGV_ACCERR", frame0_func="rodata_store")
    elif c == "overflow_main":
        case_overflow(c, "recurse", ["recurse", "case_overflow_main"] + std,
                      "overflow")
    elif c == "overflow_thread":
        case_overflow(c, "recurse_thread",
                      ["recurse_thread", "overflow_thread_main"],
                      "overflow_thread")
    elif c == "abort":
        fault_case(c, ABRT, ["...", "do_abort", "case_abort"] + std, "abort",
                   "do_abort", "SI_TKILL", needs="cfi")
    elif c == "assert":
        rc, out, err, fr = fault_case(
            c, ABRT, ["...", "check_invariant", "case_assert"] + std,
            "assert", "check_invariant", "SI_TKILL", needs="cfi")
        check("assert: glibc's assertion message precedes the report",
              "Assertion `v == 0' failed" in err and
              err.index("Assertion") < err.index("fatal signal"))
    elif c == "fpe":
        fault_case(c, FPE, ["divide", "case_fpe"] + std, "fpe", "divide",
                   "FPE_INTDIV", frame0_func="divide")
    elif c == "trap":
        fault_case(c, ILL, ["trap_here", "case_trap"] + std, "trap",
                   "trap_here", "ILL_ILLOP", frame0_func="trap_here")
    elif c == "sigbus":
        fault_case(c, BUS, ["touch_page", "case_sigbus"] + std, "sigbus",
                   "touch_page", "BUS_ADRERR", frame0_func="touch_page")
    elif c == "strlen":
        rc, out, err, frames = fault_case(
            c, SEGV, ["*", "call_strlen", "case_strlen"] + std, "strlen",
            "call_strlen", "SEGV_MAPERR", needs="cfi")
        check("strlen: frame 0 is in libc", bool(frames) and
              in_libc(frames[0]), detail=str(frames[:1]))
    elif c == "memcpy":
        rc, out, err, frames = fault_case(
            c, SEGV, ["*", "call_memcpy", "case_memcpy"] + std, "memcpy",
            "call_memcpy", "SEGV_MAPERR", needs="cfi")
        check("memcpy: frame 0 is in libc", bool(frames) and
              in_libc(frames[0]), detail=str(frames[:1]))
    elif c == "qsort":
        rc, out, err, frames = fault_case(
            c, SEGV, ["compare_faulting", "...", "case_qsort"] + std, "qsort",
            "compare_faulting", "SEGV_MAPERR", needs="cfi",
            frame0_func="compare_faulting")
        ok, fr = at_line(frames, "compare_faulting", "qsort")
        check("qsort: the comparator's line (no CFI needed)", ok,
              detail=str(fr))
    elif c == "double_free":
        # Under ASan its allocator reports the double free and, asked to,
        # aborts: the same SIGABRT from inside free.
        env = {"ASAN_OPTIONS": os.environ.get("ASAN_OPTIONS", "") +
               ":abort_on_error=1"} if SANITIZED else None
        rc, out, err, fr = fault_case(
            c, ABRT, ["...", "free_twice", "case_double_free"] + std,
            "double_free", "free_twice", "SI_TKILL", needs="cfi", env=env)
        message = "attempting double-free" if SANITIZED else "double free"
        check("double_free: the allocator's message precedes the report",
              message in err and err.index(message) <
              err.find("fatal signal"), detail=err[:300])
    elif c == "threads8":
        rc, out, err, el = run([args.cases, c])
        basic(c, err, rc, el, SEGV, "SEGV_MAPERR")
        frames = faulting(err)
        check("threads8: the reporting thread's chain",
              chain_ok(frames, ["thread_null_store", "fault_thread_main"]),
              detail=str(names(frames)))
        ok, fr = at_line(frames, "thread_null_store", "threads8")
        check("threads8: the faulting line", ok, detail=str(fr))
        check("threads8: no output interleaved into the report",
              err.count("faulting]:") == 1 and err.count("\nfaststack:") == 1)
    elif c == "dlopen":
        fault_case(c, SEGV, ["lib_fault_inner", "lib_fault", "case_dlopen"]
                   + std, "dlopen", "lib_fault_inner", "SEGV_MAPERR",
                   frame0_func="lib_fault_inner")
    elif c == "all50":
        rc, out, err, el = run([args.cases, c],
                               env={"FASTSTACK_TRACEBACK": "all"})
        basic(c, err, rc, el, SEGV, "SEGV_MAPERR")
        frames = faulting(err)
        check("all50: the faulting chain",
              chain_ok(frames, ["null_store", "case_all50"] + std),
              detail=str(names(frames)))
        secs = sections(err)
        group = [s for s in secs if s[0].startswith("50 threads with this "
                                                    "stack")]
        check("all50: the 50 parked threads print once, with their count",
              len(group) == 1, detail=str([s[0] for s in secs]))
        check("all50: every thread answered", "did not answer" not in err)
        if group:
            gf = resolve(group[0][1])
            check("all50: the parked threads' stack has parked_thread_main",
                  "parked_thread_main" in names(gf), detail=str(names(gf)))
            check("all50: ... and park, the frame holding the system call",
                  chain_ok(gf, ["*", "park", "parked_thread_main"]),
                  needs="cfi", detail=str(names(gf)))
    elif c == "chain":
        rc, out, err, frames = fault_case(
            c, SEGV, ["null_store", "case_chain"] + std, "null", "null_store",
            "SEGV_MAPERR")
        check("chain: the program's own handler runs after the report",
              "own handler: caught SIGSEGV" in err and
              err.index("fatal signal") < err.index("own handler") and
              "calling the previous SIGSEGV handler" in err)
    elif c == "nested":
        # (Under the emulator the symbolizer process's execve fails: a
        # foreign binary. The handler learns it before it writes the
        # header, and prints the report itself: spawn_noexec.)
        rc, out, err, el = run([args.cases, c])
        check("nested: ends by the first signal (SIGFPE)", rc == -FPE,
              detail=str(rc))
        check("nested: ends quickly", el < 5 * SLOW, detail=f"{el:.2f}")
        check("nested: one header, then the second fault is noted",
              err.count("fatal signal SIGFPE") == 1 and
              "another fault while reporting" in err)
    elif c == "spawn_noexec":
        spawn_noexec()
    elif c == "watchdog":
        rc, out, err, el = run([args.cases, c])
        check("watchdog: ends by the original signal", rc == -SEGV,
              detail=str(rc))
        check("watchdog: ends after ~1 s (the watchdog), not hung",
              0.8 < el < 5 * SLOW, detail=f"{el:.2f}")
        check("watchdog: says so", "watchdog" in err)
    elif c == "dump":
        rc, out, err, el = run([args.cases, c],
                               env={"FASTSTACK_DUMP_SIGNAL": "SIGUSR2"})
        check("dump: the program goes on and exits 0", rc == 0, detail=str(rc))
        check("dump: faststack_dump_threads wrote a dump to stdout",
              "thread dump: pid" in out and "dumped 1 threads" in out,
              detail=out[-300:])
        secs = sections(out)
        fr = resolve(secs[0][1]) if secs else []
        check("dump: the dumping thread's chain starts at its caller",
              chain_ok(fr, ["case_dump"] + std), detail=str(names(fr)))
        check("dump: the dump signal printed a dump and the program went on",
              "thread dump (SIGUSR2)" in err and
              "still running after the dump signal" in out)
    elif c == "none":
        rc, out, err, el = run([args.cases, "null"],
                               env={"FASTSTACK_TRACEBACK": "none"})
        check("none: ends by SIGSEGV", rc == -SEGV, detail=str(rc))
        check("none: no report", "fatal signal" not in err, detail=err)
    elif c == "output":
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "crash.log")
            with open(path, "w") as f:
                f.write("previous content\n")
            for _ in range(2):
                rc, out, err, el = run([args.cases, "null"],
                                       env={"FASTSTACK_OUTPUT": path})
                check("output: ends by SIGSEGV", rc == -SEGV)
                check("output: nothing on stderr", "fatal signal" not in err)
            text = open(path).read()
            check("output: appended, never truncated",
                  text.startswith("previous content\n") and
                  text.count("fatal signal SIGSEGV") == 2)
            fr = faulting(text)
            check("output: the report's chain",
                  chain_ok(fr, ["null_store", "case_null"] + std))
    elif c == "crash_core":
        with tempfile.TemporaryDirectory() as d:
            rc, out, err, el = run([args.cases, "null"], cwd=d,
                                   env={"FASTSTACK_TRACEBACK": "crash"})
            check("crash_core: ends by SIGSEGV", rc == -SEGV)
            pattern = open("/proc/sys/kernel/core_pattern").read().strip()
            hard = resource.getrlimit(resource.RLIMIT_CORE)[1]
            if pattern.startswith("|") or hard == 0 or "/" in pattern:
                skipped.append(f"core file check (core_pattern "
                               f"{pattern!r}, hard limit {hard})")
            else:
                check("crash_core: a core file was left",
                      any(n.startswith("core") for n in os.listdir(d)),
                      detail=str(os.listdir(d)))
            check("crash_core: the report said so", "core dump requested"
                  in err)
    elif c == "table":
        # The handler's own names: no symbolizer process.
        rc, out, err, el = run([args.cases, "null"], timeout=20,
                               env={"FASTSTACK_CRASH_TABLE": "sync",
                                    "FASTSTACK_SYMBOLIZER": "none"})
        # The time includes building the table (libc with its debug
        # file) at install, before the fault: not the report's time.
        basic(c, err, rc, el, SEGV, "SEGV_MAPERR", limit=15.0)
        frames = faulting(err)
        check("table: in-process names, whole chain",
              chain_ok(frames, ["null_store", "case_null"] + std) and
              all(f.get("in_process") for f in frames[:4]),
              detail=str(names(frames)))
        check("table: no addr2line needed (names came from the process)",
              "null_store(...)" in err and "main(...)" in err)
        # The symbolizer is always built: the table has files and lines.
        ok, fr = at_line(frames, "null_store", "null")
        check("table: file:line from the symbolizer, in-process", ok and
              bool(fr and fr.get("in_process")), detail=str(fr))
        # The source line, read when the table was built (never by the
        # handler): the faulting statement under its frame.
        check("table: the faulting line's source text, in-process",
              re.search(r"null_store\(\.\.\.\)\n\t\S+:\d+ \+0x[0-9a-f]+\n"
                        r"\t    \*p = 42; /\* FAULT:null \*/\n", err)
              is not None, detail=err[-600:])
    elif c == "color":
        # Colour only when the output is a terminal (never here: a pipe)
        # or FORCE_COLOR asks; NO_COLOR is a standing preference that
        # FORCE_COLOR overrides; FORCE_COLOR=0 means none.
        esc = "\x1b["
        # The handler's own colours with its table's names, and the
        # symbolizer process's.
        tab = {"FASTSTACK_CRASH_TABLE": "sync", "FASTSTACK_SYMBOLIZER": "none"}
        for env, want in (({}, False), ({"FORCE_COLOR": "1"}, True),
                          ({"NO_COLOR": "1"}, False),
                          ({"NO_COLOR": "1", "FORCE_COLOR": "1"}, True),
                          ({"FORCE_COLOR": "0"}, False),
                          ({"FORCE_COLOR": "1", **tab}, True),
                          ({"FORCE_COLOR": "0", **tab}, False)):
            rc, out, err, el = run([args.cases, "null"], env=env)
            plain = re.sub(r"\x1b\[[0-9;]*m", "", err)
            basic(f"{c} {env}", plain, rc, el, SEGV, "SEGV_MAPERR")
            if want:
                check(f"color {env}: the chain", chain_ok(
                    faulting(plain), ["null_store", "case_null"] + std))
            check(f"color {env}: escapes {'present' if want else 'absent'}",
                  (esc in err) == want, detail=err[-300:])
            # Names come from a symbolizer process or the table; under the
            # emulator no process can be started (raw frames otherwise).
            if want and (SPAWN_OK or "FASTSTACK_CRASH_TABLE" in env):
                check("color: the header and the function names are painted",
                      "\x1b[1;31mfatal signal SIGSEGV" in err and
                      "\x1b[1mnull_store\x1b[0m(...)" in err,
                      detail=err[-600:])
    elif c == "run":
        # The supervisor names every frame (the handler sent raw ones).
        rc, out, err, el = run([args.faststack, "run", args.plain, "null"])
        basic(c, err, rc, el, SEGV, "SEGV_MAPERR")
        frames = faulting(err)
        check("run: chain, every frame named by the supervisor",
              chain_ok(frames, ["plain_store", "plain_run", "main"]) and
              all(f.get("in_process") for f in frames),
              detail=str(names(frames)))
        ok, fr = at_line(frames, "plain_store", "plain")
        check("run: the faulting line", ok, detail=str(fr))
        # --exec: no parent; the handler starts the faststack command next
        # to the preload as its symbolizer.
        rc, out, err, el = run([args.faststack, "run", "--exec", args.plain,
                                "null"])
        basic(c + " --exec", err, rc, el, SEGV, "SEGV_MAPERR")
        frames = faulting(err)
        check("run --exec: every frame named by the symbolizer process",
              chain_ok(frames, ["plain_store", "plain_run", "main"]) and
              all(f.get("in_process") for f in frames),
              detail=str(names(frames)))
        # No process to symbolize: the lookup table, built before main.
        rc, out, err, el = run([args.faststack, "run", "--exec",
                                "--table=sync", args.plain, "null"],
                               env={"FASTSTACK_SYMBOLIZER": "none"},
                               timeout=20)
        basic(c + " --table=sync", err, rc, el, SEGV, "SEGV_MAPERR",
              limit=15.0)
        frames = faulting(err)
        check("run --table=sync: chain, in-process names from the table",
              chain_ok(frames, ["plain_store", "plain_run", "main"]) and
              all(f.get("in_process") for f in frames[:3]),
              detail=str(names(frames)))
        # Nothing at all: raw frames from the handler.
        rc, out, err, el = run([args.faststack, "run", "--exec", "--no-table",
                                "--registers", "--", args.plain, "null"],
                               env={"FASTSTACK_SYMBOLIZER": "none"})
        basic(c + " --no-table", err, rc, el, SEGV, "SEGV_MAPERR")
        frames = faulting(err)
        check("run --no-table: raw frames",
              bool(frames) and not any(f.get("in_process") for f in frames),
              detail=str(names(frames)))
        ok, fr = at_line(frames, "plain_store", "plain")
        check("run --no-table: raw frames resolve to the faulting line", ok,
              detail=str(fr))
        check("run --no-table: chain",
              chain_ok(frames, ["plain_store", "plain_run", "main"]),
              detail=str(names(frames)))
        check("run --registers: registers printed", "rip 0x" in err)
    elif c == "run_overflow_thread":
        rc, out, err, el = run([args.faststack, "run", args.plain,
                                "overflow_thread"])
        basic(c, err, rc, el, SEGV, "SEGV_")
        check(f"{c}: recognised as a stack overflow (the preload gave the "
              "thread an alternate stack)", "stack overflow" in err)
        frames = faulting(err)
        check(f"{c}: chain", has_seq(frames, ["plain_recurse",
                                              "plain_thread"]),
              detail=str(names(frames)[-5:]))
    elif c == "run_dump":
        rc, out, err, el = run([args.faststack, "run", "--dump-signal=SIGUSR2",
                                "/bin/sh", "-c", "kill -USR2 $$; echo alive"])
        check("run_dump: an unmodified program dumps and goes on",
              rc == 0 and "alive" in out and "thread dump (SIGUSR2)" in err,
              detail=f"rc {rc} err {err[-300:]}")
        titles = [t for t, _ in sections(err)]
        check("run_dump: the program's one thread, no thread of faststack's",
              len(titles) == 1 and "faststack" not in err.replace(
                  "faststack:", ""), detail=str(titles))
        fr = resolve(sections(err)[0][1]) if titles else []
        check("run_dump: its frames named by the supervisor",
              bool(fr) and all(f.get("in_process") for f in fr),
              detail=str(names(fr)))
        rc, out, err, el = run([args.faststack, "run", "/bin/sh", "-c",
                                "exit 7"])
        check("run_dump: the exit status passes through", rc == 7,
              detail=str(rc))
        rc, out, err, el = run([args.faststack, "run", "/bin/sh", "-c",
                                "kill -TERM $$"])
        check("run_dump: a terminating signal passes through", rc == -15,
              detail=str(rc))
    elif c == "run_exec":
        # The handler must be installed again in every image an exec
        # starts: wrappers that exec the program, scripts ending in
        # `exec "$@"`, programs that re-execute themselves; and one report
        # when the image has two copies (the preload and a linked one).
        with tempfile.TemporaryDirectory() as d:
            script = os.path.join(d, "entrypoint.sh")
            with open(script, "w") as f:
                f.write('#!/bin/sh\nexport FOO=1\nexec "$@"\n')
            os.chmod(script, 0o755)
            plain = [args.plain, "null"]
            wrappers = [
                ("env", ["env"] + plain),
                ("nice", ["nice"] + plain),
                ("setsid -w", ["setsid", "-w"] + plain),
                ("stdbuf -o0", ["stdbuf", "-o0"] + plain),
                ("bash -c exec", ["bash", "-c", f"exec {args.plain} null"]),
                ('exec "$@" script', [script] + plain),
                ("self re-exec", [args.plain, "reexec"]),
            ]
            for what, cmd in wrappers:
                rc, out, err, el = run([args.faststack, "run", "--no-table",
                                        "--"] + cmd)
                name = f"run_exec [{what}]"
                # setsid -w forks when it leads its process group, and
                # then exits with 128+signal.
                if what == "setsid -w" and rc == 128 + SEGV:
                    rc = -SEGV
                basic(name, err, rc, el, SEGV, "SEGV_MAPERR")
                ok, fr = at_line(faulting(err), "plain_store", "plain")
                check(f"{name}: the faulting line", ok, detail=str(fr))
            rc, out, err, el = run([args.faststack, "run", "--", "env"])
            check("run_exec: installing leaves the environment alone (no "
                  "setenv racing the program's getenv)",
                  rc == 0 and "FASTSTACK_CRASH_HANDLER" not in out,
                  detail=out[-300:])
            for what, case in (("preload + linked copy", "null"),
                               ("preload + linked copy, re-exec", "reexec")):
                rc, out, err, el = run([args.faststack, "run", "--no-table",
                                        "--", args.cases, case])
                name = f"run_exec [{what}]"
                basic(name, err, rc, el, SEGV, "SEGV_MAPERR")
                ok, fr = at_line(faulting(err), "null_store", "null")
                check(f"{name}: the faulting line", ok, detail=str(fr))
    elif c == "chain_repair":
        rc, out, err, el = run([args.cases, c])
        check("chain_repair: the program goes on and exits 0", rc == 0,
              detail=f"rc {rc} {err[-300:]}")
        check("chain_repair: one report, then the program's handler",
              err.count("fatal signal SIGSEGV") == 1 and
              "calling the previous SIGSEGV handler" in err)
        for line in ("pending alarm kept", "SIGALRM handler kept",
                     "SIGALRM still blocked",
                     "the next alarm reached the program"):
            check(f"chain_repair: {line}", line in out, detail=out)
        check("chain_repair: no watchdog afterwards", "watchdog" not in err)
    elif c == "smash_sp":
        rc, out, err, el = run([args.cases, c])
        basic(c, err, rc, el, SEGV, "SEGV_MAPERR")
        frames = faulting(err)
        check("smash_sp: frame 0 is smash_regs",
              bool(frames) and frames[0]["func"] == "smash_regs",
              detail=str(names(frames)[:3]))
        check("smash_sp: no frames made up from the heap",
              len(frames) == 1, detail=f"{len(frames)} frames: "
              f"{names(frames)[:6]}")
    elif c == "vfork":
        # qemu-user runs vfork as fork: no child sharing the parent's
        # memory, and the ALL level's threads answer late under emulation.
        levels = ("single",) if EMULATOR else ("single", "all")
        if EMULATOR:
            skipped.append("vfork [all]: the emulator's vfork is a fork")
        for level in levels:
            rc, out, err, el = run([args.cases, c],
                                   env={"FASTSTACK_TRACEBACK": level})
            name = f"vfork [{level}]"
            check(f"{name}: the parent ends by SIGSEGV", rc == -SEGV,
                  detail=str(rc))
            check(f"{name}: in time (no wait behind the child's report)",
                  el < 5, detail=f"{el:.2f} s")
            pids = re.findall(r"^pid (\d+), thread", err, re.M)
            check(f"{name}: the child's report, then the parent's",
                  len(pids) == 2 and pids[0] != pids[1], detail=str(pids))
            check(f"{name}: no thread left waiting", "did not answer" not in
                  err and "other threads not shown" not in err)
    elif c == "exit_race":
        # A fault racing exit(0): either exit wins before any report (status
        # 0, no report), or the report's signal ends the process — never a
        # report followed by status 0.
        runs = int(os.environ.get("FASTSTACK_STRESS_RUNS", "60"))
        limit = float(os.environ.get("FASTSTACK_STRESS_SECONDS", "120"))
        t0 = time.monotonic()
        bad = []
        reports = 0
        for i in range(runs):
            if time.monotonic() - t0 > limit:
                runs = i
                break
            rc, out, err, el = run([args.cases, c], timeout=15)
            rep = "fatal signal SIGSEGV" in err
            reports += rep
            if (rep and rc != -SEGV) or rc not in (0, -SEGV):
                bad.append((i, rc, rep))
        note(f"exit_race: {runs} runs, {reports} with a report")
        check(f"exit_race: every report ends by SIGSEGV ({runs} runs)",
              not bad, detail=str(bad[:10]))
    elif c == "truncate_debug":
        # `faststack run` builds its lookup table from libc's debug file
        # (libc6-dbg) in a private FASTSTACK_DEBUG_ROOT, which is truncated
        # in place while the table is built: the program must live on and
        # exit 0 every time.
        mods = subprocess.run(EMULATOR + [args.faststack, "modules"], text=True,
                              capture_output=True).stdout
        m = re.search(r" (/\S*/libc\.so\.6) build-id=([0-9a-f]+)", mods)
        dbg = (f"/usr/lib/debug/.build-id/{m.group(2)[:2]}/"
               f"{m.group(2)[2:]}.debug") if m else ""
        if not m or not os.path.exists(dbg):
            note(f"skip: libc's debug file is not installed ({dbg or '?'})")
            return 77
        runs = int(os.environ.get("FASTSTACK_STRESS_RUNS", "12"))
        with tempfile.TemporaryDirectory() as d:
            copy = os.path.join(d, ".build-id", m.group(2)[:2],
                                m.group(2)[2:] + ".debug")
            os.makedirs(os.path.dirname(copy))
            data = open(dbg, "rb").read()
            bad = []
            for i in range(runs):
                with open(copy, "wb") as f:
                    f.write(data)
                e = {k: v for k, v in os.environ.items()
                     if not k.startswith("FASTSTACK_") and k != "LD_PRELOAD"}
                e["FASTSTACK_DEBUG_ROOT"] = d
                p = subprocess.Popen(EMULATOR + [args.faststack, "run", "--table", "--",
                                      "sleep", "1"], env=e,
                                     stderr=subprocess.PIPE)
                time.sleep(0.05 + 0.6 * i / max(runs - 1, 1))
                with open(copy, "r+b") as f:
                    f.truncate(300000)
                try:
                    _, err = p.communicate(timeout=15)
                except subprocess.TimeoutExpired:
                    p.kill()
                    _, err = p.communicate()
                if p.returncode != 0:
                    bad.append((i, p.returncode,
                                err.decode(errors="replace")[-200:]))
            check(f"truncate_debug: the program lives on ({runs} runs, the "
                  "debug file truncated at different moments)", not bad,
                  detail=str(bad[:3]))
    elif c == "symbolize_flood":
        # `faststack symbolize --format` reads pasted, untrusted text: a log
        # with 200,000 raw frame lines in a row must come out whole, in
        # bounded memory (runs are cut into pieces).
        if EMULATOR:
            skipped.append("the emulator cannot map the program under the "
                           "address-space limit")
            return
        n = 200000
        text = "".join(f"#{i}  0x000055d2c1a2b3c4 /nonexistent/mod+0x{i:x}\n"
                       for i in range(n)).encode()

        # A sanitizer's shadow memory needs terabytes of address space:
        # there the bound is checked on peak RSS instead.
        sanitized = bool(os.environ.get("FS_TEST_CFLAGS"))

        def limit_as():
            if not sanitized:
                resource.setrlimit(resource.RLIMIT_AS, (768 << 20, 768 << 20))

        p = subprocess.run(EMULATOR + [args.faststack, "symbolize", "--format", "go"],
                           input=text, capture_output=True, timeout=120,
                           preexec_fn=limit_as)
        lines = p.stdout.count(b"\n")
        check("symbolize_flood: every frame comes out under a 768 MiB "
              "address-space limit", lines == 2 * n and p.returncode in (0, 1),
              detail=f"rc {p.returncode}, {lines} lines of {2 * n}")
        if sanitized:
            peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
            check("symbolize_flood: peak RSS under 768 MiB (sanitized build)",
                  peak < 768 << 10, detail=f"{peak} KiB")
        # One line of 300 MiB without a newline, then a frame: the line
        # passes through whole in bounded memory (it is read in pieces,
        # not into one buffer), under a 256 MiB limit (peak RSS in the
        # sanitized builds).
        big = 300 << 20

        def limit_small():
            if not sanitized:
                resource.setrlimit(resource.RLIMIT_AS, (256 << 20, 256 << 20))

        tail = b"\n#0  0x0000000000401000 /nonexistent/mod+0x10\n"
        p = subprocess.Popen(EMULATOR + [args.faststack, "symbolize", "--format", "go"],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                             preexec_fn=limit_small)
        got = []

        def reader():
            total, last = 0, b""
            while True:
                b = p.stdout.read(1 << 20)
                if not b:
                    break
                total += len(b)
                last = (last + b)[-200:]
            got.extend([total, last])

        t = threading.Thread(target=reader)
        t.start()
        chunk = b"x" * (1 << 20)
        try:
            for _ in range(big >> 20):
                p.stdin.write(chunk)
            p.stdin.write(tail)
            p.stdin.close()
        except BrokenPipeError:
            pass
        _, status, ru = os.wait4(p.pid, 0)
        p.returncode = -os.WTERMSIG(status) if os.WIFSIGNALED(status) \
            else os.WEXITSTATUS(status)
        t.join()
        if sanitized:
            check("symbolize_flood: the long line in under 256 MiB of peak "
                  "RSS (sanitized build)", ru.ru_maxrss < 256 << 10,
                  detail=f"{ru.ru_maxrss} KiB")
        check("symbolize_flood: a 300 MiB line passes through whole under a "
              "256 MiB address-space limit, and the frame after it too",
              got and got[0] >= big + 1 and b"/nonexistent/mod+0x10" in got[1],
              detail=f"rc {p.returncode}, {got[0] if got else 0} bytes out")
    elif c == "output_blocked":
        # Whatever the output does, the process ends by its signal within
        # the watchdog time plus 1 s: a FIFO nobody reads from (open would
        # block), a FIFO whose reader never reads, stderr a full pipe.
        wd = 2
        env = {"FASTSTACK_CRASH_WATCHDOG": str(wd)}
        with tempfile.TemporaryDirectory() as d:
            fifo = os.path.join(d, "fifo")
            os.mkfifo(fifo)
            rc, out, err, el = run([args.cases, "null"], timeout=wd + 4,
                                   env=dict(env, FASTSTACK_OUTPUT=fifo))
            check("output_blocked [FIFO, no reader]: ends by SIGSEGV",
                  rc == -SEGV, detail=str(rc))
            check(f"output_blocked [FIFO, no reader]: within {wd} + 1 s",
                  el < wd + 1, detail=f"{el:.2f} s")
            check("output_blocked [FIFO, no reader]: the report went to "
                  "stderr instead", "fatal signal SIGSEGV" in err)
            reader = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
            try:
                fill_pipe(fifo)
                rc, out, err, el = run([args.cases, "null"],
                                       timeout=wd + 4,
                                       env=dict(env, FASTSTACK_OUTPUT=fifo))
            finally:
                os.close(reader)
            check("output_blocked [FIFO, full, reader never reads]: ends by "
                  "SIGSEGV", rc == -SEGV, detail=str(rc))
            check("output_blocked [FIFO, full, reader never reads]: within "
                  f"{wd} + 1 s", el < wd + 1, detail=f"{el:.2f} s")
        if EMULATOR:
            # qemu-user writes its own "uncaught target signal" line to
            # stderr before it dies, and blocks on the full pipe itself.
            skipped.append("stderr a full pipe: the emulator's own message "
                           "blocks on it")
            return
        rc, el, hung = run_stderr_full([args.cases, "null"], env=env,
                                       timeout=wd + 4)
        check("output_blocked [stderr a full pipe]: ends by SIGSEGV",
              rc == -SEGV and not hung, detail=str(rc))
        check(f"output_blocked [stderr a full pipe]: within {wd} + 1 s",
              el < wd + 1, detail=f"{el:.2f} s")
        # The watchdog itself never waits for the output either: a report
        # that hangs (the test hook) with stderr a full pipe.
        rc, el, hung = run_stderr_full([args.cases, "watchdog"],
                                       timeout=wd + 4)
        check("output_blocked [hung report, stderr full]: the watchdog ends "
              "it by SIGSEGV", rc == -SEGV and not hung, detail=str(rc))
        check("output_blocked [hung report, stderr full]: within 1 + 1 s",
              el < 2, detail=f"{el:.2f} s")
        # Under `faststack run` the supervisor prints: its output full, it
        # still ends by the program's signal, three watchdog times after
        # the program ended (the report handed over at once).
        if not RUN_OK:
            skipped.append("faststack run cannot preload the program here")
            return
        rc, el, hung = run_stderr_full(
            [args.faststack, "run", "--", args.plain, "null"],
            env={"FASTSTACK_CRASH_WATCHDOG": "1"}, timeout=12)
        check("output_blocked [faststack run, stderr a full pipe]: the "
              "supervisor ends by SIGSEGV, not hung", rc == -SEGV and not hung,
              detail=f"rc {rc}")
        check("output_blocked [faststack run, stderr a full pipe]: within "
              "3 watchdog times + 2 s", el < 5, detail=f"{el:.2f} s")
    elif c == "output_epipe":
        # stderr a pipe whose reader is gone: the report's writes must not
        # raise SIGPIPE; the process dies by its own signal.
        r, w = os.pipe()
        os.close(r)
        try:
            rc, el, hung = run_stderr_fd([args.cases, "null"], w)
        finally:
            os.close(w)
        check("output_epipe: ends by SIGSEGV, not SIGPIPE", rc == -SEGV,
              detail=str(rc))
        if not RUN_OK:
            skipped.append("faststack run cannot start its target here")
            return
        r, w = os.pipe()
        os.close(r)
        try:
            rc, el, hung = run_stderr_fd(
                [args.faststack, "run", "--", args.plain, "null"], w)
        finally:
            os.close(w)
        check("output_epipe: the same under faststack run", rc == -SEGV,
              detail=str(rc))
    elif c == "stderr_reuse":
        with tempfile.TemporaryDirectory() as d:
            data = os.path.join(d, "data")
            rc, out, err, el = run([args.cases, "stderr_reuse"],
                                   env={"CRASH_DATA": data})
            basic(c, err, rc, el, SEGV, "SEGV_MAPERR")
            text = open(data).read()
            if EMULATOR:
                # qemu-user's own "uncaught target signal" line goes to
                # descriptor 2, which the program made its data file.
                text = "".join(x for x in text.splitlines(True)
                               if not x.startswith("qemu: "))
            check("stderr_reuse: the program's file holds only its data",
                  text == "program data\n", detail=text[:200])
            ok, fr = at_line(faulting(err), "null_store", "null")
            check("stderr_reuse: the report went to the original stderr",
                  ok, detail=str(fr))
    elif c == "asan_chain":
        # Sanitizer build only: ASan's SIGBUS handler (which the tier's
        # ASAN_OPTIONS turn off; this case turns it back on) was installed
        # first; we report, then chain to it, and it ends the process.
        rc, out, err, el = run([args.cases, "sigbus"], env={
            "ASAN_OPTIONS": os.environ.get("ASAN_OPTIONS", "") +
            ":handle_sigbus=1"})
        check("asan_chain: our report, then the sanitizer's",
              "fatal signal SIGBUS" in err and
              "calling the previous SIGBUS handler" in err and
              "AddressSanitizer" in err and
              err.index("fatal signal") < err.index("AddressSanitizer"),
              detail=err[-400:])
        check("asan_chain: the process ends as the sanitizer decides (exit "
              "1)", rc == 1, detail=str(rc))
        check("asan_chain: in time", el < 10 * SLOW, detail=f"{el:.2f}")
    else:
        print(f"unknown case {c}")
        return 2
    return None


if __name__ == "__main__":
    sys.exit(main())
