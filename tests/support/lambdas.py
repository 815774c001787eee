"""Loading function entry points the way Lambda does, the events they are fed, and a Lambda context."""

from __future__ import annotations

import copy
import importlib.util
import json
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
EVENTS = ROOT / "events"


@dataclass
class LambdaContext:
    function_name: str = "ragchat-test"
    memory_limit_in_mb: int = 1024
    invoked_function_arn: str = "arn:aws:lambda:eu-west-1:123456789012:function:ragchat-test"
    aws_request_id: str = "52fdfc07-2182-154f-163f-5f0f9a621d72"

    def get_remaining_time_in_millis(self) -> int:
        return 300_000


def load_event(name: str) -> dict:
    """A fresh copy of events/<name>, the very file `sam local invoke -e` uses."""
    return copy.deepcopy(json.loads((EVENTS / name).read_text()))


def load_function(name: str):
    """functions/<name>/app.py as a fresh module (module-level state is per test)."""
    path = ROOT / "functions" / name / "app.py"
    spec = importlib.util.spec_from_file_location(f"function_{name}_app", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module
