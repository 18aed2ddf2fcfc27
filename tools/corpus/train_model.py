#!/usr/bin/env python3
"""Trains a shipped text model and picks its thresholds on wordings it never saw.

Thresholds chosen on a dev split that shares the training split's templates
are far too low for new wordings (the model is sure of what it memorized).
So thresholds are cross-fitted over paraphrase families:

  1. the training examples are split in two halves by family;
  2. a model trained on each half picks, per label, the threshold that flags
     at most MAX_FPR of the *other* half's benign examples;
  3. the shipped model is trained on everything; each label's threshold is
     the mean of the two halves' thresholds.

Prints the thresholds as a YAML `categories:` map for a content rule's
`classifier:` block. The test split is never read.

  tools/corpus/train_model.py --tosgate build/tosgate --out MODEL \
      --data train.jsonl [--data more.jsonl] --max-fpr 0.002 [-- extra train flags]
"""
import argparse
import json
import math
import os
import subprocess
import sys
import tempfile
import zlib


def family_half(example):
    # A stable hash of the family (or of the text when there is none).
    fam = example.get("family") or example["text"]
    return zlib.crc32(fam.encode()) % 2


def thresholds(tosgate, train, dev, max_fpr, extra, tmp):
    model = os.path.join(tmp, "half.model")
    out = subprocess.run(
        [tosgate, "train", "--data", train, "--out", model, "--dev", dev, "--max-fpr", str(max_fpr)] + extra,
        check=True, capture_output=True, text=True).stdout
    found = {}
    for line in out.splitlines()[2:]:
        cols = line.split()
        if len(cols) >= 2:
            found[cols[0]] = float(cols[1])
    return found


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--tosgate", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--data", action="append", required=True)
    ap.add_argument("--max-fpr", type=float, default=0.002)
    ap.add_argument("extra", nargs="*", help="flags passed to tosgate train (after --)")
    args = ap.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        halves = [open(os.path.join(tmp, f"h{i}.jsonl"), "w") for i in range(2)]
        for path in args.data:
            with open(path) as f:
                for line in f:
                    if line.strip():
                        halves[family_half(json.loads(line))].write(line)
        for h in halves:
            h.close()
        a, b = (os.path.join(tmp, f"h{i}.jsonl") for i in range(2))
        print("cross-fitting thresholds on family halves...", file=sys.stderr)
        ta = thresholds(args.tosgate, a, b, args.max_fpr, args.extra, tmp)
        tb = thresholds(args.tosgate, b, a, args.max_fpr, args.extra, tmp)
        cmd = [args.tosgate, "train", "--out", args.out] + sum((["--data", d] for d in args.data), []) + args.extra
        print("training the shipped model: " + " ".join(cmd), file=sys.stderr)
        subprocess.run(cmd, check=True)
    print("categories:")
    for label in sorted(ta):
        # Rounded up: a threshold rounded down would let the benign prompt
        # it was set just above through.
        t = (ta[label] + tb.get(label, ta[label])) / 2
        print(f"  {label}: {math.ceil(t * 1e4) / 1e4:.4f}")


if __name__ == "__main__":
    main()
