"""The HTTP API function: the local server's FastAPI app behind Mangum. API Gateway's JWT
authorizer has already verified the Cognito token; the app reads the user from its claims."""

from __future__ import annotations

from starlette.requests import HTTPConnection

from ragchat.errors import Unauthenticated


def jwt_claims_identity(connection: HTTPConnection) -> str:
    """The `sub` claim API Gateway's JWT authorizer verified (Mangum passes the event along)."""
    event = connection.scope.get("aws.event") or {}
    claims = ((event.get("requestContext") or {}).get("authorizer") or {}).get("jwt", {}).get("claims") or {}
    if not claims.get("sub"):
        raise Unauthenticated("no verified token")
    return claims["sub"]
