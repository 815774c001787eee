"""HTTP API function: the local server's FastAPI app behind Mangum (documents with ingest status,
presigned uploads, sessions, health). API Gateway's JWT authorizer has already checked the
Cognito token; the app reads the user from the verified claims."""

from __future__ import annotations

from aws_lambda_powertools import Logger, Metrics, Tracer

logger = Logger()
tracer = Tracer()
metrics = Metrics(namespace="ragchat")
_asgi = None


def asgi():
    """Built on the first request of a container: FastAPI and the adapters load then (~0.3 s once)."""
    global _asgi
    if _asgi is None:
        from mangum import Mangum

        from ragchat.bootstrap import build, build_sessions
        from ragchat.config import Settings
        from ragchat.server.app import AppContext, create_app, jwt_claims_identity
        from ragchat.server.documents import S3Documents

        settings = Settings.from_env(backend="aws")
        services = build(settings)
        context = AppContext(store=services.store, sessions=build_sessions(settings),
                             documents=S3Documents(services.store, settings.documents_bucket),
                             identity=jwt_claims_identity, serve_page=False, manage_shared=False)
        _asgi = Mangum(create_app(context), lifespan="off")
    return _asgi


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict, context) -> dict:
    return asgi()(event, context)
