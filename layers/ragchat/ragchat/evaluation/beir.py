"""Datasets in the BEIR layout (corpus.jsonl, queries.jsonl, qrels/<split>.tsv) as a document source."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from ragchat.domain import SourceObject
from ragchat.errors import ConfigurationError


@dataclass
class BeirDataset:
    name: str
    corpus: dict[str, tuple[str, str]]  # doc id -> (title, text)
    queries: dict[str, str]  # query id -> text, only queries judged in the split
    qrels: dict[str, dict[str, int]]  # query id -> doc id -> grade


def _jsonl(path: Path) -> Iterator[dict]:
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            if line.strip():
                yield json.loads(line)


def load_beir(directory: str | Path, split: str = "test") -> BeirDataset:
    root = Path(directory)
    needed = [root / "corpus.jsonl", root / "queries.jsonl", root / "qrels" / f"{split}.tsv"]
    missing = [str(p) for p in needed if not p.is_file()]
    if missing:
        raise ConfigurationError(f"not a BEIR dataset folder, missing: {', '.join(missing)}")
    qrels: dict[str, dict[str, int]] = {}
    with needed[2].open(encoding="utf-8") as handle:
        for row in csv.reader(handle, delimiter="\t"):
            if len(row) < 3 or not row[2].strip().lstrip("-").isdigit():
                continue  # the header line, or a blank one
            qrels.setdefault(row[0], {})[row[1]] = int(row[2])
    queries = {q["_id"]: q["text"] for q in _jsonl(needed[1]) if q["_id"] in qrels}
    corpus = {d["_id"]: (d.get("title") or "", d.get("text") or "") for d in _jsonl(needed[0])}
    return BeirDataset(name=root.name, corpus=corpus, queries=queries, qrels=qrels)


class BeirCorpusSource:
    """DocumentSource over a BEIR corpus: each entry is a plain-text document keyed by its id."""

    def __init__(self, dataset: BeirDataset):
        self.dataset = dataset
        self.root_uri = f"beir://{dataset.name}/"

    def list(self) -> Iterator[SourceObject]:
        for doc_id in self.dataset.corpus:
            yield self._object(doc_id)

    def _object(self, doc_id: str) -> SourceObject:
        title, text = self.dataset.corpus[doc_id]
        return SourceObject(key=doc_id, uri=self.uri_for(doc_id), size=len(text.encode("utf-8")),
                            media_type="text/plain", title=title or None)

    def stat(self, key: str, version: str | None = None) -> SourceObject | None:
        return self._object(key) if key in self.dataset.corpus else None

    def uri_for(self, key: str) -> str:
        return self.root_uri + key

    def read(self, obj: SourceObject) -> bytes:
        return self.dataset.corpus[obj.key][1].encode("utf-8")


def beir_questions(dataset: BeirDataset):
    """The dataset's judged queries as an evaluation's question set."""
    from ragchat.evaluation.retrieval import QuestionSet

    return QuestionSet(dataset.name, dataset.queries, dataset.qrels)
