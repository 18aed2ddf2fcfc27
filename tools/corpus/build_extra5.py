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
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from build_extra3 import CLOSERS, PREAMBLES, leet, typos  # noqa: E402
from extra_build import build  # noqa: E402

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


def variants(rng, t, label):
    v = []
    if rng.random() < 0.5:
        v.append((rng.choice(STRUCTURED).format(t.replace('"', "'")), 'structured'))
    if rng.random() < 0.4:
        v.append((terse(t), 'terse'))
    if rng.random() < 0.3:
        v.append((rng.choice(PREAMBLES) + ' ' + t + rng.choice(CLOSERS), 'preamble'))
    if rng.random() < 0.3:
        v.append((typos(rng, t), 'typos'))
    if label != 'benign' and rng.random() < 0.3:
        v.append((leet(rng, t), 'leet'))
    return v


if __name__ == '__main__':
    build(5, 66, variants)
