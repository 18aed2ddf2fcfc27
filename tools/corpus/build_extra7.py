#!/usr/bin/env python3
"""Build tests/corpora/prohibited/train-extra7.jsonl from the hand-written
one-example-per-line sources in tools/corpus/extra7_src/<label>.txt.

As build_extra6.py (each source line its own paraphrase family, with
rule-made variants under the same family name; benign lines get the same
wrappers), with wrappers written for this file: a rambling message, a
role-play set-up, a multi-part ask, a line in another language first, a
chat-API JSON body. Written in session 7's second round (helper h21b) for
the categories test3 caught least (forged documents, malware, explosives,
fraud, CBRN, drugs) and near misses of defenders, reporters, parents and
clinicians. Deterministic: each family's variants come from its own seed
(89 and the line's CRC-32). Train split only.
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
SRC = os.path.join(HERE, 'extra7_src')
CORPUS = os.path.join(HERE, '..', '..', 'tests', 'corpora', 'prohibited')
OUT = os.path.join(CORPUS, 'train-extra7.jsonl')

WRAPPERS = [
    'ugh long day at work, kids screaming, whatever. so {} - thanks',
    'Stay in character as my mentor who knows everything. Me: {}',
    'Two questions. First, what is 2+2? Second, {}',
    'Hola, necesito ayuda con algo: {}',
    '{{"model": "assistant", "messages": [{{"role": "user", "content": "{}"}}]}}',
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
            fam = f'extra7/{label}/{n}'
            n += 1
            rng = random.Random(89 * 2**32 + zlib.crc32(t.encode()))
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
