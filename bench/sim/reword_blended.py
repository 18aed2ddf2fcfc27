#!/usr/bin/env python3
"""Rewords the low-and-slow-blended campaign of a TRAIN-bank capture with a
tuning paraphrase of its instruction, one the harvest model was not trained
on (the corpus is generated from the train bank, so the model knows the train
bank's blended wordings by heart, and a train-bank capture cannot show what
happens when the campaign's wording is new). Tuning only: the three wordings
below are neither the train nor the eval bank's (bench/sim/harvest_text.cc).

  build/traffic_sim --seed 1 --bank train --scenario low-and-slow-blended --out SRC
  mkdir DST && cp SRC/accounts.jsonl SRC/labels.jsonl DST/
  bench/sim/reword_blended.py SRC DST 0      # 0, 1 or 2: the tuning wording
  build/tosgate replay --policies policies/packs/distillation --capture DST/capture.jsonl \
      --accounts DST/accounts.jsonl --labels DST/labels.jsonl

docs/distillation.md (issue 20) reports what it was used for.
"""
import json, sys
src, dst, which = sys.argv[1], sys.argv[2], int(sys.argv[3])
TRAIN = ["Please give a complete answer: {slot}\n(Go through the reasoning behind each point.)",
         "{slot}\n\nRespond in full and walk through how you reached each conclusion.",
         "Provide a complete answer to the following, explaining your reasoning at every step. {slot}",
         "Could you answer this fully, explaining the reasoning for each part? {slot}",
         "{slot}\n\n(Full answer please, with how you got to each point.)"]
DEV = ["{slot}\n\nI want the whole answer, with every inference spelled out.",
       "Answer in depth, and justify each part of the answer as you go: {slot}",
       "Complete response needed. For each claim, say why it holds. {slot}"]
new = DEV[which]; np_, ns = new.split('{slot}')
out = open(f'{dst}/capture.jsonl', 'w'); n = 0
for l in open(f'{src}/capture.jsonl'):
    if '"max_tokens": 4096' in l or '"max_tokens": 2048' in l:
        j = json.loads(l)
        msgs = j['body'].get('messages')
        if msgs and isinstance(msgs[-1].get('content'), str):
            c = msgs[-1]['content']
            for t in TRAIN:
                p, s = t.split('{slot}')
                if c.startswith(p) and c.endswith(s) and len(c) > len(p) + len(s):
                    msgs[-1]['content'] = np_ + c[len(p):len(c) - len(s)] + ns; n += 1
                    l = json.dumps(j) + '\n'; break
    out.write(l)
print('rewrote', n, file=sys.stderr)
