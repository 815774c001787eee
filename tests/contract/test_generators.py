"""The generation contract (generation_contract.py) passed by the boto3 Bedrock, OpenAI-compatible
and extractive adapters; the LangChain adapter passes it in test_langchain_generator.py."""

from contextlib import ExitStack

import httpx
import pytest

from ragchat.adapters.aws.bedrock import BedrockConverseGenerator
from ragchat.adapters.local.extractive import ExtractiveGenerator
from ragchat.adapters.openai_compat import OpenAICompatibleGenerator
from tests.contract.generation_contract import GenerationContract
from tests.fakes import BEDROCK_MODEL, FailingEmbedder, FakeBedrockRuntime, FakeHashingEmbedder
from tests.support.wires import Wire, converse_wire, openai_wire

STREAM_ERROR = {"modelStreamErrorException": {"message": "the model crashed mid-answer"}}


class TestBedrockConverseGenerator(GenerationContract):
    @pytest.fixture
    def wire(self):
        return converse_wire

    @pytest.fixture
    def failing(self):
        return BedrockConverseGenerator(BEDROCK_MODEL, client=FakeBedrockRuntime(error_event=STREAM_ERROR))


class TestOpenAICompatibleGenerator(GenerationContract):
    @pytest.fixture
    def wire(self):
        with ExitStack() as servers:
            yield lambda script: servers.enter_context(openai_wire(script))

    @pytest.fixture
    def failing(self):
        overloaded = httpx.MockTransport(lambda request: httpx.Response(503, text="model overloaded"))
        return OpenAICompatibleGenerator("http://model.invalid/v1", "llama3.1", transport=overloaded)


class TestExtractiveGenerator(GenerationContract):
    """No model says a script here: the extractive generator quotes the request's sources."""

    @pytest.fixture
    def wire(self):
        return lambda script: Wire(ExtractiveGenerator(embedder=FakeHashingEmbedder()), [], list, list)

    @pytest.fixture
    def failing(self):
        return ExtractiveGenerator(embedder=FailingEmbedder())  # its model is the embedding model
