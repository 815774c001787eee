"""Chat function: the API Gateway WebSocket routes ($connect, $disconnect, sendMessage, $default).

Frames are acknowledged at once and answered by an asynchronous invocation of this same function
(ragchat/aws_lambda/chat.py), so an answer may stream past API Gateway's 29-second limit.
"""

from __future__ import annotations

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.utilities.data_classes import APIGatewayWebSocketEvent, event_source

from ragchat.bootstrap import build_websocket_function, once
from ragchat.config import Settings

logger = Logger()
tracer = Tracer()
metrics = Metrics(namespace="ragchat")


def make_handler(runtime):
    """The Lambda handler over `runtime()`, the WebSocketFunction (built once per container)."""

    @logger.inject_lambda_context(correlation_id_path="requestContext.requestId")
    @tracer.capture_lambda_handler
    @metrics.log_metrics
    @event_source(data_class=APIGatewayWebSocketEvent)
    def handler(event: APIGatewayWebSocketEvent, context) -> dict:
        return runtime().handle(event)

    return handler


handler = make_handler(once(lambda: build_websocket_function(Settings.from_env(backend="aws"))))
