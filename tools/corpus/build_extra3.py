#!/usr/bin/env python3
"""Build tests/corpora/prohibited/train-extra3.jsonl from the hand-written
one-example-per-line sources in tools/corpus/extra3_src/<label>.txt.

Each source line is its own paraphrase family; besides the line itself the
family gets up to three disguised variants written by rule (deterministic,
seed 44), so that the model sees the same ask in the surface forms real
users and attackers use: the ask inside a long harmless preamble, a version
with typos, and one with leetspeak and '@'/'1'/'0' inside words. Variants
keep the family name, so tools/corpus/train_model.py's family halves (and
tools/corpus/check_splits.py) keep them together. The hand-written families
of train-extra.jsonl and train-extra2.jsonl get such variants too, under
their own family names. Train split only.
"""
import json, os, random, sys, collections

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.join(HERE, 'extra3_src')
CORPUS = os.path.join(HERE, '..', '..', 'tests', 'corpora', 'prohibited')
OUT = os.path.join(CORPUS, 'train-extra3.jsonl')

# Harmless preambles and asides, written for this file (not taken from any
# other split): a short ask after them must still count.
PREAMBLES = [
    "Hi, hope you're having a good day. I've been using you for my recipes and my kid's homework and it's been great. Different topic now.",
    "So this week was crazy, my car broke down, my sister moved in with us and the dog ate a sock. Anyway, I have a question.",
    "I run a small bakery in Porto and mostly ask you about invoices and Instagram captions. Today something else:",
    "Context: I'm a second year student, I study economics, I like hiking and I'm learning Spanish on the side. My question is below.",
    "First, thanks for the help with my Excel formulas yesterday, the VLOOKUP works now. Second thing, unrelated:",
    "Background: we are a team of four working remotely, we use Slack and Jira, deadlines are tight and coffee is bad. Here is what I need:",
    "Okay long message sorry. My manager wants a report by Friday, I still have to buy a birthday gift for my mom, and the weather is awful. But the real reason I'm writing:",
    "Hello from Manila! My English is not perfect, sorry for mistakes. I have one question please.",
]
CLOSERS = [
    "", " Thanks a lot!", " Please answer in detail.", " Keep it short, bullet points are fine.",
    " btw I also need a pancake recipe later lol.", " Thank you, and have a nice evening.",
]
LEET = {'a': '4', 'e': '3', 'i': '1', 'o': '0', 's': '5', 't': '7'}


def typos(rng, text):
    words = text.split(' ')
    for i, w in enumerate(words):
        if len(w) > 4 and w.isalpha() and rng.random() < 0.3:
            k = rng.randrange(1, len(w) - 1)
            op = rng.randrange(3)
            if op == 0:
                w = w[:k] + w[k + 1:]                       # a dropped letter
            elif op == 1:
                w = w[:k] + w[k + 1] + w[k] + w[k + 2:]      # two swapped
            else:
                w = w[:k] + w[k] + w[k:]                     # a doubled one
            words[i] = w
    return ' '.join(words).lower() if rng.random() < 0.5 else ' '.join(words)


def leet(rng, text):
    out = []
    for w in text.split(' '):
        if len(w) > 3 and rng.random() < 0.6:
            w = ''.join((LEET[c] if c in LEET and rng.random() < 0.5 else ('@' if c == 'a' and rng.random() < 0.3 else c)) for c in w)
        out.append(w)
    return ' '.join(out)


def main():
    rng = random.Random(44)
    earlier = set()
    for f in ('train.jsonl', 'train-extra.jsonl', 'train-extra2.jsonl'):
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
            fam = f'extra3/{label}/{n}'
            n += 1
            variants = [(t, None)]
            # Benign lines get the preamble too: a long harmless message is
            # not by itself a sign either way.
            if rng.random() < 0.5:
                variants.append((rng.choice(PREAMBLES) + ' ' + t + rng.choice(CLOSERS), 'preamble'))
            if rng.random() < 0.35:
                variants.append((typos(rng, t), 'typos'))
            if label != 'benign' and rng.random() < 0.25:
                variants.append((leet(rng, t), 'leet'))
            for text, note in variants:
                row = {'text': text, 'label': label, 'family': fam}
                if note:
                    row['note'] = note
                rows.append(row)
    # The same disguises for the hand-written families of train-extra and
    # train-extra2 (their own family names: they stay on one side).
    for f in ('train-extra.jsonl', 'train-extra2.jsonl'):
        for line in open(os.path.join(CORPUS, f), encoding='utf-8'):
            r = json.loads(line)
            t, label = r['text'], r['label']
            variants = []
            if rng.random() < 0.4:
                variants.append((rng.choice(PREAMBLES) + ' ' + t + rng.choice(CLOSERS), 'preamble'))
            if rng.random() < 0.25:
                variants.append((typos(rng, t), 'typos'))
            if label != 'benign' and rng.random() < 0.2:
                variants.append((leet(rng, t), 'leet'))
            for text, note in variants:
                rows.append({'text': text, 'label': label, 'family': r['family'], 'note': note})
    with open(OUT, 'w', encoding='utf-8') as o:
        for r in rows:
            o.write(json.dumps(r, ensure_ascii=False) + '\n')
    c = collections.Counter(r['label'] for r in rows)
    print(dict(sorted(c.items())), 'rows', len(rows), 'skipped', skipped, file=sys.stderr)


if __name__ == '__main__':
    main()
