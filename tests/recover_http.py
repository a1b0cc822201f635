#!/usr/bin/env python3
"""recover_http.py — the http-recovery example end to end.

Starts the server on an ephemeral loopback port, requests /panic with
credentials (500; the report is logged with Authorization and Cookie
masked, the faulting function and its exact line), /abort (500, SIGABRT),
then /ok (200: the server kept serving), then stops it with SIGTERM and
expects a clean exit (status 0) in time.

  recover_http.py --server PATH --src examples/http-recovery/server.c
                  [--log text|json]
"""
import argparse
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

failures = 0


def check(cond, what):
    global failures
    if not cond:
        failures += 1
        print("CHECK failed: " + what, file=sys.stderr)


def get(port, path, headers=None):
    req = urllib.request.Request("http://127.0.0.1:%d%s" % (port, path),
                                 headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def wait_for(path, pattern, timeout=10.0):
    """The log's text once pattern appears in it (or what is there)."""
    end = time.time() + timeout
    text = ""
    while time.time() < end:
        with open(path, errors="replace") as f:
            text = f.read()
        if re.search(pattern, text):
            return text
        time.sleep(0.05)
    return text


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--server", required=True)
    ap.add_argument("--src", required=True)
    ap.add_argument("--log", default="text")
    a = ap.parse_args()

    # The faulting line: the NULL dereference in manager_name.
    with open(a.src) as f:
        src = f.read().split("\n")
    fault_line = next(i + 1 for i, l in enumerate(src)
                      if "return u->manager->name;" in l)

    log = tempfile.NamedTemporaryFile(prefix="recover_http_", suffix=".log",
                                      delete=False)
    proc = subprocess.Popen([a.server, "--port", "0", "--log", a.log],
                            stdout=subprocess.PIPE, stderr=log, text=True)
    try:
        first = proc.stdout.readline()
        m = re.match(r"listening on http://127\.0\.0\.1:(\d+)$", first.strip())
        check(m is not None, "port line: %r" % first)
        if not m:
            return 1
        port = int(m.group(1))
        check(port > 0, "an ephemeral port was picked")

        secret_auth = "Bearer s3cr3t-token-XYZ"
        secret_cookie = "session=c00kie-VALUE"
        st, body = get(port, "/panic", {"Authorization": secret_auth,
                                        "Cookie": secret_cookie,
                                        "X-Request-Id": "req-42"})
        check(st == 500, "/panic status %d" % st)
        text = wait_for(log.name, r"manager_name" if a.log == "text"
                        else r"\n")
        check(secret_auth not in text and "s3cr3t" not in text,
              "Authorization value leaked")
        check("c00kie" not in text, "Cookie value leaked")
        if a.log == "text":
            check(re.search(r"^\[Recovery\] \d{4}/\d\d/\d\d - \d\d:\d\d:\d\d "
                            r"panic recovered:$", text, re.M) is not None,
                  "the gin header line")
            check("GET /panic HTTP/1.1\n" in text, "the request line")
            check("Authorization: *\n" in text, "Authorization masked")
            check("Cookie: *\n" in text, "Cookie masked")
            check("X-Request-Id: req-42\n" in text, "other headers kept")
            check("panic recovered: SIGSEGV: segmentation violation "
                  "[code=1 (SEGV_MAPERR: address not mapped to object) "
                  "addr=0x0" in text, "the signal line")
            # The first frame: the faulting function at its exact line,
            # with the source line (gin format).
            m = re.search(r"SEGV_MAPERR[^\n]*\n([^\n]*)\n\t([^\n]*)\n", text)
            check(m is not None, "a first frame")
            if m:
                check(m.group(1).startswith("%s:%d (0x" % (
                    os.path.realpath(a.src), fault_line)) or
                      (":%d (0x" % fault_line in m.group(1) and
                       "server.c" in m.group(1)),
                      "first frame at server.c:%d: %r" % (fault_line,
                                                           m.group(1)))
                check(m.group(2).startswith("manager_name") and
                      "return u->manager->name;" in m.group(2),
                      "first frame's function and source: %r" % m.group(2))
            order = [text.find(f) for f in ("\tmanager_name", "\trender_profile",
                                            "\thandle_panic", "\troute:")]
            check(all(x >= 0 for x in order) and order == sorted(order),
                  "the caller chain %r" % order)
        else:
            line = text.strip().split("\n")[0]
            try:
                doc = json.loads(line)
            except ValueError as e:
                doc = None
                check(False, "a JSON log line: %s: %r" % (e, line[:200]))
            if doc:
                check(doc["msg"] == "panic recovered", "msg")
                rq = doc["request"]
                check(rq["method"] == "GET" and rq["path"] == "/panic" and
                      rq["proto"] == "HTTP/1.1", "request %r" % rq)
                check(rq["headers"].get("Authorization") == "*", "auth masked")
                check(rq["headers"].get("Cookie") == "*", "cookie masked")
                check(rq["headers"].get("X-Request-Id") == "req-42", "others")
                p = doc["panic"]
                check(p["signal"] == "SIGSEGV" and p["signo"] == 11 and
                      p["code_name"] == "SEGV_MAPERR" and p["addr"] == "0x0",
                      "panic fields %r" % {k: p[k] for k in p if k != "trace"})
                f0 = p["trace"]["frames"][0]
                check(f0["function"].startswith("manager_name") and
                      f0["file"].endswith("server.c") and
                      f0["line"] == fault_line, "first frame %r" % f0)

        before = len(text)
        st, body = get(port, "/abort")
        check(st == 500, "/abort status %d" % st)
        text = wait_for(log.name, r"SIGABRT")
        check("SIGABRT" in text[before:], "the abort is reported")

        st, body = get(port, "/ok")
        check(st == 200 and body == "ok\n", "/ok after the faults: %d %r" %
              (st, body))
        st, body = get(port, "/stats")
        check(st == 200 and json.loads(body)["recoveries"] == 2,
              "/stats %r" % body)

        proc.send_signal(signal.SIGTERM)
        try:
            rc = proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            rc = None
        check(rc == 0, "clean exit on SIGTERM: status %r" % rc)
        text = wait_for(log.name, r"stopped by signal 15", 2)
        check("stopped by signal 15 after 4 requests, 2 recoveries" in text,
              "the shutdown line")
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        if failures:
            with open(log.name, errors="replace") as f:
                sys.stderr.write("--- server log ---\n" + f.read())
        os.unlink(log.name)
    print("recover_http (%s): %s (%d failed checks)" % (
        a.log, "FAIL" if failures else "ok", failures), file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
