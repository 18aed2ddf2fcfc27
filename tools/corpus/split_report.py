#!/usr/bin/env python3
"""Per-category recall and false-positive rates of a policy set on one
labelled file, as docs/content-rules.md reports the test split.

  tools/corpus/split_report.py --tosgate build/tosgate \
      --policies policies/packs/prohibited-use --data FILE.jsonl [--json OUT.json]

Runs `tosgate eval --policies --json` once over the whole file (recall per
category, benign denied and flagged), then once over each category's benign
near misses (rows with note "near-miss" whose family is
"<split>/near-miss/<category>/<n>", as test2.jsonl writes them) and once over
the ordinary benign rows, and prints one Markdown table: per category its
prohibited prompts caught (the category's own rule or classifier category)
and blocked by any rule, and its near misses denied and flagged only. One
run of this script is one reading of the file.
"""
import argparse
import collections
import json
import os
import subprocess
import tempfile


def evaluate(tosgate, policies, path):
    out = subprocess.run([tosgate, 'eval', '--policies', policies, '--data', path, '--json'],
                         check=True, capture_output=True, text=True).stdout
    return json.loads(out)


def pct(n, d):
    return f'{100.0 * n / d:.1f}%' if d else '-'


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--tosgate', default='build/tosgate')
    ap.add_argument('--policies', default='policies/packs/prohibited-use')
    ap.add_argument('--data', required=True)
    ap.add_argument('--json', help='write every eval output here')
    args = ap.parse_args()

    rows = [json.loads(line) for line in open(args.data, encoding='utf-8') if line.strip()]
    near = collections.defaultdict(list)
    ordinary = []
    for r in rows:
        if r.get('label', 'benign') != 'benign':
            continue
        parts = r.get('family', '').split('/')
        if r.get('note') == 'near-miss' and len(parts) >= 4 and parts[1] == 'near-miss':
            near[parts[2]].append(r)
        else:
            ordinary.append(r)
    whole = evaluate(args.tosgate, args.policies, args.data)
    slices = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name, part in list(near.items()) + [('(ordinary)', ordinary)]:
            path = os.path.join(tmp, 'slice.jsonl')
            with open(path, 'w', encoding='utf-8') as f:
                for r in part:
                    f.write(json.dumps(r, ensure_ascii=False) + '\n')
            slices[name] = evaluate(args.tosgate, args.policies, path)['benign']
    if args.json:
        json.dump({'whole': whole, 'benign_slices': slices}, open(args.json, 'w'), indent=1)

    print('| category | prohibited | caught | recall | blocked (any rule) | near misses | denied | flagged only |')
    print('|---|---:|---:|---:|---:|---:|---:|---:|')
    for c in sorted(whole['categories']):
        v = whole['categories'][c]
        b = slices.get(c, {'prompts': 0, 'denied': 0, 'flagged': 0})
        print(f"| `{c}` | {v['prompts']} | {v['caught']} | {pct(v['caught'], v['prompts'])} | "
              f"{100 * v['blocked']:.1f}% | {b['prompts']} | {b['denied']} ({pct(b['denied'], b['prompts'])}) | "
              f"{b['flagged']} ({pct(b['flagged'], b['prompts'])}) |")
    p, b, o = whole['prohibited'], whole['benign'], slices['(ordinary)']
    print(f"| ordinary benign | | | | | {o['prompts']} | {o['denied']} ({pct(o['denied'], o['prompts'])}) | "
          f"{o['flagged']} ({pct(o['flagged'], o['prompts'])}) |")
    print(f"| **all** | {p['prompts']} | {p['caught']} | **{pct(p['caught'], p['prompts'])}** | "
          f"{100 * p['blocked']:.1f}% | {b['prompts']} | **{b['denied']} ({100 * b['denied_share']:.2f}%)** | "
          f"{b['flagged']} ({100 * b['flagged_share']:.2f}%) |")


if __name__ == '__main__':
    main()
