#!/usr/bin/env python3
"""Shrinks a tosgate text model file: weights nearer zero than --min are
set to zero (a bucket row left all zero is not written at all) and the rest
are written with --digits significant digits. The file format is unchanged
(docs/text-models.md); scores move by at most the pruned weights' sum over a
window, so re-measure recall and thresholds on a dev split afterwards.

  tools/corpus/prune_model.py IN OUT [--min 0.02] [--digits 3]
"""
import argparse


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("src")
    ap.add_argument("dst")
    ap.add_argument("--min", type=float, default=0.02)
    ap.add_argument("--digits", type=int, default=3)
    a = ap.parse_args()
    kept = dropped_rows = zeroed = 0
    with open(a.src) as f, open(a.dst, "w") as out:
        for line in f:
            parts = line.split()
            if not parts or not parts[0].isdigit():
                out.write(line)  # the header: name, bits, window, features, labels, bias
                continue
            ws = [float(x) for x in parts[1:]]
            cells = []
            for w in ws:
                if abs(w) < a.min:
                    zeroed += w != 0
                    cells.append("0")
                else:
                    cells.append(f"{w:.{a.digits}g}")
                    kept += 1
            if all(c == "0" for c in cells):
                dropped_rows += 1
                continue
            out.write(parts[0] + " " + " ".join(cells) + "\n")
    print(f"kept {kept} weights, zeroed {zeroed}, dropped {dropped_rows} rows")


if __name__ == "__main__":
    main()
