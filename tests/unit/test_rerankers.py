"""The two rerankers against their services' request and response shapes: Bedrock's Rerank
(botocore's Stubber checks each request against the real API model) and a Cohere-style
/v1/rerank endpoint (a FAKE one, served over a real socket)."""

from __future__ import annotations

import math

import boto3
import pytest
from botocore.stub import ANY, Stubber
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from ragchat.adapters.aws.bedrock_reranker import BedrockReranker
from ragchat.adapters.http_reranker import HttpReranker
from tests.support.servers import running


def bedrock_client():
    return boto3.client("bedrock-agent-runtime", region_name="us-west-2", aws_access_key_id="test",
                        aws_secret_access_key="test")


def test_bedrock_reranker_sends_inline_text_sources_and_maps_scores_back():
    client = bedrock_client()
    reranker = BedrockReranker("amazon.rerank-v1:0", client=client)
    with Stubber(client) as stub:
        stub.add_response("rerank", {"results": [{"index": 2, "relevanceScore": 0.9},
                                                 {"index": 0, "relevanceScore": 0.4}]},
                          {"queries": [{"type": "TEXT", "textQuery": {"text": "which is best?"}}],
                           "sources": [{"type": "INLINE", "inlineDocumentSource": {
                               "type": "TEXT", "textDocument": {"text": text}}} for text in ("a", "b", "c")],
                           "rerankingConfiguration": {"type": "BEDROCK_RERANKING_MODEL",
                                                      "bedrockRerankingConfiguration": {
                                                          "numberOfResults": 3, "modelConfiguration": {
                                                              "modelArn": "arn:aws:bedrock:us-west-2::foundation-model/"
                                                                          "amazon.rerank-v1:0"}}}})
        scores = reranker.rerank("which is best?", ["a", "b", "c"], timeout_s=1.0)
    assert scores[0] == 0.4 and scores[2] == 0.9
    assert math.isnan(scores[1])  # a passage the model left out: the retriever keeps the fused order


def test_bedrock_reranker_cuts_texts_to_the_api_limit_and_never_sends_an_empty_one():
    client = bedrock_client()
    with Stubber(client) as stub:
        stub.add_response("rerank", {"results": [{"index": 0, "relevanceScore": 0.1},
                                                 {"index": 1, "relevanceScore": 0.2}]},
                          {"queries": ANY, "rerankingConfiguration": ANY, "sources": [
                              {"type": "INLINE", "inlineDocumentSource": {"type": "TEXT", "textDocument": {
                                  "text": "x" * 32_000}}},
                              {"type": "INLINE", "inlineDocumentSource": {"type": "TEXT", "textDocument": {
                                  "text": " "}}}]})
        assert BedrockReranker(client=client).rerank("q", ["x" * 40_000, ""], timeout_s=1.0) == [0.1, 0.2]


def test_bedrock_reranker_raises_what_the_service_answers():
    client = bedrock_client()
    with Stubber(client) as stub:
        stub.add_client_error("rerank", service_error_code="AccessDeniedException", http_status_code=403)
        with pytest.raises(client.exceptions.AccessDeniedException):
            BedrockReranker(client=client).rerank("q", ["a", "b"], timeout_s=1.0)


@pytest.fixture
def endpoint():
    """A FAKE Cohere-style rerank endpoint: scores a passage by the query words it contains."""
    app, seen = FastAPI(), []

    @app.post("/v1/rerank")
    async def rerank(request: Request):
        body = await request.json()
        seen.append((body, request.headers.get("authorization")))
        if body.get("model") == "broken":
            return JSONResponse({"message": "model not loaded"}, status_code=503)
        words = set(body["query"].lower().split())
        scored = [{"index": i, "relevance_score": len(words & set(d.lower().split())) / len(words)}
                  for i, d in enumerate(body["documents"])]
        scored.sort(key=lambda r: -r["relevance_score"])
        return {"id": "r1", "results": scored[: body.get("top_n", len(scored))], "meta": {}}

    with running(app) as address:
        yield f"http://{address}", seen


def test_http_reranker_speaks_the_cohere_shape(endpoint):
    url, seen = endpoint
    reranker = HttpReranker(url + "/v1", model="bge-reranker-v2-m3", api_key="secret")
    scores = reranker.rerank("glaciers carve valleys", ["lava flows", "glaciers carve deep valleys"], timeout_s=2)
    assert scores == [0.0, 1.0]
    body, authorization = seen[0]
    assert body == {"query": "glaciers carve valleys", "documents": ["lava flows", "glaciers carve deep valleys"],
                    "top_n": 2, "model": "bge-reranker-v2-m3"}
    assert authorization == "Bearer secret"


def test_http_reranker_raises_on_an_error_answer(endpoint):
    url, _ = endpoint
    with pytest.raises(RuntimeError, match="503"):
        HttpReranker(url, model="broken").rerank("q", ["a", "b"], timeout_s=2)
