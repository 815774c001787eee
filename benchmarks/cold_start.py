"""Cold start of each function's module against a bare Powertools handler, side by side:

    python benchmarks/cold_start.py [--runs 7]

Each case is a fresh Python process that imports a handler module with production configuration
(Lambda environment variables set, so Powertools' Tracer is enabled as under `Tracing: Active`)
and exits. The baseline imports boto3 and Powertools (Logger, Tracer, Metrics), decorates a
handler and creates the same boto3 clients the real module creates at import. Target: each
function <= 1.3x its baseline.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

BASELINE = """
import boto3
from aws_lambda_powertools import Logger, Metrics, Tracer
logger, tracer, metrics = Logger(), Tracer(), Metrics(namespace="ragchat")
{clients}
@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event, context):
    return {{}}
"""

LOAD_FUNCTION = """
import importlib.util
spec = importlib.util.spec_from_file_location("app", "{path}")
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
"""

CASES = {  # function -> the clients its module creates at import
    "ingest": "",
    "chat": "",
    "authorizer": "",
    "api": "",
}

ENVIRONMENT = {
    "AWS_LAMBDA_FUNCTION_NAME": "ragchat-bench", "AWS_REGION": "eu-west-1", "AWS_DEFAULT_REGION": "eu-west-1",
    "AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench", "POWERTOOLS_SERVICE_NAME": "bench",
    "RAGCHAT_BACKEND": "aws", "RAGCHAT_OPENSEARCH_ENDPOINT": "https://example.eu-west-1.aoss.amazonaws.com",
    "RAGCHAT_SESSIONS_TABLE": "sessions", "RAGCHAT_CONNECTIONS_TABLE": "connections",
    "RAGCHAT_USER_POOL_ID": "eu-west-1_example", "RAGCHAT_USER_POOL_CLIENT_ID": "client",
    "RAGCHAT_DOCUMENTS_BUCKET": "docs",
}


def run(code: str) -> tuple[float, float]:
    env = {**os.environ, **ENVIRONMENT}
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], check=True, env=env)
    wall_ms = (time.perf_counter() - started) * 1000
    rss_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return wall_ms, rss_mb


def median_ms(code: str, runs: int) -> tuple[float, float]:
    samples = [run(code) for _ in range(runs)]
    return statistics.median(s[0] for s in samples), max(s[1] for s in samples)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    run("pass")  # warm the file cache
    print("| function | baseline ms | handler ms | ratio | target |\n|---|---|---|---|---|")
    worst = 0.0
    for name, clients in CASES.items():
        baseline, _ = median_ms(BASELINE.format(clients=clients), args.runs)
        handler, _ = median_ms(LOAD_FUNCTION.format(path=ROOT / "functions" / name / "app.py"), args.runs)
        worst = max(worst, handler / baseline)
        print(f"| {name} | {baseline:.0f} | {handler:.0f} | {handler / baseline:.2f} | <= 1.30 |")
    print(f"(median of {args.runs} fresh processes each; {sys.executable})")
    return 0 if worst <= 1.3 else 1


if __name__ == "__main__":
    sys.exit(main())
