#!/usr/bin/env python3
"""The layering of the tree, checked on every `#include` (CTest: layers_test).

Every include path is relative to the repository root, so one include
directory serves the whole tree and the compiler cannot tell a permitted
include from a forbidden one; this table and this check do. A file belongs
to the layer of the longest folder in LAYERS that holds it; it may include
our headers only from the layers its entry names (its own layer always), and
the heavy third-party headers only where THIRD_PARTY lets it. Files outside
every layer (tests/, bench/) are not checked. docs/development.md explains
the table; change both together.

Usage: check_layers.py [ROOT]     (exit 1 and one line a violation on stderr)
       check_layers.py --self-test (the check finds what it must, in a scratch tree)
"""
import os
import re
import sys

# layer: (folder, layers it may include from besides its own)
LAYERS = {
    "include":        ("include/tosgate/", []),
    "engine":         ("engine/", ["include"]),
    # engine only for engine/thread_annotations.h (header-only, no link
    # dependency): the registry's mutex is checked by clang -Wthread-safety.
    "metrics":        ("metrics/", ["include", "engine"]),
    "policies":       ("policies/", ["include", "engine"]),
    "sqlite":         ("storage/sqlite/", ["include", "engine"]),
    "audit":          ("storage/audit/", ["include", "engine"]),
    "audit_sqlite":   ("storage/audit/sqlite/", ["include", "engine", "audit", "sqlite"]),
    "audit_postgres": ("storage/audit/postgres/", ["include", "engine", "audit"]),
    "accounts":       ("storage/accounts/", ["include", "engine", "sqlite"]),
    "redis":          ("storage/redis/", ["include", "engine"]),
    "shm":            ("storage/shm/", ["include", "engine"]),
    "audit_socket":   ("storage/audit_socket/", ["include", "engine"]),
    "admin_db":       ("storage/admin/", ["include", "engine", "sqlite"]),
    "request":        ("api/request/", ["include", "engine", "policies"]),
    "gateway":        ("api/gateway/", ["include", "engine", "policies", "request"]),
    "guard":          ("api/guard/", ["include", "engine"]),
    "admin":          ("api/admin/", ["include", "engine", "policies", "request", "audit",
                                      "audit_sqlite", "accounts", "admin_db", "metrics"]),
    "mock_upstream":  ("tools/mock_upstream/", ["include", "engine"]),
    "capi":           ("capi/", ["include", "engine", "policies", "request", "audit",
                                 "audit_sqlite", "accounts", "shm", "audit_socket"]),
    "server":         ("server/", ["include", "engine", "policies", "sqlite", "audit",
                                   "audit_sqlite", "audit_postgres", "accounts", "redis",
                                   "admin_db", "request", "gateway", "guard", "admin", "metrics"]),
    "cli":            ("cli/", ["include", "engine", "policies", "sqlite", "audit",
                                "audit_sqlite", "audit_postgres", "accounts", "redis",
                                "admin_db", "request", "gateway", "guard", "admin",
                                "mock_upstream", "server", "metrics"]),
}

# `#include <...>` prefixes that only some layers may use: what makes a
# library heavy (a shared library to link, a large header) stays in one place.
THIRD_PARTY = {
    "hiredis/": ["redis"],
    "libpq-fe.h": ["audit_postgres"],
    "sqlite3.h": ["sqlite", "audit_sqlite"],
    "boost/": ["gateway", "mock_upstream"],
    "httplib.h": ["admin", "guard"],
    "yaml-cpp/": ["policies", "cli", "server"],
    "spdlog/": ["server"],  # server/logging.cc
    "hs/": ["engine"],
    "simdjson": ["engine"],
    # engine/ has no JSON library (engine/json_util.h writes what it needs).
    "nlohmann/": [l for l in LAYERS if l not in ("include", "engine")],
}

INCLUDE = re.compile(r'^\s*#\s*include\s*([<"])([^>"]+)[>"]')


def layer_of(path):
    """The layer of a repository path (longest folder first), or None."""
    best = None
    for name, (folder, _) in LAYERS.items():
        if path.startswith(folder) and (best is None or len(folder) > len(LAYERS[best][0])):
            best = name
    return best


def target_layer(include):
    # "tosgate/x.h" is include/tosgate/x.h; everything else is root-relative.
    if include.startswith("tosgate/"):
        return "include"
    return layer_of(include)


def check(root):
    problems = []
    for top in sorted({folder.split("/")[0] for folder, _ in LAYERS.values()}):
        for dirpath, _, files in os.walk(os.path.join(root, top)):
            for f in sorted(files):
                if not f.endswith((".h", ".cc", ".c")):
                    continue
                full = os.path.join(dirpath, f)
                rel = os.path.relpath(full, root)
                layer = layer_of(rel)
                if layer is None:
                    continue
                allowed = set(LAYERS[layer][1]) | {layer}
                with open(full, encoding="utf-8", errors="replace") as fh:
                    for n, line in enumerate(fh, 1):
                        m = INCLUDE.match(line)
                        if not m:
                            continue
                        quote, inc = m.groups()
                        if quote == '"':
                            t = target_layer(inc)
                            if t is not None and t not in allowed:
                                problems.append(f"{rel}:{n}: {layer} may not include {inc} ({t})")
                        else:
                            for prefix, users in THIRD_PARTY.items():
                                if inc.startswith(prefix) and layer not in users:
                                    problems.append(f"{rel}:{n}: {layer} may not include <{inc}>"
                                                    f" (only {', '.join(users)})")
    return problems


def self_test():
    """Each kind of violation in a scratch tree is found; permitted ones are not."""
    import tempfile
    files = {
        "engine/a.h": '#include "tosgate/status.h"\n#include "engine/b.h"\n',
        "engine/bad.cc": '#include "storage/audit/chain.h"\n#include <nlohmann/json.hpp>\n',
        "storage/audit/c.cc": '#include "storage/audit/sqlite/sink.h"\n',
        "storage/audit/sqlite/d.cc": '#include "storage/audit/chain.h"\n#include <sqlite3.h>\n',
        "api/request/e.cc": '#include <boost/beast/http.hpp>\n#include "api/gateway/x.h"\n',
        "tests/t.cc": '#include "cli/serve.h"\n#include <hiredis/hiredis.h>\n',
    }
    expected = {"engine/bad.cc:1", "engine/bad.cc:2", "storage/audit/c.cc:1",
                "api/request/e.cc:1", "api/request/e.cc:2"}
    with tempfile.TemporaryDirectory() as root:
        for rel, text in files.items():
            os.makedirs(os.path.dirname(os.path.join(root, rel)), exist_ok=True)
            with open(os.path.join(root, rel), "w") as fh:
                fh.write(text)
        found = {":".join(p.split(":")[:2]) for p in check(root)}
    if found != expected:
        print(f"self-test: found {sorted(found)}, expected {sorted(expected)}", file=sys.stderr)
        return 1
    return 0


def main():
    if sys.argv[1:] == ["--self-test"]:
        return self_test()
    root = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..")
    problems = check(os.path.abspath(root))
    for p in problems:
        print(p, file=sys.stderr)
    if problems:
        print(f"{len(problems)} include(s) across layers; the table is scripts/check_layers.py",
              file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
