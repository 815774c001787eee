"""One Lambda execution environment, as the rehearsal runs it: a fresh Python 3.12 interpreter started
with -I -S (no site-packages, no PYTHONPATH, no user site), whose import path is only what Lambda
puts there: the function's built code, the built layer, and an SDK standing in for the runtime's.

    python3.12 -I -S runtime_bootstrap.py TASK_DIR LAYER_DIR RUNTIME_SDK_DIR MODULE.HANDLER TIMEOUT_S

It reads invocations from stdin, one JSON object a line ({"event": ..., "request_id": ...}), runs
the handler, and answers one JSON line each on the descriptor it was given as stdout; whatever the
function prints (its logs) goes to stderr. Standard library only: nothing of the project is here.
"""

import importlib
import json
import os
import sys
import time
import traceback

task, layer, runtime_sdk, handler_spec, timeout_s = sys.argv[1:6]
sys.path[:0] = [task, layer, runtime_sdk]  # /var/task, /opt/python, then the runtime's own SDK
answers = os.fdopen(os.dup(1), "w", buffering=1)
os.dup2(2, 1)  # the function's prints and logs: stderr
sys.stdout = sys.stderr


class Context:
    """What Lambda hands a handler as its second argument."""

    def __init__(self, request_id: str, deadline: float):
        self.function_name = os.environ["AWS_LAMBDA_FUNCTION_NAME"]
        self.function_version = "$LATEST"
        self.memory_limit_in_mb = int(os.environ.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128"))
        self.invoked_function_arn = (f"arn:aws:lambda:{os.environ['AWS_REGION']}:123456789012:function:"
                                     f"{self.function_name}")
        self.aws_request_id = request_id
        self.log_group_name = f"/aws/lambda/{self.function_name}"
        self.log_stream_name = "rehearsal"
        self._deadline = deadline

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


handler = None
for line in sys.stdin:
    request = json.loads(line)
    started = time.perf_counter()
    try:
        if handler is None:  # the init phase: importing the handler's module, on the first event
            module_name, function_name = handler_spec.rsplit(".", 1)
            handler = getattr(importlib.import_module(module_name), function_name)
        context = Context(request["request_id"], time.monotonic() + float(timeout_s))
        result = handler(request["event"], context)
        answer = {"ok": True, "result": result}
    except Exception as exc:
        answer = {"ok": False, "errorType": type(exc).__name__, "errorMessage": str(exc),
                  "stackTrace": traceback.format_exc()}
    answer["ms"] = (time.perf_counter() - started) * 1000
    answers.write(json.dumps(answer, default=str) + "\n")
