"""The contract every AnswersInFlight adapter passes: at most one answer per connection at a time."""

from __future__ import annotations

import threading

import pytest


class AnswersInFlightContract:
    @pytest.fixture
    def answers(self):
        raise NotImplementedError

    def open(self, connection_id: str) -> None:
        """Make the connection exist where the adapter looks for it (nothing, in memory)."""

    def test_a_second_answer_waits_for_the_first(self, answers):
        self.open("c1")
        assert answers.claim("c1") is True
        assert answers.claim("c1") is False
        answers.release("c1")
        assert answers.claim("c1") is True

    def test_connections_do_not_share_a_claim(self, answers):
        self.open("c1")
        self.open("c2")
        assert answers.claim("c1") and answers.claim("c2")

    def test_releasing_what_was_not_claimed_is_harmless(self, answers):
        self.open("c1")
        answers.release("c1")
        answers.release("never-connected")
        assert answers.claim("c1") is True

    def test_concurrent_claims_let_exactly_one_through(self, answers):
        self.open("c1")
        results, start = [], threading.Barrier(8)

        def claim():
            start.wait()
            results.append(answers.claim("c1"))

        threads = [threading.Thread(target=claim) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert sorted(results) == [False] * 7 + [True]
