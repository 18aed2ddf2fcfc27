"""The loop shared by build_extra5.py, build_extra6.py and build_extra7.py:
each hand-written line of tools/corpus/extraN_src/<label>.txt is its own
paraphrase family `extraN/<label>/<k>`, with the variants the builder's
`variants(rng, text, label)` writes under the same family name. A line
already in another train*.jsonl file, or twice in the sources, is skipped.
Each family's variants come from its own seed (the builder's seed and the
line's CRC-32), so adding a line changes no other family.
"""
import collections
import json
import os
import random
import sys
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))
CORPUS = os.path.join(HERE, '..', '..', 'tests', 'corpora', 'prohibited')


def _earlier_texts(out_name):
    texts = set()
    for f in sorted(os.listdir(CORPUS)):
        if f.startswith('train') and f.endswith('.jsonl') and f != out_name:
            for line in open(os.path.join(CORPUS, f), encoding='utf-8'):
                texts.add(json.loads(line)['text'].strip().lower())
    return texts


def build(n, seed, variants):
    """Writes tests/corpora/prohibited/train-extra<n>.jsonl from extra<n>_src/."""
    out = os.path.join(CORPUS, f'train-extra{n}.jsonl')
    src = os.path.join(HERE, f'extra{n}_src')
    earlier = _earlier_texts(os.path.basename(out))
    rows, seen, skipped = [], set(), 0
    for fn in sorted(os.listdir(src)):
        if not fn.endswith('.txt'):
            continue
        label = fn[:-4]
        k = 0
        for line in open(os.path.join(src, fn), encoding='utf-8'):
            t = line.strip()
            if not t or t.startswith('#'):
                continue
            if t.lower() in seen or t.lower() in earlier:
                skipped += 1
                continue
            seen.add(t.lower())
            fam = f'extra{n}/{label}/{k}'
            k += 1
            rng = random.Random(seed * 2**32 + zlib.crc32(t.encode()))
            for text, note in [(t, None)] + variants(rng, t, label):
                row = {'text': text, 'label': label, 'family': fam}
                if note:
                    row['note'] = note
                rows.append(row)
    with open(out, 'w', encoding='utf-8') as o:
        for r in rows:
            o.write(json.dumps(r, ensure_ascii=False) + '\n')
    c = collections.Counter(r['label'] for r in rows)
    print(dict(sorted(c.items())), 'rows', len(rows), 'skipped', skipped, file=sys.stderr)
