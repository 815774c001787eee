"""One chat turn, transport-agnostic: the WebSocket endpoint (local server and Lambda) and
`ragchat ask` all call `ChatService.answer` with a sink that delivers frames their own way."""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass

from ragchat.access import is_visitor, scoped
from ragchat.chat import protocol
from ragchat.chat.answer import AnswerText, FrameSink
from ragchat.chat.condense import HeuristicCondenser, ModelCondenser
from ragchat.chat.metering import Meter, MeteredGenerator
from ragchat.chat.prompting import (
    NO_SOURCES_ANSWER,
    SYSTEM_PROMPT,
    TOOL_SYSTEM_PROMPT,
    bounded_history,
    render_sources,
    user_turn,
)
from ragchat.chat.tool_loop import LoopLimits, ToolLoop
from ragchat.domain import Filters, GenerationRequest, Message, Session, SourceBook, ToolContext, Turn
from ragchat.errors import ClientGone, GenerationError, SessionNotFound
from ragchat.ports import Generator, Retriever, SessionStore
from ragchat.retrieval.relevance import relevance_gate
from ragchat.text import clip_utf8
from ragchat.tools import VISITOR_TOOLS
from ragchat.tools.registry import ToolRegistry

log = logging.getLogger(__name__)

# A stored message stays far below DynamoDB's 400 KB item, whatever the model said or cited.
STORED_CONTENT_BYTES = 128 * 1024
STORED_CITATIONS_BYTES = 64 * 1024
INTERRUPTED = "\n\n*(interrupted: the client disconnected)*"
MODEL_FAILED = "\n\n*(the model failed before the answer was complete)*"


@dataclass(frozen=True)
class ChatSettings:
    sources: int  # sources retrieved per answer
    min_similarity: float  # below this cosine the best chunk is not about the question
    history_tokens: int  # history sent to a model
    history_messages: int  # messages read back for condensing and history
    max_answer_tokens: int


@dataclass
class _Turn:
    """What one answer needs as it is produced."""

    user_id: str
    session: Session
    history: list[Message]
    question: str
    request_id: str
    message_id: str
    send: FrameSink
    sources: SourceBook
    text: AnswerText
    generator: Generator  # the service's, metered for this answer
    meter: Meter


class ChatService:
    """One turn: a single retrieval then the answer, or, with tools and a model that can use them,
    the tool loop, where the model searches, reads and computes as it sees fit."""

    def __init__(self, retriever: Retriever, generator: Generator, sessions: SessionStore, settings: ChatSettings,
                 tools: ToolRegistry | None = None, limits: LoopLimits | None = None):
        self.retriever = retriever
        self.generator = generator
        self.sessions = sessions
        self.settings = settings
        self.relevant = relevance_gate(settings.min_similarity)
        use_tools = tools is not None and generator.supports_tools
        if use_tools and limits is None:
            raise ValueError("a chat with tools needs loop limits")
        self.tools = tools if use_tools else None
        # visitors get only the tools that stay inside the shared library (ragchat/tools/__init__.py)
        self.visitor_tools = tools.only(VISITOR_TOOLS) if use_tools else None
        self.limits = limits

    def answer(self, user_id: str, text: str, send: FrameSink, session_id: str | None = None,
               request_id: str | None = None, filters: Filters | None = None,
               spent: Callable[[int], None] | None = None) -> Message | None:
        """Stream the answer to `text` as frames through `send`, store both turns, return the reply
        (None when the client left mid-answer; what was said is stored, marked as interrupted).
        `spent(tokens)` is told what the answer spent on the language model, however it ended."""
        meter = Meter()
        try:
            return self._answer(user_id, text, send, session_id, request_id, filters, meter)
        finally:
            if spent is not None:
                spent(meter.tokens)

    def _answer(self, user_id: str, text: str, send: FrameSink, session_id: str | None, request_id: str | None,
                filters: Filters | None, meter: Meter) -> Message | None:
        turn = self._open(user_id, text, send, session_id, request_id or uuid.uuid4().hex, meter)
        send(protocol.start_frame(turn.request_id, turn.session.session_id, turn.message_id))
        try:
            if self.tools is not None:
                stop_reason, extra = self._answer_with_tools(turn)
            else:
                stop_reason, extra = self._retrieve_then_answer(turn, filters)
            turn.text.flush()
        except ClientGone:
            log.info("client left during request %s; keeping what was said", turn.request_id)
            self._store_reply(turn, turn.text.text + INTERRUPTED)
            return None
        except GenerationError:
            # what was said stays, marked; the history keeps alternating user and assistant turns
            self._store_reply(turn, turn.text.text + MODEL_FAILED)
            raise
        reply = self._store_reply(turn, turn.text.text)
        self._send_sources_and_end(turn, stop_reason, extra)
        return reply

    # -- the steps of a turn -----------------------------------------------------------------
    def _open(self, user_id: str, text: str, send: FrameSink, session_id: str | None, request_id: str,
              meter: Meter) -> _Turn:
        """The session (this user's, or a new one), its recent history, and the question stored."""
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
        sources = SourceBook()
        return _Turn(user_id, session, history, text, request_id, uuid.uuid4().hex, send, sources,
                     AnswerText(request_id, send, sources.numbers), MeteredGenerator(self.generator, meter), meter)

    def _answer_with_tools(self, turn: _Turn) -> tuple[str, dict]:
        """The model searches itself: no retrieval up front, the question as asked."""
        request = GenerationRequest(
            system=TOOL_SYSTEM_PROMPT, question=turn.question, sources=(), max_tokens=self.settings.max_answer_tokens,
            turns=(*bounded_history(turn.history, self.settings.history_tokens), Turn("user", turn.question)))
        registry = self.visitor_tools if is_visitor(turn.user_id) else self.tools
        outcome = ToolLoop(turn.generator, registry, self.limits).run(
            request, ToolContext(turn.user_id, turn.sources), turn.text.write,
            on_tool=lambda event: turn.send(protocol.tool_frame(turn.request_id, **event)),
            before_tool=turn.text.flush)
        return outcome.stop_reason, {"query": turn.question, "steps": outcome.steps, "toolCalls": outcome.tool_calls}

    def _retrieve_then_answer(self, turn: _Turn, filters: Filters | None) -> tuple[str, dict]:
        """One retrieval for the standalone question, then one generation over what it found."""
        condenser = ModelCondenser(turn.generator) if turn.generator.uses_language_model else HeuristicCondenser()
        query = condenser.condense(turn.question, turn.history)
        hits = self.relevant(self.retriever.search(query, k=self.settings.sources,
                                                   filters=scoped(filters, turn.user_id)))
        for hit in hits:
            turn.sources.add(hit.chunk, hit.score)
        if not hits:
            turn.text.write(NO_SOURCES_ANSWER)
            return "end_turn", {"query": query}
        history = bounded_history(turn.history, self.settings.history_tokens)
        request = GenerationRequest(
            system=SYSTEM_PROMPT, turns=(*history, user_turn(query, render_sources(turn.sources.sources, hits))),
            question=query, sources=tuple(turn.sources.sources), passages=tuple(turn.sources.passages),
            max_tokens=self.settings.max_answer_tokens,
        )
        return turn.generator.stream(request, turn.text.write).stop_reason, {"query": query}

    def _store_reply(self, turn: _Turn, content: str) -> Message:
        cited = set(turn.text.cited)
        citations, _ = protocol.fitting([s.clipped() for s in turn.sources.sources if s.number in cited],
                                        STORED_CITATIONS_BYTES)
        message = Message(message_id=turn.message_id, session_id=turn.session.session_id, role="assistant",
                          content=clip_utf8(content, STORED_CONTENT_BYTES), created_at=time.time(),
                          request_id=turn.request_id, citations=tuple(citations))
        self.sessions.append_message(turn.user_id, message)
        return message

    def _send_sources_and_end(self, turn: _Turn, stop_reason: str, extra: dict) -> None:
        sources = turn.sources.sources
        cited = [s for s in sources if s.number in set(turn.text.cited)]
        listed, omitted = protocol.fit_sources(sources, first=cited)
        turn.send(protocol.sources_frame(turn.request_id, listed, **({"omitted": omitted} if omitted else {})))
        shown_citations, omitted = protocol.fit_sources(cited)
        turn.send(protocol.end_frame(turn.request_id, turn.session.session_id, turn.message_id, shown_citations,
                                     stopReason=stop_reason, **extra,
                                     **({"citationsOmitted": omitted} if omitted else {})))
