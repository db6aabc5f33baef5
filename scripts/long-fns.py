#!/usr/bin/env python3
"""List Rust functions longer than N lines (default 120) under src/: `scripts/long-fns.py [N]`.
Counts from the `fn` line to its closing brace at the same indentation (rustfmt layout).
Exit 1 when any is found (issue 9: no function over ~120 lines)."""
import os, re, sys

limit = int(sys.argv[1]) if len(sys.argv) > 1 else 120
root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "src")
found = []
for d, _, files in os.walk(root):
    for f in files:
        if not f.endswith(".rs"):
            continue
        p = os.path.join(d, f)
        lines = open(p, encoding="utf-8").read().split("\n")
        for i, l in enumerate(lines):
            m = re.match(r"^(\s*)(pub(\([^)]*\))? )?(const )?(async )?(unsafe )?fn (\w+)", l)
            if not m or l.rstrip().endswith(";"):
                continue
            ind = m.group(1)
            for j in range(i + 1, len(lines)):
                if lines[j] == ind + "}":
                    n = j - i + 1
                    if n > limit:
                        found.append((n, os.path.relpath(p, os.path.join(root, "..")), i + 1, m.group(7)))
                    break
for n, p, line, name in sorted(found, reverse=True):
    print(f"{n:5d}  {p}:{line}  {name}")
sys.exit(1 if found else 0)
