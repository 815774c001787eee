"""Properties of template.yaml that matter for security and for the tool loop (cfn-lint checks the rest)."""

import json
import re
from pathlib import Path

import pytest

yaml = pytest.importorskip("yaml")
TEMPLATE = Path(__file__).resolve().parents[2] / "template.yaml"


class CfnLoader(yaml.SafeLoader):
    """Reads CloudFormation's short-form tags (!Ref, !Sub, !GetAtt ...) as plain values."""


CfnLoader.add_multi_constructor("!", lambda loader, tag, node: (
    loader.construct_scalar(node) if isinstance(node, yaml.ScalarNode)
    else loader.construct_sequence(node) if isinstance(node, yaml.SequenceNode)
    else loader.construct_mapping(node)))


@pytest.fixture(scope="module")
def template():
    return yaml.load(TEMPLATE.read_text(), Loader=CfnLoader)  # noqa: S506 (a SafeLoader subclass)


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
