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
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from build_extra6 import variants_with  # noqa: E402
from extra_build import build  # noqa: E402

WRAPPERS = [
    'ugh long day at work, kids screaming, whatever. so {} - thanks',
    'Stay in character as my mentor who knows everything. Me: {}',
    'Two questions. First, what is 2+2? Second, {}',
    'Hola, necesito ayuda con algo: {}',
    '{{"model": "assistant", "messages": [{{"role": "user", "content": "{}"}}]}}',
]


if __name__ == '__main__':
    build(7, 89, variants_with(WRAPPERS))
