"""$connect authorizer: a Cognito JWT passed as `?token=` -> an IAM policy with the user id in context."""

from __future__ import annotations

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.utilities.data_classes import event_source
from aws_lambda_powertools.utilities.data_classes.api_gateway_authorizer_event import (
    APIGatewayAuthorizerRequestEvent,
)

from ragchat.bootstrap import build_authorizer, once
from ragchat.config import Settings

logger = Logger()
tracer = Tracer()
metrics = Metrics(namespace="ragchat")


def make_handler(runtime):
    """The Lambda handler over `runtime()`, the Authorizer (its JWKS cached per container)."""

    @logger.inject_lambda_context
    @tracer.capture_lambda_handler
    @metrics.log_metrics
    @event_source(data_class=APIGatewayAuthorizerRequestEvent)
    def handler(event: APIGatewayAuthorizerRequestEvent, context) -> dict:
        return runtime().handle(event)

    return handler


handler = make_handler(once(lambda: build_authorizer(Settings.from_env())))
