"""Ingest function: S3 object events (through SQS, or raw from `sam local invoke`) -> the core pipeline."""

from __future__ import annotations

from aws_lambda_powertools import Logger, Metrics, Tracer

from ragchat.bootstrap import build_ingest_function, once
from ragchat.config import Settings

logger = Logger()
tracer = Tracer()
metrics = Metrics(namespace="ragchat")


def make_handler(runtime):
    """The Lambda handler over `runtime()`, the IngestFunction (built once per container)."""

    @logger.inject_lambda_context
    @tracer.capture_lambda_handler
    @metrics.log_metrics
    def handler(event: dict, context) -> dict:
        return runtime().handle(event, context)

    return handler


handler = make_handler(once(lambda: build_ingest_function(Settings.from_env(backend="aws"))))
