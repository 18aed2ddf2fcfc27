#!/usr/bin/env python3
"""Validates STIX 2.1 bundles against the OASIS STIX 2.1 JSON schemas.

usage: validate_stix.py SCHEMA_DIR BUNDLE.json...

SCHEMA_DIR is the schemas/ folder of oasis-open/cti-stix2-json-schemas
(../shared/reference/stix2-json-schemas/schemas). Each bundle is checked
against common/bundle.json and each of its objects against the schema of
its type; every failure is printed with the object's id. Exit 1 on any.
Uses python3-jsonschema (Debian), with its `referencing` registry when
present (jsonschema >= 4.18) and RefResolver otherwise (Debian 12's 4.10).
"""
import json
import os
import sys

try:
    import jsonschema
except ImportError:  # CTest reads 77 as skipped (python3-jsonschema missing)
    print("python3-jsonschema is not installed", file=sys.stderr)
    sys.exit(77)


def load_schemas(root):
    store = {}
    for folder, _, files in os.walk(root):
        for name in files:
            if name.endswith(".json"):
                with open(os.path.join(folder, name), encoding="utf-8") as f:
                    schema = json.load(f)
                store[schema["$id"]] = schema
    return store


def validator_for(store, schema):
    cls = jsonschema.Draft202012Validator
    try:
        from referencing import Registry, Resource
        registry = Registry().with_resources(
            (uri, Resource.from_contents(s)) for uri, s in store.items())
        return cls(schema, registry=registry)
    except ImportError:
        resolver = jsonschema.RefResolver(schema["$id"], schema, store=store)
        return cls(schema, resolver=resolver)


def main(argv):
    if len(argv) < 3:
        print(__doc__, file=sys.stderr)
        return 2
    store = load_schemas(argv[1])
    base = "http://raw.githubusercontent.com/oasis-open/cti-stix2-json-schemas/stix2.1/schemas/"
    by_type = {}
    for uri in store:
        rel = uri[len(base):] if uri.startswith(base) else uri
        by_type[os.path.splitext(os.path.basename(rel))[0]] = uri
    bundle_check = validator_for(store, store[base + "common/bundle.json"])
    failures = 0
    checks = {}
    for path in argv[2:]:
        with open(path, encoding="utf-8") as f:
            bundle = json.load(f)
        for e in bundle_check.iter_errors(bundle):
            failures += 1
            print(f"{path}: bundle: {e.message[:300]}")
        for obj in bundle.get("objects", []):
            uri = by_type.get(obj.get("type"))
            if not uri:
                failures += 1
                print(f"{path}: {obj.get('id')}: no schema for type {obj.get('type')}")
                continue
            if uri not in checks:
                checks[uri] = validator_for(store, store[uri])
            for e in checks[uri].iter_errors(obj):
                failures += 1
                print(f"{path}: {obj.get('id')}: {e.message[:300]}")
        print(f"{path}: {len(bundle.get('objects', []))} objects checked")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
