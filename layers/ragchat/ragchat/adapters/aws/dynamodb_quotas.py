"""Quota counters in DynamoDB (the Quotas port, on AWS): one item per counter and window, changed
only by conditional `UpdateItem ... ADD`, which DynamoDB applies atomically. No read-modify-write,
no scan.

A take adds to its counters one at a time, each only if it stays within its limit ("Condition
expressions", "Update expressions: ADD" in the DynamoDB developer guide); when one refuses, the
ones already added are taken back. A counter therefore never passes its limit; while a take is
being undone, a concurrent one may be refused that would have fitted a moment later (it is told
to retry). Checks (an amount of 0) are strongly consistent reads. Items carry `expires_at`, the
table's TTL attribute, a day after their window ends: TTL deletes them within days, and nothing
reads a window once it is over, since the window is part of the key.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from ragchat.domain import WINDOW_SECONDS, Charge, window_start

log = logging.getLogger(__name__)
KEEP_S = 86400  # after its window ends, an item lives this long before TTL may delete it


class DynamoDbQuotas:
    def __init__(self, table_name: str, client=None):
        if client is None:
            from ragchat.adapters.aws.clients import dynamodb

            client = dynamodb()
        self.table = table_name
        self.client = client

    @staticmethod
    def _key(counter: str, window: str, now: float) -> dict:
        return {"pk": {"S": f"{counter}#{window}#{window_start(window, now)}"}}

    @staticmethod
    def _expires(window: str, now: float) -> str:
        return str(window_start(window, now) + WINDOW_SECONDS[window] + KEEP_S)

    def take(self, charges: Sequence[Charge], now: float) -> Charge | None:
        taken: list[Charge] = []
        try:
            for charge in charges:
                if not self._passes(charge, now):
                    self._undo(taken, now)
                    return charge
                if charge.amount:
                    taken.append(charge)
        except BaseException:
            self._undo(taken, now)
            raise
        return None

    def _passes(self, charge: Charge, now: float) -> bool:
        if not charge.amount:
            item = self.client.get_item(TableName=self.table, Key=self._key(charge.counter, charge.window, now),
                                        ConsistentRead=True).get("Item")
            return charge.fits(int(item["n"]["N"]) if item else 0)
        try:
            self.client.update_item(
                TableName=self.table, Key=self._key(charge.counter, charge.window, now),
                UpdateExpression="ADD n :amount SET expires_at = :expires",
                ConditionExpression="attribute_not_exists(n) OR n <= :most",
                ExpressionAttributeValues={":amount": {"N": str(charge.amount)},
                                           ":most": {"N": str(charge.limit - charge.amount)},
                                           ":expires": {"N": self._expires(charge.window, now)}})
        except self.client.exceptions.ConditionalCheckFailedException:
            return False
        return True

    def _undo(self, taken: list[Charge], now: float) -> None:
        for charge in reversed(taken):
            try:
                self.add(charge.counter, charge.window, -charge.amount, now)
            except Exception:  # left counted: this window refuses a little early, never lets one more through
                log.exception("could not take back %s from %s", charge.amount, charge.counter)

    def add(self, counter: str, window: str, amount: int, now: float) -> None:
        self.client.update_item(
            TableName=self.table, Key=self._key(counter, window, now),
            UpdateExpression="ADD n :amount SET expires_at = :expires",
            ExpressionAttributeValues={":amount": {"N": str(amount)}, ":expires": {"N": self._expires(window, now)}})
