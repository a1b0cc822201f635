#!/usr/bin/env python3
"""json_schema.py — every JSON document faststack writes must validate
against docs/faststack.schema.json: the library's (json_outputs: a live
trace with source, an elided one, hostile strings with a filter, a
recovered fault), `faststack symbolize --json` and `faststack symbolize
--format json`. The schema must also reject documents that break its
number convention. Exits 77 (skipped) without python3-jsonschema."""
import json
import os
import subprocess
import sys

try:
    import jsonschema
except ImportError:
    print("skip: python3-jsonschema is not installed")
    sys.exit(77)

schema_path, outputs, faststack, prog = sys.argv[1:5]
# Cross-built programs run under the tier's emulator (qemu-user).
EMU = os.environ.get("FASTSTACK_TEST_EMULATOR", "").split()
schema = json.load(open(schema_path))
jsonschema.Draft202012Validator.check_schema(schema)
validator = jsonschema.Draft202012Validator(schema)
failures = 0


def validate(what, text, kind):
    global failures
    docs = [json.loads(line) for line in text.splitlines() if line.strip()]
    if not docs:
        print(f"FAIL: {what}: no document")
        failures += 1
    bad = 0
    for doc in docs:
        errs = list(validator.iter_errors(doc))
        sub = jsonschema.Draft202012Validator(
            {"$ref": "#/$defs/" + kind, "$defs": schema["$defs"]})
        errs += list(sub.iter_errors(doc))
        if errs:
            failures += 1
            bad += 1
            print(f"FAIL: {what}: {errs[0].message[:300]} at "
                  f"{list(errs[0].path)}")
    if not bad:
        print(f"ok: {what}: {len(docs)} document(s)")
    return docs


lib = subprocess.run(EMU + [outputs], capture_output=True, text=True, check=True)
lines = lib.stdout.splitlines()
validate("live trace with source", lines[0], "trace")
validate("elided trace", lines[1], "trace")
hostile = validate("hostile strings, filtered", lines[2], "trace")
validate("recovered fault", lines[3], "recovered")
if hostile and (hostile[0]["hidden"] != 1 or hostile[0]["frames"][0]
                ["function_offset"] != "0x0"):
    failures += 1
    print("FAIL: hidden count or hex offsets")

nm = subprocess.run(["nm", prog], capture_output=True, text=True).stdout
addr = next(l.split()[0] for l in nm.splitlines() if l.endswith(" plain_store"))
ans = subprocess.run(EMU + [faststack, "symbolize", "--json", "-e", prog,
                      "0x" + addr], capture_output=True, text=True)
validate("symbolize --json", ans.stdout, "answer")
raw = "#0  0x0000000000401000 %s+0x%x\n" % (prog, int(addr, 16) + 1)
fmt = subprocess.run(EMU + [faststack, "symbolize", "--format", "json"],
                     input=raw, capture_output=True, text=True)
validate("symbolize --format json", fmt.stdout, "trace")

# A crash report's text (every kind of line the crash handler writes) and
# a thread dump's, read back as one JSON object each.
frame = "#0  0x0000000000401000 %s+0x%x\n" % (prog, int(addr, 16) + 1)
report = ("\nfatal signal SIGSEGV: segmentation violation\n"
          "[signal SIGSEGV code=1 (SEGV_MAPERR: address not mapped to object)"
          " addr=0x0 pc=0x401000]\n"
          "stack overflow: the fault is next to the stack pointer\n"
          "pid 42, thread 43 \"a \\\"name\", 2026-11-22T14:09:08.083Z\n\n"
          "registers:\n  rax 0x0000000000000001  rbx 0x0000000000000002\n"
          "  r8  0x0000000000000003\n\n"
          "thread 43 \"a \\\"name\" [SIGSEGV, faulting]:\n" + frame +
          "...5 frames elided...\n" + frame +
          "\n2 threads with this stack: 44 45\n"
          "  first: thread 44 \"w\" [sleeping]\n" + frame +
          "\nthread 46: did not answer in time (it blocks SIGRTMIN+30)\n"
          "\nfaststack: ending the process with SIGSEGV\n"
          "thread dump (SIGUSR2): pid 42, 2026-11-22T14:09:09.000Z\n\n"
          "thread 42 [dumping]:\n" + frame + "\nafter the dump\n")
fmt = subprocess.run(EMU + [faststack, "symbolize", "--format", "json"],
                     input=report, capture_output=True, text=True)
docs = validate("a crash report and a dump, --format json",
                "\n".join(l for l in fmt.stdout.splitlines()
                          if l.startswith("{")), "report")
want = [("report", "crash"), ("signal", "SIGSEGV"), ("signo", 11),
        ("code", 1), ("code_name", "SEGV_MAPERR"), ("addr", "0x0"),
        ("pid", 42), ("tid", 43), ("thread_name", 'a \\"name'),
        ("stack_overflow", True), ("complete", True),
        ("end", "ending the process with SIGSEGV")]
crash = docs[0] if docs else {}
for k, v in want:
    if crash.get(k) != v:
        failures += 1
        print(f"FAIL: crash report {k}: {crash.get(k)!r}, want {v!r}")
th = crash.get("threads", [])
if (len(th) != 2 or th[0]["frames"][0]["function"] != "plain_store" or
        th[0]["elided"] != 5 or len(th[0]["frames"]) != 2 or
        th[1].get("count") != 2 or th[1].get("tids") != [44, 45] or
        crash.get("registers", {}).get("r8") != "0x0000000000000003"):
    failures += 1
    print(f"FAIL: the crash report's threads or registers: {crash}")
if len(docs) != 2 or docs[1].get("report") != "dump" or \
        "after the dump" not in fmt.stdout:
    failures += 1
    print(f"FAIL: the dump, then the text after it: {fmt.stdout[-400:]}")

# The schema can fail: a decimal offset, an upper-case address.
bad = json.loads(lines[2])
bad["frames"][0]["function_offset"] = 43
bad2 = json.loads(lines[2])
bad2["frames"][0]["pc"] = "0X401000"
for doc in (bad, bad2):
    if validator.is_valid(doc):
        failures += 1
        print("FAIL: the schema accepted a broken document")
print(f"test_json_schema: {failures} failed")
sys.exit(1 if failures else 0)
