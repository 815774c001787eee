"""The tool loop's bounds and ordering, with a FAKE neutral model (no wire format) and fake tools;
and the adapters' translation of tool turns to the Converse and OpenAI wire formats."""

import json

from ragchat.adapters.aws.bedrock import BedrockConverseGenerator
from ragchat.adapters.openai_compat import OpenAICompatibleGenerator
from ragchat.adapters.tool_calls import tool_call
from ragchat.chat.tool_loop import LAST_CALL, ToolLoop
from ragchat.domain import GenerationRequest, SourceBook, ToolCall, ToolContext, ToolResult, ToolSpec, Turn
from ragchat.tools.registry import ToolRegistry
from tests.fakes import BEDROCK_MODEL, ScriptedConverseRuntime, ScriptedToolGenerator
from tests.support.chat import limits as default_limits
from tests.unit.test_tools import EchoTool

REQUEST = GenerationRequest(system="s", turns=(Turn("user", "q"),), question="q", sources=())


class Clock:
    now = 0.0

    def __call__(self):
        return self.now


def echo(n, text="x"):
    return ToolCall(f"c{n}", "echo", {"text": text})


def run(model, limits=None, clock=None):
    text, events, order = [], [], []
    loop = ToolLoop(model, ToolRegistry([EchoTool()]), limits or default_limits(), clock=clock or Clock())
    result = loop.run(REQUEST, ToolContext("alice", SourceBook()), lambda t: (text.append(t), order.append("text")),
                      lambda e: (events.append(e), order.append("tool")), before_tool=lambda: order.append("flush"))
    return result, "".join(text), events, order


def test_loop_runs_tools_and_feeds_results_back():
    model = ScriptedToolGenerator([("Looking.", [echo(1, "a"), echo(2, "b")], 10), ("Done.", [], 10)])
    result, text, events, order = run(model)
    assert (result.stop_reason, result.steps, result.tool_calls) == ("end_turn", 2, 2)
    assert text == "Looking.\n\nDone."
    assert order == ["text", "flush", "tool", "tool", "tool", "tool", "text"]
    assert [(e["callId"], e["status"]) for e in events] == [("c1", "started"), ("c1", "done"), ("c2", "started"),
                                                           ("c2", "done")]
    sent = model.requests[1]
    assert sent.tools[0].name == "echo"
    assert sent.turns[-2] == Turn("assistant", "Looking.", tool_calls=(echo(1, "a"), echo(2, "b")))
    assert sent.turns[-1].tool_results == (ToolResult("c1", "a"), ToolResult("c2", "b"))


def test_loop_step_bound_makes_one_last_call_without_running_its_tools():
    model = ScriptedToolGenerator([("", [echo(1)], 1)])
    result, text, events, _ = run(model, default_limits(max_steps=3))
    assert (result.stop_reason, result.steps, result.tool_calls) == ("tool_limit", 4, 3)
    assert len(model.requests) == 4 and len(events) == 6
    assert model.requests[-1].turns[-1].content == LAST_CALL
    assert "step limit" in text


def test_loop_token_bound_stops_after_the_step_that_crossed_it():
    model = ScriptedToolGenerator([("", [echo(1)], 600)])
    result, text, _, _ = run(model, default_limits(max_tokens=2000))
    assert (result.stop_reason, result.steps) == ("token_limit", 2)  # 1,200 then 2,400 tokens
    assert result.input_tokens + result.output_tokens == 2400 and "token limit" in text


def test_loop_token_bound_counts_everything_sent_when_the_model_reports_no_usage():
    from ragchat.chat.tool_loop import estimate_tokens

    model = ScriptedToolGenerator([("", [echo(1, "word " * 3000)], 0)])  # reports no usage at all
    result, text, _, _ = run(model, default_limits(max_steps=10, max_tokens=12_000))
    # each call after the first sends the 3,000-word call and its 3,000-word result again
    assert estimate_tokens(model.requests[1]) > 2 * 2500  # results and call inputs are counted
    assert (result.stop_reason, result.steps) == ("token_limit", 2) and "token limit" in text


def test_loop_time_bound_refuses_remaining_tools_and_stops():
    clock = Clock()
    model = ScriptedToolGenerator([("", [echo(1), echo(2)], 1)], clock=clock, tick=40.0)
    result, text, events, _ = run(model, default_limits(max_seconds=60), clock=clock)
    assert result.stop_reason == "time_limit" and result.steps == 2 and "time limit" in text
    second_step = [e for e in events if e["step"] == 2]
    assert [(e["status"], e["summary"]) for e in second_step] == [
        ("error", "not run: the answer's time limit was reached")] * 2


def test_loop_refuses_calls_beyond_the_per_step_limit():
    model = ScriptedToolGenerator([("", [echo(n) for n in range(4)], 1), ("ok", [], 1)])
    _, _, events, _ = run(model, default_limits(max_calls_per_step=2))
    assert [e["status"] for e in events] == ["started", "done", "started", "done", "error", "error"]
    assert model.requests[1].turns[-1].tool_results[3].is_error


# -- wire translation ----------------------------------------------------------------------------
SPEC = ToolSpec("echo", "echo text", EchoTool.input_schema)
TOOL_TURNS = (Turn("user", "q"), Turn("assistant", "", tool_calls=(ToolCall("t1", "echo", {"text": "a"}),)),
              Turn("user", "", tool_results=(ToolResult("t1", "a"), ToolResult("t2", "boom", is_error=True))))


def test_converse_translation_of_tool_turns_and_config():
    runtime = ScriptedConverseRuntime([[("text", "fine")]])
    BedrockConverseGenerator("us.anthropic.claude-3-5-haiku-20241022-v1:0", client=runtime).stream(
        GenerationRequest("s", TOOL_TURNS, "q", (), tools=(SPEC,)), lambda _: None)
    request = runtime.requests[0]
    assert request["toolConfig"] == {"tools": [{"toolSpec": {"name": "echo", "description": "echo text",
                                                             "inputSchema": {"json": EchoTool.input_schema}}}]}
    assert request["messages"][1] == {"role": "assistant", "content": [
        {"toolUse": {"toolUseId": "t1", "name": "echo", "input": {"text": "a"}}}]}  # no blank text block
    assert request["messages"][2]["content"] == [
        {"toolResult": {"toolUseId": "t1", "content": [{"text": "a"}], "status": "success"}},
        {"toolResult": {"toolUseId": "t2", "content": [{"text": "boom"}], "status": "error"}}]


def test_converse_tool_results_leave_out_status_for_models_that_refuse_it():
    runtime = ScriptedConverseRuntime([[("text", "fine")]])
    BedrockConverseGenerator("meta.llama3-1-70b-instruct-v1:0", client=runtime).stream(
        GenerationRequest("s", TOOL_TURNS, "q", (), tools=(SPEC,)), lambda _: None)
    assert runtime.requests[0]["messages"][2]["content"] == [
        {"toolResult": {"toolUseId": "t1", "content": [{"text": "a"}]}},
        {"toolResult": {"toolUseId": "t2", "content": [{"text": "boom"}]}}]


def test_converse_assembles_tool_input_streamed_in_pieces():
    runtime = ScriptedConverseRuntime([[("text", "Let me look."), ("tool", "echo", {"text": "a long enough input"}),
                                        ("tool", "echo", '{"text": "cut')]])
    pieces = []
    result = BedrockConverseGenerator(BEDROCK_MODEL, client=runtime).stream(
        GenerationRequest("s", (Turn("user", "q"),), "q", (), tools=(SPEC,)), pieces.append)
    assert result.stop_reason == "tool_use" and result.text == "Let me look." == "".join(pieces)
    first, second = result.tool_calls
    assert (first.call_id, first.name, first.input) == ("tooluse_1_1", "echo", {"text": "a long enough input"})
    assert second.input is None and "Unterminated string" in second.input_error


def test_openai_translation_of_tool_turns():
    messages = OpenAICompatibleGenerator._messages("s", (*TOOL_TURNS, Turn("assistant", "answer")))
    assert messages[2] == {"role": "assistant", "content": None, "tool_calls": [
        {"id": "t1", "type": "function", "function": {"name": "echo", "arguments": json.dumps({"text": "a"})}}]}
    assert messages[3:] == [{"role": "tool", "tool_call_id": "t1", "content": "a"},
                            {"role": "tool", "tool_call_id": "t2", "content": "boom"},
                            {"role": "assistant", "content": "answer"}]
    assert OpenAICompatibleGenerator.tools_param((SPEC,)) == [{"type": "function", "function": {
        "name": "echo", "description": "echo text", "parameters": EchoTool.input_schema}}]


def test_tool_call_arguments_must_be_a_json_object():
    assert tool_call("a", "echo", "").input == {}
    assert tool_call("a", "echo", "[1]").input_error == "expected a JSON object, got list"
    assert tool_call("a", "echo", '{"text": "x"}').input == {"text": "x"}
