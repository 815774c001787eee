"""The tool registry, the knowledge-base tools, the clock, and the access rule they all apply."""

import pytest

from ragchat.access import check_user_id, is_visible, may_delete, owner_of, scoped
from ragchat.adapters.local.sqlite_store import SqliteChunkStore
from ragchat.domain import Filters, SourceBook, ToolCall, ToolContext
from ragchat.tools.clock import CurrentTime
from ragchat.tools.library import ListDocuments, ReadDocument, SearchDocuments
from ragchat.tools.registry import MAX_RESULT_CHARS, ToolFailed, ToolRegistry
from tests.contract.chunk_store_contract import EMBEDDER, put, record
from tests.support.chat import retriever_over


class EchoTool:
    name = "echo"
    description = "echo"
    input_schema = {"type": "object", "properties": {"text": {"type": "string", "maxLength": 50000}},
                    "required": ["text"], "additionalProperties": False}

    def announce(self, args):
        return f"Echoing {args['text'][:10]}"

    def run(self, args, context):
        from ragchat.domain import ToolOutput

        if args["text"] == "fail":
            raise ToolFailed("cannot echo 'fail'; echo something else")
        if args["text"] == "crash":
            raise KeyError("internal detail")
        return ToolOutput(args["text"], "echoed")


def context(user="alice"):
    return ToolContext(user, SourceBook())


def run(registry, name, args, user="alice"):
    return registry.run(ToolCall("c1", name, args), context(user))


# -- registry ------------------------------------------------------------------------------------
def test_registry_runs_a_valid_call():
    outcome = run(ToolRegistry([EchoTool()]), "echo", {"text": "hi"})
    assert (outcome.status, outcome.result.content, outcome.result.is_error, outcome.result.call_id) == (
        "done", "hi", False, "c1")


@pytest.mark.parametrize("name, args, message", [
    ("nope", {"text": "x"}, "unknown tool 'nope'; the tools are: echo"),
    ("echo", {}, "invalid input for echo at input: 'text' is a required property"),
    ("echo", {"text": 3}, "invalid input for echo at text: 3 is not of type 'string'"),
    ("echo", {"text": "x", "user_id": "bob"}, "Additional properties are not allowed ('user_id' was unexpected)"),
    ("echo", {"text": "fail"}, "cannot echo 'fail'; echo something else"),
    ("echo", {"text": "crash"}, "echo failed unexpectedly"),
])
def test_registry_refuses_bad_calls_with_an_error_result(name, args, message):
    outcome = run(ToolRegistry([EchoTool()]), name, args)
    assert outcome.status == "error" and outcome.result.is_error
    assert message in outcome.result.content and outcome.result.content.startswith("Error: ")
    assert "internal detail" not in outcome.result.content


def test_registry_refuses_input_that_was_not_json():
    outcome = ToolRegistry([EchoTool()]).run(ToolCall("c1", "echo", None, "Expecting value at character 3"),
                                            context())
    assert outcome.status == "error" and "was not valid JSON (Expecting value" in outcome.result.content


def test_registry_bounds_result_size():
    outcome = run(ToolRegistry([EchoTool()]), "echo", {"text": "x" * 40000})
    assert len(outcome.result.content) < MAX_RESULT_CHARS + 100 and outcome.result.content.endswith("limit]")


def test_registry_requires_closed_schemas_and_unique_names():
    class Open(EchoTool):
        input_schema = {"type": "object", "properties": {}}

    with pytest.raises(ValueError, match="additionalProperties"):
        ToolRegistry([Open()])
    with pytest.raises(ValueError, match="two tools"):
        ToolRegistry([EchoTool(), EchoTool()])


def test_registry_refuses_a_schema_that_is_not_json_schema():
    class Misspelt(EchoTool):
        input_schema = {"type": "object", "properties": {"text": {"type": "strng"}}, "additionalProperties": False}

    with pytest.raises(ValueError, match="not valid JSON Schema"):
        ToolRegistry([Misspelt()])


# -- knowledge-base tools over a real store -------------------------------------------------------
@pytest.fixture
def library(tmp_path):
    store = SqliteChunkStore(tmp_path / "store.db")
    store.ensure_embedding_space(EMBEDDER.model_id, EMBEDDER.dimension)
    put(store, record("guide", "guides/deploy.md"), "deploy the stack with sam deploy", "roll back with sam delete")
    put(store, record("report", "reports/q3.pdf", doc_type="pdf"), "quarterly costs of the stack", "page two text")
    put(store, record("mine", "uploads/alice/notes.md"), "alice notes on the stack deploy")
    put(store, record("theirs", "uploads/bob/notes.md"), "bob secret notes on the stack deploy")
    retriever = retriever_over(store, EMBEDDER)
    return ToolRegistry([SearchDocuments(retriever, lambda hits: hits), ListDocuments(store), ReadDocument(store)])


def test_search_documents_numbers_passages_once_and_hides_other_users(library):
    ctx = context()
    first = library.run(ToolCall("c1", "search_documents", {"query": "stack deploy", "k": 10}), ctx)
    again = library.run(ToolCall("c2", "search_documents", {"query": "stack deploy", "k": 10}), ctx)
    assert "bob secret" not in first.result.content and "alice notes" in first.result.content
    assert first.result.content == again.result.content  # the same chunks keep their numbers
    assert [s.number for s in ctx.sources.sources] == list(range(1, len(ctx.sources.sources) + 1))
    assert {s.doc_id for s in ctx.sources.sources} == {"guide", "report", "mine"}
    assert first.summary == f"{len(ctx.sources.sources)} passages from 3 documents"


def test_search_documents_with_filters_stays_in_scope(library):
    outcome = library.run(ToolCall("c1", "search_documents", {"query": "notes", "path_prefix": "uploads/bob/"}),
                          context())
    assert outcome.status == "done" and outcome.result.content.startswith("No passages matched")
    pdf = run(library, "search_documents", {"query": "stack", "doc_type": "pdf"})
    assert "reports/q3.pdf" in pdf.result.content and "guides/deploy.md" not in pdf.result.content


def test_list_documents_shows_only_what_the_user_may_see(library):
    alice = run(library, "list_documents", {}).result.content
    bob = run(library, "list_documents", {}, user="bob").result.content
    assert "uploads/alice/notes.md" in alice and "uploads/bob" not in alice
    assert "uploads/bob/notes.md" in bob and "uploads/alice" not in bob
    limited = run(library, "list_documents", {"limit": 1}).result.content
    assert limited.count("\n- ") == 0 and "and 2 more" in limited


def test_read_document_by_section_page_and_outline_with_provenance(library):
    ctx = context()
    section = library.run(ToolCall("c1", "read_document", {"doc_id": "guide", "section": "part 1"}), ctx)
    assert section.status == "done" and "roll back with sam delete" in section.result.content
    assert "deploy the stack" not in section.result.content  # only that section
    assert "[1] Title of guide — Guide > Part 1 (path guides/deploy.md; doc_id guide)" in section.result.content
    page = library.run(ToolCall("c2", "read_document", {"doc_id": "report", "page": 2}), ctx)
    assert "page two text" in page.result.content and "page 2;" in page.result.content
    outline = library.run(ToolCall("c3", "read_document", {"doc_id": "guide"}), ctx)
    assert "Outline: Guide > Part 0; Guide > Part 1" in outline.result.content
    assert [s.doc_id for s in ctx.sources.sources] == ["guide", "report", "guide"]


def test_read_document_errors_help_the_model_recover(library):
    missing_page = run(library, "read_document", {"doc_id": "report", "page": 9})
    assert missing_page.status == "error" and "has pages 1-2" in missing_page.result.content
    missing_section = run(library, "read_document", {"doc_id": "guide", "section": "pricing"})
    assert "its sections: Guide > Part 0; Guide > Part 1" in missing_section.result.content
    hidden = run(library, "read_document", {"doc_id": "theirs"})
    absent = run(library, "read_document", {"doc_id": "nothere"})
    assert hidden.status == absent.status == "error"
    assert hidden.result.content.replace("theirs", "X") == absent.result.content.replace("nothere", "X")


# -- clock ---------------------------------------------------------------------------------------
def test_current_time_in_utc_and_a_named_zone():
    registry = ToolRegistry([CurrentTime(now=lambda: 1_790_000_000)])
    assert run(registry, "current_time", {}).result.content == "2026-09-21T14:13:20+00:00 (Monday, UTC)"
    tokyo = run(registry, "current_time", {"timezone": "Asia/Tokyo"})
    assert tokyo.summary == "2026-09-21T23:13:20+09:00"
    bad = run(registry, "current_time", {"timezone": "Mars/Olympus"})
    assert bad.status == "error" and "unknown time zone 'Mars/Olympus'" in bad.result.content


# -- access --------------------------------------------------------------------------------------
def test_access_rule_owner_visibility_and_deletion():
    assert owner_of("guides/a.md") is None and owner_of("uploads/bob/a.md") == "bob"
    assert owner_of("uploads/a.md") is None  # no owner folder: shared (an older local upload)
    assert is_visible("guides/a.md", "alice") and is_visible("uploads/alice/a.md", "alice")
    assert not is_visible("uploads/bob/a.md", "alice") and is_visible("uploads/a.md", "alice")
    assert not is_visible("uploads/bob/deep/a.md", "alice")
    assert is_visible("uploads/bob/a.md", None)  # unscoped: the operator's CLI
    assert may_delete("uploads/alice/a.md", "alice", manage_shared=False)
    assert not may_delete("guides/a.md", "alice", manage_shared=False)
    assert may_delete("guides/a.md", "local", manage_shared=True)
    assert not may_delete("uploads/bob/a.md", "alice", manage_shared=True)


def test_access_scoping_narrows_and_refuses_unsafe_ids():
    assert scoped(Filters(path_prefix="guides/"), "alice") == Filters(path_prefix="guides/", visible_to="alice")
    with pytest.raises(ValueError):
        scoped(Filters(visible_to="bob"), "alice")
    for bad in ("", "a/b", "..", "x" * 200):
        with pytest.raises(ValueError):
            check_user_id(bad)


def test_registry_keeps_summaries_to_one_short_line():
    from ragchat.tools.calculator import Calculator

    outcome = run(ToolRegistry([Calculator()]), "calculator", {"expression": "7 ** 1000"})
    assert outcome.status == "done" and len(outcome.result.content) > 800  # the model gets every digit
    assert len(outcome.summary) == 200 and outcome.summary.endswith("…")


def test_registry_gives_tools_whole_numbers_sent_as_floats(library):
    outcome = run(library, "search_documents", {"query": "stack", "k": 2.0})
    assert outcome.status == "done" and outcome.summary.startswith("2 passages")
    assert run(library, "search_documents", {"query": "stack", "k": 2.5}).status == "error"
