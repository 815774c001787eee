"""Randomized interleavings of S3 changes handled by concurrent ingest workers, then a check that the
store ended up exactly as the bucket is.

Each scenario makes random changes to a few keys of a versioned bucket (moto): puts, replacements,
deletes, and deletions of the current version. Each change's notification (with the sequencer and
version id real S3 sends) is delivered once or twice, in a shuffled order, to its own worker: the
real ingest function over the real OpenSearch adapter, a FAKE collection whose searches see writes
60 s late, and the document records in DynamoDB (moto). Workers pause at two points, before they
look at the stored order and before they commit, and a scheduler resumes one at a time in a random
order, so writes race every way they can; a worker may crash between indexing and committing, or
fail the way a retry may fix (the embedding model throttles: the pipeline records the document as
failed), and its event is then redelivered. The fake clock moves on at random between steps. At the end, time
passes beyond every delay, the delayed sweeps run, and each key is compared with the bucket:

- stale: chunks of the key's document that are not of its current write;
- duplicate: two chunks of the current write with the same chunk id;
- orphan: chunks of a document that has no record;
- resurrected: a document in the store for a key the bucket has deleted;
- missing: a key the bucket holds whose current version the store does not hold as indexed.
"""

from __future__ import annotations

import hashlib
import random
import threading
from collections import Counter
from dataclasses import dataclass, field

from aws_lambda_powertools.utilities.data_classes import S3Event

from ragchat.adapters.aws.s3_source import S3Source
from ragchat.bootstrap import build_core, build_ingest_function
from ragchat.config import Settings
from ragchat.domain import stable_id
from ragchat.errors import IngestFailed
from tests.fake_opensearch import FakeOpenSearchEngine
from tests.fakes import titan_embedder
from tests.support.aws import FakeClock, opensearch_store
from tests.support.s3_events import S3Changes

VISIBILITY_S = 60
SWEEP_AFTER_S = 900


class Crash(BaseException):
    """A worker dies between indexing and committing (a Lambda timeout, an out-of-memory kill)."""


@dataclass
class Outcome:
    stale: int = 0
    duplicate: int = 0
    orphan: int = 0
    resurrected: int = 0
    missing: int = 0
    deliveries: int = 0
    crashes: int = 0
    failures: int = 0
    notes: list[str] = field(default_factory=list)

    @property
    def clean(self) -> bool:
        return not (self.stale or self.duplicate or self.orphan or self.resurrected or self.missing)


class _Worker(threading.Thread):
    """One delivery of one event, pausing at each gate until the scheduler resumes it."""

    def __init__(self, function, event: dict, fault: str | None):
        super().__init__(daemon=True)
        self.function, self.event, self.fault = function, event, fault
        self.resume, self.parked = threading.Event(), threading.Event()
        self.done, self.crashed, self.error = False, False, None

    def gate(self, commit: bool) -> None:
        self.parked.set()
        self.resume.wait()
        self.resume.clear()
        if commit and self.fault == "crash":
            raise Crash("died before committing")

    def run(self) -> None:
        self.resume.wait()
        self.resume.clear()
        try:
            self.function.apply(S3Event(self.event))
        except (Crash, IngestFailed):  # the message returns to the queue and is delivered again
            self.crashed = True
        except Exception as exc:  # anything else is a finding
            self.error = exc
        self.done = True
        self.parked.set()


class _FlakyEmbedder:
    """The embedder, throttled for the workers whose fault is "fail"."""

    def __init__(self, embedder, workers: dict[int, _Worker]):
        self.embedder, self.workers = embedder, workers

    def __getattr__(self, name):
        return getattr(self.embedder, name)

    def embed_documents(self, texts):
        worker = self.workers.get(threading.get_ident())
        if worker is not None and worker.fault == "fail":
            raise RuntimeError("ThrottlingException: Too many requests")
        return self.embedder.embed_documents(texts)


class _GatedRecords:
    """The document records, with the calling worker pausing before its reads and writes."""

    def __init__(self, records, workers: dict[int, _Worker]):
        self.records, self.workers = records, workers

    def _gate(self, commit: bool) -> None:
        worker = self.workers.get(threading.get_ident())
        if worker is not None:
            worker.gate(commit)

    def __getattr__(self, name):
        return getattr(self.records, name)

    def stored_order(self, doc_id):
        self._gate(False)
        return self.records.stored_order(doc_id)

    def commit(self, record):
        self._gate(True)
        return self.records.commit(record)

    def tombstone(self, doc_id, order):
        self._gate(False)
        return self.records.tombstone(doc_id, order)


def _changes(bucket: S3Changes, rng: random.Random, keys: list[str]) -> list[dict]:
    notifications, versions = [], {k: [] for k in keys}
    for step in range(rng.randint(3, 7)):
        key = rng.choice(keys)
        roll = rng.random()
        if roll < 0.55 or not versions[key]:
            words = " ".join(rng.choice(["alpha", "bravo", "charlie", "delta", "echo", "foxtrot"]) for _ in range(6))
            record = bucket.put(key, f"# {key}\n\nStep {step} says {words}.\n".encode())
            versions[key].append(record["s3"]["object"]["versionId"])
        elif roll < 0.8:
            record = bucket.delete(key)
            versions[key] = []
        else:
            record = bucket.delete_version(key, versions[key].pop())
        notifications.append(record)
    return notifications


def run_scenario(s3, seed: int) -> Outcome:
    """One scenario against a fresh bucket, store and collection (moto must be active)."""
    rng = random.Random(seed)
    clock = FakeClock()
    engine = FakeOpenSearchEngine(visibility_delay=VISIBILITY_S, clock=clock)
    scheduled: list[str] = []
    store = opensearch_store(engine, prefix=f"s{seed}", table=f"documents-{seed}",
                             schedule_sweep=scheduled.append, sweep_after_s=SWEEP_AFTER_S)
    workers: dict[int, _Worker] = {}
    store.records = _GatedRecords(store.records, workers)
    bucket = S3Changes(s3, f"interleave-{seed}")
    settings = Settings(backend="aws")
    core = build_core(settings, store=store, embedder=_FlakyEmbedder(titan_embedder(), workers))

    def function():
        return build_ingest_function(settings, core=core, source_for=lambda name: S3Source(name, client=s3))

    keys = [f"notes/key {i}.md" for i in range(rng.randint(1, 3))]
    pending = [bucket.event(n) for n in _changes(bucket, rng, keys) for _ in range(rng.choice((1, 1, 2)))]
    rng.shuffle(pending)
    outcome = Outcome()
    running: list[_Worker] = []
    while pending or running:
        if pending and (not running or rng.random() < 0.4):  # a new delivery starts
            roll = rng.random()
            worker = _Worker(function(), pending.pop(), "crash" if roll < 0.1 else "fail" if roll < 0.2 else None)
            worker.start()
            workers[worker.ident] = worker
            running.append(worker)
            outcome.deliveries += 1
        worker = rng.choice(running)
        clock.advance(rng.choice((0, 0, 5, 30, 61)))
        worker.parked.clear()
        worker.resume.set()
        worker.parked.wait(30)
        if worker.done:
            running.remove(worker)
            if worker.error:
                raise worker.error
            if worker.crashed:  # the queue redelivers it later
                outcome.crashes += worker.fault == "crash"
                outcome.failures += worker.fault == "fail"
                pending.insert(rng.randrange(len(pending) + 1), worker.event)
    clock.advance(SWEEP_AFTER_S + VISIBILITY_S + 1)  # every delayed sweep is due, every write visible
    for doc_id in set(scheduled):
        store.sweep(doc_id)
    clock.advance(VISIBILITY_S + 1)
    _check(store, engine, bucket, keys, outcome)
    return outcome


def _check(store, engine, bucket: S3Changes, keys: list[str], outcome: Outcome) -> None:
    chunks = [d.source for d in engine.indexes[store.chunks_index].docs.values() if d.deleted_at is None]
    by_doc: dict[str, list[dict]] = {}
    for chunk in chunks:
        by_doc.setdefault(chunk["doc_id"], []).append(chunk)
    source = S3Source(bucket.bucket, client=bucket.s3)
    expected = {}
    for key in keys:
        obj = source.stat(key)
        expected[stable_id(source.uri_for(key))] = (key, obj and hashlib.sha256(source.read(obj)).hexdigest())
    for doc_id, (key, content_hash) in expected.items():
        record = store.get_document(doc_id)
        mine = by_doc.pop(doc_id, [])
        if content_hash is None:
            if record is not None or mine:
                outcome.resurrected += 1
                outcome.notes.append(f"{key}: deleted in the bucket, {len(mine)} chunks in the store")
            continue
        if record is None or record.content_hash != content_hash or record.status != "indexed":
            outcome.missing += 1
            outcome.notes.append(f"{key}: the store holds {record and record.content_hash}, the bucket {content_hash}")
            continue
        current = [c for c in mine if c["generation"] == record.generation]
        outcome.stale += len(mine) - len(current)
        outcome.duplicate += sum(n - 1 for n in Counter(c["chunk_id"] for c in current).values())
    outcome.orphan += sum(len(rest) for rest in by_doc.values())
