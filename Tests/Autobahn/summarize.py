#!/usr/bin/env python3
"""Reads an Autobahn|Testsuite fuzzingclient report (OUTDIR/index.json) and prints one line per
failing case, a count per behaviour, and the closing line "N passed, N failed".

A case passes when its behaviour is OK, NON-STRICT or INFORMATIONAL and its close behaviour is not
FAILED. A case listed in spec.json but missing from the report (the run died) fails. Exit 0 iff
nothing failed and something passed.

usage: summarize.py OUTDIR
"""
import json
import os
import sys

PASSING = ("OK", "NON-STRICT", "INFORMATIONAL")


def main(outdir):
    index_path = os.path.join(outdir, "index.json")
    if not os.path.exists(index_path):
        print("no report at %s (the suite did not finish)" % index_path)
        print("0 passed, 1 failed")
        return 1
    with open(index_path) as f:
        index = json.load(f)
    results = {}
    for agent_cases in index.values():
        results.update(agent_cases)
    counts = {}
    passed, failed = 0, []
    for case, entry in sorted(results.items(), key=lambda kv: [int(x) for x in kv[0].split(".")]):
        behaviour, close = entry.get("behavior"), entry.get("behaviorClose")
        counts[behaviour] = counts.get(behaviour, 0) + 1
        if behaviour == "UNIMPLEMENTED":
            continue
        if behaviour in PASSING and close != "FAILED":
            passed += 1
        else:
            failed.append("%s: %s (close: %s)" % (case, behaviour, close))
    print("behaviours: " + ", ".join("%s %d" % kv for kv in sorted(counts.items())))
    for line in failed:
        print("FAILED " + line)
    print("%d passed, %d failed" % (passed, len(failed)))
    return 0 if passed > 0 and not failed else 1


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    sys.exit(main(sys.argv[1]))
