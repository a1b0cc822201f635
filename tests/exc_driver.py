#!/usr/bin/env python3
"""exc_driver.py — runs the C++ exception cases and checks them.

exc_cases (linked with faststack) prints, per in-process case, the frames
of the trace recorded at the throw (resolved in-process) and what
faststack_print_exception wrote; every case must name the function and
the exact file:line of its `throw` (THROW:<name> markers in the sources)
or of the call that rethrew an exception that had no trace (SITE:<name>).
exc_plain (not linked) runs under `faststack run`: an uncaught exception,
one leaving a noexcept function, a joinable std::thread destroyed; each
must print the terminate report (type, what(), throw site or reason) and
die by SIGABRT (exit status 134 in a shell). Exits 77 (skip) when the
programs were not built (no such C++ compiler), and after the other
checks pass when some could not run here (the reasons are printed).
"""
import argparse
import os
import re
import signal
import subprocess
import sys

args = None
failures = 0
skipped = []  # checks that could not run here: the test exits 77

# A cross build's programs run under an emulator (the aarch64 tier sets
# FASTSTACK_TEST_EMULATOR="qemu-aarch64 -L /"). Read here: run() keeps
# FASTSTACK_* variables from the programs. qemu-user without binfmt_misc
# cannot follow an exec of a foreign binary, so `faststack run` cannot
# start its target under it.
EMULATOR = os.environ.get("FASTSTACK_TEST_EMULATOR", "").split()
RUN_OK = not EMULATOR


def check(what, cond, detail=""):
    global failures
    if cond:
        print(f"ok: {what}", flush=True)
    else:
        failures += 1
        print(f"FAIL: {what}{': ' + detail if detail else ''}", flush=True)
    return cond


def markers():
    res = {}
    for fn in ("exc_cases.cpp", "exc_lib.cpp", "exc_plain.cpp",
               "exc_nothrow.cpp"):
        with open(os.path.join(args.src, fn)) as f:
            for i, line in enumerate(f, 1):
                m = re.search(r"(THROW|SITE):(\w+)", line)
                if m:
                    res[m.group(2)] = (fn, i)
    return res


def run(cmd, env=None, timeout=60):
    e = {k: v for k, v in os.environ.items()
         if not k.startswith("FASTSTACK_") and k != "LD_PRELOAD"}
    e.update(env or {})
    p = subprocess.run(EMULATOR + list(cmd), capture_output=True, env=e,
                       timeout=timeout,
                       preexec_fn=lambda: __import__("resource").setrlimit(
                           __import__("resource").RLIMIT_CORE, (0, 0)))
    return (p.returncode, p.stdout.decode(errors="replace"),
            p.stderr.decode(errors="replace"))


def blocks(out):
    """{name: {"frames": {i: [(func, file, line)...]}, "text": [...]}}"""
    res, cur = {}, None
    for ln in out.split("\n"):
        m = re.match(r"^== (\w+)$", ln)
        if m:
            if m.group(1) == "end":
                cur = None
            else:
                cur = res.setdefault(m.group(1), {"frames": {}, "text": [],
                                                  "pcs": 0})
            continue
        if cur is None:
            continue
        f = re.match(r"^f(\d+) (.*) (\S+):(\d+)$", ln)
        p = re.match(r"^pcs (\d+)$", ln)
        if f:
            cur["frames"].setdefault(int(f.group(1)), []).append(
                (f.group(2), f.group(3), int(f.group(4))))
        elif p:
            cur["pcs"] = int(p.group(1))
        else:
            cur["text"].append(ln)
    return res


def frame0(b):
    fr = b["frames"].get(0)
    return fr[0] if fr else ("??", "??", 0)


def at_marker(fr, mark, func):
    fn, line = M[mark]
    return fr[0] == func and fr[1] == fn and fr[2] == line


def check_site(b, name, mark, func):
    fr = frame0(b)
    check(f"{name}: entry 0 is {func} at {M[mark][0]}:{M[mark][1]}",
          at_marker(fr, mark, func), f"got {fr}")


def check_text(b, name, first):
    t = b["text"]
    check(f"{name}: prints {first!r}", len(t) > 1 and t[0] == first,
          f"got {t[:2]}")
    check(f"{name}: then the thrower's thread",
          len(t) > 1 and t[1].startswith("thrown in thread "), f"got {t[:2]}")


def go_frames(text):
    """[(func, file, line)] from Go-style frames in text."""
    out = []
    lines = text.split("\n")
    for i, ln in enumerate(lines):
        # "name(...)", or a C++ name with its own parameter list and no
        # "(...)"; either may end in " (inlined)"; the next line is
        # "\tfile:line".
        m = re.match(r"^(\S.*?)(?:\(\.\.\.\))?( \(inlined\))?$", ln)
        if m and i + 1 < len(lines) and lines[i + 1].startswith("\t"):
            loc = re.match(r"^\t(\S+):(\d+)", lines[i + 1])
            if loc:
                out.append((m.group(1), os.path.basename(loc.group(1)),
                            int(loc.group(2))))
            else:
                out.append((m.group(1), "??", 0))
    return out


def in_process():
    rc, out, err = run([args.cases, "all"])
    check("exc_cases all: exit 0", rc == 0, f"rc {rc}\n{out}\n{err}")
    B = blocks(out)
    for name in ("deep", "rethrow", "thread", "lib", "nested_inner",
                 "nested_outer", "make_ptr", "vector_at", "multi", "int",
                 "plain"):
        if not check(f"case {name} ran", name in B):
            B[name] = {"frames": {}, "text": [], "pcs": 0}
    b = B["deep"]
    check_site(b, "deep", "deep", "deep_c(int)")
    chain = [b["frames"].get(i, [("??",)])[0][0] for i in range(1, 4)]
    check("deep: then deep_b, deep_a, all", chain ==
          ["deep_b(int)", "deep_a(int)", "all()"], f"got {chain}")
    check_text(b, "deep", "exception std::runtime_error: deep failure")
    gf = go_frames("\n".join(b["text"]))
    check("deep: printed frames start at the throw",
          gf[:1] == [("deep_c(int)", "exc_cases.cpp", M["deep"][1])],
          f"got {gf[:2]}")

    b = B["rethrow"]
    check_site(b, "rethrow (throw;)", "rethrow", "re_c()")
    check("rethrow: re_b (which rethrew) is the caller, at its call",
          b["frames"].get(1, [("??",)])[0][0] == "re_b()")
    check_text(b, "rethrow", "exception std::logic_error: original site")

    b = B["thread"]
    check_site(b, "exception_ptr to another thread", "thread", "th_throw()")
    check("thread: th_worker below it",
          b["frames"].get(1, [("??",)])[0][0] == "th_worker()")
    wt = re.search(r"^worker (\d+)$", out, re.M)
    check("thread: printed with the worker's thread id",
          wt is not None and len(b["text"]) > 1 and
          b["text"][1].startswith(f"thrown in thread {wt.group(1)}"),
          f"got {b['text'][:2]}")

    b = B["lib"]
    check_site(b, "shared library", "lib", "lib_throw_inner(int)")
    check("lib: lib_throw, then all()",
          [b["frames"].get(i, [("??",)])[0][0] for i in (1, 2)] ==
          ["lib_throw", "all()"])
    check_text(b, "lib", "exception std::range_error: from the library")

    check_site(B["nested_inner"], "nested: inner", "nest_inner",
               "nest_inner()")
    check_text(B["nested_inner"], "nested_inner",
               "exception std::out_of_range: inner")
    check_site(B["nested_outer"], "nested: outer again after the inner",
               "nest_outer", "nest_outer()")
    check_text(B["nested_outer"], "nested_outer",
               "exception std::invalid_argument: outer")

    check_site(B["make_ptr"], "make_exception_ptr: first rethrow's site",
               "make_ptr", "mk_rethrow(std::__exception_ptr::exception_ptr)")

    b = B["vector_at"]
    site = [(i, f) for i, fs in b["frames"].items() for f in fs
            if f[0].startswith("vec_at(")]
    check("vector::at (thrown inside libstdc++): vec_at at its call",
          bool(site) and site[0][1][1:] == tuple(M["vector_at"]),
          f"got {b['frames']}")
    check("vector::at: the type",
          b["text"][:1] and b["text"][0].startswith(
              "exception std::out_of_range: vector::_M_range_check"),
          f"got {b['text'][:1]}")

    check_site(B["multi"], "std::exception as a second base", "multi",
               "throw_multi()")
    check_text(B["multi"], "multi", "exception Multi: multi what")
    check_site(B["int"], "throw 42", "int", "throw_int()")
    check_text(B["int"], "int", "exception int")
    check_site(B["plain"], "a type not derived from std::exception",
               "plain", "throw_plain()")
    check_text(B["plain"], "plain", "exception plain_error")
    check("race: every thread read its own throw's trace",
          "race bad 0" in out)
    check("no record outlives its exception", "live 0" in out)
    check("the program's own checks", "failures 0" in out, out[-300:])


def terminate_report(err):
    """The terminate report's lines (up to the crash report, if any)."""
    return err.split("\nfatal signal")[0]


def check_terminate(name, rc, err, first, mark, func):
    rep = terminate_report(err)
    check(f"{name}: dies by SIGABRT", rc == -signal.SIGABRT,
          f"rc {rc}\n{err}")
    check(f"{name}: {first!r}", rep.startswith(first), f"got {rep[:300]}")
    gf = go_frames(rep)
    fn, line = M[mark]
    check(f"{name}: trace starts at {func} {fn}:{line}",
          gf[:1] == [(func, fn, line)], f"got {gf[:3]}")


def terminate():
    rc, out, err = run([args.cases, "uncaught"])
    check_terminate("linked, uncaught", rc, err,
                    "terminate called after throwing std::runtime_error: "
                    "linked uncaught\nthrown in thread ",
                    "linked_uncaught", "linked_uncaught()")
    rc, out, err = run([args.cases, "own_handler"])
    check("the program's own terminate handler runs after the report",
          rc == 3 and err.startswith("terminate called after throwing") and
          err.rstrip().endswith("own handler called"), f"rc {rc}\n{err}")
    rc, out, err = run([args.cases, "off"],
                       env={"FASTSTACK_EXCEPTIONS": "0"})
    check("FASTSTACK_EXCEPTIONS=0: nothing recorded, nothing printed",
          rc == 0 and "off pcs 0 print -1 live 0" in out, f"{out}{err}")
    rc, out, err = run([args.plain, "uncaught"])
    check("without faststack: libstdc++'s message, SIGABRT",
          rc == -signal.SIGABRT and "an instance of" in err, err[:300])
    for kind in ("shared", "static"):
        nt = os.path.join(os.path.dirname(args.cases), "exc_nothrow_" + kind)
        rc, out, err = run([nt])
        gf = go_frames(out)
        fn, line = M["nothrow"]
        check(f"no throw of its own, {kind} library: libstdc++'s throw "
              f"recorded, through lookup() at {fn}:{line}",
              rc == 0 and "exception std::out_of_range" in out and
              any(f[0].startswith("lookup(") and f[1:] == (fn, line)
                  for f in gf), f"rc {rc}\n{out}{err}")
    st = os.path.join(os.path.dirname(args.cases), "exc_static")
    rc, out, err = run([st])
    check("-static-libstdc++: throws, rethrows, rethrow_exception work "
          "(libstdc++'s own definitions; nothing recorded)",
          rc == 0 and "caught 1 rethrown 1 ptr 1 pcs 0" in out,
          f"rc {rc} {out}{err}")


def under_run():
    """exc_plain, not linked with faststack, under `faststack run`."""
    fs = args.faststack
    rc, out, err = run([fs, "run", "--", args.plain, "uncaught"])
    check_terminate("faststack run, uncaught", rc, err,
                    "terminate called after throwing std::runtime_error: "
                    "plain uncaught\nthrown in thread ",
                    "plain_uncaught", "plain_throw(int)")
    check("faststack run, uncaught: the crash report says why",
          "raised by std::terminate, after the report above" in err)
    rc, out, err = run([fs, "run", "--", args.plain, "noexcept"])
    check_terminate("faststack run, noexcept", rc, err,
                    "terminate called after throwing std::runtime_error: "
                    "plain uncaught\nit left ", "plain_uncaught",
                    "plain_throw(int)")
    rep = terminate_report(err)
    check("noexcept: names the function when the code says (clang) or "
          "the rule", "it left the noexcept function plain_noexcept(int)"
          in rep or "it left a noexcept function" in rep, rep[:300])
    rc, out, err = run([fs, "run", "--", args.plain, "thread"])
    rep = terminate_report(err)
    check("faststack run, joinable std::thread destroyed: SIGABRT",
          rc == -signal.SIGABRT, f"rc {rc}")
    check("joinable std::thread: says so", rep.startswith(
        "terminate called without an active exception: a std::thread was "
        "destroyed while still joinable"), rep[:300])
    gf = go_frames(rep)
    check("joinable std::thread: the trace reaches plain_thread()",
          any(f[0] == "plain_thread()" for f in gf), f"got {gf}")
    rc, out, err = run([fs, "run", "--", args.plain, "uncaught"],
                       env={"FASTSTACK_EXCEPTIONS": "0"})
    check("faststack run with FASTSTACK_EXCEPTIONS=0: libstdc++'s message",
          rc == -signal.SIGABRT and "terminate called after throwing an "
          "instance of 'std::runtime_error'" in err and
          "thrown in thread" not in err, err[:300])


def main():
    global args, M
    ap = argparse.ArgumentParser()
    ap.add_argument("--cases", required=True)
    ap.add_argument("--plain", required=True)
    ap.add_argument("--faststack", required=True)
    ap.add_argument("--src", required=True)
    # Two tests: the programs on their own, and under `faststack run`
    # (which an emulator cannot run: it would have to follow the exec).
    ap.add_argument("--part", choices=("main", "run"), default="main")
    args = ap.parse_args()
    if not (os.path.exists(args.cases) and os.path.exists(args.plain)):
        print("skip: the C++ test programs were not built (no compiler)")
        return 77
    M = markers()
    if args.part == "main":
        in_process()
        terminate()
    elif RUN_OK:
        under_run()
    else:
        skipped.append("faststack run (uncaught, noexcept, joinable "
                       "std::thread, FASTSTACK_EXCEPTIONS=0): the emulator "
                       "cannot follow its exec of the program")
    print(f"exceptions: {failures} failure(s)")
    if failures:
        return 1
    if skipped:
        print(f"exceptions: skipped: {'; '.join(skipped)}")
        return 77
    return 0


if __name__ == "__main__":
    sys.exit(main())
