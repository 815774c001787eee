import pytest
from botocore.exceptions import ClientError

from ragchat.adapters.aws.bedrock import BedrockConverseGenerator
from ragchat.domain import GenerationRequest, Turn
from ragchat.errors import GenerationError
from tests.fakes import BEDROCK_MODEL, FakeBedrockRuntime

REQUEST = GenerationRequest(system="cite sources", turns=(Turn("user", "q1"), Turn("assistant", "a1"),
                                                          Turn("user", "Sources: ...\n\nQuestion: q2")),
                            question="q2", sources=(), max_tokens=300)


def test_bedrock_generator_streams_text_and_maps_the_converse_request():
    client = FakeBedrockRuntime()
    out = []
    result = BedrockConverseGenerator("model-x", client=client).stream(REQUEST, out.append)
    assert out == ["Hello", " there [1]."]
    assert (result.stop_reason, result.input_tokens, result.output_tokens) == ("end_turn", 120, 2)
    sent = client.requests[0]
    assert sent["modelId"] == "model-x" and sent["system"] == [{"text": "cite sources"}]
    assert [m["role"] for m in sent["messages"]] == ["user", "assistant", "user"]
    assert sent["messages"][2]["content"] == [{"text": "Sources: ...\n\nQuestion: q2"}]
    assert sent["inferenceConfig"]["maxTokens"] == 300


def test_bedrock_generator_reports_max_tokens_and_stream_errors():
    out = []
    generator = BedrockConverseGenerator(BEDROCK_MODEL, client=FakeBedrockRuntime(stop_reason="max_tokens"))
    result = generator.stream(REQUEST, out.append)
    assert result.stop_reason == "max_tokens"
    failing = FakeBedrockRuntime(error_event={"modelStreamErrorException": {"message": "boom"}})
    with pytest.raises(GenerationError, match="modelStreamErrorException"):
        BedrockConverseGenerator(BEDROCK_MODEL, client=failing).stream(REQUEST, [].append)


def test_bedrock_generator_client_errors_become_generation_errors():
    error = ClientError({"Error": {"Code": "AccessDeniedException", "Message": "no model access"}}, "ConverseStream")
    with pytest.raises(GenerationError, match="no model access"):
        BedrockConverseGenerator(BEDROCK_MODEL, client=FakeBedrockRuntime(client_error=error)).stream(
            REQUEST, [].append)


def test_bedrock_generator_complete_joins_text_blocks():
    runtime = FakeBedrockRuntime(completion=["How is ", "ragchat deployed?"])
    assert BedrockConverseGenerator(BEDROCK_MODEL, client=runtime).complete("s", "p") == "How is ragchat deployed?"
    assert runtime.requests[0]["messages"] == [{"role": "user", "content": [{"text": "p"}]}]


def test_bedrock_generator_error_tells_clients_the_code_never_the_account_or_role():
    message = ("User: arn:aws:sts::123456789012:assumed-role/ragchat-chat-role/ragchat-chat-dev is not "
               "authorized to perform: bedrock:InvokeModelWithResponseStream")
    error = ClientError({"Error": {"Code": "AccessDeniedException", "Message": message}}, "ConverseStream")
    with pytest.raises(GenerationError) as raised:
        BedrockConverseGenerator(BEDROCK_MODEL, client=FakeBedrockRuntime(client_error=error)).stream(
            REQUEST, [].append)
    assert "123456789012" in str(raised.value)  # the log keeps the detail
    assert raised.value.public == "the model service could not answer (AccessDeniedException)"
