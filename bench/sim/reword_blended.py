#!/usr/bin/env python3
"""Rewords the low-and-slow-blended campaign of a capture with another
paraphrase of its instruction. Two uses, kept apart:

- DEV (tuning): wordings the harvest model was not trained on, applied to
  TRAIN-bank captures (the corpus is generated from the train bank, so the
  model knows the train bank's blended wordings by heart, and a train-bank
  capture cannot show what happens when the campaign's wording is new).
- HOLDOUT (the third bank, reporting only): wordings written on 2026-12-07
  before any tuning of issue 20's fourth round and never used for it,
  applied to EVAL-bank captures of a seed never used for tuning.

  build/traffic_sim --seed 1 --bank train --scenario low-and-slow-blended --out SRC
  mkdir DST && cp SRC/accounts.jsonl SRC/labels.jsonl DST/
  bench/sim/reword_blended.py SRC DST 0            # DEV wording 0-8
  bench/sim/reword_blended.py SRC DST holdout:1    # HOLDOUT wording 0, 1 or 2
  bench/sim/reword_blended.py SRC DST fresh:4      # FRESH wording 0-5 (eval bank, seed 31)
  build/tosgate replay --policies policies/packs/distillation --capture DST/capture.jsonl \
      --accounts DST/accounts.jsonl --labels DST/labels.jsonl

A full capture (every scenario) works as well: only the campaign's requests
are rewritten. docs/distillation.md (issue 20) reports what each was used for.
"""
import json, sys
src, dst, which = sys.argv[1], sys.argv[2], sys.argv[3]
# The simulator's own wordings (bench/sim/harvest_text.cc, BlendedHarvestPrompt).
BANKS = ["Please give a complete answer: {slot}\n(Go through the reasoning behind each point.)",
         "{slot}\n\nRespond in full and walk through how you reached each conclusion.",
         "Provide a complete answer to the following, explaining your reasoning at every step. {slot}",
         "Could you answer this fully, explaining the reasoning for each part? {slot}",
         "{slot}\n\n(Full answer please, with how you got to each point.)",
         "{slot}\n\n-- Give a full answer and make the logic behind every claim explicit.",
         "Answer the following as completely as possible, showing how each point follows: {slot}",
         "Thorough answer please, with the thinking behind it laid out step by step: {slot}"]
DEV = ["{slot}\n\nI want the whole answer, with every inference spelled out.",
       "Answer in depth, and justify each part of the answer as you go: {slot}",
       "Complete response needed. For each claim, say why it holds. {slot}",
       # Round 5 (tuning only, train-bank captures): wordings outside the
       # corpus's composed parts, to judge what the composed corpus teaches.
       "{slot}\n\nI need this answered with all the reasoning included, stage after stage.",
       "Please solve and show every bit of the thinking that gets you there. {slot}",
       "{slot} Write a long answer that justifies everything it says.",
       "Go through this carefully and completely, explaining each move: {slot}",
       "{slot}\n\nFull solution with commentary on each stage, please.",
       "Explain thoroughly, with the logic made visible throughout: {slot}"]
HOLDOUT = ["For our notes: {slot} -- cover it exhaustively and connect each statement to the one before.",
           "{slot}\n\nNo short version. Lay out the argument in order, nothing skipped.",
           "Work this out in detail, making clear what leads to what along the way. {slot}"]
# FRESH (the fourth bank, reporting only): written on 2026-12-07 at 15:50 UTC,
# before any tuning of issue 20's fifth round, committed before it was
# evaluated, for eval-bank captures of seed 31 (a seed never used before).
# One wording per class of the misses: the considerations in order
# (chain-of-thought in unlisted words), the path of inference, a worked
# solution's structure, no gap between question and conclusion, every
# intermediate result, every link of the argument.
FRESH = ["{slot}\n\nBefore the final reply, list the considerations you weighed, in the order you weighed them.",
         "Here is an item for our study set. {slot} Give the answer along with the full path of inference that produced it.",
         "{slot} -- please answer as a worked solution: premises first, each deduction after, conclusion last.",
         "Respond at length and leave no gap between the question and your conclusion: {slot}",
         "{slot}\n\nShow me the scaffolding, not only the building: every intermediate result on its own line.",
         "I'd like a model answer to this, one that makes every link in the argument visible. {slot}"]
if which.startswith('holdout:'):
    new = HOLDOUT[int(which.split(':')[1])]
elif which.startswith('fresh:'):
    new = FRESH[int(which.split(':')[1])]
else:
    new = DEV[int(which)]
np_, ns = new.split('{slot}')
out = open(f'{dst}/capture.jsonl', 'w'); n = 0
for l in open(f'{src}/capture.jsonl'):
    if '"max_tokens": 4096' in l or '"max_tokens": 2048' in l:
        j = json.loads(l)
        msgs = j['body'].get('messages')
        if msgs and isinstance(msgs[-1].get('content'), str):
            c = msgs[-1]['content']
            for t in BANKS:
                p, s = t.split('{slot}')
                if c.startswith(p) and c.endswith(s) and len(c) > len(p) + len(s):
                    msgs[-1]['content'] = np_ + c[len(p):len(c) - len(s)] + ns; n += 1
                    l = json.dumps(j) + '\n'; break
    out.write(l)
print('rewrote', n, file=sys.stderr)
