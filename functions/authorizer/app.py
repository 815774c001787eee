"""$connect authorizer: a Cognito JWT passed as `?token=` -> an IAM policy with the user id in context.

The user pool's JWKS is fetched once per container and cached (PyJWT's PyJWKClient), not on
every connection.
"""

from __future__ import annotations

import os

import jwt
from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit

logger = Logger()
tracer = Tracer()
metrics = Metrics(namespace="ragchat")
REGION = os.environ.get("AWS_REGION", "")
POOL_ID = os.environ.get("RAGCHAT_USER_POOL_ID", "")
CLIENT_ID = os.environ.get("RAGCHAT_USER_POOL_CLIENT_ID", "")
ISSUER = os.environ.get("RAGCHAT_TOKEN_ISSUER") or f"https://cognito-idp.{REGION}.amazonaws.com/{POOL_ID}"
jwks = jwt.PyJWKClient(f"{ISSUER}/.well-known/jwks.json", cache_keys=True, lifespan=3600)


def verify(token: str) -> dict:
    """The token's claims if Cognito issued it for this app client and it is current; else raise."""
    key = jwks.get_signing_key_from_jwt(token)
    claims = jwt.decode(token, key.key, algorithms=["RS256"], issuer=ISSUER,
                        options={"require": ["exp", "iss", "sub", "token_use"], "verify_aud": False})
    audience = claims.get("aud") if claims["token_use"] == "id" else claims.get("client_id")
    if audience != CLIENT_ID:
        raise jwt.InvalidAudienceError("token issued to another app client")
    return claims


def policy(effect: str, resource: str, principal: str, context: dict | None = None) -> dict:
    document = {"Version": "2012-10-17",
                "Statement": [{"Action": "execute-api:Invoke", "Effect": effect, "Resource": resource}]}
    result = {"principalId": principal, "policyDocument": document}
    if context:
        result["context"] = context
    return result


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict, context) -> dict:
    token = (event.get("queryStringParameters") or {}).get("token", "")
    try:
        claims = verify(token)
    except (jwt.PyJWTError, KeyError) as exc:
        logger.info("connection refused", extra={"reason": type(exc).__name__})
        metrics.add_metric(name="ConnectionsRefused", unit=MetricUnit.Count, value=1)
        return policy("Deny", event["methodArn"], "anonymous")
    return policy("Allow", event["methodArn"], claims["sub"], {"userId": claims["sub"]})
