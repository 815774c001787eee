"""Reranking through any Cohere-style rerank endpoint: POST {base}/v1/rerank with
{"model", "query", "documents": [...], "top_n"}, answered by {"results": [{"index",
"relevance_score"}, ...]}. Cohere's API speaks it, and so do self-hosted servers such as llama.cpp's
(`--reranking`) and vLLM; a local cross-encoder behind one of them reranks with no cloud account.
(Text Embeddings Inference answers on /rerank with another shape.) httpx, from the `local` extra,
as the OpenAI-compatible generator."""

from __future__ import annotations

from collections.abc import Sequence


class HttpReranker:
    def __init__(self, base_url: str, model: str = "", api_key: str = "", transport=None):
        """`transport`: an httpx transport to use instead of the network."""
        import httpx

        base = base_url.rstrip("/").removesuffix("/v1/rerank").removesuffix("/v1")
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self.client = httpx.Client(base_url=base, headers=headers, transport=transport)
        self.model = model
        self.name = f"http:{base}/v1/rerank"

    def rerank(self, query: str, passages: Sequence[str], timeout_s: float) -> list[float]:
        if not passages:
            return []
        body = {"query": query, "documents": list(passages), "top_n": len(passages)}
        if self.model:
            body["model"] = self.model
        response = self.client.post("/v1/rerank", json=body, timeout=timeout_s)
        if response.status_code != 200:
            raise RuntimeError(f"the rerank endpoint answered {response.status_code}: {response.text[:200]}")
        scores = [float("nan")] * len(passages)  # a passage left out: the retriever keeps the fused order
        for result in response.json()["results"]:
            scores[int(result["index"])] = float(result["relevance_score"])
        return scores

