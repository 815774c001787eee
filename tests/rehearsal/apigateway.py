"""API Gateway as the rehearsal plays it, wired from template.yaml.

- The WebSocket API: `$connect` runs the REQUEST authorizer the route names (its identity source
  must be present, or the connection is refused without calling it), then the route's function;
  a client frame picks its route by the route selection expression (`$request.body.action`, else
  `$default`) and runs that route's function, with the authorizer's context, as API Gateway does.
- The Management API (`POST /{stage}/@connections/{id}`) over HTTPS, where the functions post
  frames; it records them per connection and answers 410 for a connection that is gone.
- The HTTP API: routes and their JWT authorizer as the template declares them, with API Gateway's
  payload format 2.0.
- The token issuer: a JWKS endpoint and a key that signs users' tokens, standing in for Cognito.
"""

from __future__ import annotations

import base64
import copy
import json
import threading
import time
import uuid
from dataclasses import dataclass, field

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa
from fastapi import FastAPI, Request, Response

from tests.rehearsal.lambda_service import FunctionError, LambdaService
from tests.rehearsal.template import ACCOUNT, REGION, ResolvedTemplate
from tests.support.lambdas import load_event

API_ID = "rehearsal1"


class Issuer:
    """Signs users' ID tokens and serves the JWKS that verifies them."""

    def __init__(self, client_id: str):
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.client_id, self.url = client_id, ""

    def token(self, user: str, **overrides) -> str:
        now = int(time.time())
        claims = {"sub": user, "iss": self.url, "aud": self.client_id, "token_use": "id", "iat": now,
                  "exp": now + 3600, **overrides}
        return jwt.encode(claims, self.key, algorithm="RS256", headers={"kid": "rehearsal"})

    def jwks(self) -> dict:
        public = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(self.key.public_key()))
        return {"keys": [{**public, "kid": "rehearsal", "alg": "RS256", "use": "sig"}]}

    def claims(self, token: str) -> dict:
        return jwt.decode(token, self.key.public_key(), algorithms=["RS256"], audience=self.client_id,
                          issuer=self.url)


def _identity(source: str, request: dict) -> str | None:
    """The value of a REQUEST authorizer's identity source ("route.request.querystring.token",
    "route.request.header.Auth"); API Gateway refuses the connection without calling the authorizer
    when one is absent or empty."""
    kind, _, name = source.removeprefix("route.request.").partition(".")
    if kind not in request:
        raise NotImplementedError(f"identity source {source} is not rehearsed")
    return request[kind].get(name.lower() if kind == "header" else name)


@dataclass
class Connection:
    connection_id: str
    authorizer: dict
    frames: list[dict] = field(default_factory=list)
    posted_at: list[float] = field(default_factory=list)
    open: bool = True


class ApiGateway:
    def __init__(self, resolved: ResolvedTemplate, lambdas: LambdaService, issuer: Issuer, stage: str):
        self.t, self.lambdas, self.issuer, self.stage = resolved, lambdas, issuer, stage
        self.domain = ""  # host:port of the HTTPS Management API, set once it listens
        self.connections: dict[str, Connection] = {}
        self._lock = threading.Lock()
        self.routes = self._websocket_routes()

    # -- wiring, read from the template ---------------------------------------------------------
    def _function_of(self, uri) -> str:
        """The logical id of the function an integration or authorizer URI invokes."""
        text = json.dumps(uri)
        for logical_id in self.t.of_type("AWS::Serverless::Function"):
            if f'"{logical_id}.Arn"' in text or f"${{{logical_id}.Arn}}" in text:
                return logical_id
        raise AssertionError(f"no function behind {uri}")

    def _websocket_routes(self) -> dict[str, dict]:
        integrations = {name: self._function_of(r["Properties"]["IntegrationUri"])
                        for name, r in self.t.of_type("AWS::ApiGatewayV2::Integration").items()}
        authorizers = {name: r["Properties"] for name, r in self.t.of_type("AWS::ApiGatewayV2::Authorizer").items()}
        routes = {}
        for route in self.t.of_type("AWS::ApiGatewayV2::Route").values():
            properties = route["Properties"]
            target = self.t.value(properties["Target"]).removeprefix("integrations/")
            spec = {"function": integrations[self._logical(target, integrations)]}
            if properties.get("AuthorizationType") == "CUSTOM":
                authorizer = authorizers[self._logical(self.t.value(properties["AuthorizerId"]), authorizers)]
                spec["authorizer"] = {"function": self._function_of(authorizer["AuthorizerUri"]),
                                      "identity": self._identity_sources(authorizer)}
            routes[properties["RouteKey"]] = spec
        return routes

    def _identity_sources(self, authorizer: dict) -> list[str]:
        """The authorizer's identity sources; none when the template leaves them out (AWS::NoValue)."""
        sources = self.t.value(authorizer.get("IdentitySource", []))
        return sources if isinstance(sources, list) else []

    @staticmethod
    def _logical(value: str, known: dict) -> str:
        # a Ref to an integration or authorizer resolves to its logical id in the rehearsal
        if value not in known:
            raise AssertionError(f"the template names {value}, which it does not define")
        return value

    def _selection(self, body: str) -> str:
        expression = self.t.value(next(iter(self.t.of_type("AWS::ApiGatewayV2::Api").values()))["Properties"]
                                  ["RouteSelectionExpression"])
        assert expression == "$request.body.action", expression
        try:
            action = json.loads(body).get("action")
        except (ValueError, AttributeError):
            action = None
        return action if isinstance(action, str) and action in self.routes else "$default"

    # -- the WebSocket API ----------------------------------------------------------------------
    def _context(self, route_key: str, connection_id: str, event_type: str) -> dict:
        return {"routeKey": route_key, "eventType": event_type, "connectionId": connection_id,
                "messageId": base64.b64encode(uuid.uuid4().bytes[:10]).decode(), "requestId": uuid.uuid4().hex,
                "extendedRequestId": uuid.uuid4().hex, "stage": self.stage, "apiId": API_ID,
                "domainName": self.domain, "connectedAt": int(time.time() * 1000),
                "requestTimeEpoch": int(time.time() * 1000), "messageDirection": "IN",
                "identity": {"sourceIp": "203.0.113.10"}}

    def authorizer_event(self, connection_id: str, token: str | None, headers: dict | None = None,
                         query: dict | None = None) -> dict:
        """What API Gateway hands a REQUEST authorizer on $connect."""
        event = copy.deepcopy(load_event("ws-connect.json"))
        if query is None:
            query = {"token": token} if token is not None else {}
        event.update(type="REQUEST", queryStringParameters=query,
                     headers=headers or {},
                     methodArn=f"arn:aws:execute-api:{REGION}:{ACCOUNT}:{API_ID}/{self.stage}/$connect",
                     requestContext=self._context("$connect", connection_id, "CONNECT"))
        return event

    def connect_event(self, connection_id: str, authorizer: dict, token: str | None = None,
                      headers: dict | None = None) -> dict:
        """The $connect route's event once the authorizer allowed it (its context attached)."""
        return {"requestContext": {**self._context("$connect", connection_id, "CONNECT"), "authorizer": authorizer},
                "headers": headers or {}, "queryStringParameters": {"token": token} if token is not None else {},
                "isBase64Encoded": False}

    def message_event(self, connection_id: str, body: str, authorizer: dict) -> dict:
        """A client frame's event, on the route its action selects."""
        return {"requestContext": {**self._context(self._selection(body), connection_id, "MESSAGE"),
                                   "authorizer": authorizer}, "body": body, "isBase64Encoded": False}

    def connect(self, token: str | None, headers: dict | None = None, visitor: str | None = None) -> str | None:
        """Open a connection the way a browser's `new WebSocket(url?token=...)` (or the widget's
        `?visitor=...`) does, with the browser's headers (Origin); None if refused."""
        route = self.routes["$connect"]
        connection_id = base64.b64encode(uuid.uuid4().bytes[:12]).decode()
        authorizer: dict = {}
        query = {k: v for k, v in (("token", token), ("visitor", visitor)) if v is not None}
        if "authorizer" in route:
            request = {"querystring": query, "header": {k.lower(): v for k, v in (headers or {}).items()}}
            if any(not _identity(source, request) for source in route["authorizer"]["identity"]):
                return None  # an identity source is missing or empty: 401 without calling the authorizer
            policy = self.lambdas.functions[route["authorizer"]["function"]].invoke(
                self.authorizer_event(connection_id, token, headers, query))
            statements = policy["policyDocument"]["Statement"]
            if not any(s["Effect"] == "Allow" for s in statements) or any(s["Effect"] == "Deny" for s in statements):
                return None
            authorizer = {"principalId": policy["principalId"], **policy.get("context", {})}
        response = self.lambdas.functions[route["function"]].invoke(
            self.connect_event(connection_id, authorizer, token, headers))
        if response.get("statusCode") != 200:
            return None
        with self._lock:
            self.connections[connection_id] = Connection(connection_id, authorizer)
        return connection_id

    def send(self, connection_id: str, body: str) -> dict:
        event = self.message_event(connection_id, body, self.connections[connection_id].authorizer)
        return self.lambdas.functions[self.routes[event["requestContext"]["routeKey"]]["function"]].invoke(event)

    def disconnect(self, connection_id: str) -> None:
        connection = self.connections[connection_id]
        connection.open = False
        event = {"requestContext": {**self._context("$disconnect", connection_id, "DISCONNECT"),
                                    "authorizer": connection.authorizer}, "isBase64Encoded": False}
        self.lambdas.functions[self.routes["$disconnect"]["function"]].invoke(event)

    # -- the Management API and the issuer's keys (one app, over HTTPS) -------------------------
    def app(self) -> FastAPI:
        app = FastAPI()

        @app.get("/.well-known/jwks.json")
        def jwks() -> dict:
            return self.issuer.jwks()

        @app.post("/{stage}/@connections/{connection_id:path}")
        async def post(stage: str, connection_id: str, request: Request) -> Response:
            auth = request.headers.get("authorization", "")
            if "/execute-api/aws4_request" not in auth:
                return Response(json.dumps({"message": "Forbidden"}), status_code=403)
            connection = self.connections.get(connection_id)
            if stage != self.stage or connection is None or not connection.open:
                return Response(json.dumps({"message": "Gone"}), status_code=410,
                                headers={"x-amzn-ErrorType": "GoneException"})
            data = await request.body()
            if len(data) > 32 * 1024:  # one frame at most; larger is closed with 1009 by API Gateway
                return Response(json.dumps({"message": "Payload too large"}), status_code=413,
                                headers={"x-amzn-ErrorType": "PayloadTooLargeException"})
            with self._lock:
                connection.frames.append(json.loads(data))
                connection.posted_at.append(time.perf_counter())
            return Response(status_code=200)

        return app

    # -- the HTTP API --------------------------------------------------------------------------
    def http(self, method: str, path: str, token: str | None = None, body: dict | None = None) -> tuple[int, dict]:
        """One request to the HTTP API: the route the template declares, its JWT authorizer, the
        function behind it with a payload format 2.0 event."""
        function, needs_auth = self._http_route(method, path)
        claims = None
        if needs_auth:
            try:
                claims = self.issuer.claims(token or "")
            except jwt.PyJWTError:
                return 401, {"message": "Unauthorized"}
        try:
            response = self.lambdas.functions[function].invoke(self.http_event(method, path, token, claims, body))
        except FunctionError:
            return 500, {"message": "Internal Server Error"}
        body = response.get("body") or "{}"
        if response.get("isBase64Encoded"):
            body = base64.b64decode(body).decode()
        try:
            return response["statusCode"], json.loads(body)
        except ValueError:  # not JSON: the widget's script
            return response["statusCode"], {"text": body, "headers": response.get("headers", {})}

    @staticmethod
    def http_event(method: str, path: str, token: str | None, claims: dict | None, body: dict | None = None) -> dict:
        """A payload format 2.0 event, with the JWT authorizer's claims when the route has one."""
        event = copy.deepcopy(load_event("http-list-documents.json"))
        event["rawPath"] = event["requestContext"]["http"]["path"] = path
        event["requestContext"]["http"]["method"] = method
        event["routeKey"] = f"{method} {path}"
        event["body"] = json.dumps(body) if body is not None else None
        bearer = {"authorization": f"Bearer {token}"} if token else {}
        event["headers"] = {"content-type": "application/json", **bearer}
        if claims is None:
            event["requestContext"].pop("authorizer", None)
        else:
            event["requestContext"]["authorizer"] = {"jwt": {"claims": claims, "scopes": None}}
        return event

    def _http_route(self, method: str, path: str) -> tuple[str, bool]:
        api = next(iter(self.t.of_type("AWS::Serverless::HttpApi").values()))["Properties"]
        default_auth = bool(api.get("Auth", {}).get("DefaultAuthorizer"))
        best = None
        for logical_id, function in self.t.of_type("AWS::Serverless::Function").items():
            for spec in function["Properties"].get("Events", {}).values():
                if spec["Type"] != "HttpApi":
                    continue
                route = spec["Properties"]
                if route["Method"] not in (method, "ANY"):
                    continue
                pattern = route["Path"]
                exact = pattern == path
                greedy = pattern.endswith("/{proxy+}") and path.startswith(pattern.removesuffix("{proxy+}"))
                if exact or greedy:
                    needs_auth = route.get("Auth", {}).get("Authorizer") != "NONE" and default_auth
                    if best is None or exact:
                        best = (logical_id, needs_auth)
        if best is None:
            raise AssertionError(f"the HTTP API has no route for {method} {path}")
        return best
