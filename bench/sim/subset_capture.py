#!/usr/bin/env python3
"""The requests of some personas of a traffic_sim capture, for quick tuning replays
(issue 20, round 4: chat, coding, the hard negatives and the blended campaign).

  bench/sim/subset_capture.py SRC DST chat-user,coding-assistant,low-and-slow-blended
"""
import json, sys, os
src, dst, keep = sys.argv[1], sys.argv[2], set(sys.argv[3].split(','))
os.makedirs(dst, exist_ok=True)
lab = {}
with open(f'{dst}/labels.jsonl', 'w') as o:
    for l in open(f'{src}/labels.jsonl'):
        j = json.loads(l)
        if j['scenario'] in keep: o.write(l); lab[j['account']] = 1
keys = set()
with open(f'{dst}/accounts.jsonl', 'w') as o:
    for l in open(f'{src}/accounts.jsonl'):
        j = json.loads(l)
        if j['id'] in lab:
            o.write(l); keys.update(j.get('keys', []))
n = 0
with open(f'{dst}/capture.jsonl', 'w') as o:
    for l in open(f'{src}/capture.jsonl'):
        i = l.find('Bearer ')
        if i < 0:
            i = l.find('"x-api-key": "'); k = l[i+14:l.find('"', i+14)] if i >= 0 else ''
        else:
            k = l[i+7:l.find('"', i+7)]
        if k in keys: o.write(l); n += 1
print('kept', n, file=sys.stderr)
