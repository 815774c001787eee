"""What two hostile inputs cost the running code: DOCX bombs at parse time, and a client that sends
200 questions at once and leaves.

  docx   the parse time of a DOCX of 20,000 and of 2,000,000 empty paragraphs (python-docx's own
         template, as a hostile file would be made); a parse still running after 120 s is reported
         as unfinished
  burst  the local server over real sockets with a FAKE model that takes 0.8 s an answer: one
         client sends 200 sendMessage frames and disconnects; a fresh client then asks. Reported:
         how long the fresh client waited for its answer, and the sessions that exist 1..10 s later
         (the fresh client's included)

    python benchmarks/hostile_inputs.py [docx] [burst] [--layer DIR]

--layer measures another copy of the package (e.g. an older version unpacked with
`git archive <commit> layers | tar -x -C DIR`, then DIR/layers/ragchat).
"""

from __future__ import annotations

import json
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LAYER = sys.argv[sys.argv.index("--layer") + 1] if "--layer" in sys.argv else str(ROOT / "layers" / "ragchat")
sys.path[:0] = [LAYER, str(ROOT)]

from ragchat.domain import SourceObject
from ragchat.ingest.parsers import parse
from tests.documents import docx_with_body


def docx() -> None:
    for paragraphs in (20_000, 2_000_000):
        data = docx_with_body(b"<w:p/>" * paragraphs)
        obj = SourceObject(key="bomb.docx", uri="file:///bomb.docx", size=len(data))
        outcome: dict = {}

        def run(data=data, obj=obj, outcome=outcome):
            started = time.perf_counter()
            try:
                parse(data, obj)
                outcome["result"] = "parsed"
            except Exception as exc:  # the figure reports whatever parsing ends in
                outcome["result"] = f"{type(exc).__name__}: {exc}"
            outcome["seconds"] = time.perf_counter() - started

        worker = threading.Thread(target=run, daemon=True)
        worker.start()
        worker.join(120)
        took = f"{outcome['seconds']:.2f} s, {outcome['result']}" if outcome else "not finished after 120 s"
        print(f"docx: {paragraphs:>9,} empty paragraphs, {len(data) / 1024:.0f} KiB: {took}")


def burst() -> None:
    from websockets.sync.client import connect

    from ragchat.bootstrap import build_core, build_local_server, build_sessions
    from ragchat.config import Settings
    from tests.fakes import FakeHashingEmbedder
    from tests.functional.test_local_server import SlowGenerator, ask
    from tests.support.servers import running

    folder = Path(tempfile.mkdtemp(prefix="ragchat-burst-"))
    (folder / "drop").mkdir()
    (folder / "drop" / "deploy.md").write_text("# Deploy\n\nDeploy the stack with sam deploy guided.\n")
    settings = Settings(data_dir=folder / "data")
    local = build_local_server(settings, watch=folder / "drop", generator=SlowGenerator(),
                               core=build_core(settings, embedder=FakeHashingEmbedder()))
    local.watcher.sync()
    sessions = build_sessions(settings)
    with running(local.app) as address:
        with connect(f"ws://{address}/ws") as ws:
            for i in range(200):
                ws.send(json.dumps({"action": "sendMessage", "message": "how do I deploy the stack",
                                    "requestId": f"q{i}"}))
        started = time.perf_counter()
        with connect(f"ws://{address}/ws") as fresh:
            last = ask(fresh, "how do I deploy the stack", request_id="fresh")[-1]["type"]
        waited = time.perf_counter() - started
        counts = []
        for _ in range(10):
            time.sleep(1)
            counts.append(len(sessions.list_sessions("local", limit=1000)))
    print(f"burst: a fresh client's answer ({last}) after {waited:.2f} s; sessions 1..10 s later: {counts}")


if __name__ == "__main__":
    import ragchat

    print(f"measuring {Path(ragchat.__file__).parent}")
    chosen = [a for a in sys.argv[1:] if a in ("docx", "burst")] or ["docx", "burst"]
    for name in chosen:
        {"docx": docx, "burst": burst}[name]()
