"""Randomized interleavings of put / replace / delete / redelivery, with OpenSearch's 60-second search
visibility delay on: after settling, how many stale, duplicate, orphan, resurrected
and missing documents or chunks remain.

    python benchmarks/ingest_interleavings.py [--scenarios 200]

Each scenario is described in tests/support/interleavings.py: concurrent ingest workers (the real
function code over the real adapters, S3 and DynamoDB under moto, a FAKE collection) resumed in a
random order, with crashes, failures a retry fixes, and redeliveries. Target: every count 0.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "layers" / "ragchat"))
sys.path.insert(0, str(ROOT))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--scenarios", type=int, default=200)
    args = parser.parse_args()
    os.environ.update({"AWS_DEFAULT_REGION": "eu-west-1", "AWS_ACCESS_KEY_ID": "bench",
                       "AWS_SECRET_ACCESS_KEY": "bench",
                       "POWERTOOLS_TRACE_DISABLED": "true", "POWERTOOLS_METRICS_NAMESPACE": "ragchat",
                       "POWERTOOLS_METRICS_DISABLED": "true"})
    import boto3
    from moto import mock_aws

    from tests.support.interleavings import run_scenario

    totals = dict.fromkeys(("stale", "duplicate", "orphan", "resurrected", "missing", "deliveries", "crashes",
                            "failures"), 0)
    started, failing = time.perf_counter(), []
    with mock_aws():
        s3 = boto3.client("s3", region_name="eu-west-1")
        for seed in range(args.scenarios):
            outcome = run_scenario(s3, seed)
            for name in totals:
                totals[name] += getattr(outcome, name)
            if not outcome.clean:
                failing.append((seed, outcome.notes))
    seconds = time.perf_counter() - started
    print(f"{args.scenarios} scenarios, {totals['deliveries']} deliveries ({totals['crashes']} crashed, "
          f"{totals['failures']} failed and were redelivered), visibility delay 60 s, {seconds:.0f} s\n")
    print("| after settling | count |\n|---|---|")
    for name in ("stale", "duplicate", "orphan", "resurrected", "missing"):
        print(f"| {name} | {totals[name]} |")
    for seed, notes in failing[:10]:
        print(f"seed {seed}: {'; '.join(notes)}", file=sys.stderr)
    return 1 if failing else 0


if __name__ == "__main__":
    sys.exit(main())
