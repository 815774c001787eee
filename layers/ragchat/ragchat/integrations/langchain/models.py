"""A LangChain chat model named by configuration.

RAGCHAT_LANGCHAIN_MODEL is "module:attribute": a chat model class or any factory that returns one
(`langchain_aws:ChatBedrockConverse`, `langchain_openai:ChatOpenAI`,
`langchain.chat_models:init_chat_model`, or a function of your own). RAGCHAT_LANGCHAIN_MODEL_KWARGS
is a JSON object of the keyword arguments it is called with. ChatBedrockConverse gets
RAGCHAT_BEDROCK_MODEL_ID and the region of the AWS adapters unless the arguments name their own.
"""

from __future__ import annotations

import importlib
import json

from langchain_core.language_models import BaseChatModel

from ragchat.config import Settings
from ragchat.errors import ConfigurationError
from ragchat.integrations.langchain.generator import LangChainGenerator


def _factory(spec: str):
    module_name, _, attribute = spec.partition(":")
    if not module_name or not attribute:
        raise ConfigurationError(f"RAGCHAT_LANGCHAIN_MODEL={spec!r} must be module:attribute, "
                                 "e.g. langchain_aws:ChatBedrockConverse")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise ConfigurationError(f"RAGCHAT_LANGCHAIN_MODEL={spec!r}: cannot import {module_name} ({exc}); "
                                 "install the package that provides it") from exc
    factory = getattr(module, attribute, None)
    if not callable(factory):
        raise ConfigurationError(f"RAGCHAT_LANGCHAIN_MODEL={spec!r}: {module_name} has no class or function "
                                 f"named {attribute}")
    return factory


def _arguments(raw: str) -> dict:
    try:
        value = json.loads(raw or "{}")
    except json.JSONDecodeError as exc:
        problem = f"{exc.msg} at character {exc.pos}"
        raise ConfigurationError(f"RAGCHAT_LANGCHAIN_MODEL_KWARGS is not JSON: {problem}") from exc
    if not isinstance(value, dict):
        raise ConfigurationError(f"RAGCHAT_LANGCHAIN_MODEL_KWARGS must be a JSON object, got {type(value).__name__}")
    return value


def _bedrock_defaults(factory, settings: Settings, arguments: dict) -> dict:
    """ChatBedrockConverse answers with the same model and region as the boto3 adapter unless told otherwise."""
    is_bedrock_converse = (getattr(factory, "__name__", "") == "ChatBedrockConverse"
                           and getattr(factory, "__module__", "").startswith("langchain_aws"))
    if not is_bedrock_converse:
        return {}
    defaults = {} if {"model", "model_id"} & arguments.keys() else {"model": settings.bedrock_model_id}
    if settings.aws_region and "region_name" not in arguments:
        defaults["region_name"] = settings.aws_region
    return defaults


def chat_model_from_settings(settings: Settings) -> BaseChatModel:
    factory, arguments = _factory(settings.langchain_model), _arguments(settings.langchain_model_kwargs)
    arguments = {**_bedrock_defaults(factory, settings, arguments), **arguments}
    try:
        model = factory(**arguments)
    except Exception as exc:  # a model's constructor validates in its own way (pydantic, TypeError, ValueError)
        raise ConfigurationError(f"RAGCHAT_LANGCHAIN_MODEL={settings.langchain_model!r} with "
                                 f"RAGCHAT_LANGCHAIN_MODEL_KWARGS could not build a model: "
                                 f"{type(exc).__name__}: {exc}") from exc
    if not isinstance(model, BaseChatModel):
        raise ConfigurationError(f"RAGCHAT_LANGCHAIN_MODEL={settings.langchain_model!r} made a "
                                 f"{type(model).__name__}, not a LangChain chat model")
    return model


def generator_from_settings(settings: Settings) -> LangChainGenerator:
    return LangChainGenerator(chat_model_from_settings(settings))
