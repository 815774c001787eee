"""Core parts built with the one set of defaults (ragchat/config.py), for tests that wire them by hand."""

from __future__ import annotations

from dataclasses import replace

from ragchat.bootstrap import build_fusion, chat_settings, loop_limits
from ragchat.chat.service import ChatService
from ragchat.config import Settings
from ragchat.retrieval.retriever import HybridRetriever


def retriever_over(store, embedder, **overrides) -> HybridRetriever:
    settings = replace(Settings(), **overrides)
    return HybridRetriever(store, embedder, candidates=settings.retrieval_candidates, fusion=build_fusion(settings))


def chat_service(retriever, generator, sessions, tools=None, **overrides) -> ChatService:
    """A ChatService with the default settings, some replaced (e.g. tool_max_steps=2)."""
    settings = replace(Settings(), **overrides)
    return ChatService(retriever, generator, sessions, chat_settings(settings), tools=tools,
                       limits=loop_limits(settings))


def limits(**overrides):
    """The default tool-loop limits, some replaced (e.g. max_steps=3)."""
    return replace(loop_limits(Settings()), **overrides)
