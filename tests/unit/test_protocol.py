import json

import pytest

from ragchat.chat import protocol
from ragchat.errors import ProtocolError


def test_protocol_parses_send_message():
    frame = protocol.parse_client_frame(json.dumps(
        {"action": "sendMessage", "message": "  hi there ", "sessionId": "s1", "requestId": "r-1"}))
    assert (frame.action, frame.message, frame.session_id, frame.request_id) == ("sendMessage", "hi there", "s1", "r-1")


@pytest.mark.parametrize("raw,code", [
    ("{not json", "bad_json"),
    ("[1, 2]", "bad_request"),
    (json.dumps({"action": "dance"}), "unknown_action"),
    (json.dumps({"message": "no action"}), "unknown_action"),
    (json.dumps({"action": "sendMessage"}), "bad_request"),
    (json.dumps({"action": "sendMessage", "message": "   "}), "bad_request"),
    (json.dumps({"action": "sendMessage", "message": 42}), "bad_request"),
    (json.dumps({"action": "sendMessage", "message": "x" * 4001}), "message_too_large"),
    (json.dumps({"action": "sendMessage", "message": "x" * 40000}), "message_too_large"),
    (json.dumps({"action": "getHistory"}), "bad_request"),
    (json.dumps({"action": "ping", "requestId": "bad id with spaces"}), "bad_request"),
    (json.dumps({"action": "sendMessage", "message": "hi", "sessionId": "../../etc"}), "bad_request"),
])
def test_protocol_rejects_bad_frames_with_a_code(raw, code):
    with pytest.raises(ProtocolError) as error:
        protocol.parse_client_frame(raw)
    assert error.value.code == code


def test_protocol_recovers_request_id_of_a_bad_frame_when_readable():
    assert protocol.request_id_of(json.dumps({"action": "dance", "requestId": "r9"})) == "r9"
    assert protocol.request_id_of("{broken") is None


def test_protocol_encode_refuses_frames_over_the_limit():
    with pytest.raises(ValueError):
        protocol.encode(protocol.delta_frame("r", 1, "x" * 40000))
    assert len(protocol.encode(protocol.delta_frame("r", 1, "\u00e9" * 5000)).encode()) < 32 * 1024


def test_protocol_sources_fit_one_frame_cited_ones_first():
    from ragchat.chat.protocol import encode, fit_sources, sources_frame
    from ragchat.domain import Source

    sources = [Source(number=n, chunk_id=f"c{n}", doc_id="d", title="T" * 80, uri="file:///x", path="p.md",
                      heading_path=("H",), page=None, snippet="s" * 300, score=0.5) for n in range(1, 201)]
    cited = [sources[199], sources[150]]
    listed, omitted = fit_sources(sources, first=cited)
    assert omitted > 0 and len(listed) + omitted == 200
    numbers = [item["n"] for item in listed]
    assert 200 in numbers and 151 in numbers and numbers == sorted(numbers)
    encode(sources_frame("r1", listed, omitted=omitted))  # under the 32 KB frame limit, or it raises
    assert fit_sources(sources[:3]) == ([s.as_dict() for s in sources[:3]], 0)
