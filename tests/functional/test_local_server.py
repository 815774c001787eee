"""The local server over real sockets: the WebSocket protocol, the REST API and the drop folder."""

import json
import time

import httpx
import pytest
from websockets.sync.client import connect

from ragchat.bootstrap import build_core, build_local_server, build_sessions
from ragchat.config import Settings
from tests.fakes import FakeHashingEmbedder, ScriptedGenerator
from tests.support.servers import running


class SlowGenerator(ScriptedGenerator):
    """A FAKE model that takes its time, so a client can leave mid-stream."""

    def stream(self, request, on_text):
        from ragchat.domain import GenerationResult

        for index in range(40):
            on_text(f"word{index} ")
            time.sleep(0.02)
        on_text("[1]")
        return GenerationResult(stop_reason="end_turn")


@pytest.fixture
def server(tmp_path, request):
    generator = getattr(request, "param", None) or ScriptedGenerator(["Deploy with ", "sam deploy [1", "]."])
    drop = tmp_path / "drop"
    drop.mkdir()
    (drop / "deploy.md").write_text("# Deploy\n\nDeploy the stack with sam deploy guided.\n")
    settings = Settings(data_dir=tmp_path / "data")
    core = build_core(settings, embedder=FakeHashingEmbedder())
    local = build_local_server(settings, watch=drop, core=core, generator=generator)
    local.watcher.debounce_ms = 100
    local.watcher.start()
    with running(local.app) as address:
        yield {"address": address, "drop": drop, "sessions": build_sessions(settings), "store": core.store}
    local.watcher.stop.set()


def frames_until_end(ws, request_id=None) -> list[dict]:
    frames = []
    while True:
        frame = json.loads(ws.recv(timeout=10))
        frames.append(frame)
        if frame["type"] in ("end", "error") and (request_id is None or frame.get("requestId") == request_id):
            return frames


def ask(ws, message, request_id="r1", session_id=None) -> list[dict]:
    frame = {"action": "sendMessage", "message": message, "requestId": request_id}
    if session_id:
        frame["sessionId"] = session_id
    ws.send(json.dumps(frame))
    return frames_until_end(ws, request_id)


def test_server_streams_start_deltas_sources_end_over_a_real_socket(server):
    with connect(f"ws://{server['address']}/ws") as ws:
        frames = ask(ws, "how do I deploy the stack")
    types = [f["type"] for f in frames]
    assert types[0] == "start" and types[-2:] == ["sources", "end"] and set(types[1:-2]) == {"delta"}
    deltas = [f for f in frames if f["type"] == "delta"]
    assert [f["seq"] for f in deltas] == list(range(1, len(deltas) + 1))
    assert "".join(f["text"] for f in deltas) == "Deploy with sam deploy [1]."
    assert frames[-1]["citations"][0]["path"] == "deploy.md"


@pytest.mark.parametrize("raw,code", [
    ("{not json", "bad_json"),
    (json.dumps({"action": "teleport", "requestId": "x1"}), "unknown_action"),
    (json.dumps({"action": "sendMessage", "requestId": "x2"}), "bad_request"),
    (json.dumps({"action": "sendMessage", "message": "y" * 40000, "requestId": "x3"}), "message_too_large"),
    ("[" * 30000, "bad_json"),  # nested past the decoder's recursion limit, under the frame limit
])
def test_server_answers_bad_frames_with_error_frames_and_keeps_the_connection(server, raw, code):
    with connect(f"ws://{server['address']}/ws", max_size=None) as ws:
        ws.send(raw)
        error = json.loads(ws.recv(timeout=10))
        assert (error["type"], error["code"]) == ("error", code)
        ws.send(json.dumps({"action": "ping", "requestId": "p"}))
        assert json.loads(ws.recv(timeout=10)) == {"type": "pong", "requestId": "p"}


def test_server_continues_a_session_after_reconnecting(server):
    with connect(f"ws://{server['address']}/ws") as ws:
        session_id = ask(ws, "how do I deploy the stack")[0]["sessionId"]
    with connect(f"ws://{server['address']}/ws") as ws:
        frames = ask(ws, "and delete it?", request_id="r2", session_id=session_id)
        assert frames[0]["sessionId"] == session_id
        ws.send(json.dumps({"action": "getHistory", "sessionId": session_id, "requestId": "h"}))
        history = json.loads(ws.recv(timeout=10))
    assert [m["role"] for m in history["messages"]] == ["user", "assistant", "user", "assistant"]


@pytest.mark.parametrize("server", [SlowGenerator()], indirect=True)
def test_server_client_leaving_mid_stream_keeps_others_served_and_stores_what_was_said(server):
    leaver = connect(f"ws://{server['address']}/ws")
    leaver.send(json.dumps({"action": "sendMessage", "message": "how do I deploy the stack", "requestId": "gone"}))
    start = json.loads(leaver.recv(timeout=10))
    json.loads(leaver.recv(timeout=10))  # the first delta
    leaver.close()
    with connect(f"ws://{server['address']}/ws") as ws:
        frames = ask(ws, "how do I deploy the stack", request_id="stay")
    assert frames[-1]["type"] == "end"
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        stored = server["sessions"].list_messages("local", start["sessionId"])
        if len(stored) == 2:
            break
        time.sleep(0.05)
    assert stored[1].role == "assistant" and stored[1].content.startswith("word0")
    assert "interrupted" in stored[1].content


def test_server_rest_api_upload_documents_and_sessions(server):
    base = f"http://{server['address']}"
    upload = httpx.post(f"{base}/api/documents", files={"file": ("notes.txt", b"The office cat is called Miso.")})
    assert upload.status_code == 201 and upload.json()["status"] == "indexed"
    assert httpx.post(f"{base}/api/documents", files={"file": ("x.exe", b"MZ")}).status_code == 415
    documents = {d["path"]: d for d in httpx.get(f"{base}/api/documents").json()["documents"]}
    assert documents["uploads/local/notes.txt"]["status"] == "indexed"
    with connect(f"ws://{server['address']}/ws") as ws:
        session_id = ask(ws, "what is the office cat called")[0]["sessionId"]
    sessions = httpx.get(f"{base}/api/sessions").json()["sessions"]
    assert [s["sessionId"] for s in sessions] == [session_id]
    assert len(httpx.get(f"{base}/api/sessions/{session_id}").json()["messages"]) == 2
    assert httpx.delete(f"{base}/api/sessions/{session_id}").status_code == 200
    assert httpx.get(f"{base}/api/sessions/{session_id}").status_code == 404
    uploaded = server["drop"] / "uploads" / "local" / "notes.txt"
    assert uploaded.read_bytes() == b"The office cat is called Miso."
    doc_id = documents["uploads/local/notes.txt"]["docId"]
    assert httpx.delete(f"{base}/api/documents/{doc_id}").json()["deletedChunks"] == 1
    assert not uploaded.exists()  # else the watcher would bring the document back
    assert "uploads/local/notes.txt" not in {d["path"] for d in httpx.get(f"{base}/api/documents").json()["documents"]}


def test_server_page_is_served_with_a_strict_content_security_policy(server):
    page = httpx.get(f"http://{server['address']}/")
    assert page.status_code == 200 and "ragchat" in page.text
    assert "script-src 'self'" in page.headers["content-security-policy"]


def test_server_drop_folder_adds_changes_and_removes_within_seconds(server):
    def paths():
        return {d.path for d in server["store"].list_documents()}

    def wait_for(condition):
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if condition():
                return True
            time.sleep(0.1)
        return False

    (server["drop"] / "runbook.md").write_text("# Runbook\n\nRestart the kubelet when nodes go NotReady.\n")
    assert wait_for(lambda: "runbook.md" in paths())
    (server["drop"] / "runbook.md").unlink()
    assert wait_for(lambda: "runbook.md" not in paths())


def test_server_with_a_token_refuses_requests_without_it(tmp_path):
    from websockets.exceptions import InvalidStatus

    settings = Settings(data_dir=tmp_path / "data", local_token="s3cret")
    local = build_local_server(settings, watch=None, core=build_core(settings, embedder=FakeHashingEmbedder()),
                               generator=ScriptedGenerator())
    with running(local.app) as address:
        assert httpx.get(f"http://{address}/api/sessions").status_code == 401
        bearer = {"Authorization": "Bearer s3cret"}
        assert httpx.get(f"http://{address}/api/sessions", headers=bearer).status_code == 200
        for url in (f"ws://{address}/ws", f"ws://{address}/ws?token=wrong"):
            with pytest.raises(InvalidStatus) as refused:
                connect(url, open_timeout=5)
            assert refused.value.response.status_code == 403  # the handshake is refused, not timed out
        with connect(f"ws://{address}/ws?token=s3cret") as ws:
            ws.send(json.dumps({"action": "ping", "requestId": "p"}))
            assert json.loads(ws.recv(timeout=5))["type"] == "pong"
        assert httpx.post(f"http://{address}/api/uploads", json={"filename": "a.md"},
                          headers={"Authorization": "Bearer s3cret"}).status_code == 409
