from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.fakes import FakeHashingEmbedder

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("RAGCHAT_SHARED_DIR", ROOT.parent / "shared"))


@pytest.fixture(autouse=True)
def fresh_aws_clients():
    """A test's AWS clients (moto's region, endpoint and credentials) never leak into the next."""
    yield
    from ragchat.adapters.aws.clients import dynamodb

    dynamodb.cache_clear()


@pytest.fixture
def fake_embedder() -> FakeHashingEmbedder:
    return FakeHashingEmbedder()


@pytest.fixture(scope="session")
def real_embedder(tmp_path_factory):
    """The real all-MiniLM-L6-v2 as the product builds it (questions through ONNX Runtime), loaded
    once for the whole session."""
    pytest.importorskip("sentence_transformers", reason="the 'local' extra is not installed")
    from ragchat.bootstrap import build_embedder
    from ragchat.config import Settings

    embedder = build_embedder(Settings(data_dir=tmp_path_factory.mktemp("embedder")))
    embedder.warm_up()
    return embedder


def shared_dataset(*parts: str) -> Path:
    """A folder under ../shared/datasets, or a skip that says it is missing."""
    path = SHARED.joinpath("datasets", *parts)
    if not path.exists():
        pytest.skip(f"{path} is absent: the shared datasets are not beside this checkout")
    return path


@pytest.fixture
def aws(monkeypatch):
    """Fake credentials in eu-west-1, with moto standing in for every AWS API it emulates."""
    from moto import mock_aws

    for key, value in {"AWS_DEFAULT_REGION": "eu-west-1", "AWS_ACCESS_KEY_ID": "testing",
                       "AWS_SECRET_ACCESS_KEY": "testing", "POWERTOOLS_TRACE_DISABLED": "true",
                       "POWERTOOLS_METRICS_NAMESPACE": "ragchat"}.items():
        monkeypatch.setenv(key, value)
    with mock_aws():
        yield


@pytest.fixture
def event():
    """events/<name> as a fresh dict: the very files `sam local invoke -e` uses."""
    from tests.support.lambdas import load_event

    return load_event


def pytest_terminal_summary(terminalreporter):
    from tests.support.fuzz import tally

    if tally:
        fuzzed = ", ".join(f"{count} {kind}" for kind, count in sorted(tally.items()))
        terminalreporter.write_line(f"fuzzed (Hypothesis): {fuzzed}; every one handled")
