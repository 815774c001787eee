"""An abusive client of the local server over real sockets: one answer in flight per connection,
a bounded number of frames waiting, and nothing left running for a client that has gone."""

import json
import time

import pytest
from websockets.sync.client import connect

from tests.functional import test_local_server as local
from tests.functional.test_local_server import SlowGenerator, ask

server = local.server  # the same real server and drop folder

BURST = 200


def question(request_id: str) -> str:
    return json.dumps({"action": "sendMessage", "message": "how do I deploy the stack", "requestId": request_id})


@pytest.mark.parametrize("server", [SlowGenerator()], indirect=True)
def test_server_second_question_while_one_is_answered_gets_busy(server):
    with connect(f"ws://{server['address']}/ws") as ws:
        ws.send(question("first"))
        ws.send(question("second"))
        frames = []
        while not any(f["type"] == "end" for f in frames):
            frames.append(json.loads(ws.recv(timeout=10)))
    (busy,) = [f for f in frames if f["type"] == "error"]
    assert (busy["code"], busy["requestId"]) == ("busy", "second")
    assert {f["requestId"] for f in frames if f["type"] in ("start", "delta", "end")} == {"first"}


@pytest.mark.parametrize("server", [SlowGenerator()], indirect=True)
def test_server_burst_then_disconnect_leaves_no_work_behind_and_others_are_served(server):
    with connect(f"ws://{server['address']}/ws") as ws:
        for i in range(BURST):
            ws.send(question(f"q{i}"))
    time.sleep(1.5)  # what a burst left behind would be creating sessions by now
    created = len(server["sessions"].list_sessions("local", limit=1000))
    started = time.perf_counter()
    with connect(f"ws://{server['address']}/ws") as fresh:
        frames = ask(fresh, "how do I deploy the stack", request_id="fresh")
    waited = time.perf_counter() - started
    print(f"\nburst of {BURST} then disconnect: {created} sessions created; a fresh client waited {waited:.2f} s")
    assert created <= 1
    assert frames[-1]["type"] == "end" and waited < 3


def test_server_frames_past_the_per_connection_bound_get_busy_at_once(server):
    with connect(f"ws://{server['address']}/ws") as ws:
        for i in range(BURST):
            ws.send(json.dumps({"action": "ping", "requestId": f"p{i}"}))
        replies = [json.loads(ws.recv(timeout=10)) for _ in range(BURST)]
    busy = [r for r in replies if r["type"] == "error"]
    assert {r["requestId"] for r in replies} == {f"p{i}" for i in range(BURST)}  # every frame gets its reply
    assert busy and all(r["code"] == "busy" and "waiting" in r["message"] for r in busy)
