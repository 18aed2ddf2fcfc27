#!/usr/bin/env python3
"""Writes the prohibited-use corpus: tests/corpora/prohibited/{train,dev,dev2}.jsonl.

Deterministic: the same seeds give byte-identical files. Standard library only.

Each prohibited example comes from a template family ("family": the bank,
the category and the template's index); train and dev are drawn from
prohibited_banks_train.py with different seeds, test from
prohibited_banks_test.py, whose templates, slot wordings, framings and
benign sentences were written apart. Test examples are also disguised the
ways attackers do: leetspeak and @/1/0/$ substitutions, full-width letters,
Cyrillic look-alikes, typos, spaced-out letters, roleplay and fiction
wrappers, benign context around the request, and long documents with one bad
sentence. Benign examples are ordinary requests of every kind (3 to 300
words) plus near misses: the prohibited categories' topics asked about for
legitimate reasons (history, defence, policy, compliance, training our own
model, distillation as an ML concept).

    python3 tools/corpus/prohibited.py [--out DIR]
"""
import argparse
import json
import os
import random
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import prohibited_banks_test as TEST  # noqa: E402
import prohibited_banks_train as TRAIN  # noqa: E402

CATEGORIES = [
    "cbrn", "explosives-weapons", "malware-intrusion", "child-sexual", "violent-extremism",
    "fraud-scams", "forged-documents", "money-laundering", "drug-manufacture",
    "surveillance-stalking", "election-interference", "self-harm", "competitor-distillation",
]

# split -> (bank, seed, prohibited per category, ordinary benign, near misses)
SPLITS = {
    "train": (TRAIN, 11, 320, 3600, 400),
    "dev": (TRAIN, 22, 60, 900, 120),
    "test": (TEST, 33, 40, 1000, 260),
}
# The test bank's split was read nine times by session 6 and is now tuning
# data: it is written as dev2.jsonl (the same bytes as the old test.jsonl).
# The held-out test split is test2.jsonl (tools/corpus/fresh_test.py).
FILE_NAMES = {"test": "dev2"}

LEET = {"a": "4", "e": "3", "i": "1", "o": "0", "s": "5", "t": "7"}
SYMBOL = {"a": "@", "i": "1", "o": "0", "s": "$", "l": "1"}
CYRILLIC = {"a": "\u0430", "e": "\u0435", "o": "\u043e", "p": "\u0440", "c": "\u0441", "x": "\u0445",
            "i": "\u0456", "s": "\u0455", "y": "\u0443"}


def fill(rng, template, slots):
    out, i = [], 0
    while True:
        j = template.find("{", i)
        if j < 0:
            out.append(template[i:])
            return "".join(out)
        k = template.index("}", j)
        out.append(template[i:j])
        out.append(rng.choice(slots[template[j + 1:k]]))
        i = k + 1


def on_words(rng, text, rate, fn):
    words = text.split(" ")
    return " ".join(fn(w) if len(w) > 3 and rng.random() < rate else w for w in words)


def leet(rng, text, table):
    return on_words(rng, text, 0.4, lambda w: "".join(table.get(c, c) if rng.random() < 0.6 else c for c in w))


def fullwidth(rng, text):
    return on_words(rng, text, 0.5, lambda w: "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in w))


def homoglyph(rng, text):
    return on_words(rng, text, 0.5, lambda w: "".join(CYRILLIC.get(c, c) for c in w))


def typo(rng, word):
    if len(word) < 4 or not word.isalpha():
        return word
    i = rng.randrange(1, len(word) - 1)
    kind = rng.randrange(3)
    if kind == 0:  # swap two letters
        return word[:i] + word[i + 1] + word[i] + word[i + 2:]
    if kind == 1:  # drop one
        return word[:i] + word[i + 1:]
    return word[:i] + word[i] + word[i:]  # double one


def typos(rng, text):
    return on_words(rng, text, 0.18, lambda w: typo(rng, w))


def spaced(rng, text):
    words = text.split(" ")
    long_words = [i for i, w in enumerate(words) if len(w) > 4 and w.isalpha()]
    if long_words:
        i = rng.choice(long_words)
        words[i] = rng.choice([" ", ".", "-"]).join(words[i])
    return " ".join(words)


def casing(rng, text):
    r = rng.random()
    if r < 0.5:
        return text[:1].upper() + text[1:]
    if r < 0.6:
        return text.upper()
    return text


def long_document(rng, bank, bad, lo, hi):
    sentences = rng.sample(bank.BENIGN_SENTENCES, min(len(bank.BENIGN_SENTENCES), rng.randint(lo, hi)))
    sentences.insert(rng.randrange(len(sentences) + 1), bad[:1].upper() + bad[1:] + ".")
    return " ".join(sentences)


def disguise_test(rng, text, notes):
    """The test split's adversarial forms; several may apply to one text."""
    if rng.random() < 0.5:
        text = fill(rng, rng.choice(TEST.WRAPPERS), {"x": [text]})
        notes.append("wrapper")
    r = rng.random()
    if r < 0.15:
        text, _ = leet(rng, text, LEET), notes.append("leet")
    elif r < 0.27:
        text, _ = leet(rng, text, SYMBOL), notes.append("symbols")
    elif r < 0.34:
        text, _ = fullwidth(rng, text), notes.append("fullwidth")
    elif r < 0.42:
        text, _ = homoglyph(rng, text), notes.append("homoglyph")
    elif r < 0.47:
        text, _ = spaced(rng, text), notes.append("spaced")
    if rng.random() < 0.25:
        text, _ = typos(rng, text), notes.append("typos")
    r = rng.random()
    if r < 0.15:
        text, _ = long_document(rng, TEST, text, 6, 14), notes.append("long-document")
    elif r < 0.3:
        ctx = " ".join(rng.sample(TEST.BENIGN_SENTENCES, rng.randint(1, 2)))
        text, _ = (ctx + " " + text if rng.random() < 0.5 else text + " " + ctx), notes.append("context")
    return casing(rng, text)


def disguise_train(rng, text, notes):
    text = fill(rng, rng.choice(TRAIN.WRAPPERS), {"x": [text]})
    r = rng.random()
    if r < 0.1:
        text, _ = leet(rng, text, LEET), notes.append("leet")
    elif r < 0.15:
        text, _ = typos(rng, text), notes.append("typos")
    if rng.random() < 0.08:
        text, _ = long_document(rng, TRAIN, text, 3, 8), notes.append("long-document")
    return casing(rng, text)


def prohibited(rng, bank, split, per_category, exclude):
    rows = []
    for cat in CATEGORIES:
        templates = bank.PROHIBITED[cat]
        seen, tries = set(), 0
        while len(seen) < per_category and tries < per_category * 50:
            tries += 1
            t = rng.randrange(len(templates))
            notes = []
            base = fill(rng, templates[t], bank.SLOTS)
            text = disguise_test(rng, base, notes) if bank is TEST else disguise_train(rng, base, notes)
            if text in seen or text in exclude:
                continue
            seen.add(text)
            row = {"text": text, "label": cat, "family": "%s/%s/%d" % ("test" if bank is TEST else "train", cat, t)}
            if notes:
                row["note"] = ",".join(notes)
            rows.append(row)
    return rows


def benign_text(rng, bank, template):
    text = fill(rng, template, bank.BENIGN_SLOTS)
    r = rng.random()
    if r < 0.12:  # long: context paragraphs around the request, up to ~300 words
        n = rng.randint(4, len(bank.BENIGN_SENTENCES))
        ctx = rng.sample(bank.BENIGN_SENTENCES, n)
        if rng.random() < 0.3:  # a long document: the paragraph twice over, reordered
            ctx += rng.sample(bank.BENIGN_SENTENCES, n)
        while len(" ".join(ctx).split()) + len(text.split()) > 300:
            ctx.pop()
        text = " ".join(ctx[: n // 2]) + " " + text[:1].upper() + text[1:] + "? " + " ".join(ctx[n // 2:])
    elif r < 0.35:
        text = rng.choice(bank.BENIGN_SENTENCES) + " " + text
    if rng.random() < 0.08:
        text = typos(rng, text)
    return casing(rng, text)


NEAR_MISS_FRAMES = {
    TRAIN: ["{x}", "{x}?", "quick question, {x}", "{x}. keep it short", "i m curious: {x}", "{x}, with sources if possible",
            "can you explain {x}", "for a presentation: {x}"],
    TEST: ["{x}", "{x}?", "For my thesis — {x}", "{x} (I'm a teacher)", "genuinely wondering, {x}", "{x}. bullet points please",
           "my manager asked me: {x}", "{x} thx", "ELI5: {x}", "Background for a news article: {x}"],
}


def benign(rng, bank, count, near_count, exclude):
    rows, seen = [], set()
    tries = 0
    while len(rows) < count and tries < count * 30:
        tries += 1
        t = rng.randrange(len(bank.BENIGN))
        text = benign_text(rng, bank, bank.BENIGN[t])
        if text in seen or text in exclude:
            continue
        seen.add(text)
        rows.append({"text": text, "label": "benign", "family": "%s/benign/%d" % ("test" if bank is TEST else "train", t)})
    near, tries = 0, 0
    while near < near_count and tries < near_count * 50:
        tries += 1
        t = rng.randrange(len(bank.NEAR_MISS))
        text = fill(rng, rng.choice(NEAR_MISS_FRAMES[bank]), {"x": [bank.NEAR_MISS[t]]})
        if rng.random() < 0.3:
            text = rng.choice(bank.BENIGN_SENTENCES) + " " + text
        if rng.random() < 0.1:
            text = typos(rng, text)
        text = casing(rng, text)
        if text in seen or text in exclude:
            continue
        seen.add(text)
        near += 1
        rows.append({"text": text, "label": "benign", "family": "%s/near-miss/%d" % ("test" if bank is TEST else "train", t),
                     "note": "near-miss"})
    return rows


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..",
                                                  "tests", "corpora", "prohibited"))
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    earlier = set()  # dev and test never repeat a text of an earlier split
    for split, (bank, seed, per_cat, n_benign, n_near) in SPLITS.items():
        rng = random.Random(seed)
        rows = prohibited(rng, bank, split, per_cat, earlier) + benign(rng, bank, n_benign, n_near, earlier)
        earlier.update(row["text"] for row in rows)
        rng.shuffle(rows)
        path = os.path.join(args.out, FILE_NAMES.get(split, split) + ".jsonl")
        with open(path, "w", encoding="utf-8") as f:
            for row in rows:
                f.write(json.dumps(row, ensure_ascii=False, sort_keys=True) + "\n")
        counts = {}
        for row in rows:
            counts[row["label"]] = counts.get(row["label"], 0) + 1
        print("%s: %d rows, %s" % (path, len(rows), ", ".join("%s %d" % kv for kv in sorted(counts.items()))))


if __name__ == "__main__":
    main()
