"""RAGCHAT_GENERATOR=langchain: the model named by configuration, and clear errors for every way
of naming it wrongly or of lacking the extra."""

import sys

import pytest

pytest.importorskip("langchain_aws", reason='the "langchain" extra is not installed')

from langchain_aws import ChatBedrockConverse

from ragchat.adapters.local.folder import FolderSource
from ragchat.bootstrap import build_chat, build_core, build_generator
from ragchat.config import Settings
from ragchat.errors import ConfigurationError
from ragchat.integrations.langchain import LangChainGenerator
from tests.fakes import FakeHashingEmbedder, ScriptedConverseRuntime
from tests.support.wires import bedrock_converse_model

SPOKEN = ScriptedConverseRuntime([[("text", "Deploy with sam deploy [1].")]])


def scripted_bedrock_model(**kwargs):
    """A factory to name in RAGCHAT_LANGCHAIN_MODEL: ChatBedrockConverse over a FAKE runtime."""
    return bedrock_converse_model(SPOKEN, **kwargs)


def langchain_settings(**values) -> Settings:
    return Settings.from_env({"RAGCHAT_GENERATOR": "langchain", "AWS_REGION": "eu-west-1",
                              **{f"RAGCHAT_{k.upper()}": v for k, v in values.items()}})


def test_langchain_generator_defaults_to_chat_bedrock_converse_with_the_bedrock_settings():
    generator = build_generator(langchain_settings(bedrock_model_id="amazon.nova-lite-v1:0"))
    assert isinstance(generator, LangChainGenerator) and isinstance(generator.model, ChatBedrockConverse)
    assert (generator.model.model_id, generator.model.region_name) == ("amazon.nova-lite-v1:0", "eu-west-1")
    assert generator.supports_tools


def test_langchain_model_kwargs_override_the_bedrock_settings():
    generator = build_generator(langchain_settings(
        langchain_model_kwargs='{"model_id": "us.anthropic.claude-3-5-haiku-20241022-v1:0", '
                               '"region_name": "us-east-1", "max_tokens": 100}'))
    model = generator.model
    assert (model.model_id, model.region_name, model.max_tokens) == (
        "us.anthropic.claude-3-5-haiku-20241022-v1:0", "us-east-1", 100)


def test_langchain_model_named_by_configuration_answers_in_the_chat(tmp_path):
    settings = langchain_settings(data_dir=str(tmp_path), tools="off",
                                  langchain_model=f"{__name__}:scripted_bedrock_model",
                                  langchain_model_kwargs='{"model_id": "anthropic.claude-3-haiku-20240307-v1:0"}')
    core = build_core(settings, embedder=FakeHashingEmbedder())
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "deploy.md").write_text("# Deploy\n\nDeploy the stack with sam deploy guided.\n")
    core.pipeline.sync(FolderSource(tmp_path / "docs"))
    frames = []
    reply = build_chat(core).answer("local", "How do I deploy?", frames.append)
    assert "".join(f["text"] for f in frames if f["type"] == "delta") == "Deploy with sam deploy [1]."
    assert reply.content == "Deploy with sam deploy [1]." and reply.citations[0].path == "deploy.md"
    assert SPOKEN.requests[-1]["modelId"] == "anthropic.claude-3-haiku-20240307-v1:0"


@pytest.mark.parametrize(("values", "message"), [
    ({"langchain_model": "langchain_aws.ChatBedrockConverse"}, "must be module:attribute"),
    ({"langchain_model": "no_such_package:Model"}, "cannot import no_such_package"),
    ({"langchain_model": "langchain_aws:NoSuchModel"}, "has no class or function named NoSuchModel"),
    ({"langchain_model_kwargs": "{model: 1}"}, "RAGCHAT_LANGCHAIN_MODEL_KWARGS is not JSON"),
    ({"langchain_model_kwargs": "[1, 2]"}, "must be a JSON object, got list"),
    ({"langchain_model_kwargs": '{"temperature": "very hot"}'}, "could not build a model: ValidationError"),
    ({"langchain_model": "builtins:dict"}, "made a dict, not a LangChain chat model"),
])
def test_langchain_model_misconfigured_is_a_configuration_error(values, message):
    with pytest.raises(ConfigurationError, match=message):
        build_generator(langchain_settings(**values))


def test_langchain_generator_without_the_extra_says_how_to_install_it(monkeypatch):
    for name in [n for n in sys.modules if n.startswith("ragchat.integrations.langchain")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "langchain_core", None)  # what an environment without the extra imports
    with pytest.raises(ConfigurationError, match=r'pip install "ragchat\[langchain\]"'):
        build_generator(langchain_settings())
