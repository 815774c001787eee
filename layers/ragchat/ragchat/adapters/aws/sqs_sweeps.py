"""Delayed sweeps through the ingest queue: a message the ingest function reads back later.

SQS holds a message back for up to 900 seconds (DelaySeconds), long enough for a write in flight
to end and for what it indexed to become searchable, so the sweep then finds it.
"""

from __future__ import annotations

import json

SWEEP_KEY = "ragchatSweep"
MAX_DELAY_S = 900


def sweep_request(body: object) -> str | None:
    """The document id a queue message asks to sweep, or None for any other message."""
    if isinstance(body, dict) and isinstance(body.get(SWEEP_KEY), dict):
        doc_id = body[SWEEP_KEY].get("docId")
        return doc_id if isinstance(doc_id, str) and doc_id else None
    return None


class SqsSweepScheduler:
    def __init__(self, queue_url: str, delay_s: float, client=None):
        if client is None:
            import boto3

            client = boto3.client("sqs")
        self.queue_url, self.delay_s, self.client = queue_url, int(min(MAX_DELAY_S, delay_s)), client

    def __call__(self, doc_id: str) -> None:
        self.client.send_message(QueueUrl=self.queue_url, DelaySeconds=self.delay_s,
                                 MessageBody=json.dumps({SWEEP_KEY: {"docId": doc_id}}))
