#!/usr/bin/env python3
"""as_tags.py — every public function says whether a signal handler may
call it, in one place.

Reads include/faststack.h. Each FASTSTACK_API function must have its own
comment block directly above its declaration, and that block must begin
with exactly one tag, "[AS-safe]" or "[not AS-safe]", and carry no other
(no second tag, no "Not AS-safe." in the prose), so a reader finds the
answer where the block starts. Prints every violation and exits 1 if
there is any.

Usage: as_tags.py [HEADER]
"""
import re
import sys

TAG = re.compile(r"\[(not )?AS-safe\]")
# Prose that states signal-safety outside the tag ("Not AS-safe.",
# "AS-safe."): the tag alone says it.
PROSE = re.compile(r"(?<![\[\w-])(?:[Nn]ot )?AS-safe(?!\])")
DECL = re.compile(r"^FASTSTACK_API\b[^;{]*?\b(faststack_\w+)\s*\(", re.S | re.M)


def blocks(text):
    """(start, end, body) of every /* ... */ comment."""
    return [(m.start(), m.end(), m.group(0))
            for m in re.finditer(r"/\*.*?\*/", text, re.S)]


def main():
    path = sys.argv[1] if len(sys.argv) > 1 else "include/faststack.h"
    text = open(path).read()
    comments = blocks(text)
    problems = []
    names = []
    for m in DECL.finditer(text):
        name = m.group(1)
        names.append(name)
        line = text.count("\n", 0, m.start()) + 1
        # The comment that ends right before the declaration (only
        # whitespace between them).
        block = None
        for s, e, body in comments:
            if e <= m.start() and text[e:m.start()].strip() == "":
                block = body
        if block is None:
            problems.append(f"{path}:{line}: {name}: no comment block "
                            "directly above its declaration")
            continue
        tags = TAG.findall(block)
        head = block[2:].lstrip()
        if len(tags) != 1:
            problems.append(f"{path}:{line}: {name}: {len(tags)} signal-safety "
                            "tags in its block (exactly one of [AS-safe] / "
                            "[not AS-safe])")
        elif not TAG.match(head):
            problems.append(f"{path}:{line}: {name}: the block does not begin "
                            "with its [AS-safe] / [not AS-safe] tag")
        prose = PROSE.findall(TAG.sub("", block))
        if prose:
            problems.append(f"{path}:{line}: {name}: signal-safety stated in "
                            f"prose besides the tag ({prose[0]!r})")
    for p in problems:
        print(p)
    print(f"as_tags: {len(names)} public functions, "
          f"{len(problems)} problems")
    return 1 if problems or not names else 0


if __name__ == "__main__":
    sys.exit(main())
