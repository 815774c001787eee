"""Tool-loop overhead: what one tool step costs ragchat itself, with an instant model and instant tools.

A whole chat turn (ChatService.answer: session writes, frames, citation filter, coalescer, the
loop, the registry's schema check) is timed with N tool steps and with none; the difference
divided by N is the overhead of a step. Three model sides, each instant:

  port      a FAKE model at the Generator port (no wire format)
  converse  the real Bedrock adapter over a FAKE bedrock-runtime client (ConverseStream events,
            tool input streamed in pieces): adds building the request and parsing the stream
  openai    the real OpenAI-compatible adapter over httpx.MockTransport (real SSE parsing and
            HTTP handling in httpx, no socket)

The tool is the real calculator (microseconds). Target: under 5 ms per step. The ~50 ms of a
no-tool turn on the wire rows is the delta coalescer keeping its 50 ms spacing (the fake answer
arrives in two pieces); it is the same with and without tool steps, so the difference cancels it.

    python benchmarks/tool_loop.py [--steps 1 5 20] [--repeats 30]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "layers" / "ragchat"))
sys.path.insert(0, str(ROOT))

import httpx

from ragchat.adapters.aws.bedrock import BedrockConverseGenerator
from ragchat.adapters.local.sessions import SqliteSessionStore
from ragchat.adapters.openai_compat import OpenAICompatibleGenerator
from ragchat.domain import ToolCall
from ragchat.tools.calculator import Calculator
from ragchat.tools.registry import ToolRegistry
from tests.fakes import (
    BEDROCK_MODEL,
    ScriptedConverseRuntime,
    ScriptedToolGenerator,
    openai_sse_events,
    openai_tool_results,
    scripted_parts,
)
from tests.support.chat import chat_service

TARGET_MS = 5.0
CALL = {"expression": "(350 * 12) / 2 + sqrt(16)"}


def script(steps: int) -> list:
    return [[("tool", "calculator", CALL)]] * steps + [[("text", "It is 2104.")]]


def port_model(steps: int):
    replies = [("", [ToolCall(f"c{i}", "calculator", CALL)], 50) for i in range(steps)] + [("It is 2104.", [], 50)]
    return ScriptedToolGenerator(replies)


def converse_model(steps: int):
    return BedrockConverseGenerator(BEDROCK_MODEL, client=ScriptedConverseRuntime(script(steps)))


def openai_model(steps: int):
    seen: list = []
    lines = script(steps)

    def handler(request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        seen.append(body)
        parts = scripted_parts(lines, len(seen) - 1, openai_tool_results(body))
        events = openai_sse_events(parts, body["model"], len(seen))
        return httpx.Response(200, headers={"content-type": "text/event-stream"},
                              content="".join(events).encode("utf-8"))

    return OpenAICompatibleGenerator("http://model.invalid/v1", "bench", transport=httpx.MockTransport(handler))


class NoRetrieval:
    def search(self, *args, **kwargs):
        raise AssertionError("the tool loop retrieves through tools only")


def turn_ms(make_model, steps: int, sessions: SqliteSessionStore) -> float:
    chat = chat_service(NoRetrieval(), make_model(steps), sessions, tools=ToolRegistry([Calculator()]),
                        tool_max_steps=steps + 1, tool_max_tokens=10**9, tool_max_seconds=3600)
    frames: list[dict] = []
    started = time.perf_counter()
    chat.answer("bench", "What is 350 times 12, halved, plus the root of 16?", frames.append)
    elapsed = (time.perf_counter() - started) * 1000
    end = frames[-1]
    assert end["type"] == "end" and end.get("toolCalls", 0) == steps, end
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, nargs="+", default=[1, 5, 20])
    parser.add_argument("--repeats", type=int, default=30)
    args = parser.parse_args()
    models = {"port": port_model, "converse": converse_model, "openai": openai_model}
    with tempfile.TemporaryDirectory() as tmp:
        sessions = SqliteSessionStore(Path(tmp) / "sessions.db")
        for make in models.values():  # warm imports, the schema validator and SQLite
            turn_ms(make, 2, sessions)
        rows = []
        for name, make in models.items():
            baseline = statistics.median(turn_ms(make, 0, sessions) for _ in range(args.repeats))
            for steps in args.steps:
                total = statistics.median(turn_ms(make, steps, sessions) for _ in range(args.repeats))
                per_step = (total - baseline) / steps
                rows.append((name, steps, baseline, total, per_step))
    print(f"Tool-loop overhead per step (median of {args.repeats} turns; instant model and calculator)\n")
    print(f"{'model side':<10} {'steps':>5} {'no-tool turn ms':>16} {'turn ms':>9} {'per step ms':>12} "
          f"{'target':>8}  verdict")
    for name, steps, baseline, total, per_step in rows:
        verdict = "ok" if per_step < TARGET_MS else "OVER"
        print(f"{name:<10} {steps:>5} {baseline:>16.2f} {total:>9.2f} {per_step:>12.3f} {'< 5':>8}  {verdict}")
    worst = max(r[4] for r in rows)
    print(f"\nworst per-step overhead: {worst:.3f} ms (target < {TARGET_MS} ms)")
    sys.exit(0 if worst < TARGET_MS else 1)


if __name__ == "__main__":
    main()
