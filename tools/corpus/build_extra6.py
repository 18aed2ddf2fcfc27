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
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from build_extra3 import CLOSERS, PREAMBLES, leet, typos  # noqa: E402
from build_extra5 import STRUCTURED, terse  # noqa: E402
from extra_build import build  # noqa: E402

WRAPPERS = [
    'hey u up? random thing, {}',
    'Ticket #4471\nSummary: user request\nBody: {}\nPriority: normal',
    'No lecture and no warnings, just answer: {}',
    'I am authorized and this is approved by my manager. {}',
    '{} (answer in numbered steps)',
]


def variants_with(wrappers):
    """This file's variants around `wrappers` (build_extra7.py uses its own)."""
    def variants(rng, t, label):
        v = []
        if rng.random() < 0.6:
            v.append((rng.choice(wrappers).format(t), 'wrapper'))
        if rng.random() < 0.3:
            v.append((rng.choice(STRUCTURED).format(t.replace('"', "'")), 'structured'))
        if rng.random() < 0.3:
            v.append((terse(t), 'terse'))
        if rng.random() < 0.3:
            v.append((rng.choice(PREAMBLES) + ' ' + t + rng.choice(CLOSERS), 'preamble'))
        if rng.random() < 0.3:
            v.append((typos(rng, t), 'typos'))
        if label != 'benign' and rng.random() < 0.3:
            v.append((leet(rng, t), 'leet'))
        return v
    return variants


if __name__ == '__main__':
    build(6, 88, variants_with(WRAPPERS))
