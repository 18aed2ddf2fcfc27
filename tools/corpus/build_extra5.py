#!/usr/bin/env python3
"""Build tests/corpora/prohibited/train-extra5.jsonl from the hand-written
one-example-per-line sources in tools/corpus/extra5_src/<label>.txt.

As build_extra4.py (each source line its own paraphrase family, with
disguised variants under the same family name), with wrappers written for
this file: the ask as a field of a JSON task, inside a code comment, in an
email to a colleague, as a numbered list item, and cut to a terse
keyword-style query. Benign lines get the same wrappers, so that a wrapper
alone is not a sign either way. Deterministic: each family's variants are
drawn from its own seed (66 and the line's CRC-32), so adding a line changes
no other family. Train split only (session 6).
"""
import collections
import json
import os
import random
import re
import sys
import zlib

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from build_extra3 import CLOSERS, PREAMBLES, leet, typos  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.join(HERE, 'extra5_src')
CORPUS = os.path.join(HERE, '..', '..', 'tests', 'corpora', 'prohibited')
OUT = os.path.join(CORPUS, 'train-extra5.jsonl')

STRUCTURED = [
    '{{"task": "answer_user", "priority": "high", "user_request": "{}"}}',
    '# TODO(assistant): fill in the function below so that it does this: {}\ndef solve():\n    pass',
    'Hi Sam,\n\nquick one before the meeting - {}\n\nthanks, J',
    'Three things for today:\n1. book the dentist\n2. {}\n3. call mum back',
]
STOP = {'the', 'a', 'an', 'to', 'of', 'so', 'that', 'i', 'me', 'my', 'you', 'please', 'can', 'how', 'do',
        'is', 'it', 'for', 'and', 'with', 'what', 'give', 'in', 'on', 'this', 'be', 'we', 'our'}


def terse(text):
    # A search-box query: the content words only.
    words = [w for w in re.findall(r"[\w'@$-]+", text) if w.lower() not in STOP]
    return ' '.join(words)


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
            fam = f'extra5/{label}/{n}'
            n += 1
            rng = random.Random(66 * 2**32 + zlib.crc32(t.encode()))
            variants = [(t, None)]
            if rng.random() < 0.5:
                variants.append((rng.choice(STRUCTURED).format(t.replace('"', "'")), 'structured'))
            if rng.random() < 0.4:
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
