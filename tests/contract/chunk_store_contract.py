"""The contract every ChunkStore adapter passes. Subclass it and provide a `store` fixture
that returns an empty store whose embedding space is the FakeHashingEmbedder's (64 dimensions),
and, where writes become searchable only after a while, a `settle(store)` method that lets that
while pass (the default does nothing)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from ragchat.access import visitor_id
from ragchat.domain import Chunk, DocumentRecord, Filters
from ragchat.errors import EmbeddingSpaceMismatch
from tests.fakes import FakeHashingEmbedder

EMBEDDER = FakeHashingEmbedder()


def record(doc_id: str, path: str, doc_type: str = "markdown", content_hash: str = "h1", **extra) -> DocumentRecord:
    values = {"doc_id": doc_id, "uri": f"file:///corpus/{path}", "path": path, "title": f"Title of {doc_id}",
                  "doc_type": doc_type, "content_hash": content_hash, "pipeline_version": "p1", "size": 100,
                  "status": "indexed", "chunk_count": 0, "updated_at": 1.0}
    values.update(extra)
    return DocumentRecord(**values)


def chunks_for(rec: DocumentRecord, *texts: str) -> list[Chunk]:
    return [
        Chunk(chunk_id=f"{rec.doc_id}-{rec.content_hash}-{i}", doc_id=rec.doc_id, position=i, text=text,
              title=rec.title, heading_path=("Guide", f"Part {i}"), page=i + 1 if rec.doc_type == "pdf" else None,
              token_count=len(text.split()), path=rec.path, uri=rec.uri, doc_type=rec.doc_type)
        for i, text in enumerate(texts)
    ]


def written(rec: DocumentRecord, *texts: str) -> tuple[DocumentRecord, list[Chunk], object]:
    """One document as a replace_documents batch holds it: record, chunks, vectors."""
    chunks = chunks_for(rec, *texts)
    return rec, chunks, EMBEDDER.embed_documents([c.embedding_text for c in chunks])


def put(store, rec: DocumentRecord, *texts: str) -> list[Chunk]:
    batch = written(rec, *texts)
    assert store.replace_documents([batch]) == []
    return batch[1]


def ids(results) -> list[str]:
    return [r.chunk.chunk_id for r in results]


ORDER_A, ORDER_B, ORDER_C = "0A".ljust(40, "0"), "0B".ljust(40, "0"), "0C".ljust(40, "0")  # oldest first


class ChunkStoreContract:
    def settle(self, store) -> None:
        """Let every write so far become searchable (a store whose searches see writes at once: nothing)."""

    @pytest.fixture
    def corpus(self, store):
        put(store, record("d1", "guides/deploy.md"), "deploy the stack with sam deploy", "tear down with sam delete")
        put(store, record("d2", "guides/costs.md"), "opensearch serverless costs dominate at rest")
        put(store, record("d3", "reports/q3.pdf", doc_type="pdf"), "quarterly report about kittens and costs")
        self.settle(store)
        return store

    def test_store_round_trips_chunks_with_provenance(self, store):
        written = put(store, record("d1", "guides/deploy.md", doc_type="pdf"), "first part", "second part")
        self.settle(store)
        assert store.get_chunks("d1") == written
        assert store.count_chunks() == 2
        got = store.get_document("d1")
        assert (got.status, got.chunk_count, got.path, got.content_hash) == ("indexed", 2, "guides/deploy.md", "h1")

    def test_keyword_search_ranks_matching_chunks(self, corpus):
        results = corpus.keyword_search("sam delete", k=5)
        assert ids(results)[0] == "d1-h1-1"
        assert all(r.ranks == {"bm25": i} for i, r in enumerate(results, start=1))
        assert corpus.keyword_search("zebra", k=5) == []

    def test_keyword_search_ignores_query_syntax(self, corpus):
        for query in ['"unbalanced', "costs AND OR NOT", "col:umn*", "-(x)", "the of and"]:
            corpus.keyword_search(query, k=5)  # must not raise

    def test_vector_search_ranks_by_similarity(self, corpus):
        results = corpus.vector_search(EMBEDDER.embed_query("opensearch serverless costs dominate"), k=2)
        assert ids(results)[0] == "d2-h1-0"
        assert results[0].score >= results[1].score
        assert results[0].ranks == {"dense": 1}

    @pytest.mark.parametrize("filters,expected_docs", [
        (Filters(path_prefix="guides/"), {"d1", "d2"}),
        (Filters(path_prefix="reports"), {"d3"}),
        (Filters(doc_types=("pdf",)), {"d3"}),
        (Filters(doc_ids=("d2",)), {"d2"}),
        (Filters(path_prefix="guides/", doc_types=("pdf",)), set()),
        (Filters(path_prefix="guides_"), set()),  # LIKE wildcards are taken literally
    ])
    def test_filters_apply_to_both_arms(self, corpus, filters, expected_docs):
        keyword = corpus.keyword_search("costs deploy kittens sam", k=10, filters=filters)
        vector = corpus.vector_search(EMBEDDER.embed_query("costs deploy kittens sam"), k=10, filters=filters)
        assert {r.chunk.doc_id for r in keyword} == expected_docs
        assert {r.chunk.doc_id for r in vector} == expected_docs

    def test_visibility_hides_other_users_uploads_in_both_arms(self, corpus):
        put(corpus, record("own", "uploads/alice/notes.md"), "kittens budget plan by alice")
        put(corpus, record("other", "uploads/bob/notes.md"), "kittens budget plan by bob")
        put(corpus, record("loose", "uploads/notes.md"), "kittens budget plan with no owner folder")
        self.settle(corpus)
        vector = EMBEDDER.embed_query("kittens budget plan")
        for results in (corpus.keyword_search("kittens budget", 10, Filters(visible_to="alice")),
                        corpus.vector_search(vector, 10, Filters(visible_to="alice"))):
            docs = {r.chunk.doc_id for r in results}
            assert {"own", "d3", "loose"} <= docs  # a file directly in uploads/ has no owner: shared
            assert "other" not in docs
        # narrowing by another user's folder finds nothing rather than bob's document
        sneaky = Filters(path_prefix="uploads/bob/", visible_to="alice")
        assert corpus.keyword_search("kittens", 10, sneaky) == []
        assert corpus.vector_search(vector, 10, sneaky) == []
        unscoped = {r.chunk.doc_id for r in corpus.keyword_search("kittens budget", 10)}
        assert {"own", "other", "loose"} <= unscoped

    def test_visibility_of_a_visitor_is_the_shared_library_in_both_arms(self, corpus):
        visitor = visitor_id("a-visitor-of-the-public-site-0001")
        put(corpus, record("alices", "uploads/alice/notes.md"), "kittens budget plan by alice")
        put(corpus, record("planted", f"uploads/{visitor}/notes.md"), "kittens budget plan in a visitor folder")
        self.settle(corpus)
        vector = EMBEDDER.embed_query("kittens budget plan")
        for results in (corpus.keyword_search("kittens budget", 10, Filters(visible_to=visitor)),
                        corpus.vector_search(vector, 10, Filters(visible_to=visitor)),
                        corpus.keyword_search("kittens", 10, Filters(path_prefix="uploads/", visible_to=visitor))):
            assert not {r.chunk.doc_id for r in results} & {"alices", "planted"}
        assert "d3" in {r.chunk.doc_id for r in corpus.keyword_search("kittens", 10, Filters(visible_to=visitor))}

    def test_store_keeps_a_documents_public_address_on_its_chunks(self, store):
        rec = replace(record("d1", "guides/deploy.md"), url="https://docs.example.com/deploy")
        chunks = [replace(c, url=rec.url) for c in chunks_for(rec, "deploy the stack with sam deploy")]
        store.replace_documents([(rec, chunks, EMBEDDER.embed_documents([c.embedding_text for c in chunks]))])
        self.settle(store)
        assert [c.url for c in store.get_chunks("d1")] == ["https://docs.example.com/deploy"]
        assert [h.chunk.url for h in store.keyword_search("deploy", 5)] == ["https://docs.example.com/deploy"]
        assert [h.chunk.url for h in store.vector_search(EMBEDDER.embed_query("deploy"), 5)] == [rec.url]

    def test_replace_swaps_all_chunks_of_a_document(self, corpus):
        put(corpus, record("d1", "guides/deploy.md", content_hash="h2"), "deploy with terraform instead")
        self.settle(corpus)
        corpus.sweep("d1")  # a store that keeps old chunks for a while removes them now, or never had them
        self.settle(corpus)
        assert [c.chunk_id for c in corpus.get_chunks("d1")] == ["d1-h2-0"]
        assert ids(corpus.keyword_search("sam delete", k=5)) == []
        assert "d1-h1-0" not in ids(corpus.vector_search(EMBEDDER.embed_query("deploy the stack with sam"), k=10))
        assert corpus.count_chunks() == 3

    def test_delete_removes_document_and_chunks_from_both_arms(self, corpus):
        assert corpus.delete_document("d2") == 1
        self.settle(corpus)
        assert corpus.get_document("d2") is None
        assert ids(corpus.keyword_search("opensearch", k=5)) == []
        assert "d2-h1-0" not in ids(corpus.vector_search(EMBEDDER.embed_query("opensearch serverless"), k=10))
        assert corpus.delete_document("d2") == 0

    def test_record_status_keeps_chunks_of_a_good_version(self, corpus):
        corpus.record_status(record("d2", "guides/costs.md", content_hash="bad", status="skipped", reason="corrupt"))
        got = corpus.get_document("d2")
        assert (got.status, got.reason, got.content_hash, got.chunk_count) == ("skipped", "corrupt", "h1", 1)
        assert ids(corpus.keyword_search("opensearch", k=5)) == ["d2-h1-0"]

    def test_record_status_of_a_new_document_has_no_chunks(self, store):
        store.record_status(record("d9", "bad.pdf", status="skipped", reason="unreadable PDF"))
        assert store.get_document("d9").reason == "unreadable PDF"
        assert store.get_chunks("d9") == []

    def test_list_documents_by_uri_prefix(self, corpus):
        assert [r.doc_id for r in corpus.list_documents()] == ["d2", "d1", "d3"]  # ordered by path
        assert {r.doc_id for r in corpus.list_documents(uri_prefix="file:///corpus/guides/")} == {"d1", "d2"}
        assert corpus.list_documents(uri_prefix="file:///elsewhere/") == []

    def test_embedding_space_is_fixed_by_first_use(self, store):
        store.ensure_embedding_space(EMBEDDER.model_id, EMBEDDER.dimension)
        with pytest.raises(EmbeddingSpaceMismatch, match=r"another data directory|another index"):
            store.ensure_embedding_space("other/model", 1024)

    def test_empty_store_searches_return_nothing(self, store):
        assert store.keyword_search("anything", k=5) == []
        assert store.vector_search(EMBEDDER.embed_query("anything"), k=5) == []

    # -- ordered writes: the newest write of a document stands, whatever order they land in -----
    def test_an_older_write_landing_after_a_newer_one_is_refused(self, store):
        assert store.replace_documents([written(record("d1", "a.md", content_hash="new", order=ORDER_B),
                                                "the new text about zebras")]) == []
        late = written(record("d1", "a.md", content_hash="old", order=ORDER_A), "the old text about lions")
        assert store.replace_documents([late]) == ["d1"]
        self.settle(store)
        assert store.sweep("d1") >= 0
        self.settle(store)
        assert [c.text for c in store.get_chunks("d1")] == ["the new text about zebras"]
        assert ids(store.keyword_search("lions", k=5)) == []
        assert store.get_document("d1").content_hash == "new" and store.stored_order("d1") == ORDER_B

    def test_a_redelivered_write_is_refused_once_its_first_delivery_landed(self, store):
        first = written(record("d1", "a.md", order=ORDER_B), "zebras graze")
        assert store.replace_documents([first]) == []
        assert store.replace_documents([written(record("d1", "a.md", order=ORDER_B), "zebras graze")]) == ["d1"]
        self.settle(store)
        assert len(store.get_chunks("d1")) == 1 and len(store.keyword_search("zebras", k=5)) == 1

    def test_an_ordered_delete_refuses_an_older_write_still_in_flight(self, store):
        put(store, record("d1", "a.md", order=ORDER_A), "zebras graze")
        self.settle(store)
        assert store.delete_document("d1", ORDER_C) == 1
        late = written(record("d1", "a.md", content_hash="h2", order=ORDER_B), "zebras again")
        assert store.replace_documents([late]) == ["d1"]
        assert store.record_status(record("d1", "a.md", status="skipped", order=ORDER_B)) is False
        self.settle(store)
        assert store.get_document("d1") is None and store.list_documents() == [] and store.get_chunks("d1") == []
        assert ids(store.keyword_search("zebras", k=5)) == []
        assert store.stored_order("d1") == ORDER_C

    def test_an_older_delete_leaves_a_newer_write_standing(self, store):
        put(store, record("d1", "a.md", order=ORDER_C), "zebras graze")
        self.settle(store)
        assert store.delete_document("d1", ORDER_B) == 0
        self.settle(store)
        assert store.get_document("d1").status == "indexed" and len(store.keyword_search("zebras", k=5)) == 1

    def test_an_older_status_does_not_overwrite_a_newer_write(self, store):
        put(store, record("d1", "a.md", order=ORDER_B), "zebras graze")
        assert store.record_status(record("d1", "a.md", status="skipped", reason="corrupt", order=ORDER_A)) is False
        assert store.get_document("d1").status == "indexed"
        assert store.record_status(record("d1", "a.md", status="skipped", reason="corrupt", order=ORDER_C)) is True
        assert (store.get_document("d1").status, store.get_document("d1").chunk_count) == ("skipped", 1)

    @pytest.mark.parametrize("before", ["nothing", "indexed"])
    def test_a_failed_write_leaves_its_retry_free_to_land(self, store, before):
        """A failure a retry may fix (throttling, no model access yet) marks the version's attempt;
        it does not claim the version's order, or the retry of that very version would be refused."""
        if before == "indexed":
            put(store, record("d1", "a.md", content_hash="h1", order=ORDER_A), "lions roar")
        assert store.record_status(record("d1", "a.md", content_hash="", status="failed", order=ORDER_B)) is True
        assert store.get_document("d1").status == "failed"
        retry = written(record("d1", "a.md", content_hash="h2", order=ORDER_B), "zebras graze")
        assert store.replace_documents([retry]) == []
        self.settle(store)
        store.sweep("d1")
        self.settle(store)
        assert (store.get_document("d1").status, store.stored_order("d1")) == ("indexed", ORDER_B)
        assert [c.text for c in store.get_chunks("d1")] == ["zebras graze"]
        assert store.record_status(record("d1", "a.md", content_hash="", status="failed", order=ORDER_A)) is False
        assert store.get_document("d1").status == "indexed"  # an older attempt's failure changes nothing

    def test_unordered_writes_apply_as_they_come(self, store):
        put(store, record("d1", "a.md", content_hash="h1"), "first words")
        put(store, record("d1", "a.md", content_hash="h2"), "second words")
        self.settle(store)
        store.sweep("d1")
        self.settle(store)
        assert [c.text for c in store.get_chunks("d1")] == ["second words"]
        assert store.stored_order("d1") == "" and store.stored_order("never-written") is None

    def test_a_sweep_keeps_the_current_generation(self, corpus):
        assert corpus.sweep("d1") == 0
        self.settle(corpus)
        assert len(corpus.get_chunks("d1")) == 2
