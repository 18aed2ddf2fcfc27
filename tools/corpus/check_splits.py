#!/usr/bin/env python3
"""Checks that the prohibited-use corpus keeps its splits apart.

  python3 tools/corpus/check_splits.py [CORPUS_DIR]

- every row of a training file (train*.jsonl) has a family, and no family
  name of a training file appears in other-dev.jsonl, dev2.jsonl or
  test2.jsonl, test3.jsonl, test4.jsonl or test5.jsonl (paraphrase families stay on one side);
  (dev.jsonl, the train bank with another seed, shares them by design);
- no training text is also a text of dev2.jsonl (the session 1-6 test
  split, now tuning data) or of test2.jsonl (the held-out test split),
  compared after folding case and collapsing everything but letters and
  digits (a copy with other punctuation is the same text);
- no family name of test2.jsonl, test3.jsonl, test4.jsonl or test5.jsonl appears in any other file,
  and no text of another file is one of theirs (each is written apart from
  all the others).

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


def check_apart(corpus, name):
    path = os.path.join(corpus, name)
    if not os.path.exists(path):
        return 0
    t2 = rows(path)
    fams = {r["family"] for r in t2}
    texts = {key(r["text"]) for r in t2}
    shared = 0
    for f in sorted(os.listdir(corpus)):
        if f.endswith(".jsonl") and f != name:
            for r in rows(os.path.join(corpus, f)):
                if r.get("family") in fams or key(r["text"]) in texts:
                    shared += 1
                    print(f"  {f} {r.get('family')} ({r['label']}) shares a family or text with {name}")
    print(f"{name}: {shared} rows of other files share its families or texts")
    return shared


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    corpus = sys.argv[1] if len(sys.argv) > 1 else os.path.join(here, "..", "..", "tests", "corpora", "prohibited")
    train_files = sorted(f for f in os.listdir(corpus) if f.startswith("train") and f.endswith(".jsonl"))
    # dev.jsonl is the train bank drawn with another seed (a regression set,
    # docs/content-rules.md): it shares train.jsonl's families by design.
    held = [f for f in ("other-dev.jsonl", "dev2.jsonl", "test2.jsonl", "test3.jsonl", "test4.jsonl", "test5.jsonl")
            if os.path.exists(os.path.join(corpus, f))]
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
            if f in ("dev2.jsonl", "test2.jsonl", "test3.jsonl", "test4.jsonl", "test5.jsonl") and key(r["text"]) in train_texts:
                shared_text += 1
                print(f"  test has the text of {train_texts[key(r['text'])]}")  # the training side only
        print(f"{f}: {shared_fam} rows in a training family, {shared_text} training texts")
        bad += shared_fam + shared_text
    bad += sum(check_apart(corpus, f) for f in ("test2.jsonl", "test3.jsonl", "test4.jsonl", "test5.jsonl"))
    print(f"training files: {', '.join(train_files)}; {len(train_families)} families")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
