"""Tools a language model may call while it answers (the tool loop lives in ragchat/chat/tool_loop.py)."""

from __future__ import annotations

from collections.abc import Callable

from ragchat.domain import ScoredChunk
from ragchat.ports import ChunkStore, Retriever
from ragchat.tools.registry import ToolRegistry

# The tools a visitor's answer may use: each stays inside what its caller may see (for a visitor,
# the shared library) or reaches nothing at all. A tool added later is off for visitors until it
# is listed here.
VISITOR_TOOLS = frozenset({"search_documents", "list_documents", "read_document", "calculator", "current_time"})


def default_tools(retriever: Retriever, store: ChunkStore,
                  relevant: Callable[[list[ScoredChunk]], list[ScoredChunk]]) -> ToolRegistry:
    """The read-only tool set: search, list and read documents, calculate, tell the time."""
    from ragchat.tools.calculator import Calculator
    from ragchat.tools.clock import CurrentTime
    from ragchat.tools.library import ListDocuments, ReadDocument, SearchDocuments

    return ToolRegistry([SearchDocuments(retriever, relevant), ListDocuments(store), ReadDocument(store),
                         Calculator(), CurrentTime()])
