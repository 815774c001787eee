"""One chat turn, transport-agnostic: the WebSocket route handlers (local server and Lambda) and
`ragchat ask` all call `ChatService.answer` with a sink that delivers frames their own way."""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass

from ragchat.chat import protocol
from ragchat.chat.citations import CitationFilter
from ragchat.chat.condense import HeuristicCondenser, ModelCondenser
from ragchat.chat.prompting import (
    NO_SOURCES_ANSWER, SYSTEM_PROMPT, bounded_history, number_sources, render_sources, user_turn,
)
from ragchat.chat.streaming import DeltaCoalescer
from ragchat.domain import Filters, GenerationRequest, Message, ScoredChunk
from ragchat.errors import ClientGone, SessionNotFound
from ragchat.ports import Generator, Retriever, SessionStore

log = logging.getLogger(__name__)

FrameSink = Callable[[dict], None]  # delivers one server frame; raises ClientGone if the client left
INTERRUPTED = "\n\n*(interrupted: the client disconnected)*"


@dataclass(frozen=True)
class ChatSettings:
    k: int = 6  # sources per answer
    min_similarity: float = 0.25  # below this cosine the best chunk is not about the question
    history_tokens: int = 1500  # history sent to a model
    history_messages: int = 20  # messages read back for condensing and history
    max_answer_tokens: int = 800


class ChatService:
    def __init__(self, retriever: Retriever, generator: Generator, sessions: SessionStore,
                 settings: ChatSettings | None = None):
        self.retriever = retriever
        self.generator = generator
        self.sessions = sessions
        self.settings = settings or ChatSettings()
        self.condenser = ModelCondenser(generator) if generator.uses_language_model else HeuristicCondenser()

    # -- retrieval ---------------------------------------------------------------------------
    def relevant(self, hits: list[ScoredChunk]) -> list[ScoredChunk]:
        """Nothing at all if no chunk is close enough to the question: better no answer than a guess."""
        best_dense = max((h.arm_scores.get("dense", float("-inf")) for h in hits), default=float("-inf"))
        return hits if best_dense >= self.settings.min_similarity else []

    # -- one turn ----------------------------------------------------------------------------
    def answer(self, user_id: str, text: str, send: FrameSink, session_id: str | None = None,
               request_id: str | None = None, filters: Filters | None = None) -> Message | None:
        request_id = request_id or uuid.uuid4().hex
        if session_id:
            session = self.sessions.get_session(user_id, session_id)
            if session is None:
                raise SessionNotFound(f"no session {session_id}")
        else:
            session = self.sessions.create_session(user_id, title=" ".join(text.split())[:80])
        history = self.sessions.list_messages(user_id, session.session_id, limit=self.settings.history_messages)
        self.sessions.append_message(user_id, Message(
            message_id=uuid.uuid4().hex, session_id=session.session_id, role="user", content=text,
            created_at=time.time(), request_id=request_id))
        message_id = uuid.uuid4().hex
        send(protocol.start_frame(request_id, session.session_id, message_id))

        query = self.condenser.condense(text, history)
        hits = self.relevant(self.retriever.search(query, k=self.settings.k, filters=filters))
        sources = number_sources(hits)
        seq = 0

        def emit(chunk: str) -> None:
            nonlocal seq
            seq += 1
            send(protocol.delta_frame(request_id, seq, chunk))

        coalescer = DeltaCoalescer(emit)
        citations = CitationFilter({s.number for s in sources})
        shown: list[str] = []

        def on_text(piece: str) -> None:
            visible = citations.feed(piece)
            shown.append(visible)
            coalescer.write(visible)

        stop_reason = "end_turn"
        try:
            if not sources:
                on_text(NO_SOURCES_ANSWER)
            else:
                request = GenerationRequest(
                    system=SYSTEM_PROMPT,
                    turns=bounded_history(history, self.settings.history_tokens)
                    + (user_turn(query, render_sources(sources, hits)),),
                    question=query, sources=sources, passages=tuple(h.chunk.text for h in hits),
                    max_tokens=self.settings.max_answer_tokens,
                )
                stop_reason = self.generator.stream(request, on_text).stop_reason
            tail = citations.flush()
            shown.append(tail)
            coalescer.write(tail)
            coalescer.close()
        except ClientGone:
            log.info("client left during request %s; keeping what was said", request_id)
            self._store_answer(user_id, session.session_id, message_id, "".join(shown) + INTERRUPTED,
                               citations.cited, sources, request_id)
            return None

        cited = [s for s in sources if s.number in citations.cited]
        reply = self._store_answer(user_id, session.session_id, message_id, "".join(shown), citations.cited,
                                   sources, request_id)
        send(protocol.sources_frame(request_id, [s.as_dict() for s in sources]))
        send(protocol.end_frame(request_id, session.session_id, message_id, [s.as_dict() for s in cited],
                                stopReason=stop_reason, query=query))
        return reply

    def _store_answer(self, user_id, session_id, message_id, content, cited_numbers, sources, request_id) -> Message:
        cited = tuple(s for s in sources if s.number in cited_numbers)
        message = Message(message_id=message_id, session_id=session_id, role="assistant", content=content,
                          created_at=time.time(), citations=cited, request_id=request_id)
        self.sessions.append_message(user_id, message)
        return message
