#!/usr/bin/env python3
"""Runs a labelled corpus (JSONL: text, label) through a policy set with
`tosgate replay` and prints recall per category and the benign rates.

    python3 tools/corpus/eval_pack.py [--tosgate build/tosgate]
        [--policies policies/packs/prohibited-use] DATA.jsonl [MORE.jsonl ...]
        [--misses N] [--false-positives N]

Each line becomes one chat request (the text as the user message) in a
temporary capture; replay writes one decision per request, in order. A
prohibited example counts as caught when any `prohibited.*` rule matched it
(deny or flag); "right rule" counts only the rule of its own category. A
benign example is "denied" when the decision is a deny, "flagged" when a rule
flagged it. Replay's decision lines name only the rules that decided, so the
set is copied and its `action: flag` rules are evaluated as deny, then counted
as flags. Standard library only.
"""
import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

# Corpus label -> the pack's rule for it (the six older rules keep their ids).
RULE = {
    "cbrn": "prohibited.cbrn-weapons",
    "explosives-weapons": "prohibited.explosives",
    "malware-intrusion": "prohibited.malware",
    "child-sexual": "prohibited.child-safety",
    "violent-extremism": "prohibited.violent-extremism",
    "fraud-scams": "prohibited.fraud",
}


def rule_for(label):
    return RULE.get(label, "prohibited." + label)


def main():
    root = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("data", nargs="+")
    ap.add_argument("--tosgate", default=os.path.join(root, "build", "tosgate"))
    ap.add_argument("--policies", default=os.path.join(root, "policies", "packs", "prohibited-use"))
    ap.add_argument("--misses", type=int, default=0, help="print up to N missed prohibited examples")
    ap.add_argument("--false-positives", type=int, default=0, help="print up to N caught benign examples")
    args = ap.parse_args()

    rows = []
    for path in args.data:
        with open(path, encoding="utf-8") as f:
            rows += [json.loads(line) for line in f if line.strip()]
    with tempfile.TemporaryDirectory() as tmp:
        policies = os.path.join(tmp, "policies")
        shutil.copytree(args.policies, policies, symlinks=False)
        flag_rules = set()
        for dirpath, _, files in os.walk(policies):
            for name in files:
                if not name.endswith(".yaml") or name.endswith(".test.yaml"):
                    continue
                path = os.path.join(dirpath, name)
                text = open(path, encoding="utf-8").read()
                rule = None
                lines = text.split("\n")
                for i, line in enumerate(lines):
                    m = re.match(r"\s*- id: (\S+)", line)
                    if m and line.startswith("  - id:"):
                        rule = m.group(1)
                    if re.match(r"\s+action: flag\s*$", line) and rule:
                        flag_rules.add(rule)
                        lines[i] = line.replace("action: flag", "action: deny")
                open(path, "w", encoding="utf-8").write("\n".join(lines))
        capture = os.path.join(tmp, "capture.jsonl")
        accounts = os.path.join(tmp, "accounts.jsonl")
        decisions = os.path.join(tmp, "decisions.jsonl")
        with open(accounts, "w") as f:
            f.write(json.dumps({"id": "acct-eval", "tier": "free", "keys": ["sk-eval-1"]}) + "\n")
        with open(capture, "w", encoding="utf-8") as f:
            for i, row in enumerate(rows):
                f.write(json.dumps({
                    "ts": 1764331200000 + i, "method": "POST", "path": "/v1/chat/completions",
                    "headers": {"authorization": "Bearer sk-eval-1", "content-type": "application/json"},
                    "body": {"model": "m", "messages": [{"role": "user", "content": row["text"]}]},
                }, ensure_ascii=False) + "\n")
        r = subprocess.run([args.tosgate, "replay", "--policies", policies, "--capture", capture,
                            "--accounts", accounts, "--decisions-out", decisions, "--json"],
                           capture_output=True, text=True)
        if r.returncode != 0:
            sys.stderr.write(r.stderr)
            sys.exit(1)
        seconds = json.loads(r.stdout).get("seconds", 0)
        with open(decisions) as f:
            out = [json.loads(line) for line in f]
    if len(out) != len(rows):
        sys.exit("replay decided %d of %d requests" % (len(out), len(rows)))

    stats, misses, fps, others = {}, [], [], []
    benign = {"n": 0, "denied": 0, "flagged": 0, "near": 0, "near_denied": 0}
    for row, d in zip(rows, out):
        label = row.get("label") or "benign"
        rules = [x for x in d["rules"] if x.startswith("prohibited.")]
        if label == "benign":
            near = row.get("note") == "near-miss"
            benign["n"] += 1
            benign["near"] += near
            if any(x not in flag_rules for x in rules):
                benign["denied"] += 1
                benign["near_denied"] += near
            elif rules:
                benign["flagged"] += 1
            if rules:
                fps.append((rules, row["text"]))
            continue
        s = stats.setdefault(label, {"n": 0, "caught": 0, "right": 0})
        s["n"] += 1
        if rules:
            s["caught"] += 1
            s["right"] += rule_for(label) in rules
            if rule_for(label) not in rules:
                others.append((label, rules, row["text"]))
        else:
            misses.append((label, row["text"]))

    print("%-24s %6s %7s %7s %10s" % ("category", "n", "caught", "recall", "right rule"))
    tn = tc = 0
    for label in sorted(stats):
        s = stats[label]
        tn += s["n"]
        tc += s["caught"]
        print("%-24s %6d %7d %6.1f%% %9.1f%%" % (label, s["n"], s["caught"], 100.0 * s["caught"] / s["n"],
                                                100.0 * s["right"] / s["n"]))
    if tn:
        print("%-24s %6d %7d %6.1f%%" % ("all prohibited", tn, tc, 100.0 * tc / tn))
    if benign["n"]:
        print("benign: %d, denied %d (%.2f%%), flagged %d; near misses %d, denied %d" % (
            benign["n"], benign["denied"], 100.0 * benign["denied"] / benign["n"], benign["flagged"],
            benign["near"], benign["near_denied"]))
    print("replay: %d requests in %.2f s" % (len(rows), seconds))
    for label, text in misses[: args.misses]:
        print("MISS %s: %s" % (label, text[:200].replace("\n", " ")))
    for label, rules, text in others[: args.misses]:
        print("OTHER RULE %s: %s: %s" % (label, ",".join(rules), text[:200].replace("\n", " ")))
    for rules, text in fps[: args.false_positives]:
        print("FP %s: %s" % (",".join(rules), text[:200].replace("\n", " ")))


if __name__ == "__main__":
    main()
