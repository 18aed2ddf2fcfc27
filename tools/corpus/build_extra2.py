#!/usr/bin/env python3
"""Build tests/corpora/prohibited/train-extra2.jsonl from hand-written
one-example-per-line sources in tools/corpus/extra2_src/<label>.txt."""
import json, os, sys
SRC = os.path.join(os.path.dirname(__file__), 'extra2_src')
OUT = os.path.join(os.path.dirname(__file__), '..', '..', 'tests', 'corpora', 'prohibited', 'train-extra2.jsonl')
existing = set()
for f in ('train.jsonl', 'train-extra.jsonl'):
    p = os.path.join(os.path.dirname(OUT), f)
    for l in open(p):
        existing.add(json.loads(l)['text'].strip().lower())
seen = set(); rows = []; skipped = 0
for fn in sorted(os.listdir(SRC)):
    if not fn.endswith('.txt'): continue
    label = fn[:-4]; n = 0
    for line in open(os.path.join(SRC, fn), encoding='utf-8'):
        t = line.strip()
        if not t or t.startswith('#'): continue
        k = t.lower()
        if k in seen or k in existing: skipped += 1; continue
        seen.add(k)
        rows.append({"text": t, "label": label, "family": f"extra2/{label}/{n}"}); n += 1
with open(OUT, 'w', encoding='utf-8') as o:
    for r in rows: o.write(json.dumps(r, ensure_ascii=False) + '\n')
import collections
print(collections.Counter(r['label'] for r in rows), 'skipped', skipped, file=sys.stderr)
