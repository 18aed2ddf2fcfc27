#!/usr/bin/env python3
"""Prints a Markdown table, one row per category, from `tosgate eval
--policies ... --json` outputs: recall (caught/prompts) per file, then the
benign prompts denied and flagged only.

  tools/corpus/eval_table.py NAME=EVAL.json [NAME=EVAL.json ...]
"""
import json
import sys


def main():
    cols = []
    for arg in sys.argv[1:]:
        name, path = arg.split('=', 1)
        cols.append((name, json.load(open(path, encoding='utf-8'))))
    cats = sorted({c for _, j in cols for c in j['categories']})
    print('| category | ' + ' | '.join(n for n, _ in cols) + ' |')
    print('|---|' + '---:|' * len(cols))

    def cell(v):
        if not v or not v.get('prompts'):
            return '-'
        return f"{100 * v['caught'] / v['prompts']:.1f}% ({v['caught']}/{v['prompts']})"

    for c in cats:
        print(f'| `{c}` | ' + ' | '.join(cell(j['categories'].get(c)) for _, j in cols) + ' |')
    print('| **all prohibited** | ' + ' | '.join(f"**{cell(j['prohibited'])}**" for _, j in cols) + ' |')
    print('| benign denied | ' + ' | '.join(
        f"{100 * j['benign']['denied_share']:.2f}% ({j['benign']['denied']}/{j['benign']['prompts']})" for _, j in cols) + ' |')
    print('| benign flagged only | ' + ' | '.join(
        f"{100 * j['benign']['flagged_share']:.2f}% ({j['benign']['flagged']})" for _, j in cols) + ' |')


if __name__ == '__main__':
    main()
