"""The WebSocket `$connect` authorizer: a Cognito JWT passed as `?token=` becomes an IAM policy
with the user id in its context, or a Deny. With public chat on, a connection without a token is a
visitor's, allowed only from a page of an allowed origin (the `Origin` header, which browsers set
and pages cannot) and only with the `?visitor=` id its widget keeps; its principal is
`visitor:<hash of that id>` (ragchat/access.py).

The user pool's JWKS is fetched once per container and cached (PyJWT's PyJWKClient), not on
every connection.
"""

from __future__ import annotations

import jwt
from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.data_classes.api_gateway_authorizer_event import (
    APIGatewayAuthorizerRequestEvent,
    APIGatewayAuthorizerResponseWebSocket,
)

from ragchat.access import visitor_id
from ragchat.origins import origin_allowed

logger = Logger(child=True)
metrics = Metrics(namespace="ragchat")


class TokenVerifier:
    def __init__(self, issuer: str, client_id: str, jwks: jwt.PyJWKClient | None = None):
        self.issuer = issuer
        self.client_id = client_id
        self.jwks = jwks or jwt.PyJWKClient(f"{issuer}/.well-known/jwks.json", cache_keys=True, lifespan=3600)

    def verify(self, token: str) -> dict:
        """The token's claims if Cognito issued it for this app client and it is current; else raise."""
        key = self.jwks.get_signing_key_from_jwt(token)
        claims = jwt.decode(token, key.key, algorithms=["RS256"], issuer=self.issuer,
                            options={"require": ["exp", "iss", "sub", "token_use"], "verify_aud": False})
        audience = claims.get("aud") if claims["token_use"] == "id" else claims.get("client_id")
        if audience != self.client_id:
            raise jwt.InvalidAudienceError("token issued to another app client")
        return claims


def _origin(event: dict) -> str | None:
    headers = event.get("headers") or {}
    return next((value for name, value in headers.items() if name.lower() == "origin"), None)


class Authorizer:
    def __init__(self, verifier: TokenVerifier, visitor_origins: frozenset[str] = frozenset()):
        """`visitor_origins`: the sites whose pages may connect as visitors (none: public chat off)."""
        self.verifier = verifier
        self.visitor_origins = visitor_origins

    def handle(self, event: APIGatewayAuthorizerRequestEvent) -> dict:
        # With public chat off, API Gateway calls the authorizer only when ?token= is present (the
        # identity source); with it on there is no identity source, so every connection comes here.
        query = event.get("queryStringParameters") or {}
        token = query.get("token", "")
        if not token and self.visitor_origins:
            return self._visitor(event, query.get("visitor", ""))
        try:
            claims = self.verifier.verify(token)
        except (jwt.PyJWTError, KeyError) as exc:
            return self._deny(event, type(exc).__name__)
        return self._allow(event, claims["sub"], "user")

    def _visitor(self, event: APIGatewayAuthorizerRequestEvent, secret: str) -> dict:
        if not origin_allowed(_origin(event), self.visitor_origins):
            return self._deny(event, "OriginNotAllowed")
        try:
            principal = visitor_id(secret)
        except ValueError:
            return self._deny(event, "VisitorIdMalformed")
        return self._allow(event, principal, "visitor")

    @staticmethod
    def _allow(event: APIGatewayAuthorizerRequestEvent, principal: str, kind: str) -> dict:
        response = APIGatewayAuthorizerResponseWebSocket.from_route_arn(
            event.method_arn, principal, context={"userId": principal, "kind": kind})
        response.allow_route("$connect")  # the only route an authorizer guards in a WebSocket API
        return response.asdict()

    @staticmethod
    def _deny(event: APIGatewayAuthorizerRequestEvent, reason: str) -> dict:
        logger.info("connection refused", extra={"reason": reason})
        metrics.add_metric(name="ConnectionsRefused", unit=MetricUnit.Count, value=1)
        response = APIGatewayAuthorizerResponseWebSocket.from_route_arn(event.method_arn, "anonymous")
        response.deny_all_routes()
        return response.asdict()
