"""`ragchat serve` run as a user runs it, for the tests of what stops it from starting."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

import ragchat


def serve_refusal(data: Path, *args: str, **environment: str) -> subprocess.CompletedProcess:
    """Run `ragchat serve ARGS --port 0` with the environment less RAGCHAT_* variables, plus
    `environment`; fail the test if it starts serving instead of refusing within 30 s."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAGCHAT_")}
    env.update(PYTHONPATH=str(Path(ragchat.__file__).resolve().parents[1]), **environment)
    try:
        return subprocess.run([sys.executable, "-m", "ragchat.cli", "serve", *args, "--port", "0",
                               "--data", str(data)], check=False, capture_output=True, text=True, env=env,
                              timeout=30)
    except subprocess.TimeoutExpired:
        pytest.fail(f"`ragchat serve {' '.join(args)}` started serving")
