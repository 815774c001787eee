"""The chat function's side of API Gateway's WebSocket API.

`$connect` records the user the authorizer verified, `$disconnect` forgets the connection. A
client frame is acknowledged at once and answered by an asynchronous invocation of this same
function, so an answer may stream for longer than API Gateway's 29-second integration timeout
(up to the function's own timeout). The template sets that invocation never to be retried, and
each frame is answered at most once even if its event arrives twice (Powertools idempotency,
keyed on the connection and API Gateway's id of the message).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING

from aws_lambda_powertools.utilities.data_classes import APIGatewayWebSocketEvent

from ragchat.errors import Unauthenticated

if TYPE_CHECKING:
    from ragchat.chat.endpoint import ChatEndpoint, ConnectionLifecycle

ANSWER_MARKER = "ragchatAnswer"  # set on the event this function sends itself to answer a frame
ANSWER_RECORD_S = 3600  # how long an answered frame is remembered
log = logging.getLogger(__name__)
Once = Callable[[str, Callable[[], None]], None]  # once(key, work): run work unless key was run before


class AnswerOnce:
    """`once` over Powertools idempotency: a frame whose event arrives twice is answered once, and
    one that arrives while its first delivery is still answering is dropped."""

    def __init__(self, table_name: str, client=None):
        from aws_lambda_powertools.utilities.idempotency import (
            DynamoDBPersistenceLayer,
            IdempotencyConfig,
            idempotent_function,
        )

        # the sessions table: its keys are pk/sk and its TTL attribute expires_at
        persistence = DynamoDBPersistenceLayer(table_name=table_name, key_attr="pk", sort_key_attr="sk",
                                               expiry_attr="expires_at", boto3_client=client)
        config = IdempotencyConfig(expires_after_seconds=ANSWER_RECORD_S)
        self._work: Callable[[], None] = lambda: None
        self._run = idempotent_function(self._answer, data_keyword_argument="frame", persistence_store=persistence,
                                        config=config)

    def _answer(self, frame: dict) -> dict:
        self._work()
        return {"answered": frame["key"]}

    def __call__(self, key: str, work: Callable[[], None]) -> None:
        from aws_lambda_powertools.utilities.idempotency.exceptions import IdempotencyAlreadyInProgressError

        self._work = work
        try:
            self._run(frame={"key": key})
        except IdempotencyAlreadyInProgressError:
            log.info("frame %s is being answered by another invocation", key)


def source_address(event: APIGatewayWebSocketEvent) -> str | None:
    """The client's address as API Gateway saw the connection (not a header the client sets)."""
    identity = event.request_context.get("identity")
    address = identity.get("sourceIp") if isinstance(identity, dict) else None
    return address if isinstance(address, str) and address else None


def verified_user(event: APIGatewayWebSocketEvent) -> str | None:
    """The user id the REQUEST authorizer put in the context (principalId, or a userId field)."""
    context = event.request_context.get("authorizer") or {}
    return context.get("userId") or context.get("principalId")


class WebSocketFunction:
    def __init__(self, lifecycle: ConnectionLifecycle, endpoint_for: Callable[[str], ChatEndpoint],
                 answer_later: Callable[[dict], None], once: Once):
        """`lifecycle`: opens and closes connections; `endpoint_for(management_api_url)`: the
        endpoint whose sink posts to that API (built on the first frame to answer, so a container
        started by $connect does not load the chat); `answer_later(event)`: invoke this function
        asynchronously with the event; `once(key, work)`: run `work` unless `key` was run before
        (AnswerOnce)."""
        self.lifecycle = lifecycle
        self.endpoint_for = endpoint_for
        self.answer_later = answer_later
        self.once = once

    def handle(self, event: APIGatewayWebSocketEvent) -> dict:
        context = event.request_context
        if context.route_key == "$connect":
            try:
                self.lifecycle.connect(context.connection_id, verified_user(event))
            except Unauthenticated:
                return {"statusCode": 401}
        elif context.route_key == "$disconnect":
            self.lifecycle.disconnect(context.connection_id)
        elif not event.get(ANSWER_MARKER):
            self.answer_later({**event.raw_event, ANSWER_MARKER: True})
        else:
            endpoint = self.endpoint_for(f"https://{context.domain_name}/{context.stage}")
            key = f"{context.connection_id}:{context.message_id or context.request_id}"
            self.once(key, lambda: endpoint.receive(context.connection_id, event.body or "", verified_user(event),
                                                    source_address(event)))
        return {"statusCode": 200}
