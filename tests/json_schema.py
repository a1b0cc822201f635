#!/usr/bin/env python3
"""json_schema.py — every JSON document faststack writes must validate
against docs/faststack.schema.json: the library's (json_outputs: a live
trace with source, an elided one, hostile strings with a filter, a
recovered fault), `faststack symbolize --json` and `faststack symbolize
--format json`. The schema must also reject documents that break its
number convention. Exits 77 (skipped) without python3-jsonschema."""
import json
import subprocess
import sys

try:
    import jsonschema
except ImportError:
    print("skip: python3-jsonschema is not installed")
    sys.exit(77)

schema_path, outputs, faststack, prog = sys.argv[1:5]
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


lib = subprocess.run([outputs], capture_output=True, text=True, check=True)
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
ans = subprocess.run([faststack, "symbolize", "--json", "-e", prog,
                      "0x" + addr], capture_output=True, text=True)
validate("symbolize --json", ans.stdout, "answer")
raw = "#0  0x0000000000401000 %s+0x%x\n" % (prog, int(addr, 16) + 1)
fmt = subprocess.run([faststack, "symbolize", "--format", "json"],
                     input=raw, capture_output=True, text=True)
validate("symbolize --format json", fmt.stdout, "trace")

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
