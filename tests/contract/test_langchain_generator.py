"""The LangChain adapter passes the generation contract around langchain-aws's ChatBedrockConverse,
driven through the same FAKE ConverseStream runtime as the boto3 adapter."""

import pytest

pytest.importorskip("langchain_aws", reason='the "langchain" extra is not installed')

from ragchat.integrations.langchain import LangChainGenerator
from tests.contract.generation_contract import GenerationContract
from tests.contract.test_generators import STREAM_ERROR
from tests.fakes import FakeBedrockRuntime
from tests.support.wires import bedrock_converse_model, langchain_wire


class TestLangChainGeneratorOverChatBedrockConverse(GenerationContract):
    @pytest.fixture
    def wire(self):
        return langchain_wire

    @pytest.fixture
    def failing(self):
        return LangChainGenerator(bedrock_converse_model(FakeBedrockRuntime(error_event=STREAM_ERROR)))
