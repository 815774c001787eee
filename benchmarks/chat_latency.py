"""Chat over a real WebSocket against the local server, side by side in one run:

    python benchmarks/chat_latency.py [--questions 60] [--clients 20] [--turns 5]

1. Time from sending `sendMessage` to the first `delta` frame, with the extractive default and
   the demo corpus (docs/ and README.md): p50 and p95. Target: p50 < 150 ms.
2. Delta coalescing: a FAKE generator emits 500 tokens as fast as it can; at most one delta frame
   per 50 ms of generation.
3. N concurrent clients, each holding a T-turn conversation (follow-ups in one session): errors,
   crossed sessions (a frame for another client's request or session), p95 time to first delta.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "layers" / "ragchat"))

import itertools

from websockets.sync.client import connect

from ragchat.adapters.local.folder import FolderSource
from ragchat.bootstrap import build_core, build_local_server
from ragchat.config import Settings
from ragchat.domain import GenerationResult
from ragchat.evaluation.metrics import percentile
from tests.support.servers import running

QUESTIONS = [
    "How are changed files re-ingested?", "Which file formats can I ingest?", "How does hybrid retrieval work?",
    "What happens to a corrupt PDF?", "Where is the local store kept?", "How is retrieval quality measured?",
    "What is reciprocal rank fusion?", "How big are the chunks?", "What does the chunk id depend on?",
    "How do I change the data directory?",
]
FOLLOW_UPS = ["and why?", "how is it configured?", "what about PDFs?", "and the overlap?", "is it tested?"]


class FakeFirehoseGenerator:
    """FAKE model: 500 tokens, no pauses."""

    name, uses_language_model = "firehose", True

    def stream(self, request, on_text):
        for i in range(500):
            on_text(f"tok{i} ")
        return GenerationResult(stop_reason="end_turn", output_tokens=500)

    def complete(self, system, prompt, max_tokens=200):
        return prompt.rsplit("user: ", 1)[-1]


def turn(ws, message: str, request_id: str, session_id: str | None = None,
         arrivals: list[float] | None = None) -> tuple[float, list[dict], float]:
    frame = {"action": "sendMessage", "message": message, "requestId": request_id}
    if session_id:
        frame["sessionId"] = session_id
    sent = time.perf_counter()
    ws.send(json.dumps(frame))
    frames, first_delta = [], None
    while True:
        reply = json.loads(ws.recv(timeout=60))
        frames.append(reply)
        if reply["type"] == "delta":
            first_delta = first_delta if first_delta is not None else time.perf_counter() - sent
            if arrivals is not None:
                arrivals.append(time.perf_counter())
        if reply["type"] in ("end", "error") and reply.get("requestId") == request_id:
            return (first_delta or math.nan), frames, time.perf_counter() - sent


def serve(core, generator=None):
    return running(build_local_server(core.settings, watch=None, core=core, generator=generator).app)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--questions", type=int, default=60)
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--turns", type=int, default=5)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="ragchat-chatbench-") as scratch:
        services = build_core(Settings(data_dir=Path(scratch)))
        services.pipeline.sync(FolderSource(ROOT / "docs"))
        readme = FolderSource(ROOT, only=[ROOT / "README.md"])
        services.pipeline.ingest(readme, readme.list())
        services.embedder.embed_query("warm up")

        with serve(services) as address, connect(f"ws://{address}/ws") as ws:
            turn(ws, "warm up", "warm")
            ttfd = [turn(ws, QUESTIONS[i % len(QUESTIONS)], f"q{i}")[0] * 1000 for i in range(args.questions)]

        with serve(services, FakeFirehoseGenerator()) as address, connect(f"ws://{address}/ws") as ws:
            arrivals: list[float] = []
            _first, frames, _total = turn(ws, "How are changed files re-ingested?", "fire", arrivals=arrivals)
            deltas = [f for f in frames if f["type"] == "delta"]
            streaming_s = arrivals[-1] - arrivals[0]
            allowed = math.floor(streaming_s / 0.05) + 1
            min_gap_ms = min((b - a for a, b in itertools.pairwise(arrivals)), default=math.nan) * 1000
            text_ok = "".join(f["text"] for f in deltas).split() == [f"tok{i}" for i in range(500)]

        results: dict[int, dict] = {}

        def client(index: int, address: str) -> None:
            record = {"errors": 0, "crossed": 0, "ttfd": []}
            results[index] = record
            try:
                with connect(f"ws://{address}/ws") as ws:
                    session_id = None
                    for t in range(args.turns):
                        message = QUESTIONS[index % len(QUESTIONS)] if t == 0 else FOLLOW_UPS[t % len(FOLLOW_UPS)]
                        request_id = f"c{index}-t{t}"
                        first, frames, _ = turn(ws, message, request_id, session_id)
                        record["ttfd"].append(first * 1000)
                        session_id = session_id or frames[0].get("sessionId")
                        for f in frames:
                            if f["type"] == "error":
                                record["errors"] += 1
                            if f.get("requestId") != request_id or f.get("sessionId", session_id) != session_id:
                                record["crossed"] += 1
            except Exception as exc:  # a dropped connection or a timeout counts as an error
                print(f"client {index}: {type(exc).__name__}: {exc}", file=sys.stderr)
                record["errors"] += 1

        with serve(services) as address:
            threads = [threading.Thread(target=client, args=(i, address)) for i in range(args.clients)]
            started = time.perf_counter()
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            wall = time.perf_counter() - started
        concurrent_ttfd = [v for r in results.values() for v in r["ttfd"]]

    print(f"\n1. Time to first delta, extractive default, demo corpus ({services.store.count_chunks()} chunks), "
          f"{args.questions} questions, one client")
    print(f"| {'measure':<20} | {'ms':>8} |\n|{'-' * 22}|{'-' * 10}|")
    print(f"| {'p50':<20} | {percentile(ttfd, 50):>8.1f} |  target < 150")
    print(f"| {'p95':<20} | {percentile(ttfd, 95):>8.1f} |")
    print(f"\n2. Coalescing: 500 tokens as fast as the generator can; deltas arrived over {streaming_s * 1000:.0f} ms")
    print(f"| {'delta frames':<34} | {len(deltas):>6} |\n|{'-' * 36}|{'-' * 8}|")
    print(f"| {'allowed (first + 1 per 50 ms)':<34} | {allowed:>6} |")
    print(f"| {'smallest gap between deltas (ms)':<34} | {min_gap_ms:>6.1f} |  target >= 50")
    print(f"| {'text intact':<34} | {text_ok!s:>6} |")
    print(f"\n3. {args.clients} concurrent clients x {args.turns} turns ({wall:.1f} s wall)")
    print(f"| {'measure':<28} | {'value':>8} |\n|{'-' * 30}|{'-' * 10}|")
    print(f"| {'errors':<28} | {sum(r['errors'] for r in results.values()):>8} |")
    print(f"| {'crossed frames':<28} | {sum(r['crossed'] for r in results.values()):>8} |")
    print(f"| {'turns completed':<28} | {len(concurrent_ttfd):>8} |")
    print(f"| {'time to first delta p50 ms':<28} | {percentile(concurrent_ttfd, 50):>8.1f} |")
    print(f"| {'time to first delta p95 ms':<28} | {percentile(concurrent_ttfd, 95):>8.1f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
