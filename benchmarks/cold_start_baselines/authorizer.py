"""Baseline of the authorizer: verify the Cognito ID token in the query string against the user
pool's JWKS (fetched once per container) and answer an Allow policy for the user."""

import os

import jwt
from aws_lambda_powertools import Logger, Metrics, Tracer

logger, tracer, metrics = Logger(), Tracer(), Metrics(namespace="ragchat")
ISSUER = os.environ.get("RAGCHAT_TOKEN_ISSUER") or (
    f"https://cognito-idp.{os.environ['AWS_REGION']}.amazonaws.com/{os.environ['RAGCHAT_USER_POOL_ID']}")
JWKS = jwt.PyJWKClient(f"{ISSUER}/.well-known/jwks.json", cache_keys=True)


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event, context):
    token = (event.get("queryStringParameters") or {}).get("token", "")
    claims = jwt.decode(token, JWKS.get_signing_key_from_jwt(token).key, algorithms=["RS256"],
                        audience=os.environ["RAGCHAT_USER_POOL_CLIENT_ID"], issuer=ISSUER)
    resource = event["methodArn"].rsplit("/", 2)[0] + "/*"
    return {"principalId": claims["sub"], "context": {"userId": claims["sub"]},
            "policyDocument": {"Version": "2012-10-17", "Statement": [
                {"Action": "execute-api:Invoke", "Effect": "Allow", "Resource": [resource]}]}}
