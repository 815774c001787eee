"""The real 770-file portfolio corpus from ../shared: every file ingests, a re-run writes nothing.

The embedder is the FAKE hashing one so the run takes seconds; parsing, chunking and the store
are the real ones. `benchmarks/portfolio_ingest.py` runs the same corpus with the real model.
"""

from ragchat.adapters.local.folder import FolderSource
from ragchat.adapters.local.sqlite_store import SqliteChunkStore
from ragchat.config import Settings
from ragchat.ingest.chunking import StructuredChunker
from ragchat.ingest.pipeline import IngestPipeline
from tests.conftest import shared_dataset
from tests.fakes import FakeHashingEmbedder


def test_portfolio_corpus_ingests_without_failures_and_reingest_writes_nothing(tmp_path):
    corpus = shared_dataset("portfolio")
    store = SqliteChunkStore(tmp_path / "store.db")
    settings = Settings()
    pipeline = IngestPipeline(store, FakeHashingEmbedder(), StructuredChunker(settings.chunk_tokens,
                              settings.chunk_overlap), max_file_bytes=settings.max_file_bytes,
                              parse_seconds=settings.max_parse_seconds)

    first = pipeline.sync(FolderSource(corpus))
    assert first.seen == 770
    assert first.rejected == [] and first.failed == []
    assert first.added == 770
    assert first.chunks_written == store.count_chunks() > 770

    second = pipeline.sync(FolderSource(corpus))
    assert (second.unchanged, second.chunks_written, second.chunks_deleted, second.removed) == (770, 0, 0, 0)

    chunk = store.keyword_search("runbook incident response", k=1)[0].chunk
    assert chunk.title and chunk.path.endswith(".md") and chunk.heading_path
