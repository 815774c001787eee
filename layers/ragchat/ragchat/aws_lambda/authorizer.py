"""The WebSocket `$connect` authorizer: a Cognito JWT passed as `?token=` becomes an IAM policy
with the user id in its context, or a Deny.

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


class Authorizer:
    def __init__(self, verifier: TokenVerifier):
        self.verifier = verifier

    def handle(self, event: APIGatewayAuthorizerRequestEvent) -> dict:
        # API Gateway calls the authorizer only when the identity source (?token=) is present
        token = (event.get("queryStringParameters") or {}).get("token", "")
        try:
            claims = self.verifier.verify(token)
        except (jwt.PyJWTError, KeyError) as exc:
            logger.info("connection refused", extra={"reason": type(exc).__name__})
            metrics.add_metric(name="ConnectionsRefused", unit=MetricUnit.Count, value=1)
            response = APIGatewayAuthorizerResponseWebSocket.from_route_arn(event.method_arn, "anonymous")
            response.deny_all_routes()
            return response.asdict()
        response = APIGatewayAuthorizerResponseWebSocket.from_route_arn(
            event.method_arn, claims["sub"], context={"userId": claims["sub"]})
        response.allow_route("$connect")  # the only route an authorizer guards in a WebSocket API
        return response.asdict()
