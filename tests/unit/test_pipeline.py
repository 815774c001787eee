from pathlib import Path

import pytest

from ragchat.adapters.local.folder import FolderSource
from ragchat.adapters.local.sqlite_store import SqliteChunkStore
from ragchat.config import Settings
from ragchat.domain import SourceObject
from ragchat.ingest.chunking import StructuredChunker
from ragchat.ingest.pipeline import IngestPipeline
from tests.fakes import FailingEmbedder, FakeHashingEmbedder


@pytest.fixture
def folder(tmp_path) -> Path:
    root = tmp_path / "docs"
    (root / "guides").mkdir(parents=True)
    (root / "guides" / "deploy.md").write_text("# Deploy\n\nUse sam deploy to ship the stack.\n")
    (root / "notes.txt").write_text("Kittens like warm laptops.")
    (root / ".hidden.md").write_text("# Secret\n\nnot indexed")
    return root


@pytest.fixture
def store(tmp_path):
    return SqliteChunkStore(tmp_path / "data" / "store.db")


def pipeline(store, embedder=None, max_file_bytes=None, **kwargs) -> IngestPipeline:
    kwargs.setdefault("parse_seconds", Settings().max_parse_seconds)
    return IngestPipeline(store, embedder or FakeHashingEmbedder(), StructuredChunker(50, 5),
                          max_file_bytes=max_file_bytes or Settings().max_file_bytes, **kwargs)


def test_pipeline_first_sync_adds_every_supported_file(folder, store):
    report = pipeline(store).sync(FolderSource(folder))
    assert (report.seen, report.added, report.chunks_written, report.rejected, report.failed) == (2, 2, 2, [], [])
    assert {d.path for d in store.list_documents()} == {"guides/deploy.md", "notes.txt"}


def test_pipeline_resync_of_unchanged_files_writes_nothing(folder, store):
    embedder = FakeHashingEmbedder()
    pipeline(store, embedder).sync(FolderSource(folder))
    calls = len(embedder.calls)
    report = pipeline(store, embedder).sync(FolderSource(folder))
    assert (report.unchanged, report.added, report.updated, report.chunks_written) == (2, 0, 0, 0)
    assert len(embedder.calls) == calls


def test_pipeline_changed_file_replaces_its_chunks(folder, store):
    pipeline(store).sync(FolderSource(folder))
    (folder / "notes.txt").write_text("Puppies like cold floors.")
    report = pipeline(store).sync(FolderSource(folder))
    assert (report.updated, report.unchanged) == (1, 1)
    texts = [c.text for d in store.list_documents() for c in store.get_chunks(d.doc_id)]
    assert "Puppies like cold floors." in texts and "Kittens like warm laptops." not in texts


def test_pipeline_removed_file_removes_its_chunks(folder, store):
    pipeline(store).sync(FolderSource(folder))
    (folder / "notes.txt").unlink()
    report = pipeline(store).sync(FolderSource(folder))
    assert (report.removed, report.chunks_deleted) == (1, 1)
    assert [d.path for d in store.list_documents()] == ["guides/deploy.md"]


def test_pipeline_sync_of_a_subfolder_does_not_remove_documents_elsewhere(folder, store):
    pipeline(store).sync(FolderSource(folder))
    report = pipeline(store).sync(FolderSource(folder / "guides"))
    assert (report.removed, report.unchanged) == (0, 1)  # same file, same uri, same document
    assert len(store.list_documents()) == 2


def test_pipeline_bad_files_are_skipped_with_reasons_and_the_rest_ingested(folder, store):
    (folder / "broken.pdf").write_bytes(b"%PDF-1.4 garbage")
    (folder / "empty.md").write_text("")
    (folder / "photo.jpg").write_bytes(b"\xff\xd8\xff")
    report = pipeline(store).sync(FolderSource(folder))
    reasons = dict(report.rejected)
    assert report.added == 2 and report.failed == []
    assert set(reasons) == {"broken.pdf", "empty.md", "photo.jpg"}
    assert "unreadable PDF" in reasons["broken.pdf"] and "empty" in reasons["empty.md"]
    assert "unsupported" in reasons["photo.jpg"]
    statuses = {d.path: d.status for d in store.list_documents()}
    assert statuses["broken.pdf"] == "skipped"


def test_pipeline_corrupt_update_keeps_the_last_good_chunks(folder, store):
    pipeline(store).sync(FolderSource(folder))
    (folder / "report.json").write_text('{"summary": "all green"}')
    pipeline(store).sync(FolderSource(folder))
    (folder / "report.json").write_text('{"summary": ')
    report = pipeline(store).sync(FolderSource(folder))
    assert "invalid JSON" in dict(report.rejected)["report.json"]
    assert [r.chunk.text for r in store.keyword_search("green", k=3)] == ["summary: all green"]


def test_pipeline_good_bytes_restored_after_a_broken_version_are_indexed_again(folder, store):
    (folder / "report.json").write_text('{"summary": "all green"}')
    pipeline(store).sync(FolderSource(folder))
    (folder / "report.json").write_text('{"summary": ')
    pipeline(store).sync(FolderSource(folder))
    (folder / "report.json").write_text('{"summary": "all green"}')
    embedder = FakeHashingEmbedder()
    report = pipeline(store, embedder).sync(FolderSource(folder))
    assert report.rejected == [] and report.unchanged == 3 and embedder.calls == []
    record = next(d for d in store.list_documents() if d.path == "report.json")
    assert (record.status, record.reason) == ("indexed", "")


def test_pipeline_oversized_file_is_skipped_before_reading(folder, store):
    report = pipeline(store, max_file_bytes=10).sync(FolderSource(folder))
    assert len(report.rejected) == 2 and all("over the" in reason for _, reason in report.rejected)
    assert store.count_chunks() == 0


def test_pipeline_embedding_failure_leaves_the_store_as_it_was(folder, store):
    pipeline(store).sync(FolderSource(folder))
    before = {c.chunk_id for d in store.list_documents() for c in store.get_chunks(d.doc_id)}
    (folder / "notes.txt").write_text("Changed text that cannot be embedded now.")
    report = pipeline(store, FailingEmbedder()).sync(FolderSource(folder))
    assert "embedding service unavailable" in dict(report.failed)["notes.txt"] and report.rejected == []
    after = {c.chunk_id for d in store.list_documents() for c in store.get_chunks(d.doc_id)}
    assert after == before
    retry = pipeline(store).sync(FolderSource(folder))  # the failed file is retried next time
    assert retry.updated == 1


def test_pipeline_embeds_many_small_files_in_full_batches(tmp_path, store):
    root = tmp_path / "many"
    root.mkdir()
    for i in range(40):
        (root / f"n{i}.txt").write_text(f"note number {i}")
    embedder = FakeHashingEmbedder()
    pipeline(store, embedder, batch_chunks=16).sync(FolderSource(root))
    assert embedder.calls == [16, 16, 8]


def test_pipeline_remove_by_uri(folder, store):
    source = FolderSource(folder)
    pipeline(store).sync(source)
    assert pipeline(store).remove((folder / "notes.txt").resolve().as_uri()) == 1
    assert store.keyword_search("kittens", k=3) == []


def test_pipeline_a_parser_that_crashes_rejects_the_file_for_good(folder, store, monkeypatch):
    """Any exception while parsing is about these bytes: a retry would crash the same way."""
    from ragchat.ingest import parsers

    def explode(data, obj, budget):
        raise RecursionError("maximum recursion depth exceeded")

    monkeypatch.setitem(parsers.PARSERS_BY_EXTENSION, "txt", explode)
    report = pipeline(store).sync(FolderSource(folder))
    assert report.failed == []
    assert dict(report.rejected)["notes.txt"].startswith("could not parse the file (RecursionError")
    assert {d.path: d.status for d in store.list_documents()}["notes.txt"] == "skipped"


class UnreadableSource(FolderSource):
    """A FAKE source whose reads fail, like a throttled or unreachable bucket."""

    def read(self, obj: SourceObject) -> bytes:
        raise ConnectionError("connection reset by peer")


def test_pipeline_a_read_failure_is_a_failure_to_retry_not_a_rejection(folder, store):
    report = pipeline(store).sync(UnreadableSource(folder))
    assert report.rejected == [] and {p for p, _ in report.failed} == {"guides/deploy.md", "notes.txt"}
    assert all("could not read the file (ConnectionError" in reason for _, reason in report.failed)
    assert {d.status for d in store.list_documents()} == {"failed"}
    assert pipeline(store).sync(FolderSource(folder)).added == 2  # a later run retries them
