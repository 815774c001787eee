"""The FAKE OpenSearch Serverless collection (tests/fake_opensearch.py) behind real HTTP, so the built
functions' opensearch-py client, its SigV4 signing for `aoss` and its error handling all run. A
request not signed for the `aoss` service is refused with 403, as the collection refuses it."""

from __future__ import annotations

import json

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response

from tests.fake_opensearch import EngineError, FakeOpenSearchEngine


def app_for(engine: FakeOpenSearchEngine) -> FastAPI:
    app = FastAPI()

    @app.middleware("http")
    async def signed_for_aoss(request: Request, call_next):
        auth = request.headers.get("authorization", "")
        if not (auth.startswith("AWS4-HMAC-SHA256 Credential=") and "/aoss/aws4_request" in auth):
            return JSONResponse({"message": "Forbidden: not signed for aoss"}, status_code=403)
        return await call_next(request)

    @app.exception_handler(EngineError)
    async def service_error(_: Request, error: EngineError) -> JSONResponse:
        return JSONResponse(error.body(), status_code=error.status)

    async def body_of(request: Request) -> dict:
        raw = await request.body()
        return json.loads(raw) if raw else {}

    @app.put("/{index}")
    async def create(index: str, request: Request):
        return engine.create_index(index, await body_of(request))

    @app.head("/{index}")
    async def exists(index: str):
        return Response(status_code=200 if engine.index_exists(index) else 404)

    @app.get("/{index}/_mapping")
    async def mapping(index: str):
        return engine.get_mapping(index)

    @app.post("/_bulk")
    async def bulk(request: Request):
        raw = await request.body()
        return engine.bulk([json.loads(line) for line in raw.decode().splitlines() if line.strip()], len(raw))

    @app.api_route("/{index}/_count", methods=["GET", "POST"])
    async def count(index: str):
        return engine.count(index)

    @app.post("/{index}/_search/point_in_time")
    async def create_pit(index: str, keep_alive: str):
        return engine.create_pit(index, keep_alive)

    @app.delete("/_search/point_in_time")
    async def delete_pit(request: Request):
        return engine.delete_pit((await body_of(request))["pit_id"])

    @app.api_route("/_search", methods=["GET", "POST"])
    async def search_pit(request: Request):
        return engine.search(None, await body_of(request))

    @app.api_route("/{index}/_search", methods=["GET", "POST"])
    async def search(index: str, request: Request):
        return engine.search(index, await body_of(request))

    return app
