#!/usr/bin/env python3
"""Prints a model's score per label for each benign prompt of a labelled file,
highest first per label: which benign prompts set the thresholds that
`tosgate eval --model --max-fpr 0` prints. (One `eval` per prompt: a
prompt's threshold at --max-fpr 0 is its score.) For development files only.

  tools/corpus/scores.py --tosgate build/tosgate --model M --data FILE [--top 5] [--label L]
"""
import argparse
import concurrent.futures
import json
import os
import subprocess
import tempfile


def score(tosgate, model, row, tmp, i):
    path = os.path.join(tmp, f'{i}.jsonl')
    with open(path, 'w', encoding='utf-8') as f:
        f.write(json.dumps(row) + '\n')
    out = subprocess.run([tosgate, 'eval', '--model', model, '--data', path, '--max-fpr', '0'],
                         check=True, capture_output=True, text=True).stdout
    return {c[0]: float(c[1]) for c in (l.split() for l in out.splitlines()[1:]) if len(c) >= 2}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--tosgate', required=True)
    ap.add_argument('--model', required=True)
    ap.add_argument('--data', required=True)
    ap.add_argument('--top', type=int, default=5)
    ap.add_argument('--label', action='append')
    args = ap.parse_args()
    rows = [json.loads(l) for l in open(args.data, encoding='utf-8') if l.strip()]
    rows = [r for r in rows if r.get('label', 'benign') == 'benign']
    with tempfile.TemporaryDirectory() as tmp, concurrent.futures.ThreadPoolExecutor(2) as ex:
        scores = list(ex.map(lambda ir: score(args.tosgate, args.model, ir[1], tmp, ir[0]), enumerate(rows)))
    for label in sorted(scores[0]):
        if args.label and label not in args.label:
            continue
        print(label)
        for s, r in sorted(((s[label], r) for s, r in zip(scores, rows)), key=lambda x: -x[0])[:args.top]:
            print(f'  {s:.4f}  {r["text"][:150]}')


if __name__ == '__main__':
    main()
