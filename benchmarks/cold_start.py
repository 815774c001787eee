"""Cold start of the built functions against bare Powertools handlers doing the same work, side by side:

    make infra && python benchmarks/cold_start.py [--runs 5]

A cold start here is what Lambda bills as init plus the first event: a fresh execution environment
(tests/rehearsal/: Python 3.12 started with -I -S, only the function's built code, the built layer
and a runtime-like SDK on the path, the template's environment) imports the handler and handles one
event, timed inside the environment. The services are moto in server mode and the rehearsal's HTTP
fakes of Bedrock and OpenSearch Serverless, answering at once, so the figures are the functions' own
cost, not the network's.

Each function is set beside a baseline in benchmarks/cold_start_baselines/: a single-file handler
with Powertools' Logger, Tracer and Metrics that makes the same AWS calls for the same event with the
same libraries (boto3, opensearch-py, PyJWT) and nothing of ragchat, run over the same layer with the
same environment. The HTTP API is FastAPI behind Mangum (the project's chosen framework), so its
baseline is a one-route FastAPI app behind Mangum; a row against a handler without FastAPI shows
what the framework itself costs. Cases alternate run by run so drift of the machine hits both alike.
Target: each function's cold start <= 1.3x its baseline's.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import statistics
import sys
import tempfile
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
BASELINES = Path(__file__).with_name("cold_start_baselines")
TARGET = 1.3
NOTE = b"# Rotation runbook\n\nThe staging database password rotates every 17 days.\n\nAsk the platform team.\n"


@dataclass
class Case:
    name: str
    function: str  # the template's logical id
    baseline: str  # a file of benchmarks/cold_start_baselines/
    event: Callable[[int], dict]  # a fresh event for the n-th invocation
    target: float | None = TARGET  # None: shown for scale, not held to the target


def cases(stack, token: str) -> list[Case]:
    from ragchat.aws_lambda.chat import ANSWER_MARKER
    from tests.rehearsal.lambda_service import sqs_event

    api, claims = stack.api, stack.issuer.claims(token)
    authorizer = {"principalId": claims["sub"], "userId": claims["sub"]}
    connection = api.connect(token)  # a live connection, so answers can be posted to it
    queue_arn = stack.resolved.attributes["IngestQueue"]["Arn"]

    def answer(n: int) -> dict:
        frame = json.dumps({"action": "sendMessage", "requestId": f"bench-{n}", "message": "How often does the "
                            "staging database password rotate?"})
        return {**api.message_event(connection, frame, authorizer), ANSWER_MARKER: True}

    def upload(n: int) -> dict:
        record = stack.bucket.put(f"bench/note-{n}.md", NOTE.replace(b"17", str(n).encode()), notify=False)
        body = json.dumps({"Records": [record]})
        return sqs_event([{"MessageId": str(uuid.uuid4()), "ReceiptHandle": "bench", "Body": body,
                           "MD5OfBody": hashlib.md5(body.encode()).hexdigest()}], queue_arn)

    return [
        Case("authorizer ($connect token)", "AuthorizerFunction", "authorizer.py",
             lambda n: api.authorizer_event(f"bench-{n}", token)),
        Case("chat ($connect)", "ChatFunction", "chat_connect.py",
             lambda n: api.connect_event(f"bench-{n}", authorizer, token)),
        Case("chat (answer a frame)", "ChatFunction", "chat_answer.py", answer),
        Case("api (GET /api/documents)", "ApiFunction", "api_documents_fastapi.py",
             lambda n: api.http_event("GET", "/api/documents", token, claims)),
        Case("api, against a handler without FastAPI", "ApiFunction", "api_documents.py",
             lambda n: api.http_event("GET", "/api/documents", token, claims), target=None),
        Case("ingest (one Markdown file)", "IngestFunction", "ingest.py", upload),
    ]


def wait_until_listed(stack, token: str, path: str, seconds: float = 60) -> None:
    import time

    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        status, body = stack.api.http("GET", "/api/documents", token)
        if status == 200 and any(d["path"] == path and d["status"] == "indexed" for d in body["documents"]):
            return
        time.sleep(0.25)
    raise RuntimeError(f"{path} was not indexed within {seconds} s:\n{stack.close_logs()}")


def measure(function, first: dict, second: dict) -> tuple[float, float]:
    """Cold then warm: milliseconds inside a fresh environment for its first and second events."""
    function.close()
    function.invoke(first)
    cold = function.invocations[-1]
    function.invoke(second)
    warm = function.invocations[-1]
    assert cold.cold and not warm.cold
    return cold.ms, warm.ms


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    from tests.rehearsal.stack import Stack

    with Stack.up(visibility_delay=0.0) as stack, tempfile.TemporaryDirectory() as scratch:
        token = stack.issuer.token("user-bench")
        stack.clients["dynamodb"].create_table(
            TableName="baseline-documents", BillingMode="PAY_PER_REQUEST",
            KeySchema=[{"AttributeName": "doc_id", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "doc_id", "AttributeType": "S"}])
        stack.bucket.put("bench/first.md", NOTE)  # the index exists and holds a document before timing
        wait_until_listed(stack, token, "bench/first.md")
        rows = []
        counter = iter(range(10**6))
        for case in cases(stack, token):
            task = Path(scratch) / case.baseline.removesuffix(".py")
            task.mkdir()
            shutil.copy(BASELINES / case.baseline, task / "app.py")
            sides = {"baseline": stack.function_like(case.function, task, "app.handler",
                                                     RAGCHAT_DOCUMENTS_TABLE="baseline-documents"),
                     "ragchat": stack.lambdas.functions[case.function]}
            samples: dict[str, list[tuple[float, float]]] = {side: [] for side in sides}
            for _ in range(args.runs):
                for side, function in sides.items():
                    samples[side].append(measure(function, case.event(next(counter)), case.event(next(counter))))
            sides["baseline"].close()
            cold = {side: statistics.median(s[0] for s in runs) for side, runs in samples.items()}
            warm = {side: statistics.median(s[1] for s in runs) for side, runs in samples.items()}
            rows.append((case, cold["baseline"], cold["ragchat"], warm["baseline"], warm["ragchat"]))
        stack.lambdas.settle_async()

    print("| function (first event) | baseline cold ms | ragchat cold ms | ratio | target | "
          "baseline warm ms | ragchat warm ms |\n|---|---|---|---|---|---|---|")
    worst = 0.0
    for case, base_cold, cold, base_warm, warm in rows:
        if case.target is not None:
            worst = max(worst, cold / base_cold / case.target)
        target = f"<= {case.target:.2f}" if case.target is not None else "(scale)"
        print(f"| {case.name} | {base_cold:.0f} | {cold:.0f} | {cold / base_cold:.2f} | {target} | "
              f"{base_warm:.0f} | {warm:.0f} |")
    print(f"(median of {args.runs} fresh environments each; init plus the first event, timed inside the "
          f"environment; warm: the second event)")
    return 0 if worst <= 1.0 else 1


if __name__ == "__main__":
    sys.exit(main())
