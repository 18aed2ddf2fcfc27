#!/usr/bin/env python3
"""Rewords the benign templated workloads of a TRAIN-bank capture with DEV
wordings (issue 20, round 6; tuning only). The harvest corpus is generated
from the train bank, so a model knows the train bank's multiple-choice,
harness, tutoring and long-form wordings by heart, and a train-bank capture
cannot show what happens when a benign template's words are new - which is
what round 5's candidate model met in the eval bank (evaluation harnesses
flagged). These wordings were written for tuning on 2026-12-07 (round 6),
outside the corpus's composed parts (bench/sim/composed_benign.cc) and
without reading any reporting bank's texts; each account keeps one wording,
as a harness keeps its template.

  build/traffic_sim --seed 1 --bank train --out SRC
  bench/sim/reword_benign.py SRC DST       # DST gets accounts and labels too
  build/tosgate replay --policies P --capture DST/capture.jsonl \
      --accounts DST/accounts.jsonl --labels DST/labels.jsonl
"""
import json, os, re, shutil, sys, zlib

src, dst = sys.argv[1], sys.argv[2]
os.makedirs(dst, exist_ok=True)
for f in ('accounts.jsonl', 'labels.jsonl'):
    shutil.copy(f'{src}/{f}', f'{dst}/{f}')

# Multiple-choice items, rendered from the stem {q} and options {o0}..{o3}.
MC = ["Here is a test question. Reply with the correct letter.\n{q}\nA - {o0}\nB - {o1}\nC - {o2}\nD - {o3}\nCorrect letter:",
      "{q}\n\nPossible answers:\n i. {o0}\n ii. {o1}\n iii. {o2}\n iv. {o3}\nWhich one? Respond with i, ii, iii or iv.",
      "Consider the following. {q} Candidates: (1) {o0} (2) {o1} (3) {o2} (4) {o3}. The right candidate is number",
      "### Instruction\nSelect the right alternative for the question below.\n### Question\n{q}\n### Alternatives\nA {o0}\nB {o1}\nC {o2}\nD {o3}\n### Response\n",
      "Evaluation prompt #{n}\n{q}\nThe alternatives are A: {o0}, B: {o1}, C: {o2}, D: {o3}.\nGive only the letter.",
      "Decide which answer is correct.\n\n{q}\nA {o0} | B {o1} | C {o2} | D {o3}\n\nAnswer letter ->"]
# Harness problems, around the hard question {hq}.
HARNESS = ["Work on this problem and conclude with 'The answer is X'.\n{hq}",
           "{hq}\n\nWhen done, output your result between <answer> and </answer>.",
           "Instance {n}. Compute the requested quantity.\n{hq}\nFinal result only on the last line.",
           "Please solve. Your output will be auto-graded by exact match.\n\n{hq}"]
# Tutoring and long-form: whole texts with their own small slots.
TUTOR = ["My pupil keeps mixing up {a}. Could you explain it kindly, with one worked example and a tiny quiz?",
         "Lesson prep: a clear explanation of {a} that a {age}-year-old can follow, plus two practice problems.",
         "Student question from tonight's homework club: how does {a} work? Please answer at their level.",
         "Help a learner who got {a} wrong on a worksheet: where might they have slipped, and how to fix it?"]
LONG = ["Compose a {w}-word short story set in a lighthouse, with a twist at the end.",
        "I need a long opinion piece on {a} for our local paper, roughly {w} words.",
        "Turn my bullet points into a polished report section of about {w} words: {a}; budget; next steps.",
        "Continue my memoir chapter about the summer we spent fixing a boat. Aim for {w} words."]
TOPICS = ["negative numbers", "photosynthesis", "long division", "the water cycle", "ratios",
          "simple interest", "adjectives and adverbs", "the times tables", "area and perimeter", "magnetism"]


def h(*parts):
    return zlib.crc32('|'.join(map(str, parts)).encode())


def mc(text, acct, k):
    lines = [x for x in text.split('\n') if x]
    opts = [x[3:] for x in lines if re.match(r'^[A-D]\) ', x)]
    rest = [x for x in lines if not re.match(r'^[A-D]\) ', x) and x != 'Answer:'
            and x != 'Answer the multiple-choice question.']
    if len(opts) != 4 or not rest:
        return None
    q = rest[-1][len('Question: '):] if rest[-1].startswith('Question: ') else rest[-1]
    t = MC[h(acct) % len(MC)]
    return t.format(q=q, o0=opts[0], o1=opts[1], o2=opts[2], o3=opts[3], n=100 + k % 900)


def harness(text, acct, k):
    m = re.search(r'(?:Problem|Question): (.*)$', text, re.S)
    hq = m.group(1) if m else text.split('\n\n')[0]
    return HARNESS[h(acct) % len(HARNESS)].format(hq=hq, n=k)


def whole(bank, acct, k):
    return bank[h(acct, k) % len(bank)].format(a=TOPICS[h(acct, k, 1) % len(TOPICS)], age=9 + h(acct, k) % 6,
                                              w=800 + 100 * (h(acct, k, 2) % 20))


keys, scen = {}, {}
for l in open(f'{src}/accounts.jsonl'):
    j = json.loads(l)
    for key in j.get('keys', []):
        keys[key] = j['id']
for l in open(f'{src}/labels.jsonl'):
    j = json.loads(l)
    scen[j['account']] = j['scenario']
counts = {}
with open(f'{dst}/capture.jsonl', 'w') as out:
    for k, l in enumerate(open(f'{src}/capture.jsonl')):
        i = l.find('Bearer ')
        if i < 0:
            i = l.find('"x-api-key": "')
            key = l[i + 14:l.find('"', i + 14)] if i >= 0 else ''
        else:
            key = l[i + 7:l.find('"', i + 7)]
        acct = keys.get(key)
        s = scen.get(acct)
        if s in ('eval-logprobs', 'benign-hard-eval-harness', 'benign-hard-tutoring', 'benign-hard-longform-writer'):
            j = json.loads(l)
            msgs = j['body'].get('messages')
            if msgs and isinstance(msgs[-1].get('content'), str):
                c = msgs[-1]['content']
                new = (mc(c, acct, k) if s == 'eval-logprobs' else
                       harness(c, acct, k) if s == 'benign-hard-eval-harness' else
                       whole(TUTOR if s == 'benign-hard-tutoring' else LONG, acct, k))
                if new:
                    msgs[-1]['content'] = new
                    l = json.dumps(j) + '\n'
                    counts[s] = counts.get(s, 0) + 1
        out.write(l)
print('rewrote', counts, file=sys.stderr)
