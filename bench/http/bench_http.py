#!/usr/bin/env python3
"""bench_http — the http-recovery example under load (loopback only).

Two wrk instances at once: one drives /ok as fast as 8 connections go
(its latency is the one reported), the other /panic at a bounded rate
(3 connections, PANIC_DELAY_MS between requests). Runs:

  baseline   /ok alone
  (control, faststack and gin-way alternate, two rounds)
  control    /ok + the second wrk sending /ok at the /panic rate: the same
             traffic without faults (the latency reference: on a small
             machine the second load generator alone costs latency)
  faststack  /ok + /panic, reports built by faststack (cached, one call)
  gin-way    /ok + /panic, reports built the gin way (--gin-way: every
             frame's whole source file read for every report)
  capacity   /panic alone, unthrottled, for each way (recoveries/s ceiling)

For each: requests/s, /ok latency percentiles, recoveries per second
(from the server's own counter), RSS and open descriptors after a warm-up
and at the end. Reports go to a log file, as a server's would.

  bench_http.py --server PATH [--seconds N] [--wrk wrk]

BENCH_HTTP_SECONDS overrides the length of the mixed runs (default 8).
"""
import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
# The control run: the second wrk sends /ok instead of /panic.
CONTROL = False
# /panic connections: at 4 ms apart, about 500 recoveries/s when the
# server keeps up: 30,000 a minute, 1.5 times the 20,000/min target.
PANIC_CONNS = 3


def proc_stats(pid):
    rss = 0
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                rss = int(line.split()[1])
    fds = len(os.listdir("/proc/%d/fd" % pid))
    return rss, fds


class Server:
    def __init__(self, path, extra, logdir):
        self.log = tempfile.NamedTemporaryFile(dir=logdir, prefix="bench_http_",
                                               suffix=".log", delete=False)
        self.p = subprocess.Popen([path, "--port", "0"] + extra,
                                  stdout=subprocess.PIPE, stderr=self.log,
                                  text=True)
        line = self.p.stdout.readline()
        m = re.search(r":(\d+)$", line.strip())
        if not m:
            raise SystemExit("bench_http: server did not start: %r" % line)
        self.port = int(m.group(1))
        self.url = "http://127.0.0.1:%d" % self.port

    def recoveries(self):
        with urllib.request.urlopen(self.url + "/stats", timeout=10) as r:
            return json.loads(r.read())["recoveries"]

    def stop(self):
        self.p.terminate()
        try:
            self.p.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.p.kill()
            self.p.wait()
        size = os.path.getsize(self.log.name)
        os.unlink(self.log.name)
        return size


def wrk(wrk_bin, script, url, conns, seconds, env=None):
    env = dict(env or {})
    if CONTROL and script == "panic.lua":
        env["PANIC_PATH"] = "/ok"
    e = dict(os.environ)
    e.update(env)
    return subprocess.Popen([wrk_bin, "-t1", "-c%d" % conns,
                             "-d%ds" % seconds, "--timeout", "5s",
                             "-s", os.path.join(HERE, script), url + "/"],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, env=e)


def result(p):
    out, _ = p.communicate()
    for line in out.splitlines():
        if line.startswith("JSON "):
            return json.loads(line[5:])
    raise SystemExit("bench_http: wrk said:\n" + out)


def run(a, name, extra, ok, panic, seconds, delay_ms=4, warm=1,
        control=False):
    global CONTROL
    CONTROL = control
    srv = Server(a.server, extra, a.logdir)
    try:
        # Warm-up: first reports fill the symbolizer's and trace caches;
        # "start" RSS and fds are measured after it, under load.
        warmers = []
        if ok:
            warmers.append(wrk(a.wrk, "ok.lua", srv.url, 8, warm))
        if panic:
            warmers.append(wrk(a.wrk, "panic.lua", srv.url, PANIC_CONNS, warm,
                               {"PANIC_DELAY_MS": str(delay_ms)}))
        for w in warmers:
            result(w)
        # Closed connections take a moment to leave the server's table.
        time.sleep(0.5)
        rss0, fd0 = proc_stats(srv.p.pid)
        rec0 = srv.recoveries()
        t0 = time.time()
        procs = []
        if ok:
            procs.append(("ok", wrk(a.wrk, "ok.lua", srv.url, 8, seconds)))
        if panic:
            procs.append(("panic", wrk(a.wrk, "panic.lua", srv.url, PANIC_CONNS, seconds,
                                       {"PANIC_DELAY_MS": str(delay_ms)})))
        # Mid-run samples: RSS and fds must stay flat, not only end flat.
        samples = []
        while any(p.poll() is None for _, p in procs):
            time.sleep(1)
            try:
                samples.append(proc_stats(srv.p.pid))
            except OSError:
                break
        res = {k: result(p) for k, p in procs}
        dt = time.time() - t0
        rec1 = srv.recoveries()
        time.sleep(0.5)
        rss1, fd1 = proc_stats(srv.p.pid)
    finally:
        logsize = srv.stop()
    r = {"name": name, "seconds": dt, "rss0": rss0, "rss1": rss1,
         "rss_max": max([s[0] for s in samples] + [rss1]),
         "fd0": fd0, "fd1": fd1, "fd_max": max([s[1] for s in samples] + [fd1]),
         "rec_s": (rec1 - rec0) / dt, "log_mb": logsize / 1e6}
    if "ok" in res:
        o = res["ok"]
        r.update(ok_rps=o["requests"] / (o["duration_us"] / 1e6),
                 p50=o["p50"], p90=o["p90"], p99=o["p99"], p999=o["p999"],
                 ok_bad=o["non2xx"] + o["socket_errors"])
    if "panic" in res:
        p = res["panic"]
        r.update(panic_rps=p["requests"] / (p["duration_us"] / 1e6),
                 panic_p50=p["p50"], panic_p99=p["p99"],
                 panic_not500=p["requests"] - p["non2xx"] + p["socket_errors"])
    return r


def pct(a, b):
    return 100.0 * (b - a) / a if a else 0.0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--server", required=True)
    ap.add_argument("--wrk", default=shutil.which("wrk") or "wrk")
    ap.add_argument("--seconds", type=int,
                    default=int(os.environ.get("BENCH_HTTP_SECONDS", "8")))
    ap.add_argument("--logdir", default=tempfile.gettempdir())
    a = ap.parse_args()
    if not shutil.which(a.wrk):
        print("bench_http: wrk not found (apt-get install wrk); skipped")
        return 0
    s = a.seconds
    print("http-recovery under wrk, loopback, %d CPUs; /ok: 8 connections "
          "unthrottled; /panic: %d connections, 4 ms between requests; %d s "
          "per mixed run" % (os.cpu_count(), PANIC_CONNS, s))
    # Control, faststack and gin-way alternate, twice: on a shared machine
    # the load drifts, and each faulting run is compared with the control
    # next to it.
    runs = [run(a, "baseline (/ok only)", [], True, False, max(5, s // 2))]
    rounds = []
    for k in (1, 2):
        ctl = run(a, "control #%d (no faults)" % k, [], True, True, s,
                  control=True)
        fs = run(a, "faststack #%d" % k, [], True, True, s)
        gw = run(a, "gin-way #%d" % k, ["--gin-way"], True, True, s)
        runs += [ctl, fs, gw]
        rounds.append((ctl, fs, gw))
    cap_fs = run(a, "capacity faststack", [], False, True, 5, delay_ms=0,
                 warm=1)
    cap_gw = run(a, "capacity gin-way", ["--gin-way"], False, True, 5,
                 delay_ms=0, warm=1)
    runs += [cap_fs, cap_gw]
    print()
    print("%-24s %9s %8s %8s %8s %8s %10s %10s %12s %8s %6s" % (
        "run", "ok req/s", "p50 us", "p90 us", "p99 us", "p99.9", "recov/s",
        "recov/min", "RSS KiB", "RSS %", "fds"))
    for r in runs:
        print("%-24s %9s %8s %8s %8s %8s %10.0f %10.0f %5d->%-6d %+7.1f%% %2d->%d"
              % (r["name"],
                 "%.0f" % r["ok_rps"] if "ok_rps" in r else "-",
                 r.get("p50", "-"), r.get("p90", "-"), r.get("p99", "-"),
                 r.get("p999", "-"), r["rec_s"], r["rec_s"] * 60,
                 r["rss0"], r["rss1"], pct(r["rss0"], r["rss1"]),
                 r["fd0"], r["fd1"]))
    base = runs[0]
    fss = [f for _, f, _ in rounds]
    gws = [g for _, _, g in rounds]
    print()
    errors = sum(r.get("ok_bad", 0) + r.get("panic_not500", 0)
                 for r in runs if "control" not in r["name"])
    print("failed /ok or non-500 /panic answers: %d" % errors)
    for (ctl, fs, gw) in rounds:
        print("%s: /panic p50/p99 us: faststack %d/%d, gin-way %d/%d; /ok p99 "
              "control %d, faststack %d, gin-way %d" % (
                  fs["name"].split()[-1], fs["panic_p50"], fs["panic_p99"],
                  gw["panic_p50"], gw["panic_p99"], ctl["p99"], fs["p99"],
                  gw["p99"]))
    print("RSS max during the faststack runs: %s KiB; fds max %s" % (
        ", ".join("%d (%+.1f%%)" % (f["rss_max"], pct(f["rss0"], f["rss_max"]))
                  for f in fss), ", ".join(str(f["fd_max"]) for f in fss)))
    print("log written per run: faststack %.1f MB, gin-way %.1f MB" % (
        fss[0]["log_mb"], gws[0]["log_mb"]))
    worst_rss = max(abs(pct(f["rss0"], f["rss1"])) for f in fss)
    checks = [
        (">= 20,000 recoveries/min sustained (faststack: %s)" % ", ".join(
            "%.0f" % (f["rec_s"] * 60) for f in fss),
         all(f["rec_s"] * 60 >= 20000 for f in fss)),
        ("RSS flat within 5%% (faststack, worst run: %.1f%%)" % worst_rss,
         worst_rss <= 5),
        ("fds flat (faststack: %s)" % ", ".join(
            "%d -> %d" % (f["fd0"], f["fd1"]) for f in fss),
         all(abs(pct(f["fd0"], f["fd1"])) <= 5 for f in fss)),
        ("/ok p99 within 2x of the control next to it (%s)" % ", ".join(
            "%d vs %d us" % (f["p99"], c["p99"]) for c, f, _ in rounds),
         all(f["p99"] <= 2 * c["p99"] for c, f, _ in rounds)),
        ("/ok p99 within 2x of /ok alone (%s vs %d us)" % (
            ", ".join(str(f["p99"]) for f in fss), base["p99"]),
         all(f["p99"] <= 2 * base["p99"] for f in fss)),
        ("capacity over gin-way (%.0f vs %.0f recoveries/s, %.1fx)" % (
            cap_fs["rec_s"], cap_gw["rec_s"],
            cap_fs["rec_s"] / cap_gw["rec_s"] if cap_gw["rec_s"] else 0),
         cap_fs["rec_s"] > 1.5 * cap_gw["rec_s"]),
    ]
    for what, ok in checks:
        print("  [%s] %s" % ("met" if ok else "NOT MET", what))
    return 0


if __name__ == "__main__":
    sys.exit(main())
