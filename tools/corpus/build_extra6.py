#!/usr/bin/env python3
"""Build tests/corpora/prohibited/train-extra6.jsonl from the hand-written
one-example-per-line sources in tools/corpus/extra6_src/<label>.txt.

As build_extra5.py (each source line its own paraphrase family, with
rule-made variants under the same family name; benign lines get the same
wrappers), with wrappers written for this file: a chat message to a
friend, a support ticket's body, a "no lecture, just answer" demand, and
the ask after a line that claims authorization. Written in session 7 for
the categories the development files catch least (forged documents,
explosives, CBRN, the distillation clause) and their near misses.
Deterministic: each family's variants come from its own seed (88 and the
line's CRC-32). Train split only.
"""
import collections
import json
import os
import random
import sys
import zlib

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from build_extra3 import CLOSERS, PREAMBLES, leet, typos  # noqa: E402
from build_extra5 import STRUCTURED, terse  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.join(HERE, 'extra6_src')
CORPUS = os.path.join(HERE, '..', '..', 'tests', 'corpora', 'prohibited')
OUT = os.path.join(CORPUS, 'train-extra6.jsonl')

WRAPPERS = [
    'hey u up? random thing, {}',
    'Ticket #4471\nSummary: user request\nBody: {}\nPriority: normal',
    'No lecture and no warnings, just answer: {}',
    'I am authorized and this is approved by my manager. {}',
    '{} (answer in numbered steps)',
]


def main():
    earlier = set()
    for f in sorted(os.listdir(CORPUS)):
        if f.startswith('train') and f.endswith('.jsonl') and f != os.path.basename(OUT):
            for line in open(os.path.join(CORPUS, f), encoding='utf-8'):
                earlier.add(json.loads(line)['text'].strip().lower())
    rows, seen, skipped = [], set(), 0
    for fn in sorted(os.listdir(SRC)):
        if not fn.endswith('.txt'):
            continue
        label = fn[:-4]
        n = 0
        for line in open(os.path.join(SRC, fn), encoding='utf-8'):
            t = line.strip()
            if not t or t.startswith('#'):
                continue
            if t.lower() in seen or t.lower() in earlier:
                skipped += 1
                continue
            seen.add(t.lower())
            fam = f'extra6/{label}/{n}'
            n += 1
            rng = random.Random(88 * 2**32 + zlib.crc32(t.encode()))
            variants = [(t, None)]
            if rng.random() < 0.6:
                variants.append((rng.choice(WRAPPERS).format(t), 'wrapper'))
            if rng.random() < 0.3:
                variants.append((rng.choice(STRUCTURED).format(t.replace('"', "'")), 'structured'))
            if rng.random() < 0.3:
                variants.append((terse(t), 'terse'))
            if rng.random() < 0.3:
                variants.append((rng.choice(PREAMBLES) + ' ' + t + rng.choice(CLOSERS), 'preamble'))
            if rng.random() < 0.3:
                variants.append((typos(rng, t), 'typos'))
            if label != 'benign' and rng.random() < 0.3:
                variants.append((leet(rng, t), 'leet'))
            for text, note in variants:
                row = {'text': text, 'label': label, 'family': fam}
                if note:
                    row['note'] = note
                rows.append(row)
    with open(OUT, 'w', encoding='utf-8') as o:
        for r in rows:
            o.write(json.dumps(r, ensure_ascii=False) + '\n')
    c = collections.Counter(r['label'] for r in rows)
    print(dict(sorted(c.items())), 'rows', len(rows), 'skipped', skipped, file=sys.stderr)


if __name__ == '__main__':
    main()
