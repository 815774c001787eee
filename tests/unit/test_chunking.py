import itertools

import pytest

from ragchat.domain import ParsedDocument, Section, SourceObject
from ragchat.ingest.chunking import StructuredChunker
from ragchat.text import count_tokens

OBJ = SourceObject(key="guides/deploy.md", uri="file:///docs/guides/deploy.md", size=10)


def sentences(n: int, words: int = 9) -> str:
    return " ".join(f"Sentence {i} " + " ".join(f"w{i}x{j}" for j in range(words - 2)) + "." for i in range(n))


def doc(*sections: Section) -> ParsedDocument:
    return ParsedDocument(title="Deploy", sections=sections, doc_type="markdown")


def test_chunks_carry_provenance():
    parsed = doc(Section("Alpha text.", ("Deploy", "Steps")), Section("Page text.", (), page=3))
    chunks = StructuredChunker(100, 10).split(parsed, OBJ, "hash1")
    assert [(c.position, c.heading_path, c.page, c.title, c.path, c.doc_id) for c in chunks] == [
        (0, ("Deploy", "Steps"), None, "Deploy", "guides/deploy.md", OBJ.doc_id),
        (1, (), 3, "Deploy", "guides/deploy.md", OBJ.doc_id),
    ]
    assert chunks[0].embedding_text == "Deploy > Steps\n\nAlpha text."


def test_chunk_ids_are_deterministic_and_change_with_content():
    parsed = doc(Section(sentences(40)))
    first = [c.chunk_id for c in StructuredChunker(60, 10).split(parsed, OBJ, "hash1")]
    again = [c.chunk_id for c in StructuredChunker(60, 10).split(parsed, OBJ, "hash1")]
    changed = [c.chunk_id for c in StructuredChunker(60, 10).split(parsed, OBJ, "hash2")]
    assert first == again
    assert len(set(first)) == len(first) > 1
    assert not set(first) & set(changed)


def test_chunks_stay_within_the_token_budget_and_cover_every_sentence():
    text = sentences(50)
    chunks = StructuredChunker(60, 12).split(doc(Section(text)), OBJ, "h")
    assert all(c.token_count <= 60 for c in chunks)
    for i in range(50):
        assert any(f"Sentence {i} " in c.text for c in chunks), i


def test_consecutive_chunks_overlap_by_whole_sentences():
    chunks = StructuredChunker(60, 12).split(doc(Section(sentences(30))), OBJ, "h")
    for previous, current in itertools.pairwise(chunks):
        last_sentence = previous.text.rsplit(". ", 1)[-1]
        assert current.text.startswith(last_sentence.rstrip(".")), (previous.text, current.text)
        assert count_tokens(last_sentence) <= 12


def test_sections_are_never_mixed_in_one_chunk():
    parsed = doc(Section("Short one.", ("A",)), Section("Short two.", ("B",)))
    chunks = StructuredChunker(200, 20).split(parsed, OBJ, "h")
    assert [c.text for c in chunks] == ["Short one.", "Short two."]


def test_paragraphs_that_fit_are_kept_whole():
    paragraphs = "\n\n".join(sentences(2, 8) for _ in range(6))  # 6 paragraphs of ~20 tokens
    chunks = StructuredChunker(50, 0).split(doc(Section(paragraphs)), OBJ, "h")
    for chunk in chunks:
        assert all(p.startswith("Sentence 0") for p in chunk.text.split("\n\n"))


def test_a_sentence_longer_than_a_chunk_is_cut_on_token_boundaries():
    words = " ".join(f"word{i}" for i in range(250))
    chunks = StructuredChunker(100, 10).split(doc(Section(words)), OBJ, "h")
    assert [c.token_count for c in chunks] == [100, 100, 50]
    assert " ".join(c.text for c in chunks) == words


@pytest.mark.parametrize("max_tokens,overlap", [(10, 0), (100, 50), (100, -1)])
def test_invalid_sizes_are_refused(max_tokens, overlap):
    with pytest.raises(ValueError):
        StructuredChunker(max_tokens, overlap)
