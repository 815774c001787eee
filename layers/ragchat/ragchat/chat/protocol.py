"""The WebSocket protocol, the same on the local server and on API Gateway (docs/protocol.md).

Client frames are JSON objects with an `action`; server frames are JSON objects with a `type`.
This module parses and validates client frames and builds server frames; it does no I/O.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

from ragchat.errors import ProtocolError

MAX_CLIENT_FRAME_BYTES = 32 * 1024  # API Gateway's frame limit; larger frames get an error frame
MAX_MESSAGE_CHARS = 4000  # the longest question accepted (about 1,000 words)
MAX_SERVER_FRAME_BYTES = 32 * 1024
_ID = re.compile(r"[A-Za-z0-9_\-:.]{1,128}")  # the whole value: fullmatch (`$` admits a final newline)

ACTIONS = ("sendMessage", "getHistory", "listSessions", "deleteSession", "ping")


@dataclass(frozen=True)
class ClientFrame:
    action: str
    message: str | None = None
    session_id: str | None = None
    request_id: str | None = None


def _optional_id(body: dict, key: str) -> str | None:
    value = body.get(key)
    if value is None or value == "":
        return None
    if not isinstance(value, str) or not _ID.fullmatch(value):
        raise ProtocolError("bad_request", f"{key} must be 1-128 letters, digits or -_:.")
    return value


def parse_client_frame(raw: str | bytes) -> ClientFrame:
    size = len(raw if isinstance(raw, bytes) else raw.encode("utf-8"))
    if size > MAX_CLIENT_FRAME_BYTES:
        raise ProtocolError("message_too_large", f"frame is {size} bytes, the limit is {MAX_CLIENT_FRAME_BYTES}")
    try:
        body = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ProtocolError("bad_json", f"frame is not valid JSON ({exc})") from exc
    except RecursionError as exc:  # [[[[... within the size limit: the decoder gives up, so do we
        raise ProtocolError("bad_json", "frame is nested too deeply") from exc
    if not isinstance(body, dict):
        raise ProtocolError("bad_request", "frame must be a JSON object")
    request_id = _optional_id(body, "requestId")
    action = body.get("action")
    if action not in ACTIONS:
        raise ProtocolError("unknown_action", f"unknown action {action!r}; expected one of {', '.join(ACTIONS)}")
    session_id = _optional_id(body, "sessionId")
    message = body.get("message")
    if action == "sendMessage":
        if not isinstance(message, str) or not message.strip():
            raise ProtocolError("bad_request", "sendMessage needs a non-empty string 'message'")
        if len(message) > MAX_MESSAGE_CHARS:
            raise ProtocolError("message_too_large", f"message is over {MAX_MESSAGE_CHARS} characters")
        message = message.strip()
    if action in ("getHistory", "deleteSession") and session_id is None:
        raise ProtocolError("bad_request", f"{action} needs a 'sessionId'")
    return ClientFrame(action=action, message=message, session_id=session_id, request_id=request_id)


def request_id_of(raw: str | bytes) -> str | None:
    """The requestId of a frame that failed to parse, when it can be read at all (for the error frame)."""
    try:
        body = json.loads(raw)
        value = body.get("requestId") if isinstance(body, dict) else None
        return value if isinstance(value, str) and _ID.fullmatch(value) else None
    except (ValueError, TypeError, UnicodeDecodeError, RecursionError):
        return None


def encode(frame: dict) -> str:
    text = json.dumps(frame, ensure_ascii=False, separators=(",", ":"))
    if len(text.encode("utf-8")) > MAX_SERVER_FRAME_BYTES:
        raise ValueError(f"{frame.get('type')} frame over {MAX_SERVER_FRAME_BYTES} bytes")
    return text


def start_frame(request_id: str, session_id: str, message_id: str) -> dict:
    return {"type": "start", "requestId": request_id, "sessionId": session_id, "messageId": message_id}


def delta_frame(request_id: str, seq: int, text: str) -> dict:
    return {"type": "delta", "requestId": request_id, "seq": seq, "text": text}


TOOL_STATUSES = ("started", "done", "error")


def tool_frame(request_id: str, callId: str, name: str, input: dict, status: str, summary: str,
               step: int) -> dict:
    """One step of the tool loop as the user sees it (status: started, then done or error)."""
    if status not in TOOL_STATUSES:
        raise ValueError(f"tool status {status!r}")
    return {"type": "tool", "requestId": request_id, "callId": callId, "step": step, "name": name,
            "input": input, "status": status, "summary": summary}


SOURCES_BUDGET_BYTES = 24 * 1024  # the sources of one frame; the rest of the frame stays far below 32 KB


def fitting(sources, budget: int, first=()) -> tuple[list, int]:
    """As many sources as fit `budget` bytes of JSON, `first` ones (the cited) chosen first, in
    number order; and how many were left out (a tool-using answer can gather hundreds of passages)."""
    ordered = list(first) + [s for s in sources if s not in first]
    kept, used = [], 0
    for source in ordered:
        size = len(json.dumps(source.as_dict(), ensure_ascii=False).encode("utf-8")) + 1
        if used + size > budget:
            break
        kept.append(source)
        used += size
    return sorted(kept, key=lambda source: source.number), len(ordered) - len(kept)


def fit_sources(sources, first=()) -> tuple[list[dict], int]:
    """The sources of one frame, as dicts (see `fitting`)."""
    kept, omitted = fitting(sources, SOURCES_BUDGET_BYTES, first)
    return [source.as_dict() for source in kept], omitted


def sources_frame(request_id: str, sources: list[dict], **extra) -> dict:
    return {"type": "sources", "requestId": request_id, "sources": sources, **extra}


def end_frame(request_id: str, session_id: str, message_id: str, citations: list[dict], **extra) -> dict:
    return {"type": "end", "requestId": request_id, "sessionId": session_id, "messageId": message_id,
            "citations": citations, **extra}


def error_frame(code: str, message: str, request_id: str | None = None, **extra) -> dict:
    """`extra`: fields of particular errors (`retryAfter` of `quota_exceeded`)."""
    frame = {"type": "error", "code": code, "message": message, **extra}
    if request_id:
        frame["requestId"] = request_id
    return frame
