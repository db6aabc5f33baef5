#!/usr/bin/env python3
"""The import graph of src/ (issue 9): which stage uses which, checked against the layering in
docs/architecture.md, and cycles between files. `scripts/imports.py` prints violations and
exits 1 if any; `scripts/imports.py --graph` prints the stage graph.

A use is any path `crate::a::b…` or `super::…` in a file (imports and qualified calls alike),
resolved to the longest prefix that is a file or module. Lines in `#[cfg(test)]` modules at the
end of a file are left out (tests may reach anywhere)."""
import os, re, sys

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "src")
ROOT = os.path.normpath(ROOT)

# Stage → stages it may use. Leaves every stage may use: error, out (printing macros are only
# called by commands, but the module defines the error type for output), fsio (bounded reads),
# settings (the table of known settings), text (terminal-safe escaping of outside strings).
LEAVES = {"error", "fsio", "settings", "out", "text"}
ALLOWED = {
    "main": {"commands", "cli", "render", "error", "out"},
    "lib": set(),
    "commands": {"cli", "snapshot", "model", "profile", "plan", "apply", "flood", "render",
                 "explain"},
    "cli": {"model", "snapshot", "profile", "flood", "plan", "apply", "explain"},
    "explain": {"model", "snapshot"},
    "plan": {"profile", "model", "snapshot"},
    "apply": {"plan", "profile", "snapshot", "model"},
    "flood": {"model", "snapshot"},
    "render": {"model", "plan", "apply", "flood", "snapshot", "explain"},
    "profile": {"model", "snapshot"},
    "model": {"snapshot"},
    "snapshot": set(),
    "settings": {"snapshot", "text"},
    "error": set(),
    "out": {"error", "text"},
    "text": set(),
    "fsio": {"error"},
}


def module_of(path):
    rel = os.path.relpath(path, ROOT)[:-3].split(os.sep)
    if rel[-1] == "mod":
        rel = rel[:-1]
    return rel


files = {}
for d, _, fs in os.walk(ROOT):
    for f in fs:
        if f.endswith(".rs"):
            p = os.path.join(d, f)
            files[tuple(module_of(p))] = p


def resolve(parts):
    """Longest prefix of `parts` that is a module (file)."""
    for n in range(len(parts), 0, -1):
        if tuple(parts[:n]) in files:
            return tuple(parts[:n])
    return None


def strip_tests(text):
    i = text.find("#[cfg(test)]\nmod tests")
    return text if i < 0 else text[:i]


PATH = re.compile(r"\b(crate|super)((?:::\w+)+)")
GROUP = re.compile(r"\b(crate|super)((?:::\w+)*)::\{([^;]*?)\};", re.S)
edges = {}
for mod, p in files.items():
    text = strip_tests(open(p, encoding="utf-8").read())
    text = re.sub(r"//[^\n]*", "", text)
    here = list(mod) if os.path.basename(p) == "mod.rs" or not mod else list(mod)
    def base(kind):
        if kind == "crate":
            return []
        # super:: of a file a/b.rs is a; of a/mod.rs is a's parent
        if os.path.basename(p) in ("mod.rs",):
            return list(mod[:-1])
        return list(mod[:-1])
    targets = set()
    for m in GROUP.finditer(text):
        pre = base(m.group(1)) + [s for s in m.group(2).split("::") if s]
        for item in re.split(r",\s*", m.group(3)):
            item = item.strip()
            if not item:
                continue
            head = re.split(r"::|\s|\{", item)[0]
            if head == "self":
                t = resolve(pre)
            else:
                t = resolve(pre + [s for s in re.split(r"::", item.split("{")[0]) if s and s.isidentifier()])
            if t:
                targets.add(t)
    for m in PATH.finditer(text):
        parts = base(m.group(1)) + [s for s in m.group(2).split("::") if s]
        t = resolve(parts)
        if t:
            targets.add(t)
    # `use super::*;` (or `use crate::a::*;`) brings the parent's child modules into scope:
    # then a bare `sibling::item` is a use of that sibling too.
    for m in re.finditer(r"use (crate|super)((?:::\w+)*)::\*;", text):
        parent = base(m.group(1)) + [x for x in m.group(2).split("::") if x]
        for child in files:
            if len(child) == len(parent) + 1 and list(child[:-1]) == parent:
                if re.search(r"(?<![\w:])" + child[-1] + r"::", text):
                    targets.add(child)
    targets.discard(mod)
    edges[mod] = targets


def stage(mod):
    if not mod:
        return "lib"
    if mod == ("main",):
        return "main"
    return mod[0]


bad = []
graph = {}
for a, ts in edges.items():
    for b in ts:
        sa, sb = stage(a), stage(b)
        if sa == sb or sb in LEAVES:
            continue
        graph.setdefault(sa, set()).add(sb)
        if sa not in ALLOWED:
            bad.append(f"{'/'.join(a)} in unknown stage {sa}")
        elif sb not in ALLOWED[sa]:
            bad.append(f"{sa} → {sb}: {'/'.join(a)} uses {'/'.join(b)}")
        if sb in ("commands", "cli") and sa not in ("main", "commands", "cli"):
            bad.append(f"{'/'.join(a)} uses {sb}: only main and commands may")

# cycles between files (Tarjan)
index, low, onstack, stack, sccs, counter = {}, {}, set(), [], [], [0]
sys.setrecursionlimit(10000)
def strong(v):
    index[v] = low[v] = counter[0]; counter[0] += 1
    stack.append(v); onstack.add(v)
    for w in edges.get(v, ()):
        if w not in index:
            strong(w); low[v] = min(low[v], low[w])
        elif w in onstack:
            low[v] = min(low[v], index[w])
    if low[v] == index[v]:
        comp = []
        while True:
            w = stack.pop(); onstack.discard(w); comp.append(w)
            if w == v:
                break
        if len(comp) > 1:
            sccs.append(comp)
for v in list(edges):
    if v not in index:
        strong(v)
for c in sccs:
    # a parent module re-exporting its children is not a cycle worth reporting
    names = sorted("/".join(m) or "lib" for m in c)
    bad.append("cycle between files: " + " ↔ ".join(names))

if "--graph" in sys.argv:
    for a in sorted(graph):
        print(f"{a:9s} → {', '.join(sorted(graph[a]))}")
for b in sorted(set(bad)):
    print(b)
sys.exit(1 if bad else 0)
