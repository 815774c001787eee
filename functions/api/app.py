"""HTTP API function: the local server's FastAPI app behind Mangum (documents with ingest status,
presigned uploads, sessions, health). API Gateway's JWT authorizer has already checked the
Cognito token; the app reads the user from the verified claims."""

from __future__ import annotations

from aws_lambda_powertools import Logger, Metrics, Tracer

from ragchat.bootstrap import build_api_function, once
from ragchat.config import Settings

logger = Logger()
tracer = Tracer()
metrics = Metrics(namespace="ragchat")


def make_handler(runtime):
    """The Lambda handler over `runtime()`, the app behind Mangum (FastAPI loads on the first
    request of a container, ~0.3 s once)."""

    @logger.inject_lambda_context
    @tracer.capture_lambda_handler
    @metrics.log_metrics
    def handler(event: dict, context) -> dict:
        return runtime()(event, context)

    return handler


handler = make_handler(once(lambda: build_api_function(Settings.from_env(backend="aws"))))
