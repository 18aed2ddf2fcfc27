#!/usr/bin/env python3
"""clang -Wthread-safety over the files that use engine/thread_annotations.h.

The build may be GCC's; this compiles, with clang++ -fsyntax-only
-Wthread-safety -Werror, each .cc that includes the annotations header (or a
header of ours that does), with the flags of its entry in
compile_commands.json. First it compiles a small file with an unguarded
write and requires the error, so a clang that checks nothing fails the test.
CTest: thread_safety_test (exit 77, a skip, when no clang++ is installed).

Usage: check_thread_safety.py BUILD_DIR [SOURCE_DIR]
"""
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor

ANNOTATIONS = "engine/thread_annotations.h"
CLANG = ["clang++-14", "clang++"]
# GCC options clang does not know; dropped from the copied command lines.
GCC_ONLY = {"-Wno-restrict", "-Wno-maybe-uninitialized"}
INCLUDE = re.compile(r'^\s*#\s*include\s*"([^"]+)"', re.M)


def includes(path):
    with open(path, encoding="utf-8", errors="replace") as fh:
        return INCLUDE.findall(fh.read())


def annotated_sources(root):
    """The .cc files under our folders that include ANNOTATIONS, directly or
    through one of our headers (followed transitively)."""
    files = []
    for top in ("engine", "metrics", "policies", "storage", "api", "cli", "server", "capi",
                "tools"):
        for dirpath, _, names in os.walk(os.path.join(root, top)):
            files += [os.path.relpath(os.path.join(dirpath, n), root)
                      for n in names if n.endswith((".h", ".cc"))]
    uses = {f: set(includes(os.path.join(root, f))) for f in files}
    annotated = {ANNOTATIONS}
    changed = True
    while changed:
        changed = False
        for f, incs in uses.items():
            if f.endswith(".h") and f not in annotated and incs & annotated:
                annotated.add(f)
                changed = True
    return sorted(f for f, incs in uses.items() if f.endswith(".cc") and incs & annotated)


def clang_command(entry, clang):
    args = entry.get("arguments") or shlex.split(entry["command"])
    out = [clang]
    skip = False
    for a in args[1:]:
        if skip:
            skip = False
            continue
        if a in ("-o", "-MF", "-MT", "-MQ"):
            skip = True
            continue
        if a in ("-c", "-MD", "-MMD") or a in GCC_ONLY:
            continue
        out.append(a)
    return out + ["-fsyntax-only", "-Wthread-safety", "-Werror"]


def run(cmd, cwd):
    p = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True)
    return p.returncode, p.stderr


def self_test(clang, root):
    bad = (f'#include "{ANNOTATIONS}"\n'
           "struct S { tosgate::engine::Mutex mu; int x GUARDED_BY(mu) = 0; };\n"
           "void Write(S* s) { s->x = 1; }\n")
    with tempfile.NamedTemporaryFile("w", suffix=".cc", delete=False) as fh:
        fh.write(bad)
    try:
        rc, err = run([clang, "-std=c++20", "-I", root, "-fsyntax-only", "-Wthread-safety",
                       "-Werror", fh.name], root)
    finally:
        os.unlink(fh.name)
    return rc != 0 and "requires holding mutex" in err


def main():
    if len(sys.argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    build = os.path.abspath(sys.argv[1])
    root = os.path.abspath(sys.argv[2] if len(sys.argv) > 2
                           else os.path.join(os.path.dirname(__file__), ".."))
    clang = next((c for c in CLANG if shutil.which(c)), None)
    if clang is None:
        print("no clang++: thread-safety check skipped", file=sys.stderr)
        return 77
    if not self_test(clang, root):
        print(f"{clang} did not reject an unguarded write: the check would prove nothing",
              file=sys.stderr)
        return 1
    with open(os.path.join(build, "compile_commands.json")) as fh:
        by_file = {os.path.realpath(os.path.join(e["directory"], e["file"])): e
                   for e in json.load(fh)}
    sources = annotated_sources(root)
    jobs = []
    for src in sources:
        entry = by_file.get(os.path.realpath(os.path.join(root, src)))
        if entry is None:
            print(f"{src}: not in compile_commands.json", file=sys.stderr)
            return 1
        jobs.append((src, clang_command(entry, clang), entry["directory"]))
    with ThreadPoolExecutor(max_workers=2) as pool:
        results = list(pool.map(lambda j: (j[0],) + run(j[1], j[2]), jobs))
    failed = [(src, err) for src, rc, err in results if rc != 0]
    for src, err in failed:
        print(f"== {src}\n{err}", file=sys.stderr)
    print(f"{len(sources)} annotated files, {len(failed)} with thread-safety errors")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
