"""One chat turn, transport-agnostic: the WebSocket route handlers (local server and Lambda) and
`ragchat ask` all call `ChatService.answer` with a sink that delivers frames their own way."""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass

from ragchat.access import scoped
from ragchat.chat import protocol
from ragchat.chat.citations import CitationFilter
from ragchat.chat.condense import HeuristicCondenser, ModelCondenser
from ragchat.chat.prompting import (
    NO_SOURCES_ANSWER, SYSTEM_PROMPT, TOOL_SYSTEM_PROMPT, bounded_history, render_sources, user_turn,
)
from ragchat.chat.streaming import DeltaCoalescer
from ragchat.chat.tool_loop import LoopLimits, ToolLoop
from ragchat.domain import Filters, GenerationRequest, Message, ScoredChunk, SourceBook, ToolContext, Turn
from ragchat.errors import ClientGone, GenerationError, SessionNotFound
from ragchat.ports import Generator, Retriever, SessionStore
from ragchat.tools.registry import ToolRegistry

log = logging.getLogger(__name__)

FrameSink = Callable[[dict], None]  # delivers one server frame; raises ClientGone if the client left
INTERRUPTED = "\n\n*(interrupted: the client disconnected)*"
MODEL_FAILED = "\n\n*(the model failed before the answer was complete)*"


@dataclass(frozen=True)
class ChatSettings:
    k: int = 6  # sources per answer
    min_similarity: float = 0.25  # below this cosine the best chunk is not about the question
    history_tokens: int = 1500  # history sent to a model
    history_messages: int = 20  # messages read back for condensing and history
    max_answer_tokens: int = 800


def relevance_gate(min_similarity: float) -> Callable[[list[ScoredChunk]], list[ScoredChunk]]:
    """Nothing at all if no chunk is close enough to the question: better no answer than a guess."""

    def relevant(hits: list[ScoredChunk]) -> list[ScoredChunk]:
        best_dense = max((h.arm_scores.get("dense", float("-inf")) for h in hits), default=float("-inf"))
        return hits if best_dense >= min_similarity else []

    return relevant


class ChatService:
    """One turn: a single retrieval then the answer, or, with tools and a model that can use them,
    the tool loop, where the model searches, reads and computes as it sees fit."""

    def __init__(self, retriever: Retriever, generator: Generator, sessions: SessionStore,
                 settings: ChatSettings | None = None, tools: ToolRegistry | None = None,
                 limits: LoopLimits | None = None):
        self.retriever = retriever
        self.generator = generator
        self.sessions = sessions
        self.settings = settings or ChatSettings()
        self.relevant = relevance_gate(self.settings.min_similarity)
        use_tools = tools is not None and generator.supports_tools
        self.tool_loop = ToolLoop(generator, tools, limits) if use_tools else None
        self.condenser = ModelCondenser(generator) if generator.uses_language_model else HeuristicCondenser()

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

        book = SourceBook()
        hits: list[ScoredChunk] = []
        query = text
        if self.tool_loop is None:  # the model does not search itself: one retrieval, up front
            query = self.condenser.condense(text, history)
            hits = self.relevant(self.retriever.search(query, k=self.settings.k, filters=scoped(filters, user_id)))
            for hit in hits:
                book.add(hit.chunk, hit.score)
        seq = 0

        def emit(chunk: str) -> None:
            nonlocal seq
            seq += 1
            send(protocol.delta_frame(request_id, seq, chunk))

        coalescer = DeltaCoalescer(emit)
        citations = CitationFilter(book.numbers)  # live: sources found by tools become citable
        shown: list[str] = []

        def on_text(piece: str) -> None:
            visible = citations.feed(piece)
            shown.append(visible)
            coalescer.write(visible)

        def flush() -> None:
            """Everything said so far goes out (a tool step starts, or the answer ends)."""
            tail = citations.flush()  # at a step's end an unclosed `[` is plain text
            shown.append(tail)
            coalescer.write(tail)
            coalescer.close()

        extra: dict = {"query": query}
        stop_reason = "end_turn"
        try:
            if self.tool_loop is not None:
                request = GenerationRequest(
                    system=TOOL_SYSTEM_PROMPT, question=text, sources=(), max_tokens=self.settings.max_answer_tokens,
                    turns=bounded_history(history, self.settings.history_tokens) + (Turn("user", text),))
                outcome = self.tool_loop.run(
                    request, ToolContext(user_id, book), on_text,
                    on_tool=lambda event: send(protocol.tool_frame(request_id, **event)),
                    before_tool=flush)
                stop_reason = outcome.stop_reason
                extra.update(steps=outcome.steps, toolCalls=outcome.tool_calls)
            elif not book.sources:
                on_text(NO_SOURCES_ANSWER)
            else:
                request = GenerationRequest(
                    system=SYSTEM_PROMPT,
                    turns=bounded_history(history, self.settings.history_tokens)
                    + (user_turn(query, render_sources(book.sources, hits)),),
                    question=query, sources=tuple(book.sources), passages=tuple(book.passages),
                    max_tokens=self.settings.max_answer_tokens,
                )
                stop_reason = self.generator.stream(request, on_text).stop_reason
            flush()
        except ClientGone:
            log.info("client left during request %s; keeping what was said", request_id)
            self._store_answer(user_id, session.session_id, message_id, "".join(shown) + INTERRUPTED,
                               citations.cited, book.sources, request_id)
            return None
        except GenerationError:
            # what was said stays, marked; the history keeps alternating user and assistant turns
            self._store_answer(user_id, session.session_id, message_id, "".join(shown) + MODEL_FAILED,
                               citations.cited, book.sources, request_id)
            raise

        sources = book.sources
        cited = [s for s in sources if s.number in citations.cited]
        reply = self._store_answer(user_id, session.session_id, message_id, "".join(shown), citations.cited,
                                   sources, request_id)
        listed, omitted = protocol.fit_sources(sources, first=cited)
        send(protocol.sources_frame(request_id, listed, **({"omitted": omitted} if omitted else {})))
        shown_citations, omitted = protocol.fit_sources(cited)
        send(protocol.end_frame(request_id, session.session_id, message_id, shown_citations,
                                stopReason=stop_reason, **extra, **({"citationsOmitted": omitted} if omitted else {})))
        return reply

    def _store_answer(self, user_id, session_id, message_id, content, cited_numbers, sources, request_id) -> Message:
        cited = tuple(s for s in sources if s.number in cited_numbers)
        message = Message(message_id=message_id, session_id=session_id, role="assistant", content=content,
                          created_at=time.time(), citations=cited, request_id=request_id)
        self.sessions.append_message(user_id, message)
        return message
