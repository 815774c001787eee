"""Chat function: the API Gateway WebSocket routes ($connect, $disconnect, sendMessage, $default).

It runs the same ChatRoutes as the local server. A sendMessage is acknowledged at once and
answered by an asynchronous invocation of this same function, so an answer may stream for longer
than API Gateway's 29-second integration timeout (up to the function's own timeout).
"""

from __future__ import annotations

import json

import boto3
from aws_lambda_powertools import Logger, Metrics, Tracer

from ragchat.adapters.aws.apigw_sink import ApiGatewayConnectionSink
from ragchat.adapters.aws.dynamodb_connections import DynamoDbConnectionStore
from ragchat.bootstrap import build, build_chat
from ragchat.chat.routes import ChatRoutes
from ragchat.config import Settings

logger = Logger()
tracer = Tracer()
metrics = Metrics(namespace="ragchat")
lambda_client = boto3.client("lambda")
ASYNC_MARKER = "ragchatAnswer"
_routes: dict[str, ChatRoutes] = {}


def routes_for(event: dict) -> ChatRoutes:
    """One ChatRoutes per API endpoint, built on first use (the sink needs the endpoint URL)."""
    context = event["requestContext"]
    endpoint = f"https://{context['domainName']}/{context['stage']}"
    if endpoint not in _routes:
        settings = Settings.from_env(backend="aws")
        chat = build_chat(build(settings))
        _routes[endpoint] = ChatRoutes(chat, chat.sessions, DynamoDbConnectionStore(settings.connections_table),
                                       ApiGatewayConnectionSink(endpoint))
    return _routes[endpoint]


@logger.inject_lambda_context(correlation_id_path="requestContext.requestId")
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict, context) -> dict:
    route = event.get("requestContext", {}).get("routeKey")
    if route in ("sendMessage", "$default") and not event.get(ASYNC_MARKER):
        lambda_client.invoke(FunctionName=context.invoked_function_arn, InvocationType="Event",
                             Payload=json.dumps({**event, ASYNC_MARKER: True}).encode("utf-8"))
        return {"statusCode": 200}
    return routes_for(event).handle(event)
