"""Follow-up questions rewritten into standalone queries before retrieval.

With a language model: the model rewrites the question from the recent history. Without one
(the extractive default): a follow-up, recognised by its anaphora ("it", "that", "they"...),
its openers ("and ...", "what about ...") or its brevity, is expanded with the content words of
the previous user questions: the topic the conversation was on, which the follow-up omits.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence

from ragchat.domain import Message
from ragchat.ports import Generator
from ragchat.text import STOPWORDS

log = logging.getLogger(__name__)

_WORD = re.compile(r"[\w'-]+")
ANAPHORA = frozenset(
    "it its it's this that these those they them their theirs there he him his she her one ones same "
    "former latter above".split()
)
OPENERS = ("and ", "and,", "but ", "so ", "also ", "then ", "what about", "how about", "which one")
QUESTION_WORDS = frozenset("what how why when where who which whom whose do does did can could should would is are "
                           "was were will".split())
SHORT_QUESTION_WORDS = 4  # content words; "and the cost?" has one
LOOKBACK_QUESTIONS = 2

REWRITE_SYSTEM = ("Rewrite the user's last question as one standalone question that can be understood "
                  "without the conversation. Keep names and terms. Reply with the question only.")


def content_words(text: str) -> list[str]:
    words = [w.lower().strip("'-") for w in _WORD.findall(text)]
    return [w for w in words if w and w not in STOPWORDS and w not in ANAPHORA and w not in QUESTION_WORDS]


def is_follow_up(question: str) -> bool:
    lowered = question.lower().strip()
    words = {w.lower() for w in _WORD.findall(lowered)}
    return (lowered.startswith(OPENERS) or bool(words & ANAPHORA)
            or len(content_words(question)) < SHORT_QUESTION_WORDS)


class HeuristicCondenser:
    def condense(self, question: str, history: Sequence[Message]) -> str:
        previous = [m.content for m in history if m.role == "user"][-LOOKBACK_QUESTIONS:]
        if not previous or not is_follow_up(question):
            return question
        present = set(content_words(question))
        added: list[str] = []
        for text in reversed(previous):  # the latest question's topic first
            for word in content_words(text):
                if word not in present and word not in added:
                    added.append(word)
        return f"{question} {' '.join(added)}".strip() if added else question


class ModelCondenser:
    """Asks the language model for the rewrite; falls back to the heuristic if the model fails."""

    def __init__(self, generator: Generator, history_turns: int = 6):
        self.generator = generator
        self.history_turns = history_turns
        self.fallback = HeuristicCondenser()

    def condense(self, question: str, history: Sequence[Message]) -> str:
        recent = list(history)[-self.history_turns:]
        if not recent:
            return question
        transcript = "\n".join(f"{m.role}: {m.content[:1000]}" for m in recent)
        try:
            rewritten = self.generator.complete(REWRITE_SYSTEM, f"{transcript}\nuser: {question}", max_tokens=120)
        except Exception as exc:  # a failed rewrite must not fail the answer
            log.warning("question rewrite failed, using the heuristic: %s", exc)
            return self.fallback.condense(question, history)
        rewritten = rewritten.strip().strip('"').strip()
        return rewritten if 0 < len(rewritten) <= 1000 else question
