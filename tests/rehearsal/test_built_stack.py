"""The rehearsal: what `sam build` produced, run as Lambda runs it (tests/rehearsal/stack.py), through
the scenario a new deployment lives: documents uploaded, replaced, deleted and uploaded again,
versions racing, events redelivered and reordered; users connecting and chatting; the HTTP API.

Run with `make rehearse` (after `make infra`). Figures are printed at the end of the session.
"""

from __future__ import annotations

import json
import statistics
import time
import uuid

import pytest
import requests

from ragchat.domain import stable_id
from tests.documents import make_docx, make_pdf
from tests.rehearsal.stack import Stack

pytestmark = pytest.mark.rehearsal
VISIBILITY_S = 3.0
FIGURES: dict[str, str] = {}


SITE = "https://www.example.com"  # the site that embeds the widget
PARAMETERS = {"PublicChat": "true", "AllowedOrigins": SITE, "VisitorMessagesPerDay": "2"}


@pytest.fixture(scope="module")
def stack():
    with Stack.up(visibility_delay=VISIBILITY_S, sweep_after_s=20.0, parameters=PARAMETERS) as running:
        yield running
        if running.lambdas.async_errors:
            print("\n".join(running.lambdas.async_errors))
    print("\nRehearsal figures:\n" + "\n".join(f"  {k}: {v}" for k, v in FIGURES.items()))


def wait_for(condition, seconds: float = 90, every: float = 0.25):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(every)
    raise AssertionError(f"not within {seconds} s")


def doc_id(stack, key: str) -> str:
    return stable_id(f"s3://{stack.bucket.name}/{key}".replace(" ", "%20"))


def chunks_of(stack, key: str, searchable_only: bool = True) -> list[dict]:
    """The chunks the collection holds for a key (only those a search sees now, by default)."""
    now = stack.engine.clock()
    index = stack.engine.indexes.get("ragchat-dev-chunks")
    if index is None:
        return []
    wanted = doc_id(stack, key)
    return [d.source for d in list(index.docs.values()) if d.source["doc_id"] == wanted and d.deleted_at is None
            and (not searchable_only or now >= d.visible_at)]


def documents(stack, token: str) -> dict[str, dict]:
    status, body = stack.api.http("GET", "/api/documents", token)
    assert status == 200, body
    return {d["path"]: d for d in body["documents"]}


def ask(stack, connection: str, question: str) -> list[dict]:
    """Send a question; return the frames of its answer once its `end` (or error) has been posted."""
    request_id = uuid.uuid4().hex
    before = len(stack.api.connections[connection].frames)
    assert stack.api.send(connection, json.dumps({"action": "sendMessage", "message": question,
                                                  "requestId": request_id}))["statusCode"] == 200

    def ended():
        frames = [f for f in stack.api.connections[connection].frames[before:] if f.get("requestId") == request_id]
        return frames if frames and frames[-1]["type"] in ("end", "error") else None

    return wait_for(ended, 60)


@pytest.fixture(scope="module")
def token(stack) -> str:
    return stack.issuer.token("user-ada")


RUNBOOK = b"# Rotation runbook\n\nThe staging database password rotates every 17 days through the vault agent.\n"


def test_rehearsal_http_api_health_is_open_and_the_rest_needs_a_token(stack, token):
    assert stack.api.http("GET", "/api/health") == (200, {"status": "ok"})
    assert stack.api.http("GET", "/api/documents")[0] == 401
    assert stack.api.http("GET", "/api/documents", stack.issuer.token("x", aud="someone-else"))[0] == 401
    assert stack.api.http("GET", "/api/config", token) == (200, {"uploads": "presigned", "user": "user-ada"})


def test_rehearsal_markdown_pdf_and_docx_become_searchable_after_the_delay(stack, token):
    started = time.perf_counter()
    stack.bucket.put("runbooks/rotation.md", RUNBOOK)
    stack.bucket.put("reports/q3.pdf", make_pdf(["Quarterly revenue grew by twelve percent in Q3."], title="Q3"))
    stack.bucket.put("plans/roadmap.docx", make_docx([("Title", "Roadmap"), ("Normal", "We ship the widget in May.")]))
    keys = ("runbooks/rotation.md", "reports/q3.pdf", "plans/roadmap.docx")
    wait_for(lambda: all(chunks_of(stack, k, searchable_only=False) for k in keys))
    written_s = time.perf_counter() - started
    assert not chunks_of(stack, "runbooks/rotation.md")  # written, not yet visible to search
    wait_for(lambda: chunks_of(stack, "runbooks/rotation.md"))
    listed = wait_for(lambda: (d := documents(stack, token)) and len(d) == 3 and d)
    assert {p: d["status"] for p, d in listed.items()} == dict.fromkeys(listed, "indexed")
    FIGURES["S3 put of md, pdf, docx to all chunks written (visibility delay taken out)"] = f"{written_s:.1f} s"


def test_rehearsal_chat_over_the_websocket_api(stack, token):
    assert stack.api.connect(None) is None  # no token and not a visitor's page: refused
    assert stack.api.connect("not-a-jwt") is None
    assert stack.api.connect(stack.issuer.token("user-ada", aud="another-client")) is None
    connection = stack.api.connect(token)
    assert connection
    wait_for(lambda: chunks_of(stack, "runbooks/rotation.md"))
    frames = ask(stack, connection, "How often does the staging database password rotate?")
    kinds = [f["type"] for f in frames]
    assert kinds[0] == "start" and kinds[-2:] == ["sources", "end"], frames
    assert ("search_documents", "done") in [(f["name"], f["status"]) for f in frames if f["type"] == "tool"]
    answer = "".join(f["text"] for f in frames if f["type"] == "delta")
    assert "17 days" in answer and frames[-1]["citations"][0]["path"] == "runbooks/rotation.md"
    sessions = stack.clients["dynamodb"].query(
        TableName="ragchat-sessions-dev", KeyConditionExpression="pk = :pk",
        ExpressionAttributeValues={":pk": {"S": f"MSGS#user-ada#{frames[0]['sessionId']}"}})["Items"]
    assert sorted(i["role"]["S"] for i in sessions) == ["assistant", "user"]
    stack.api.disconnect(connection)


def test_rehearsal_one_answer_at_a_time_per_connection(stack, token):
    """Each frame is answered by its own asynchronous invocation, in another environment: the one
    answer per connection rule must hold across them, not in one process's memory."""
    connection = stack.api.connect(token)
    stack.bedrock.stream_delay_s = 1.0
    try:
        for request_id in ("first", "second"):
            stack.api.send(connection, json.dumps({"action": "sendMessage", "requestId": request_id,
                                                   "message": "How often does the password rotate?"}))
        frames = stack.api.connections[connection].frames
        ends = wait_for(lambda: (done := {f["requestId"]: f for f in frames if f["type"] in ("end", "error")})
                        and len(done) == 2 and done, 60)
    finally:
        stack.bedrock.stream_delay_s = 0.0
    assert sorted((f["type"], f.get("code")) for f in ends.values()) == [("end", None), ("error", "busy")]
    stack.api.disconnect(connection)


def test_rehearsal_replace_delete_and_upload_again(stack, token):
    key = "runbooks/rotation.md"
    wait_for(lambda: chunks_of(stack, key))
    stack.bucket.put(key, RUNBOOK.replace(b"17 days", b"30 days"))
    wait_for(lambda: [c["text"] for c in chunks_of(stack, key)] == [RUNBOOK.decode().split("\n\n")[1].strip()
                                                                    .replace("17 days", "30 days")])
    stack.bucket.delete(key)
    wait_for(lambda: key not in documents(stack, token) and not chunks_of(stack, key, searchable_only=False))
    stack.bucket.put(key, RUNBOOK)
    wait_for(lambda: documents(stack, token).get(key, {}).get("status") == "indexed")
    wait_for(lambda: len(chunks_of(stack, key)) == 1 and "17 days" in chunks_of(stack, key)[0]["text"])


def test_rehearsal_racing_versions_and_redelivered_reordered_events(stack, token):
    key = "notes/race.md"
    old = stack.bucket.put(key, b"# Race\n\nThe old version says blue.\n", notify=False)
    new = stack.bucket.put(key, b"# Race\n\nThe new version says green.\n", notify=False)
    removed_late = stack.bucket.put("notes/gone.md", b"# Gone\n\nSoon deleted.\n", notify=False)
    deleted = stack.bucket.delete("notes/gone.md", notify=False)
    for record in (new, old, new, deleted, removed_late, old):  # reordered and redelivered
        stack.bucket.send(record)
    wait_for(lambda: [c["text"] for c in chunks_of(stack, key)] == ["The new version says green."], 60)
    time.sleep(VISIBILITY_S + 2)  # anything late has landed and become visible by now
    assert [c["text"] for c in chunks_of(stack, key)] == ["The new version says green."]
    assert not chunks_of(stack, "notes/gone.md", searchable_only=False)
    assert "notes/gone.md" not in documents(stack, token)


def test_rehearsal_presigned_upload_through_the_http_api(stack, token):
    status, target = stack.api.http("POST", "/api/uploads", token, {"filename": "Team notes.md"})
    assert status == 201 and target["key"] == "uploads/user-ada/Team notes.md"
    assert requests.put(target["url"], data=b"# Team notes\n\nStand-up moves to ten o'clock.\n",
                        timeout=10).status_code == 200
    stack.bucket.send(stack.bucket.changes.uploaded(target["key"]))  # what S3 sends after the browser's PUT
    wait_for(lambda: documents(stack, token).get(target["key"], {}).get("status") == "indexed")
    assert target["key"] not in documents(stack, stack.issuer.token("user-bob"))  # private to its uploader


def test_rehearsal_visitor_from_the_allowed_site_chats_without_a_token_and_others_are_refused(stack, token):
    """Public chat on: the authorizer runs for every connection (no identity source) and admits a
    page of the allowed site as a visitor; the widget's script comes from the HTTP API with no token."""
    secret = "rehearsal-visitor-0123456789ab"
    assert stack.api.connect(None, {"Origin": "https://attacker.example"}, visitor=secret) is None
    assert stack.api.connect(None, {"Origin": SITE}, visitor="short") is None
    assert stack.api.connect(None, {"Origin": SITE}) is None
    connection = stack.api.connect(None, {"Origin": SITE}, visitor=secret)
    assert connection and stack.api.connections[connection].authorizer["kind"] == "visitor"
    wait_for(lambda: chunks_of(stack, "runbooks/rotation.md"))
    frames = ask(stack, connection, "How often does the staging database password rotate?")
    assert frames[-1]["type"] == "end" and frames[-1]["citations"][0]["path"] == "runbooks/rotation.md"
    assert "uploads/" not in json.dumps(frames)  # the owner's presigned upload stays theirs
    ask(stack, connection, "And who rotates it?")
    refused = ask(stack, connection, "One more?")[-1]  # VisitorMessagesPerDay is 2 in this deployment
    assert refused["code"] == "quota_exceeded" and refused["message"].endswith("come back tomorrow.")
    counters = stack.clients["dynamodb"].scan(TableName="ragchat-quotas-dev")["Items"]
    assert any(i["pk"]["S"].startswith("messages:visitor:") and i["n"]["N"] == "2" for i in counters)
    status, widget = stack.api.http("GET", "/widget.js")
    assert status == 200 and "attachShadow" in widget["text"]
    stack.api.disconnect(connection)


def test_rehearsal_a_file_that_fails_in_a_batch_is_retried_alone(stack, token):
    """The event source mapping reports partial failures: the failed item comes back, the rest do not
    (without them, Lambda deletes the whole batch once the function returns)."""
    early = stack.bucket.put("notes/early.md", b"# Early\n\nThis note arrived before the model was enabled.\n",
                             notify=False)
    later = stack.bucket.put("notes/later.md", b"# Later\n\nThis note arrived in the same batch.\n", notify=False)
    refused = stack.bedrock.refused
    stack.bedrock.deny(1)  # the batch's first embedding call is refused, as before model access is granted
    stack.bucket.send_together([early, later])
    keys = ("notes/early.md", "notes/later.md")
    wait_for(lambda: all(documents(stack, token).get(k, {}).get("status") == "indexed" for k in keys), 60)
    assert stack.bedrock.refused == refused + 1
    assert chunks_of(stack, "notes/early.md", searchable_only=False)


def first_frame_ms(stack, connection: str, request_id: str) -> float:
    """Milliseconds from the sendMessage event to the first frame posted back; waits for the answer's end."""
    frames = stack.api.connections[connection]
    before = len(frames.frames)
    sent = time.perf_counter()
    stack.api.send(connection, json.dumps({"action": "sendMessage", "requestId": request_id,
                                           "message": "How often does the password rotate?"}))
    wait_for(lambda: len(frames.frames) > before, 60, every=0.005)
    wait_for(lambda: any(f.get("requestId") == request_id and f["type"] in ("end", "error")
                         for f in frames.frames[before:]), 60, every=0.01)
    return (frames.posted_at[before] - sent) * 1000


def test_rehearsal_time_to_first_frame_cold_and_warm(stack, token):
    chat = stack.lambdas.functions["ChatFunction"]
    chat.close()  # the next answer starts a fresh environment: a cold start
    connection = stack.api.connect(token)
    latencies = [first_frame_ms(stack, connection, f"t{index}") for index in range(51)]
    warm = sorted(latencies[1:])
    FIGURES["sendMessage to first frame, cold"] = f"{latencies[0]:.0f} ms"
    FIGURES["sendMessage to first frame, warm p50 / p95 (50 messages)"] = (
        f"{statistics.median(warm):.0f} / {warm[int(0.95 * (len(warm) - 1))]:.0f} ms")
    assert latencies[0] > 0 and statistics.median(warm) < 5000
