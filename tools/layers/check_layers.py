#!/usr/bin/env python3
"""Checks that the folders of a Swift module depend on each other one way only.

A module's folders do not import each other (Swift imports whole modules), so "folder A
depends on folder B" here means: a file in A names a type declared in B. The script
collects the top-level types each folder declares, finds which of them each other folder's
files mention, prints the resulting graph and fails (exit 1) on a cycle.

    python3 tools/layers/check_layers.py Sources/ClaimlineServer

Files directly in the module's root folder (the module's entry point) may depend on every
folder and are left out of the graph. Comments and string literals are stripped first.
"""
import os
import re
import sys

DECL = re.compile(r"^(?:@\w+\s+)*(?:public |internal |private |fileprivate |package )?(?:final )?"
                  r"(?:struct|class|enum|protocol|actor|typealias)\s+([A-Z][A-Za-z0-9_]*)", re.M)
IDENT = re.compile(r"\b[A-Z][A-Za-z0-9_]*\b")


def strip(text):
    text = re.sub(r'"""[\s\S]*?"""', '""', text)
    text = re.sub(r'"(?:\\.|[^"\\\n])*"', '""', text)
    text = re.sub(r"/\*[\s\S]*?\*/", "", text)
    return re.sub(r"//[^\n]*", "", text)


def folders_of(module):
    out = {}
    for folder in sorted(os.listdir(module)):
        path = os.path.join(module, folder)
        if not os.path.isdir(path):
            continue
        files = []
        for root, _, names in os.walk(path):
            files += [os.path.join(root, n) for n in names if n.endswith(".swift")]
        out[folder] = {f: strip(open(f, encoding="utf-8").read()) for f in sorted(files)}
    return out


def graph(module):
    folders = folders_of(module)
    declared = {}
    for folder, files in folders.items():
        for text in files.values():
            for name in DECL.findall(text):
                declared.setdefault(name, folder)
    edges = {folder: {} for folder in folders}
    for folder, files in folders.items():
        for path, text in files.items():
            for name in set(IDENT.findall(text)):
                owner = declared.get(name)
                if owner and owner != folder:
                    edges[folder].setdefault(owner, set()).add((os.path.relpath(path, module), name))
    return edges


def find_cycle(edges):
    state = {}
    stack = []

    def visit(node):
        state[node] = 1
        stack.append(node)
        for nxt in sorted(edges[node]):
            if state.get(nxt) == 1:
                return stack[stack.index(nxt):] + [nxt]
            if state.get(nxt) is None:
                found = visit(nxt)
                if found:
                    return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(edges):
        if state.get(node) is None:
            found = visit(node)
            if found:
                return found
    return None


def main():
    module = sys.argv[1] if len(sys.argv) > 1 else "Sources/ClaimlineServer"
    edges = graph(module)
    for folder in sorted(edges):
        targets = ", ".join(sorted(edges[folder])) or "(nothing)"
        print(f"{folder} -> {targets}")
    cycle = find_cycle(edges)
    if cycle:
        print("cycle: " + " -> ".join(cycle), file=sys.stderr)
        for a, b in zip(cycle, cycle[1:]):
            uses = sorted(edges[a][b])[:5]
            print(f"  {a} uses {b}: " + ", ".join(f"{n} in {p}" for p, n in uses), file=sys.stderr)
        return 1
    print(f"{module}: folders depend one way (no cycle)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
