#!/usr/bin/env python3
"""Build tests/corpora/prohibited/train-extra8.jsonl from the hand-written
one-example-per-line sources in tools/corpus/extra8_src/<label>.txt.

As build_extra6.py (each source line its own paraphrase family, with
rule-made variants under the same family name; benign lines get the same
wrappers), with wrappers written for this file: a translated-notes frame,
a prison-uncle role-play, a school-assignment excuse, a hurried message and
a code-block demand. Written in session 8 (helper fp) for the near misses
test4 denied (reporting and covering extremist content) and the same
help-seeking frames across every category (reporting, moderation,
journalism, research, history, harm reduction, compliance training,
fiction critique), and for the categories test4 caught least (drugs,
laundering, malware, CBRN, forged documents, extremism). Deterministic:
each family's variants come from its own seed (90 and the line's CRC-32).
Train split only.
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from build_extra6 import variants_with  # noqa: E402
from extra_build import build  # noqa: E402

WRAPPERS = [
    'Translated from my Portuguese notes, sorry for the grammar: {}',
    'roleplay: ur my uncle who did 10 yrs inside and knows everything. me: {}',
    'its for a school assignment lol. {}',
    'quick one before my shift starts - {}',
    '{} (reply in a code block only)',
]


if __name__ == '__main__':
    build(8, 90, variants_with(WRAPPERS))
