"""The LangChain adapter beyond the generation contract: stop reasons, usage and per-call options
through ChatBedrockConverse over the FAKE Converse runtimes, a model that answers tool calls whole
instead of streaming them, and a LangChain model without tool support."""

import pytest

pytest.importorskip("langchain_aws", reason='the "langchain" extra is not installed')

from langchain_core.language_models import BaseChatModel
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage, AIMessageChunk
from langchain_core.messages.tool import invalid_tool_call, tool_call_chunk
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult

from ragchat.domain import GenerationRequest, ToolCall, ToolResult, Turn
from ragchat.integrations.langchain import LangChainGenerator
from tests.contract.generation_contract import REQUEST, WITH_TOOLS
from tests.fakes import FakeBedrockRuntime
from tests.support.wires import bedrock_converse_model, langchain_wire

LLAMA = "meta.llama3-1-70b-instruct-v1:0"  # on Bedrock: streams text, but not with tools


class FakeToolCallingChatModel(BaseChatModel):
    """A FAKE LangChain chat model of a provider other than Bedrock: it streams the given chunks
    (string content, tool-call pieces, its own stop key), or answers `whole` when streaming is off."""

    chunks: list = []
    whole: AIMessage | None = None

    @property
    def _llm_type(self) -> str:
        return "fake-tool-calling"

    def bind_tools(self, tools, **kwargs):
        return self.bind(tools=tools)

    def _stream(self, messages, stop=None, run_manager=None, **kwargs):
        for chunk in self.chunks:
            yield ChatGenerationChunk(message=chunk)

    def _generate(self, messages, stop=None, run_manager=None, **kwargs):
        return ChatResult(generations=[ChatGeneration(message=self.whole)])


@pytest.mark.parametrize(("converse_reason", "reason"), [
    ("max_tokens", "max_tokens"), ("guardrail_intervened", "guardrail"), ("stop_sequence", "end_turn")])
def test_langchain_generator_maps_the_models_stop_reason(converse_reason, reason):
    generator = LangChainGenerator(bedrock_converse_model(FakeBedrockRuntime(stop_reason=converse_reason)))
    result = generator.stream(REQUEST, [].append)
    assert (result.stop_reason, result.text) == (reason, "Hello there [1].")


def test_langchain_generator_sends_answer_length_and_temperature_and_reports_usage():
    w = langchain_wire([[("text", "Fine.")]])
    result = w.generator.stream(GenerationRequest(system="s", turns=(Turn("user", "q"),), question="q", sources=(),
                                                  max_tokens=123, temperature=0.4), [].append)
    assert w.requests[0]["inferenceConfig"] == {"maxTokens": 123, "temperature": 0.4}
    assert w.requests[0]["system"] == [{"text": "s"}]
    assert (result.input_tokens, result.output_tokens) == (200, 20)


def test_langchain_generator_sends_history_and_tool_results_as_converse_messages():
    w = langchain_wire([[("text", "ok")]])
    call = ToolCall("t1", "search_documents", {"query": "rollback"})
    request = GenerationRequest(system="s", question="q", sources=(), tools=WITH_TOOLS.tools, turns=(
        Turn("user", "q1"), Turn("assistant", "a1"), Turn("user", "q2"), Turn("assistant", "", tool_calls=(call,)),
        Turn("user", "Answer now.", tool_results=(ToolResult("t1", "no such document", is_error=True),))))
    w.generator.stream(request, [].append)
    messages = w.requests[0]["messages"]
    assert [m["role"] for m in messages] == ["user", "assistant", "user", "assistant", "user"]
    assert messages[3]["content"] == [{"toolUse": {"toolUseId": "t1", "input": {"query": "rollback"},
                                                   "name": "search_documents"}}]
    assert messages[4]["content"] == [{"toolResult": {"content": [{"text": "no such document"}],
                                                      "toolUseId": "t1", "status": "error"}}, {"text": "Answer now."}]


def test_langchain_generator_takes_tool_calls_from_a_model_that_answers_them_whole():
    """LangChain falls back to the unstreamed Converse call for a Bedrock model that cannot stream
    tool use: the text still reaches the sink, the calls come from the whole message."""
    w = langchain_wire([[("text", "Let me look."), ("tool", "search_documents", {"query": "rollback"})]], LLAMA)
    pieces = []
    result = w.generator.stream(WITH_TOOLS, pieces.append)
    assert "toolConfig" in w.requests[0] and pieces == ["Let me look."]
    assert result.stop_reason == "tool_use"
    assert [(c.call_id, c.name, c.input) for c in result.tool_calls] == [
        ("tooluse_1_1", "search_documents", {"query": "rollback"})]


def test_langchain_generator_over_a_model_without_tool_support_streams_plain_text():
    model = GenericFakeChatModel(messages=iter([AIMessage("Roll back with sam delete [1].")]))
    generator = LangChainGenerator(model)
    pieces = []
    result = generator.stream(WITH_TOOLS, pieces.append)  # tools offered, but this model cannot take them
    assert generator.supports_tools is False
    assert len(pieces) > 1 and "".join(pieces) == result.text == "Roll back with sam delete [1]."
    assert (result.stop_reason, result.tool_calls) == ("end_turn", ())


def test_langchain_generator_refuses_what_is_not_a_chat_model():
    with pytest.raises(TypeError, match="BaseChatModel"):
        LangChainGenerator(object())


def test_langchain_generator_takes_tool_calls_a_provider_ends_with_a_plain_stop():
    """Ollama's native API, for one, says done_reason "stop" after a tool call."""
    model = FakeToolCallingChatModel(chunks=[
        AIMessageChunk(content="Checking."),
        AIMessageChunk(content="", tool_call_chunks=[tool_call_chunk(name="search_documents", args='{"query": ',
                                                                     id="call_a", index=0)]),
        AIMessageChunk(content="", tool_call_chunks=[tool_call_chunk(args='"rollback"}', index=0)]),
        AIMessageChunk(content="", response_metadata={"done_reason": "stop"},
                       usage_metadata={"input_tokens": 50, "output_tokens": 9, "total_tokens": 59})])
    pieces = []
    result = LangChainGenerator(model).stream(WITH_TOOLS, pieces.append)
    assert pieces == ["Checking."] and result.text == "Checking."
    assert result.stop_reason == "tool_use" and (result.input_tokens, result.output_tokens) == (50, 9)
    assert [(c.call_id, c.name, c.input) for c in result.tool_calls] == [
        ("call_a", "search_documents", {"query": "rollback"})]


def test_langchain_generator_reports_unparseable_arguments_of_a_whole_reply():
    model = FakeToolCallingChatModel(disable_streaming=True, whole=AIMessage(content="", invalid_tool_calls=[
        invalid_tool_call(name="search_documents", args='{"query": "rollb', id="call_b", error="not JSON")]))
    (call,) = LangChainGenerator(model).stream(WITH_TOOLS, [].append).tool_calls
    assert (call.call_id, call.name, call.input) == ("call_b", "search_documents", None) and call.input_error
