"""The `ragchat` command end to end: real parsers, real store, real embedding model."""

import json
import subprocess
import sys

import pytest

from ragchat.cli import main


@pytest.fixture
def cli(real_embedder, tmp_path, capsys):
    """Run `ragchat ...` in-process against a data dir, sharing one loaded model across calls."""
    data = tmp_path / "data"

    def run(*args: str) -> tuple[int, str]:
        code = main([*args, "--data", str(data)], embedder=real_embedder)
        return code, capsys.readouterr().out

    return run


@pytest.fixture
def docs(tmp_path):
    root = tmp_path / "docs"
    root.mkdir()
    (root / "deploy.md").write_text("# Deploying\n\n## With SAM\n\nRun sam build and sam deploy --guided.\n")
    (root / "pets.txt").write_text("Our office cat is called Miso and sleeps on the router.")
    (root / "oncall.html").write_text("<h1>On-call</h1><p>Page the database team when replication lags.</p>")
    return root


def search(cli, query: str, *extra: str) -> list[dict]:
    code, out = cli("search", query, "--json", "-k", "3", *extra)
    assert code == 0
    return json.loads(out)


def test_cli_store_follows_the_folder_through_edit_and_delete(cli, docs):
    code, out = cli("ingest", str(docs))
    assert code == 0
    assert "3 seen, 3 added" in out and "3 written" in out

    assert search(cli, "what is the cat called")[0]["path"] == "pets.txt"
    top = search(cli, "how do I deploy with sam")[0]
    assert (top["path"], top["title"], top["heading_path"]) == ("deploy.md", "Deploying", ["Deploying", "With SAM"])

    (docs / "pets.txt").write_text("Our office dog is called Biscuit and guards the printer.")
    (docs / "oncall.html").unlink()
    code, out = cli("ingest", str(docs))
    assert "1 updated, 1 unchanged, 1 removed" in out
    assert "1 written, 2 deleted, 2 in the store" in out

    hits = search(cli, "office pet name")
    assert "Biscuit" in hits[0]["text"]
    assert all("Miso" not in h["text"] for h in hits)
    assert all(h["path"] != "oncall.html" for h in search(cli, "database replication lag"))

    code, out = cli("ingest", str(docs))
    assert "0 written, 0 deleted" in out


def test_cli_search_filters_by_type_and_prefix(cli, docs):
    cli("ingest", str(docs))
    assert {h["doc_type"] for h in search(cli, "cat deploy database", "--type", "html")} == {"html"}
    assert {h["path"] for h in search(cli, "cat deploy database", "--path-prefix", "dep")} == {"deploy.md"}


def test_cli_ingest_reports_skipped_files_and_bad_paths(cli, docs, tmp_path):
    (docs / "broken.docx").write_bytes(b"not a zip")
    code, out = cli("ingest", str(docs))
    assert code == 0 and "1 skipped, 0 failed" in out and "broken.docx: unreadable DOCX" in out
    code, _ = cli("ingest", str(tmp_path / "missing"))
    assert code == 2


def test_cli_ingest_single_file(cli, docs):
    _code, out = cli("ingest", str(docs / "deploy.md"))
    assert "1 seen, 1 added" in out


def test_cli_documents_lists_status(cli, docs):
    (docs / "empty.md").write_text("")
    cli("ingest", str(docs))
    _code, out = cli("documents", "--json")
    statuses = {d["path"]: (d["status"], d["chunk_count"]) for d in json.loads(out)}
    assert statuses["empty.md"] == ("skipped", 0)
    assert statuses["deploy.md"] == ("indexed", 1)


def test_cli_eval_retrieval_on_a_small_beir_dataset(cli, tmp_path):
    dataset = tmp_path / "tiny"
    (dataset / "qrels").mkdir(parents=True)
    corpus = [("d1", "Volcanoes", "Lava erupts from volcanoes when magma rises."),
              ("d2", "Glaciers", "Glaciers are slow rivers of ice that carve valleys."),
              ("d3", "Deserts", "Deserts receive very little rain each year.")]
    (dataset / "corpus.jsonl").write_text(
        "\n".join(json.dumps({"_id": i, "title": t, "text": x}) for i, t, x in corpus))
    queries = [("q1", "where does lava come from"), ("q2", "ice carving valleys")]
    (dataset / "queries.jsonl").write_text("\n".join(json.dumps({"_id": i, "text": x}) for i, x in queries))
    (dataset / "qrels" / "test.tsv").write_text("query-id\tcorpus-id\tscore\nq1\td1\t1\nq2\td2\t1\n")
    _code, out = cli("eval", "retrieval", "--dataset", str(dataset), "--json")
    result = json.loads(out)
    assert list(result["stages"]) == ["bm25", "dense", "hybrid", "hybrid (rrf)"]
    for row in result["stages"].values():
        assert row["ndcg@10"] == pytest.approx(1.0) and row["recall@100"] == 1.0
        assert 0 < row["latency_p50_ms"] <= row["latency_p95_ms"]
    assert result["ingest"]["documents"] == 3


def test_cli_eval_retrieval_on_a_folder_with_questions(cli, tmp_path):
    corpus = tmp_path / "docs"
    (corpus / "geo").mkdir(parents=True)
    (corpus / "geo" / "volcanoes.md").write_text("# Volcanoes\n\nLava erupts from volcanoes when magma rises.\n")
    (corpus / "geo" / "glaciers.md").write_text("# Glaciers\n\nGlaciers are slow rivers of ice that carve valleys.\n")
    questions = tmp_path / "questions.jsonl"
    questions.write_text("\n".join(json.dumps(q) for q in [
        {"id": "q1", "question": "where does lava come from", "relevant": ["geo/volcanoes.md"]},
        {"id": "q2", "question": "what carves valleys", "relevant": ["geo/glaciers.md"]}]))
    _code, out = cli("eval", "retrieval", "--corpus", str(corpus), "--questions", str(questions), "--json")
    result = json.loads(out)
    assert result["stages"]["hybrid"]["ndcg@10"] == pytest.approx(1.0)
    assert result["dataset"] == {"name": "questions", "queries": 2, "corpus": 2, "relevant_not_in_corpus": []}


def test_cli_eval_retrieval_refuses_questions_about_another_corpus(cli, tmp_path, capsys):
    corpus = tmp_path / "docs"
    corpus.mkdir()
    (corpus / "a.md").write_text("# A\n\nSome text.\n")
    questions = tmp_path / "questions.jsonl"
    questions.write_text(json.dumps({"id": "q1", "question": "anything", "relevant": ["elsewhere/b.md"]}))
    assert main(["eval", "retrieval", "--corpus", str(corpus), "--questions", str(questions)]) == 1
    assert "none of the relevant documents is in the corpus" in capsys.readouterr().err


def test_cli_eval_rejects_a_folder_that_is_not_beir(cli, tmp_path, capsys):
    assert main(["eval", "retrieval", "--dataset", str(tmp_path)]) == 1
    assert "not a BEIR dataset folder" in capsys.readouterr().err


@pytest.mark.slow
def test_cli_console_script_runs_in_a_fresh_process(tmp_path, docs):
    env_data = str(tmp_path / "fresh")
    ingest = subprocess.run([sys.executable, "-m", "ragchat.cli", "ingest", str(docs), "--data", env_data],
                            capture_output=True, text=True, timeout=300, check=False)
    assert ingest.returncode == 0, ingest.stderr
    result = subprocess.run([sys.executable, "-m", "ragchat.cli", "search", "office cat", "--data", env_data],
                            capture_output=True, text=True, timeout=300, check=False)
    assert result.returncode == 0 and "pets.txt" in result.stdout


def test_embedder_forgets_its_recent_questions_when_asked(real_embedder):
    """`ragchat eval retrieval` empties the cache before each stage, so no stage is timed on the
    query embeddings the one before it computed."""
    calls = []
    encode = real_embedder._encode_query
    real_embedder._encode_query = lambda text: calls.append(text) or encode(text)
    try:
        real_embedder.embed_query("how do glaciers carve valleys")
        real_embedder.embed_query("how do glaciers carve valleys")
        assert len(calls) == 1
        real_embedder.forget_queries()
        real_embedder.embed_query("how do glaciers carve valleys")
        assert len(calls) == 2
    finally:
        del real_embedder._encode_query


def test_cli_eval_retrieval_reports_a_reranker_that_never_reranked(cli, tmp_path, monkeypatch, capsys):
    """A rerank endpoint that is down must not pass for one that reranks: its row says how many
    searches kept the fused order."""
    import socket

    with socket.socket() as probe:  # a port nobody listens on: every call is refused at once
        probe.bind(("127.0.0.1", 0))
        closed = probe.getsockname()[1]
    monkeypatch.setenv("RAGCHAT_RERANKER", "http")
    monkeypatch.setenv("RAGCHAT_RERANK_URL", f"http://127.0.0.1:{closed}")
    corpus = tmp_path / "docs"
    corpus.mkdir()
    (corpus / "volcanoes.md").write_text("# Volcanoes\n\nLava erupts from volcanoes when magma rises.\n")
    (corpus / "glaciers.md").write_text("# Glaciers\n\nGlaciers are slow rivers of ice that carve valleys.\n")
    questions = tmp_path / "questions.jsonl"
    questions.write_text("\n".join(json.dumps(q) for q in [
        {"id": "q1", "question": "where does lava come from", "relevant": ["volcanoes.md"]},
        {"id": "q2", "question": "what carves valleys", "relevant": ["glaciers.md"]}]))
    _code, out = cli("eval", "retrieval", "--corpus", str(corpus), "--questions", str(questions), "--json")
    stages = json.loads(out)["stages"]
    assert stages["hybrid+rerank"]["fell_back"] == 2 and "fell_back" not in stages["hybrid"]
    _code, out = cli("eval", "retrieval", "--corpus", str(corpus), "--questions", str(questions))
    assert "hybrid+rerank: 2 of 2 searches kept the fused order" in out
