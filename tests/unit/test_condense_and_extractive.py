from ragchat.adapters.local.extractive import INTRO, ExtractiveGenerator
from ragchat.chat.condense import HeuristicCondenser, ModelCondenser, is_follow_up
from ragchat.domain import GenerationRequest, Message, Source
from tests.fakes import ScriptedGenerator


def user(text: str) -> Message:
    return Message(message_id=text, session_id="s", role="user", content=text, created_at=0.0)


def test_follow_ups_are_recognised_by_anaphora_openers_and_brevity():
    assert is_follow_up("and how is it deployed?")
    assert is_follow_up("What does that cost?")
    assert is_follow_up("why?")
    assert not is_follow_up("How is the ragchat ingest function deployed on AWS?")


def test_heuristic_condenser_adds_the_previous_topic_to_a_follow_up():
    history = [user("What is the ingest pipeline of ragchat?")]
    assert HeuristicCondenser().condense("and how is it deployed?", history) == (
        "and how is it deployed? ingest pipeline ragchat")


def test_heuristic_condenser_leaves_standalone_questions_and_first_questions_alone():
    history = [user("What is the ingest pipeline of ragchat?")]
    standalone = "Which parsers handle PDF files and DOCX documents?"
    assert HeuristicCondenser().condense(standalone, history) == standalone
    assert HeuristicCondenser().condense("and it?", []) == "and it?"


def test_model_condenser_uses_the_model_and_falls_back_when_it_fails():
    history = [user("What is the ingest pipeline of ragchat?")]
    assert ModelCondenser(ScriptedGenerator(rewrite='"How is ragchat deployed?"')).condense(
        "and how is it deployed?", history) == "How is ragchat deployed?"
    failing = ModelCondenser(ScriptedGenerator(rewrite=None))
    assert failing.condense("and how is it deployed?", history).startswith("and how is it deployed? ingest")


def source(n: int, heading_path: tuple[str, ...] = ()) -> Source:
    return Source(number=n, chunk_id=f"c{n}", doc_id="d", title="T", uri="u", path="p", heading_path=heading_path,
                  page=None, snippet="", score=1.0)


def extract(question: str, passages: list[str], headings: list[tuple[str, ...]] | None = None) -> str:
    headings = headings or [()] * len(passages)
    sources = tuple(source(i + 1, h) for i, h in enumerate(headings))
    request = GenerationRequest(system="", turns=(), question=question, sources=sources, passages=tuple(passages))
    out: list[str] = []
    ExtractiveGenerator(max_sentences=2).stream(request, out.append)
    return "".join(out)


def test_extractive_answer_quotes_the_most_relevant_sentences_with_citations():
    answer = extract("How do I delete the stack?", [
        "The stack is built with SAM. Costs are low at rest for most users.",
        "Run sam delete to delete the stack and its bucket. Nothing else is needed here.",
    ])
    assert answer.startswith(INTRO)
    assert "- Run sam delete to delete the stack and its bucket. [2]" in answer
    assert answer.count("\n- ") <= 2


def test_extractive_answer_never_turns_document_brackets_into_citations():
    answer = extract("what does the note say about backups", ["The note [3] says backups run nightly at two."])
    assert "[3]" not in answer and "backups run nightly at two. [1]" in answer


def test_extractive_answer_quotes_a_sentence_repeated_by_overlapping_chunks_once():
    sentence = "Backups of the database run nightly at two."
    answer = extract("when do database backups run", [sentence + " Other words here.", sentence])
    assert answer.count(sentence) == 1


def test_extractive_answer_uses_the_section_heading_as_context():
    answer = extract("which file formats are supported", [
        "Uploads are stored in a folder on the same machine as the server.",
        "Markdown, PDF, DOCX and HTML files are read with well-kept libraries.",
    ], headings=[("Uploads",), ("Supported formats",)])
    assert "Markdown, PDF, DOCX and HTML files are read with well-kept libraries. [2]" in answer


def test_extractive_answer_skips_console_output_and_code():
    answer = extract("how do I ingest files", [
        "$ ragchat ingest ~/notes ~/notes: 100%|███| 214/214 [00:21<00:00, 10.1file/s] Files: 214 seen",
        "Run ragchat ingest with a folder to ingest its files.",
    ])
    assert "214/214" not in answer and "Run ragchat ingest with a folder to ingest its files. [2]" in answer


def test_extractive_semantic_scoring_embeds_each_sentence_once_across_answers():
    from tests.fakes import FakeHashingEmbedder

    embedder = FakeHashingEmbedder()
    generator = ExtractiveGenerator(embedder=embedder)
    request = GenerationRequest(system="", turns=(), question="when do backups run", sources=(source(1),),
                                passages=("Backups run nightly at two. Restores take an hour or so.",))
    first, second = [], []
    generator.stream(request, first.append)
    generator.stream(request, second.append)
    assert "".join(first) == "".join(second)
    assert "Backups run nightly at two. [1]" in "".join(first)
    assert embedder.calls == [2]  # two sentences embedded by the first answer, none by the second
