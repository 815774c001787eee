"""The $connect authorizer against a real JWKS endpoint served on loopback (a FAKE Cognito issuer
with a key made here): valid, expired, foreign and malformed tokens; the JWKS is fetched once."""

import json
import time

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from fastapi import FastAPI

from ragchat.access import visitor_id
from ragchat.bootstrap import build_authorizer
from ragchat.config import Settings
from tests.support.lambdas import LambdaContext, load_event, load_function
from tests.support.servers import running

CLIENT_ID = "app-client-1"


def jwk_of(private_key, kid: str) -> dict:
    data = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(private_key.public_key()))
    return {**data, "kid": kid, "alg": "RS256", "use": "sig"}


@pytest.fixture
def authorizer(monkeypatch, request):
    """The function's handler over an Authorizer that trusts a FAKE issuer on loopback; indirect
    parametrisation may pass extra settings (public chat)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    app, fetches = FastAPI(), []

    @app.get("/.well-known/jwks.json")
    def jwks():
        fetches.append(time.time())
        return {"keys": [jwk_of(key, "k1")]}

    with running(app) as address:
        issuer = f"http://{address}"
        monkeypatch.setenv("POWERTOOLS_SERVICE_NAME", "ragchat-authorizer")
        runtime = build_authorizer(Settings(token_issuer=issuer, user_pool_client_id=CLIENT_ID,
                                            **getattr(request, "param", {})))
        handler = load_function("authorizer").make_handler(lambda: runtime)

        def token(**overrides) -> str:
            claims = {"sub": "user-alice", "iss": issuer, "aud": CLIENT_ID, "token_use": "id",
                      "exp": int(time.time()) + 600, "iat": int(time.time())}
            claims.update(overrides)
            signing_key = overrides.pop("_key", key) if "_key" in overrides else key
            claims.pop("_key", None)
            return jwt.encode(claims, signing_key, algorithm="RS256", headers={"kid": "k1"})

        yield handler, token, fetches


def connect_event(token: str | None, **query) -> dict:
    event = load_event("ws-connect.json")
    event["methodArn"] = "arn:aws:execute-api:eu-west-1:123456789012:abc123/dev/$connect"
    event["type"] = "REQUEST"
    event["queryStringParameters"] = {**({"token": token} if token is not None else {}), **query}
    return event


def test_authorizer_allows_a_valid_token_and_caches_the_jwks(authorizer):
    handler, token, fetches = authorizer
    for _ in range(3):
        result = handler(connect_event(token()), LambdaContext())
        assert result["policyDocument"]["Statement"][0]["Effect"] == "Allow"
        assert result["context"] == {"userId": "user-alice", "kind": "user"} and result["principalId"] == "user-alice"
    assert len(fetches) == 1


@pytest.mark.parametrize("case", ["expired", "other_client", "other_key", "garbage", "missing", "access_token_other"])
def test_authorizer_denies_bad_tokens(authorizer, case):
    handler, token, _ = authorizer
    other_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    tokens = {
        "expired": lambda: token(exp=int(time.time()) - 10),
        "other_client": lambda: token(aud="someone-else"),
        "other_key": lambda: token(_key=other_key),
        "garbage": lambda: "not.a.jwt",
        "missing": lambda: None,
        "access_token_other": lambda: token(token_use="access", client_id="someone-else"),
    }
    result = handler(connect_event(tokens[case]()), LambdaContext())
    assert result["policyDocument"]["Statement"][0]["Effect"] == "Deny"
    assert "context" not in result


PUBLIC = {"public_chat": True, "allowed_origins": "https://www.example.com, https://docs.example.com"}
SECRET = "k7Qm2xVb9RtLw4NcPz8YhA"


def visitor_event(origin: str | None, secret: str = SECRET, **headers) -> dict:
    event = connect_event(None, visitor=secret)
    event["headers"] = {k: v for k, v in {"Host": "abc123.execute-api.eu-west-1.amazonaws.com", "Origin": origin,
                                          **headers}.items() if v is not None}
    return event


@pytest.mark.parametrize("authorizer", [PUBLIC], indirect=True)
def test_authorizer_public_allows_a_visitor_from_an_allowed_origin_as_a_hash_of_its_id(authorizer):
    handler, _, _ = authorizer
    result = handler(visitor_event("https://docs.example.com"), LambdaContext())
    assert result["policyDocument"]["Statement"][0]["Effect"] == "Allow"
    assert result["principalId"] == visitor_id(SECRET) and SECRET not in json.dumps(result)
    assert result["context"] == {"userId": visitor_id(SECRET), "kind": "visitor"}


@pytest.mark.parametrize("authorizer", [PUBLIC], indirect=True)
@pytest.mark.parametrize("case", ["other_origin", "no_origin", "lookalike_origin", "short_id", "no_id", "bad_token"])
def test_authorizer_public_denies_visitors_from_elsewhere_and_never_downgrades_a_bad_token(authorizer, case):
    handler, _, _ = authorizer
    events = {
        "other_origin": lambda: visitor_event("https://attacker.example"),
        "no_origin": lambda: visitor_event(None),
        "lookalike_origin": lambda: visitor_event("https://www.example.com.attacker.example"),
        "short_id": lambda: visitor_event("https://www.example.com", secret="guessable"),
        "no_id": lambda: visitor_event("https://www.example.com", secret=""),
        "bad_token": lambda: {**visitor_event("https://www.example.com"),
                              "queryStringParameters": {"token": "not.a.jwt", "visitor": SECRET}},
    }
    result = handler(events[case](), LambdaContext())
    assert result["policyDocument"]["Statement"][0]["Effect"] == "Deny" and "context" not in result


def test_authorizer_private_denies_a_visitor_even_from_an_allowed_looking_origin(authorizer):
    handler, _, _ = authorizer  # public chat off: the default
    result = handler(visitor_event("https://www.example.com"), LambdaContext())
    assert result["policyDocument"]["Statement"][0]["Effect"] == "Deny"


@pytest.mark.parametrize("authorizer", [PUBLIC], indirect=True)
def test_authorizer_public_still_lets_users_in_with_their_token_from_anywhere(authorizer):
    handler, token, _ = authorizer
    event = {**visitor_event("https://attacker.example"), "queryStringParameters": {"token": token()}}
    result = handler(event, LambdaContext())
    assert result["principalId"] == "user-alice" and result["context"]["kind"] == "user"
