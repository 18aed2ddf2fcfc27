#!/usr/bin/env python3
"""Builds a candidate classifier tier for the prohibited-use pack and measures
it on development files only.

  tools/corpus/candidate.py --tosgate build/tosgate --work DIR \
      --data train.jsonl [--data more.jsonl ...] [--eval held.jsonl ...] \
      [--deny-fpr 0.001] [--review-fpr 0.005] [--raise-on other-dev.jsonl] \
      [-- extra tosgate train flags]

1. tools/corpus/train_model.py trains the model on --data and cross-fits
   the deny and review thresholds over paraphrase-family halves;
2. each threshold is raised to one step (0.0001) above what `tosgate eval
   --model` prints on --raise-on at --max-fpr 0 (deny) and 0.002 (review),
   the shipped protocol (tier2-classifier.yaml's header; --raise-review-fpr
   changes the review step's share);
3. DIR/pack is a copy of the pack with that model and those thresholds;
   `tosgate eval --policies DIR/pack` runs on every --eval file (files the
   model was not trained on) and on --raise-on.

--reuse EARLIER_DIR skips step 1 (the model and the cross-fitted thresholds
of an earlier run, saved in its crossfit.json), to try other --raise-on
pools or floors on the same model.

Prints the thresholds and one line per file; never give it the test split
unless that reading is meant (and counted).
"""
import argparse
import json
import os
import re
import shutil
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.join(HERE, '..', '..')
PACK = os.path.join(ROOT, 'policies', 'packs', 'prohibited-use')


def crossfit(args, fpr, model):
    out = subprocess.run([sys.executable, os.path.join(HERE, 'train_model.py'), '--tosgate', args.tosgate,
                          '--out', model, '--max-fpr', str(fpr)] + sum((['--data', d] for d in args.data), []) +
                         ['--'] + args.extra, check=True, capture_output=True, text=True).stdout
    return {m.group(1): float(m.group(2)) for m in re.finditer(r'^  (\S+): ([0-9.]+)$', out, re.M)}


def model_thresholds(args, model, data, fpr):
    out = subprocess.run([args.tosgate, 'eval', '--model', model, '--data', data, '--max-fpr', str(fpr)],
                         check=True, capture_output=True, text=True).stdout
    found = {}
    for line in out.splitlines()[1:]:
        cols = line.split()
        if len(cols) >= 2:
            found[cols[0]] = float(cols[1])
    return found


def write_tier(path, deny, review):
    text = open(os.path.join(PACK, 'tier2-classifier.yaml'), encoding='utf-8').read()
    blocks = text.split('    classifier:\n')
    assert len(blocks) == 3, 'tier2-classifier.yaml: expected two classifier blocks'

    def fill(block, th):
        def repl(m):
            label = m.group(1)
            if label == 'self-harm' and '{threshold' in m.group(0):
                return re.sub(r'threshold: [0-9.]+', f'threshold: {th[label]:.4f}', m.group(0))
            return f'        {label}: {th[label]:.4f}'
        return re.sub(r'^        ([a-z-]+): (\{threshold: [0-9.]+, action: flag\}|[0-9.]+)$', repl, block, flags=re.M)

    text = blocks[0] + '    classifier:\n' + fill(blocks[1], deny) + '    classifier:\n' + fill(blocks[2], review)
    open(path, 'w', encoding='utf-8').write(text)


def evaluate(args, pack, data):
    j = json.loads(subprocess.run([args.tosgate, 'eval', '--policies', pack, '--data', data, '--json'],
                                  check=True, capture_output=True, text=True).stdout)
    return j


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--tosgate', required=True)
    ap.add_argument('--work', required=True)
    ap.add_argument('--data', action='append', required=True)
    ap.add_argument('--eval', action='append', default=[])
    ap.add_argument('--deny-fpr', type=float, default=0.001)
    ap.add_argument('--review-fpr', type=float, default=0.005)
    ap.add_argument('--raise-on', action='append',
                    help='benign prompts to raise thresholds on (repeatable; the files are read together); '
                         'default other-dev.jsonl')
    ap.add_argument('--raise-review-fpr', type=float, default=0.002,
                    help='review thresholds are raised to flag at most this share of --raise-on benign prompts')
    ap.add_argument('--deny-floor', type=float, default=0.0,
                    help='no deny threshold below this score (a category under it is flagged, not denied, '
                         'from its review threshold up to the floor)')
    ap.add_argument('--no-raise', action='store_true', help='cross-fitted thresholds only')
    ap.add_argument('--per-category', action='store_true')
    ap.add_argument('--reuse', metavar='DIR',
                    help='take the model and the cross-fitted thresholds of an earlier --work DIR (same --data and '
                         'train flags) instead of training again; only the raising and the evaluations run')
    ap.add_argument('extra', nargs='*')
    args = ap.parse_args()

    os.makedirs(args.work, exist_ok=True)
    args.raise_on = args.raise_on or [os.path.join(ROOT, 'tests', 'corpora', 'prohibited', 'other-dev.jsonl')]
    raise_files = args.raise_on
    if len(raise_files) > 1:  # one pool: every file's benign prompts
        pool = os.path.join(args.work, 'raise-pool.jsonl')
        with open(pool, 'w', encoding='utf-8') as out:
            for f in raise_files:
                for line in open(f, encoding='utf-8'):
                    if line.strip() and json.loads(line).get('label', 'benign') == 'benign':
                        out.write(line if line.endswith('\n') else line + '\n')
        args.raise_on = pool
    else:
        args.raise_on = raise_files[0]
    pack = os.path.join(args.work, 'pack')
    if os.path.exists(pack):
        shutil.rmtree(pack)
    shutil.copytree(PACK, pack)
    model = os.path.join(pack, 'models', 'prohibited.model')
    if args.reuse:
        shutil.copyfile(os.path.join(args.reuse, 'pack', 'models', 'prohibited.model'), model)
        fitted = json.load(open(os.path.join(args.reuse, 'crossfit.json'), encoding='utf-8'))
        deny, review = fitted['deny'], fitted['review']
    else:
        deny = crossfit(args, args.deny_fpr, model)
        review = crossfit(args, args.review_fpr, model)
        with open(os.path.join(args.work, 'crossfit.json'), 'w', encoding='utf-8') as f:
            json.dump({'deny': deny, 'review': review}, f, indent=1, sort_keys=True)
    if not args.no_raise:
        od_deny = model_thresholds(args, model, args.raise_on, 0)
        od_review = model_thresholds(args, model, args.raise_on, args.raise_review_fpr)
        deny = {k: max(v, round(od_deny.get(k, 0) + 1e-4, 4)) for k, v in deny.items()}
        review = {k: max(v, round(od_review.get(k, 0) + 1e-4, 4)) for k, v in review.items()}
    review = {k: min(v, deny[k]) for k, v in review.items()}
    deny = {k: max(v, args.deny_floor) for k, v in deny.items()}
    write_tier(os.path.join(pack, 'tier2-classifier.yaml'), deny, review)
    print('label                     deny  review')
    for k in sorted(deny):
        print(f'  {k:22s} {deny[k]:.4f} {review[k]:.4f}')
    for data in args.eval + ([] if args.no_raise else raise_files):
        j = evaluate(args, pack, data)
        p, b = j['prohibited'], j['benign']
        print(f"{os.path.basename(data):22s} caught {p['recall']*100:5.1f}% ({p['caught']}/{p['prompts']})  "
              f"benign denied {b['denied_share']*100:.2f}% ({b['denied']}/{b['prompts']}) "
              f"flagged only {b['flagged_share']*100:.2f}% ({b['flagged']})")
        if args.per_category:
            for c, v in sorted(j['categories'].items()):
                print(f"    {c:24s} {v['caught']:4d}/{v['prompts']:<4d} {v['recall']*100:5.1f}%")


if __name__ == '__main__':
    main()
