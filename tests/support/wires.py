"""Each generation adapter over a FAKE model that says a script (tests/fakes.py), in that model's
real wire format: the adapter to test, and what the model received."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from tests.fakes import (
    BEDROCK_MODEL,
    ScriptedConverseRuntime,
    openai_offered_tools,
    openai_tool_results,
    scripted_openai_app,
)
from tests.support.servers import running


@dataclass
class Wire:
    generator: object  # the adapter under test (a Generator)
    requests: list  # what the FAKE model received, one per call
    offered: Callable[[object], list[str]]  # the names of the tools one request offered
    results: Callable[[object], list[str]]  # the tool results one request carried

    def tool_results(self, index: int) -> list[str]:
        return self.results(self.requests[index])


def converse_wire(script) -> Wire:
    """The boto3 Bedrock adapter over a FAKE ConverseStream runtime."""
    from ragchat.adapters.aws.bedrock import BedrockConverseGenerator

    runtime = ScriptedConverseRuntime(script)
    return Wire(BedrockConverseGenerator(BEDROCK_MODEL, client=runtime), runtime.requests,
                ScriptedConverseRuntime.offered_tools, ScriptedConverseRuntime.tool_results)


def bedrock_converse_model(client, model_id: str = BEDROCK_MODEL):
    """langchain-aws's ChatBedrockConverse over a given bedrock-runtime client (a FAKE one in tests)."""
    from langchain_aws import ChatBedrockConverse

    return ChatBedrockConverse(model=model_id, client=client, region_name="eu-west-1")


def langchain_wire(script, model_id: str = BEDROCK_MODEL) -> Wire:
    """The LangChain adapter around ChatBedrockConverse over the same FAKE ConverseStream runtime."""
    from ragchat.integrations.langchain import LangChainGenerator

    runtime = ScriptedConverseRuntime(script)
    return Wire(LangChainGenerator(bedrock_converse_model(runtime, model_id)), runtime.requests,
                ScriptedConverseRuntime.offered_tools, ScriptedConverseRuntime.tool_results)


@contextmanager
def openai_wire(script) -> Iterator[Wire]:
    """The OpenAI-compatible adapter over a FAKE endpoint served on a real socket."""
    from ragchat.adapters.openai_compat import OpenAICompatibleGenerator

    app, seen = scripted_openai_app(script)
    with running(app) as address:
        yield Wire(OpenAICompatibleGenerator(f"http://{address}/v1", "llama3.1"), seen, openai_offered_tools,
                   openai_tool_results)
