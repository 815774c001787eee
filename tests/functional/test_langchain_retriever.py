"""A ragchat knowledge base used from LangChain: RagchatRetriever over a real local store, filled
by the real ingest pipeline and searched with the real embedding model."""

import asyncio
import threading

import pytest

pytest.importorskip("langchain_core", reason='the "langchain" extra is not installed')

from langchain_core.prompts import ChatPromptTemplate
from langchain_core.runnables import RunnableLambda, RunnablePassthrough
from pydantic import ValidationError

from ragchat.adapters.local.folder import FolderSource
from ragchat.bootstrap import build_core
from ragchat.config import Settings
from ragchat.domain import Filters
from ragchat.errors import ConfigurationError, InvalidQuery
from ragchat.integrations.langchain import RagchatRetriever
from tests.documents import make_pdf

ROLLBACK = "Roll back a failed release with sam delete, then redeploy the previous tag."
PROMPT = ChatPromptTemplate.from_messages([
    ("system", "Answer from these sources and cite them by number.\n\n{context}"), ("human", "{question}")])


@pytest.fixture(scope="module")
def knowledge_base(tmp_path_factory, real_embedder):
    """A data dir as `ragchat ingest` leaves it: guides, a PDF with pages, a user's private upload."""
    root, data = tmp_path_factory.mktemp("docs"), tmp_path_factory.mktemp("data")
    (root / "guides").mkdir()
    (root / "guides" / "deploy.md").write_text(
        f"# Deploy guide\n\n## Steps\n\nDeploy the stack with sam deploy --guided.\n\n## Rollback\n\n{ROLLBACK}\n")
    (root / "guides" / "costs.md").write_text("# Costs\n\nTwo OpenSearch Serverless OCUs cost about 350 dollars.\n")
    (root / "runbook.pdf").write_bytes(make_pdf(["On-call basics: page the database team.",
                                                 "Replication lag above five minutes pages the on-call engineer."],
                                                title="Runbook"))
    (root / "uploads" / "bob").mkdir(parents=True)
    (root / "uploads" / "bob" / "salary.md").write_text("# Salary\n\nBob's raise is 14 percent from March.\n")
    settings = Settings(data_dir=data)
    core = build_core(settings, embedder=real_embedder)
    core.pipeline.sync(FolderSource(root))
    return settings, core


def sources(documents) -> str:
    return "\n\n".join(f"[{n}] {d.metadata['title']} > {' > '.join(d.metadata['heading_path'])}\n{d.page_content}"
                       for n, d in enumerate(documents, start=1))


def test_ragchat_retriever_feeds_an_lcel_chain(knowledge_base):
    _, core = knowledge_base
    retriever = RagchatRetriever(retriever=core.retriever, k=2)
    chain = {"context": retriever | RunnableLambda(sources), "question": RunnablePassthrough()} | PROMPT
    prompt = chain.invoke("How do I roll back a failed release?").to_messages()
    assert prompt[1].content == "How do I roll back a failed release?"
    assert f"[1] Deploy guide > Deploy guide > Rollback\n{ROLLBACK}" in prompt[0].content


def test_ragchat_retriever_documents_carry_ragchat_provenance(knowledge_base):
    _, core = knowledge_base
    documents = RagchatRetriever(retriever=core.retriever, k=3).invoke("replication lag pages on-call")
    hits = core.retriever.search("replication lag pages on-call", k=3)
    assert [d.id for d in documents] == [h.chunk.chunk_id for h in hits]  # ragchat's own ranking, unchanged
    best, chunk = documents[0], hits[0].chunk
    assert best.metadata == {"chunk_id": chunk.chunk_id, "doc_id": chunk.doc_id, "title": "Runbook",
                             "heading_path": [], "page": 2, "uri": chunk.uri, "path": "runbook.pdf",
                             "doc_type": "pdf", "score": hits[0].score}
    assert best.page_content == chunk.text and chunk.uri.startswith("file://")


def test_ragchat_retriever_async_searches_off_the_event_loop(knowledge_base):
    _, core = knowledge_base

    class ThreadRecording:
        def __init__(self):
            self.threads = []

        def search(self, *args, **kwargs):
            self.threads.append(threading.get_ident())
            return core.retriever.search(*args, **kwargs)

    recording = ThreadRecording()
    retriever = RagchatRetriever(retriever=recording, k=2)

    async def both():
        return await asyncio.gather(retriever.ainvoke("sam deploy"), retriever.ainvoke("OCU costs"))

    deploy, costs = asyncio.run(both())
    assert deploy == retriever.invoke("sam deploy") and costs[0].metadata["path"] == "guides/costs.md"
    assert threading.get_ident() not in recording.threads[:2]  # the two async searches ran on workers


def test_ragchat_retriever_scopes_to_a_user_and_applies_filters(knowledge_base):
    _, core = knowledge_base
    retriever = RagchatRetriever(retriever=core.retriever, k=10)
    paths = lambda docs: {d.metadata["path"] for d in docs}
    assert "uploads/bob/salary.md" in paths(retriever.invoke("raise percent salary"))  # unscoped, as the CLI
    assert "uploads/bob/salary.md" in paths(retriever.for_user("bob").invoke("raise percent salary"))
    assert "uploads/bob/salary.md" not in paths(retriever.for_user("alice").invoke("raise percent salary"))
    guides = RagchatRetriever(retriever=core.retriever, k=10, filters=Filters(path_prefix="guides/"), mode="bm25")
    assert paths(guides.invoke("deploy costs rollback")) == {"guides/deploy.md", "guides/costs.md"}
    assert guides.invoke("zebra giraffe") == []  # keywords only: no word of the query is in the guides
    assert guides.model_copy(update={"mode": "hybrid"}).invoke("zebra giraffe") != []  # the vector arm finds some


def test_ragchat_retriever_from_settings_reads_the_environment_like_the_cli(knowledge_base, monkeypatch,
                                                                           real_embedder):
    settings, _ = knowledge_base
    monkeypatch.setenv("RAGCHAT_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("RAGCHAT_CHAT_SOURCES", "1")
    retriever = RagchatRetriever.from_settings(embedder=real_embedder)
    (only,) = retriever.invoke("How do I roll back a failed release?")
    assert ROLLBACK in only.page_content


def test_ragchat_retriever_refuses_bad_input_clearly(knowledge_base, tmp_path):
    _, core = knowledge_base
    with pytest.raises(ConfigurationError, match=r"no knowledge base at .*ragchat ingest"):
        RagchatRetriever.from_settings(Settings(data_dir=tmp_path / "empty"))
    with pytest.raises(ValidationError, match="cannot scope documents"):
        RagchatRetriever(retriever=core.retriever, user_id="../bob")
    with pytest.raises(ValidationError, match="must be a ragchat Retriever"):
        RagchatRetriever(retriever=object())
    with pytest.raises(ValidationError):
        RagchatRetriever(retriever=core.retriever, k=0)
    with pytest.raises(InvalidQuery, match="empty"):
        RagchatRetriever(retriever=core.retriever).invoke("  ")
