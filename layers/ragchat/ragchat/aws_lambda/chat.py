"""The chat function's side of API Gateway's WebSocket API.

`$connect` records the user the authorizer verified, `$disconnect` forgets the connection. A
client frame is acknowledged at once and answered by an asynchronous invocation of this same
function, so an answer may stream for longer than API Gateway's 29-second integration timeout
(up to the function's own timeout).
"""

from __future__ import annotations

from collections.abc import Callable

from aws_lambda_powertools.utilities.data_classes import APIGatewayWebSocketEvent

from ragchat.chat.endpoint import ChatEndpoint
from ragchat.errors import Unauthenticated

ANSWER_MARKER = "ragchatAnswer"  # set on the event this function sends itself to answer a frame


def verified_user(event: APIGatewayWebSocketEvent) -> str | None:
    """The user id the REQUEST authorizer put in the context (principalId, or a userId field)."""
    context = event.request_context.get("authorizer") or {}
    return context.get("userId") or context.get("principalId")


class WebSocketFunction:
    def __init__(self, endpoint_for: Callable[[str], ChatEndpoint], answer_later: Callable[[dict], None]):
        """`endpoint_for(management_api_url)`: the endpoint whose sink posts to that API;
        `answer_later(event)`: invoke this function asynchronously with the event."""
        self.endpoint_for = endpoint_for
        self.answer_later = answer_later

    def handle(self, event: APIGatewayWebSocketEvent) -> dict:
        context = event.request_context
        endpoint = self.endpoint_for(f"https://{context.domain_name}/{context.stage}")
        if context.route_key == "$connect":
            try:
                endpoint.connect(context.connection_id, verified_user(event))
            except Unauthenticated:
                return {"statusCode": 401}
        elif context.route_key == "$disconnect":
            endpoint.disconnect(context.connection_id)
        elif not event.get(ANSWER_MARKER):
            self.answer_later({**event.raw_event, ANSWER_MARKER: True})
        else:
            endpoint.receive(context.connection_id, event.body or "", verified_user(event))
        return {"statusCode": 200}
