#!/usr/bin/env python3
"""Checks that the prohibited-use corpus keeps its splits apart.

  python3 tools/corpus/check_splits.py [CORPUS_DIR]

- every row of a training file (train*.jsonl) has a family, and no family
  name of a training file appears in dev.jsonl, other-dev.jsonl or
  test.jsonl (paraphrase families stay on one side);
  (dev.jsonl, the train bank with another seed, shares them by design);
- no training text is also a text of test.jsonl, compared after folding case
  and collapsing everything but letters and digits (a copy with other
  punctuation is the same text).

Prints counts only, never a held-out text, and exits 1 on a violation.
"""
import json
import os
import re
import sys


def rows(path):
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def key(text):
    return " ".join(re.findall(r"[0-9a-z]+", text.lower()))


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    corpus = sys.argv[1] if len(sys.argv) > 1 else os.path.join(here, "..", "..", "tests", "corpora", "prohibited")
    train_files = sorted(f for f in os.listdir(corpus) if f.startswith("train") and f.endswith(".jsonl"))
    # dev.jsonl is the train bank drawn with another seed (a regression set,
    # docs/content-rules.md): it shares train.jsonl's families by design.
    held = [f for f in ("other-dev.jsonl", "test.jsonl") if os.path.exists(os.path.join(corpus, f))]
    bad = 0
    train_families, train_texts = set(), {}
    for f in train_files:
        for r in rows(os.path.join(corpus, f)):
            if not r.get("family"):
                print(f"{f}: a row without a family", file=sys.stderr)
                bad += 1
            train_families.add(r.get("family"))
            train_texts.setdefault(key(r["text"]), f"{f} {r.get('family')} ({r['label']})")
    for f in held:
        shared_fam = shared_text = 0
        for r in rows(os.path.join(corpus, f)):
            if r.get("family") and r["family"] in train_families:
                shared_fam += 1
            if f == "test.jsonl" and key(r["text"]) in train_texts:
                shared_text += 1
                print(f"  test has the text of {train_texts[key(r['text'])]}")  # the training side only
        print(f"{f}: {shared_fam} rows in a training family, {shared_text} training texts")
        bad += shared_fam + shared_text
    print(f"training files: {', '.join(train_files)}; {len(train_families)} families")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
