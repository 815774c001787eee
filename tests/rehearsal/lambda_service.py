"""Lambda as the rehearsal plays it: execution environments for each built function, asynchronous
invocations (the Invoke API, with the function's EventInvokeConfig), and the SQS event source
mapping (batch size, partial batch failures), all read from template.yaml.

An environment is a Python 3.12 process (tests/rehearsal/runtime_bootstrap.py) whose import path
is only the function's built code, its built layer and a stand-in for the runtime's SDK; its
environment variables are the template's, resolved. One event at a time per environment; a busy
function starts another, up to its concurrency limit. What differs from Lambda, on purpose:
- a failed SQS batch item is made visible again after 1 s (the queue's visibility timeout is 30
  minutes), so redeliveries happen within the rehearsal;
- no X-Ray daemon runs, so the Tracer is disabled (POWERTOOLS_TRACE_DISABLED).
"""

from __future__ import annotations

import json
import subprocess
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from fastapi import FastAPI, Request, Response

BOOTSTRAP = Path(__file__).with_name("runtime_bootstrap.py")


class FunctionError(Exception):
    """The function raised, or timed out: what Lambda reports as a function error."""


@dataclass
class Invocation:
    result: object
    ms: float  # inside the environment (init included on a cold start)
    wall_ms: float  # as the caller waited, process start included
    cold: bool


class Environment:
    """One execution environment: a process that keeps its module state between events."""

    def __init__(self, command: list[str], env: dict[str, str], log: Path, timeout_s: float):
        self.log = log.open("ab")
        self.process = subprocess.Popen(command, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                        stderr=self.log, text=True, bufsize=1)
        self.timeout_s, self.used = timeout_s, False

    def invoke(self, event: dict) -> tuple[dict, bool]:
        cold, self.used = not self.used, True
        self.process.stdin.write(json.dumps({"event": event, "request_id": str(uuid.uuid4())}) + "\n")
        answer: list[str] = []
        reader = threading.Thread(target=lambda: answer.append(self.process.stdout.readline()), daemon=True)
        reader.start()
        reader.join(self.timeout_s + 5)
        if not answer or not answer[0]:
            self.close()
            raise FunctionError("Task timed out" if not answer else "the runtime exited")
        return json.loads(answer[0]), cold

    def close(self) -> None:
        self.process.kill()
        self.process.wait(10)
        self.log.close()


@dataclass
class Function:
    """One function of the template, with its pool of environments."""

    logical_id: str
    name: str
    command: list[str]
    env: dict[str, str]
    timeout_s: float
    log: Path
    max_concurrency: int = 10
    invoke_config: dict = field(default_factory=dict)
    _free: list[Environment] = field(default_factory=list)
    _busy: int = 0
    _lock: threading.Condition = field(default_factory=threading.Condition)
    invocations: list[Invocation] = field(default_factory=list)

    def invoke(self, event: dict) -> object:
        with self._lock:
            while not self._free and self._busy >= self.max_concurrency:
                self._lock.wait()
            environment = self._free.pop() if self._free else None
            self._busy += 1
        started = time.perf_counter()
        try:
            if environment is None:
                environment = Environment(self.command, self.env, self.log, self.timeout_s)
            answer, cold = environment.invoke(event)
        except FunctionError:
            environment = None
            raise
        finally:
            with self._lock:
                self._busy -= 1
                if environment is not None:
                    self._free.append(environment)
                self._lock.notify()
        self.invocations.append(Invocation(answer.get("result"), answer["ms"],
                                           (time.perf_counter() - started) * 1000, cold))
        if not answer["ok"]:
            raise FunctionError(f"{answer['errorType']}: {answer['errorMessage']}\n{answer['stackTrace']}")
        return answer["result"]

    def close(self) -> None:
        with self._lock:
            for environment in self._free:
                environment.close()
            self._free.clear()


class LambdaService:
    """The functions, the Invoke API (for the chat function's asynchronous answers) and the SQS
    event source mappings."""

    def __init__(self, functions: dict[str, Function]):
        self.functions = functions
        self.by_name = {f.name: f for f in functions.values()}
        self.async_errors: list[str] = []
        self._threads: list[threading.Thread] = []
        self._stop = threading.Event()

    # -- the Invoke API ------------------------------------------------------------------------
    def app(self) -> FastAPI:
        app = FastAPI()

        @app.post("/2015-03-31/functions/{name}/invocations")
        async def invoke(name: str, request: Request) -> Response:
            function = self.by_name.get(name.rsplit(":", 1)[-1])
            if function is None:
                return Response(json.dumps({"Type": "User", "Message": f"Function not found: {name}"}), status_code=404,
                                headers={"x-amzn-ErrorType": "ResourceNotFoundException"})
            event = json.loads(await request.body())
            if request.headers.get("x-amz-invocation-type") != "Event":
                return Response(json.dumps(function.invoke(event)), media_type="application/json")
            thread = threading.Thread(target=self._run_async, args=(function, event), daemon=True)
            thread.start()
            self._threads.append(thread)
            return Response(status_code=202)

        return app

    def _run_async(self, function: Function, event: dict) -> None:
        """As Lambda runs an asynchronous event: retried on error as its EventInvokeConfig says."""
        attempts = 1 + int(function.invoke_config.get("MaximumRetryAttempts", 2))
        for _ in range(attempts):
            try:
                function.invoke(event)
                return
            except FunctionError as error:
                self.async_errors.append(f"{function.logical_id}: {error}")

    def settle_async(self, timeout_s: float = 120) -> None:
        deadline = time.monotonic() + timeout_s
        for thread in list(self._threads):
            thread.join(max(0.0, deadline - time.monotonic()))

    # -- SQS event source mappings -------------------------------------------------------------
    def poll_queue(self, sqs, queue_url: str, queue_arn: str, function: Function, batch_size: int,
                   partial_failures: bool) -> None:
        thread = threading.Thread(target=self._poll, daemon=True,
                                  args=(sqs, queue_url, queue_arn, function, batch_size, partial_failures))
        thread.start()

    def _poll(self, sqs, queue_url, queue_arn, function, batch_size, partial_failures) -> None:
        while not self._stop.is_set():
            messages = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=min(batch_size, 10),
                                           WaitTimeSeconds=1, AttributeNames=["All"]).get("Messages", [])
            if not messages:
                continue
            event = {"Records": [{
                "messageId": m["MessageId"], "receiptHandle": m["ReceiptHandle"], "body": m["Body"],
                "attributes": m.get("Attributes", {}), "messageAttributes": {}, "md5OfBody": m["MD5OfBody"],
                "eventSource": "aws:sqs", "eventSourceARN": queue_arn, "awsRegion": "eu-west-1"} for m in messages]}
            try:
                result = function.invoke(event) or {}
                failed = {f["itemIdentifier"] for f in result.get("batchItemFailures", [])} if partial_failures \
                    else set()
            except FunctionError:
                failed = {m["MessageId"] for m in messages}
            for message in messages:
                if message["MessageId"] in failed:
                    sqs.change_message_visibility(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"],
                                                  VisibilityTimeout=1)
                else:
                    sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])

    def close(self) -> None:
        self._stop.set()
        for function in self.functions.values():
            function.close()
