"""Properties of template.yaml that matter for security and for the tool loop (cfn-lint checks the rest)."""

import json
import re

import pytest

from tests.support.template import template as load_template


@pytest.fixture(scope="module")
def template():
    return load_template()


def test_template_chat_role_only_reads_the_vector_collection(template):
    policy_text, _ = template["Resources"]["ChunksAccessPolicy"]["Properties"]["Policy"]
    policies = json.loads(re.sub(r"\$\{[^}]+\}", lambda m: m.group(0)[2:-1], policy_text))
    by_principal = {p: [perm for rule in policy["Rules"] for perm in rule.get("Permission", [])]
                    for policy in policies for p in policy["Principal"]}
    assert sorted(by_principal["ChatRole"]) == ["aoss:DescribeIndex", "aoss:ReadDocument"]
    assert "aoss:WriteDocument" in by_principal["IngestRole"] and "aoss:WriteDocument" in by_principal["ApiRole"]


def test_template_chat_tools_are_a_parameter_within_the_function_timeout(template):
    assert template["Parameters"]["ChatTools"]["AllowedValues"] == ["auto", "off"]
    chat = template["Resources"]["ChatFunction"]["Properties"]
    assert chat["Environment"]["Variables"]["RAGCHAT_TOOLS"] == "ChatTools"
    assert float(chat["Environment"]["Variables"]["RAGCHAT_TOOL_MAX_SECONDS"]) < chat["Timeout"]


def test_template_and_settings_name_the_same_default_models(template):
    """One default chat model everywhere: a retired default in one place is an answer that fails."""
    from ragchat.config import Settings

    defaults = Settings()
    assert template["Parameters"]["ChatModelId"]["Default"] == defaults.bedrock_model_id
    assert template["Parameters"]["EmbeddingModelId"]["Default"] == defaults.bedrock_embedding_model
    assert float(template["Parameters"]["FusionDenseWeight"]["Default"]) == defaults.fusion_dense_weight
